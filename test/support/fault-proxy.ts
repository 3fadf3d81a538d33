import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A fault-injecting HTTP proxy in front of a real influxd, for the faults a real server cannot be
 * made to show on demand: slow answers, 429/503 with Retry-After, connection resets, and a
 * database that is "down" while its process keeps running (so the test keeps its data).
 * Only `/write` is faulted; `/ping` follows `down`, `/query` always passes.
 */
export type Fault =
  | { readonly kind: 'pass' }
  /** Forwards the write, then holds the answer: the write happened, the client may time out. */
  | { readonly kind: 'slow'; readonly millis: number }
  | { readonly kind: 'status'; readonly status: 429 | 503; readonly retryAfterSeconds: number }
  /** Reads the request, then destroys the socket without answering. */
  | { readonly kind: 'reset' }
  /** Every connection is reset, /ping included: InfluxDB is unreachable. */
  | { readonly kind: 'down' };

export interface FaultProxy {
  readonly url: string;
  /** Applies `fault` to the next `times` writes (Infinity: until changed), then passes again. */
  inject(fault: Fault, times?: number): void;
  /** Writes seen, by the fault applied to them ('pass' included). */
  readonly seen: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let fault: Fault = { kind: 'pass' };
  let left = 0;
  const seen: Record<string, number> = {};
  const sockets = new Set<Socket>();

  function forward(req: IncomingMessage, body: Buffer, then: (status: number, headers: IncomingMessage['headers'], payload: Buffer) => void, fail: () => void): void {
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => then(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)));
        res.on('error', fail);
      },
    );
    up.on('error', fail);
    up.end(body);
  }

  function current(path: string): Fault {
    if (fault.kind === 'down') return fault;
    if (!path.startsWith('/write') || left <= 0) return { kind: 'pass' };
    left--;
    const f = fault;
    if (left <= 0) fault = { kind: 'pass' };
    return f;
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const f = path.startsWith('/query') ? ({ kind: 'pass' } as const) : current(path);
      if (path.startsWith('/write')) seen[f.kind] = (seen[f.kind] ?? 0) + 1;
      const reply = (status: number, headers: IncomingMessage['headers'], payload: Buffer): void => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(headers)) if (typeof v === 'string' && k !== 'transfer-encoding' && k !== 'connection') h[k] = v;
        h['content-length'] = String(payload.length);
        res.writeHead(status, h).end(payload);
      };
      const destroy = (): void => {
        res.socket?.destroy();
      };
      switch (f.kind) {
        case 'pass':
          forward(req, Buffer.concat(chunks), reply, destroy);
          return;
        case 'slow':
          forward(req, Buffer.concat(chunks), (s, h, p) => setTimeout(() => reply(s, h, p), f.millis), destroy);
          return;
        case 'status':
          res.writeHead(f.status, { 'retry-after': String(f.retryAfterSeconds), 'content-type': 'application/json' }).end(JSON.stringify({ error: `injected ${f.status}` }));
          return;
        case 'reset':
        case 'down':
          destroy();
          return;
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('fault proxy has no TCP address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    inject(f, times = Infinity) {
      fault = f;
      left = times;
    },
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
