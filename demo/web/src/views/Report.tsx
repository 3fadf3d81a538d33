import { observer } from 'mobx-react-lite';
import { useEffect } from 'react';
import { TenantlensView } from '@tenantlens/web-sdk/react';
import type { ReportStore } from '../stores.ts';

export const ReportView = observer(({ store }: { store: ReportStore }) => {
  useEffect(() => {
    void store.load();
  }, [store]);
  const { histogram } = store.stats;
  const max = Math.max(1, ...histogram);
  return (
    <TenantlensView name="ReportView">
      <div className="card">
        <h2>Order report</h2>
        {store.isLoading ? <p className="loading">Loading report data…</p> : <p data-testid="report-summary">{store.summary}</p>}
        <label>
          Buckets{' '}
          <select data-testid="buckets" value={store.buckets} onChange={(e) => store.setBuckets(Number(e.target.value))}>
            {[10, 20, 40, 80, 160].map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        <svg width="100%" height="160" viewBox={`0 0 ${histogram.length * 10} 160`} preserveAspectRatio="none">
          {histogram.map((h, i) => <rect key={i} x={i * 10} y={160 - (h / max) * 150} width="8" height={(h / max) * 150} fill="#3d6df2" />)}
        </svg>
      </div>
    </TenantlensView>
  );
});
