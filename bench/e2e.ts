/**
 * End-to-end benchmark (issues 6 and 17): OTLP/HTTP, protobuf and OTLP/JSON, 100 spans per request
 * (~10 attributes each, official serializers), 32 connections from a separate autocannon process,
 * with and without gzip, against a loopback line-protocol sink that isolates the gateway from the
 * database.
 *
 * For each encoding and gzip mode, ours (`gateway/src/main.ts`, one process), ours with `WORKERS=2`
 * (a Node cluster: a primary and two workers sharing the port), the naive baseline
 * (`bench/naive-gateway.ts`: answers after its own write) and the idiomatic baseline
 * (`bench/idiomatic-gateway.ts`: the official client's batching `WriteApi`, answers before the
 * write) each run in a fresh process: warm-up, a max-throughput run, then a run at HALF of that
 * gateway's own max throughput, paced: evenly spaced requests (load.ts says why not autocannon's
 * rate limit), then a drain check (every acknowledged span reached the sink). Reported: spans/s
 * acknowledged (2xx × 100), lines/s the sink received in the same window, p50/p99 latency, peak
 * RSS (VmRSS polled every 100 ms during the max run, summed over the primary and its workers for a
 * cluster), p99 at half rate, and the ratios to naive and ×2 ÷ ×1 from this run.
 *
 * Gateway CPU per span (issue 17 §4): the gateway's CPU time (utime + stime of every thread, from
 * /proc/<pid>/stat, summed over a cluster's processes) from the first request of the half-rate run
 * until the sink has everything (the drain), divided by the spans the sink received in that window
 * (lines of the `spans` measurement: delivered, not just acknowledged; both are printed). On a
 * shared two-core machine spans/s moves with the load generator, the sink and whatever else runs;
 * CPU time per delivered span is what the gateway itself spends, and holds still much better.
 *
 * Then the overload phase: ours (one process) with BUFFER_MAX_BYTES=8 MiB in front of a slowed
 * sink, 32 connections flat out for BENCH_OVERLOAD_SECONDS (default 15): status counts, whether
 * refusals carry Retry-After (direct probes during the load), RSS against idle, the
 * tenantlens_buffer_bytes peak against the limit, and the drain check once the sink is fast again.
 *
 * Results also go to bench/results/e2e.json and bench/results/e2e.svg.
 *
 * Past 400 lines on purpose: one run's phases (sink runs, overload, influxd) and the tables that
 * read them share the Row shape, the verdict helpers and the run-wide state (the sink, the profile
 * windows); the load generator, /proc readers and profile summary already live in bench/support/.
 *
 * Run: `npm run bench:e2e` (BENCH_SECONDS per run, default 10; BENCH_WARMUP_SECONDS, default 3;
 * BENCH_ENCODINGS, default `protobuf,json`; BENCH_GATEWAYS, default all: `tenantlens,tenantlens ×2 workers,naive,idiomatic`;
 * BENCH_INFLUXD=1 adds the real-influxd comparison (`only`: skips the sink runs and the overload
 * phase); BENCH_CPU_PROF=<dir> profiles our single-process gateway and the idiomatic baseline with
 * --cpu-prof and prints the top self-time functions (profiling slows them: read their CPU figures
 * from a run without it); BENCH_OVERLOAD_SECONDS, default 15; BENCH_ONLY=overload runs the overload
 * phase alone and writes bench/results/e2e-overload.json; BENCH_NODE_ARGS="--flag …" adds node flags
 * to our gateway, e.g. --max-old-space-size=160 or --heapsnapshot-signal=SIGUSR2).
 *
 * Reading the overload RSS: a heap snapshot taken under overload holds ~38 MB live (the 8 MiB
 * buffer's lines included); the rest of the growth is V8's headroom, sized to the allocation rate
 * (the young generation grows to 2 × 16 MiB, the old space to a few times the live heap before a
 * full GC). It stops growing once sized, and a heap limit (BENCH_NODE_ARGS=--max-old-space-size=…,
 * with --max-semi-space-size=4) shrinks it to a fraction, at the cost of more GC.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeBodies } from './support/bodies.ts';
import { monotonicMicros, topSelfTime, type ProfileWindow } from './support/cpu-profile.ts';
import type { LoadResult, LoadSpec } from './support/load.ts';
import { machineInfo, machineLine } from './support/machine.ts';
import { GATEWAY_SOURCES, startServer, type ServerChild } from '../harness/gateway.ts';
import { spawnNode } from '../harness/process.ts';
import { parsePrometheusText, sumSamples, type PromSample } from '../harness/prometheus.ts';
import { cpuSeconds, processTree, readStatusBytes, readTreeStatusBytes, sampleRss, treeCpuSeconds, treeMainThreadCpuSeconds } from './support/proc-stats.ts';
import { startSink, type Sink, type SinkThrottle } from '../harness/sink.ts';
import { barChart, stackCharts } from './support/svg-chart.ts';
import { buildFixtures } from '../harness/fixtures.ts';
import { naivePipeline } from '../harness/naive-pipeline.ts';
import { startInfluxd } from '../harness/influxd.ts';
import type { DirectResult, DirectSpec } from './support/direct-writer.ts';
import type { OtlpEncoding } from '../gateway/src/otlp/decode.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NAIVE_MAIN = join(ROOT, 'bench/naive-gateway.ts');
const IDIOMATIC_MAIN = join(ROOT, 'bench/idiomatic-gateway.ts');
const LOAD_MAIN = join(ROOT, 'bench/support/load.ts');
const DIRECT_MAIN = join(ROOT, 'bench/support/direct-writer.ts');
const RESULTS = join(ROOT, 'bench/results');

const SECONDS = positive('BENCH_SECONDS', 10);
const WARMUP_SECONDS = positive('BENCH_WARMUP_SECONDS', 3);
/** BENCH_INFLUXD=1: also run against a real influxd (needs `apt-get install influxdb`); `only`: just that. */
const WITH_INFLUXD = process.env.BENCH_INFLUXD === '1' || process.env.BENCH_INFLUXD === 'only';
/** BENCH_ONLY=overload: the overload phase alone (no sink runs, no influxd). */
const OVERLOAD_ONLY = process.env.BENCH_ONLY === 'overload';
if (process.env.BENCH_ONLY !== undefined && process.env.BENCH_ONLY !== '' && !OVERLOAD_ONLY) throw new Error(`BENCH_ONLY must be "overload", got ${JSON.stringify(process.env.BENCH_ONLY)}`);
const SINK_RUNS = process.env.BENCH_INFLUXD !== 'only' && !OVERLOAD_ONLY;
const OVERLOAD_RUN = process.env.BENCH_INFLUXD !== 'only';
/** Extra node flags for our gateway (space-separated). */
const GATEWAY_NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const OVERLOAD_SECONDS = positive('BENCH_OVERLOAD_SECONDS', 15);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF === undefined || process.env.BENCH_CPU_PROF === '' ? undefined : resolve(process.env.BENCH_CPU_PROF);
const ENCODINGS = encodings(process.env.BENCH_ENCODINGS);
const CONNECTIONS = 32;
const SPANS_PER_REQUEST = 100;
const FIXTURE_REQUESTS = 50;
const TENANT = 'acme';
/** How long a gateway may take to hand its last buffered lines to the sink after the load stops. */
const DRAIN_MAX_MILLIS = 15_000;
/** The sink's count must hold still this long to call the gateway drained (our flush interval is 1 s). */
const DRAIN_QUIET_MILLIS = 1_500;
/** The overload phase's gateway buffer: small, so that it fills within a second. */
const OVERLOAD_BUFFER_BYTES = 8 * 2 ** 20;
/**
 * The overload phase's sink: 200 ms per write and at most 5,000 lines/s. The gateway keeps one
 * write (≤ 1 MiB) in flight, so an answer never waits near its 10 s write timeout.
 */
