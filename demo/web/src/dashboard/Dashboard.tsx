import { observer } from 'mobx-react-lite';
import { useEffect, useState } from 'react';
import { fmtMs, fmtTime, type AlertView, type ComparisonRow, type TenantSummary, type TraceSpan } from '../api.ts';
import { DashboardStore, valueOf } from './store.ts';

const COLORS: Record<string, string> = { p50: '#8fb3ff', p95: '#3d6df2', p99: '#1a3fa8' };

function Loading({ what }: { what: string }) {
  return <p className="loading">Loading {what}…</p>;
}

/** Per-tenant p50/p95/p99 as grouped horizontal bars (plain SVG: no chart library needed). */
const LatencyChart = ({ tenants }: { tenants: TenantSummary[] }) => {
  const max = Math.max(1, ...tenants.map((t) => t.frontend.p99 ?? 0));
  const rowH = 54;
  return (
    <svg width="100%" height={tenants.length * rowH + 20} viewBox={`0 0 700 ${tenants.length * rowH + 20}`} role="img" aria-label="frontend latency per tenant">
      {tenants.map((t, i) => (
        <g key={t.tenant} transform={`translate(0, ${i * rowH + 10})`}>
          <text x="0" y="24" fontSize="13" fontWeight="600">{t.tenant}</text>
          {(['p50', 'p95', 'p99'] as const).map((p, j) => {
            const v = t.frontend[p] ?? 0;
            const w = (v / max) * 500;
            return (
              <g key={p} transform={`translate(90, ${j * 14})`}>
                <rect width={Math.max(1, w)} height="11" fill={COLORS[p]} rx="2" />
                <text x={w + 6} y="10" fontSize="10" fill="#5b6478">{p} {fmtMs(t.frontend[p])}</text>
              </g>
            );
          })}
        </g>
      ))}
    </svg>
  );
};

