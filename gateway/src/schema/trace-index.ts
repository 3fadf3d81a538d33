/**
 * The trace and session index on InfluxDB: two small measurements beside `spans` that let a
 * trace-id or session-id lookup read one short series instead of scanning every span, while ids
 * stay fields (never tags: series cardinality must not grow with traffic). docs/data-model.md
 * ("Trace and session index") gives the design and its costs.
 *
 * - `trace_index`: one row per (request, shard, second), listing the request's traces of that shard
 *   with spans starting in that second. Tags `tenant_id` and `shard` (a hex digit derived from the
 *   trace id: 16 series per tenant); fields `trace_ids` (comma-separated) and `trace_summaries`
 *   (what a trace list needs of each listed trace's spans in that row: `TracePart`, same order). A
 *   lookup by id reads the one series of its shard, matching the list by regex, and learns the
 *   seconds to read spans in; a session's trace list merges the parts and reads no span.
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

export const TRACE_INDEX: IndexSpec = { name: 'trace_index', tags: ['shard', 'tenant_id'], fields: ['trace_ids', 'trace_summaries'] };
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

/**
 * What one `trace_index` row says of one listed trace: its spans of that request that start in the
 * row's second, summarised as a trace list reads them (query/model.ts `summarizeTraces`). Parts of
 * one trace (other seconds, other requests) merge: min start, max end, the union of span ids (so a
 * span sent again in another batching counts once, as InfluxDB stores it once), the earliest root
 * and earliest span by (start, name). Offsets are from the row's second, so they stay exact numbers.
 */
export interface TracePart {
  /** The earliest span's start, in µs after the second (as the spans' stored µs). */
  readonly startUs: number;
  /** The latest end, in ns after the second: start µs × 1000 + duration ns, per span. */
  readonly endNs: number;
  /** The earliest span's name (least name among equal starts). */
  readonly firstName: string;
  /** The earliest root span's (no parent) start in µs after the second; undefined when the part has none. */
  readonly rootUs: number | undefined;
  readonly rootName: string;
  /** The spans' ids: 16 hex digits each, concatenated. */
  readonly spanIds: string;
}

/** A trace's entry when its part is not summarised (too many spans or too long names): a lookup reads its spans. */
export const UNSUMMARISED = '?';
/** Parts whose spans or names pass these are left unsummarised, so a row stays far below InfluxDB's 64 KiB string. */
export const MAX_PART_SPANS = 256;
const MAX_PART_NAMES = 256;

/** Names are percent-escaped for the list's separators, line protocol's quote and backslash, and line ends: the field needs no escaping of its own. */
const NAME_SPECIAL = /[%,;"\\\n\r]/;
const NAME_SPECIALS = /[%,;"\\\n\r]/g;
const escapeName = (name: string): string => (NAME_SPECIAL.test(name) ? name.replace(NAME_SPECIALS, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : name);
const unescapeName = (text: string): string => (text.includes('%') ? text.replace(/%([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : text);

/**
 * A part as its `trace_summaries` entry: `startUs;endNs;root;firstName;spanIds`, where root is ''
 * (none), '=' (the first span is the root) or `rootUs:rootName`. Entries are joined by ','.
 */
export function encodeTracePart(p: TracePart): string {
  if (p.spanIds.length > MAX_PART_SPANS * 16) return UNSUMMARISED;
  const first = escapeName(p.firstName);
  const root = p.rootUs === undefined ? '' : p.rootUs === p.startUs && p.rootName === p.firstName ? '=' : `${p.rootUs}:${escapeName(p.rootName)}`;
  if (first.length + root.length > MAX_PART_NAMES) return UNSUMMARISED;
  return `${p.startUs};${p.endNs};${root};${first};${p.spanIds}`;
}

const INTEGER = /^-?[0-9]+$/;

/** An entry back as a part, or undefined when it is unsummarised or not one (a lookup then reads spans). */
export function decodeTracePart(entry: string): TracePart | undefined {
  const f = entry.split(';');
  if (f.length !== 5) return undefined;
  const [start = '', end = '', root = '', first = '', spanIds = ''] = f;
  if (!INTEGER.test(start) || !INTEGER.test(end) || spanIds.length === 0 || spanIds.length % 16 !== 0) return undefined;
  const startUs = Number(start);
  const firstName = unescapeName(first);
  if (root === '') return { startUs, endNs: Number(end), firstName, rootUs: undefined, rootName: '', spanIds };
  if (root === '=') return { startUs, endNs: Number(end), firstName, rootUs: startUs, rootName: firstName, spanIds };
  const colon = root.indexOf(':');
  const rootAt = root.slice(0, colon);
  if (colon < 0 || !INTEGER.test(rootAt)) return undefined;
  return { startUs, endNs: Number(end), firstName, rootUs: Number(rootAt), rootName: unescapeName(root.slice(colon + 1)), spanIds };
}
