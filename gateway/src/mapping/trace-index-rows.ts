import type { MappedPoint } from '../schema/point.ts';
import { indexShard, SESSION_INDEX, sessionRowOffset, TRACE_INDEX, traceRowOffset } from '../schema/trace-index.ts';

/**
 * The index rows of one request (schema/trace-index.ts), collected span by span on both trace
 * paths and written after the request's span lines: one `trace_index` row per (trace, second) and
 * one `session_index` row per (session, trace, second), each once per request, in the order their
 * first span came. The reference path turns them into points (`indexPoints`), the fused encoder into
 * lines (trace-lines/span-lines.ts); gateway/test/fused-trace-lines.test.ts holds the two alike.
 */
export interface IndexRow {
  readonly measurement: string;
  /** Whole seconds since the epoch of the spans' start; the row is written in that second. */
  readonly second: number;
  /** Nanoseconds into the second (from the row's key). */
  readonly offset: number;
  readonly shard: string;
  readonly traceId: string;
  /** '' for a `trace_index` row. */
  readonly sessionId: string;
}

export class TraceIndexRows {
  rows: IndexRow[] = [];
  private readonly keys = new Set<string>();
  private lastSecond = -1;
  private lastTrace = '';
  private lastSession = '';

  /** Before each request. */
  start(): void {
    this.rows = [];
    this.keys.clear();
    this.lastSecond = -1;
  }

  /** An accepted span: its start's whole seconds, its trace id (hex) and its session id ('' when none). */
  add(second: number, traceId: string, sessionId: string): void {
    // Spans of one trace mostly come together: the repeat costs no set lookups.
    if (second === this.lastSecond && traceId === this.lastTrace && sessionId === this.lastSession) return;
    this.lastSecond = second;
    this.lastTrace = traceId;
    this.lastSession = sessionId;
    const key = `${second} ${traceId}`;
    if (!this.keys.has(key)) {
      this.keys.add(key);
      this.rows.push({ measurement: TRACE_INDEX.name, second, offset: traceRowOffset(traceId), shard: indexShard(traceId), traceId, sessionId: '' });
    }
    if (sessionId === '') return;
    const sessionKey = `${key} ${sessionId}`;
    if (this.keys.has(sessionKey)) return;
    this.keys.add(sessionKey);
    this.rows.push({ measurement: SESSION_INDEX.name, second, offset: sessionRowOffset(sessionId, traceId), shard: indexShard(sessionId), traceId, sessionId });
  }
}

const NS_PER_SECOND = 1_000_000_000n;

/**
 * The rows as points (the reference path). Their identity is '' on purpose: no sub-microsecond
 * spread and no probing to another nanosecond (point-identity.ts), so the same row always lands on
 * the same nanosecond, and InfluxDB overwrites it with itself.
 */
export function indexPoints(rows: readonly IndexRow[], tenantId: string, out: MappedPoint[]): void {
  for (const r of rows) {
    const tags: Array<[string, string]> = [
      ['shard', r.shard],
      ['tenant_id', tenantId],
    ];
    const timestamp = BigInt(r.second) * NS_PER_SECOND + BigInt(r.offset);
    const traceId = ['trace_id', { type: 'string', value: r.traceId }] as const;
    const fields = r.sessionId === '' ? [traceId] : [['session_id', { type: 'string', value: r.sessionId }] as const, traceId];
    out.push({ spanId: '', point: { measurement: r.measurement, tags, fields, timestamp } });
  }
}
