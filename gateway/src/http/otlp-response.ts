import type { Response } from 'express';
import type { GatewayError } from '../errors.ts';
import { encodeRpcStatus } from '../otlp/proto.ts';
import type { OtlpEncoding } from '../otlp/decode.ts';

const PROTOBUF = 'application/x-protobuf';
/** What Express's `res.json` sends, kept byte for byte. */
const JSON_TYPE = 'application/json; charset=utf-8';
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

/** A success body the signal descriptor encoded (ingest/signal-table.ts), typed like the request. */
export function sendExportBody(res: Response, encoding: OtlpEncoding, body: Buffer): void {
  sendBody(res, 200, encoding === 'protobuf' ? PROTOBUF : JSON_TYPE, body);
}

/** An OTLP error: `google.rpc.Status`, encoded like the request (JSON when the request could not be classified). */
export function sendOtlpError(res: Response, encoding: OtlpEncoding, err: GatewayError): void {
  if (encoding === 'protobuf') {
    sendBody(res, err.status, PROTOBUF, Buffer.from(encodeRpcStatus(err.rpcCode, err.message)));
    return;
  }
  sendBody(res, err.status, JSON_TYPE, Buffer.from(JSON.stringify({ code: err.rpcCode, message: err.message, details: [], error: err.code })));
}
