/**
 * Start-up time and idle RSS of the gateway: compiled (`node gateway/dist/main.js`, as the image
 * runs it) against the sources under tsx (as `npm run dev` and the image before it did).
 *
 *   npm run bench:startup            (builds gateway/dist first)
 *
 * Each variant is started STARTUP_RUNS times (default 5), interleaved so that drift in the
 * machine's load hits them alike; the medians are printed. Start-up is the wall time from spawn to
 * the gateway's "listening" log line; idle RSS is VmRSS of the node process IDLE_MILLIS (2 s)
 * after that line, with nothing sent. The gateway writes to a loopback sink standing in for
 * InfluxDB, so start-up includes its field-type query, as in production.
 *
 * tsx is measured twice: with an empty compile cache (a fresh pod: the image mounted an emptyDir
 * at /tmp) and with a warm one (a developer's second `npm run dev`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../harness/gateway.ts';
import { startSink } from '../harness/sink.ts';
import { machineLine } from './support/machine.ts';
import { readStatusBytes } from './support/proc-stats.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Number(process.env.STARTUP_RUNS ?? 5);
const IDLE_MILLIS = 2_000;

type Variant = 'compiled' | 'tsx, cold cache' | 'tsx, warm cache';
const VARIANTS: readonly Variant[] = ['compiled', 'tsx, cold cache', 'tsx, warm cache'];

interface Run {
  readonly startMillis: number;
  readonly idleRssBytes: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

async function main(): Promise<void> {
  process.stdout.write(`${machineLine()}\n`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'gateway/tsconfig.build.json')], { stdio: 'inherit' });
  const sink = await startSink();
  // tsx keeps its compile cache under os.tmpdir(): one directory kept warm, a fresh one per cold run.
  const warmTmp = mkdtempSync(join(tmpdir(), 'tenantlens-startup-warm-'));
  const runs = new Map<Variant, Run[]>(VARIANTS.map((v) => [v, []]));
  try {
    // An untimed run fills the warm cache (and the OS page cache for every variant's files).
    await (await startGateway(env(sink.url, warmTmp))).stop();
    await (await startGateway(env(sink.url, warmTmp), { compiled: true })).stop();
    for (let i = 0; i < RUNS; i++) {
      for (const variant of VARIANTS) {
        const coldTmp = variant === 'tsx, cold cache' ? mkdtempSync(join(tmpdir(), 'tenantlens-startup-cold-')) : undefined;
        try {
          const t0 = performance.now();
          const gw = await startGateway(env(sink.url, coldTmp ?? warmTmp), { compiled: variant === 'compiled' });
          const startMillis = performance.now() - t0;
          await new Promise((r) => setTimeout(r, IDLE_MILLIS));
          const idleRssBytes = readStatusBytes(gw.proc.pid, 'VmRSS') ?? NaN;
          await gw.stop();
          runs.get(variant)?.push({ startMillis, idleRssBytes });
          process.stdout.write(`  run ${i + 1}/${RUNS} ${variant}: listening after ${startMillis.toFixed(0)} ms, idle RSS ${(idleRssBytes / 2 ** 20).toFixed(1)} MiB\n`);
        } finally {
          if (coldTmp !== undefined) rmSync(coldTmp, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await sink.close();
    rmSync(warmTmp, { recursive: true, force: true });
  }
  process.stdout.write(`\nMedians of ${RUNS} runs:\n\n| Gateway | Start-up to "listening" | Idle RSS |\n|---|---|---|\n`);
  for (const variant of VARIANTS) {
    const r = runs.get(variant) ?? [];
    process.stdout.write(`| ${variant} | ${median(r.map((x) => x.startMillis)).toFixed(0)} ms | ${(median(r.map((x) => x.idleRssBytes)) / 2 ** 20).toFixed(1)} MiB |\n`);
  }
}

function env(sinkUrl: string, tmp: string): Record<string, string> {
  return { INFLUX_URL: sinkUrl, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', TMPDIR: tmp };
}

await main();
