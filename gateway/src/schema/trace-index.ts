/**
 * The trace and session index on InfluxDB: two small measurements beside `spans` that let a
 * trace-id or session-id lookup read one short series instead of scanning every span, while ids
 * stay fields (never tags: series cardinality must not grow with traffic). docs/data-model.md
 * ("Trace and session index") gives the design and its costs.
 *
 * - `trace_index`: one row per (request, shard, second), listing the request's traces of that shard
 *   with spans starting in that second. Tags `tenant_id` and `shard` (a hex digit derived from the
 *   trace id: 16 series per tenant); field `trace_ids` (comma-separated). A lookup by id reads the
 *   one series of its shard, matching the list by regex, and learns the seconds to read spans in.
 * - `session_index`: one row per (request, session, second), listing the traces of the session
 *   with spans starting in that second. Tags `tenant_id` and `shard` (from the session id); fields
 *   `session_id`, `trace_ids` (comma-separated).
 *
 * A row's timestamp is its second plus an offset hashed from its content (under 1 s, so the row
 * stays in its second): distinct rows in one series land on distinct nanoseconds, and the same row
 * always on the same one, so a replayed request rewrites identical points (InfluxDB overwrites
 * them) and never adds one. A row of another batching lists other traces, lands on another
 * nanosecond and adds to what the index says, never takes from it. Both trace paths
 * (mapping/map-spans.ts, ingest/trace-lines/) derive rows from these functions.
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

export const TRACE_INDEX: IndexSpec = { name: 'trace_index', tags: ['shard', 'tenant_id'], fields: ['trace_ids'] };
export const SESSION_INDEX: IndexSpec = { name: 'session_index', tags: ['shard', 'tenant_id'], fields: ['session_id', 'trace_ids'] };

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a (32-bit) of a string's UTF-16 code units, continuing from `h`: the hash rows are keyed by. */
export function indexHash(text: string, h = FNV_OFFSET): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

const HEX = '0123456789abcdef';

/** The `shard` tag of a row keyed by `hash`: its top four bits, as a hex digit (16 shards). */
export function shardOfHash(hash: number): string {
  return HEX[hash >>> 28] as string;
}

/** The `shard` tag of an id (a trace id in `trace_index`, a session id in `session_index`). */
export function indexShard(id: string): string {
  return shardOfHash(indexHash(id));
}

/**
 * Nanoseconds after its second at which a row is written (0 ≤ n < 1e9): a `trace_index` row's
 * hash is `indexHash(traceIds)`, a `session_index` row's is `indexHash(sessionId, indexHash(traceIds))`.
 */
export function offsetOfHash(hash: number): number {
  return hash % 1_000_000_000;
}
