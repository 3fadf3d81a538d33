import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { pino } from 'pino';
import { createApp } from '../gateway/src/app.ts';
import { loadConfig } from '../gateway/src/config.ts';
import { encodeLine, encodeSeriesKey } from '../gateway/src/influx/line-protocol.ts';
import { createMetrics } from '../gateway/src/ops/metrics.ts';
import { ExportLogsServiceResponse, ExportMetricsServiceResponse, ExportTraceServiceResponse } from '../gateway/src/otlp/proto.ts';
import { createTenantResolver } from '../gateway/src/tenancy/resolve-tenant.ts';
import {
  applyByteOps,
  applyJsonOps,
  buildSeedCorpus,
  byteOp,
  envCount,
  FuzzStats,
  gzipBody,
  gzipMode,
  ingestOnce,
  jsonOp,
  PATHS,
  type GzipMode,
  type Seed,
} from './support/fuzz.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { EMPTY_DRILL_DOWN, createInProcessIngest, type MemoryStore } from './support/memory-store.ts';

/**
 * Issue #7, hostile input. Real OTLP bodies from the official SDK serializers (traces, metrics,
 * logs; protobuf and JSON), mutated by fast-check, must never crash or hang the gateway, never get
 * a 5xx, and never write a point from a refused request:
 *  - the bulk (FUZZ_BODIES, default 100 000) goes in-process through createIngest (decode → limits
 *    → map → buffer) into a memory store wired as for InfluxDB, so protobuf traces take the fused
 *    encoder wherever it takes them (and the run checks that some did);
 *  - FUZZ_GZIP_BODIES (default 1 500) gzip streams (valid, corrupt, truncated, bombs, double, not
 *    gzip at all) go over HTTP through createApp, where bodies are inflated;
 *  - FUZZ_HTTP_BODIES (default 2 000) go to a real gateway process writing into a real influxd,
 *    and afterwards influxd holds exactly the points the gateway acknowledged.
 * A valid but odd body (an empty protobuf message, `{}`, a metric without data) is a 200 that
 * writes nothing. FUZZ_SEED replays a run (the seed is printed); `npm run fuzz:long` runs 1M bodies.
 */

const BODIES = envCount('FUZZ_BODIES', 100_000);
const GZIP_BODIES = envCount('FUZZ_GZIP_BODIES', 1_500);
const HTTP_BODIES = envCount('FUZZ_HTTP_BODIES', 2_000);
const SEED = envCount('FUZZ_SEED', Date.now() % 2 ** 31);
/** A body that takes longer than this in-process, or an HTTP request without an answer in this, is a hang. */
const HANG_MILLIS = 10_000;
const MAX_BODY_BYTES = 1024 * 1024;

let seeds: Seed[];
let jsonSeeds: Seed[];
let pool: Uint8Array[];

/** Wired as for InfluxDB: OTLP traces (protobuf and JSON) take the fused encoders (issue 16: the fuzz must reach them). */
const createInProcess = (): ReturnType<typeof createInProcessIngest> => createInProcessIngest('fuzz', undefined, { fused: true });

/** A mutated body of any kind: raw bytes of any seed, or a JSON seed edited structurally. */
type Case = { kind: 'bytes'; seed: Seed; body: Buffer } | { kind: 'json'; seed: Seed; body: Buffer };

const byteCase = (): fc.Arbitrary<Case> =>
  fc.record({ s: fc.nat(), ops: fc.array(byteOp, { minLength: 1, maxLength: 6 }) }).map(({ s, ops }) => {
    const seed = seeds[s % seeds.length] as Seed;
    return { kind: 'bytes', seed, body: applyByteOps(seed.body, ops, pool) };
  });

const jsonCase = (): fc.Arbitrary<Case> =>
  fc.record({ s: fc.nat(), ops: fc.array(jsonOp, { minLength: 1, maxLength: 4 }) }).map(({ s, ops }) => {
    const seed = jsonSeeds[s % jsonSeeds.length] as Seed;
    return { kind: 'json', seed, body: applyJsonOps(seed.body, ops) };
  });

function progress(stats: FuzzStats, total: number): void {
  if (total >= 200_000 && stats.bodies % 100_000 === 0) process.stdout.write(`# fuzz: ${stats.bodies}/${total} bodies, ${stats.elapsedSeconds.toFixed(0)} s\n`);
}

