import assert from 'node:assert/strict';
import { Agent, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createMetrics } from '../src/ops/metrics.ts';
import { createTenantResolver } from '../src/tenancy/resolve-tenant.ts';
import { GatewayError } from '../src/errors.ts';
import type { WriteOutcome } from '../src/influx/transport.ts';
import { createLineWriter } from '../src/influx/writer.ts';
import { DEFAULT_RULES } from '../src/mapping/rules.ts';
import { createFullLatch } from '../src/store/full-latch.ts';
import { createInfluxStore } from '../src/store/influx-store.ts';
import { EMPTY_DRILL_DOWN, createIngestInto, createInProcessIngest, type MemoryStore } from '../../test/support/memory-store.ts';

const MAX_BODY_BYTES = 1024 * 1024;
/** Declared by the refused request; only its first KiB is sent before the answer must come. */
const DECLARED_BYTES = 256 * 1024;
const ANSWER_WITHIN_MILLIS = 3000;

function traces(spanId = 'eee19b7ec3c1b174'): Buffer {
  return Buffer.from(
  JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId,
                name: 'GET /cart',
                kind: 2,
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000000001000000',
              },
            ],
          },
        ],
      },
    ],
  }),
  );
}
const TRACES = traces();

interface Answer {
  readonly res: IncomingMessage;
  readonly body: Buffer;
  /** True when the request went out on a kept-alive connection. */
  readonly reused: boolean;
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('overload: a full buffer refuses before reading the body (createApp, in-process, real HTTP)', () => {
  let server: Server;
  let port = 0;
  let store: MemoryStore;
  // One socket: the request after a refusal must reuse the refused request's connection.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  before(async () => {
    const config = loadConfig({ TENANT_AUTH: 'header', MAX_BODY_BYTES: String(MAX_BODY_BYTES), LOG_LEVEL: 'silent' });
    const inProcess = createInProcessIngest('gw-overload');
    store = inProcess.store;
    const metrics = createMetrics({ bufferLines: () => 0, bufferBytes: () => 0 }, false);
    const { app } = createApp({ config, ingest: inProcess.ingest, tenants: createTenantResolver(config.tenancy), sink: store, health: store, queries: EMPTY_DRILL_DOWN, metrics, logger: pino({ level: 'silent' }) });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /**
   * POSTs /v1/traces declaring `declared` bytes, sends `first`, and resolves with the answer as
   * soon as it arrives; `rest` (if any) is sent only after the answer, so a server that reads the
   * whole body before answering never answers in time.
   */
  function post(first: Buffer, declared: number, rest?: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/v1/traces', agent, headers: { 'content-type': 'application/json', 'content-length': String(declared), 'x-tenant-id': 'acme' } },
        (res) => {
          clearTimeout(timer);
          if (rest !== undefined) req.end(rest);
          readAll(res).then((body) => resolve({ res, body, reused: req.reusedSocket }), reject);
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`no answer within ${ANSWER_WITHIN_MILLIS} ms while the body was incomplete: the server waited for the body`));
      }, ANSWER_WITHIN_MILLIS);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      if (rest === undefined) req.end(first);
      else req.write(first);
    });
  }

  test('503 + Retry-After while the body is still on the wire; nothing decoded; the connection then serves the retry once the buffer drained', async () => {
    store.setFull(true);
    const offersBefore = store.offers;
    const first = Buffer.alloc(1024, 0x20);
    const refused = await post(first, DECLARED_BYTES, Buffer.alloc(DECLARED_BYTES - first.length, 0x20));
    assert.equal(refused.res.statusCode, 503);
    assert.equal(refused.res.headers['retry-after'], '1');
    assert.notEqual(refused.res.headers.connection, 'close', 'the connection is kept for the retry');
    const status = JSON.parse(refused.body.toString('utf8')) as { code: number; error: string };
    assert.equal(status.error, 'TL_BUFFER_FULL');
    assert.equal(status.code, 14, 'google.rpc.Code UNAVAILABLE');
    assert.equal(store.offers, offersBefore, 'a refused body is never decoded nor offered');

    // The buffer drains: the same connection (its refused body discarded) carries the retry.
    store.setFull(false);
    const retried = await post(TRACES, TRACES.length);
    assert.equal(retried.res.statusCode, 200, retried.body.toString('utf8'));
    assert.ok(retried.reused, 'the retry reused the refused request’s connection');
    assert.equal(store.offers, offersBefore + 1);
    assert.ok(store.points.some((p) => p.point.measurement === 'spans'), 'the retried span was stored');
  });

  test('a refused body declared over MAX_BODY_BYTES is not drained: the answer closes the connection', async () => {
    store.setFull(true);
    try {
      const refused = await post(Buffer.alloc(1024, 0x20), MAX_BODY_BYTES + 1, Buffer.alloc(0));
      assert.equal(refused.res.statusCode, 503);
      assert.equal(refused.res.headers['retry-after'], '1');
      assert.equal(refused.res.headers.connection, 'close');
    } finally {
      store.setFull(false);
    }
  });

  test('with room in the buffer, the body is read as before (a body over MAX_BODY_BYTES is 413)', async () => {
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const answer = await post(big, big.length);
    assert.equal(answer.res.statusCode, 413);
  });
});