const TenantTable = observer(({ store }: { store: DashboardStore }) => {
  const tenants = valueOf(store.tenants);
  if (store.tenants.state === 'error') return <p className="slow">Could not load tenants: {store.tenants.message}</p>;
  if (tenants === undefined) return <Loading what="tenants" />;
  if (tenants.length === 0) return <p className="muted">No data in this time range yet. Use the app, or run <code>npm run demo:traffic</code>.</p>;
  const worst = Math.max(...tenants.map((t) => t.frontend.p99 ?? 0));
  return (
    <>
      <table data-testid="tenant-table">
        <thead>
          <tr>
            <th>Tenant</th>
            <th className="num">Frontend n</th><th className="num">p50</th><th className="num">p95</th><th className="num">p99</th>
            <th className="num">Backend n</th><th className="num">p50</th><th className="num">p95</th><th className="num">p99</th>
          </tr>
        </thead>
        <tbody>
          {tenants.map((t) => (
            <tr key={t.tenant} className="clickable" data-tenant={t.tenant} onClick={() => store.selectTenant(t.tenant)}>
              <td><button className="link">{t.tenant}</button></td>
              <td className="num">{t.frontend.count}</td>
              <td className="num">{fmtMs(t.frontend.p50)}</td>
              <td className="num">{fmtMs(t.frontend.p95)}</td>
              <td className={`num${t.frontend.p99 === worst && tenants.length > 1 ? ' slow' : ''}`} data-testid={`p99-${t.tenant}`} data-value={t.frontend.p99 ?? ''}>{fmtMs(t.frontend.p99)}</td>
              <td className="num">{t.backend.count}</td>
              <td className="num">{fmtMs(t.backend.p50)}</td>
              <td className="num">{fmtMs(t.backend.p95)}</td>
              <td className="num">{fmtMs(t.backend.p99)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <LatencyChart tenants={tenants} />
    </>
  );
});

const CompareRows = ({ rows, label, a, b, what }: { rows: ComparisonRow[]; label: (r: ComparisonRow) => string; a: string; b: string; what: string }) => (
  <table>
    <thead>
      <tr><th>{what}</th><th className="num">{a} p99</th><th className="num">{b} p99</th><th className="num">gap</th></tr>
    </thead>
    <tbody>
      {rows.slice(0, 6).map((r) => (
        <tr key={JSON.stringify(r.key)}>
          <td>{label(r)}</td>
          <td className="num">{fmtMs(r.a.p99)}</td>
          <td className="num">{fmtMs(r.b.p99)}</td>
          <td className={`num${(r.p99DiffMs ?? 0) > 100 ? ' slow' : ''}`}>{r.p99DiffMs === null ? '—' : `${r.p99DiffMs > 0 ? '+' : ''}${fmtMs(r.p99DiffMs)}`}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

const ComparisonCard = observer(({ store }: { store: DashboardStore }) => {
  const c = valueOf(store.comparison);
  if (c === undefined) return null;
  return (
    <div className="card" data-testid="comparison">
      <h2>Why is {c.b} slower than {c.a}? (p99 per endpoint and per view/action)</h2>
      <CompareRows rows={c.endpoints} a={c.a} b={c.b} what="Backend endpoint" label={(r) => r.key.endpoint ?? ''} />
      <CompareRows rows={c.views} a={c.a} b={c.b} what="View · action" label={(r) => `${r.key.view_name} · ${r.key.action_name || '—'}`} />
    </div>
  );
});

const Sessions = observer(({ store }: { store: DashboardStore }) => {
  const sessions = valueOf(store.sessions);
  if (store.sessions.state === 'error') return <p className="slow">{store.sessions.message}</p>;
  if (sessions === undefined) return <Loading what="sessions" />;
  if (sessions.length === 0) return <p className="muted">No sessions for {store.tenant} in this range.</p>;
  return (
    <table data-testid="sessions">
      <thead><tr><th>Session (slowest first)</th><th className="num">Spans</th><th className="num">p99</th><th className="num">max</th><th>First seen</th><th>Last seen</th></tr></thead>
      <tbody>
        {sessions.map((s) => (
          <tr key={s.sessionId} className="clickable" onClick={() => store.selectSession(s.sessionId)}>
            <td><button className="link">{s.sessionId || '(no session)'}</button></td>
            <td className="num">{s.spanCount}</td><td className="num">{fmtMs(s.p99Ms)}</td><td className="num">{fmtMs(s.maxMs)}</td>
            <td>{fmtTime(s.firstSeenMicros)}</td><td>{fmtTime(s.lastSeenMicros)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
});

const Traces = observer(({ store }: { store: DashboardStore }) => {
  const traces = valueOf(store.traces);
  if (store.traces.state === 'error') return <p className="slow">{store.traces.message}</p>;
  if (traces === undefined) return <Loading what="traces" />;
  if (traces.length === 0) return <p className="muted">No traces for this session.</p>;
  return (
    <table data-testid="traces">
      <thead><tr><th>Trace</th><th>Root</th><th className="num">Spans</th><th className="num">Duration</th><th>Start</th></tr></thead>
      <tbody>
        {traces.map((t) => (
          <tr key={t.traceId} className="clickable" data-trace={t.traceId} onClick={() => store.selectTrace(t.traceId)}>
            <td><button className="link">{t.traceId.slice(0, 12)}…</button></td>
            <td>{t.rootName}</td><td className="num">{t.spanCount}</td><td className="num">{fmtMs(t.durationMs)}</td><td>{fmtTime(t.startMicros)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
});

const alertHref = (a: AlertView): string => `#dashboard?${new URLSearchParams({ tenant: a.tenant, from: a.drilldown.from, to: a.drilldown.to })}`;
const fmtIso = (iso: string | undefined): string => (iso === undefined ? '—' : new Date(iso).toLocaleTimeString());

/** Firing alerts first, then recently resolved ones; each links to its tenant's sessions in the alert's window. */
const AlertsPanel = observer(({ store }: { store: DashboardStore }) => {
  const alerts = valueOf(store.alerts);
  if (store.alerts.state === 'error') return <p className="muted" data-testid="alerts-error">Alerts unavailable: {store.alerts.message}</p>;
  if (alerts === undefined) return <Loading what="alerts" />;
  if (alerts.length === 0) return <p className="muted" data-testid="alerts-empty">No alerts: every tenant's P99 is within its baseline.</p>;
  return (
    <table data-testid="alerts">
      <thead>
        <tr><th>State</th><th>Tenant</th><th>Endpoint / view</th><th className="num">P99</th><th className="num">Baseline</th><th className="num">Threshold</th><th className="num">n</th><th>Since</th><th>Resolved</th><th /></tr>
      </thead>
      <tbody>
        {alerts.map((a) => (
          <tr key={`${a.tenant} ${a.dimension.kind} ${a.dimension.value} ${a.since}`} data-alert-tenant={a.tenant} data-state={a.state} data-dimension={a.dimension.value} data-p99={a.peakP99Ms} className={a.state === 'firing' ? 'alert-firing' : 'alert-resolved'}>
            <td><span className={`badge ${a.state}`}>{a.state}</span></td>
            <td>{a.tenant}</td>
            <td>{a.dimension.kind === 'endpoint' ? 'endpoint' : 'view'} <code>{a.dimension.value || '—'}</code></td>
            <td className={`num${a.state === 'firing' ? ' slow' : ''}`} title={`fired at ${fmtMs(a.firedP99Ms)}, peak ${fmtMs(a.peakP99Ms)}`}>{fmtMs(a.state === 'firing' ? a.peakP99Ms : a.p99Ms)}</td>
            <td className="num">{fmtMs(a.baselineMs)}</td>
            <td className="num">{fmtMs(a.thresholdMs)}</td>
            <td className="num">{a.count}</td>
            <td>{fmtIso(a.since)}</td>
            <td>{fmtIso(a.resolvedAt)}</td>
            <td>
              <a href={alertHref(a)} data-testid={`alert-link-${a.tenant}`} onClick={(e) => { e.preventDefault(); history.replaceState(null, '', alertHref(a)); store.openDrilldown(a.tenant, a.drilldown.from, a.drilldown.to); }}>
                drill down
              </a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
});

/** Orders spans parent-first (depth-first), so the waterfall reads like a call tree. */
function treeOrder(spans: TraceSpan[]): Array<{ span: TraceSpan; depth: number }> {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, TraceSpan[]>();
  for (const s of spans) {
    const parent = ids.has(s.parentSpanId) ? s.parentSpanId : '';
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const out: Array<{ span: TraceSpan; depth: number }> = [];
  const walk = (parent: string, depth: number): void => {
    for (const s of children.get(parent) ?? []) {
      out.push({ span: s, depth });
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

const KIND_COLOR: Record<string, string> = { server: '#e67e22', client: '#8e44ad', internal: '#3d6df2' };

const Waterfall = observer(({ store }: { store: DashboardStore }) => {
  const spans = valueOf(store.spans);
  if (store.spans.state === 'error') return <p className="slow">{store.spans.message}</p>;
  if (spans === undefined) return <Loading what="the trace" />;
  const start = Math.min(...spans.map((s) => s.startMicros));
  const end = Math.max(...spans.map((s) => s.startMicros + s.durationMs * 1000));
  const total = Math.max(1, end - start);
  const selected = spans.find((s) => s.spanId === store.selectedSpan);
  return (
    <div className="waterfall" data-testid="waterfall">
      {treeOrder(spans).map(({ span, depth }) => (
        <div key={span.spanId} className="row" data-kind={span.kind} data-service={span.service} onClick={() => store.selectSpan(span.spanId)}>
          <div style={{ paddingLeft: depth * 14 }} title={span.name}>
            <strong>{span.service}</strong> <span className="muted">{span.name}</span>
          </div>
          <div className="track">
            <div className="span" style={{ left: `${((span.startMicros - start) / total) * 100}%`, width: `${Math.max(0.5, ((span.durationMs * 1000) / total) * 100)}%`, background: KIND_COLOR[span.kind] ?? '#7f8c8d' }} />
          </div>
          <div className="num">{fmtMs(span.durationMs)}</div>
        </div>
      ))}
      {selected !== undefined && (
        <pre className="attrs">{JSON.stringify({ name: selected.name, kind: selected.kind, service: selected.service, spanId: selected.spanId, parentSpanId: selected.parentSpanId, sessionId: selected.sessionId, ...selected.attributes }, null, 2)}</pre>
      )}
    </div>
  );
});

export const Dashboard = observer(() => {
  const [store] = useState(() => new DashboardStore());
  useEffect(() => {
    // An alert link (`#dashboard?tenant=…&from=…&to=…`, e.g. from Alertmanager) opens its drill-down.
    const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
    const tenant = params.get('tenant');
    if (tenant !== null) store.openDrilldown(tenant, params.get('from') ?? '-1h', params.get('to') ?? 'now');
    store.start();
    return store.stop;
  }, [store]);
  return (
    <>
      <div className="crumbs">
        <button className="link" data-testid="crumb-all" onClick={() => store.selectTenant(undefined)}>All tenants</button>
        {store.tenant !== undefined && <> › <button className="link" data-testid="crumb-tenant" onClick={() => store.selectSession(undefined)}>{store.tenant}</button></>}
        {store.session !== undefined && <> › <button className="link" data-testid="crumb-session" onClick={() => store.selectTrace(undefined)}>session {store.session.slice(0, 8)}</button></>}
        {store.traceId !== undefined && <> › trace {store.traceId.slice(0, 12)}</>}
        {store.pinned ? (
          <span className="muted" data-testid="pinned-range">
            {' '}· alert window {fmtIso(store.from)} – {fmtIso(store.to)} <button className="link" onClick={store.unpin}>back to the last hour</button>
          </span>
        ) : (
          <span className="muted"> · last hour, refreshes every 5 s</span>
        )}
      </div>
      {store.tenant === undefined && (
        <>
          <div className="card"><h2>Alerts (per-tenant P99 against its own baseline)</h2><AlertsPanel store={store} /></div>
          <div className="card"><h2>Latency per tenant (frontend actions and backend requests)</h2><TenantTable store={store} /></div>
          <ComparisonCard store={store} />
        </>
      )}
      {store.tenant !== undefined && store.session === undefined && <div className="card"><h2>{store.tenant}: sessions</h2><Sessions store={store} /></div>}
      {store.session !== undefined && store.traceId === undefined && <div className="card"><h2>Traces of session {store.session}</h2><Traces store={store} /></div>}
      {store.traceId !== undefined && <div className="card"><h2>Trace {store.traceId}</h2><Waterfall store={store} /></div>}
    </>
  );
});