before(async () => {
  seeds = await buildSeedCorpus();
  jsonSeeds = seeds.filter((s) => s.encoding === 'json');
  pool = seeds.map((s) => s.body);
  process.stdout.write(`# fuzz: ${seeds.length} seed bodies\n`);
});

// The seed is printed as the file loads, before anything can fail, and again as a diagnostic of
// every test, so that it sits in a failing test's own report whatever the reporter.
process.stdout.write(`# fuzz: FUZZ_SEED=${SEED} replays this run\n`);
beforeEach((t) => {
  if ('diagnostic' in t) t.diagnostic(`FUZZ_SEED=${SEED}`);
});

test('the seed corpus is real and accepted: every signal and encoding, every seed a 200 with points', () => {
  const { ingest, store } = createInProcess();
  assert.deepEqual(new Set(seeds.map((s) => `${s.signal}/${s.encoding}`)), new Set(['traces/protobuf', 'traces/json', 'metrics/protobuf', 'metrics/json', 'logs/protobuf', 'logs/json']));
  for (const s of seeds) {
    const r = ingestOnce(ingest, store, s.signal, s.encoding, s.body);
    assert.equal(r.status, 200, `${s.signal}/${s.encoding}`);
    assert.ok(r.accepted > 0 && r.points > 0, `${s.signal}/${s.encoding}: ${JSON.stringify(r)}`);
    assert.equal(r.path, s.signal === 'traces' ? 'fused' : 'reference', `${s.signal}/${s.encoding}: the path that encoded it`);
  }
});

test(`in-process: ${BODIES} mutated protobuf and JSON bodies: no crash, no hang, 200 or 4xx, nothing offered when refused`, () => {
  const { ingest, store } = createInProcess();
  const stats = new FuzzStats();
  const fused = { protobuf: 0, json: 0 };
  const check = (c: Case): void => {
    const t0 = performance.now();
    const r = ingestOnce(ingest, store, c.seed.signal, c.seed.encoding, c.body);
    const ms = performance.now() - t0;
    assert.ok(ms < HANG_MILLIS, `a ${c.body.length}-byte body took ${ms.toFixed(0)} ms`);
    assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `status ${r.status}`);
    if (r.path === 'fused') fused[c.seed.encoding]++;
    stats.record(`${c.seed.signal}/${c.seed.encoding}/${c.kind}`, r.status, ms);
    progress(stats, BODIES);
  };
  // Byte mutations of every seed (protobuf and JSON text), then structural edits of the JSON seeds.
  const byteRuns = Math.ceil(BODIES * 0.75);
  fc.assert(fc.property(byteCase(), check), { numRuns: byteRuns, seed: SEED });
  fc.assert(fc.property(jsonCase(), check), { numRuns: BODIES - byteRuns, seed: SEED + 1 });
  process.stdout.write(`# fuzz in-process: ${stats.summary().replace(/\n/g, '\n# ')}\n# fuzz in-process: bodies taken by the fused trace encoders: ${fused.protobuf} protobuf, ${fused.json} JSON\n`);
  assert.equal(stats.bodies, BODIES);
  // Mutated protobuf traces that stay valid are the fused encoder's: the run must reach it.
  if (BODIES >= 10_000) assert.ok(fused.protobuf > 0 && fused.json > 0, `the fused trace encoders took ${fused.protobuf} protobuf and ${fused.json} JSON mutated bodies: both must be reached`);
  // The mutations reach both sides of the decoder for every signal, or the run proves little.
  for (const signal of ['traces', 'metrics', 'logs']) {
    for (const enc of ['protobuf', 'json']) {
      const of = (status: string) => [...stats.statuses].filter(([k]) => k.startsWith(`${signal}/${enc}/`) && k.endsWith(` ${status}`)).reduce((n, [, c]) => n + c, 0);
      if (BODIES >= 10_000) {
        assert.ok(of('200') > 0, `${signal}/${enc}: no mutated body was accepted`);
        assert.ok(of('400') > 0, `${signal}/${enc}: no mutated body was refused`);
      }
    }
  }
});

