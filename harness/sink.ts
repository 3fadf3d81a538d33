import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { OWN_MEASUREMENTS } from '../gateway/src/schema/derived.ts';
import { SPANS } from '../gateway/src/schema/measurements.ts';

/** What the sink has received since it started (or since the last `reset()`). */
export interface SinkCounts {
  readonly lines: number;
  /**
   * Lines of the `spans` measurement: one per span the gateway delivered (the default data model
   * writes every accepted span there once), whatever else the span became.
   */
  readonly spans: number;
  /**
   * Lines of the gateway's own measurements (rollups, the trace and session index, alert state,
   * the claim log): `lines - own` is the mapped data, what a baseline gateway writes too.
   */
  readonly own: number;
  readonly requests: number;
  /** Bytes of line protocol after decompression. */
  readonly bytes: number;
  /** Write requests it could not read (bad gzip): should stay 0. */
  readonly bad: number;
  /**
   * Lines of write requests whose client hung up before a throttled answer went out (a write
   * timeout): not in `lines`, since the gateway never saw them acknowledged and writes them again.
   */
  readonly unanswered: number;
}

/** Slows the sink down so that a gateway's buffer fills (the overload bench). */
export interface SinkThrottle {
  /** A fixed delay before each write request is answered. */
  readonly delayMillis?: number;
  /** At most this many lines per second over all write requests: each answer waits its turn. */
  readonly maxLinesPerSec?: number;
}

export interface Sink {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  counts(): SinkCounts;
  reset(): void;
  /** Slow (a throttle) or fast again (undefined); answers already scheduled keep their time. */
  throttle(t: SinkThrottle | undefined): void;
  close(): Promise<void>;
}

/** Lines in a line-protocol body: newline-separated, a trailing newline or blank lines do not count. */
export function countLines(buf: Buffer): number {
  let lines = 0;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    const end = nl === -1 ? buf.length : nl;
    if (end > start) lines++;
    if (nl === -1) return lines;
    start = nl + 1;
  }
}

const SPANS_PREFIX = Buffer.from(`${SPANS.name},`);
const OWN_PREFIXES = OWN_MEASUREMENTS.map((m) => Buffer.from(`${m.name},`));

/** Lines of a line-protocol body that start with `prefix`, or with any of `prefix` (a measurement name and its comma). */
export function countLinesStartingWith(buf: Buffer, prefix: Buffer | readonly Buffer[]): number {
  const prefixes = Buffer.isBuffer(prefix) ? [prefix] : prefix;
  let n = 0;
  for (let start = 0; start < buf.length; ) {
    if (prefixes.some((p) => buf.compare(p, 0, p.length, start, Math.min(buf.length, start + p.length)) === 0)) n++;
    const nl = buf.indexOf(10, start);
    if (nl === -1) break;
    start = nl + 1;
  }
  return n;
}

// SHOW FIELD KEYS (the gateway seeds its field types at start-up, v1 API): "nothing known yet".
const EMPTY_QUERY = JSON.stringify({ results: [{ statement_id: 0 }, { statement_id: 1 }] });

/**
 * A loopback line-protocol sink: answers 204 to `POST /write` and `/api/v2/write` as fast as it can
 * read the body, counting lines (gzip-aware), and 204 to `GET /ping`. It stands in for InfluxDB so
 * that the benchmark measures the gateway, not the database. With a throttle (`opts.throttle` or
 * `throttle()`) it answers each write late instead; lines count when the 204 goes out.
 */
export async function startSink(opts: { throttle?: SinkThrottle } = {}): Promise<Sink> {
  let lines = 0;
  let spans = 0;
  let own = 0;
  let requests = 0;
  let bytes = 0;
  let bad = 0;
  let unanswered = 0;
  let slow: SinkThrottle | undefined = opts.throttle;
  /** When the rate limit lets the next write be answered (performance.now() ms). */
  let nextFree = 0;
  /** How long to hold a write of `n` lines under the current throttle, in ms (0: answer now). */
  const holdMillis = (n: number): number => {
    if (slow === undefined) return 0;
    const now = performance.now();
    let wait = slow.delayMillis ?? 0;
    if (slow.maxLinesPerSec !== undefined && slow.maxLinesPerSec > 0) {
      nextFree = Math.max(now, nextFree) + (n / slow.maxLinesPerSec) * 1000;
      wait = Math.max(wait, nextFree - now);
    }
    return wait;
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && (path === '/write' || path === '/api/v2/write')) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          let body = Buffer.concat(chunks);
          if (/gzip/i.test(req.headers['content-encoding'] ?? '')) body = gunzipSync(body);
          const n = countLines(body);
          const s = countLinesStartingWith(body, SPANS_PREFIX);
          const o = countLinesStartingWith(body, OWN_PREFIXES);
          const answer = (): void => {
            if (res.destroyed || req.socket.destroyed) {
              unanswered += n;
              return;
            }
            lines += n;
            spans += s;
            own += o;
            bytes += body.length;
            requests++;
            res.writeHead(204).end();
          };
          const hold = holdMillis(n);
          if (hold <= 0) answer();
          else setTimeout(answer, hold);
        } catch {
          bad++;
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"unreadable body"}');
        }
      });
      return;
    }
    if (path === '/ping' || path === '/health') {
      res.writeHead(path === '/ping' ? 204 : 200, { 'content-type': 'application/json' }).end(path === '/ping' ? undefined : '{"status":"pass"}');
      return;
    }
    if (path === '/query') {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(EMPTY_QUERY);
      return;
    }
    req.resume();
    res.writeHead(404).end();
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('sink: no TCP address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    counts: () => ({ lines, spans, own, requests, bytes, bad, unanswered }),
    reset() {
      lines = 0;
      spans = 0;
      own = 0;
      requests = 0;
      bytes = 0;
      bad = 0;
      unanswered = 0;
    },
    throttle(t) {
      slow = t;
      nextFree = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