const SLOW_SINK: SinkThrottle = { delayMillis: 200, maxLinesPerSec: 5000 };
const RSS_TARGET_BYTES = 300 * 2 ** 20;
/** Issue 17 §4: our CPU per delivered span at half of max, per encoding, and the factor below the idiomatic baseline's. */
const CPU_TARGET_MICROS: Readonly<Record<OtlpEncoding, number>> = { protobuf: 10, json: 15 };
const CPU_TARGET_VS_IDIOMATIC = 2;
const CONTENT_TYPES: Readonly<Record<OtlpEncoding, string>> = { protobuf: 'application/x-protobuf', json: 'application/json' };

function encodings(raw: string | undefined): OtlpEncoding[] {
  const list = (raw === undefined || raw === '' ? 'protobuf,json' : raw).split(',').map((e) => e.trim());
  for (const e of list) if (e !== 'protobuf' && e !== 'json') throw new Error(`BENCH_ENCODINGS takes protobuf and/or json, got ${JSON.stringify(raw)}`);
  return list as OtlpEncoding[];
}

function positive(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  return n;
}

/** Profile directory (`tenantlens-sink-json-gzip-off`) → the half-rate run's window: the profile summary reads that window only. */
const HALF_RATE_WINDOWS = new Map<string, ProfileWindow>();

const progress = (msg: string): void => void process.stderr.write(`[bench:e2e ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type GatewayName = 'tenantlens' | 'tenantlens ×2 workers' | 'naive' | 'idiomatic';
const OURS_X2: GatewayName = 'tenantlens ×2 workers';
const ALL_GATEWAYS: readonly GatewayName[] = ['tenantlens', OURS_X2, 'naive', 'idiomatic'];
/** BENCH_GATEWAYS=tenantlens,idiomatic (comma-separated, as named above; default all): fewer runs while developing. */
const GATEWAYS = ((): readonly GatewayName[] => {
  const raw = process.env.BENCH_GATEWAYS;
  if (raw === undefined || raw === '') return ALL_GATEWAYS;
  const want = raw.split(',').map((g) => g.trim());
  const bad = want.filter((g) => !(ALL_GATEWAYS as readonly string[]).includes(g));
  if (bad.length > 0) throw new Error(`BENCH_GATEWAYS: unknown ${bad.join(', ')} (known: ${ALL_GATEWAYS.join(', ')})`);
  return ALL_GATEWAYS.filter((g) => want.includes(g));
})();
const isOurs = (name: GatewayName): boolean => name === 'tenantlens' || name === OURS_X2;
const workersOf = (name: GatewayName): number => (name === OURS_X2 ? 2 : 1);

interface Row {
  gateway: GatewayName;
  encoding: OtlpEncoding;
  /** `WORKERS` (1 for the baselines). */
  workers: number;
  /** Processes whose RSS was summed (the primary and its workers for a cluster). */
  processes: number;
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
  /** The gateway's CPU time over the max run, per acknowledged span (µs). */
  maxCpuMicrosPerSpan: number;
  cpu: HalfRateCpu;
}

/** What the gateway spent over the half-rate run and its drain (issue 17 §4). */
interface HalfRateCpu {
  /** utime + stime, all threads (and all processes of a cluster), in seconds. */
  seconds: number;
  /** Of which the main (JavaScript) threads; the rest is GC and compiler helpers and libuv's pool. */
  mainThreadSeconds: number;
  /** From the first request of the half-rate run to the end of the drain. */
  windowSeconds: number;
  /** 2xx answers × spans per request. */
  ackedSpans: number;
  /** Lines of the `spans` measurement the sink received in the window. */
  deliveredSpans: number;
  microsPerSpan: number;
}

/** Where a gateway writes: the sink, or a real influxd. */
interface Target {
  readonly url: string;
  readonly db: string;
}

function startGateway(name: GatewayName, target: Target, profileTag: string, env: Record<string, string> = {}): Promise<ServerChild> {
  const profile = (prefix: string): string[] => (CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROF_DIR, `${prefix}-${profileTag}`)}`]);
  if (name === 'naive' || name === 'idiomatic') {
    const main = name === 'naive' ? NAIVE_MAIN : IDIOMATIC_MAIN;
    const prof = name === 'idiomatic' ? profile('idiomatic') : [];
    return startServer([...prof, '--import', 'tsx', main], { ...process.env, SINK_URL: target.url, INFLUX_DB: target.db, HOST: '127.0.0.1', PORT: '0' });
  }
  // One directory per run: node names each thread's profile CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile,
  // and tsx's loader hooks run on a worker thread of their own (a fixed --cpu-prof-name would let
  // that thread's profile overwrite the main thread's).
  // Only the single-process gateway: cluster workers inherit the primary's execArgv, and the
  // profile summary reads one main-thread profile per run.
  const workers = workersOf(name);
  const prof = workers > 1 ? [] : profile('tenantlens');
  const args = [...GATEWAY_NODE_ARGS, ...prof, '--import', 'tsx', GATEWAY_SOURCES];
  return startServer(args, {
    ...process.env,
    INFLUX_URL: target.url,
    INFLUX_API_VERSION: '1',
    INFLUX_BUCKET: target.db,
    TENANT_AUTH: 'header',
    HOST: '127.0.0.1',
    PORT: '0',
    // OTLP/HTTP only here (bench/grpc.ts compares the transports); and never the real 4317.
    GRPC: 'off',
    // `info`, not `warn`: the port comes from the "listening" line, which is logged at info. The
    // gateway logs nothing per request at info (only refused spans, which these fixtures never have).
    LOG_LEVEL: 'info',
    // More than one worker must not run the alert evaluator (config refuses it).
    ...(workers > 1 ? { WORKERS: String(workers), ALERTS: 'off' } : {}),
    ...env,
  }, { timeoutMillis: 60_000, listeners: workers }); // one "listening" line per worker: wait for all of them
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

/** Lines of mapped data the sink has: the gateway's own lines (index, rollups) are not what the naive pipeline's lines per span count. */
function dataLines(sink: Sink): number {
  const c = sink.counts();
  return c.lines - c.own;
}

/** Waits until the sink's data line count holds still for DRAIN_QUIET_MILLIS and reaches `expected` (bounded by DRAIN_MAX_MILLIS). */
async function drain(sink: Sink, expected: number): Promise<number> {
  const deadline = Date.now() + DRAIN_MAX_MILLIS;
  let last = dataLines(sink);
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const now = dataLines(sink);
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (now >= expected && Date.now() - quietSince >= DRAIN_QUIET_MILLIS) break;
  }
  return dataLines(sink);
}

function checkLoad(what: string, r: LoadResult): void {
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) progress(`  ! ${what}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts; status codes ${JSON.stringify(r.statusCodes)}`);
  if (r.ok === 0) throw new Error(`${what}: no request succeeded (${JSON.stringify(r.statusCodes)})`);
}