describe('gzip streams through the HTTP surface (createApp, in-process)', () => {
  let server: Server;
  let url = '';
  let store: MemoryStore;

  before(async () => {
    const config = loadConfig({ TENANT_AUTH: 'header', MAX_BODY_BYTES: String(MAX_BODY_BYTES), LOG_LEVEL: 'silent' });
    const inProcess = createInProcess();
    store = inProcess.store;
    const metrics = createMetrics({ bufferLines: () => 0, bufferBytes: () => 0 }, false);
    const { app } = createApp({ config, ingest: inProcess.ingest, tenants: createTenantResolver(config.tenancy), sink: store, health: store, queries: EMPTY_DRILL_DOWN, metrics, logger: pino({ level: 'silent' }) });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test(`${GZIP_BODIES} gzip streams of mutated bodies: valid, corrupt, truncated, bombs, double, not gzip, trailing junk`, async () => {
    const stats = new FuzzStats();
    const arb = fc.record({ c: fc.oneof(byteCase(), jsonCase()), mode: gzipMode, pos: fc.nat() });
    await fc.assert(
      fc.asyncProperty(arb, async ({ c, mode, pos }) => {
        const before = store.points.length + store.encodedLines.length;
        const t0 = performance.now();
        const res = await fetch(`${url}${PATHS[c.seed.signal]}`, {
          method: 'POST',
          headers: { 'content-type': c.seed.encoding === 'json' ? 'application/json' : 'application/x-protobuf', 'content-encoding': 'gzip', 'x-tenant-id': 'fuzz' },
          body: gzipBody(c.body, mode, pos, MAX_BODY_BYTES),
          signal: AbortSignal.timeout(HANG_MILLIS),
        });
        await res.arrayBuffer();
        const ms = performance.now() - t0;
        assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${mode}: status ${res.status}`);
        if (res.status !== 200) assert.equal(store.points.length + store.encodedLines.length, before, `${mode}: points offered for a ${res.status}`);
        if (mode === 'bomb') assert.equal(res.status, 413, 'a gzip bomb is 413');
        if (mode === 'corrupt' || mode === 'truncated' || mode === 'garbage') assert.notEqual(res.status, 200, `${mode} gzip must not be accepted`);
        stats.record(mode, res.status, ms);
        store.clear();
      }),
      { numRuns: GZIP_BODIES, seed: SEED + 2 },
    );
    process.stdout.write(`# fuzz gzip: ${stats.summary().replace(/\n/g, '\n# ')}\n`);
    assert.equal(stats.bodies, GZIP_BODIES);
    if (GZIP_BODIES >= 1000) assert.ok((stats.statuses.get('valid 200') ?? 0) > 0, 'some valid gzip streams of mutated bodies were accepted');
  });
});

// ---------------------------------------------------------------- a real gateway and a real influxd

describe('over real HTTP: a gateway process writing into influxd', () => {
  let influx: Influxd;
  let gw: Gateway;

  before(async () => {
    influx = await startInfluxd();
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', MAX_BODY_BYTES: String(MAX_BODY_BYTES), INSTANCE_NAME: 'fuzz' });
  });

  after(async () => {
    await gw?.stop();
    await influx?.close();
  });

  function rejectedIn(signal: Seed['signal'], encoding: Seed['encoding'], bytes: Buffer): number {
    const key = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' }[signal];
    if (encoding === 'json') {
      const body = JSON.parse(bytes.toString('utf8')) as { partialSuccess?: Record<string, string> };
      return Number(body.partialSuccess?.[key] ?? 0);
    }
    const type = { traces: ExportTraceServiceResponse, metrics: ExportMetricsServiceResponse, logs: ExportLogsServiceResponse }[signal];
    const msg = type.decode(bytes) as { partialSuccess?: Record<string, number | { toString(): string }> | null };
    return Number(String(msg.partialSuccess?.[key] ?? 0));
  }

  test(`${HTTP_BODIES} mutated bodies: the process stays up, answers every request, and influxd holds exactly the acknowledged points`, async () => {
    // Points, not lines: the acknowledged set below is built from them.
    // As the gateway wires it for InfluxDB: with the trace and session index (docs/data-model.md).
    const reference = createInProcessIngest('fuzz', undefined, { traceIndex: true });
    const stats = new FuzzStats();
    const arb = fc.record({ c: fc.oneof(byteCase(), byteCase(), jsonCase()), gzip: fc.oneof(fc.constant<GzipMode | undefined>(undefined), gzipMode), pos: fc.nat() });
    const cases = fc.sample(arb, { numRuns: HTTP_BODIES, seed: SEED + 3 });
    const acknowledged = new Set<string>(); // measurement + series key + identity + timestamp: one influxd row each
    const tenantsWritten = new Set<string>();
    const latencies: number[] = [];
    let refused = 0;
    for (const [i, { c, gzip, pos }] of cases.entries()) {
      const tenant = `fz${i}`;
      const t0 = performance.now();
      const res = await fetch(`${gw.url}${PATHS[c.seed.signal]}`, {
        method: 'POST',
        headers: {
          'content-type': c.seed.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
          'x-tenant-id': tenant,
          ...(gzip === undefined ? {} : { 'content-encoding': 'gzip' }),
        },
        body: gzip === undefined ? c.body : gzipBody(c.body, gzip, pos, MAX_BODY_BYTES),
        signal: AbortSignal.timeout(HANG_MILLIS),
      });
      const answer = Buffer.from(await res.arrayBuffer());
      latencies.push(performance.now() - t0);
      const what = `body ${i} (${c.seed.signal}/${c.seed.encoding}/${c.kind}${gzip === undefined ? '' : `/gzip ${gzip}`})`;
      assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${what}: status ${res.status}: ${answer.toString('utf8').slice(0, 300)}`);
      stats.record(`${c.seed.signal}/${c.seed.encoding}${gzip === undefined ? '' : '/gzip'}`, res.status, latencies.at(-1) ?? 0);

      // What the gateway saw: the body, inflated once when gzip was accepted.
      const seen = gzip === undefined || res.status !== 200 ? c.body : gunzipSync(gzipBody(c.body, gzip, pos, MAX_BODY_BYTES));
      const ref = ingestOnce(reference.ingest, reference.store, c.seed.signal, c.seed.encoding, seen, tenant);
      if (gzip === undefined || res.status === 200) assert.equal(res.status, ref.status, `${what}: the process and createIngest disagree`);
      if (res.status !== 200) {
        refused++;
        continue;
      }
      assert.equal(rejectedIn(c.seed.signal, c.seed.encoding, answer), ref.rejected, `${what}: partial_success rejected count`);
      for (const { point, spanId } of reference.store.points) {
        if (encodeLine(point) === undefined) continue;
        acknowledged.add(`${encodeSeriesKey(point.measurement, point.tags)}\u0000${spanId}\u0000${point.timestamp}`);
        tenantsWritten.add(tenant);
      }
    }
    latencies.sort((a, b) => a - b);
    process.stdout.write(`# fuzz http: ${stats.summary().replace(/\n/g, '\n# ')}\n# fuzz http: latency p50 ${latencies[Math.floor(latencies.length / 2)]?.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms; ${acknowledged.size} points acknowledged, ${refused} requests refused\n`);

    assert.equal(gw.proc.exited(), false, 'the gateway process is still running');
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    // Mutated JSON traces reached the process's JSON fast path (and the answers above were still the reference path's).
    assert.ok((await gw.metric('tenantlens_trace_requests_encoded_total', { encoding: 'json', path: 'fused' })) > 0, 'the gateway took some mutated JSON trace bodies through the fused JSON encoder');
    assert.ok(acknowledged.size > 0, 'some mutated bodies were accepted');
    assert.ok(refused > 0, 'some mutated bodies were refused');

    // Every acknowledged point, and nothing else, reaches influxd.
    // The column budget's claim log (docs/data-model.md "A column budget") and the per-minute rollups
    // (written 20 s after their minute; test/rollup-*.test.ts) are ours, not the client's points.
    const ours = new Set(['tenantlens_column_claims', 'latency_rollup']);
    const rows = async (): Promise<number> => (await influx.query('SELECT * FROM /.*/')).filter((s) => !ours.has(s.name)).reduce((n, s) => n + s.values.length, 0);
    const deadline = Date.now() + 30_000;
    let stored = await rows();
    while (stored < acknowledged.size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      stored = await rows();
    }
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives late
    const refusedLines = gw.logs().filter((l) => typeof l.msg === 'string' && /refused lines/.test(l.msg));
    assert.equal(await rows(), acknowledged.size, `points in influxd = points acknowledged; influxd refused: ${JSON.stringify(refusedLines.slice(0, 3)).slice(0, 3000)}`);
    const tenants = new Set((await influx.query('SHOW TAG VALUES WITH KEY = "tenant_id"')).flatMap((s) => s.values.map((v) => String(v[1]))));
    assert.deepEqual([...tenants].sort(), [...tenantsWritten].sort(), 'points exist for exactly the tenants of acknowledged requests');
    assert.equal(await gw.metric('tenantlens_lines_rejected_total'), 0, 'influxd refused no line the gateway acknowledged');
    assert.equal(await gw.metric('tenantlens_requests_refused_total', { reason: 'TL_INTERNAL' }), 0, 'no 500s');
  });
});
