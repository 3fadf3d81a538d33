/**
 * Drill-down query latency over a large dataset (default 1M spans), on the embedded store and on
 * a real influxd, in the same run. Spans go through the real mapper and each store's real write
 * path (DuckDB appender / line protocol to /write), then every query API call is timed.
 * Run: `npm run bench:queries` (BENCH_SPANS=200000 for a quicker run).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../gateway/src/config.ts';
import { createV1Transport } from '../gateway/src/influx/v1-transport.ts';
import { createLineWriter } from '../gateway/src/influx/writer.ts';
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import type { Attribute, SpanRecord, TraceRequest } from '../gateway/src/otlp/model.ts';
import { createEmbeddedStore } from '../gateway/src/store/embedded-store.ts';
import { createInfluxStore } from '../gateway/src/store/influx-store.ts';
import type { WriteSink } from '../gateway/src/store/store.ts';
import type { DrillDown } from '../gateway/src/query/model.ts';
import { startInfluxd } from '../harness/influxd.ts';

const SPANS = Number(process.env.BENCH_SPANS ?? 1_000_000);
const TENANTS = ['acme', 'globex', 'initech'];
const SESSIONS_PER_TENANT = 2000;
const PER_REQUEST = 300;
const RUNS = 5;

const s = (key: string, value: string): Attribute => ({ key, value: { type: 'string', value } });
const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** Deterministic traces of 3 spans (browser action → server → db) spread over the last 50 minutes. */
function* requests(): Generator<{ tenant: string; req: TraceRequest }> {
  const traces = Math.ceil(SPANS / 3);
  const start = BigInt(Date.now() - 50 * 60_000) * 1_000_000n;
  const step = (50n * 60_000n * 1_000_000n) / BigInt(traces);
  for (let t0 = 0; t0 < traces; t0 += PER_REQUEST / 3) {
    const tenantIdx = Math.floor(t0 / (PER_REQUEST / 3)) % TENANTS.length;
    const tenant = TENANTS[tenantIdx] as string;
    const spans: SpanRecord[] = [];
    for (let t = t0; t < Math.min(traces, t0 + PER_REQUEST / 3); t++) {
      const ts = start + BigInt(t) * step;
      const slow = tenant === 'globex' ? 3 : 1;
      const ms = BigInt(((t * 7919) % 400) + 20) * BigInt(slow) * 1_000_000n;
      const traceId = hex(tenantIdx + 1, 8) + hex(t, 24);
      const session = `${tenant}-${t % SESSIONS_PER_TENANT}`;
      const base = { traceId, statusCode: 0 };
      spans.push(
        { ...base, spanId: hex(t, 8) + '00000001', parentSpanId: '', name: 'loadUsers', kind: 1, startTimeUnixNano: ts, endTimeUnixNano: ts + ms, attributes: [s('view_name', t % 2 ? 'Users' : 'Report'), s('action_name', t % 2 ? 'loadUsers' : 'compute'), s('session.id', session)] },
        { ...base, spanId: hex(t, 8) + '00000002', parentSpanId: hex(t, 8) + '00000001', name: 'GET /api/users', kind: 2, startTimeUnixNano: ts + 1000n, endTimeUnixNano: ts + ms - 1000n, attributes: [s('http.route', t % 3 ? '/api/users' : '/api/report'), s('http.request.method', 'GET')] },
        { ...base, spanId: hex(t, 8) + '00000003', parentSpanId: hex(t, 8) + '00000002', name: 'SELECT', kind: 3, startTimeUnixNano: ts + 2000n, endTimeUnixNano: ts + ms / 2n, attributes: [s('db.system', 'postgresql')] },
      );
    }
    yield { tenant, req: { resourceSpans: [{ resource: [s('service.name', `${tenant}-app`)], scopes: [{ scopeName: 'bench', scopeVersion: '', spans }] }] } };
  }
}

