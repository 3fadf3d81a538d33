import {
  asBuffer,
  hex,
  pbAttributes,
  pbPlain,
  protobufError,
} from './decode.ts';
import {
  ExportLogsServiceRequest,
  ExportMetricsServiceRequest,
  int64ToBigInt,
  int64ToDecimal,
  type Int64,
  type PbAnyValue,
  type PbExpBuckets,
  type PbMetric,
  type PbNumberDataPoint,
} from './proto.ts';
import {
  temporalityName,
  type ExpBuckets,
  type LogRecord,
  type LogsRequest,
  type MetricData,
  type MetricRecord,
  type MetricsRequest,
  type NumberPoint,
} from './signals.ts';

// The protobuf half of decode-signals.ts: metrics and logs through the generated protobufjs types.

// protobufjs's generated classes leave some absent scalars null rather than at their proto3
// default (a metric without `unit` decodes to unit: null), so every read below defaults explicitly.
const big = (v: Int64 | null | undefined): bigint => (v === null || v === undefined ? 0n : int64ToBigInt(v));
/** protobufjs leaves an absent `optional double` null. */
const opt = (v: number | null | undefined): number | undefined => (v === null || v === undefined ? undefined : v);

function pbNumberPoints(dps: PbNumberDataPoint[]): NumberPoint[] {
  return dps.map((p) => ({
    attributes: pbAttributes(p.attributes),
    timeUnixNano: big(p.timeUnixNano),
    value: p.asDouble !== null && p.asDouble !== undefined ? p.asDouble : p.asInt !== null && p.asInt !== undefined ? Number(int64ToDecimal(p.asInt)) : NaN,
  }));
}

function pbBuckets(b: PbExpBuckets | null): ExpBuckets {
  return { offset: b?.offset ?? 0, counts: (b?.bucketCounts ?? []).map(big) };
}

function pbMetricData(m: PbMetric): MetricData {
  if (m.gauge !== null && m.gauge !== undefined) return { kind: 'gauge', points: pbNumberPoints(m.gauge.dataPoints) };
  if (m.sum !== null && m.sum !== undefined) {
    return { kind: 'sum', monotonic: m.sum.isMonotonic === true, temporality: temporalityName(m.sum.aggregationTemporality ?? 0), points: pbNumberPoints(m.sum.dataPoints) };
  }
  if (m.histogram !== null && m.histogram !== undefined) {
    return {
      kind: 'histogram',
      temporality: temporalityName(m.histogram.aggregationTemporality ?? 0),
      points: m.histogram.dataPoints.map((p) => ({
        attributes: pbAttributes(p.attributes),
        timeUnixNano: big(p.timeUnixNano),
        count: big(p.count),
        sum: opt(p.sum),
        min: opt(p.min),
        max: opt(p.max),
        bounds: p.explicitBounds,
        counts: p.bucketCounts.map(big),
      })),
    };
  }
  if (m.exponentialHistogram !== null && m.exponentialHistogram !== undefined) {
    return {
      kind: 'exponential_histogram',
      temporality: temporalityName(m.exponentialHistogram.aggregationTemporality ?? 0),
      points: m.exponentialHistogram.dataPoints.map((p) => ({
        attributes: pbAttributes(p.attributes),
        timeUnixNano: big(p.timeUnixNano),
        count: big(p.count),
        sum: opt(p.sum),
        min: opt(p.min),
        max: opt(p.max),
        scale: p.scale ?? 0,
        zeroCount: big(p.zeroCount),
        zeroThreshold: p.zeroThreshold ?? 0,
        positive: pbBuckets(p.positive),
        negative: pbBuckets(p.negative),
      })),
    };
  }
  if (m.summary !== null && m.summary !== undefined) {
    return {
      kind: 'summary',
      points: m.summary.dataPoints.map((p) => ({
        attributes: pbAttributes(p.attributes),
        timeUnixNano: big(p.timeUnixNano),
        count: big(p.count),
        sum: p.sum ?? 0,
        quantiles: p.quantileValues.map((q) => ({ quantile: q.quantile, value: q.value })),
      })),
    };
  }
  return { kind: 'none' };
}

export function metricsFromProtobuf(body: Uint8Array): MetricsRequest {
  let msg;
  try {
    msg = ExportMetricsServiceRequest.decode(asBuffer(body));
  } catch (err) {
    throw protobufError('ExportMetricsServiceRequest', err);
  }
  return {
    resourceMetrics: msg.resourceMetrics.map((rm) => ({
      resource: pbAttributes(rm.resource?.attributes),
      scopes: rm.scopeMetrics.map((sm) => ({
        scopeName: sm.scope?.name ?? '',
        metrics: sm.metrics.map((m): MetricRecord => ({ name: m.name ?? '', unit: m.unit ?? '', data: pbMetricData(m) })),
      })),
    })),
  };
}

/** A string body as is; anything else (map, array, number, bool, bytes) as JSON. */
function pbBody(v: PbAnyValue | null): string {
  if (v === null || v === undefined) return '';
  if (v.stringValue !== null && v.stringValue !== undefined) return v.stringValue;
  const plain = pbPlain(v);
  // An AnyValue with no member set is empty, as an attribute value is (model.ts EMPTY_VALUE).
  return plain === null ? '' : JSON.stringify(plain);
}

export function logsFromProtobuf(body: Uint8Array): LogsRequest {
  let msg;
  try {
    msg = ExportLogsServiceRequest.decode(asBuffer(body));
  } catch (err) {
    throw protobufError('ExportLogsServiceRequest', err);
  }
  return {
    resourceLogs: msg.resourceLogs.map((rl) => ({
      resource: pbAttributes(rl.resource?.attributes),
      scopes: rl.scopeLogs.map((sl) => ({
        scopeName: sl.scope?.name ?? '',
        records: sl.logRecords.map(
          (r): LogRecord => ({
            timeUnixNano: big(r.timeUnixNano),
            observedTimeUnixNano: big(r.observedTimeUnixNano),
            severityNumber: r.severityNumber ?? 0,
            severityText: r.severityText ?? '',
            body: pbBody(r.body),
            attributes: pbAttributes(r.attributes),
            traceId: hex(r.traceId),
            spanId: hex(r.spanId),
            eventName: '',
          }),
        ),
      })),
    })),
  };
}

