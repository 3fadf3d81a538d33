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

/**
 * The OTLP success body, in the request's encoding, with partial_success when items were refused,
 * or with rejected 0 and a message as a warning (attributes cut to the limits), as the spec allows.
 */
export function sendExportResponse(res: Response, encoding: OtlpEncoding, rejected: number, message: string, signal: Signal = 'traces'): void {
  const { type, rejected: key } = RESPONSES[signal];
  const partial = rejected > 0 || message !== '';
  if (encoding === 'protobuf') {
    const msg = partial ? { partialSuccess: { [key]: rejected, errorMessage: message } } : {};
    res.status(200).type('application/x-protobuf').send(Buffer.from(type.encode(msg).finish()));
    return;
  }
  // int64 is a decimal string in OTLP/JSON.
  const body = partial ? { partialSuccess: { [key]: String(rejected), errorMessage: message } } : {};
  res.status(200).json(body);
}

/** An OTLP error: `google.rpc.Status`, encoded like the request (JSON when the request could not be classified). */
export function sendOtlpError(res: Response, encoding: OtlpEncoding, status: number, code: string, message: string): void {
  if (encoding === 'protobuf') {
    res.status(status).type('application/x-protobuf').send(Buffer.from(encodeRpcStatus(rpcCode(status), message)));
    return;
  }
  res.status(status).json({ code: rpcCode(status), message, details: [], error: code });
}
