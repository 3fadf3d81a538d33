import { observer } from 'mobx-react-lite';
import { Fragment } from 'react';
import type { ErrorCount, ErrorExample, MetricSummary, Rating, VitalsGroup } from '../api/types.ts';
import type { RootStore } from '../stores/root.ts';
import { Empty, Loaded } from './components/States.tsx';
import { fmtCount, fmtTime } from './format.ts';
import { barSegments, fmtVital, p75Rating, RATING_COLOR, ratingLabel, ratingParts, ratingShares, shortMessage, VITALS } from './vitals-format.ts';

/** Rows of the error counts shown; a page with more is an outlier, and the note says so. */
const COUNT_ROWS = 50;

function MetricName({ metric }: { metric: string }) {
  const name = VITALS.find((v) => v.metric === metric)?.name;
  return name === undefined ? <>{metric}</> : <abbr title={name}>{metric}</abbr>;
}

/** The p75's own rating as text (never colour alone): a Core Web Vital passes when its p75 is good. */
function RatingBadge({ rating }: { rating: Rating | undefined }) {
  if (rating === undefined) return null;
  // Light tint behind dark text of the same hue: ≥ 4.5:1, like the alert badges.
  return (
    // Under the value (block): beside it, "needs improvement" would take the ratings column's room.
    <span className="badge" style={{ display: 'table', margin: '0.15rem 0 0 auto', background: `${RATING_COLOR[rating]}1a`, color: RATING_COLOR[rating] }}>
      {ratingLabel(rating)}
    </span>
  );
}

/** The good / needs-improvement / poor shares as a stacked bar, with the same numbers as text. */
function RatingBar({ m }: { m: MetricSummary }) {
  return (
    <div style={{ display: 'flex', alignItems: 'center', gap: '0.6rem', flexWrap: 'wrap' }}>
      <span aria-hidden="true" style={{ display: 'inline-flex', width: '120px', height: '10px', borderRadius: '2px', overflow: 'hidden', background: '#eceef4', flex: 'none' }}>
        {barSegments(m).map((s) => (
          <span key={s.rating} data-rating={s.rating} style={{ width: `${s.percent}%`, background: RATING_COLOR[s.rating] }} />
        ))}
      </span>
      <span className="muted" style={{ fontSize: '0.82rem' }}>
        {/* Each share stays on one line: a narrow card wraps between them, never inside one. */}
        {ratingParts(m).map((p, i) => (
          <Fragment key={p}>
            {i > 0 && ' · '}
            <span style={{ whiteSpace: 'nowrap' }}>{p}</span>
          </Fragment>
        ))}
      </span>
    </div>
  );
}

