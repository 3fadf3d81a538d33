import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.ts';
import { bodyTooLarge } from '../ingest/inflate.ts';

/**
 * A gzip request body, read whole and still compressed: the export intake inflates it in one zlib
 * call (ingest/inflate.ts), as it does for every transport. Through body-parser the inflate was a
 * zlib stream per request, a chunk at a time: about half the spans/s (bench/e2e.ts). `maxBytes`
 * bounds the compressed body here; the intake bounds what it inflates to.
 */
export function readCompressedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): GatewayError => bodyTooLarge(maxBytes);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (err: GatewayError): void => {
      if (failed) return;
      failed = true;
      chunks.length = 0;
      req.removeListener('data', onData);
      reject(err);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > maxBytes) fail(tooLarge());
      else chunks.push(c);
    };
    req.on('data', onData);
    req.on('aborted', () => fail(new GatewayError('MALFORMED_BODY', 'request aborted before its body was complete')));
    req.on('error', (err) => fail(new GatewayError('MALFORMED_BODY', `request body incomplete: ${err.message}`)));
    req.on('end', () => {
      if (failed) return;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
  });
}
