import type { Response } from 'express';
import { ExportTraceServiceResponse, encodeRpcStatus } from '../otlp/proto.ts';
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

/** The OTLP success body, in the request's encoding, with partial_success when spans were refused. */
export function sendExportResponse(res: Response, encoding: OtlpEncoding, rejected: number, message: string): void {
  if (encoding === 'protobuf') {
    const msg = rejected > 0 ? { partialSuccess: { rejectedSpans: rejected, errorMessage: message } } : {};
    res.status(200).type('application/x-protobuf').send(Buffer.from(ExportTraceServiceResponse.encode(msg).finish()));
    return;
  }
  // int64 is a decimal string in OTLP/JSON.
  const body = rejected > 0 ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: message } } : {};
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
