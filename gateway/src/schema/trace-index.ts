/**
 * The trace and session index on InfluxDB: two small measurements beside `spans` that let a
 * trace-id or session-id lookup read one short series instead of scanning every span, while ids
 * stay fields (never tags: series cardinality must not grow with traffic). docs/data-model.md
 * ("Trace and session index") gives the design and its costs.
 *
 * - `trace_index`: one row per (trace, second in which one of its spans starts). Tags `tenant_id`
 *   and `shard` (a hex digit derived from the trace id: 16 series per tenant); field `trace_id`.
 *   A lookup by id reads the one series of its shard and learns the seconds to read spans in.
 * - `session_index`: one row per (session, trace, second). Tags `tenant_id` and `shard` (from the
 *   session id); fields `session_id`, `trace_id`.
 *
 * A row's timestamp is its second plus an offset hashed from its key (under 1 s, so the row stays in
 * its second): distinct keys in one series land on distinct nanoseconds, and the same key always on
 * the same one, so a replayed or re-batched span rewrites an identical point (InfluxDB overwrites
 * it) and never adds one. Both trace paths (mapping/map-spans.ts, ingest/trace-lines/) derive rows
 * from these functions.
 *
 * Like measurements.ts, this module imports nothing from the gateway.
 */

/** An index measurement: what InfluxDB holds (the embedded store has no index: it has SQL). */
export interface IndexSpec {
  readonly name: string;
  /** Sorted by key, as lines write them. */
  readonly tags: readonly string[];
  /** In the order a line writes them; all strings. */
  readonly fields: readonly string[];
}

export const TRACE_INDEX: IndexSpec = { name: 'trace_index', tags: ['shard', 'tenant_id'], fields: ['trace_id'] };
export const SESSION_INDEX: IndexSpec = { name: 'session_index', tags: ['shard', 'tenant_id'], fields: ['session_id', 'trace_id'] };

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a (32-bit) of a string's UTF-16 code units, continuing from `h`. */
function fnv(text: string, h: number): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

const HEX = '0123456789abcdef';

/** The `shard` tag of an id: the top four bits of its hash, as a hex digit (16 shards). */
export function indexShard(id: string): string {
  return HEX[fnv(id, FNV_OFFSET) >>> 28] as string;
}

/** Nanoseconds after its second at which a trace's `trace_index` row is written (0 ≤ n < 1e9). */
export function traceRowOffset(traceId: string): number {
  return fnv(traceId, FNV_OFFSET) % 1_000_000_000;
}

/** Nanoseconds after its second at which a (session, trace) `session_index` row is written. */
export function sessionRowOffset(sessionId: string, traceId: string): number {
  // The trace id (fixed length, hex) first: no two (session, trace) pairs hash the same text.
  return fnv(sessionId, fnv(traceId, FNV_OFFSET)) % 1_000_000_000;
}
