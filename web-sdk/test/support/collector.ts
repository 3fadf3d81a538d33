import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly at: number;
}

/** Decides the answer to one request; the default is 200 with an empty JSON body. */
export type Responder = (req: ReceivedRequest, res: ServerResponse) => void;

export interface Collector {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  respond(r: Responder): void;
  /** Resolves once `n` requests arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** A plain node:http server on 127.0.0.1:0 that records every request: a stand-in gateway or backend. */
export async function startCollector(): Promise<Collector> {
  const requests: ReceivedRequest[] = [];
  let responder: Responder = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      requests.push(r);
      responder(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(r) {
      responder = r;
    },
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      while (requests.length < n) {
        if (performance.now() > deadline) throw new Error(`expected ${n} requests, got ${requests.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The spans of an OTLP/JSON export request, flattened. */
export function otlpSpans(body: Buffer): Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string; attributes: Record<string, unknown> }> {
  type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
  type Span = { name: string; traceId: string; spanId: string; parentSpanId?: string; attributes?: Array<{ key: string; value: AnyValue }> };
  const req = JSON.parse(body.toString('utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Span[] }> }> };
  return req.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({
        name: s.name,
        traceId: s.traceId,
        spanId: s.spanId,
        ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
        attributes: Object.fromEntries(
          (s.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : (a.value.doubleValue ?? a.value.boolValue))]),
        ),
      })),
    ),
  );
}
