import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { retryDelayOf } from '../gateway/src/grpc/status.ts';
import { ackingExporter, assertExactlyOnce, storedSpanIds, waitDrained } from './support/delivery.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { createRawGrpcClient, EXPORT_PATHS, exportWithRetry } from './support/grpc-client.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

/**
 * Back-pressure over OTLP/gRPC: a tenant over its rate limit gets RESOURCE_EXHAUSTED and a full
 * buffer UNAVAILABLE, both with google.rpc.RetryInfo; a client that retries as the spec says
 * gets everything stored exactly once, and nothing acknowledged is lost. The outage and SIGTERM
 * cases of test/outage.test.ts, over gRPC.
 */
let influx: Influxd;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  influx = await startInfluxd();
});
after(async () => {
  await influx?.close();
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', BATCH_MAX_LINES: '500', RETRY_MAX_DELAY_MILLIS: '500', ...extra };
}

/** `n` finished spans of one service, in memory, with their ids. */
function spansOf(service: string, n: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('delivery');
  for (let i = 0; i < n; i++) tracer.startSpan('work', { attributes: { seq: i } }).end();
  return memory.getFinishedSpans();
}

const bytesOf = (spans: ReadableSpan[]): Buffer => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) ?? new Uint8Array());
const idsOf = (spans: ReadableSpan[]): string[] => spans.map((s) => s.spanContext().spanId);

function tenantMetadata(tenant: string): Metadata {
  const m = new Metadata();
  m.set('x-tenant-id', tenant);
  return m;
}

function grpcAddress(gw: Gateway): string {
  assert.ok(gw.grpcPort !== undefined);
  return `127.0.0.1:${gw.grpcPort}`;
}

test('TENANT_RATE_LIMIT over gRPC: RESOURCE_EXHAUSTED with RetryInfo; retried after the delay, every span stored exactly once; another tenant untouched', async () => {
  const gw = await startGateway(env({ TENANT_RATE_LIMIT: '300', TENANT_RATE_BURST: '300' }));
  const client = createRawGrpcClient(grpcAddress(gw));
  const service = `grpc-rate-${randomBytes(2).toString('hex')}`;
  try {
    const batches = Array.from({ length: 6 }, () => spansOf(service, 100));
    const first = await Promise.all(batches.map((b) => client.call(EXPORT_PATHS.traces, bytesOf(b), { 'x-tenant-id': 'acme' })));
    const limited = first.filter((r) => r.code === status.RESOURCE_EXHAUSTED);
    assert.ok(limited.length >= 1, `over the burst is refused (${first.map((r) => status[r.code]).join(', ')})`);
    for (const r of limited) {
      assert.match(r.details, /TENANT_RATE_LIMIT/);
      assert.ok(r.retryDelaySeconds !== undefined && r.retryDelaySeconds >= 1, `RetryInfo with a delay (${String(r.retryDelaySeconds)})`);
    }
    assert.equal((await client.call(EXPORT_PATHS.traces, bytesOf(spansOf(service, 10)), { 'x-tenant-id': 'globex' })).code, status.OK, 'globex has its own budget');

    // The official JS exporter sees the same status and RetryInfo. It reports the export failed
    // (its gRPC transport retries nothing, @opentelemetry/otlp-grpc-exporter-base 0.223): the
    // spans were not acknowledged, so the gateway lost nothing it promised.
    // Its own tenant, put 10 s into debt first, so the refusal does not depend on how fast the exporter connects.
    assert.equal((await client.call(EXPORT_PATHS.traces, bytesOf(spansOf(`${service}-js`, 3000)), { 'x-tenant-id': 'initech' })).code, status.OK);
    const js = new GrpcTraceExporter({ url: `http://${grpcAddress(gw)}`, metadata: tenantMetadata('initech') });
    const jsResult = await new Promise<{ code: number; error?: Error }>((resolve) => js.export(spansOf(`${service}-js`, 100), resolve));
    await js.shutdown();
    const jsError = jsResult.error as (Error & Partial<ServiceError>) | undefined;
    assert.equal(jsError?.code, status.RESOURCE_EXHAUSTED, 'the JS exporter got RESOURCE_EXHAUSTED');
    const details = jsError?.metadata?.get('grpc-status-details-bin')[0];
    assert.ok(Buffer.isBuffer(details) && (retryDelayOf(details) ?? 0) >= 1, 'with RetryInfo');

    // A client that retries as the spec says (UNAVAILABLE, RESOURCE_EXHAUSTED with RetryInfo).
    const acked = idsOf(batches.filter((_, i) => first[i]?.code === status.OK).flat());
    for (const [i, b] of batches.entries()) {
      if (first[i]?.code === status.OK) continue;
      const r = await exportWithRetry(client, EXPORT_PATHS.traces, bytesOf(b), { 'x-tenant-id': 'acme' });
      assert.equal(r.code, status.OK, `batch ${i} after ${r.attempts} attempts: ${r.details}`);
      acked.push(...idsOf(b));
    }
    await waitDrained(gw);
    const stored = await storedSpanIds(influx, service);
    assertExactlyOnce(stored, acked, 'rate limit');
    assert.equal(stored.length, acked.length + 10, 'the acknowledged spans (and globex\'s 10), nothing else');
    assert.ok((await gw.metric('tenantlens_requests_refused_total', { transport: 'grpc', reason: 'TL_RATE_LIMITED' })) >= limited.length);
  } finally {
    client.close();
    await gw.stop();
  }
});

