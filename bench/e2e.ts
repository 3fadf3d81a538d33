/**
 * End-to-end benchmark (issue 6): OTLP/HTTP protobuf, 100 spans per request (~10 attributes each,
 * official serializer), 32 connections from a separate autocannon process, with and without gzip,
 * against a loopback line-protocol sink that isolates the gateway from the database.
 *
 * For each gzip mode, ours (`gateway/src/main.ts`) and the naive baseline (`bench/naive-gateway.ts`)
 * each run in a fresh process: warm-up, a max-throughput run, then a run at HALF of our max
 * throughput (the same rate for both), then a drain check (every acknowledged span reached the
 * sink). Reported: spans/s acknowledged (2xx × 100), lines/s the sink received in the same window,
 * p50/p99 latency, peak RSS (VmRSS polled every 100 ms during the max run), p99 at half rate, and
 * the ratios ours ÷ naive from this run.
 *
 * Run: `npm run bench:e2e` (BENCH_SECONDS per run, default 10; BENCH_WARMUP_SECONDS, default 3;
 * BENCH_INFLUXD=1 adds the real-influxd comparison (`only`: skips the sink runs); BENCH_CPU_PROF=<dir> profiles our gateway with --cpu-prof and prints the top self-time functions).
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeBodies } from './support/bodies.ts';
import { topSelfTime } from './support/cpu-profile.ts';
import type { LoadResult, LoadSpec } from './support/load.ts';
import { readStatusBytes, sampleRss, spawnNode, startServer, type ServerChild } from './support/procs.ts';
import { startSink, type Sink } from './support/sink.ts';
import { buildFixtures } from './fixtures.ts';
import { naivePipeline } from './naive-pipeline.ts';
import { startInfluxd } from '../test/support/influxd.ts';
import type { DirectResult, DirectSpec } from './support/direct-writer.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUR_MAIN = join(ROOT, 'gateway/src/main.ts');
const NAIVE_MAIN = join(ROOT, 'bench/naive-gateway.ts');
const LOAD_MAIN = join(ROOT, 'bench/support/load.ts');
const DIRECT_MAIN = join(ROOT, 'bench/support/direct-writer.ts');

const SECONDS = positive('BENCH_SECONDS', 10);
const WARMUP_SECONDS = positive('BENCH_WARMUP_SECONDS', 3);
/** BENCH_INFLUXD=1: also run against a real influxd (needs `apt-get install influxdb`); `only`: just that. */
const WITH_INFLUXD = process.env.BENCH_INFLUXD === '1' || process.env.BENCH_INFLUXD === 'only';
const SINK_RUNS = process.env.BENCH_INFLUXD !== 'only';
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF === undefined || process.env.BENCH_CPU_PROF === '' ? undefined : resolve(process.env.BENCH_CPU_PROF);
const CONNECTIONS = 32;
const SPANS_PER_REQUEST = 100;
const FIXTURE_REQUESTS = 50;
const TENANT = 'acme';
/** How long a gateway may take to hand its last buffered lines to the sink after the load stops. */
const DRAIN_MAX_MILLIS = 15_000;
/** The sink's count must hold still this long to call the gateway drained (our flush interval is 1 s). */
const DRAIN_QUIET_MILLIS = 1_500;

function positive(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  return n;
}

