import type { MappedPoint } from '../schema/point.ts';
import { encodeTracePart, indexHash, offsetOfHash, SESSION_INDEX, shardOfHash, TRACE_INDEX } from '../schema/trace-index.ts';

/**
 * The index rows of one request (schema/trace-index.ts), collected span by span on both trace
 * paths and written after the request's span lines: one `trace_index` row per (shard, second)
 * listing the traces of that shard with spans starting in that second, in the order the rows were
 * opened, each with the traces' parts (schema/trace-index.ts `TracePart`) beside, then one
 * `session_index` row per (session, second) listing the session's traces, in the order the
 * sessions came (each list at most MAX_IDS_PER_ROW ids a row). The reference path turns
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
  /** A `trace_index` row's parts (`encodeTracePart`), comma-separated in the order of `ids`; '' for a `session_index` row. */
  readonly summaries: string;
  /** '' for a `trace_index` row. */
  readonly sessionId: string;
}

/** A row's lists stay well under InfluxDB's 64 KiB string field (a part is at most about 4.4 kB, schema/trace-index.ts). */
const MAX_IDS_PER_ROW = 100;
const MAX_SUMMARY_CHARS = 32_768;

/** A `TracePart` being gathered: the spans of one trace in one second of the request. */
interface PartSoFar {
  startUs: number;
  endNs: number;
  firstName: string;
  rootUs: number;
  rootName: string;
  spanIds: string;
}

/** What a request has indexed of one trace: its seconds (with their parts), and its (session, second) pairs. */
interface TraceSeen {
  readonly shard: string;
  readonly seconds: number[];
  readonly parts: PartSoFar[];
  readonly sessionSeconds: number[];
  readonly sessions: string[];
}

/** The traces of one row key (a shard's or a session's) in one second of the request. */
interface IdsInSecond {
  readonly key: string;
  readonly second: number;
  readonly ids: string[];
  /** A shard's: the parts of `ids`, in their order. */
  readonly parts: PartSoFar[];
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
  /** The part of the span last `add`ed: `span` fills it. */
  private part: PartSoFar = newPart();

  /** Before each request. */
  start(): void {
    this.traces.clear();
    this.shards.clear();
    this.sessions.clear();
    this.shardOrder = [];
    this.sessionOrder = [];
    this.lastSecond = -1;
  }

  /**
   * An accepted span: its start's whole seconds, its trace id (hex) and its session id ('' when
   * none). Then `span` with what its trace's part needs of it.
   */
  add(second: number, traceId: string, sessionId: string): void {
    // Spans of one trace mostly come together: the repeat costs no lookup.
    if (second === this.lastSecond && traceId === this.lastTrace && sessionId === this.lastSession) return;
    this.lastSecond = second;
    this.lastTrace = traceId;
    this.lastSession = sessionId;
    let seen = this.traces.get(traceId);
    if (seen === undefined) {
      seen = { shard: shardOfHash(indexHash(traceId)), seconds: [], parts: [], sessionSeconds: [], sessions: [] };
      this.traces.set(traceId, seen);
    }
    const at = seen.seconds.indexOf(second);
    if (at === -1) {
      this.part = newPart();
      seen.seconds.push(second);
      seen.parts.push(this.part);
      const list = listIn(this.shards, this.shardOrder, seen.shard, second);
      list.ids.push(traceId);
      list.parts.push(this.part);
    } else this.part = seen.parts[at] as PartSoFar;
    if (sessionId === '') return;
    for (let i = 0; i < seen.sessions.length; i++) if (seen.sessionSeconds[i] === second && seen.sessions[i] === sessionId) return;
    seen.sessionSeconds.push(second);
    seen.sessions.push(sessionId);
    listIn(this.sessions, this.sessionOrder, sessionId, second).ids.push(traceId);
  }

  /** Whether the span last `add`ed, starting `startUs` into its second, may name its trace's part (so `span` needs its name). */
  wantsName(startUs: number, root: boolean): boolean {
    const p = this.part;
    return startUs <= p.startUs || (root && startUs <= p.rootUs);
  }

  /**
   * The span last `add`ed: its id (16 hex digits), start in µs into its second, end (that start
   * × 1000 + its duration in ns), whether it is a root (no parent) and its name ('' unless
   * `wantsName`). Order within a request does not change the part (ties go to the least name).
   */
  span(spanId: string, startUs: number, endNs: number, root: boolean, name: string): void {
    const p = this.part;
    p.spanIds += spanId;
    if (endNs > p.endNs) p.endNs = endNs;
    if (startUs < p.startUs || (startUs === p.startUs && name < p.firstName)) {
      p.startUs = startUs;
      p.firstName = name;
    }
    if (root && (startUs < p.rootUs || (startUs === p.rootUs && name < p.rootName))) {
      p.rootUs = startUs;
      p.rootName = name;
    }
  }

  /** The request's rows: trace rows, then session rows. */
  rows(): IndexRow[] {
    const out: IndexRow[] = [];
    for (const e of this.shardOrder) {
      let from = 0;
      let chars = 0;
      const entries = e.parts.map(encodePart);
      for (let i = 0; i <= e.ids.length; i++) {
        const entry = entries[i];
        if (i < e.ids.length && i - from < MAX_IDS_PER_ROW && chars + (entry as string).length < MAX_SUMMARY_CHARS) {
          chars += (entry as string).length + 1;
          continue;
        }
        const ids = e.ids.slice(from, i).join(',');
        const summaries = entries.slice(from, i).join(',');
        // Keyed by its whole content (its parts name their span ids): the same row rewrites itself, another lands elsewhere.
        out.push({ measurement: TRACE_INDEX.name, second: e.second, offset: inRange(e.second, offsetOfHash(indexHash(summaries, indexHash(ids)))), shard: e.key, ids, summaries, sessionId: '' });
        from = i;
        chars = entry === undefined ? 0 : entry.length + 1;
      }
    }
    for (const e of this.sessionOrder) {
      const shard = shardOfHash(indexHash(e.key));
      for (let i = 0; i < e.ids.length; i += MAX_IDS_PER_ROW) {
        const ids = e.ids.slice(i, i + MAX_IDS_PER_ROW).join(',');
        out.push({ measurement: SESSION_INDEX.name, second: e.second, offset: inRange(e.second, offsetOfHash(indexHash(e.key, indexHash(ids)))), shard, ids, summaries: '', sessionId: e.key });
      }
    }
    return out;
  }
}

/** The list of (key, second), opened (and appended to `order`) on first use. */
function listIn(byKey: Map<string, IdsInSecond[]>, order: IdsInSecond[], key: string, second: number): IdsInSecond {
  let list = byKey.get(key);
  if (list === undefined) {
    list = [];
    byKey.set(key, list);
  }
  for (const e of list) if (e.second === second) return e;
  const entry: IdsInSecond = { key, second, ids: [], parts: [] };
  list.push(entry);
  order.push(entry);
  return entry;
}

const newPart = (): PartSoFar => ({ startUs: Infinity, endNs: -Infinity, firstName: '', rootUs: Infinity, rootName: '', spanIds: '' });

const encodePart = (p: PartSoFar): string => encodeTracePart({ ...p, rootUs: p.rootUs === Infinity ? undefined : p.rootUs });

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
        ? [['trace_ids', { type: 'string', value: r.ids }] as const, ['trace_summaries', { type: 'string', value: r.summaries }] as const]
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
