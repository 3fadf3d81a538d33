import { observer } from 'mobx-react-lite';
import type { RootStore } from '../stores/root.ts';
import { SESSION_FETCH, type SessionSort } from '../stores/tenant.ts';
import { Pager, SortHeader } from './components/Pager.tsx';
import { Empty, ErrorState, Loaded, Loading } from './components/States.tsx';
import { fmtCount, fmtMs, fmtTime } from './format.ts';

const SessionTraces = observer(({ root, session }: { root: RootStore; session: string }) => {
  const s = root.tenant;
  return (
    <section className="card" aria-labelledby="session-traces" data-testid="session-traces">
      <div className="card-head">
        <h2 id="session-traces">
          Traces of session <code>{session}</code>
        </h2>
        <button type="button" className="link" onClick={() => root.setParam('session', undefined)}>
          close
        </button>
      </div>
      <Loaded value={s.sessionTraces.value} error={s.sessionTraces.error} what="the session's traces">
        {(traces) =>
          traces.length === 0 ? (
            <Empty>
              <p className="muted">No traces for this session in this range.</p>
            </Empty>
          ) : (
            <table data-testid="traces">
              <thead>
                <tr>
                  <th scope="col">Trace</th>
                  <th scope="col">Root operation</th>
                  <th scope="col" className="num">spans</th>
                  <th scope="col" className="num">duration</th>
                  <th scope="col">start</th>
                </tr>
              </thead>
              <tbody>
                {traces.map((t) => (
                  <tr key={t.traceId} data-trace={t.traceId}>
                    <th scope="row">
                      <a href={root.href(`/trace/${t.traceId}`)}>
                        <code>{t.traceId.slice(0, 16)}…</code>
                      </a>
                    </th>
                    <td>{t.rootName}</td>
                    <td className="num">{fmtCount(t.spanCount)}</td>
                    <td className="num">{fmtMs(t.durationMs)}</td>
                    <td>{fmtTime(t.startMicros)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </section>
  );
});

/** Sessions: sortable, filtered by minimum duration, searched by session id (or a trace id to open). */
export const SessionsPanel = observer(({ root }: { root: RootStore }) => {
  const s = root.tenant;
  const session = s.session;
  const head = (label: string, k: SessionSort, num = true) => <SortHeader label={label} k={k} sort={s.sort} descending={s.descending} onSort={(x) => s.sortBy(x)} num={num} />;
  return (
    <>
      {session !== undefined && <SessionTraces root={root} session={session} />}
      <section className="card" aria-labelledby="sessions-title" aria-busy={s.sessions.loading}>
        <h2 id="sessions-title">Sessions</h2>
        <div className="table-tools">
          <label>
            Search session id or trace id{' '}
            <input type="search" value={s.search} onChange={(e) => s.setSearch(e.target.value)} data-testid="session-search" spellCheck={false} />
          </label>
          <label>
            Slowest span at least{' '}
            <input type="number" min={0} step={50} value={s.minDurationMs === 0 ? '' : s.minDurationMs} placeholder="0" onChange={(e) => s.setMinDuration(Number(e.target.value))} data-testid="min-duration" className="narrow" /> ms
          </label>
          {s.searchedTraceId !== undefined && (
            <a href={root.href(`/trace/${s.searchedTraceId}`)} data-testid="open-trace">
              open trace {s.searchedTraceId.slice(0, 12)}…
            </a>
          )}
        </div>
        {s.sessions.error !== undefined ? (
          <ErrorState error={s.sessions.error} what="sessions" />
        ) : s.sessions.value === undefined ? (
          <Loading what="sessions" />
        ) : s.sessions.value.length === 0 ? (
          <Empty />
        ) : (
          <>
            <div className="table-scroll">
              <table data-testid="sessions">
                <thead>
                  <tr>
                    {head('Session', 'sessionId', false)}
                    {head('spans', 'spanCount')}
                    {head('p99', 'p99Ms')}
                    {head('slowest', 'maxMs')}
                    {head('first seen', 'firstSeenMicros', false)}
                    {head('last seen', 'lastSeenMicros', false)}
                  </tr>
                </thead>
                <tbody>
                  {s.pageRows.map((x) => (
                    <tr key={x.sessionId} data-session={x.sessionId} aria-current={x.sessionId === session ? 'true' : undefined}>
                      <th scope="row">
                        <a href={root.href(`/tenant/${encodeURIComponent(s.tenant)}`, { session: x.sessionId })}>
                          <code>{x.sessionId || '(no session)'}</code>
                        </a>
                      </th>
                      <td className="num">{fmtCount(x.spanCount)}</td>
                      <td className="num">{fmtMs(x.p99Ms)}</td>
                      <td className="num">{fmtMs(x.maxMs)}</td>
                      <td>{fmtTime(x.firstSeenMicros)}</td>
                      <td>{fmtTime(x.lastSeenMicros)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager page={Math.min(s.page, s.pages - 1)} pages={s.pages} total={s.sessionRows.length} onPage={(p) => s.setPage(p)} label="sessions" />
            {s.sessions.value.length >= SESSION_FETCH && (
              <p className="muted" data-testid="sessions-capped">
                The {SESSION_FETCH.toLocaleString()} slowest sessions of this range are listed; narrow the range to see others.
              </p>
            )}
          </>
        )}
      </section>
    </>
  );
});
