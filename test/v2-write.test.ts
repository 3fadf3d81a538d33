import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { loadConfig, type Config } from '../gateway/src/config.ts';
import type { WriteTransport } from '../gateway/src/influx/transport.ts';
import { createV2Transport } from '../gateway/src/influx/v2-transport.ts';
import { createLineWriter, type LineWriter } from '../gateway/src/influx/writer.ts';
import { freePort } from '../harness/ports.ts';
import { startVictoriaMetrics, type VictoriaMetrics } from './support/victoria-metrics.ts';
import { recordWriterEvents, type RecordedWriterEvents } from './support/writer-events.ts';

const TOKEN = 'test-token-Zm9vYmFy==';

function v2Config(url: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    INFLUX_URL: url,
    INFLUX_API_VERSION: '2',
    INFLUX_TOKEN: TOKEN,
    INFLUX_ORG: 'my org',
    INFLUX_BUCKET: 'spans/autogen',
    TENANT_AUTH: 'header',
    ...extra,
  });
}


/** The gateway's wiring (main.ts): one v2 transport, one writer on top. */
function pipeline(config: Config): { transport: WriteTransport; writer: LineWriter; log: RecordedWriterEvents } {
  const transport = createV2Transport(config.influx!, config.buffer.batchMaxLines);
  const { events, log } = recordWriterEvents();
  const writer = createLineWriter({ transport, buffer: config.buffer, events });
  return { transport, writer, log };
}

async function shutdown(p: { transport: WriteTransport; writer: LineWriter }): Promise<void> {
  p.writer.close();
  await p.transport.close();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- (a) a real VictoriaMetrics

test('v2 client + writer into a real victoria-metrics: values and tenant labels arrive', async () => {
  const vm: VictoriaMetrics = await startVictoriaMetrics();
  // 25-line batches: the 60 lines go out as 3 writes, the bigger ones gzipped by the client.
  const p = pipeline(v2Config(vm.url, { BATCH_MAX_LINES: '25' }));
  try {
    assert.equal(await p.transport.ping(), true);
    const baseMs = Date.now() - 60_000; // inside retention, not in the future
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      lines.push(`backend_api_latency,tenant_id=acme,endpoint=/x latency_ms=${40 + i}i ${BigInt(baseMs + i) * 1_000_000n + 123_456n}`);
    }
    for (let i = 0; i < 20; i++) {
      lines.push(`backend_api_latency,tenant_id=globex,endpoint=/y latency_ms=${1000 + i}i ${BigInt(baseMs + i) * 1_000_000n}`);
    }
    assert.equal(p.writer.offer(lines), true);
    assert.equal(await p.writer.drain(Date.now() + 15_000), 0);
    // WRITE_CONCURRENCY: the three writes may finish in any order.
    assert.deepEqual([...p.log.written].sort((a, b) => b - a), [25, 25, 10]);
    assert.deepEqual(p.log.failed, []);
    assert.deepEqual(p.log.retries, []);

    await vm.forceFlush();
    const series = (await vm.exportSeries('{__name__="backend_api_latency_latency_ms"}')).sort((a, b) =>
      String(a.metric.tenant_id).localeCompare(String(b.metric.tenant_id)),
    );
    assert.deepEqual(
      series.map((s) => s.metric),
      [
        { __name__: 'backend_api_latency_latency_ms', tenant_id: 'acme', endpoint: '/x' },
        { __name__: 'backend_api_latency_latency_ms', tenant_id: 'globex', endpoint: '/y' },
      ],
    );
    const [acme, globex] = series as [(typeof series)[0], (typeof series)[0]];
    assert.deepEqual(acme.values, Array.from({ length: 40 }, (_, i) => 40 + i));
    assert.deepEqual(acme.timestamps, Array.from({ length: 40 }, (_, i) => baseMs + i)); // ns truncated to ms
    assert.deepEqual(globex.values, Array.from({ length: 20 }, (_, i) => 1000 + i));
    assert.deepEqual(globex.timestamps, Array.from({ length: 20 }, (_, i) => baseMs + i));
  } finally {
    await shutdown(p);
    await vm.close();
  }
});

