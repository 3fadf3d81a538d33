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

interface MessageType<T> {
  decode(buf: Uint8Array): T;
  encode(msg: object): { finish(): Uint8Array };
}

const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: MessageType<PbRequest>; ExportTraceServiceResponse: MessageType<object> } };
      };
    };
  };
};

const traceV1 = root.opentelemetry.proto.collector.trace.v1;
export const ExportTraceServiceRequest = traceV1.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = traceV1.ExportTraceServiceResponse;

/** Unsigned fixed64 → bigint without a string round trip. */
export function int64ToBigInt(v: Int64): bigint {
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