// About 110 lines: one gateway's whole life in the bench (warm-up, max, half rate, drain) shares its counters.
async function runOne(name: GatewayName, encoding: OtlpEncoding, gzip: boolean, sink: Sink, bodiesFile: string, linesPerSpan: number): Promise<Row> {
  const label = `${name} ${encoding} gzip=${gzip ? 'on' : 'off'}`;
  progress(`${label}: starting the gateway`);
  const profileTag = `sink-${encoding}-gzip-${gzip ? 'on' : 'off'}`;
  const gw = await startGateway(name, { url: sink.url, db: 'bench' }, profileTag);
  const processes = processTree(gw.pid).length;
  if (processes !== workersOf(name) + (workersOf(name) > 1 ? 1 : 0)) progress(`  ! ${label}: ${processes} processes in the gateway's tree (expected ${workersOf(name) > 1 ? `1 primary + ${workersOf(name)} workers` : '1'})`);
  try {
    sink.reset();
    const spec = (seconds: number, overallRate?: number): LoadSpec => ({
      url: gw.url,
      bodiesFile,
      contentType: CONTENT_TYPES[encoding],
      gzip,
      seconds,
      connections: CONNECTIONS,
      tenant: TENANT,
      // The half-rate run is paced (evenly spaced requests, load.ts): autocannon's rate limit
      // sends each second's quota at once, which measured a saturated gateway's latency.
      ...(overallRate === undefined ? {} : { overallRate, paced: true }),
    });
    let acked = 0;
    let sent = 0;
    progress(`${label}: warm-up ${WARMUP_SECONDS}s`);
    const warm = await load(spec(WARMUP_SECONDS));
    // A short warm-up on a busy machine may end before the first (cold) answers: only the measured runs must succeed.
    if (warm.ok === 0) progress(`  ! ${label} warm-up: no request answered within ${WARMUP_SECONDS}s (${JSON.stringify(warm.statusCodes)})`);
    else checkLoad(`${label} warm-up`, warm);
    acked += warm.ok;
    sent += warm.sent;
    await drain(sink, acked * SPANS_PER_REQUEST * linesPerSpan);

    progress(`${label}: max throughput ${SECONDS}s, ${CONNECTIONS} connections`);
    let linesAtStart = 0;
    let rss: ReturnType<typeof sampleRss> | undefined;
    let t0 = 0;
    let maxCpu0 = 0;
    const max = await load(spec(SECONDS), () => {
      linesAtStart = dataLines(sink);
      rss = sampleRss(gw.pid, 100, { tree: true });
      maxCpu0 = treeCpuSeconds(gw.pid);
      t0 = performance.now();
    });
    const maxCpu = treeCpuSeconds(gw.pid) - maxCpu0;
    const windowSeconds = (performance.now() - t0) / 1000;
    const sinkLinesPerSec = (dataLines(sink) - linesAtStart) / windowSeconds;
    const peakRssBytes = rss?.stop() ?? 0;
    checkLoad(`${label} max`, max);
    acked += max.ok;
    sent += max.sent;
    progress(`${label}: ${Math.round((max.ok * SPANS_PER_REQUEST) / max.durationSeconds)} spans/s, p99 ${max.p99Millis} ms`);
    await drain(sink, acked * SPANS_PER_REQUEST * linesPerSpan);

    const rate = Math.max(1, Math.round(max.ok / max.durationSeconds / 2));
    progress(`${label}: paced at ${rate} req/s (half of its max) ${SECONDS}s`);
    let cpu0 = 0;
    let main0 = 0;
    let spans0 = 0;
    let h0 = 0;
    let window0 = 0;
    const half = await load(spec(SECONDS, rate), () => {
      window0 = monotonicMicros();
      cpu0 = treeCpuSeconds(gw.pid);
      main0 = treeMainThreadCpuSeconds(gw.pid);
      spans0 = sink.counts().spans;
      h0 = performance.now();
    });
    checkLoad(`${label} half rate`, half);
    acked += half.ok;
    sent += half.sent;

    const expected = acked * SPANS_PER_REQUEST * linesPerSpan;
    const got = await drain(sink, expected);
    // The CPU window closes once the sink has every line: a gateway that answers before it writes
    // (the idiomatic one) or buffers (ours) must not leave its writing out of the count.
    const cpuSeconds = treeCpuSeconds(gw.pid) - cpu0;
    const mainThreadSeconds = treeMainThreadCpuSeconds(gw.pid) - main0;
    if (name === 'tenantlens' || name === 'idiomatic') HALF_RATE_WINDOWS.set(`${name}-${profileTag}`, { fromMicros: window0, toMicros: monotonicMicros() });
    const deliveredSpans = sink.counts().spans - spans0;
    const cpu: HalfRateCpu = {
      seconds: cpuSeconds,
      mainThreadSeconds,
      windowSeconds: (performance.now() - h0) / 1000,
      ackedSpans: half.ok * SPANS_PER_REQUEST,
      deliveredSpans,
      microsPerSpan: deliveredSpans > 0 ? (cpuSeconds * 1e6) / deliveredSpans : Number.NaN,
    };
    progress(`${label}: half rate: ${fmt(cpu.microsPerSpan, 1)} µs CPU per delivered span (${fmt(cpuSeconds, 2)} s CPU, ${fmt(deliveredSpans)} delivered, ${fmt(cpu.ackedSpans)} acknowledged)`);
    const hwmBytes = readTreeStatusBytes(gw.pid, 'VmHWM') ?? 0;
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
      encoding,
      workers: workersOf(name),
      processes,
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
      maxCpuMicrosPerSpan: max.ok > 0 ? (maxCpu * 1e6) / (max.ok * SPANS_PER_REQUEST) : Number.NaN,
      cpu,
    };
  } finally {
    await gw.stop();
  }
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (b: number): string => fmt(b / 2 ** 20);
const spansPerSec = (r: LoadResult): number => (r.ok * SPANS_PER_REQUEST) / r.durationSeconds;

const ratio = (a: number, b: number): number | undefined => (b === 0 ? undefined : a / b);
const x = (r: number | undefined): string => (r === undefined ? 'n/a' : `${fmt(r, 2)}×`);

