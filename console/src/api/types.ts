/**
 * The drill-down API's answers as the console reads them (docs/console.md). They mirror the
 * gateway's gateway/src/query/model.ts on purpose rather than importing it: the console is a
 * browser package that must not reach into the gateway's sources; the contract test and the e2e
 * test hold the two to the same JSON. Times are µs since the epoch.
 */

export interface LatencyStats {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  /** Share of spans with status ERROR, 0..1; null without spans (absent on older gateways). */
  readonly errorRate?: number | null;
}

export interface TenantSummary {
  readonly tenant: string;
  readonly frontend: LatencyStats;
  readonly backend: LatencyStats;
}

/** `infraTenant`: where an ingress's spans are stored (INFRA_TENANT), when the gateway takes them. */
export type Whoami =
  | { readonly admin: true; readonly consoleTenant?: string; readonly infraTenant?: string }
  | { readonly admin: false; readonly tenant: string; readonly consoleTenant?: string; readonly infraTenant?: string };

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
  readonly durationMs: number;
}

export type AttributeValue = string | number | boolean;

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
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export interface TraceLog {
  readonly traceId: string;
  readonly spanId: string;
  readonly service: string;
  readonly tenant: string;
  readonly timeMicros: number;
  readonly severityText: string;
  readonly severityNumber: number;
  readonly body: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export interface TraceDetail {
  readonly traceId: string;
  readonly spans: readonly TraceSpan[];
  readonly logs: readonly TraceLog[];
}

export interface ComparisonRow {
  readonly key: Readonly<Record<string, string>>;
  readonly a: LatencyStats;
  readonly b: LatencyStats;
  readonly p99DiffMs: number | null;
}

export interface Comparison {
  readonly a: string;
  readonly b: string;
  readonly endpoints: readonly ComparisonRow[];
  readonly views: readonly ComparisonRow[];
}

export interface AlertView {
  readonly tenant: string;
  readonly dimension: { readonly kind: 'endpoint' | 'view_name'; readonly value: string };
  readonly state: 'firing' | 'resolved';
  /** ISO-8601. */
  readonly since: string;
  readonly resolvedAt?: string;
  readonly p99Ms: number;
  readonly count: number;
  readonly firedP99Ms: number;
  readonly peakP99Ms: number;
  readonly baselineMs: number;
  readonly thresholdMs: number;
  readonly drilldown: { readonly from: string; readonly to: string; readonly url: string };
}

export type Metric = 'p50' | 'p95' | 'p99' | 'count' | 'error_rate';
export type Group = 'tenant' | 'endpoint' | 'view';
export type Side = 'frontend' | 'backend';

export interface SeriesPoint {
  /** Bucket start, µs. */
  readonly t: number;
  readonly value: number;
  readonly count: number;
}

export interface Series {
  readonly tenant: string;
  /** '' for group=tenant; the endpoint; or "view · action". */
  readonly key: string;
  readonly points: readonly SeriesPoint[];
}

export interface TimeSeries {
  readonly metric: Metric;
  readonly group: Group;
  readonly side: Side;
  readonly stepMs: number;
  readonly fromMicros: number;
  readonly toMicros: number;
  readonly series: readonly Series[];
}

export interface OperationCount {
  readonly operation: string;
  readonly a: number;
  readonly b: number;
}

export interface CriticalPathRow {
  readonly service: string;
  readonly name: string;
  readonly a: { readonly median: number; readonly p90: number };
  readonly b: { readonly median: number; readonly p90: number };
  readonly gapMs: number;
}

export interface CriticalPath {
  readonly a: string;
  readonly b: string;
  readonly operation: string;
  readonly traces: { readonly a: number; readonly b: number };
  readonly rows: readonly CriticalPathRow[];
}

/** A time range as the API takes it: `-1h`, `now` or ISO-8601. */
export interface Range {
  readonly from: string;
  readonly to: string;
}

/** A Core Web Vitals rating, as web-vitals assigns it (issue 19). */
export type Rating = 'good' | 'needs-improvement' | 'poor';

export interface MetricSummary {
  /** LCP, INP, CLS, FCP or TTFB (in that order). */
  readonly metric: string;
  readonly count: number;
  /** 75th percentile (nearest rank): ms, CLS unitless; null without data. */
  readonly p75: number | null;
  /** Reports per rating and their share of `count` (0..1). */
  readonly ratings: Readonly<Record<Rating, { readonly count: number; readonly share: number }>>;
}

export interface VitalsGroup {
  readonly tenant: string;
  /** The view when grouped by view; null when grouped by tenant. */
  readonly view: string | null;
  readonly metrics: readonly MetricSummary[];
}

/** `GET /api/v1/vitals`. */
export interface VitalsAnswer {
  readonly tenant: string | null;
  readonly view: string | null;
  readonly by: 'tenant' | 'view';
  readonly groups: readonly VitalsGroup[];
}

export interface ErrorCount {
  readonly tenant: string;
  readonly errorType: string;
  readonly view: string;
  /** Bursts counted in full. */
  readonly count: number;
}

export interface ErrorExample {
  readonly tenant: string;
  readonly timeMicros: number;
  readonly errorType: string;
  readonly view: string;
  readonly message: string;
  readonly stack: string;
  readonly count: number;
  readonly sessionId: string;
  /** '' when the error happened outside a traced action. */
  readonly traceId: string;
  readonly spanId: string;
  readonly actionName: string;
}

/** `GET /api/v1/errors`: counts most first, examples newest first. */
export interface ErrorsAnswer {
  readonly tenant: string | null;
  readonly counts: readonly ErrorCount[];
  readonly recent: readonly ErrorExample[];
}