function VitalsTable({ metrics }: { metrics: readonly MetricSummary[] }) {
  return (
    <div className="table-scroll">
      <table data-testid="vitals-table">
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col" className="num">p75</th>
            <th scope="col" className="num">reports</th>
            <th scope="col">ratings</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map((m) => (
            <tr key={m.metric} data-metric={m.metric} data-p75={m.p75 ?? ''} data-count={m.count}>
              <th scope="row">
                <MetricName metric={m.metric} />
              </th>
              <td className="num">
                <span data-testid="p75">{fmtVital(m.metric, m.p75)}</span>{' '}
                <RatingBadge rating={p75Rating(m.metric, m.p75)} />
              </td>
              <td className="num">{fmtCount(m.count)}</td>
              <td>
                <RatingBar m={m} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Per view: one row per view, one p75 column per metric (the views' shares are a query away with ?view=). */
function VitalsByView({ groups }: { groups: readonly VitalsGroup[] }) {
  if (groups.length === 0) return <p className="muted">No view reported vitals in this range.</p>;
  const metrics = VITALS.map((v) => v.metric).filter((m) => groups.some((g) => g.metrics.some((x) => x.metric === m)));
  return (
    <div className="table-scroll">
      <table data-testid="vitals-by-view">
        <caption>p75 per view</caption>
        <thead>
          <tr>
            <th scope="col">View</th>
            {metrics.map((m) => (
              <th key={m} scope="col" className="num">
                <MetricName metric={m} />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr key={g.view ?? ''} data-view={g.view ?? ''}>
              <th scope="row">
                <code>{g.view || '—'}</code>
              </th>
              {metrics.map((metric) => {
                const m = g.metrics.find((x) => x.metric === metric);
                const rating = m === undefined ? undefined : p75Rating(metric, m.p75);
                return (
                  <td key={metric} className="num" data-metric={metric} data-p75={m?.p75 ?? ''} title={m === undefined ? undefined : `${fmtCount(m.count)} reports; ${ratingShares(m)}`}>
                    {fmtVital(metric, m?.p75)}
                    {rating !== undefined && <span className="sr-only"> ({ratingLabel(rating)})</span>}
                    {rating !== undefined && rating !== 'good' && (
                      <span aria-hidden="true" style={{ color: RATING_COLOR[rating] }}>
                        {' '}
                        {rating === 'poor' ? '▲' : '△'}
                      </span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Core Web Vitals of the tenant's pages: p75 and rating shares per metric; per view on demand. */
export const VitalsPanel = observer(({ root }: { root: RootStore }) => {
  const b = root.tenant.browser;
  return (
    <section className="card" aria-labelledby="vitals-title" aria-busy={b.vitals.loading || (b.perView && b.vitalsByView.loading)} data-testid="vitals-panel">
      <div className="card-head">
        <h2 id="vitals-title">Web vitals</h2>
        <button type="button" className="link" aria-pressed={b.perView} onClick={() => void b.setPerView(!b.perView)} data-testid="vitals-per-view">
          {b.perView ? 'hide per view' : 'per view'}
        </button>
      </div>
      <Loaded value={b.metrics} error={b.vitals.error} what="web vitals">
        {(metrics) =>
          metrics.length === 0 ? (
            <Empty>
              <p className="muted">No web vitals in this range: the web SDK reports them from the app's pages once it is started.</p>
            </Empty>
          ) : (
            <>
              <VitalsTable metrics={metrics} />
              <p className="muted" style={{ fontSize: '0.8rem', margin: '0.4rem 0 0' }}>
                p75 of all reports (the Core Web Vitals convention); ms, CLS is unitless.
              </p>
            </>
          )
        }
      </Loaded>
      {b.perView && (
        <Loaded value={b.viewGroups} error={b.vitalsByView.error} what="web vitals per view">
          {(groups) => <VitalsByView groups={groups} />}
        </Loaded>
      )}
    </section>
  );
});

function ErrorCounts({ counts }: { counts: readonly ErrorCount[] }) {
  return (
    <div className="table-scroll">
      <table data-testid="error-counts">
        <caption>Per type and view</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">View</th>
            <th scope="col" className="num">errors</th>
          </tr>
        </thead>
        <tbody>
          {counts.slice(0, COUNT_ROWS).map((c) => (
            <tr key={`${c.errorType}\n${c.view}`} data-error-type={c.errorType} data-view={c.view} data-count={c.count}>
              <th scope="row">
                <code>{c.errorType || '—'}</code>
              </th>
              <td>
                <code>{c.view || '—'}</code>
              </td>
              <td className="num">{fmtCount(c.count)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {counts.length > COUNT_ROWS && <p className="muted pager-summary">The {COUNT_ROWS} most frequent of {fmtCount(counts.length)} type · view pairs.</p>}
    </div>
  );
}

function RecentErrors({ root, recent }: { root: RootStore; recent: readonly ErrorExample[] }) {
  return (
    <div className="table-scroll">
      <table data-testid="error-recent">
        <caption>Most recent</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Type · message</th>
            <th scope="col">View</th>
            <th scope="col" className="num">×</th>
            <th scope="col">Trace</th>
          </tr>
        </thead>
        <tbody>
          {recent.map((e, i) => (
            // Two identical errors in the same microsecond are possible: the index keeps keys unique.
            <tr key={`${e.timeMicros}\n${e.message}\n${i}`} data-time={e.timeMicros} data-example-type={e.errorType}>
              <td style={{ whiteSpace: 'nowrap' }}>{fmtTime(e.timeMicros)}</td>
              <th scope="row" style={{ maxWidth: '32rem' }}>
                <code>{e.errorType || '—'}</code> <span title={e.message}>{shortMessage(e.message)}</span>
                {e.actionName !== '' && <span className="muted"> in {e.actionName}</span>}
                {e.stack !== '' && (
                  <details>
                    <summary className="muted">stack</summary>
                    <pre style={{ whiteSpace: 'pre-wrap', fontSize: '0.78rem', maxHeight: '12rem', overflow: 'auto', margin: '0.3rem 0' }}>{e.stack}</pre>
                  </details>
                )}
              </th>
              <td>
                <code>{e.view || '—'}</code>
              </td>
              <td className="num">{fmtCount(e.count)}</td>
              <td>
                {e.traceId === '' ? (
                  <span className="muted">—</span>
                ) : (
                  <a href={root.href(`/trace/${e.traceId}`)} data-testid="error-trace">
                    <code>{e.traceId.slice(0, 12)}…</code>
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Browser errors of the tenant's pages: counts per type and view, and the latest examples. */
export const ErrorsPanel = observer(({ root }: { root: RootStore }) => {
  const b = root.tenant.browser;
  return (
    <section className="card" aria-labelledby="errors-title" aria-busy={b.errors.loading} data-testid="errors-panel">
      <h2 id="errors-title">
        Errors{b.errors.value !== undefined && <span className="muted" data-testid="errors-total"> · {fmtCount(b.errorTotal)}</span>}
      </h2>
      <Loaded value={b.errors.value} error={b.errors.error} what="errors">
        {(answer) =>
          answer.counts.length === 0 && answer.recent.length === 0 ? (
            <Empty>
              <p className="muted">No browser errors in this range.</p>
            </Empty>
          ) : (
            <>
              <ErrorCounts counts={answer.counts} />
              {answer.recent.length > 0 && <RecentErrors root={root} recent={answer.recent} />}
            </>
          )
        }
      </Loaded>
    </section>
  );
});
