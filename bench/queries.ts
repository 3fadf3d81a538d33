/**
 * Drill-down API latency over a large dataset (default 1M spans), on the embedded store and on a
 * real influxd, in the same run, plus the console's first render on the embedded store.
 *
 * Spans go through the real mapper and each store's real write path (DuckDB appender / line
 * protocol to /write). Then a real gateway process is started on the loaded store and every route
 * the console calls is timed over HTTP with the operator token, as the console asks for it (so the
 * route layer's work, such as bucketing and critical paths, is in the figure). On the embedded
 * store, Debian's Chromium then opens the console's tenants view against that gateway and the time
 * from navigation to the table and the P99 chart on screen is taken.
 *
 * Then the same routes over BENCH_SPANS_LARGE spans (default 10M) on the embedded store alone.
 * Each route is printed against its target (issue 17).
 *
 * Run: `npm run bench:queries` (BENCH_SPANS=200000 for a quicker run; BENCH_STORES=embedded skips
 * influxd; BENCH_SPANS_LARGE=0 skips the large run; BENCH_LARGE_DIR=dir loads the large run into dir
 * once and measures it again on later runs; BENCH_TRACE_INDEX=off loads influxd without the
 * trace and session index, as before it existed, for a before/after).
 */
import { existsSync } from 'node:fs';
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
import { observePoints, type SpanObservation } from '../gateway/src/rollup/observation.ts';
import { createRollupRecorder } from '../gateway/src/rollup/recorder.ts';
import { createEmbeddedStore } from '../gateway/src/store/embedded-store.ts';
import { createInfluxStore } from '../gateway/src/store/influx-store.ts';
import type { WriteSink } from '../gateway/src/store/store.ts';
import { buildDemo } from '../demo/build.ts';
import { launchChromium } from '../harness/browser.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd } from '../harness/influxd.ts';
import { apiRange, chartRange, DEFAULT_RANGE } from '../console/src/stores/range.ts';
import { machineLine } from './support/machine.ts';

const SPANS = Number(process.env.BENCH_SPANS ?? 1_000_000);
const SPANS_LARGE = Number(process.env.BENCH_SPANS_LARGE ?? 10_000_000);
const LARGE_DIR = process.env.BENCH_LARGE_DIR;
const TRACE_INDEX = process.env.BENCH_TRACE_INDEX !== 'off';
const TENANTS = ['acme', 'globex', 'initech'];
const SESSIONS_PER_TENANT = 2000;
const PER_REQUEST = 300;
const RUNS = 5;
const STORES = (process.env.BENCH_STORES ?? 'embedded,influxd').split(',');
const WITH_INFLUX = STORES.includes('influxd');
const WITH_EMBEDDED = STORES.includes('embedded');
const ADMIN = 'bench-queries-operator-token-long-enough';