const progress = (msg: string): void => void process.stderr.write(`[bench:e2e ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type GatewayName = 'tenantlens' | 'naive';

interface Row {
  gateway: GatewayName;
  gzip: boolean;
  max: LoadResult;
  /** Lines the sink received between the first and the last request of the max run, per second. */
  sinkLinesPerSec: number;
  peakRssBytes: number;
  /** VmHWM at the end of the process's life (includes warm-up and the half-rate run). */
  hwmBytes: number;
  half: LoadResult;
  halfRate: number;
  /** Sink lines ÷ acknowledged spans over the process's life, after the drain. */
  drainedLinesPerSpan: number;
  drained: boolean;
  /** Lines of acknowledged requests that never reached the sink. */
  lost: number;
}

/** Where a gateway writes: the sink, or a real influxd. */
interface Target {
  readonly url: string;
  readonly db: string;
}

function startGateway(name: GatewayName, target: Target, profileTag: string): Promise<ServerChild> {
  if (name === 'naive') {
    return startServer(['--import', 'tsx', NAIVE_MAIN], { ...process.env, SINK_URL: target.url, INFLUX_DB: target.db, HOST: '127.0.0.1', PORT: '0' });
  }
  // One directory per run: node names each thread's profile CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile,
  // and tsx's loader hooks run on a worker thread of their own (a fixed --cpu-prof-name would let
  // that thread's profile overwrite the main thread's).
  const prof = CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROF_DIR, `tenantlens-${profileTag}`)}`];
  return startServer([...prof, '--import', 'tsx', OUR_MAIN], {
    ...process.env,
    INFLUX_URL: target.url,
    INFLUX_API_VERSION: '1',
    INFLUX_BUCKET: target.db,
    TENANT_AUTH: 'header',
    HOST: '127.0.0.1',
    PORT: '0',
    // `info`, not `warn`: the port comes from the "listening" line, which is logged at info. The
    // gateway logs nothing per request at info (only refused spans, which these fixtures never have).
    LOG_LEVEL: 'info',
  });
}

/** One autocannon run in its own process; `onStart` fires just before its first request. */
async function load(spec: LoadSpec, onStart: () => void = () => undefined): Promise<LoadResult> {
  const proc = spawnNode(['--import', 'tsx', LOAD_MAIN, JSON.stringify(spec)], process.env, { echoStderr: true });
  try {
    await proc.waitForLine((l) => (l.includes('"event":"start"') ? true : undefined), 60_000);
    onStart();
    return await proc.waitForLine((l) => (l.includes('"event":"result"') ? (JSON.parse(l) as LoadResult) : undefined), (spec.seconds + 60) * 1000);
  } finally {
    await proc.stop();
  }
}

/** Waits until the sink's line count holds still for DRAIN_QUIET_MILLIS and reaches `expected` (bounded by DRAIN_MAX_MILLIS). */
async function drain(sink: Sink, expected: number): Promise<number> {
  const deadline = Date.now() + DRAIN_MAX_MILLIS;
  let last = sink.counts().lines;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const now = sink.counts().lines;
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (now >= expected && Date.now() - quietSince >= DRAIN_QUIET_MILLIS) break;
  }
  return sink.counts().lines;
}

function checkLoad(what: string, r: LoadResult): void {
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) progress(`  ! ${what}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts; status codes ${JSON.stringify(r.statusCodes)}`);
  if (r.ok === 0) throw new Error(`${what}: no request succeeded (${JSON.stringify(r.statusCodes)})`);
}