function table(rows: Row[], linesPerSpan: number): string {
  const head = ['gateway', 'encoding', 'gzip', 'spans/s acked', 'sink lines/s', 'lines/span', 'acked lost', 'p50 ms', 'p99 ms', 'peak RSS MB', 'HWM MB', 'non-2xx/err', 'half rate req/s', 'p99 @half ms'];
  const body = rows.map((r) => [
    r.gateway,
    r.encoding,
    r.gzip ? 'on' : 'off',
    fmt(spansPerSec(r.max)),
    fmt(r.sinkLinesPerSec),
    `${fmt(r.drainedLinesPerSpan, 3)}${r.drained ? '' : ' (!)'}`,
    fmt(r.lost),
    fmt(r.max.p50Millis, 1),
    fmt(r.max.p99Millis, 1),
    `${mb(r.peakRssBytes)}${r.processes > 1 ? ` (Σ${r.processes})` : ''}`,
    `${mb(r.hwmBytes)}${r.processes > 1 ? ` (Σ${r.processes})` : ''}`,
    `${r.max.non2xx + r.half.non2xx}/${r.max.errors + r.max.timeouts + r.half.errors + r.half.timeouts}`,
    fmt(r.halfRate),
    fmt(r.half.p99Millis, 1),
  ]);
  const ratioRow = (label: string, encoding: OtlpEncoding, gzip: boolean, a: Row | undefined, b: Row | undefined): void => {
    if (a === undefined || b === undefined) return;
    body.push([
      label,
      encoding,
      gzip ? 'on' : 'off',
      x(ratio(spansPerSec(a.max), spansPerSec(b.max))),
      x(ratio(a.sinkLinesPerSec, b.sinkLinesPerSec)),
      '',
      '',
      x(ratio(a.max.p50Millis, b.max.p50Millis)),
      x(ratio(a.max.p99Millis, b.max.p99Millis)),
      x(ratio(a.peakRssBytes, b.peakRssBytes)),
      x(ratio(a.hwmBytes, b.hwmBytes)),
      '',
      '',
      x(ratio(a.half.p99Millis, b.half.p99Millis)),
    ]);
  };
  for (const encoding of ENCODINGS) {
    for (const gzip of [false, true]) {
      const find = (g: GatewayName): Row | undefined => findRow(rows, g, encoding, gzip);
      ratioRow('tenantlens ÷ naive', encoding, gzip, find('tenantlens'), find('naive'));
      ratioRow('×2 workers ÷ naive', encoding, gzip, find(OURS_X2), find('naive'));
      ratioRow('×2 workers ÷ ×1', encoding, gzip, find(OURS_X2), find('tenantlens'));
      ratioRow('tenantlens ÷ idiomatic', encoding, gzip, find('tenantlens'), find('idiomatic'));
    }
  }
  const out = markdownTable(head, body, 3);
  out.push(
    '',
    `expected lines/span ${fmt(linesPerSpan, 3)} (naive pipeline on the fixtures); lines/span = sink lines ÷ acknowledged spans after the drain (a little above expected: requests in flight when a run stopped also reach the sink); acked lost = lines of 2xx requests the sink never got; (!) = drain check failed`,
    'peak RSS / HWM (Σn) = summed over the n node processes of a cluster (the primary and its workers; tsx\'s esbuild helper left out; RSS summed at each 100 ms poll, HWM = the sum of each process\'s own high-water mark, an upper bound); ' +
      '×2 workers runs with ALERTS=off (required with WORKERS > 1); every gateway runs the p99 @half column at half of its own max; the idiomatic baseline answers before it writes, so its p99 leaves the write out',
    `scaling: the load generator (autocannon, one process) and the sink (the bench process) share the same ${machineInfo().cpus} CPUs with the gateway, so ×2 workers ÷ ×1 understates what a second core gives a gateway on a machine of its own`,
  );
  const targets = rows
    .filter((r) => isOurs(r.gateway))
    .map((r) => {
      const naive = findRow(rows, 'naive', r.encoding, r.gzip);
      const vsNaive = naive === undefined ? 0 : spansPerSec(r.max) / spansPerSec(naive.max);
      return `${r.gateway.padEnd(OURS_X2.length)} ${r.encoding.padEnd(8)} gzip ${r.gzip ? 'on ' : 'off'}: spans/s ≥ 5× naive: ${ok(vsNaive >= 5)} (${fmt(vsNaive, 2)}×); p99 at half rate ≤ 50 ms: ${ok(r.half.p99Millis <= 50)} (${fmt(r.half.p99Millis, 1)} ms); peak RSS ≤ 300 MB: ${ok(r.peakRssBytes <= RSS_TARGET_BYTES)} (${mb(r.peakRssBytes)} MB); nothing acknowledged lost: ${ok(r.drained)} (${fmt(r.lost)} lines)`;
    });
  out.push('issue 6 targets, kept by issue 17 §5 (against the sink; the 5× is issue 6\'s and reported as before):', ...targets.map((t) => `  ${t}`));
  const scaling = ENCODINGS.flatMap((encoding) =>
    [false, true].flatMap((gzip) => {
      const one = findRow(rows, 'tenantlens', encoding, gzip);
      const two = findRow(rows, OURS_X2, encoding, gzip);
      return one === undefined || two === undefined ? [] : [`${encoding} gzip ${gzip ? 'on' : 'off'} ${x(ratio(spansPerSec(two.max), spansPerSec(one.max)))}`];
    }),
  );
  if (scaling.length > 0) out.push(`  scaling, WORKERS=2 ÷ WORKERS=1 spans/s: ${scaling.join(', ')} (reported, no target: the load generator shares the machine)`);
  return out.join('\n');
}

const ok = (b: boolean): string => (b ? 'met' : 'NOT met');

const findRow = (rows: readonly Row[], gateway: GatewayName, encoding: OtlpEncoding, gzip: boolean): Row | undefined =>
  rows.find((r) => r.gateway === gateway && r.encoding === encoding && r.gzip === gzip);

/** A padded markdown table; the first `textColumns` columns left-aligned, the rest right-aligned. */
function markdownTable(head: readonly string[], body: ReadonlyArray<readonly string[]>, textColumns: number): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i < textColumns ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)];
}

/**
 * Issue 17 §4: the gateway's own CPU per delivered span at half of its max, beside both baselines,
 * and the targets (ours ≤ 10 µs protobuf, ≤ 15 µs JSON, ≥ 2× less than the idiomatic baseline).
 */
function cpuTable(rows: readonly Row[]): string {
  const head = ['gateway', 'encoding', 'gzip', 'max spans/s', 'half rate spans/s', 'acked spans', 'delivered spans', 'CPU s', 'main thread', 'CPU µs/span @half', 'CPU µs/span @max', 'p99 @half ms', 'idiomatic ÷ this'];
  const body = rows.map((r) => {
    const idiomatic = findRow(rows, 'idiomatic', r.encoding, r.gzip);
    return [
      r.gateway,
      r.encoding,
      r.gzip ? 'on' : 'off',
      fmt(spansPerSec(r.max)),
      fmt(r.halfRate * SPANS_PER_REQUEST),
      fmt(r.cpu.ackedSpans),
      fmt(r.cpu.deliveredSpans),
      fmt(r.cpu.seconds, 2),
      r.cpu.seconds > 0 ? `${fmt((100 * r.cpu.mainThreadSeconds) / r.cpu.seconds)}%` : 'n/a',
      fmt(r.cpu.microsPerSpan, 1),
      fmt(r.maxCpuMicrosPerSpan, 1),
      fmt(r.half.p99Millis, 1),
      r.gateway === 'idiomatic' ? '' : x(idiomatic === undefined ? undefined : ratio(idiomatic.cpu.microsPerSpan, r.cpu.microsPerSpan)),
    ];
  });
  const out = markdownTable(head, body, 3);
  out.push(
    '',
    'CPU = utime + stime of every thread of the gateway (/proc/<pid>/stat; a cluster: primary + workers) from the first request of the half-rate run (paced, each gateway at half of its own max) until the sink had every line; ' +
      "÷ delivered spans (`spans` lines the sink received in that window); main thread: the JavaScript threads' share (the rest: GC and compiler helper threads, libuv's pool). @max: CPU over the max run ÷ spans acknowledged in it. idiomatic ÷ this: how many times more CPU per span the idiomatic baseline spent.",
    'Issue 17 §4 targets (gzip off; the gzip-on rows are reported):',
  );
  for (const encoding of ENCODINGS) {
    for (const name of ['tenantlens', OURS_X2] as const) {
      const r = findRow(rows, name, encoding, false);
      const idiomatic = findRow(rows, 'idiomatic', encoding, false);
      if (r === undefined) continue;
      const limit = CPU_TARGET_MICROS[encoding];
      const vs = idiomatic === undefined ? undefined : ratio(idiomatic.cpu.microsPerSpan, r.cpu.microsPerSpan);
      out.push(
        `  ${name.padEnd(OURS_X2.length)} ${encoding.padEnd(8)}: CPU ≤ ${limit} µs/span: ${ok(r.cpu.microsPerSpan <= limit)} (${fmt(r.cpu.microsPerSpan, 1)} µs); ` +
          `≥ ${CPU_TARGET_VS_IDIOMATIC}× less CPU per span than idiomatic: ${vs === undefined ? 'not checked' : ok(vs >= CPU_TARGET_VS_IDIOMATIC)} (${x(vs)}); ` +
          `delivered ÷ acked ${r.cpu.ackedSpans > 0 ? fmt(r.cpu.deliveredSpans / r.cpu.ackedSpans, 3) : 'n/a'}`,
      );
    }
  }
  return out.join('\n');
}

