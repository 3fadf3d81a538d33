import { observer } from 'mobx-react-lite';
import type { TenantSummary } from '../api/types.ts';
import type { RootStore } from '../stores/root.ts';
import type { TenantSort } from '../stores/tenants.ts';
import { LineChart } from './components/LineChart.tsx';
import { Pager, SortHeader } from './components/Pager.tsx';
import { Empty, ErrorState, Loading } from './components/States.tsx';
import { colorFor, fmtCount, fmtMs, fmtPct } from './format.ts';

const P99Chart = observer(({ root }: { root: RootStore }) => {
  const s = root.tenants;
  const ts = s.chart.value;
  return (
    <section className="card" aria-labelledby="p99-title" aria-busy={s.chart.loading}>
      <div className="card-head">
        <h2 id="p99-title">P99 over time, per tenant</h2>
        <div role="group" aria-label="Side" className="toggle">
          {(['frontend', 'backend'] as const).map((side) => (
            <button
              key={side}
              type="button"
              aria-pressed={s.side === side}
              onClick={() => {
                s.setSide(side);
                void s.loadChart(root.apiRange);
              }}
            >
              {side === 'frontend' ? 'frontend actions' : 'backend requests'}
            </button>
          ))}
        </div>
      </div>
      {s.chart.error !== undefined ? (
        <ErrorState error={s.chart.error} what="the P99 chart" />
      ) : ts === undefined ? (
        <Loading what="the P99 chart" />
      ) : s.chartSeries.length === 0 ? (
        <Empty />
      ) : (
        <>
          <LineChart
            testId="p99-chart"
            label={`${s.side} P99 per tenant over time`}
            series={s.chartSeries.filter((x) => s.shown.has(x.id))}
            fromMicros={ts.fromMicros}
            toMicros={ts.toMicros}
            stepMs={ts.stepMs}
          />
          <fieldset className="legend">
            <legend>
              Tenants drawn (the {Math.min(5, s.chartSeries.length)} slowest by default; peak P99 shown)
            </legend>
            {s.legend.map((x) => (
              <label key={x.id} data-legend={x.id}>
                <input type="checkbox" checked={s.shown.has(x.id)} onChange={() => s.toggleSeries(x.id)} />
                <span className="swatch" style={{ background: colorFor(x.id) }} />
                {x.id} <span className="muted">{fmtMs(x.peak)}</span>
              </label>
            ))}
          </fieldset>
          {s.chartSeries.length > s.legend.length && (
            <p className="muted">
              {s.chartSeries.length - s.legend.length} more tenants: type in "Filter tenants" below to find one.
            </p>
          )}
        </>
      )}
    </section>
  );
});

function Side({ stats, p99TestId, worst }: { stats: TenantSummary['frontend']; p99TestId?: string; worst: boolean }) {
  return (
    <>
      <td className="num">{fmtCount(stats.count)}</td>
      <td className="num">{fmtMs(stats.p50)}</td>
      <td className="num">{fmtMs(stats.p95)}</td>
      <td className={`num${worst ? ' slow' : ''}`} data-testid={p99TestId} data-value={stats.p99 ?? ''}>
        {fmtMs(stats.p99)}
      </td>
      <td className="num">{fmtPct(stats.errorRate)}</td>
    </>
  );
}

const TenantTable = observer(({ root }: { root: RootStore }) => {
  const s = root.tenants;
  if (s.tenants.error !== undefined) return <ErrorState error={s.tenants.error} what="tenants" />;
  if (s.tenants.value === undefined) return <Loading what="tenants" />;
  if (s.tenants.value.length === 0) return <Empty />;
  const worst = Math.max(...s.rows.map((t) => t.frontend.p99 ?? 0));
  const head = (label: string, k: TenantSort) => <SortHeader label={label} k={k} sort={s.sort} descending={s.descending} onSort={(x) => s.sortBy(x)} num />;
  return (
    <>
      <div className="table-tools">
        <label>
          Filter tenants <input type="search" value={s.filter} onChange={(e) => s.setFilter(e.target.value)} data-testid="tenant-filter" />
        </label>
        {root.auth.isAdmin && (
          <label>
            <input type="checkbox" checked={s.showConsoleTenant} onChange={() => s.toggleConsoleTenant()} data-testid="show-console-tenant" /> show Tenantlens's own tenants ({root.auth.hiddenTenants.join(', ')})
          </label>
        )}
      </div>
      <div className="table-scroll">
        <table data-testid="tenant-table">
          <caption className="sr-only">Latency per tenant: frontend actions and backend requests</caption>
          <thead>
            <tr>
              <th scope="col" rowSpan={2} aria-sort={s.sort === 'tenant' ? (s.descending ? 'descending' : 'ascending') : 'none'}>
                <button type="button" className="sort" onClick={() => s.sortBy('tenant')}>
                  Tenant
                </button>
              </th>
              <th scope="colgroup" colSpan={5} className="group">
                Frontend actions
              </th>
              <th scope="colgroup" colSpan={5} className="group">
                Backend requests
              </th>
            </tr>
            <tr>
              {head('count', 'frontend.count')}
              <th scope="col" className="num">p50</th>
              <th scope="col" className="num">p95</th>
              {head('p99', 'frontend.p99')}
              {head('errors', 'frontend.errorRate')}
              {head('count', 'backend.count')}
              <th scope="col" className="num">p50</th>
              <th scope="col" className="num">p95</th>
              {head('p99', 'backend.p99')}
              {head('errors', 'backend.errorRate')}
            </tr>
          </thead>
          <tbody>
            {s.pageRows.map((t) => (
              <tr key={t.tenant} data-tenant={t.tenant}>
                <th scope="row">
                  <a href={root.href(`/tenant/${encodeURIComponent(t.tenant)}`)}>{t.tenant}</a>
                </th>
                <Side stats={t.frontend} p99TestId={`p99-${t.tenant}`} worst={t.frontend.p99 === worst && s.rows.length > 1} />
                <Side stats={t.backend} p99TestId={`backend-p99-${t.tenant}`} worst={false} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={Math.min(s.page, s.pages - 1)} pages={s.pages} total={s.rows.length} onPage={(p) => s.setPage(p)} label="tenants" />
    </>
  );
});

export const TenantsView = observer(({ root }: { root: RootStore }) => (
  <>
    <h1 className="page-title">Tenants</h1>
    <P99Chart root={root} />
    <section className="card" aria-labelledby="tenants-title" aria-busy={root.tenants.tenants.loading}>
      <h2 id="tenants-title">Latency per tenant</h2>
      <TenantTable root={root} />
    </section>
  </>
));
