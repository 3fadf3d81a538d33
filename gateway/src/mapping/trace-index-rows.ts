import type { MappedPoint } from '../schema/point.ts';
import { indexHash, offsetOfHash, SESSION_INDEX, shardOfHash, TRACE_INDEX } from '../schema/trace-index.ts';

/**
 * The index rows of one request (schema/trace-index.ts), collected span by span on both trace
 * paths and written after the request's span lines: one `trace_index` row per (shard, second)
 * listing the traces of that shard with spans starting in that second, in the order the rows were
 * opened, then one `session_index` row per (session, second) listing the session's traces, in the
 * order the sessions came (each list at most MAX_IDS_PER_ROW ids a row). The reference path turns
 * them into points (`indexPoints`), the fused encoder into lines (trace-lines/span-lines.ts);
 * gateway/test/fused-trace-lines.test.ts holds the two alike.
 */
export interface IndexRow {
  readonly measurement: string;
  /** Whole seconds since the epoch of the spans' start; the row is written in that second. */
  readonly second: number;
  /** Nanoseconds into the second (from the row's content). */
  readonly offset: number;
  readonly shard: string;
  /** The trace ids, comma-separated. */
  readonly ids: string;
  /** '' for a `trace_index` row. */
  readonly sessionId: string;
}

/** A row's list stays well under InfluxDB's 64 KiB string field. */
const MAX_IDS_PER_ROW = 100;

/** What a request has indexed of one trace: its seconds, and its (session, second) pairs. */
interface TraceSeen {
  readonly shard: string;
  readonly seconds: number[];
  readonly sessionSeconds: number[];
  readonly sessions: string[];
}

/** The traces of one row key (a shard's or a session's) in one second of the request. */
interface IdsInSecond {
  readonly key: string;
  readonly second: number;
  readonly ids: string[];
}

export class TraceIndexRows {
  // Keyed by the trace id and session id alone (strings the caller has anyway): a composite key
  // string per span cost more than everything else here.
  private readonly traces = new Map<string, TraceSeen>();
  private readonly shards = new Map<string, IdsInSecond[]>();
  private readonly sessions = new Map<string, IdsInSecond[]>();
  private shardOrder: IdsInSecond[] = [];
  private sessionOrder: IdsInSecond[] = [];
  private lastSecond = -1;
  private lastTrace = '';
  private lastSession = '';

  /** Before each request. */
  start(): void {
    this.traces.clear();
    this.shards.clear();
    this.sessions.clear();
    this.shardOrder = [];
    this.sessionOrder = [];
    this.lastSecond = -1;
  }

  /** An accepted span: its start's whole seconds, its trace id (hex) and its session id ('' when none). */
  add(second: number, traceId: string, sessionId: string): void {
    // Spans of one trace mostly come together: the repeat costs no lookup.
    if (second === this.lastSecond && traceId === this.lastTrace && sessionId === this.lastSession) return;
    this.lastSecond = second;
    this.lastTrace = traceId;
    this.lastSession = sessionId;
    let seen = this.traces.get(traceId);
    if (seen === undefined) {
      seen = { shard: shardOfHash(indexHash(traceId)), seconds: [], sessionSeconds: [], sessions: [] };
      this.traces.set(traceId, seen);
    }
    if (!seen.seconds.includes(second)) {
      seen.seconds.push(second);
      listIn(this.shards, this.shardOrder, seen.shard, second).push(traceId);
    }
    if (sessionId === '') return;
    for (let i = 0; i < seen.sessions.length; i++) if (seen.sessionSeconds[i] === second && seen.sessions[i] === sessionId) return;
    seen.sessionSeconds.push(second);
    seen.sessions.push(sessionId);
    listIn(this.sessions, this.sessionOrder, sessionId, second).push(traceId);
  }

  /** The request's rows: trace rows, then session rows. */
  rows(): IndexRow[] {
    const out: IndexRow[] = [];
    for (const e of this.shardOrder) {
      for (let i = 0; i < e.ids.length; i += MAX_IDS_PER_ROW) {
        const ids = e.ids.slice(i, i + MAX_IDS_PER_ROW).join(',');
        // Keyed by its whole content: the same list rewrites itself, another list lands elsewhere.
        out.push({ measurement: TRACE_INDEX.name, second: e.second, offset: inRange(e.second, offsetOfHash(indexHash(ids))), shard: e.key, ids, sessionId: '' });
      }
    }
    for (const e of this.sessionOrder) {
      const shard = shardOfHash(indexHash(e.key));
      for (let i = 0; i < e.ids.length; i += MAX_IDS_PER_ROW) {
        const ids = e.ids.slice(i, i + MAX_IDS_PER_ROW).join(',');
        out.push({ measurement: SESSION_INDEX.name, second: e.second, offset: inRange(e.second, offsetOfHash(indexHash(e.key, indexHash(ids)))), shard, ids, sessionId: e.key });
      }
    }
    return out;
  }
}

/** The id list of (key, second), opened (and appended to `order`) on first use. */
function listIn(byKey: Map<string, IdsInSecond[]>, order: IdsInSecond[], key: string, second: number): string[] {
  let list = byKey.get(key);
  if (list === undefined) {
    list = [];
    byKey.set(key, list);
  }
  for (const e of list) if (e.second === second) return e.ids;
  const entry: IdsInSecond = { key, second, ids: [] };
  list.push(entry);
  order.push(entry);
  return entry.ids;
}

const NS_PER_SECOND = 1_000_000_000n;

/**
 * The rows as points (the reference path). Their identity is '' on purpose: their timestamp is
 * their identity, so encodePoints (point-identity.ts) writes it as given, neither spread nor probed,
 * and the same row always lands on the same nanosecond, where InfluxDB overwrites it with itself.
 */
export function indexPoints(rows: readonly IndexRow[], tenantId: string, out: MappedPoint[]): void {
  for (const r of rows) {
    const tags: Array<[string, string]> = [
      ['shard', r.shard],
      ['tenant_id', tenantId],
    ];
    const timestamp = BigInt(r.second) * NS_PER_SECOND + BigInt(r.offset);
    const fields =
      r.sessionId === ''
        ? [['trace_ids', { type: 'string', value: r.ids }] as const]
        : [['session_id', { type: 'string', value: r.sessionId }] as const, ['trace_ids', { type: 'string', value: r.ids }] as const];
    out.push({ spanId: '', point: { measurement: r.measurement, tags, fields, timestamp } });
  }
}

/** InfluxDB's largest timestamp is 9223372036854775806 ns: in that last second, the hashed offset must not pass it. */
const LAST_SECOND = 9223372036;
const LAST_OFFSET = 854775806;
function inRange(second: number, offset: number): number {
  return second >= LAST_SECOND ? Math.min(offset, LAST_OFFSET) : offset;
}