async function runOne(name: GatewayName, gzip: boolean, sink: Sink, bodiesFile: string, linesPerSpan: number, halfRate: number | undefined): Promise<Row> {
  const label = `${name} gzip=${gzip ? 'on' : 'off'}`;
  progress(`${label}: starting the gateway`);
  const gw = await startGateway(name, { url: sink.url, db: 'bench' }, `sink-gzip-${gzip ? 'on' : 'off'}`);
  try {
    sink.reset();
    const spec = (seconds: number, overallRate?: number): LoadSpec => ({
      url: gw.url,
      bodiesFile,
      gzip,
      seconds,
      connections: CONNECTIONS,
      tenant: TENANT,
      ...(overallRate === undefined ? {} : { overallRate }),
    });
    let acked = 0;
    let sent = 0;
    progress(`${label}: warm-up ${WARMUP_SECONDS}s`);
    const warm = await load(spec(WARMUP_SECONDS));
    checkLoad(`${label} warm-up`, warm);
    acked += warm.ok;
    sent += warm.sent;
    await drain(sink, acked * SPANS_PER_REQUEST * linesPerSpan);

    progress(`${label}: max throughput ${SECONDS}s, ${CONNECTIONS} connections`);
    let linesAtStart = 0;
    let rss: ReturnType<typeof sampleRss> | undefined;
    let t0 = 0;
    const max = await load(spec(SECONDS), () => {
      linesAtStart = sink.counts().lines;
      rss = sampleRss(gw.pid);
      t0 = performance.now();
    });
    const windowSeconds = (performance.now() - t0) / 1000;
    const sinkLinesPerSec = (sink.counts().lines - linesAtStart) / windowSeconds;
    const peakRssBytes = rss?.stop() ?? 0;
    checkLoad(`${label} max`, max);
    acked += max.ok;
    sent += max.sent;
    progress(`${label}: ${Math.round((max.ok * SPANS_PER_REQUEST) / max.durationSeconds)} spans/s, p99 ${max.p99Millis} ms`);
    await drain(sink, acked * SPANS_PER_REQUEST * linesPerSpan);

    const rate = halfRate ?? Math.max(1, Math.round(max.ok / max.durationSeconds / 2));
    progress(`${label}: fixed rate ${rate} req/s (half of our max) ${SECONDS}s`);
    const half = await load(spec(SECONDS, rate));
    checkLoad(`${label} half rate`, half);
    acked += half.ok;
    sent += half.sent;

    const expected = acked * SPANS_PER_REQUEST * linesPerSpan;
    const got = await drain(sink, expected);
    const hwmBytes = readStatusBytes(gw.pid, 'VmHWM') ?? 0;
    if (sink.counts().bad > 0) progress(`  ! ${label}: the sink could not read ${sink.counts().bad} write requests`);
    // Every acknowledged span must reach the sink. Requests still in flight when autocannon stops
    // (at most one per connection per run) may reach it too, without being counted as acknowledged.
    const lost = Math.max(0, Math.round(expected) - got);
    const inFlightLines = Math.max(0, got - Math.round(expected));
    const drained = lost === 0 && got <= sent * SPANS_PER_REQUEST * linesPerSpan * 1.01;
    progress(`${label}: sink ${got} lines for ${acked} acknowledged requests (expected ${Math.round(expected)}, ${inFlightLines} more from ${sent - acked} requests in flight or failed at stop)`);
    if (!drained) progress(`  ! ${label}: drain check failed: ${lost} lines missing, or more lines than requests sent`);
    return {
      gateway: name,
      gzip,
      max,
      sinkLinesPerSec,
      peakRssBytes,
      hwmBytes,
      half,
      halfRate: rate,
      drainedLinesPerSpan: got / (acked * SPANS_PER_REQUEST),
      drained,
      lost,
    };
  } finally {
    await gw.stop();
  }
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (b: number): string => fmt(b / 2 ** 20);
const spansPerSec = (r: LoadResult): number => (r.ok * SPANS_PER_REQUEST) / r.durationSeconds;

function table(rows: Row[], linesPerSpan: number): string {
  const head = ['gateway', 'gzip', 'spans/s acked', 'sink lines/s', 'lines/span', 'acked lost', 'p50 ms', 'p99 ms', 'peak RSS MB', 'HWM MB', 'non-2xx/err', 'half rate req/s', 'p99 @half ms'];
  const body = rows.map((r) => [
    r.gateway,
    r.gzip ? 'on' : 'off',
    fmt(spansPerSec(r.max)),
    fmt(r.sinkLinesPerSec),
    `${fmt(r.drainedLinesPerSpan, 3)}${r.drained ? '' : ' (!)'}`,
    fmt(r.lost),
    fmt(r.max.p50Millis, 1),
    fmt(r.max.p99Millis, 1),
    mb(r.peakRssBytes),
    mb(r.hwmBytes),
    `${r.max.non2xx + r.half.non2xx}/${r.max.errors + r.max.timeouts + r.half.errors + r.half.timeouts}`,
    fmt(r.halfRate),
    fmt(r.half.p99Millis, 1),
  ]);
  for (const gzip of [false, true]) {
    const ours = rows.find((r) => r.gateway === 'tenantlens' && r.gzip === gzip);
    const naive = rows.find((r) => r.gateway === 'naive' && r.gzip === gzip);
    if (ours === undefined || naive === undefined) continue;
    const x = (a: number, b: number): string => (b === 0 ? 'n/a' : `${fmt(a / b, 2)}×`);
    body.push([
      'ours ÷ naive',
      gzip ? 'on' : 'off',
      x(spansPerSec(ours.max), spansPerSec(naive.max)),
      x(ours.sinkLinesPerSec, naive.sinkLinesPerSec),
      '',
      '',
      x(ours.max.p50Millis, naive.max.p50Millis),
      x(ours.max.p99Millis, naive.max.p99Millis),
      x(ours.peakRssBytes, naive.peakRssBytes),
      x(ours.hwmBytes, naive.hwmBytes),
      '',
      '',
      x(ours.half.p99Millis, naive.half.p99Millis),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)];
  out.push('', `expected lines/span ${fmt(linesPerSpan, 3)} (naive pipeline on the fixtures); lines/span = sink lines ÷ acknowledged spans after the drain (a little above expected: requests in flight when a run stopped also reach the sink); acked lost = lines of 2xx requests the sink never got; (!) = drain check failed`);
  const targets = rows
    .filter((r) => r.gateway === 'tenantlens')
    .map((r) => {
      const naive = rows.find((n) => n.gateway === 'naive' && n.gzip === r.gzip);
      const ratio = naive === undefined ? 0 : spansPerSec(r.max) / spansPerSec(naive.max);
      const ok = (b: boolean): string => (b ? 'met' : 'NOT met');
      return `gzip ${r.gzip ? 'on ' : 'off'}: spans/s ≥ 5× naive: ${ok(ratio >= 5)} (${fmt(ratio, 2)}×); p99 at half rate ≤ 50 ms: ${ok(r.half.p99Millis <= 50)} (${fmt(r.half.p99Millis, 1)} ms); peak RSS ≤ 300 MB: ${ok(r.peakRssBytes <= 300 * 2 ** 20)} (${mb(r.peakRssBytes)} MB)`;
    });
  out.push('issue 6 targets (against the sink):', ...targets.map((t) => `  ${t}`));
  return out.join('\n');
}

interface InfluxRow {
  path: string;
  pointsPerSec: number;
  spansPerSec?: number;
  non2xx?: number;
  note: string;
}

/** Sum of `pointsWrittenOK` over influxd's HTTP services (`/debug/vars`, InfluxDB 1.x). */
async function influxPointsWritten(url: string): Promise<number> {
  const vars = (await (await fetch(`${url}/debug/vars`, { signal: AbortSignal.timeout(5000) })).json()) as Record<string, { name?: string; values?: Record<string, number> }>;
  let n = 0;
  for (const v of Object.values(vars)) if (v.name === 'httpd') n += v.values?.pointsWrittenOK ?? 0;
  return n;
}

async function direct(spec: DirectSpec): Promise<DirectResult> {
  const proc = spawnNode(['--import', 'tsx', DIRECT_MAIN, JSON.stringify(spec)], process.env, { echoStderr: true });
  try {
    return await proc.waitForLine((l) => (l.includes('"event":"result"') ? (JSON.parse(l) as DirectResult) : undefined), (spec.seconds + 90) * 1000);
  } finally {
    await proc.stop();
  }
}

/**
 * The same load against a real influxd (Debian's 1.6.7, test/support/influxd.ts), against the
 * points/s influxd takes when the same lines are written to it directly in 5,000-line batches with
 * 1 and 4 writers (the issue's target: the gateway keeps at least 90% of that).
 */
async function influxdPhase(bodiesFile: string, lines: string): Promise<string> {
  progress('influxd: starting a private influxd (127.0.0.1, temp dir)');
  const influx = await startInfluxd({ database: 'bench' });
  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-bench-influxd-'));
  const rows: InfluxRow[] = [];
  try {
    const linesFile = join(dir, 'lines.lp');
    await writeFile(linesFile, lines);
    const writeUrl = `${influx.url}/write?db=bench&precision=ns`;
    const spec = (writers: number, seconds: number): DirectSpec => ({ writeUrl, linesFile, batchLines: 5000, writers, seconds });
    progress(`influxd: direct warm-up ${WARMUP_SECONDS}s`);
    const warm = await direct(spec(4, WARMUP_SECONDS));
    if (warm.linesOk === 0) throw new Error(`influxd refused the direct writes: ${warm.firstError ?? 'no answer'}`);
    for (const writers of [1, 4]) {
      progress(`influxd: direct, ${writers} writer(s), 5000-line batches, ${SECONDS}s`);
      const r = await direct(spec(writers, SECONDS));
      if (r.failed > 0) progress(`  ! direct ${writers}: ${r.failed} failed batches (${r.firstError ?? ''})`);
      rows.push({ path: `direct, ${writers} writer${writers === 1 ? '' : 's'}`, pointsPerSec: r.linesOk / r.seconds, note: `${r.failed} failed batches` });
    }
    for (const name of ['tenantlens', 'naive'] as const) {
      progress(`influxd: ${name}: starting the gateway`);
      const gw = await startGateway(name, { url: influx.url, db: 'bench' }, 'influxd');
      try {
        const ls = (seconds: number): LoadSpec => ({ url: gw.url, bodiesFile, gzip: false, seconds, connections: CONNECTIONS, tenant: TENANT });
        progress(`influxd: ${name}: warm-up ${WARMUP_SECONDS}s`);
        checkLoad(`influxd ${name} warm-up`, await load(ls(WARMUP_SECONDS)));
        progress(`influxd: ${name}: max throughput ${SECONDS}s`);
        let p0 = 0;
        let t0 = 0;
        const r = await load(ls(SECONDS), () => {
          t0 = performance.now();
          void influxPointsWritten(influx.url).then((n) => (p0 = n));
        });
        const p1 = await influxPointsWritten(influx.url);
        const secs = (performance.now() - t0) / 1000;
        checkLoad(`influxd ${name} max`, r);
        rows.push({
          path: `${name} gateway (32 conns, gzip off)`,
          pointsPerSec: (p1 - p0) / secs,
          spansPerSec: spansPerSec(r),
          non2xx: r.non2xx,
          note: `p99 ${fmt(r.p99Millis, 1)} ms; statuses ${JSON.stringify(r.statusCodes)}`,
        });
      } finally {
        await gw.stop();
      }
    }
  } finally {
    await influx.close();
    await rm(dir, { recursive: true, force: true });
  }
  const best = Math.max(...rows.filter((r) => r.path.startsWith('direct')).map((r) => r.pointsPerSec));
  const out = [
    '| path into influxd | points/s influxd took | spans/s acked | non-2xx | ÷ best direct | note |',
    '|:--|--:|--:|--:|--:|:--|',
    ...rows.map(
      (r) =>
        `| ${r.path} | ${fmt(r.pointsPerSec)} | ${r.spansPerSec === undefined ? '' : fmt(r.spansPerSec)} | ${r.non2xx === undefined ? '' : fmt(r.non2xx)} | ${best > 0 ? `${fmt((100 * r.pointsPerSec) / best)}%` : 'n/a'} | ${r.note} |`,
    ),
    'target: our gateway keeps influxd at ≥ 90% of the best direct points/s',
  ];
  return out.join('\n');
}

async function printProfiles(): Promise<void> {
  if (CPU_PROF_DIR === undefined) return;
  const runs = (await readdir(CPU_PROF_DIR)).filter((d) => d.startsWith('tenantlens-')).sort();
  for (const run of runs) {
    // The main thread is thread 0: CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile
    const main = (await readdir(join(CPU_PROF_DIR, run))).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (main === undefined) {
      console.log(`\nCPU profile of our gateway, ${run}: no main-thread profile written (did it exit cleanly?)`);
      continue;
    }
    const { total, busy, rows } = topSelfTime(join(CPU_PROF_DIR, run, main), 10, ROOT);
    console.log(
      `\nCPU profile of our gateway, ${run} (${join(run, main)}): main thread over the whole process life, ${fmt(total / 1000, 1)} s sampled, ` +
        `${fmt(busy / 1000, 1)} s busy; top 10 self time, (idle) excluded`,
    );
    console.log('| self ms | % of busy | % of all | function | where |');
    console.log('|--:|--:|--:|:--|:--|');
    for (const r of rows) console.log(`| ${fmt(r.millis)} | ${fmt(r.busyShare * 100, 1)}% | ${fmt(r.share * 100, 1)}% | ${r.fn} | ${r.where} |`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  // Two cores: anything else running (a test suite, a compiler) skews every figure. Say so.
  const loadBefore = loadavg()[0] ?? 0;
  if (loadBefore > 0.5) progress(`! load average is ${fmt(loadBefore, 2)} before the run: other processes compete for the CPUs; figures will be noisy`);
  progress(`building ${FIXTURE_REQUESTS} fixture requests × ${SPANS_PER_REQUEST} spans (official serializer)`);
  const fixture = buildFixtures(FIXTURE_REQUESTS, SPANS_PER_REQUEST);
  const lineProtocol = fixture.protobuf.map((body) => naivePipeline(body, 'protobuf', TENANT));
  const lines = lineProtocol.reduce((n, text) => n + text.split('\n').length, 0);
  const linesPerSpan = lines / (FIXTURE_REQUESTS * SPANS_PER_REQUEST);
  const avgBytes = Math.round(fixture.protobuf.reduce((n, b) => n + b.length, 0) / fixture.protobuf.length);

  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-bench-'));
  const bodiesFile = join(dir, 'bodies.bin');
  await writeFile(bodiesFile, encodeBodies(fixture.protobuf));
  const sink = await startSink();
  const rows: Row[] = [];
  let influxdTable: string | undefined;
  try {
    for (const gzip of SINK_RUNS ? [false, true] : []) {
      const ours = await runOne('tenantlens', gzip, sink, bodiesFile, linesPerSpan, undefined);
      rows.push(ours);
      rows.push(await runOne('naive', gzip, sink, bodiesFile, linesPerSpan, ours.halfRate));
    }
    if (WITH_INFLUXD) influxdTable = await influxdPhase(bodiesFile, lineProtocol.join('\n'));
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }

  console.log(
    `tenantlens end-to-end bench${SINK_RUNS ? '' : ' (real influxd only)'}: OTLP/HTTP protobuf, ${SPANS_PER_REQUEST} spans/request (~10 attributes; ${fmt(avgBytes)} B, gzip off), ` +
      `${CONNECTIONS} connections (autocannon, separate process), loopback line-protocol sink; ${SECONDS}s per run after ${WARMUP_SECONDS}s warm-up; ` +
      `node ${process.version}, ${cpus().length} CPUs; load average ${fmt(loadBefore, 2)} before, ${fmt(loadavg()[0] ?? 0, 2)} after`,
  );
  if (SINK_RUNS) console.log(table(rows, linesPerSpan));
  console.log(influxdTable === undefined ? '\n(real influxd: skipped; BENCH_INFLUXD=1 to run it)' : `\nagainst a real influxd (Debian 1.6.7), ${SECONDS}s per run:\n${influxdTable}`);
  await printProfiles();
  progress(`done in ${fmt((Date.now() - started) / 1000)} s`);
}

await main();
