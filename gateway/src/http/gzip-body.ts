import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';
import { GatewayError } from '../errors.ts';

/** 413: MAX_BODY_BYTES is measured after decompression, whichever reader hit it. */
export function bodyTooLarge(maxBytes: number): GatewayError {
  return new GatewayError('BODY_TOO_LARGE', `body exceeds MAX_BODY_BYTES (${maxBytes} bytes, measured after decompression)`);
}

/**
 * A gzip request body, read whole and inflated in one zlib call. Through body-parser the inflate
 * was a zlib stream per request (a chunk at a time, each a round trip to the thread pool): with
 * gzip on, one gateway process answered about half the spans/s it answered without (bench/e2e.ts).
 * One call does the same work in one trip. `maxBytes` bounds both the compressed body and, through
 * zlib's maxOutputLength, what it inflates to (a gzip bomb stops there: MAX_BODY_BYTES is
 * measured after decompression).
 */
export function readGzipBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
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
      gunzip(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size), { maxOutputLength: maxBytes }, (err, out) => {
        if (err === null) resolve(out);
        else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') reject(tooLarge());
        else reject(new GatewayError('MALFORMED_BODY', `cannot decompress body: ${err.message}`));
      });
    });
  });
}
