/**
 * The embedded store's write throughput: realistic spans (the fixture the other benches use,
 * decoded and mapped by the real mapper, ~2 points a span) pushed through the store's real write
 * path (`createEmbeddedStore`'s sink: the buffer, the writer loop, DuckDB) into a fresh database
 * file, from the first offer until the store is closed (its last checkpoint included). Against the
 * previous write path in the same run (harness/embedded-reference.ts: a PRIMARY KEY, a value at a
 * time through a Map, INSERT OR IGNORE, batches of BATCH_MAX_LINES), rounds alternating so that a
 * noisy neighbour slows both alike; the figure is the median round.
 *
 * Run: `node --import tsx bench/embedded-store.ts` (part of `npm run bench`). BENCH_EMBEDDED_SPANS
 * (default 200,000), BENCH_ROUNDS (default 3); BENCH_CPU_PROF=<file> profiles the store's rounds
 * and prints where its main thread spends time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../gateway/src/config.ts';
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import { decodeTraceRequest } from '../gateway/src/otlp/decode.ts';
import type { MappedPoint } from '../gateway/src/schema/point.ts';
import { createEmbeddedStore } from '../gateway/src/store/embedded-store.ts';
import type { WriteSink } from '../gateway/src/store/store.ts';
import { createReferenceEmbeddedSink } from '../harness/embedded-reference.ts';
import { buildFixtures } from '../harness/fixtures.ts';
import { topSelfTime } from './support/cpu-profile.ts';
import { machineLine } from './support/machine.ts';

const SPANS = Number(process.env.BENCH_EMBEDDED_SPANS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const TARGET = 50_000;
const REQUESTS = 50;
const PER_REQUEST = 100;

// The gateway's defaults (BATCH_MAX_LINES, BUFFER_MAX_BYTES, …), as `npm start` runs the store.
const buffer = loadConfig({ TENANT_AUTH: 'header' }).buffer;
const events = { written: () => undefined, retry: (reason: string) => console.error(`retry: ${reason}`) };

/**
 * The fixture's requests mapped once, then repeated with every timestamp a second later per pass
 * until SPANS: each pass is new data to the store (its identity is tenant, span and time), arriving
 * in time order as live traffic does. Built before the clock starts.
 */
function mappedRequests(): { requests: MappedPoint[][]; spans: number; points: number } {
  const fixture = buildFixtures(REQUESTS, PER_REQUEST);
  const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry());
  const base = fixture.protobuf.map((body) => mapper.map(decodeTraceRequest(body, 'protobuf'), { tenantId: 'acme', instanceName: 'bench' }).points);
  const requests: MappedPoint[][] = [];
  let spans = 0;
  let points = 0;
  for (let pass = 0n; spans < SPANS; pass++) {
    for (const pts of base) {
      if (spans >= SPANS) break;
      requests.push(pts.map((p) => ({ spanId: p.spanId, point: { ...p.point, timestamp: p.point.timestamp + pass * 1_000_000_000n } })));
      spans += PER_REQUEST;
      points += pts.length;
    }
  }
  return { requests, spans, points };
}

const contenders: Record<string, (dir: string) => Promise<WriteSink>> = {
  'previous path (PRIMARY KEY, INSERT OR IGNORE, 5k batches)': (dir) => createReferenceEmbeddedSink(dir, DEFAULT_RULES, { buffer, events }),
  tenantlens: async (dir) => (await createEmbeddedStore({ dataDir: dir, rules: DEFAULT_RULES, buffer, events })).sink,
};

/**
 * One round: a fresh database, every request offered as the ingest would (waiting while the buffer
 * is full), drained and closed. Returns the seconds and the peak RSS sampled meanwhile.
 */
async function round(open: (dir: string) => Promise<WriteSink>, requests: readonly MappedPoint[][]): Promise<{ seconds: number; rss: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-bench-embedded-'));
  let rss = process.memoryUsage.rss();
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage.rss())), 20);
  try {
    const sink = await open(dir);
    const t0 = performance.now();
    for (const r of requests) while (!sink.offer(r)) await new Promise((res) => setTimeout(res, 5));
    const left = await sink.drain(Date.now() + 30 * 60_000);
    if (left > 0) throw new Error(`${left} points not written`);
    await sink.close();
    return { seconds: (performance.now() - t0) / 1000, rss };
  } finally {
    clearInterval(sampler);
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const { requests, spans, points } = mappedRequests();
const baselineRss = process.memoryUsage.rss();
console.log(`tenantlens embedded store bench: ${spans.toLocaleString()} spans (${points.toLocaleString()} points) in requests of ${PER_REQUEST} spans, into a fresh DuckDB file per round, median of ${ROUNDS} alternating rounds`);
console.log(`${machineLine()}\n`);

const session = CPU_PROF === undefined ? undefined : new Session();
session?.connect();
await session?.post('Profiler.enable');
const seconds: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
const peakRss: Record<string, number> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, open] of Object.entries(contenders)) {
    const profiled = session !== undefined && name === 'tenantlens' && r === ROUNDS - 1;
    if (profiled) await session.post('Profiler.start');
    const { seconds: s, rss } = await round(open, requests);
    peakRss[name] = Math.max(peakRss[name] ?? 0, rss);
    if (profiled) await writeFile(CPU_PROF as string, JSON.stringify((await session.post('Profiler.stop')).profile));
    seconds[name]?.push(s);
    process.stderr.write(`round ${r + 1}, ${name}: ${(spans / s).toFixed(0)} spans/s\n`);
  }
}

const baseName = Object.keys(contenders)[0] as string;
const base = spans / median(seconds[baseName] ?? []);
console.table(
  Object.entries(seconds).map(([name, s]) => {
    const rate = spans / median(s);
    return { 'write path': name, 'spans/s': Math.round(rate), 'points/s': Math.round((rate * points) / spans), ratio: `${(rate / base).toFixed(2)}×`, 'peak RSS MB': Math.round((peakRss[name] ?? 0) / 2 ** 20), [`≥ ${TARGET / 1000}k spans/s`]: rate >= TARGET ? 'met' : 'NOT met' };
  }),
);
console.log(`ratio = spans/s ÷ previous path spans/s, same run; time from the first offer to the store closed (last checkpoint included). Peak RSS is the whole process's, the ${Math.round(baselineRss / 2 ** 20)} MB of prepared requests included.`);

if (CPU_PROF !== undefined) {
  const { total, busy, rows } = topSelfTime(CPU_PROF, 12);
  console.log(`\nprofile of the last tenantlens round (${CPU_PROF}): main thread busy ${(busy / 1000).toFixed(2)} s of ${(total / 1000).toFixed(2)} s (the rest it waits on DuckDB's own threads); top self time:`);
  console.table(rows.map((r) => ({ function: r.fn === '(anonymous)' && r.where === '' ? '(native code, e.g. the DuckDB bindings)' : r.fn, where: r.where, ms: Math.round(r.millis), 'of busy': `${(r.busyShare * 100).toFixed(1)}%` })));
}
