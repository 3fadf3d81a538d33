import { Metadata, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';
import type { GatewayError } from '../errors.ts';

/**
 * Refusals on the wire of gRPC. A retryable refusal carries `google.rpc.RetryInfo` in the
 * status details (trailer `grpc-status-details-bin`, a serialized `google.rpc.Status`): an OTLP
 * client retries RESOURCE_EXHAUSTED only when it is there, and waits `retry_delay` before the
 * next UNAVAILABLE attempt (opentelemetry-proto docs/specification.md, "OTLP/gRPC Throttling").
 */
const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/** google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1 } */
function encodeRetryInfo(seconds: number): Uint8Array {
  const whole = Math.floor(seconds);
  const nanos = Math.round((seconds - whole) * 1e9);
  const duration = protobuf.Writer.create().uint32(8).int64(whole);
  if (nanos > 0) duration.uint32(16).int32(nanos);
  return protobuf.Writer.create().uint32(10).bytes(duration.finish()).finish();
}

/** google.rpc.Status { code = 1; message = 2; repeated google.protobuf.Any details = 3 } with one RetryInfo. */
export function encodeStatusWithRetryInfo(code: number, message: string, retryAfterSeconds: number): Buffer {
  const any = protobuf.Writer.create().uint32(10).string(RETRY_INFO_TYPE).uint32(18).bytes(encodeRetryInfo(retryAfterSeconds)).finish();
  return Buffer.from(protobuf.Writer.create().uint32(8).int32(code).uint32(18).string(message).uint32(26).bytes(any).finish());
}

/** The error a unary handler hands to grpc-js: the catalogue's code, its message, RetryInfo when retryable. */
export function grpcError(err: GatewayError, retryAfterSeconds?: number): Partial<ServiceError> {
  const metadata = new Metadata();
  // The catalogue code, as the HTTP error body's `error` field carries it.
  metadata.set('tl-error', err.code);
  if (retryAfterSeconds !== undefined) metadata.set('grpc-status-details-bin', encodeStatusWithRetryInfo(err.rpcCode, err.message, retryAfterSeconds));
  return { code: err.rpcCode, details: err.message, metadata };
}

/** Reads RetryInfo back from a status (for tests and clients that retry): the delay in seconds, or undefined. */
export function retryDelayOf(statusDetails: Buffer): number | undefined {
  const status = protobuf.Reader.create(statusDetails);
  while (status.pos < status.len) {
    const tag = status.uint32();
    if (tag >>> 3 !== 3) {
      status.skipType(tag & 7);
      continue;
    }
    const any = protobuf.Reader.create(status.bytes());
    let typeUrl = '';
    let value: Uint8Array = new Uint8Array(0);
    while (any.pos < any.len) {
      const t = any.uint32();
      if (t === 10) typeUrl = any.string();
      else if (t === 18) value = any.bytes();
      else any.skipType(t & 7);
    }
    if (typeUrl === RETRY_INFO_TYPE) return durationSeconds(value);
  }
  return undefined;
}

function durationSeconds(retryInfo: Uint8Array): number {
  const r = protobuf.Reader.create(retryInfo);
  let seconds = 0;
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t !== 10) {
      r.skipType(t & 7);
      continue;
    }
    const d = protobuf.Reader.create(r.bytes());
    while (d.pos < d.len) {
      const u = d.uint32();
      if (u === 8) seconds += Number(d.int64().toString());
      else if (u === 16) seconds += d.int32() / 1e9;
      else d.skipType(u & 7);
    }
  }
  return seconds;
}