test('the full latch: set by a refusal from a non-empty buffer, held until the buffer holds less', () => {
  const latch = createFullLatch();
  assert.equal(latch.holds(0), false);
  latch.refused(0);
  assert.equal(latch.holds(0), false, 'an empty buffer that refuses is too small for that request, not full');
  latch.refused(1000);
  assert.equal(latch.holds(1000), true);
  assert.equal(latch.holds(1200), true);
  assert.equal(latch.holds(999), false, 'a batch was written');
  assert.equal(latch.holds(1000), false, 'and it stays open until the next refusal');
});

test('an InfluxDB store with BUFFER_MAX_BYTES under BATCH_MAX_BYTES: early 503 only after a refusal, until a write completes', async (t) => {
  // The writer's flush timer runs on node:test's mock clock: the test moves it, nothing sleeps.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const buffer = { ...loadConfig({ TENANT_AUTH: 'header' }).buffer, maxBytes: 64 * 1024, flushIntervalMillis: 1 };
  const influx = loadConfig({ TENANT_AUTH: 'header', INFLUX_URL: 'http://127.0.0.1:9', INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens' }).influx!;
  // Writes hang until released: the buffer keeps their bytes.
  const pending: Array<(o: WriteOutcome) => void> = [];
  const transport = { write: () => new Promise<WriteOutcome>((r) => pending.push(r)), ping: async () => true, close: async () => undefined };
  const writer = createLineWriter({ transport, buffer, events: { written: () => undefined, retry: () => undefined, failed: () => undefined } });
  const store = createInfluxStore({ config: influx, rules: DEFAULT_RULES, writer, transport }).sink;
  const ingest = createIngestInto(store, 'gw-latch', undefined, store);
  try {
    assert.ok(writer.isFull, 'isFull (room for less than a batch) holds even for the empty buffer');
    assert.equal(store.fullError(), undefined, 'but an empty buffer refuses nothing up front');
    let refused: unknown;
    for (let i = 0; refused === undefined && i < 10_000; i++) {
      if (store.fullError() !== undefined) assert.fail('fullError before any refusal');
      try {
        ingest.traces(traces(i.toString(16).padStart(16, '0')), 'json', 'acme');
      } catch (err) {
        refused = err;
      }
    }
    assert.ok(refused instanceof GatewayError && refused.status === 503, String(refused));
    const early = store.fullError();
    assert.ok(early !== undefined, 'a refusal makes the store refuse up front');
    assert.equal(early.status, 503);
    assert.equal(early.code, 'TL_BUFFER_FULL');
    assert.ok((early.retryAfterSeconds ?? 0) >= 1, 'with Retry-After');
    // The database takes the batches in flight: the buffer empties and requests are read again.
    while (store.bufferedBytes > 0) {
      for (const done of pending.splice(0)) done({ kind: 'success' });
      t.mock.timers.tick(5);
      // setImmediate is not mocked: it runs once the writer's promise callbacks have.
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(store.fullError(), undefined);
  } finally {
    for (const done of pending.splice(0)) done({ kind: 'success' });
    writer.close();
  }
});
