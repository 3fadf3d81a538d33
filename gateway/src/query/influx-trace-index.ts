import { decodeTracePart, indexShard, SESSION_INDEX, TRACE_INDEX, type TracePart } from '../schema/trace-index.ts';
import type { InfluxQuery, InfluxSeries } from './influx-console.ts';
import { ident, literal, timeRange } from './influxql.ts';
import type { TimeRange } from './model.ts';

/**
 * Trace and session lookups through the index (schema/trace-index.ts) on InfluxDB: the index says
 * in which seconds a trace's spans start, so the spans are read from those seconds only, where a
 * lookup without it scans every span of the range (or of all time, for a trace id).
 *
 * Data written before the index existed has no rows in it. The index starts at its earliest row;
 * before that (plus a margin for a rolling upgrade, when replicas without the index still write),
 * lookups scan as they always did, and only there.
 */

const NS_PER_SECOND = 1_000_000_000n;
/** Index rows sit in their second, spans start in it: reading ±1 s around a range misses no row of it. */
const ROW_SLACK_NS = NS_PER_SECOND;
/** A span's slot may move a few nanoseconds up (point-identity.ts): past the end of its second. */
const SPAN_SLACK_NS = 1_000_000n;
/** After the first index row, replicas of an older version may still write spans without it. */
export const INDEX_MARGIN_NS = 3600n * NS_PER_SECOND;
/** How long the index's start is cached: it moves only when retention drops data, or on the first index row. */
const START_TTL_MILLIS = 60_000;
/** Trace ids per statement (an alternation in a regex, or an OR of equalities). */
export const IDS_PER_STATEMENT = 50;

export interface IndexedTraceLookups {
  /**
   * Where the index does not answer: before its start (plus the margin), as a range; undefined
   * when the index covers all of `range`. No index at all: the whole range.
   */
  uncovered(range: TimeRange): Promise<TimeRange | undefined>;
  /** The seconds (epoch s) in which the trace has spans, in the index; empty when it has none. */
  traceSeconds(traceId: string, tenant: string | undefined): Promise<number[]>;
  /** The session's trace ids with spans in `range` (index rows only; newest first, at most `max`). */
  sessionTraces(tenant: string, sessionId: string, range: TimeRange, max: number): Promise<string[]>;
  /**
   * The index rows in `range` (±1 s) naming each of these traces of a tenant, by trace id: the
   * second of each, and the trace's part there (undefined for a row written without parts).
   */
  tracesParts(tenant: string, traceIds: readonly string[], range: TimeRange): Promise<Map<string, IndexedPart[]>>;
}

/** One `trace_index` row's word on one trace. */
export interface IndexedPart {
  readonly second: number;
  readonly part: TracePart | undefined;
}

/** The time windows to read spans in, from the seconds the index names: adjacent seconds merge into one window. */
export function secondWindows(seconds: Iterable<number>): TimeRange[] {
  const sorted = [...new Set(seconds)].sort((a, b) => a - b);
  const out: TimeRange[] = [];
  let start = -1;
  let end = -1;
  for (const s of sorted) {
    if (s <= end) {
      end = s + 1;
      continue;
    }
    if (start >= 0) out.push(window(start, end));
    start = s;
    end = s + 1;
  }
  if (start >= 0) out.push(window(start, end));
  return out;
}

function window(start: number, end: number): TimeRange {
  return { fromNs: BigInt(start) * NS_PER_SECOND, toNs: BigInt(end) * NS_PER_SECOND + SPAN_SLACK_NS };
}

/** Every time InfluxDB can hold (a lookup without a range). */
export const ALL_TIME: TimeRange = { fromNs: 0n, toNs: 2n ** 63n - 1n };

/** Whether second `s` (epoch s) is in window `w`. */
export function inWindowOf(s: number, w: TimeRange): boolean {
  const ns = BigInt(s) * NS_PER_SECOND;
  return ns >= w.fromNs && ns < w.toNs;
}

/** The overlap of two ranges, or undefined. */
export function intersect(a: TimeRange, b: TimeRange): TimeRange | undefined {
  const fromNs = a.fromNs > b.fromNs ? a.fromNs : b.fromNs;
  const toNs = a.toNs < b.toNs ? a.toNs : b.toNs;
  return fromNs < toNs ? { fromNs, toNs } : undefined;
}

const secondOf = (micros: unknown): number => Math.floor(Number(micros) / 1e6);

/** Index rows hold lower-case hex ids: any other id has no row (and is kept out of the regex). */
const INDEXABLE = /^[0-9a-f]+$/;

