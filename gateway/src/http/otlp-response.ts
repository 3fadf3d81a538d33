import type { Response } from 'express';
import { ExportLogsServiceResponse, ExportMetricsServiceResponse, ExportTraceServiceResponse, encodeRpcStatus } from '../otlp/proto.ts';
import type { OtlpEncoding } from '../otlp/decode.ts';

/** HTTP status → google.rpc.Code, for the OTLP error body. */
function rpcCode(status: number): number {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 5; // NOT_FOUND
    case 429:
      return 8; // RESOURCE_EXHAUSTED
    case 503:
      return 14; // UNAVAILABLE
    default:
      return 13; // INTERNAL
  }
}

export type Signal = 'traces' | 'metrics' | 'logs';

/** Each signal's response message and the name of its rejected count (opentelemetry-proto collector/{trace,metrics,logs}/v1). */
const RESPONSES = {
  traces: { type: ExportTraceServiceResponse, rejected: 'rejectedSpans' },
  metrics: { type: ExportMetricsServiceResponse, rejected: 'rejectedDataPoints' },
  logs: { type: ExportLogsServiceResponse, rejected: 'rejectedLogRecords' },
} as const;

const PROTOBUF = 'application/x-protobuf';
/** What Express's `res.json` sends, kept byte for byte. */
const JSON_TYPE = 'application/json; charset=utf-8';
/** The body of a plain success, the same for every request: encoded once. */
const FULL_SUCCESS = { protobuf: Buffer.alloc(0), json: Buffer.from('{}') } as const;

/**
 * Writes a complete answer straight to Node's response: every OTLP answer is a POST's, which
 * Express's `send` would hash for an ETag and check for freshness on, and whose type it would look up.
 */
function sendBody(res: Response, status: number, contentType: string, body: Buffer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/**
 * The OTLP success body, in the request's encoding, with partial_success when items were refused,
 * or with rejected 0 and a message as a warning (attributes cut to the limits), as the spec allows.
 */
export function sendExportResponse(res: Response, encoding: OtlpEncoding, rejected: number, message: string, signal: Signal = 'traces'): void {
  const partial = rejected > 0 || message !== '';
  if (!partial) {
    sendBody(res, 200, encoding === 'protobuf' ? PROTOBUF : JSON_TYPE, FULL_SUCCESS[encoding]);
    return;
  }
  const { type, rejected: key } = RESPONSES[signal];
  if (encoding === 'protobuf') {
    sendBody(res, 200, PROTOBUF, Buffer.from(type.encode({ partialSuccess: { [key]: rejected, errorMessage: message } }).finish()));
    return;
  }
  // int64 is a decimal string in OTLP/JSON.
  sendBody(res, 200, JSON_TYPE, Buffer.from(JSON.stringify({ partialSuccess: { [key]: String(rejected), errorMessage: message } })));
}

/** An OTLP error: `google.rpc.Status`, encoded like the request (JSON when the request could not be classified). */
export function sendOtlpError(res: Response, encoding: OtlpEncoding, status: number, code: string, message: string): void {
  if (encoding === 'protobuf') {
    sendBody(res, status, PROTOBUF, Buffer.from(encodeRpcStatus(rpcCode(status), message)));
    return;
  }
  sendBody(res, status, JSON_TYPE, Buffer.from(JSON.stringify({ code: rpcCode(status), message, details: [], error: code })));
}
