import { observer } from 'mobx-react-lite';
import type { ComparisonRow, Series, TimeSeries } from '../api/types.ts';
import type { RootStore } from '../stores/root.ts';
import type { ChartBand, ChartMarker, ChartSeries } from './components/LineChart.tsx';
import { LineChart } from './components/LineChart.tsx';
import { Sparkline } from './components/Sparkline.tsx';
import { Empty, ErrorState, Loaded, Loading, NotAllowed } from './components/States.tsx';
import { colorFor, fmtCount, fmtIso, fmtMs } from './format.ts';
import { ErrorsPanel, VitalsPanel } from './BrowserPanels.tsx';
import { SessionsPanel } from './SessionsPanel.tsx';

const isoMicros = (iso: string): number => Date.parse(iso) * 1000;

/** The tenant's P99 (frontend and backend), alerted endpoints dashed, alert bands and markers. */
const TenantChart = observer(({ root }: { root: RootStore }) => {
  const s = root.tenant;
  const fe = s.frontendP99.value;
  const be = s.backendP99.value;
  const err = s.frontendP99.error ?? s.backendP99.error;
  if (err !== undefined) return <ErrorState error={err} what="the P99 chart" />;
  if (fe === undefined || be === undefined) return <Loading what="the P99 chart" />;
  const alerts = s.tenantAlerts;
  const series: ChartSeries[] = [];
  const first = (ts: TimeSeries): Series | undefined => ts.series.find((x) => x.tenant === s.tenant);
  const f = first(fe);
  const b = first(be);
  if (f !== undefined) series.push({ id: 'frontend P99', points: f.points });
  if (b !== undefined) series.push({ id: 'backend P99', points: b.points });
  for (const a of alerts) {
    if (a.dimension.kind !== 'endpoint') continue;
    const ep = s.endpointTrend.value?.series.find((x) => x.tenant === s.tenant && x.key === a.dimension.value);
    if (ep !== undefined && !series.some((x) => x.id === a.dimension.value)) series.push({ id: a.dimension.value, points: ep.points, dashed: true });
  }
  const from = Math.min(fe.fromMicros, be.fromMicros);
  const to = Math.max(fe.toMicros, be.toMicros);
  // The baseline band spans the whole range: the zone P99 should stay in (baseline up to threshold).
  const bands: ChartBand[] = alerts.map((a) => ({
    id: `${a.dimension.kind}:${a.dimension.value}:${a.since}`,
    lo: a.baselineMs,
    hi: a.thresholdMs,
    fromMicros: from,
    toMicros: to,
    label: `${a.dimension.value}: baseline ${fmtMs(a.baselineMs)}, alert above ${fmtMs(a.thresholdMs)}`,
  }));
  const markers: ChartMarker[] = alerts.flatMap((a) => [
    { id: `f:${a.dimension.value}:${a.since}`, t: isoMicros(a.since), state: 'firing' as const, label: `${a.dimension.value} fired at ${fmtIso(a.since)} (P99 ${fmtMs(a.firedP99Ms)})` },
    ...(a.resolvedAt === undefined ? [] : [{ id: `r:${a.dimension.value}:${a.resolvedAt}`, t: isoMicros(a.resolvedAt), state: 'resolved' as const, label: `${a.dimension.value} resolved at ${fmtIso(a.resolvedAt)}` }]),
  ]);
  if (series.length === 0 && bands.length === 0) return <Empty />;
  return (
    <>
      <LineChart testId="tenant-p99-chart" label={`${s.tenant} P99 over time`} series={series} fromMicros={from} toMicros={to} stepMs={fe.stepMs} bands={bands} markers={markers} />
      <ul className="chart-key">
        {series.map((x) => (
          <li key={x.id} className={x.dashed === true ? 'dashed' : undefined}>
            <span className="swatch" style={{ background: colorFor(x.id) }} /> {x.id}
          </li>
        ))}
        {bands.length > 0 && <li className="band-key">alert baseline → threshold</li>}
      </ul>
      {alerts.length > 0 && (
        <table data-testid="tenant-alerts">
          <caption>Alerts</caption>
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Endpoint / view</th>
              <th scope="col" className="num">P99</th>
              <th scope="col" className="num">Baseline</th>
              <th scope="col" className="num">Threshold</th>
              <th scope="col">Since</th>
              <th scope="col">Resolved</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr key={`${a.dimension.kind}:${a.dimension.value}:${a.since}`} data-state={a.state} data-dimension={a.dimension.value}>
                <td>
                  <span className={`badge ${a.state}`}>{a.state}</span>
                </td>
                <th scope="row">
                  {a.dimension.kind === 'endpoint' ? 'endpoint' : 'view'} <code>{a.dimension.value || '—'}</code>
                </th>
                <td className="num">{fmtMs(a.state === 'firing' ? a.peakP99Ms : a.p99Ms)}</td>
                <td className="num">{fmtMs(a.baselineMs)}</td>
                <td className="num">{fmtMs(a.thresholdMs)}</td>
                <td>{fmtIso(a.since)}</td>
                <td>{fmtIso(a.resolvedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
});

/** Per endpoint or view·action: p50/p95/p99 and count, with a P99 trend per row. */
function StatsTable({ rows, label, keyOf, trend, testId }: { rows: readonly ComparisonRow[]; label: string; keyOf: (r: ComparisonRow) => string; trend: TimeSeries | undefined; testId: string }) {
  if (rows.length === 0) return <Empty>{<p className="muted">No {label.toLowerCase()} data in this range.</p>}</Empty>;
  const byKey = new Map((trend?.series ?? []).map((x) => [x.key, x.points]));
  return (
    <div className="table-scroll">
      <table data-testid={testId}>
        <thead>
          <tr>
            <th scope="col">{label}</th>
            <th scope="col" className="num">count</th>
            <th scope="col" className="num">p50</th>
            <th scope="col" className="num">p95</th>
            <th scope="col" className="num">p99</th>
            <th scope="col">P99 trend</th>
          </tr>
        </thead>
        <tbody>
          {[...rows]
            .sort((x, y) => (y.a.p99 ?? -1) - (x.a.p99 ?? -1))
            .map((r) => {
              const k = keyOf(r);
              return (
                <tr key={k} data-key={k}>
                  <th scope="row">
                    <code>{k || '—'}</code>
                  </th>
                  <td className="num">{fmtCount(r.a.count)}</td>
                  <td className="num">{fmtMs(r.a.p50)}</td>
                  <td className="num">{fmtMs(r.a.p95)}</td>
                  <td className="num" data-value={r.a.p99 ?? ''}>
                    {fmtMs(r.a.p99)}
                  </td>
                  <td>
                    <Sparkline points={byKey.get(k)} fromMicros={trend?.fromMicros ?? 0} toMicros={trend?.toMicros ?? 1} label={k} />
                  </td>
                </tr>
              );
            })}
        </tbody>
      </table>
    </div>
  );
}

export const viewKey = (r: ComparisonRow): string => (r.key.action_name ? `${r.key.view_name ?? ''} · ${r.key.action_name}` : (r.key.view_name ?? ''));

export const TenantView = observer(({ root, tenant }: { root: RootStore; tenant: string }) => {
  if (!root.auth.canSee(tenant)) return <NotAllowed what="this tenant" />;
  const s = root.tenant;
  return (
    <>
      <h1 className="page-title">
        Tenant <span data-testid="tenant-name">{tenant}</span>
      </h1>
      <section className="card" aria-labelledby="tp99" aria-busy={s.frontendP99.loading || s.backendP99.loading}>
        <h2 id="tp99">P99 over time</h2>
        <TenantChart root={root} />
      </section>
      <div className="two-col">
        <VitalsPanel root={root} />
        <ErrorsPanel root={root} />
      </div>
      <div className="two-col">
        <section className="card" aria-labelledby="eps" aria-busy={s.stats.loading}>
          <h2 id="eps">Backend endpoints</h2>
          <Loaded value={s.stats.value} error={s.stats.error} what="endpoints">
            {(c) => <StatsTable testId="endpoint-table" rows={c.endpoints} label="Endpoint" keyOf={(r) => r.key.endpoint ?? ''} trend={s.endpointTrend.value} />}
          </Loaded>
        </section>
        <section className="card" aria-labelledby="views" aria-busy={s.stats.loading}>
          <h2 id="views">Views · actions</h2>
          <Loaded value={s.stats.value} error={s.stats.error} what="views">
            {(c) => <StatsTable testId="view-table" rows={c.views} label="View · action" keyOf={viewKey} trend={s.viewTrend.value} />}
          </Loaded>
        </section>
      </div>
      <SessionsPanel root={root} />
    </>
  );
});