async function load(store: WriteSink, label: string): Promise<number> {
  const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry());
  const t0 = performance.now();
  let sent = 0;
  let lastReport = 0;
  for (const { tenant, req } of requests()) {
    const { points } = mapper.map(req, { tenantId: tenant, instanceName: 'bench' });
    while (!store.offer(points)) await new Promise((r) => setTimeout(r, 20)); // buffer full: wait, as a client would on 503
    sent += req.resourceSpans[0]?.scopes[0]?.spans.length ?? 0;
    if (sent - lastReport >= 100_000) {
      lastReport = sent;
      process.stderr.write(`\r${label}: ${sent.toLocaleString()} / ${SPANS.toLocaleString()} spans`);
    }
  }
  const left = await store.drain(Date.now() + 30 * 60_000);
  if (left > 0) throw new Error(`${label}: ${left} points not written`);
  process.stderr.write(`\r${label}: ${sent.toLocaleString()} spans written in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return sent;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm caches once, then take the median
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
}

async function measure(q: DrillDown): Promise<Record<string, number>> {
  const range = { fromNs: BigInt(Date.now() - 3_600_000) * 1_000_000n, toNs: BigInt(Date.now() + 60_000) * 1_000_000n };
  const traces = await q.traces('globex', range, 1, undefined);
  const traceId = traces[0]?.traceId ?? '';
  return {
    'GET /tenants': await time(() => q.tenants(range, undefined)),
    'GET /tenants/:t/sessions': await time(() => q.sessions('globex', range, 50)),
    'GET /tenants/:t/traces': await time(() => q.traces('globex', range, 50, undefined)),
    'GET /tenants/:t/traces?session_id': await time(() => q.traces('globex', range, 50, 'globex-7')),
    'GET /traces/:id': await time(() => q.trace(traceId, 'globex')),
    'GET /compare': await time(() => q.compare('acme', 'globex', range)),
  };
}

const buffer = { batchMaxLines: 5000, batchMaxBytes: 4 * 1024 * 1024, flushIntervalMillis: 200, maxBytes: 256 * 1024 * 1024, retryMaxDelayMillis: 2000 };
const dir = await mkdtemp(join(tmpdir(), 'tenantlens-bench-'));
const influxd = await startInfluxd();
const results: Record<string, Record<string, number>> = {};
try {
  console.log(`tenantlens query bench: ${SPANS.toLocaleString()} spans (${TENANTS.length} tenants, ${SESSIONS_PER_TENANT} sessions each), median of ${RUNS} runs\n`);
  const embedded = await createEmbeddedStore({ dataDir: dir, rules: DEFAULT_RULES, buffer, events: { written() {}, retry(r) { console.error(r); } } });
  await load(embedded.sink, 'embedded (DuckDB)');
  results['embedded (DuckDB)'] = await measure(embedded.queries);
  await embedded.sink.close();

  const config = loadConfig({ INFLUX_URL: influxd.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header' });
  const influx = config.influx!;
  const transport = createV1Transport(influx);
  const writer = createLineWriter({ transport, buffer, events: { written() {}, retry(r) { console.error(r); }, failed(r) { console.error(r); } } });
  const store = createInfluxStore({ config: influx, rules: DEFAULT_RULES, writer, transport });
  await load(store.sink, 'influxd 1.6.7');
  results['influxd 1.6.7'] = await measure(store.queries);
  await store.sink.close();
} finally {
  await influxd.close();
  await rm(dir, { recursive: true, force: true });
}

const calls = Object.keys(results['embedded (DuckDB)'] ?? {});
console.table(
  calls.map((c) => ({
    call: c,
    'embedded ms': results['embedded (DuckDB)']?.[c]?.toFixed(1),
    'influxd ms': results['influxd 1.6.7']?.[c]?.toFixed(1),
    'influxd / embedded': ((results['influxd 1.6.7']?.[c] ?? 0) / (results['embedded (DuckDB)']?.[c] ?? 1)).toFixed(2) + '×',
  })),
);