/** Every sample of a /metrics scrape. */
async function scrape(url: string): Promise<PromSample[]> {
  return parsePrometheusText(await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text()).samples;
}

interface HeapFigures {
  totalBytes: number;
  usedBytes: number;
  externalBytes: number;
}

/** Raises `into` to the V8 heap figures of a scrape (process.memoryUsage() via prom-client's default metrics). */
function heapFigures(m: readonly PromSample[], into: HeapFigures): HeapFigures {
  into.totalBytes = Math.max(into.totalBytes, sumSamples(m, 'tenantlens_nodejs_heap_size_total_bytes'));
  into.usedBytes = Math.max(into.usedBytes, sumSamples(m, 'tenantlens_nodejs_heap_size_used_bytes'));
  into.externalBytes = Math.max(into.externalBytes, sumSamples(m, 'tenantlens_nodejs_external_memory_bytes'));
  return into;
}

interface OverloadResult {
  seconds: number;
  bufferMaxBytes: number;
  sinkThrottle: SinkThrottle;
  load: LoadResult;
  /** The direct probes sent during the load: statuses, and Retry-After on their refusals. */
  probes: { sent: number; statuses: Record<string, number>; refused: number; withRetryAfter: number; retryAfterValues: string[] };
  idleRssBytes: number;
  peakRssBytes: number;
  firstHalfPeakRssBytes: number;
  secondHalfPeakRssBytes: number;
  bufferBytesPeak: number;
  bufferScrapes: number;
  /** Peaks over the /metrics scrapes (process.memoryUsage() via prom-client): where the RSS went. */
  heapPeaks: HeapFigures;
  heapIdle: HeapFigures;
  refusedByReason: Record<string, number>;
  writeRetries: number;
  acknowledgedSpans: number;
  expectedLines: number;
  receivedLines: number;
  unansweredLines: number;
  lostLines: number;
  verdicts: Array<{ target: string; met: boolean | undefined; detail: string }>;
}

/**
 * Overload: our gateway (one process, BUFFER_MAX_BYTES=8 MiB) writing to a sink slowed below its
 * intake, 32 connections flat out. The buffer fills within a second; from then on the gateway must
 * refuse with 503/429 + Retry-After rather than grow, and every request it answered 200 for must
 * reach the sink once the sink is fast again.
 */
