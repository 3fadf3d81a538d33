import { createRequire } from 'node:module';
import protobuf from 'protobufjs/minimal.js';

/**
 * The protobuf types generated from the official opentelemetry-proto definitions.
 *
 * Why this import path: `@opentelemetry/otlp-transformer` >= 0.200 ships encoders only; 0.57.2 is
 * the last release that ships the full generated protobufjs code (decode included). It has no
 * `exports` map, so this one file reaches into its build output; the version is pinned exactly in
 * gateway/package.json so the path cannot move under us. Nothing else imports it.
 */
const require = createRequire(import.meta.url);

interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned?: boolean;
  toString(): string;
}
export type Int64 = LongLike | number;

export interface PbAnyValue {
  stringValue: string | null;
  boolValue: boolean | null;
  intValue: Int64 | null;
  doubleValue: number | null;
  arrayValue: { values: PbAnyValue[] } | null;
  kvlistValue: { values: PbKeyValue[] } | null;
  bytesValue: Uint8Array | null;
}
export interface PbKeyValue {
  key: string;
  value: PbAnyValue | null;
}
export interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  name: string;
  kind: number;
  startTimeUnixNano: Int64;
  endTimeUnixNano: Int64;
  attributes: PbKeyValue[];
  status: { code: number; message: string } | null;
}
export interface PbRequest {
  resourceSpans: Array<{
    resource: { attributes: PbKeyValue[] } | null;
    scopeSpans: Array<{ scope: { name: string; version: string } | null; spans: PbSpan[] }>;
  }>;
}

export interface PbNumberDataPoint {
  attributes: PbKeyValue[];
  timeUnixNano: Int64;
  asDouble: number | null;
  asInt: Int64 | null;
}
export interface PbHistogramDataPoint {
  attributes: PbKeyValue[];
  timeUnixNano: Int64;
  count: Int64;
  sum: number | null;
  bucketCounts: Int64[];
  explicitBounds: number[];
  min: number | null;
  max: number | null;
}
export interface PbExpBuckets {
  offset: number;
  bucketCounts: Int64[];
}
export interface PbExponentialHistogramDataPoint {
  attributes: PbKeyValue[];
  timeUnixNano: Int64;
  count: Int64;
  sum: number | null;
  scale: number;
  zeroCount: Int64;
  positive: PbExpBuckets | null;
  negative: PbExpBuckets | null;
  min: number | null;
  max: number | null;
  zeroThreshold: number;
}
export interface PbSummaryDataPoint {
  attributes: PbKeyValue[];
  timeUnixNano: Int64;
  count: Int64;
  sum: number;
  quantileValues: Array<{ quantile: number; value: number }>;
}
export interface PbMetric {
  name: string;
  unit: string;
  gauge: { dataPoints: PbNumberDataPoint[] } | null;
  sum: { dataPoints: PbNumberDataPoint[]; aggregationTemporality: number; isMonotonic: boolean } | null;
  histogram: { dataPoints: PbHistogramDataPoint[]; aggregationTemporality: number } | null;
  exponentialHistogram: { dataPoints: PbExponentialHistogramDataPoint[]; aggregationTemporality: number } | null;
  summary: { dataPoints: PbSummaryDataPoint[] } | null;
}
export interface PbMetricsRequest {
  resourceMetrics: Array<{
    resource: { attributes: PbKeyValue[] } | null;
    scopeMetrics: Array<{ scope: { name: string; version: string } | null; metrics: PbMetric[] }>;
  }>;
}
export interface PbLogRecord {
  timeUnixNano: Int64 | null;
  observedTimeUnixNano: Int64 | null;
  severityNumber: number;
  severityText: string;
  body: PbAnyValue | null;
  attributes: PbKeyValue[];
  traceId: Uint8Array | null;
  spanId: Uint8Array | null;
}
export interface PbLogsRequest {
  resourceLogs: Array<{
    resource: { attributes: PbKeyValue[] } | null;
    scopeLogs: Array<{ scope: { name: string; version: string } | null; logRecords: PbLogRecord[] }>;
  }>;
}

interface MessageType<T> {
  decode(buf: Uint8Array): T;
  encode(msg: object): { finish(): Uint8Array };
}

const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: MessageType<PbRequest>; ExportTraceServiceResponse: MessageType<object> } };
        metrics: { v1: { ExportMetricsServiceRequest: MessageType<PbMetricsRequest>; ExportMetricsServiceResponse: MessageType<object> } };
        logs: { v1: { ExportLogsServiceRequest: MessageType<PbLogsRequest>; ExportLogsServiceResponse: MessageType<object> } };
      };
    };
  };
};

const traceV1 = root.opentelemetry.proto.collector.trace.v1;
export const ExportTraceServiceRequest = traceV1.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = traceV1.ExportTraceServiceResponse;
const metricsV1 = root.opentelemetry.proto.collector.metrics.v1;
export const ExportMetricsServiceRequest = metricsV1.ExportMetricsServiceRequest;
export const ExportMetricsServiceResponse = metricsV1.ExportMetricsServiceResponse;
const logsV1 = root.opentelemetry.proto.collector.logs.v1;
export const ExportLogsServiceRequest = logsV1.ExportLogsServiceRequest;
export const ExportLogsServiceResponse = logsV1.ExportLogsServiceResponse;

/**
 * Unsigned fixed64 → bigint without a string round trip. protobufjs leaves an absent fixed64 null
 * (not 0): a span without start_time_unix_nano threw a TypeError here, a 500 for bad input.
 */
export function int64ToBigInt(v: Int64 | null | undefined): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

/** Signed int64 → exact decimal string. */
export function int64ToDecimal(v: Int64): string {
  return typeof v === 'number' ? String(Math.trunc(v)) : v.toString();
}

/**
 * `google.rpc.Status` (code = 1, message = 2; details omitted): the OTLP error body for protobuf
 * requests. It is not in the generated root, and two fields do not justify another dependency.
 */
export function encodeRpcStatus(code: number, message: string): Uint8Array {
  return protobuf.Writer.create().uint32(8).int32(code).uint32(18).string(message).finish();
}
