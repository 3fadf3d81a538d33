import { observer } from 'mobx-react-lite';
import type { ComparisonRow, CriticalPath } from '../api/types.ts';
import type { RootStore } from '../stores/root.ts';
import { Empty, ErrorState, Loaded, Loading, NotAllowed } from './components/States.tsx';
import { fmtCount, fmtGap, fmtMs } from './format.ts';
import { viewKey } from './TenantView.tsx';

/** Gaps are B − A; "slower" is shown in red only past a noticeable 50 ms. */
const gapClass = (v: number | null): string => (v !== null && v > 50 ? 'num slow' : v !== null && v < -50 ? 'num fast' : 'num');

function GapTable({ rows, a, b, label, keyOf, testId }: { rows: readonly ComparisonRow[]; a: string; b: string; label: string; keyOf: (r: ComparisonRow) => string; testId: string }) {
  if (rows.length === 0) return <p className="muted">No {label.toLowerCase()} seen on both sides in this range.</p>;
  const gap = (x: number | null, y: number | null): number | null => (x === null || y === null ? null : y - x);
  return (
    <div className="table-scroll">
      <table data-testid={testId}>
        <thead>
          <tr>
            <th scope="col" rowSpan={2}>{label}</th>
            <th scope="colgroup" colSpan={3} className="group">{a}</th>
            <th scope="colgroup" colSpan={3} className="group">{b}</th>
            <th scope="colgroup" colSpan={3} className="group">gap ({b} − {a})</th>
          </tr>
          <tr>
            {['p50', 'p95', 'p99', 'p50', 'p95', 'p99', 'p50', 'p95', 'p99'].map((p, i) => (
              <th key={i} scope="col" className="num">{p}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={keyOf(r)} data-key={keyOf(r)}>
              <th scope="row"><code>{keyOf(r) || '—'}</code></th>
              <td className="num">{fmtMs(r.a.p50)}</td>
              <td className="num">{fmtMs(r.a.p95)}</td>
              <td className="num">{fmtMs(r.a.p99)}</td>
              <td className="num">{fmtMs(r.b.p50)}</td>
              <td className="num">{fmtMs(r.b.p95)}</td>
              <td className="num">{fmtMs(r.b.p99)}</td>
              <td className={gapClass(gap(r.a.p50, r.b.p50))}>{fmtGap(gap(r.a.p50, r.b.p50))}</td>
              <td className={gapClass(gap(r.a.p95, r.b.p95))}>{fmtGap(gap(r.a.p95, r.b.p95))}</td>
              <td className={gapClass(r.p99DiffMs)} data-value={r.p99DiffMs ?? ''}>{fmtGap(r.p99DiffMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** "demo-backend SELECT orders: +480 ms on globex's critical path" */
export function criticalPathPhrase(row: CriticalPath['rows'][number], a: string, b: string): string {
  if (Math.abs(row.gapMs) < 0.5) return `${row.service} ${row.name}: the same on both critical paths`;
  const slower = row.gapMs >= 0 ? b : a;
  return `${row.service} ${row.name}: ${fmtGap(Math.abs(row.gapMs)).replace('±', '+')} on ${slower}'s critical path`;
}

const CriticalPathTable = observer(({ cp }: { cp: CriticalPath }) => {
  if (cp.rows.length === 0) return <p className="muted">No traces of {cp.operation} on both sides in this range.</p>;
  const top = cp.rows[0];
  return (
    <>
      {top !== undefined && (
        <p className="headline" data-testid="cp-headline">
          {criticalPathPhrase(top, cp.a, cp.b)}
        </p>
      )}
      <p className="muted">
        Self-time on each trace's critical path, per (service, span name), over {fmtCount(cp.traces.a)} traces of {cp.a} and {fmtCount(cp.traces.b)} of {cp.b}; ranked by the gap in medians.
      </p>
      <div className="table-scroll">
        <table data-testid="critical-path">
          <thead>
            <tr>
              <th scope="col" rowSpan={2} className="num">rank</th>
              <th scope="col" rowSpan={2}>span (service · name)</th>
              <th scope="colgroup" colSpan={2} className="group">{cp.a}</th>
              <th scope="colgroup" colSpan={2} className="group">{cp.b}</th>
              <th scope="col" rowSpan={2} className="num">gap (median)</th>
              <th scope="col" rowSpan={2}>reading</th>
            </tr>
            <tr>
              <th scope="col" className="num">median</th>
              <th scope="col" className="num">p90</th>
              <th scope="col" className="num">median</th>
              <th scope="col" className="num">p90</th>
            </tr>
          </thead>
          <tbody>
            {cp.rows.map((r, i) => (
              <tr key={`${r.service}\u0000${r.name}`} data-testid="cp-row" data-rank={i + 1} data-service={r.service} data-name={r.name} data-gap={r.gapMs}>
                <td className="num">{i + 1}</td>
                <th scope="row">
                  <strong>{r.service}</strong> {r.name}
                </th>
                <td className="num">{fmtMs(r.a.median)}</td>
                <td className="num">{fmtMs(r.a.p90)}</td>
                <td className="num">{fmtMs(r.b.median)}</td>
                <td className="num">{fmtMs(r.b.p90)}</td>
                <td className={gapClass(r.gapMs)}>{fmtGap(r.gapMs)}</td>
                <td>{criticalPathPhrase(r, cp.a, cp.b)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
});

export const CompareView = observer(({ root }: { root: RootStore }) => {
  if (!root.auth.isAdmin) return <NotAllowed what="a comparison of tenants (it needs the operator token)" />;
  const s = root.compare;
  const tenants = (s.tenants.value ?? []).map((t) => t.tenant).filter((t) => !root.auth.hiddenTenants.includes(t) || t === s.a || t === s.b);
  const pick = (key: 'a' | 'b' | 'operation', v: string): void => root.go('/compare', { a: s.a, b: s.b, operation: s.operation, [key]: v, ...(key === 'operation' ? {} : { operation: undefined }) });
  return (
    <>
      <h1 className="page-title">Compare tenants</h1>
      <section className="card">
        <form className="compare-form" onSubmit={(e) => e.preventDefault()}>
          <label>
            A (baseline){' '}
            <select value={s.a} onChange={(e) => pick('a', e.target.value)} data-testid="compare-a">
              <option value="">choose…</option>
              {tenants.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </label>
          <label>
            B (slower?){' '}
            <select value={s.b} onChange={(e) => pick('b', e.target.value)} data-testid="compare-b">
              <option value="">choose…</option>
              {tenants.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </label>
          <label>
            Root operation{' '}
            <select value={s.chosenOperation ?? ''} onChange={(e) => pick('operation', e.target.value)} data-testid="compare-operation">
              {(s.operations.value ?? []).map((o) => (
                <option key={o.operation} value={o.operation}>
                  {o.operation} ({fmtCount(o.a)} / {fmtCount(o.b)} traces)
                </option>
              ))}
            </select>
          </label>
        </form>
      </section>
      {s.tenants.error !== undefined && <ErrorState error={s.tenants.error} what="tenants" />}
      {s.a === '' || s.b === '' ? (
        s.tenants.value === undefined ? <Loading what="tenants" /> : <Empty><p>Choose two tenants to compare (at least two tenants need data in this range).</p></Empty>
      ) : (
        <>
          <section className="card" aria-labelledby="cp-title" aria-busy={s.criticalPath.loading}>
            <h2 id="cp-title">Critical-path attribution: where {s.b}'s extra time goes</h2>
            {s.operations.error !== undefined ? <ErrorState error={s.operations.error} what="operations" /> : s.chosenOperation === undefined && s.operations.value !== undefined ? <Empty /> : (
              <Loaded value={s.criticalPath.value} error={s.criticalPath.error} what="the critical-path comparison">{(cp) => <CriticalPathTable cp={cp} />}</Loaded>
            )}
          </section>
          <section className="card" aria-labelledby="gap-eps" aria-busy={s.comparison.loading}>
            <h2 id="gap-eps">Per backend endpoint</h2>
            <Loaded value={s.comparison.value} error={s.comparison.error} what="the comparison">
              {(c) => <GapTable testId="compare-endpoints" rows={c.endpoints} a={c.a} b={c.b} label="Endpoint" keyOf={(r) => r.key.endpoint ?? ''} />}
            </Loaded>
          </section>
          <section className="card" aria-labelledby="gap-views">
            <h2 id="gap-views">Per view · action</h2>
            <Loaded value={s.comparison.value} error={s.comparison.error} what="the comparison">
              {(c) => <GapTable testId="compare-views" rows={c.views} a={c.a} b={c.b} label="View · action" keyOf={viewKey} />}
            </Loaded>
          </section>
        </>
      )}
    </>
  );
});
