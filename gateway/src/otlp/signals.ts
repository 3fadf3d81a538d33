import type { Attribute } from './model.ts';

/**
 * The metric and log shapes both decoders (protobuf and JSON) produce, like `model.ts` does for
 * spans: mapping never sees which encoding arrived. Counts stay bigints (uint64 on the wire).
 */

/** OTLP AggregationTemporality as a tag value; '' (unspecified) writes no tag. */
export type Temporality = 'delta' | 'cumulative' | '';

export function temporalityName(v: number): Temporality {
  return v === 1 ? 'delta' : v === 2 ? 'cumulative' : '';
}

interface PointBase {
  readonly attributes: readonly Attribute[];
  readonly timeUnixNano: bigint;
}

export interface NumberPoint extends PointBase {
  /** asInt and asDouble both become a double: the field type must not flip between them. */
  readonly value: number;
}

export interface HistogramPoint extends PointBase {
  readonly count: bigint;
  readonly sum: number | undefined;
  readonly min: number | undefined;
  readonly max: number | undefined;
  /** Upper bounds; `counts` has one more entry (the +Inf bucket). Per bucket, not cumulative. */
  readonly bounds: readonly number[];
  readonly counts: readonly bigint[];
}

export interface ExpBuckets {
  readonly offset: number;
  readonly counts: readonly bigint[];
}

export interface ExpHistogramPoint extends PointBase {
  readonly count: bigint;
  readonly sum: number | undefined;
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly scale: number;
  readonly zeroCount: bigint;
  readonly zeroThreshold: number;
  readonly positive: ExpBuckets;
  readonly negative: ExpBuckets;
}

export interface SummaryPoint extends PointBase {
  readonly count: bigint;
  readonly sum: number;
  readonly quantiles: ReadonlyArray<{ readonly quantile: number; readonly value: number }>;
}

export type MetricData =
  | { readonly kind: 'gauge'; readonly points: readonly NumberPoint[] }
  | { readonly kind: 'sum'; readonly monotonic: boolean; readonly temporality: Temporality; readonly points: readonly NumberPoint[] }
  | { readonly kind: 'histogram'; readonly temporality: Temporality; readonly points: readonly HistogramPoint[] }
  | { readonly kind: 'exponential_histogram'; readonly temporality: Temporality; readonly points: readonly ExpHistogramPoint[] }
  | { readonly kind: 'summary'; readonly points: readonly SummaryPoint[] }
  /** A metric without data (allowed by the proto): nothing to write. */
  | { readonly kind: 'none' };

export interface MetricRecord {
  readonly name: string;
  readonly unit: string;
  readonly data: MetricData;
}

export interface MetricsRequest {
  readonly resourceMetrics: ReadonlyArray<{
    readonly resource: readonly Attribute[];
    readonly scopes: ReadonlyArray<{ readonly scopeName: string; readonly metrics: readonly MetricRecord[] }>;
  }>;
}

export function countDataPoints(req: MetricsRequest): number {
  let n = 0;
  for (const rm of req.resourceMetrics) for (const sm of rm.scopes) for (const m of sm.metrics) if (m.data.kind !== 'none') n += m.data.points.length;
  return n;
}

export interface LogRecord {
  readonly timeUnixNano: bigint;
  readonly observedTimeUnixNano: bigint;
  readonly severityNumber: number;
  readonly severityText: string;
  /** A string body as is; any other AnyValue (map, array, number, bool, bytes) as JSON. */
  readonly body: string;
  readonly attributes: readonly Attribute[];
  /** Lower-case hex, or ''. */
  readonly traceId: string;
  readonly spanId: string;
  /**
   * `LogRecord.event_name` (OTLP 1.5, field 12), or ''. JSON only: the generated protobuf decoder
   * predates the field, so protobuf events are recognised by their `event.name` attribute.
   */
  readonly eventName: string;
}

export interface LogsRequest {
  readonly resourceLogs: ReadonlyArray<{
    readonly resource: readonly Attribute[];
    readonly scopes: ReadonlyArray<{ readonly scopeName: string; readonly records: readonly LogRecord[] }>;
  }>;
}

export function countLogRecords(req: LogsRequest): number {
  let n = 0;
  for (const rl of req.resourceLogs) for (const sl of rl.scopes) n += sl.records.length;
  return n;
}
