/**
 * The long reliability runs (issue 7), too slow for `npm test`:
 *
 *   1. soak    — the real gateway (spool on) in front of a real influxd: find the max throughput
 *                (OTLP/HTTP protobuf, 100 spans/request, 32 connections, autocannon in its own
 *                process), then hold HALF of it for SOAK_MINUTES (default 10) in 30 s windows.
 *                Per window: p50/p99 latency, RSS (VmRSS every second), non-2xx. Passes when RSS
 *                stays within ±15% of its post-warm-up mean, p99 stays within 3× the median
 *                window's, and every acknowledged span was written. Writes a chart.
 *   2. outage  — test/outage.test.ts with influxd stopped for 30 s (OUTAGE_SECONDS).
 *   3. fuzz    — `npm run fuzz:long` (1M mutated bodies), when that script exists.
 *
 * Run: `npm run soak` (all), `npm run soak -- --only soak --minutes 2`.
 * Output: figures on stdout, progress on stderr, bench/results/soak.{svg,json}.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { buildFixtures } from '../harness/fixtures.ts';
import { encodeBodies } from './support/bodies.ts';
import type { LoadResult, LoadSpec } from './support/load.ts';
import { GATEWAY_SOURCES, startServer, type ServerChild } from '../harness/gateway.ts';
import { spawnNode } from '../harness/process.ts';
import { scrapeMetric } from '../harness/prometheus.ts';
import { readStatusBytes } from './support/proc-stats.ts';
import { lineChart } from './support/svg-chart.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = join(ROOT, 'bench/results');
const SPANS_PER_REQUEST = 100;
const CONNECTIONS = 32;
const WINDOW_SECONDS = 30;
const WARMUP_WINDOWS = 2;
const RSS_TOLERANCE = 0.15;
const P99_TOLERANCE = 3;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '10' },
    'outage-seconds': { type: 'string', default: '30' },
  },
});
const MINUTES = Number(args.minutes);
if (!(MINUTES > 0)) throw new Error(`--minutes must be a positive number, got ${args.minutes}`);
const PHASES = args.only === undefined ? ['soak', 'outage', 'fuzz'] : args.only.split(',');
for (const p of PHASES) if (!['soak', 'outage', 'fuzz'].includes(p)) throw new Error(`--only: unknown phase "${p}" (soak, outage, fuzz)`);

const progress = (msg: string): void => void process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
};

async function load(spec: LoadSpec): Promise<LoadResult> {
  const proc = spawnNode(['--import', 'tsx', join(ROOT, 'bench/support/load.ts'), JSON.stringify(spec)], process.env, { echoStderr: true });
  try {
    return await proc.waitForLine((l) => (l.includes('"event":"result"') ? (JSON.parse(l) as LoadResult) : undefined), (spec.seconds + 60) * 1000);
  } finally {
    await proc.stop();
  }
}


interface Window {
  readonly minute: number;
  readonly spansPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly bad: number;
  readonly rssMiB: number;
  readonly rssMaxMiB: number;
}

async function soakPhase(): Promise<boolean> {
  const influx: Influxd = await startInfluxd({ database: 'soak' });
  const dir = mkdtempSync(join(tmpdir(), 'tenantlens-soak-'));
  let gw: ServerChild | undefined;
  try {
    const fixture = buildFixtures(50, SPANS_PER_REQUEST);
    const bodiesFile = join(dir, 'bodies.bin');
    writeFileSync(bodiesFile, encodeBodies(fixture.protobuf));
    gw = await startServer(['--import', 'tsx', GATEWAY_SOURCES], {
      ...process.env,
      INFLUX_URL: influx.url,
      INFLUX_API_VERSION: '1',
      INFLUX_BUCKET: 'soak',
      TENANT_AUTH: 'header',
      HOST: '127.0.0.1',
      PORT: '0',
      // OTLP/HTTP only; and never the real 4317.
      GRPC: 'off',
      LOG_LEVEL: 'info',
      SPOOL_DIR: join(dir, 'spool'),
    });
    const spec = (seconds: number, overallRate?: number): LoadSpec => ({ url: (gw as ServerChild).url, bodiesFile, contentType: 'application/x-protobuf', gzip: false, seconds, connections: CONNECTIONS, tenant: 'acme', ...(overallRate === undefined ? {} : { overallRate }) });

    progress('warm-up 5 s, then 15 s at max throughput');
    const warm = await load(spec(5));
    const max = await load(spec(15));
    const maxSpans = (max.ok * SPANS_PER_REQUEST) / max.durationSeconds;
    const rate = Math.max(1, Math.round(max.ok / max.durationSeconds / 2));
    progress(`max ${fmt(maxSpans)} spans/s (p99 ${max.p99Millis} ms); soaking at ${rate} req/s = ${fmt(rate * SPANS_PER_REQUEST)} spans/s for ${MINUTES} min`);
    await sleep(3000);

    const windows: Window[] = [];
    const rssSamples: Array<[number, number]> = [];
    const t0 = Date.now();
    const pid = gw.pid;
    const sampler = setInterval(() => {
      const rss = readStatusBytes(pid, 'VmRSS');
      if (rss !== undefined) rssSamples.push([(Date.now() - t0) / 60_000, rss / 2 ** 20]);
    }, 1000);
    // Everything acknowledged since the gateway started, warm-up and max run included.
    let acked = warm.ok + max.ok;
    try {
      const n = Math.max(1, Math.round((MINUTES * 60) / WINDOW_SECONDS));
      for (let i = 0; i < n; i++) {
        const from = rssSamples.length;
        const r = await load(spec(WINDOW_SECONDS, rate));
        acked += r.ok;
        const rss = rssSamples.slice(from).map((s) => s[1]);
        const w: Window = {
          minute: (Date.now() - t0) / 60_000,
          spansPerSec: (r.ok * SPANS_PER_REQUEST) / r.durationSeconds,
          p50: r.p50Millis,
          p99: r.p99Millis,
          bad: r.non2xx + r.errors + r.timeouts,
          rssMiB: rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length),
          rssMaxMiB: Math.max(0, ...rss),
        };
        windows.push(w);
        progress(`window ${i + 1}/${n}: ${fmt(w.spansPerSec)} spans/s, p50 ${w.p50} ms, p99 ${w.p99} ms, RSS ${fmt(w.rssMiB)} MiB (max ${fmt(w.rssMaxMiB)}), ${w.bad} bad`);
      }
    } finally {
      clearInterval(sampler);
    }
    // Every acknowledged span must reach InfluxDB (the fixtures map one line per span).
    const deadline = Date.now() + 60_000;
    while ((await scrapeMetric(gw.url, 'tenantlens_buffer_lines')) > 0 && Date.now() < deadline) await sleep(200);
    const written = await scrapeMetric(gw.url, 'tenantlens_points_written_total');
    const spoolBytes = await scrapeMetric(gw.url, 'tenantlens_spool_bytes');

    const steady = windows.slice(Math.min(WARMUP_WINDOWS, windows.length - 1));
    const rssMean = steady.reduce((a, w) => a + w.rssMiB, 0) / steady.length;
    const rssLo = Math.min(...steady.map((w) => w.rssMiB));
    const rssHi = Math.max(...steady.map((w) => w.rssMiB));
    const p99s = steady.map((w) => w.p99);
    const p99Median = median(p99s);
    const rssFlat = rssLo >= rssMean * (1 - RSS_TOLERANCE) && rssHi <= rssMean * (1 + RSS_TOLERANCE);
    const p99Stable = Math.max(...p99s) <= Math.max(1, p99Median) * P99_TOLERANCE;
    const lost = acked * SPANS_PER_REQUEST - written;

    console.log(`\n## Soak: ${MINUTES} min at half of max throughput (real influxd 1.6.7, spool on)`);
    console.log(`node ${process.version}, ${cpus().length} CPUs, load average ${fmt(loadavg()[0] ?? 0, 2)} at the end; max ${fmt(maxSpans)} spans/s → soak at ${fmt(rate * SPANS_PER_REQUEST)} spans/s\n`);
    console.log('| minute | spans/s | p50 ms | p99 ms | RSS MiB (mean) | RSS MiB (max) | non-2xx/errors |');
    console.log('|---|---|---|---|---|---|---|');
    for (const w of windows) console.log(`| ${fmt(w.minute, 1)} | ${fmt(w.spansPerSec)} | ${w.p50} | ${w.p99} | ${fmt(w.rssMiB)} | ${fmt(w.rssMaxMiB)} | ${w.bad} |`);
    console.log(
      `\nRSS after warm-up: mean ${fmt(rssMean)} MiB, range ${fmt(rssLo)}–${fmt(rssHi)} MiB (${fmt(((rssLo / rssMean) - 1) * 100, 1)}% / +${fmt(((rssHi / rssMean) - 1) * 100, 1)}%): ${rssFlat ? 'flat (within ±15%)' : 'NOT flat'}`,
    );
    console.log(`p99 after warm-up: median ${p99Median} ms, max ${Math.max(...p99s)} ms: ${p99Stable ? 'stable' : 'NOT stable'} (limit ${P99_TOLERANCE}× the median)`);
    // Requests in flight when a load window stops may be written without being counted as acknowledged.
    console.log(`delivery (whole run): ${fmt(acked * SPANS_PER_REQUEST)} spans acknowledged, ${fmt(written)} points written, ${fmt(Math.max(0, lost))} lost; ${fmt(spoolBytes)} bytes left in the spool's active segment`);

    mkdirSync(RESULTS, { recursive: true });
    const svg = lineChart({
      title: `Soak: ${MINUTES} min at ${fmt(rate * SPANS_PER_REQUEST)} spans/s (half of max), real influxd, spool on`,
      xLabel: 'minutes',
      leftLabel: 'RSS (MiB)',
      rightLabel: 'p99 latency per 30 s window (ms)',
      series: [
        { name: 'RSS (VmRSS, every second)', points: rssSamples, color: '#1f77b4' },
        { name: 'p99 latency', points: windows.map((w) => [w.minute, w.p99] as const), axis: 'right', color: '#d62728' },
      ],
      bands: [{ from: 0, to: windows[WARMUP_WINDOWS - 1]?.minute ?? 0, label: 'warm-up' }],
    });
    writeFileSync(join(RESULTS, 'soak.svg'), svg);
    writeFileSync(join(RESULTS, 'soak.json'), JSON.stringify({ maxSpans, rate, windows, rssMean, rssLo, rssHi, p99Median, acked, written }, null, 2));
    progress(`chart: ${join(RESULTS, 'soak.svg')}`);
    return rssFlat && p99Stable && lost <= 0;
  } finally {
    await gw?.stop();
    await influx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: ROOT, env, stdio: 'inherit' });
    child.on('exit', (code) => resolve(code === 0));
  });
}

async function main(): Promise<void> {
  const results: Array<[string, boolean]> = [];
  if (PHASES.includes('soak')) results.push(['soak', await soakPhase()]);
  if (PHASES.includes('outage')) {
    progress(`outage: influxd stopped for ${args['outage-seconds']} s under steady export (memory buffer, then spool)`);
    results.push(['outage', await run(process.execPath, ['--import', 'tsx', '--test', 'test/outage.test.ts'], { ...process.env, OUTAGE_SECONDS: args['outage-seconds'] })]);
  }
  if (PHASES.includes('fuzz')) {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    if (scripts['fuzz:long'] === undefined) {
      progress('fuzz: no `fuzz:long` script in package.json; skipped');
      results.push(['fuzz', false]);
    } else {
      progress('fuzz: npm run fuzz:long (1M mutated bodies)');
      results.push(['fuzz', await run('npm', ['run', 'fuzz:long'], process.env)]);
    }
  }
  console.log(`\n${results.map(([p, ok]) => `${p}: ${ok ? 'PASS' : 'FAIL'}`).join(', ')}`);
  process.exit(results.every(([, ok]) => ok) ? 0 : 1);
}

await main();