/**
 * A regex matching the `trace_ids` lists that name any of `ids` (indexable ones), or undefined
 * when none is. InfluxDB filters the rows with it; the caller still splits each list, since a row
 * names other traces too.
 */
function listRegex(ids: readonly string[]): string | undefined {
  const hex = ids.filter((id) => INDEXABLE.test(id));
  return hex.length === 0 ? undefined : `/(^|,)(${hex.join('|')})(,|$)/`;
}

export function createIndexedTraceLookups(query: InfluxQuery): IndexedTraceLookups {
  const ti = ident(TRACE_INDEX.name);
  const si = ident(SESSION_INDEX.name);
  let start: { at: number; ns: bigint | undefined } | undefined;

  /** The earliest index row's time (ns), or undefined when there is none yet. */
  async function indexStart(): Promise<bigint | undefined> {
    if (start !== undefined && Date.now() - start.at < START_TTL_MILLIS) return start.ns;
    const [rows = []] = await query(`SELECT FIRST("trace_ids") FROM ${ti}`);
    const micros = rows[0]?.values[0]?.[0];
    const ns = typeof micros === 'number' ? BigInt(micros) * 1000n : undefined;
    // No index yet is not cached: the first rows may arrive any moment.
    if (ns !== undefined) start = { at: Date.now(), ns };
    return ns;
  }

  const widened = (range: TimeRange): string => timeRange(range.fromNs - ROW_SLACK_NS, range.toNs + ROW_SLACK_NS);
  const tenantFilter = (tenant: string | undefined): string => (tenant === undefined ? '' : ` AND "tenant_id" = ${literal(tenant)}`);

  return {
    async uncovered(range) {
      const s = await indexStart();
      if (s === undefined) return range;
      return intersect(range, { fromNs: range.fromNs, toNs: s + INDEX_MARGIN_NS });
    },

    async traceSeconds(traceId, tenant) {
      const regex = listRegex([traceId]);
      if (regex === undefined) return [];
      const [rows = []] = await query(`SELECT "trace_ids" FROM ${ti} WHERE "shard" = ${literal(indexShard(traceId))}${tenantFilter(tenant)} AND "trace_ids" =~ ${regex}`);
      return rows.flatMap((s) => s.values.filter((v) => String(v[1]).split(',').includes(traceId)).map((v) => secondOf(v[0])));
    },

    async sessionTraces(tenant, sessionId, range, max) {
      const [rows = []] = await query(
        `SELECT "trace_ids" FROM ${si} WHERE "tenant_id" = ${literal(tenant)} AND "shard" = ${literal(indexShard(sessionId))} AND "session_id" = ${literal(sessionId)} AND ${widened(range)} ORDER BY time DESC LIMIT ${max}`,
      );
      return [...new Set(rows.flatMap((s) => s.values.flatMap((v) => String(v[1]).split(','))))];
    },

    async tracesParts(tenant, traceIds, range) {
      // One statement per shard (each reads that shard's one series), a few ids each.
      const byShard = new Map<string, string[]>();
      for (const id of new Set(traceIds)) {
        const shard = indexShard(id);
        const list = byShard.get(shard) ?? [];
        list.push(id);
        byShard.set(shard, list);
      }
      const statements: string[] = [];
      for (const [shard, ids] of byShard) {
        for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
          const regex = listRegex(ids.slice(i, i + IDS_PER_STATEMENT));
          if (regex !== undefined) {
            statements.push(`SELECT "trace_ids", "trace_summaries" FROM ${ti} WHERE "tenant_id" = ${literal(tenant)} AND "shard" = ${literal(shard)} AND ${widened(range)} AND "trace_ids" =~ ${regex}`);
          }
        }
      }
      const wanted = new Set(traceIds);
      const out = new Map<string, IndexedPart[]>();
      if (statements.length === 0) return out;
      for (const rows of await query(statements.join('; '))) {
        for (const v of rows.flatMap((s: InfluxSeries) => s.values)) {
          const second = secondOf(v[0]);
          const ids = String(v[1]).split(',');
          // A row written before the parts existed has none (null): its traces' spans are read.
          const listed = typeof v[2] === 'string' ? v[2].split(',') : [];
          const entries = listed.length === ids.length ? listed : [];
          for (let i = 0; i < ids.length; i++) {
            const id = ids[i] as string;
            if (!wanted.has(id)) continue;
            const entry = entries[i];
            const list = out.get(id) ?? [];
            list.push({ second, part: entry === undefined ? undefined : decodeTracePart(entry) });
            out.set(id, list);
          }
        }
      }
      return out;
    },
  };
}
