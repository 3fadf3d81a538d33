import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ackingExporter, assertExactlyOnce, idChecksum, storedSpanIds, waitDrained } from './support/delivery.ts';
import { startGateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

let influx: Influxd;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  influx = await startInfluxd();
});
after(async () => {
  await influx?.close();
});

function gatewayEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    INFLUX_URL: influx.url,
    INFLUX_API_VERSION: '1',
    INFLUX_BUCKET: 'tenantlens',
    TENANT_AUTH: 'header',
    BATCH_MAX_LINES: '500',
    RETRY_MAX_DELAY_MILLIS: '500',
    ...extra,
  };
}

/** `npm test` stops influxd for 10 s; `npm run soak` sets OUTAGE_SECONDS=30. */
const OUTAGE_SECONDS = Number(process.env.OUTAGE_SECONDS ?? 10);

for (const mode of ['memory', 'spool'] as const) {
  test(`influxd stopped for ${OUTAGE_SECONDS} s under steady OTLP export (${mode} buffer): every acknowledged span is stored exactly once, memory stays bounded`, async () => {
    // ~2,000 spans/s at ~420 bytes of lines each (span line plus its share of the trace and
    // session index rows): ~8.5 MiB per 10 s of outage. The buffer must hold the whole outage.
    const bufferMax = 16 * 1024 * 1024 * Math.max(1, Math.ceil(OUTAGE_SECONDS / 10));
    const spoolDir = mode === 'spool' ? mkdtempSync(join(tmpdir(), 'tl-outage-spool-')) : undefined;
    const gw = await startGateway(
      gatewayEnv({ BUFFER_MAX_BYTES: String(bufferMax), ...(spoolDir === undefined ? {} : { SPOOL_DIR: spoolDir, SPOOL_SEGMENT_BYTES: String(1024 * 1024) }) }),
    );
    const service = `outage-${mode}-${randomBytes(2).toString('hex')}`;
    const acked = new Set<string>();
    const failed = { n: 0 };
    const exporter = ackingExporter(new OTLPTraceExporter({ url: `${gw.url}/v1/traces`, headers: { 'X-Tenant-ID': 'acme' } }), acked, failed);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 25, maxExportBatchSize: 100, maxQueueSize: 200_000 })],
    });
    const tracer = provider.getTracer('outage');
    let produced = 0;
    let sending = true;
    const producer = (async () => {
      while (sending) {
        for (let i = 0; i < 20; i++) {
          tracer.startSpan('work', { attributes: { seq: produced++, 'session.id': `s${produced % 10}` } }).end();
        }
        await sleep(10);
      }
    })();

    let maxBufferBytes = 0;
    let rssBefore: number;
    let maxRss = 0;
    const sampler = setInterval(() => {
      gw.metric('tenantlens_buffer_bytes').then((b) => (maxBufferBytes = Math.max(maxBufferBytes, b)), () => undefined);
      gw.metric('tenantlens_process_resident_memory_bytes').then((b) => (maxRss = Math.max(maxRss, b)), () => undefined);
    }, 100);

    let ackedDuringOutage: number;
    try {
      await sleep(1000);
      rssBefore = await gw.metric('tenantlens_process_resident_memory_bytes');
      await influx.stop();
      const beforeOutage = acked.size;
      await sleep(OUTAGE_SECONDS * 1000);
      ackedDuringOutage = acked.size - beforeOutage;
      // The gateway kept answering 200 while InfluxDB was down: spans are buffered, not lost.
      assert.ok(ackedDuringOutage > 500, `spans acknowledged during the outage (${ackedDuringOutage})`);
      assert.ok((await gw.metric('tenantlens_write_retries_total')) > 0, 'writes were retried');
      assert.ok((await gw.metric('tenantlens_buffer_lines')) > 0, 'lines are waiting in the buffer');
      // Still ready: it buffers. Unready only once the buffer is full (the next test).
      const degraded = await fetch(`${gw.url}/readyz`);
      assert.equal(degraded.status, 200, '/readyz stays 200 while the buffer has room');
      assert.deepEqual(await degraded.json(), { status: 'degraded', problems: [], warnings: ['InfluxDB unreachable'] });
      await influx.restart();
      await sleep(1000);
      sending = false;
      await producer;
      await provider.forceFlush();
      await provider.shutdown();
      await waitDrained(gw, 60_000);
    } finally {
      clearInterval(sampler);
      sending = false;
      await gw.stop();
      if (spoolDir !== undefined) rmSync(spoolDir, { recursive: true, force: true });
    }

    const stored = await storedSpanIds(influx, service);
    console.log(
      `# outage ${OUTAGE_SECONDS} s (${mode}): produced ${produced}, acked ${acked.size} (${ackedDuringOutage} during the outage), stored ${stored.length}, lost ${acked.size - stored.length}; ` +
        `buffer peak ${(maxBufferBytes / 2 ** 20).toFixed(1)} MiB of ${bufferMax / 2 ** 20}; RSS ${(rssBefore / 2 ** 20).toFixed(0)} → peak ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.equal(failed.n, 0, 'no export was refused');
    assert.equal(acked.size, produced, 'every produced span was acknowledged');
    assertExactlyOnce(stored, acked, `outage (${mode})`);
    assert.equal(stored.length, acked.size, 'stored count equals acknowledged count');
    assert.equal(idChecksum(stored), idChecksum(acked), 'same ids');
    assert.ok(maxBufferBytes <= bufferMax, `buffer stayed within BUFFER_MAX_BYTES (${maxBufferBytes} <= ${bufferMax})`);
    // The buffer bounds what the outage can cost in memory; the rest is the process's own churn.
    assert.ok(maxRss - rssBefore < bufferMax * 4 + 64 * 2 ** 20, `RSS grew by ${((maxRss - rssBefore) / 2 ** 20).toFixed(0)} MiB during the outage`);
  });
}

test('buffer full: 503 + Retry-After instead of accepting data it would drop; acknowledged data survives', async () => {
  const gw = await startGateway(gatewayEnv({ BUFFER_MAX_BYTES: String(64 * 1024), BATCH_MAX_BYTES: '16384' }));
  const service = `backpressure-${randomBytes(3).toString('hex')}`;
  const acked: string[] = [];
  let refused: Response | undefined;
  try {
    await influx.stop();
    for (let i = 0; i < 200 && refused === undefined; i++) {
      const spans = Array.from({ length: 20 }, (_, j) => ({
        traceId: randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        name: 'bp',
        kind: 1,
        startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n + BigInt(i * 100 + j)),
        endTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n + 1_000_000n),
      }));
      const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] });
      const res = await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'acme' }, body });
      if (res.status === 200) acked.push(...spans.map((s) => s.spanId));
      else refused = res;
    }
    assert.ok(refused !== undefined, 'the gateway refused once its buffer was full');
    assert.equal(refused.status, 503);
    assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(((await refused.json()) as { message: string }).message, /buffer is full/);
    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.ok(((await ready.json()) as { problems: string[] }).problems.includes('write buffer full'));
    assert.ok(acked.length > 0);
    await influx.restart();
    await waitDrained(gw);
  } finally {
    await gw.stop();
  }
  const stored = new Set(await storedSpanIds(influx, service));
  assert.equal(stored.size, acked.length, 'exactly the acknowledged spans are stored');
  for (const id of acked) assert.ok(stored.has(id));
});

test('SIGTERM: stop accepting, flush the buffer, exit 0', async () => {
  // A long flush interval keeps the lines buffered until shutdown forces them out.
  const gw = await startGateway(gatewayEnv({ FLUSH_INTERVAL_MILLIS: '600000', BATCH_MAX_LINES: '100000' }));
  const service = `sigterm-${randomBytes(3).toString('hex')}`;
  const spans = Array.from({ length: 50 }, (_, j) => ({
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    name: 'term',
    kind: 1,
    startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n + BigInt(j)),
    endTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n + 2_000_000n),
  }));
  const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] });
  const res = await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'acme' }, body });
  assert.equal(res.status, 200);
  assert.equal((await storedSpanIds(influx, service)).length, 0, 'still buffered before SIGTERM');
  gw.proc.child.kill('SIGTERM');
  assert.equal(await gw.waitExit(), 0);
  assert.equal((await storedSpanIds(influx, service)).length, 50, 'everything flushed on the way out');
  assert.ok(gw.logs().some((l) => l.msg === 'stopped cleanly'));
});
