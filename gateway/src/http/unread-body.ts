import type { Request, Response } from 'express';

/**
 * For a request refused before its body was read (shutting down, media type, credential, a full
 * buffer), called just before the answer goes out. The body is discarded as it arrives, never
 * buffered nor decompressed, and the connection stays open: an OTLP exporter still sending reads
 * the 503 and its Retry-After, then retries on the same connection. (Node's server would drain an
 * unconsumed body too, but without a bound.) A body declared or counted over `limitBytes` is not
 * worth the bandwidth: the connection is closed after the answer instead.
 */
export function discardUnreadBody(req: Request, res: Response, limitBytes: number): void {
  // Already read (or being read by the body parser), or nothing left on the wire.
  if (req.complete || req.readableFlowing !== null) return;
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) {
    res.setHeader('Connection', 'close');
    return;
  }
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limitBytes) req.socket.destroy();
  });
}