// ---------------------------------------------------------------- (b, c) an in-test HTTP server

interface Received {
  readonly at: number; // performance.now() on arrival
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

let server: Server;
let baseUrl = '';
let received: Received[] = [];
/** How the fake InfluxDB answers the n-th (0-based) request. */
let answer: (n: number, req: Received, res: ServerResponse) => void = (_n, _req, res) => res.writeHead(204).end();

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const r: Received = { at: performance.now(), method: req.method ?? '', url: new URL(req.url ?? '/', 'http://x'), headers: req.headers, body };
      received.push(r);
      answer(received.length - 1, r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function reset(fn: typeof answer): void {
  received = [];
  answer = fn;
}

function writeRequests(): Received[] {
  return received.filter((r) => r.url.pathname === '/api/v2/write');
}

test('429 then 503 with Retry-After: 1 are retried after >= 1 s each (seconds, not ms), then written once', async () => {
  reset((n, _req, res) => {
    if (n === 0) {
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ code: 'too many requests', message: 'org "my org" has exceeded its write limit' }));
    } else if (n === 1) {
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' }).end('service unavailable');
    } else {
      res.writeHead(204).end();
    }
  });
  const p = pipeline(v2Config(baseUrl));
  try {
    const lines = [
      'backend_api_latency,tenant_id=acme,endpoint=/x latency_ms=42i 1700000000123456789',
      'backend_api_latency,tenant_id=acme,endpoint=/y latency_ms=7i 1700000000123456790',
      'spans,tenant_id=globex name="ü € 😀" 1700000000123456791',
    ];
    assert.equal(p.writer.offer(lines), true);
    assert.equal(await p.writer.drain(Date.now() + 15_000), 0);

    const reqs = writeRequests();
    assert.equal(reqs.length, 3, `expected 3 attempts, got ${reqs.length}: the client must not retry on its own`);
    const [a, b, c] = reqs as [Received, Received, Received];
    // 2 ms: Node timers count from libuv's cached loop time, which can trail the real clock.
    assert.ok(b.at - a.at >= 1000 - 2, `retried ${Math.round(b.at - a.at)} ms after the 429`);
    assert.ok(c.at - b.at >= 1000 - 2, `retried ${Math.round(c.at - b.at)} ms after the 503`);
    assert.ok(c.at - a.at < 5_000, `took ${Math.round(c.at - a.at)} ms`);

    assert.deepEqual(c.body.split('\n'), lines, 'the final body carries every line exactly once, in order');
    assert.equal(a.body, c.body, 'the very same batch is resent');
    assert.equal(b.body, c.body);
    for (const r of reqs) {
      assert.equal(r.method, 'POST');
      assert.equal(r.headers.authorization, `Token ${TOKEN}`);
      assert.equal(r.url.searchParams.get('org'), 'my org');
      assert.equal(r.url.searchParams.get('bucket'), 'spans/autogen');
      assert.equal(r.url.searchParams.get('precision'), 'ns');
      assert.match(String(r.headers['content-type']), /^text\/plain/);
    }
    assert.deepEqual(p.log.retries, [
      { reason: 'org "my org" has exceeded its write limit', status: 429 },
      { reason: 'service unavailable', status: 503 },
    ]);
    assert.deepEqual(p.log.written, [3]);
    assert.deepEqual(p.log.failed, []);
    assert.equal(p.writer.lastWriteOk, true);
    await sleep(200);
    assert.equal(writeRequests().length, 3, 'nothing is sent again after the 204');
  } finally {
    await shutdown(p);
  }
});