async function overloadPhase(sink: Sink, bodiesFile: string, probeBody: Uint8Array, linesPerSpan: number): Promise<OverloadResult> {
  const label = 'overload';
  progress(`${label}: starting our gateway with BUFFER_MAX_BYTES=${mb(OVERLOAD_BUFFER_BYTES)} MiB`);
  const gw = await startGateway('tenantlens', { url: sink.url, db: 'bench' }, 'overload', { BUFFER_MAX_BYTES: String(OVERLOAD_BUFFER_BYTES) });
  try {
    await sleep(1000);
    const idleRssBytes = readStatusBytes(gw.pid, 'VmRSS') ?? 0;
    const heapIdle = heapFigures(await scrape(gw.url), { totalBytes: 0, usedBytes: 0, externalBytes: 0 });
    sink.reset();
    sink.throttle(SLOW_SINK);
    progress(`${label}: sink slowed to ${SLOW_SINK.delayMillis} ms per write and ${fmt(SLOW_SINK.maxLinesPerSec ?? 0)} lines/s; ${CONNECTIONS} connections flat out for ${OVERLOAD_SECONDS}s`);
    let running = true;
    let rss: ReturnType<typeof sampleRss> | undefined;
    let bufferBytesPeak = 0;
    let bufferScrapes = 0;
    const heapPeaks: HeapFigures = { totalBytes: 0, usedBytes: 0, externalBytes: 0 };
    const probes = { sent: 0, ok: 0, statuses: {} as Record<string, number>, refused: 0, withRetryAfter: 0, retryAfterValues: [] as string[] };
    const loops: Array<Promise<void>> = [];
    const scrapeLoop = async (): Promise<void> => {
      while (running) {
        try {
          const m = await scrape(gw.url);
          bufferBytesPeak = Math.max(bufferBytesPeak, sumSamples(m, 'tenantlens_buffer_bytes'));
          heapFigures(m, heapPeaks);
          bufferScrapes++;
        } catch (err) {
          progress(`  ! ${label}: /metrics scrape failed: ${(err as Error).message}`);
        }
        await sleep(250);
      }
    };
    // A direct request now and then, to read the headers of a refusal (autocannon counts statuses only).
    const probeLoop = async (): Promise<void> => {
      while (running) {
        probes.sent++;
        try {
          const res = await fetch(`${gw.url}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-protobuf', 'x-tenant-id': TENANT },
            body: probeBody,
            signal: AbortSignal.timeout(30_000),
          });
          await res.arrayBuffer();
          probes.statuses[res.status] = (probes.statuses[res.status] ?? 0) + 1;
          if (res.ok) probes.ok++;
          if (res.status === 429 || res.status === 503) {
            probes.refused++;
            const ra = res.headers.get('retry-after');
            if (ra !== null) {
              probes.withRetryAfter++;
              if (!probes.retryAfterValues.includes(ra)) probes.retryAfterValues.push(ra);
            }
          }
        } catch (err) {
          probes.statuses.error = (probes.statuses.error ?? 0) + 1;
          progress(`  ! ${label}: probe failed: ${(err as Error).message}`);
        }
        await sleep(250);
      }
    };
    const result = await load({ url: gw.url, bodiesFile, contentType: CONTENT_TYPES.protobuf, gzip: false, seconds: OVERLOAD_SECONDS, connections: CONNECTIONS, tenant: TENANT }, () => {
      rss = sampleRss(gw.pid, 100);
      loops.push(scrapeLoop(), probeLoop());
    });
    running = false;
    await Promise.all(loops);
    const peakRssBytes = rss?.stop() ?? 0;
    const series = rss?.series ?? [];
    const mid = (series.at(-1)?.[0] ?? 0) / 2;
    const firstHalfPeakRssBytes = Math.max(0, ...series.filter(([t]) => t < mid).map(([, v]) => v));
    const secondHalfPeakRssBytes = Math.max(0, ...series.filter(([t]) => t >= mid).map(([, v]) => v));
    const codes = result.statusCodes;
    progress(`${label}: statuses ${JSON.stringify(codes)}, probes ${JSON.stringify(probes.statuses)}; sink fast again, draining`);
    // Read the gauge once more before the sink speeds up: the buffer is at its fullest now.
    try {
      bufferBytesPeak = Math.max(bufferBytesPeak, sumSamples(await scrape(gw.url), 'tenantlens_buffer_bytes'));
      bufferScrapes++;
    } catch {
      // reported by the loop already if /metrics does not answer
    }
    sink.throttle(undefined);
    const acknowledgedRequests = result.ok + probes.ok;
    const acknowledgedSpans = acknowledgedRequests * SPANS_PER_REQUEST;
    const expectedLines = Math.round(acknowledgedSpans * linesPerSpan);
    const receivedLines = await drain(sink, expectedLines);
    const lostLines = Math.max(0, expectedLines - receivedLines);
    const after = await scrape(gw.url);
    const refusedByReason: Record<string, number> = {};
    for (const sample of after) {
      const reason = sample.labels.reason;
      if (sample.name === 'tenantlens_requests_refused_total' && reason !== undefined) refusedByReason[reason] = (refusedByReason[reason] ?? 0) + sample.value;
    }
    const writeRetries = sumSamples(after, 'tenantlens_write_retries_total');
    progress(`${label}: sink ${receivedLines} lines for ${acknowledgedRequests} acknowledged requests (expected ${expectedLines}); write retries ${writeRetries}`);

    const refused = (codes['503'] ?? 0) + (codes['429'] ?? 0);
    const otherNon2xx = result.non2xx - refused;
    const growth = peakRssBytes - idleRssBytes;
    // No refusal at all: the buffer never filled (or the gateway grew instead): not met. Refusals
    // but no probe refused: the headers went unchecked.
    const cleanRefusals = refused > 0 && otherNon2xx === 0 && result.errors + result.timeouts === 0;
    const refusesWell = !cleanRefusals ? false : probes.refused === 0 ? undefined : probes.withRetryAfter === probes.refused;
    const verdicts: OverloadResult['verdicts'] = [
      {
        target: 'refuses with 503/429 + Retry-After under overload',
        met: refusesWell,
        detail:
          `${fmt(refused)} refusals of ${fmt(result.ok + result.non2xx)} answers (${fmt(otherNon2xx)} other non-2xx, ${fmt(result.errors)} errors, ${fmt(result.timeouts)} timeouts); ` +
          `${probes.withRetryAfter}/${probes.refused} refused probes carried Retry-After (${probes.retryAfterValues.map((v) => `${v} s`).join(', ') || 'none'})`,
      },
      {
        target: 'buffer gauge peak ≤ BUFFER_MAX_BYTES',
        met: bufferScrapes > 0 ? bufferBytesPeak <= OVERLOAD_BUFFER_BYTES : undefined,
        detail: `tenantlens_buffer_bytes peak ${fmt(bufferBytesPeak / 2 ** 20, 2)} MiB of ${mb(OVERLOAD_BUFFER_BYTES)} MiB over ${bufferScrapes} scrapes (every 250 ms)`,
      },
      {
        target: 'memory bounded (RSS stops growing once the buffer is full; peak ≤ 300 MB)',
        met: secondHalfPeakRssBytes <= firstHalfPeakRssBytes * 1.1 && peakRssBytes <= RSS_TARGET_BYTES,
        detail:
          `idle ${mb(idleRssBytes)} MB → peak ${mb(peakRssBytes)} MB (+${mb(growth)} MB = ${fmt(growth / OVERLOAD_BUFFER_BYTES, 1)}× BUFFER_MAX_BYTES); ` +
          `peak in the first half ${mb(firstHalfPeakRssBytes)} MB, second half ${mb(secondHalfPeakRssBytes)} MB (≤ +10% = not growing)`,
      },
      {
        target: 'nothing acknowledged lost',
        met: lostLines === 0,
        detail: `acknowledged ${fmt(acknowledgedSpans)} spans (${fmt(acknowledgedRequests)} requests incl. ${probes.ok} probes) × ${fmt(linesPerSpan, 3)} lines/span = ${fmt(expectedLines)} lines; sink received ${fmt(receivedLines)}; lost ${fmt(lostLines)}` +
          (writeRetries > 0 ? ` (${fmt(writeRetries)} write retries: a retried batch may be counted twice)` : ''),
      },
    ];
    return {
      seconds: OVERLOAD_SECONDS,
      bufferMaxBytes: OVERLOAD_BUFFER_BYTES,
      sinkThrottle: SLOW_SINK,
      load: result,
      probes: { sent: probes.sent, statuses: probes.statuses, refused: probes.refused, withRetryAfter: probes.withRetryAfter, retryAfterValues: probes.retryAfterValues },
      idleRssBytes,
      peakRssBytes,
      firstHalfPeakRssBytes,
      secondHalfPeakRssBytes,
      bufferBytesPeak,
      bufferScrapes,
      heapPeaks,
      heapIdle,
      refusedByReason,
      writeRetries,
      acknowledgedSpans,
      expectedLines,
      receivedLines,
      unansweredLines: sink.counts().unanswered,
      lostLines,
      verdicts,
    };
  } finally {
    sink.throttle(undefined);
    await gw.stop();
  }
}

function overloadTable(o: OverloadResult): string {
  const codes = Object.entries(o.load.statusCodes)
    .map(([k, v]) => `${k}: ${fmt(v)}`)
    .join(', ');
  const rows: Array<[string, string]> = [
    ['statuses (autocannon)', `${codes || 'none'}; errors ${fmt(o.load.errors)}, timeouts ${fmt(o.load.timeouts)}`],
    ['spans/s acknowledged', `${fmt((o.load.ok * SPANS_PER_REQUEST) / o.load.durationSeconds)} (${fmt(o.load.ok)} requests in ${fmt(o.load.durationSeconds)} s); p50 ${fmt(o.load.p50Millis, 1)} ms, p99 ${fmt(o.load.p99Millis, 1)} ms`],
    ['refusals by reason (/metrics)', Object.entries(o.refusedByReason).map(([k, v]) => `${k}: ${fmt(v)}`).join(', ') || 'none'],
    ['direct probes', `${o.probes.sent} sent, statuses ${JSON.stringify(o.probes.statuses)}; Retry-After on ${o.probes.withRetryAfter}/${o.probes.refused} refusals (values: ${o.probes.retryAfterValues.join(', ') || 'none'})`],
    ['RSS', `idle ${mb(o.idleRssBytes)} MB, peak ${mb(o.peakRssBytes)} MB (first half ${mb(o.firstHalfPeakRssBytes)}, second half ${mb(o.secondHalfPeakRssBytes)}); growth ${mb(o.peakRssBytes - o.idleRssBytes)} MB = ${fmt((o.peakRssBytes - o.idleRssBytes) / o.bufferMaxBytes, 1)}× BUFFER_MAX_BYTES`],
    [
      'V8 heap, idle → peak (/metrics)',
      `total ${mb(o.heapIdle.totalBytes)} → ${mb(o.heapPeaks.totalBytes)} MB, used ${mb(o.heapIdle.usedBytes)} → ${mb(o.heapPeaks.usedBytes)} MB; external ${mb(o.heapIdle.externalBytes)} → ${mb(o.heapPeaks.externalBytes)} MB`,
    ],
    ['tenantlens_buffer_bytes peak', `${fmt(o.bufferBytesPeak / 2 ** 20, 2)} MiB of ${mb(o.bufferMaxBytes)} MiB (${o.bufferScrapes} scrapes)`],
    ['drain check', `acknowledged ${fmt(o.acknowledgedSpans)} spans → expected ${fmt(o.expectedLines)} lines; received ${fmt(o.receivedLines)}; lost ${fmt(o.lostLines)}; write retries ${fmt(o.writeRetries)}; lines of writes the gateway gave up on ${fmt(o.unansweredLines)}`],
  ];
  return [
    `overload: tenantlens (WORKERS=1, BUFFER_MAX_BYTES=${mb(o.bufferMaxBytes)} MiB), sink slowed to ${o.sinkThrottle.delayMillis} ms per write and ${fmt(o.sinkThrottle.maxLinesPerSec ?? 0)} lines/s, ${CONNECTIONS} connections flat out for ${o.seconds} s, gzip off; drained with the sink fast again`,
    '| measure | value |',
    '|:--|:--|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    'issue 6 targets (under overload):',
    ...o.verdicts.map((v) => `  ${v.target}: ${v.met === undefined ? 'not checked' : ok(v.met)} (${v.detail})`),
  ].join('\n');
}

function chart(rows: Row[]): string {
  const variants: Array<[GatewayName, string]> = [
    ['tenantlens', '#1f77b4'],
    [OURS_X2, '#2ca02c'],
    ['naive', '#999999'],
    ['idiomatic', '#ff7f0e'],
  ];
  const modes = ENCODINGS.flatMap((encoding) => [false, true].map((gzip) => ({ encoding, gzip })));
  const groups = modes.map((m) => `${m.encoding}, gzip ${m.gzip ? 'on' : 'off'}`);
  const values = (f: (r: Row) => number): Array<{ name: string; values: number[]; color: string }> =>
    variants.map(([name, color]) => ({ name, color, values: modes.map((m) => {
      const r = findRow(rows, name, m.encoding, m.gzip);
      return r === undefined ? Number.NaN : f(r);
    }) }));
  return stackCharts([
    barChart({ title: `spans/s acknowledged at max (${CONNECTIONS} connections, ${SPANS_PER_REQUEST} spans/request, loopback sink)`, groups, yLabel: 'spans/s', series: values((r) => spansPerSec(r.max)) }),
    barChart({ title: 'gateway CPU µs per delivered span at half of its max (all threads, /proc)', groups, yLabel: 'µs/span', series: values((r) => r.cpu.microsPerSpan) }),
    barChart({ title: 'p99 latency at half of max (ms)', groups, yLabel: 'ms', series: values((r) => r.half.p99Millis), threshold: { value: 50, label: 'target 50 ms' } }),
    barChart({ title: 'peak RSS during the max run (MB; a cluster: primary + workers)', groups, yLabel: 'MB', series: values((r) => r.peakRssBytes / 2 ** 20), threshold: { value: 300, label: 'target 300 MB' } }),
  ]);
}

interface InfluxRow {
  path: string;
  pointsPerSec: number;
  spansPerSec?: number;
  non2xx?: number;
  /** CPU microseconds per point influxd took, for influxd and for the gateway (its whole process tree). */
  influxdCpuMicros?: number;
  gatewayCpuMicros?: number;
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
 * The same load against a real influxd (Debian's 1.6.7, harness/influxd.ts), against the
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
    // influxd's CPU time per point it took, so the note can say what the database itself costs.
    const influxdCpu = (): number => (influx.pid === undefined ? 0 : (cpuSeconds(influx.pid) ?? 0));
    for (const writers of [1, 4]) {
      progress(`influxd: direct, ${writers} writer(s), 5000-line batches, ${SECONDS}s`);
      const c0 = influxdCpu();
      const r = await direct(spec(writers, SECONDS));
      const cpu = influxdCpu() - c0;
      if (r.failed > 0) progress(`  ! direct ${writers}: ${r.failed} failed batches (${r.firstError ?? ''})`);
      rows.push({ path: `direct, ${writers} writer${writers === 1 ? '' : 's'}`, pointsPerSec: r.linesOk / r.seconds, influxdCpuMicros: r.linesOk > 0 ? (cpu * 1e6) / r.linesOk : undefined, note: `${r.failed} failed batches` });
    }
    for (const name of ['tenantlens', 'naive'] as const) {
      progress(`influxd: ${name}: starting the gateway`);
      const gw = await startGateway(name, { url: influx.url, db: 'bench' }, 'influxd');
      try {
        const ls = (seconds: number): LoadSpec => ({ url: gw.url, bodiesFile, contentType: CONTENT_TYPES.protobuf, gzip: false, seconds, connections: CONNECTIONS, tenant: TENANT });
        progress(`influxd: ${name}: warm-up ${WARMUP_SECONDS}s`);
        checkLoad(`influxd ${name} warm-up`, await load(ls(WARMUP_SECONDS)));
        progress(`influxd: ${name}: max throughput ${SECONDS}s`);
        let p0 = 0;
        let t0 = 0;
        let dbCpu0 = 0;
        let gwCpu0 = 0;
        const r = await load(ls(SECONDS), () => {
          t0 = performance.now();
          dbCpu0 = influxdCpu();
          gwCpu0 = treeCpuSeconds(gw.pid);
          void influxPointsWritten(influx.url).then((n) => (p0 = n));
        });
        const p1 = await influxPointsWritten(influx.url);
        const secs = (performance.now() - t0) / 1000;
        const points = p1 - p0;
        const dbCpu = influxdCpu() - dbCpu0;
        const gwCpu = treeCpuSeconds(gw.pid) - gwCpu0;
        checkLoad(`influxd ${name} max`, r);
        rows.push({
          path: `${name} gateway (32 conns, gzip off)`,
          pointsPerSec: points / secs,
          spansPerSec: spansPerSec(r),
          non2xx: r.non2xx,
          influxdCpuMicros: points > 0 ? (dbCpu * 1e6) / points : undefined,
          gatewayCpuMicros: points > 0 ? (gwCpu * 1e6) / points : undefined,
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
    '| path into influxd | points/s influxd took | spans/s acked | non-2xx | ÷ best direct | influxd CPU µs/point | gateway CPU µs/point | note |',
    '|:--|--:|--:|--:|--:|--:|--:|:--|',
    ...rows.map(
      (r) =>
        `| ${r.path} | ${fmt(r.pointsPerSec)} | ${r.spansPerSec === undefined ? '' : fmt(r.spansPerSec)} | ${r.non2xx === undefined ? '' : fmt(r.non2xx)} | ${best > 0 ? `${fmt((100 * r.pointsPerSec) / best)}%` : 'n/a'} | ${r.influxdCpuMicros === undefined ? '' : fmt(r.influxdCpuMicros, 1)} | ${r.gatewayCpuMicros === undefined ? '' : fmt(r.gatewayCpuMicros, 1)} | ${r.note} |`,
    ),
    'target: our gateway keeps influxd at ≥ 90% of the best direct points/s',
    'CPU µs/point: CPU time (user + system, /proc) over the points influxd took in the same window; the load generator is not counted. With 2 cores, influxd and a gateway together cannot pass 2,000,000 ÷ (influxd µs/point + gateway µs/point) points/s.',
  ];
  return out.join('\n');
}

async function printProfiles(): Promise<void> {
  if (CPU_PROF_DIR === undefined) return;
  const runs = (await readdir(CPU_PROF_DIR)).filter((d) => d.startsWith('tenantlens-') || d.startsWith('idiomatic-')).sort();
  for (const run of runs) {
    // The main thread is thread 0: CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile
    const main = (await readdir(join(CPU_PROF_DIR, run))).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (main === undefined) {
      console.log(`\nCPU profile, ${run}: no main-thread profile written (did it exit cleanly?)`);
      continue;
    }
    const window = HALF_RATE_WINDOWS.get(run);
    const { total, busy, rows, areas } = topSelfTime(join(CPU_PROF_DIR, run, main), 10, ROOT, window);
    console.log(
      `\nCPU profile of ${run.startsWith('idiomatic-') ? 'the idiomatic baseline' : 'our gateway'}, ${run} (${join(run, main)}): main thread ${window === undefined ? 'over the whole process life' : 'over the half-rate run and its drain'}, ${fmt(total / 1000, 1)} s sampled, ` +
        `${fmt(busy / 1000, 1)} s busy; top 10 self time, (idle) excluded`,
    );
    console.log('| self ms | % of busy | % of all | function | where |');
    console.log('|--:|--:|--:|:--|:--|');
    for (const r of rows) console.log(`| ${fmt(r.millis)} | ${fmt(r.busyShare * 100, 1)}% | ${fmt(r.share * 100, 1)}% | ${r.fn} | ${r.where} |`);
    console.log(`self time by area (folder of gateway/src, npm package, Node module group, native frame): ${areas.slice(0, 12).map((a) => `${a.fn} ${fmt(a.busyShare * 100, 1)}%`).join(', ')}`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = machineInfo();
  // Two cores: anything else running (a test suite, a compiler) skews every figure. Say so.
  const loadBefore = machine.loadAverage[0];
  if (loadBefore > 0.5) progress(`! load average is ${fmt(loadBefore, 2)} before the run: other processes compete for the CPUs; figures will be noisy`);
  progress(`building ${FIXTURE_REQUESTS} fixture requests × ${SPANS_PER_REQUEST} spans (official serializer)`);
  const fixture = buildFixtures(FIXTURE_REQUESTS, SPANS_PER_REQUEST);
  const lineProtocol = fixture.protobuf.map((body) => naivePipeline(body, 'protobuf', TENANT));
  const lines = lineProtocol.reduce((n, text) => n + text.split('\n').length, 0);
  const linesPerSpan = lines / (FIXTURE_REQUESTS * SPANS_PER_REQUEST);
  const avgBytes = Math.round(fixture.protobuf.reduce((n, b) => n + b.length, 0) / fixture.protobuf.length);

  const avgJsonBytes = Math.round(fixture.json.reduce((n, b) => n + b.length, 0) / fixture.json.length);

  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-bench-'));
  const bodiesFiles: Record<OtlpEncoding, string> = { protobuf: join(dir, 'bodies.bin'), json: join(dir, 'bodies-json.bin') };
  const bodiesFile = bodiesFiles.protobuf;
  for (const encoding of ['protobuf', 'json'] as const) await writeFile(bodiesFiles[encoding], encodeBodies(fixture[encoding]));
  const sink = await startSink();
  const rows: Row[] = [];
  let overload: OverloadResult | undefined;
  let influxdTable: string | undefined;
  try {
    for (const encoding of SINK_RUNS ? ENCODINGS : []) {
      for (const gzip of [false, true]) {
        for (const name of GATEWAYS) rows.push(await runOne(name, encoding, gzip, sink, bodiesFiles[encoding], linesPerSpan));
      }
    }
    if (OVERLOAD_RUN) overload = await overloadPhase(sink, bodiesFile, fixture.protobuf[0] as Uint8Array, linesPerSpan);
    if (WITH_INFLUXD && !OVERLOAD_ONLY) influxdTable = await influxdPhase(bodiesFile, lineProtocol.join('\n'));
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }

  const loadAfter = loadavg()[0] ?? 0;
  console.log(
    `\ntenantlens end-to-end bench${SINK_RUNS ? '' : OVERLOAD_ONLY ? ' (overload phase only)' : ' (real influxd only)'}: OTLP/HTTP ${ENCODINGS.join(' and ')}, ${SPANS_PER_REQUEST} spans/request (~10 attributes; ${fmt(avgBytes)} B protobuf, ${fmt(avgJsonBytes)} B JSON, gzip off), ` +
      `${CONNECTIONS} connections (autocannon, separate process), loopback line-protocol sink; ${SECONDS}s per run after ${WARMUP_SECONDS}s warm-up`,
  );
  console.log(`${machineLine(machine)}; ${fmt(loadAfter, 2)} after\n`);
  if (SINK_RUNS) console.log(table(rows, linesPerSpan));
  if (SINK_RUNS) console.log(`\ngateway CPU per delivered span at half of max (issue 17 §4), same runs:\n${cpuTable(rows)}`);
  if (overload !== undefined) console.log(`\n${overloadTable(overload)}`);
  console.log(influxdTable === undefined ? '\n(real influxd: skipped; BENCH_INFLUXD=1 to run it)' : `\nagainst a real influxd (Debian 1.6.7), ${SECONDS}s per run:\n${influxdTable}`);
  await printProfiles();

  await mkdir(RESULTS, { recursive: true });
  const json = {
    when: new Date(started).toISOString(),
    machine,
    loadAverageAfter: loadAfter,
    settings: { seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, spansPerRequest: SPANS_PER_REQUEST, encodings: ENCODINGS, avgBodyBytes: avgBytes, avgJsonBodyBytes: avgJsonBytes, expectedLinesPerSpan: linesPerSpan },
    rows: rows.map((r) => ({
      gateway: r.gateway,
      encoding: r.encoding,
      workers: r.workers,
      processesSummed: r.processes,
      gzip: r.gzip,
      spansPerSec: spansPerSec(r.max),
      sinkLinesPerSec: r.sinkLinesPerSec,
      p50Millis: r.max.p50Millis,
      p99Millis: r.max.p99Millis,
      peakRssBytes: r.peakRssBytes,
      hwmBytes: r.hwmBytes,
      halfRateReqPerSec: r.halfRate,
      halfP99Millis: r.half.p99Millis,
      linesPerSpan: r.drainedLinesPerSpan,
      drained: r.drained,
      lostLines: r.lost,
      maxCpuMicrosPerSpan: r.maxCpuMicrosPerSpan,
      halfRateCpu: r.cpu,
      max: r.max,
      half: r.half,
    })),
    ratios: ENCODINGS.flatMap((encoding) =>
      [false, true].flatMap((gzip) => {
        const find = (g: GatewayName): Row | undefined => findRow(rows, g, encoding, gzip);
        const pairs: Array<[string, Row | undefined, Row | undefined]> = [
          ['tenantlens / naive', find('tenantlens'), find('naive')],
          ['tenantlens x2 workers / naive', find(OURS_X2), find('naive')],
          ['tenantlens x2 workers / tenantlens', find(OURS_X2), find('tenantlens')],
          ['tenantlens / idiomatic', find('tenantlens'), find('idiomatic')],
          ['tenantlens x2 workers / idiomatic', find(OURS_X2), find('idiomatic')],
        ];
        return pairs.flatMap(([what, a, b]) =>
          a === undefined || b === undefined
            ? []
            : [
                {
                  what,
                  encoding,
                  gzip,
                  spansPerSec: ratio(spansPerSec(a.max), spansPerSec(b.max)),
                  p99Millis: ratio(a.max.p99Millis, b.max.p99Millis),
                  halfP99Millis: ratio(a.half.p99Millis, b.half.p99Millis),
                  peakRss: ratio(a.peakRssBytes, b.peakRssBytes),
                  halfRateCpuPerSpan: ratio(a.cpu.microsPerSpan, b.cpu.microsPerSpan),
                },
              ],
        );
      }),
    ),
    overload: overload ?? null,
    influxd: influxdTable ?? null,
  };
  // The overload phase alone must not overwrite a full run's results.
  const jsonFile = join(RESULTS, OVERLOAD_ONLY ? 'e2e-overload.json' : 'e2e.json');
  await writeFile(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  if (rows.length > 0) await writeFile(join(RESULTS, 'e2e.svg'), chart(rows));
  progress(`results: ${jsonFile}${rows.length > 0 ? `, ${join(RESULTS, 'e2e.svg')}` : ''}`);
  progress(`done in ${fmt((Date.now() - started) / 1000)} s`);
}

await main();