const s = (key: string, value: string): Attribute => ({ key, value: { type: 'string', value } });
const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** Deterministic traces of 3 spans (browser action → server → db) spread over the last 50 minutes. */
function* requests(total: number): Generator<{ tenant: string; req: TraceRequest }> {
  const traces = Math.ceil(total / 3);
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

/** `traceIndex`: what the gateway writes to InfluxDB (main.ts), the trace and session index. */
async function load(store: WriteSink, label: string, total = SPANS, traceIndex = false): Promise<number> {
  const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry(), { traceIndex });
  // The gateway's rollups (per-minute duration sketches), fed as ingest feeds them and written through the same sink.
  const rollups = createRollupRecorder({ writer: 'bench', target: store, timer: false });
  const names = { frontend: DEFAULT_RULES.frontend.name, backend: DEFAULT_RULES.backend.name, spans: DEFAULT_RULES.spans.name };
  const t0 = performance.now();
  let sent = 0;
  let lastReport = 0;
  for (const { tenant, req } of requests(total)) {
    const { points } = mapper.map(req, { tenantId: tenant, instanceName: 'bench' });
    while (!store.offer(points)) await new Promise((r) => setTimeout(r, 20)); // buffer full: wait, as a client would on 503
    const seen: SpanObservation[] = [];
    observePoints(points, names, seen);
    rollups.record(seen);
    sent += req.resourceSpans[0]?.scopes[0]?.spans.length ?? 0;
    if (sent - lastReport >= 100_000) {
      lastReport = sent;
      process.stderr.write(`\r${label}: ${sent.toLocaleString()} / ${total.toLocaleString()} spans (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  while (!rollups.flushAll()) await new Promise((r) => setTimeout(r, 20));
  const left = await store.drain(Date.now() + 30 * 60_000);
  if (left > 0) throw new Error(`${label}: ${left} points not written`);
  process.stderr.write(`\r${label}: ${sent.toLocaleString()} spans written in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return sent;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function get(gw: Gateway, path: string): Promise<unknown> {
  const res = await fetch(`${gw.url}/api/v1${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const body = await res.text(); // the whole answer, as the console reads it
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${body.slice(0, 300)}`);
  return JSON.parse(body) as unknown;
}

/** The number of items in an answer (tenants, series, rows, sessions, traces, spans), summed. */
function answerSize(body: unknown): number {
  const b = body as Record<string, unknown>;
  return ['tenants', 'series', 'operations', 'endpoints', 'views', 'rows', 'sessions', 'traces', 'spans'].reduce((n, k) => n + (Array.isArray(b[k]) ? (b[k] as unknown[]).length : 0), 0);
}

/**
 * Every route the console calls, with the parameters it sends (operator token, a 2-hour range so
 * the whole dataset is in it however long the load took; the charts' range as the console sends it). Warmed once, then the median of RUNS.
 */
async function measure(gw: Gateway, sizes: Record<string, number>): Promise<Record<string, number>> {
  const range = `from=${encodeURIComponent(new Date(Date.now() - 2 * 3_600_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
  const sessions = (await get(gw, `/tenants/globex/sessions?${range}&limit=1000`)) as { sessions: Array<{ sessionId: string }> };
  const session = sessions.sessions[0]?.sessionId ?? 'globex-7';
  const traces = (await get(gw, `/tenants/globex/traces?${range}&limit=200&session_id=${encodeURIComponent(session)}`)) as { traces: Array<{ traceId: string }> };
  const traceId = traces.traces[0]?.traceId ?? '';
  // The charts' range as the console sends it (its default 1h preset, whole minutes): the data
  // spans the last ~50 minutes plus the load.
  const chart = chartRange(apiRange(DEFAULT_RANGE), Date.now());
  const series = `from=${encodeURIComponent(chart.from)}&to=${encodeURIComponent(chart.to)}`;
  const routes: Record<string, string> = {
    'GET /tenants': `/tenants?${range}`,
    'GET /timeseries p99 group=tenant': `/timeseries?metric=p99&group=tenant&side=frontend&${series}`,
    // The baseline in the same run: the same chart over a range that is not whole minutes (as the
    // console asked before it aligned its charts), which only raw points can answer.
    'GET /timeseries p99 group=tenant, ragged range (baseline)': `/timeseries?metric=p99&group=tenant&side=frontend&${range}`,
    'GET /timeseries p99 group=endpoint tenant=globex': `/timeseries?metric=p99&group=endpoint&side=backend&tenant=globex&${series}`,
    'GET /timeseries p99 group=view tenant=globex': `/timeseries?metric=p99&group=view&side=frontend&tenant=globex&${series}`,
    'GET /operations a=acme b=globex': `/operations?a=acme&b=globex&${range}`,
    'GET /compare a=acme b=globex': `/compare?a=acme&b=globex&${range}`,
    'GET /compare/critical-path (500 traces a side)': `/compare/critical-path?a=acme&b=globex&operation=loadUsers&${range}`,
    'GET /tenants/:t/sessions limit=1000': `/tenants/globex/sessions?${range}&limit=1000`,
    'GET /tenants/:t/traces?session_id limit=200': `/tenants/globex/traces?${range}&limit=200&session_id=${encodeURIComponent(session)}`,
    'GET /traces/:id': `/traces/${traceId}`,
    'GET /tenants/:t/traces limit=50 (newest)': `/tenants/globex/traces?${range}&limit=50`,
  };
  const out: Record<string, number> = {};
  for (const [label, path] of Object.entries(routes)) {
    try {
      const size = answerSize(await get(gw, path)); // warm caches once, then take the median
      if (size === 0) throw new Error(`${label}: an empty answer (${path}); timing it would say nothing`);
      sizes[label] = size;
      const ms: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        await get(gw, path);
        ms.push(performance.now() - t);
      }
      out[label] = median(ms);
      process.stderr.write(`  ${label}: ${out[label]?.toFixed(0)} ms (${size} items)\n`);
    } catch (err) {
      // A route that fails (a query timeout on a loaded machine) is reported, and the others still measured.
      out[label] = NaN;
      process.stderr.write(`  ${label}: FAILED ${(err as Error).message.slice(0, 300)}\n`);
    }
  }
  return out;
}

/**
 * The console's tenants view in Chromium against `gw`: from navigation (page load included) to the
 * first tenant row and the first P99 line on screen. Signed in once through the `#token=` link
 * (sessionStorage survives the reloads); each run is a fresh load with a new query string.
 */
async function firstRender(gw: Gateway): Promise<number> {
  // The harness unrefs its children, and Playwright's pipe to Chromium does not hold the event loop
  // either: while the page waits on the gateway, nothing would, and Node would end the bench
  // silently (an unsettled top-level await). A ref'd timer holds it until the figures are in.
  const hold = setInterval(() => undefined, 1000);
  const browser = await launchChromium();
  try {
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
    const page = await ctx.newPage();
    await page.goto(`${gw.url}/console/#token=${encodeURIComponent(ADMIN)}`);
    // The line is awaited as attached, not visible: Playwright calls an element with an empty
    // bounding box invisible, and a flat P99 line (this data's per-minute p99 hardly moves) is a
    // path of height 0, so "visible" would wait for a refresh that happens to bend a line.
    const ready = (): Promise<unknown> =>
      Promise.all([
        page.locator('[data-testid="tenant-table"] tbody tr[data-tenant]').first().waitFor({ timeout: 120_000 }),
        page.locator('[data-testid="p99-chart"] path[data-series]').first().waitFor({ state: 'attached', timeout: 120_000 }),
      ]);
    await ready(); // warm: the gateway's first queries and the browser's cache of nothing (index.html is no-cache)
    // Where a render's time goes: each API request the page made, with its time in the browser.
    const api: string[] = [];
    page.on('pageerror', (e) => api.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') api.push(`console error: ${m.text()}`);
    });
    page.on('requestfinished', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/v1/')) api.push(`${u.pathname.slice(7)} ${Math.round(r.timing().responseEnd)} ms`);
    });
    const ms: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      api.length = 0;
      const t0 = performance.now();
      await page.goto(`${gw.url}/console/?r=${run}#/`);
      await ready();
      ms.push(performance.now() - t0);
      process.stderr.write(`  first render ${run + 1}: ${ms[run]?.toFixed(0)} ms (${api.join(', ')})\n`);
    }
    await ctx.close();
    return median(ms);
  } finally {
    await browser.close();
    clearInterval(hold);
  }
}

const buffer = { batchMaxLines: 5000, batchMaxBytes: 4 * 1024 * 1024, flushIntervalMillis: 200, maxBytes: 256 * 1024 * 1024, retryMaxDelayMillis: 2000 };
const gatewayEnv = { TENANT_AUTH: 'header', ADMIN_TOKEN: ADMIN, ALERTS: 'off' }; // no alert queries competing with the timed ones
await buildDemo(() => undefined); // the console the gateway serves (built only when stale)
const dir = await mkdtemp(join(tmpdir(), 'tenantlens-bench-'));
const influxd = await startInfluxd();
const results: Record<string, Record<string, number>> = {};
const LARGE = 'embedded (DuckDB), large';
const sizes: Record<string, Record<string, number>> = { 'embedded (DuckDB)': {}, 'influxd 1.6.7': {}, [LARGE]: {} };
const render = { ms: NaN }; // filled on the embedded store
const t0 = Date.now();
try {
  console.log(`tenantlens query bench: ${SPANS.toLocaleString()} spans (${TENANTS.length} tenants, ${SESSIONS_PER_TENANT} sessions each), median of ${RUNS} runs\n${machineLine()}\n`);
  if (WITH_EMBEDDED) await embeddedBench();

  if (WITH_INFLUX) await influxBench();
  if (SPANS_LARGE > 0 && WITH_EMBEDDED) await largeBench();
} finally {
  await influxd.close();
  await rm(dir, { recursive: true, force: true });
}

async function embeddedBench(): Promise<void> {
  const embedded = await createEmbeddedStore({ dataDir: dir, rules: DEFAULT_RULES, buffer, events: { written() {}, retry(r) { console.error(r); } } });
  await load(embedded.sink, 'embedded (DuckDB)');
  await embedded.sink.close(); // the gateway below opens the same database
  const gwEmbedded = await startGateway({ ...gatewayEnv, DATA_DIR: dir }, 120_000);
  try {
    results['embedded (DuckDB)'] = await measure(gwEmbedded, sizes['embedded (DuckDB)'] ?? {});
    render.ms = await firstRender(gwEmbedded);
    process.stderr.write(`  console tenants view, first render: ${render.ms.toFixed(0)} ms\n`);
  } finally {
    await gwEmbedded.stop();
  }
}

/**
 * The same routes over SPANS_LARGE spans, on the embedded store alone (influxd would take hours to
 * load). With LARGE_DIR, a directory this bench loaded before is measured again (and kept): the
 * load takes half an hour on a busy machine; its data stays in the routes' 2-hour range for
 * 70 minutes after the load began.
 */
async function largeBench(): Promise<void> {
  const large = LARGE_DIR ?? (await mkdtemp(join(tmpdir(), 'tenantlens-bench-large-')));
  try {
    if (LARGE_DIR === undefined || !existsSync(join(LARGE_DIR, 'tenantlens.duckdb'))) {
      const embedded = await createEmbeddedStore({ dataDir: large, rules: DEFAULT_RULES, buffer, events: { written() {}, retry(r) { console.error(r); } } });
      await load(embedded.sink, `embedded (DuckDB), ${SPANS_LARGE.toLocaleString()} spans`, SPANS_LARGE);
      await embedded.sink.close();
    } else process.stderr.write(`embedded (DuckDB), large: measuring ${LARGE_DIR} as loaded before\n`);
    const gw = await startGateway({ ...gatewayEnv, DATA_DIR: large }, 300_000);
    try {
      results[LARGE] = await measure(gw, sizes[LARGE] ?? {});
    } finally {
      await gw.stop();
    }
  } finally {
    if (LARGE_DIR === undefined) await rm(large, { recursive: true, force: true });
  }
}

async function influxBench(): Promise<void> {
  const config = loadConfig({ INFLUX_URL: influxd.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header' });
  const influx = config.influx!;
  const transport = createV1Transport(influx);
  const writer = createLineWriter({ transport, buffer, events: { written() {}, retry(r) { console.error(r); }, failed(r) { console.error(r); } } });
  const store = createInfluxStore({ config: influx, rules: DEFAULT_RULES, writer, transport });
  await load(store.sink, `influxd 1.6.7${TRACE_INDEX ? '' : ' (no trace index)'}`, SPANS, TRACE_INDEX);
  await store.sink.close();
  const gwInflux = await startGateway({ ...gatewayEnv, INFLUX_URL: influxd.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens' }, 60_000);
  try {
    results['influxd 1.6.7'] = await measure(gwInflux, sizes['influxd 1.6.7'] ?? {});
  } finally {
    await gwInflux.stop();
  }
}

const calls = [...new Set(Object.values(results).flatMap((r) => Object.keys(r)))];
/** Issue 17's targets (ms), on both stores. */
const TARGETS: Record<string, number> = {
  'GET /tenants': 300,
  'GET /compare a=acme b=globex': 500,
  'GET /tenants/:t/traces?session_id limit=200': 300,
  'GET /traces/:id': 200,
  'GET /tenants/:t/traces limit=50 (newest)': 500,
};
const ms = (store: string, c: string): string => {
  const v = results[store]?.[c];
  return v === undefined ? '-' : Number.isNaN(v) ? 'failed' : v.toFixed(0);
};
const met = (c: string, stores: readonly string[]): string => {
  const target = TARGETS[c];
  if (target === undefined) return '';
  const got = stores.map((st) => results[st]?.[c]).filter((v): v is number => v !== undefined);
  // A failed route (NaN) is not met.
  return got.length === 0 ? '-' : got.every((v) => v <= target) ? 'yes' : 'NO';
};
console.log(`\n${SPANS.toLocaleString()} spans, median of ${RUNS} (ms)`);
console.table(
  calls.map((c) => ({
    route: c,
    'influxd ms': ms('influxd 1.6.7', c),
    'embedded ms': ms('embedded (DuckDB)', c),
    target: TARGETS[c] === undefined ? '' : `≤ ${TARGETS[c]}`,
    'met?': met(c, ['influxd 1.6.7', 'embedded (DuckDB)']),
    'influxd / embedded': results['influxd 1.6.7']?.[c] === undefined || results['embedded (DuckDB)']?.[c] === undefined ? '-' : ((results['influxd 1.6.7']?.[c] ?? 0) / (results['embedded (DuckDB)']?.[c] ?? 1)).toFixed(1) + '×',
    // The same data on both stores should give answers of the same size: a difference means a route differs.
    'items (embedded / influxd)': `${sizes['embedded (DuckDB)']?.[c] ?? '-'} / ${sizes['influxd 1.6.7']?.[c] ?? '-'}`,
  })),
);
if (results[LARGE] !== undefined) {
  console.log(`\n${SPANS_LARGE.toLocaleString()} spans on the embedded store, median of ${RUNS} (ms)`);
  console.table(
    calls.map((c) => ({
      route: c,
      'embedded ms': ms(LARGE, c),
      target: TARGETS[c] === undefined ? '' : `≤ ${TARGETS[c]}`,
      'met?': met(c, [LARGE]),
      [`vs ${SPANS.toLocaleString()}`]: ((results[LARGE]?.[c] ?? 0) / (results['embedded (DuckDB)']?.[c] ?? 1)).toFixed(1) + '×',
      items: sizes[LARGE]?.[c] ?? '-',
    })),
  );
}
if (WITH_EMBEDDED) console.log(`console tenants view on the embedded store, first render (navigation to table + P99 chart, page load included): ${render.ms.toFixed(0)} ms`);
console.log(`whole run: ${((Date.now() - t0) / 60_000).toFixed(1)} min`);