test('a 400 is a failure: counted as rejected, logged with a sample, never retried', async () => {
  const message = "partial write error (2 written): unable to parse 'm,t=a f=bad 2': invalid boolean";
  reset((_n, _req, res) => {
    res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ code: 'invalid', message }));
  });
  const p = pipeline(v2Config(baseUrl));
  try {
    const lines = ['m,t=a f=1i 1', 'm,t=a f=bad 2', 'm,t=a f=3i 3'];
    assert.equal(p.writer.offer(lines), true);
    assert.equal(await p.writer.drain(Date.now() + 5_000), 0);
    await sleep(300);
    assert.equal(writeRequests().length, 1, 'a 400 must not be retried');
    assert.deepEqual(p.log.failed, [{ reason: message, status: 400, rejected: 1, sample: lines, refused: [] }]);
    assert.deepEqual(p.log.written, [2]);
    assert.deepEqual(p.log.retries, []);
    assert.equal(p.writer.bufferedLines, 0);
  } finally {
    await shutdown(p);
  }
});

test('transport outcomes: 400 with a text body, 401 and 503 retryable with Retry-After parsed, success, ping', async () => {
  const config = v2Config(baseUrl);
  const transport = createV2Transport(config.influx!, 100);
  try {
    reset((_n, _req, res) => res.writeHead(400, { 'content-type': 'text/plain' }).end("unable to parse 'x': missing fields"));
    assert.deepEqual(await transport.write(Buffer.from('x'), 1), { kind: 'failure', reason: "unable to parse 'x': missing fields", status: 400, rejectedLines: 1 });

    reset((_n, _req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'unauthorized', message: 'unauthorized access' })));
    assert.deepEqual(await transport.write(Buffer.from('m f=1'), 1), { kind: 'retryable', reason: 'unauthorized access', status: 401, retryAfterMillis: undefined });

    reset((_n, _req, res) => res.writeHead(503, { 'retry-after': '7' }).end());
    assert.deepEqual(await transport.write(Buffer.from('m f=1'), 1), { kind: 'retryable', reason: 'HTTP 503', status: 503, retryAfterMillis: 7_000 });

    reset((_n, _req, res) => res.writeHead(204).end());
    assert.deepEqual(await transport.write(Buffer.from('m f=1'), 1), { kind: 'success' });
    assert.equal(await transport.ping(), true);
    assert.equal(received.at(-1)?.url.pathname, '/ping');
  } finally {
    await transport.close();
  }
});

test('an unreachable server is a retryable network outcome and ping() is false', async () => {
  const port = await freePort(); // nothing listens there any more
  const config = v2Config(`http://127.0.0.1:${port}`);
  const transport = createV2Transport(config.influx!, 100);
  try {
    const outcome = await transport.write(Buffer.from('m f=1'), 1);
    assert.equal(outcome.kind, 'retryable');
    assert.ok(outcome.kind === 'retryable' && outcome.reason.startsWith('network: '), JSON.stringify(outcome));
    assert.equal(outcome.kind === 'retryable' ? outcome.retryAfterMillis : 'x', undefined);
    assert.equal(await transport.ping(), false);
  } finally {
    await transport.close();
  }
});

test('a single line over twice batchMaxBytes is still one awaited write whose real outcome is reported', async () => {
  // The writer always sends a line even when it alone exceeds batchMaxBytes.
  reset((_n, _req, res) => res.writeHead(503, { 'retry-after': '2' }).end());
  const config = v2Config(baseUrl);
  const transport = createV2Transport(config.influx!, 100);
  try {
    const big = `m,t=a msg="${'x'.repeat(3_000)}" 1`;
    const outcome = await transport.write(Buffer.from(big), 1);
    assert.deepEqual(outcome, { kind: 'retryable', reason: 'HTTP 503', status: 503, retryAfterMillis: 2_000 }, 'a failed write reported as success loses the line');
    assert.equal(writeRequests().length, 1);
    assert.equal(writeRequests()[0]?.body, big);

    reset((_n, _req, res) => res.writeHead(204).end());
    assert.deepEqual(await transport.write(Buffer.from(big), 1), { kind: 'success' });
    assert.equal(writeRequests().length, 1);
  } finally {
    await transport.close();
  }
});
