import { gunzip } from 'node:zlib';
import { GatewayError } from '../errors.ts';

/** 413: MAX_BODY_BYTES is measured after decompression, whichever reader hit it. */
export function bodyTooLarge(maxBytes: number): GatewayError {
  return new GatewayError('BODY_TOO_LARGE', `body exceeds MAX_BODY_BYTES (${maxBytes} bytes, measured after decompression)`);
}

/**
 * A whole gzip body inflated in one zlib call (one round trip to the thread pool, not one per
 * chunk: bench/e2e.ts measured half the spans/s through a stream). zlib's maxOutputLength stops a
 * gzip bomb at `maxBytes`, so the limit holds after decompression whatever the transport.
 */
export function inflateGzip(body: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (err === null) resolve(out);
      else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') reject(bodyTooLarge(maxBytes));
      else reject(new GatewayError('MALFORMED_BODY', `cannot decompress body: ${err.message}`));
    });
  });
}