test('buffer full over gRPC: UNAVAILABLE with RetryInfo instead of accepting data it would drop; retried once InfluxDB is back, exactly the acknowledged spans stored', async () => {
  const gw = await startGateway(env({ BUFFER_MAX_BYTES: String(64 * 1024), BATCH_MAX_BYTES: '16384' }));
  const client = createRawGrpcClient(grpcAddress(gw));
  const service = `grpc-full-${randomBytes(2).toString('hex')}`;
  const acked: string[] = [];
  try {
    await influx.stop();
    let refused: { batch: ReadableSpan[]; retryDelaySeconds: number | undefined; details: string } | undefined;
    for (let i = 0; i < 300 && refused === undefined; i++) {
      const batch = spansOf(service, 20);
      const r = await client.call(EXPORT_PATHS.traces, bytesOf(batch), { 'x-tenant-id': 'acme' });
      if (r.code === status.OK) acked.push(...idsOf(batch));
      else {
        assert.equal(r.code, status.UNAVAILABLE, `${status[r.code]}: ${r.details}`);
        refused = { batch, retryDelaySeconds: r.retryDelaySeconds, details: r.details };
      }
    }
    assert.ok(refused !== undefined, 'the gateway refused once its buffer was full');
    assert.match(refused.details, /buffer is full/);
    assert.ok(refused.retryDelaySeconds !== undefined && refused.retryDelaySeconds >= 1, 'RetryInfo with a delay');
    const health = await client.call('/grpc.health.v1.Health/Check', Buffer.alloc(0));
    assert.equal(health.code, status.OK, 'the process still answers');
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 503, 'and is unready while full');
    const retried = exportWithRetry(client, EXPORT_PATHS.traces, bytesOf(refused.batch), { 'x-tenant-id': 'acme' });
    await sleep(1500);
    await influx.restart();
    const r = await retried;
    assert.equal(r.code, status.OK, `retried ${r.attempts} times: ${r.details}`);
    assert.ok(r.attempts >= 2);
    acked.push(...idsOf(refused.batch));
    await waitDrained(gw, 60_000);
  } finally {
    client.close();
    await gw.stop();
  }
  const stored = await storedSpanIds(influx, service);
  assertExactlyOnce(stored, acked, 'buffer full');
  assert.equal(stored.length, acked.length, 'exactly the acknowledged spans are stored');
});

test('influxd stopped for 5 s under steady OTLP/gRPC export: every span the JS gRPC exporter had acknowledged is stored exactly once', async () => {
  const gw = await startGateway(env({ BUFFER_MAX_BYTES: String(8 * 1024 * 1024) }));
  const service = `grpc-outage-${randomBytes(2).toString('hex')}`;
  const acked = new Set<string>();
  const failed = { n: 0 };
  const exporter = ackingExporter(new GrpcTraceExporter({ url: `http://${grpcAddress(gw)}`, metadata: tenantMetadata('acme') }), acked, failed);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 25, maxExportBatchSize: 100, maxQueueSize: 100_000 })],
  });
  const tracer = provider.getTracer('outage');
  let produced = 0;
  let sending = true;
  const producer = (async () => {
    while (sending) {
      for (let i = 0; i < 20; i++) tracer.startSpan('work', { attributes: { seq: produced++ } }).end();
      await sleep(10);
    }
  })();
  try {
    await sleep(1000);
    await influx.stop();
    const before = acked.size;
    await sleep(5000);
    const duringOutage = acked.size - before;
    await influx.restart();
    assert.ok(duringOutage > 300, `acknowledged during the outage: ${duringOutage}`);
    await sleep(500);
    sending = false;
    await producer;
    await provider.forceFlush();
    await provider.shutdown();
    await waitDrained(gw, 60_000);
  } finally {
    sending = false;
    await gw.stop();
  }
  const stored = await storedSpanIds(influx, service);
  assert.equal(failed.n, 0, 'no export was refused');
  assert.equal(acked.size, produced, 'every produced span was acknowledged');
  assertExactlyOnce(stored, acked, 'outage over gRPC');
  assert.equal(stored.length, acked.size);
});

test('SIGTERM with data buffered from gRPC: the buffer is flushed, exit 0', async () => {
  const gw = await startGateway(env({ FLUSH_INTERVAL_MILLIS: '600000', BATCH_MAX_LINES: '100000' }));
  const client = createRawGrpcClient(grpcAddress(gw));
  const service = `grpc-term-${randomBytes(2).toString('hex')}`;
  const batch = spansOf(service, 50);
  try {
    assert.equal((await client.call(EXPORT_PATHS.traces, bytesOf(batch), { 'x-tenant-id': 'acme' })).code, status.OK);
    assert.equal((await storedSpanIds(influx, service)).length, 0, 'still buffered before SIGTERM');
    gw.proc.child.kill('SIGTERM');
    assert.equal(await gw.waitExit(), 0);
  } finally {
    client.close();
  }
  assert.deepEqual((await storedSpanIds(influx, service)).sort(), idsOf(batch).sort(), 'everything flushed on the way out');
});
