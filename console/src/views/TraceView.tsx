import { observer } from 'mobx-react-lite';
import type { RootStore } from '../stores/root.ts';
import { Empty, ErrorState, Loading, NotAllowed } from './components/States.tsx';
import { fmtMs, fmtTime } from './format.ts';

const KINDS = ['server', 'client', 'internal', 'producer', 'consumer'];

/** One trace: the waterfall, the selected span's attributes, the trace's logs, its session. */
export const TraceView = observer(({ root }: { root: RootStore }) => {
  const s = root.trace;
  const d = s.detail.value;
  if (s.detail.error !== undefined) {
    // A tenant credential gets 404 for another tenant's trace: it learns nothing, and neither do we.
    if (s.detail.error.status === 404 || s.detail.error.status === 403) return <NotAllowed what={`trace ${s.traceId} (it does not exist, or it is not yours)`} />;
    return <ErrorState error={s.detail.error} what="the trace" />;
  }
  if (d === undefined) return <Loading what="the trace" />;
  const spans = d.spans;
  // Logs can arrive before (or without) their spans: say so rather than draw an empty waterfall.
  if (spans.length === 0) {
    return (
      <Empty>
        <p>
          Trace <code>{d.traceId}</code> has {d.logs.length} log records but no spans (yet).
        </p>
      </Empty>
    );
  }
  const start = Math.min(...spans.map((x) => x.startMicros));
  const end = Math.max(...spans.map((x) => x.startMicros + x.durationMs * 1000));
  const total = Math.max(1, end - start);
  const sel = s.selected;
  return (
    <>
      <h1 className="page-title">
        Trace <code>{d.traceId}</code>
      </h1>
      <p className="muted">
        {spans.length} spans · {fmtMs(total / 1000)} · started {fmtTime(start)}
        {s.sessionIds.map((x) => (
          <span key={x.sessionId}>
            {' · '}
            {root.auth.canSee(x.tenant) ? (
              <a href={root.href(`/tenant/${encodeURIComponent(x.tenant)}`, { session: x.sessionId })} data-testid="trace-session-link">
                session {x.sessionId.slice(0, 12)} of {x.tenant}
              </a>
            ) : null}
          </span>
        ))}
      </p>
      <section className="card" aria-labelledby="wf">
        <h2 id="wf">Waterfall</h2>
        <ol className="waterfall" data-testid="waterfall">
          {s.rows.map(({ span, depth }) => (
            <li key={span.spanId} className="row" data-kind={span.kind} data-service={span.service}>
              <button type="button" className="span-button" aria-expanded={s.selectedSpan === span.spanId} onClick={() => s.select(span.spanId)}>
                <span className="span-name" style={{ paddingLeft: `${depth * 14}px` }}>
                  <strong>{span.service}</strong> {span.name}
                  {span.statusCode === 2 && <span className="badge firing">error</span>}
                </span>
                <span className="track" aria-hidden="true">
                  <span
                    className={`bar kind-${KINDS.includes(span.kind) ? span.kind : 'other'}`}
                    style={{ left: `${((span.startMicros - start) / total) * 100}%`, width: `${Math.max(0.4, ((span.durationMs * 1000) / total) * 100)}%` }}
                  />
                </span>
                <span className="num">{fmtMs(span.durationMs)}</span>
              </button>
            </li>
          ))}
        </ol>
        <p className="chart-key muted">
          <span className="kind-key kind-server">server</span> <span className="kind-key kind-client">client</span> <span className="kind-key kind-internal">internal</span>
        </p>
      </section>
      {sel !== undefined && (
        <section className="card" aria-labelledby="attrs" data-testid="span-attributes">
          <h2 id="attrs">
            {sel.service} · {sel.name}
          </h2>
          <table>
            <tbody>
              {Object.entries({ kind: sel.kind, spanId: sel.spanId, parentSpanId: sel.parentSpanId || '—', start: fmtTime(sel.startMicros), duration: fmtMs(sel.durationMs), status: sel.statusCode, session_id: sel.sessionId || '—', tenant: sel.tenant, ...sel.attributes }).map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>
                    <code>{String(v)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section className="card" aria-labelledby="logs">
        <h2 id="logs">Logs</h2>
        {d.logs.length === 0 ? (
          <p className="muted">No log records in this trace.</p>
        ) : (
          <table data-testid="trace-logs">
            <thead>
              <tr>
                <th scope="col">time</th>
                <th scope="col">severity</th>
                <th scope="col">service</th>
                <th scope="col">message</th>
                <th scope="col">span</th>
              </tr>
            </thead>
            <tbody>
              {d.logs.map((l, i) => (
                <tr key={`${l.timeMicros}-${i}`}>
                  <td>{fmtTime(l.timeMicros)}</td>
                  <td>{l.severityText || l.severityNumber}</td>
                  <td>{l.service}</td>
                  <td>{l.body}</td>
                  <td>
                    {l.spanId === '' ? '—' : (
                      <button type="button" className="link" onClick={() => s.select(l.spanId)}>
                        <code>{l.spanId.slice(0, 8)}</code>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
});
