import { nearestRankOf } from '../rollup/rank.ts';
import { LOG_COLUMN_SET, SPAN_COLUMN_SET } from '../schema/derived.ts';

/**
 * The drill-down API's answers. Both stores (InfluxDB and the embedded DuckDB) produce exactly
 * these shapes with the same values for the same data; a contract test holds them to it.
 * Times are microseconds since the epoch (InfluxQL's `epoch=u`, exact in a JS number until 2255).
 */
import type { CpTrace, RootRow } from './critical-path.ts';
import { decodeOverflow } from '../mapping/overflow-json.ts';
import { OVERFLOW_FIELD } from '../schema/measurements.ts';

export interface TimeRange {
  /** Inclusive, nanoseconds. */
  readonly fromNs: bigint;
  /** Exclusive, nanoseconds. */
  readonly toNs: bigint;
}

export interface LatencyStats {
  readonly count: number;
  /**
   * Nearest-rank percentiles (InfluxQL PERCENTILE's rank), in ms; null without data. Exact from raw
   * points; within SKETCH_RELATIVE_ERROR (1%) where per-minute rollups answer (query/rollup-drilldown.ts).
   */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** A side of a tenant: its latency, plus the share of its spans with OTLP status ERROR. */
export interface SideStats extends LatencyStats {
  /**
   * Spans with `status_code` 2 (ERROR) among the side's spans in `spans`: frontend = spans with a
   * `view_name` (those that make `frontend_performance` rows), backend = spans of kind server (those
   * that make `backend_api_latency` rows). 0..1; null without such spans (beacons carry no status).
   */
  readonly errorRate: number | null;
}

export interface TenantSummary {
  readonly tenant: string;
  readonly frontend: SideStats;
  readonly backend: SideStats;
}

/** A side's stats with the error rate from [spans, error spans] (undefined or 0 spans: null). */
function withErrorRate(stats: LatencyStats, counts: readonly [number, number] | undefined): SideStats {
  return { ...stats, errorRate: counts === undefined || counts[0] === 0 ? null : counts[1] / counts[0] };
}

/** Per tenant and side: [spans, error spans] in `spans`. */
export type ErrorCounts = ReadonlyMap<string, Readonly<Record<Side, readonly [number, number]>>>;

/** Tenants sorted by id, each side with its error rate: shared by both stores. */
export function withErrorRates(rows: ReadonlyArray<{ tenant: string; frontend: LatencyStats; backend: LatencyStats }>, errors: ErrorCounts): TenantSummary[] {
  return rows
    .map((r) => ({ tenant: r.tenant, frontend: withErrorRate(r.frontend, errors.get(r.tenant)?.frontend), backend: withErrorRate(r.backend, errors.get(r.tenant)?.backend) }))
    .sort((x, y) => (x.tenant < y.tenant ? -1 : x.tenant > y.tenant ? 1 : 0));
}

/** `GET /api/v1/timeseries` parameters; see query/timeseries.ts. */
export type SeriesMetric = 'p50' | 'p95' | 'p99' | 'count' | 'error_rate';
export type SeriesGroup = 'tenant' | 'endpoint' | 'view';
export type Side = 'frontend' | 'backend';

export interface TimeseriesQuery {
  readonly metric: SeriesMetric;
  readonly group: SeriesGroup;
  readonly side: Side;
  /** undefined: every tenant (operator only). */
  readonly tenant: string | undefined;
  readonly range: TimeRange;
  readonly stepNs: bigint;
}

/**
 * One bucket of one (tenant, key) from a store; `bucket` counts steps from `range.fromNs`.
 * Percentiles and count: `value` in ms (or the count). error_rate: `value` is the number of error
 * spans among `count`; the division is left to query/timeseries.ts so both stores divide alike.
 */
export interface BucketRow {
  readonly tenant: string;
  readonly key: string;
  readonly bucket: number;
  readonly value: number;
  readonly count: number;
}

/** Root spans of one name for one tenant in a range: `traces` distinct trace ids. */
export interface OperationCount {
  readonly tenant: string;
  readonly operation: string;
  readonly traces: number;
}

export interface SessionSummary {
  readonly sessionId: string;
  readonly spanCount: number;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly firstSeenMicros: number;
  readonly lastSeenMicros: number;
}

export interface TraceSummary {
  readonly traceId: string;
  readonly rootName: string;
  readonly spanCount: number;
  readonly startMicros: number;
  /** From the earliest start to the latest end among its spans. */
  readonly durationMs: number;
}

export interface TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly service: string;
  readonly kind: string;
  readonly tenant: string;
  readonly startMicros: number;
  readonly durationMs: number;
  readonly statusCode: number;
  readonly sessionId: string;
  /** Every other stored attribute, by key. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** A log record of a trace, shown next to its span in the drill-down. */
export interface TraceLog {
  readonly traceId: string;
  /** The span the record was emitted in ('' when none). */
  readonly spanId: string;
  readonly service: string;
  readonly tenant: string;
  readonly timeMicros: number;
  readonly severityText: string;
  readonly severityNumber: number;
  readonly body: string;
  /** Every other stored attribute, by key. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** `logs` columns that are not attributes (from the schema): shared by both stores so `attributes` means the same. */
export const LOG_COLUMNS: ReadonlySet<string> = LOG_COLUMN_SET;

/** Log ordering in a trace: by time, then span, severity and body, so both stores list ties alike. */
export function byLogOrder(x: TraceLog, y: TraceLog): number {
  const s = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return x.timeMicros - y.timeMicros || s(x.spanId, y.spanId) || x.severityNumber - y.severityNumber || s(x.body, y.body);
}

export interface ComparisonRow {
  /** `endpoint`, or `view_name` + `action_name`. */
  readonly key: Readonly<Record<string, string>>;
  readonly a: LatencyStats;
  readonly b: LatencyStats;
  /** b's p99 minus a's (ms); null when either side has no data. */
  readonly p99DiffMs: number | null;
}

export interface Comparison {
  readonly a: string;
  readonly b: string;
  readonly endpoints: readonly ComparisonRow[];
  readonly views: readonly ComparisonRow[];
}

/** The dimension an alert watches: a backend `endpoint` or a frontend `view_name`. */
export type AlertDimension = 'endpoint' | 'view_name';

/** One window of one (tenant, dimension value): its sample count and nearest-rank P99 (ms). */
export interface WindowP99 {
  readonly tenant: string;
  /** The endpoint or view name ('' when the tag is empty). */
  readonly value: string;
  /** Window start, epoch ms; windows are `bucketNs` long and aligned on `range.fromNs`. */
  readonly startMs: number;
  readonly count: number;
  readonly p99: number;
}

/** Stable order for window rows, so both stores list them alike. */
export function byWindow(x: WindowP99, y: WindowP99): number {
  const s = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return s(x.tenant, y.tenant) || s(x.value, y.value) || x.startMs - y.startMs;
}

/** What both stores answer. `tenant` undefined means every tenant (operator token only). */
export interface DrillDown {
  /** Bucketed metric per (tenant, group key); empty buckets left out. See query/timeseries.ts. */
  timeseries(q: TimeseriesQuery): Promise<BucketRow[]>;
  /** Root span names (parent_span_id '') of these tenants in the range, with distinct trace counts. */
  rootOperations(range: TimeRange, tenants: readonly string[]): Promise<OperationCount[]>;
  /**
   * Root spans named `operation` of one tenant in the range: the newest `limit` plus every root
   * in the same microsecond as the last of them (critical-path-compare.ts `pickTraces` decides).
   */
  rootSpans(tenant: string, operation: string, range: TimeRange, limit: number): Promise<RootRow[]>;
  /** The spans of these traces of one tenant that start within `window`, per trace. */
  traceSpans(tenant: string, traceIds: readonly string[], window: TimeRange): Promise<CpTrace[]>;
  tenants(range: TimeRange, tenant: string | undefined): Promise<TenantSummary[]>;
  sessions(tenant: string, range: TimeRange, limit: number): Promise<SessionSummary[]>;
  traces(tenant: string, range: TimeRange, limit: number, sessionId: string | undefined): Promise<TraceSummary[]>;
  trace(traceId: string, tenant: string | undefined): Promise<TraceSpan[]>;
  /** The log records carrying this trace id, in `byLogOrder`. */
  traceLogs(traceId: string, tenant: string | undefined): Promise<TraceLog[]>;
  compare(a: string, b: string, range: TimeRange): Promise<Comparison>;
  /**
   * Every tenant's P99 and count per `bucketNs` window over `range`, per endpoint (backend
   * latency) or per view (frontend duration). Windows start at `range.fromNs` + k·bucketNs;
   * empty windows are left out. Feeds the alert evaluator.
   */
  windowP99(range: TimeRange, bucketNs: bigint, dimension: AlertDimension): Promise<WindowP99[]>;
}

/** Spans columns that are not attributes (from the schema): shared by both stores so `attributes` means the same. */
export const SPAN_COLUMNS: ReadonlySet<string> = SPAN_COLUMN_SET;

/** InfluxQL's PERCENTILE: the nearest-rank index floor(n·p/100 + 0.5), 1-based; none outside 1..n (declared in rollup/rank.ts, which the sketch shares). */
export const nearestRank: (n: number, percentile: number) => number | undefined = nearestRankOf;

type AttributeValue = string | number | boolean;

/**
 * A span's or log record's attributes, from its columns (InfluxDB) or its `extra` JSON (embedded
 * store): every entry not in `own`, with the overflow field (schema OVERFLOW_FIELD: attributes past
 * the column budget) opened into the attributes it holds, so an attribute reads the same whether it
 * got a field or not. Both stores build the list here.
 */
export function attributeList(entries: Iterable<readonly [string, unknown]>, own: ReadonlySet<string>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  let overflow: Record<string, AttributeValue> | undefined;
  for (const [k, v] of entries) {
    if (own.has(k) || v === null || v === undefined) continue;
    if (k === OVERFLOW_FIELD && typeof v === 'string') {
      overflow = decodeOverflow(v);
      if (overflow !== undefined) continue;
    }
    out[k] = v as AttributeValue;
  }
  // A key is never both a field and in the JSON of one span; if it were, the field would win.
  if (overflow !== undefined) for (const [k, v] of Object.entries(overflow)) if (!(k in out)) out[k] = v;
  return out;
}

/** Shared ordering and diffing, so both stores rank comparison rows identically. */
export function comparisonRows(
  rows: ReadonlyArray<{ tenant: string; key: Record<string, string>; stats: LatencyStats }>,
  a: string,
  b: string,
): ComparisonRow[] {
  const empty: LatencyStats = { count: 0, p50: null, p95: null, p99: null };
  const byKey = new Map<string, { key: Record<string, string>; a: LatencyStats; b: LatencyStats }>();
  for (const r of rows) {
    const id = JSON.stringify(r.key);
    const entry = byKey.get(id) ?? { key: r.key, a: empty, b: empty };
    if (r.tenant === a) entry.a = r.stats;
    if (r.tenant === b) entry.b = r.stats;
    byKey.set(id, entry);
  }
  return [...byKey.values()]
    .map((e) => ({ ...e, p99DiffMs: e.a.p99 === null || e.b.p99 === null ? null : e.b.p99 - e.a.p99 }))
    .sort((x, y) => {
      const dx = x.p99DiffMs === null ? -Infinity : Math.abs(x.p99DiffMs);
      const dy = y.p99DiffMs === null ? -Infinity : Math.abs(y.p99DiffMs);
      if (dx !== dy) return dy - dx;
      const kx = JSON.stringify(x.key);
      const ky = JSON.stringify(y.key);
      return kx < ky ? -1 : kx > ky ? 1 : 0;
    });
}

/** Trace list ordering: newest first, then trace id, so pages are stable. */
export function byStartDesc(x: TraceSummary, y: TraceSummary): number {
  return y.startMicros - x.startMicros || (x.traceId < y.traceId ? -1 : x.traceId > y.traceId ? 1 : 0);
}

/** Session ordering: slowest p99 first, then max, then id. */
export function bySlowest(x: SessionSummary, y: SessionSummary): number {
  return (y.p99Ms ?? -1) - (x.p99Ms ?? -1) || (y.maxMs ?? -1) - (x.maxMs ?? -1) || (x.sessionId < y.sessionId ? -1 : x.sessionId > y.sessionId ? 1 : 0);
}

/** Builds a trace summary list from raw span rows (same rule for both stores). */
export function summarizeTraces(
  rows: Iterable<{ traceId: string; parentSpanId: string; name: string; startMicros: number; durationNs: number }>,
): TraceSummary[] {
  // The latest end is kept as (start µs, duration ns) of its span: µs × 1000 passes 2^53, so an end in ns would round.
  const acc = new Map<string, { root: string; rootStart: number; first: string; firstStart: number; start: number; endStart: number; endDuration: number; count: number }>();
  for (const r of rows) {
    const t = acc.get(r.traceId);
    if (t === undefined) {
      acc.set(r.traceId, {
        root: r.parentSpanId === '' ? r.name : '',
        rootStart: r.parentSpanId === '' ? r.startMicros : Infinity,
        first: r.name,
        firstStart: r.startMicros,
        start: r.startMicros,
        endStart: r.startMicros,
        endDuration: r.durationNs,
        count: 1,
      });
      continue;
    }
    t.count++;
    if (r.startMicros < t.start) t.start = r.startMicros;
    if ((r.startMicros - t.endStart) * 1000 + r.durationNs > t.endDuration) {
      t.endDuration = r.durationNs;
      t.endStart = r.startMicros;
    }
    if (r.parentSpanId === '' && (r.startMicros < t.rootStart || (r.startMicros === t.rootStart && r.name < t.root))) {
      t.root = r.name;
      t.rootStart = r.startMicros;
    }
    if (r.startMicros < t.firstStart || (r.startMicros === t.firstStart && r.name < t.first)) {
      t.first = r.name;
      t.firstStart = r.startMicros;
    }
  }
  return [...acc].map(([traceId, t]) => ({
    traceId,
    // A trace whose root span has not arrived (or lives in another service) is named by its earliest span.
    rootName: t.root !== '' ? t.root : t.first,
    spanCount: t.count,
    startMicros: t.start,
    durationMs: Math.round(((t.endStart - t.start) * 1000 + t.endDuration) / 1000) / 1000,
  }));
}
