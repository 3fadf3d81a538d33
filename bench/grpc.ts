/**
 * OTLP/gRPC beside OTLP/HTTP/protobuf (issue 15): one gateway process (`gateway/src/main.ts`,
 * defaults, FUSED_ENCODER on) in front of the loopback line-protocol sink, the same 50 request
 * bodies of 100 spans (official serializer, bench/fixtures.ts), the same closed-loop generator
 * (bench/support/otlp-load.ts, its own process, 32 requests in flight on 32 connections), one run
 * per transport in the same invocation. Reported: spans/s acknowledged, p50/p99 latency, failures,
 * and the gRPC ÷ HTTP ratios.
 *
 * Run: `npm run bench:grpc` (part of `npm run bench`); BENCH_SECONDS per run (default 10),
 * BENCH_WARMUP_SECONDS (default 3).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFixtures } from '../harness/fixtures.ts';
import { encodeBodies } from './support/bodies.ts';
import { machineLine } from './support/machine.ts';
import type { OtlpLoadResult, OtlpLoadSpec } from './support/otlp-load.ts';
import { spawnNode, type ServerProcess as Child } from '../harness/process.ts';
import { cpuSeconds } from './support/proc-stats.ts';
import { startSink } from '../harness/sink.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SPANS_PER_REQUEST = 100;
const CONNECTIONS = 32;
const seconds = (name: string, dflt: number): number => {
  const n = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of seconds`);
  return n;
};
const SECONDS = seconds('BENCH_SECONDS', 10);
const WARMUP = seconds('BENCH_WARMUP_SECONDS', 3);
const progress = (msg: string): void => void process.stderr.write(`[bench:grpc ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface Ports {
  readonly http: number;
  readonly grpc: number;
}

async function startGateway(sinkUrl: string): Promise<{ proc: Child; ports: Ports }> {
  const proc = spawnNode(['--import', 'tsx', join(ROOT, 'gateway/src/main.ts')], {
    ...process.env,
    INFLUX_URL: sinkUrl,
    INFLUX_API_VERSION: '1',
    INFLUX_BUCKET: 'bench',
    TENANT_AUTH: 'header',
    HOST: '127.0.0.1',
    PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: 'info',
  });
  const ports = await proc.waitForLine((line) => {
    try {
      const l = JSON.parse(line) as { port?: unknown; grpcPort?: unknown };
      return typeof l.port === 'number' && typeof l.grpcPort === 'number' ? { http: l.port, grpc: l.grpcPort } : undefined;
    } catch {
      return undefined;
    }
  }, 60_000);
  return { proc, ports };
}

async function load(spec: OtlpLoadSpec): Promise<OtlpLoadResult> {
  const proc = spawnNode(['--import', 'tsx', join(ROOT, 'bench/support/otlp-load.ts'), JSON.stringify(spec)], process.env, { echoStderr: true });
  try {
    return await proc.waitForLine((l) => (l.includes('"event":"result"') ? (JSON.parse(l) as OtlpLoadResult) : undefined), (spec.seconds + spec.warmupSeconds + 60) * 1000);
  } finally {
    await proc.stop();
  }
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  progress(`building 50 fixture requests × ${SPANS_PER_REQUEST} spans`);
  const fixture = buildFixtures(50, SPANS_PER_REQUEST);
  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-bench-grpc-'));
  const bodiesFile = join(dir, 'bodies.bin');
  await writeFile(bodiesFile, encodeBodies(fixture.protobuf));
  const sink = await startSink();
  const results: Array<[string, OtlpLoadResult, number]> = [];
  try {
    for (const transport of ['http', 'grpc'] as const) {
      // A fresh gateway per transport: neither run inherits the other's heap or JIT state.
      const gw = await startGateway(sink.url);
      try {
        const target = transport === 'http' ? `http://127.0.0.1:${gw.ports.http}` : `127.0.0.1:${gw.ports.grpc}`;
        progress(`${transport}: ${WARMUP} s warm-up + ${SECONDS} s at ${CONNECTIONS} in flight`);
        const cpuBefore = cpuSeconds(gw.proc.pid) ?? 0;
        const r = await load({ transport, target, bodiesFile, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP, tenant: 'acme' });
        // Warm-up included on both sides of the ratio: the gateway's CPU per acknowledged span, whatever the client costs.
        const cpuMicrosPerSpan = (((cpuSeconds(gw.proc.pid) ?? 0) - cpuBefore) * 1e6) / Math.max(1, r.ok * SPANS_PER_REQUEST * ((r.seconds + WARMUP) / r.seconds));
        progress(`${transport}: ${fmt((r.ok * SPANS_PER_REQUEST) / r.seconds)} spans/s, p99 ${fmt(r.p99Millis, 1)} ms`);
        results.push([transport === 'http' ? 'OTLP/HTTP protobuf' : 'OTLP/gRPC', r, cpuMicrosPerSpan]);
      } finally {
        await gw.proc.stop();
      }
    }
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
  const rate = (r: OtlpLoadResult): number => (r.ok * SPANS_PER_REQUEST) / r.seconds;
  console.log(`\ntenantlens OTLP transports: ${SPANS_PER_REQUEST} spans/request, ${CONNECTIONS} in flight on ${CONNECTIONS} connections (closed loop, separate process), loopback sink, ${SECONDS} s per run after ${WARMUP} s warm-up`);
  console.log(machineLine());
  console.log('| transport | spans/s acked | p50 ms | p99 ms | failed | gateway CPU µs/span (≈) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, r, cpu] of results) console.log(`| ${name} | ${fmt(rate(r))} | ${fmt(r.p50Millis, 1)} | ${fmt(r.p99Millis, 1)} | ${fmt(r.failed)} | ${fmt(cpu, 1)} |`);
  const [http, grpc] = [results[0]?.[1], results[1]?.[1]];
  if (http !== undefined && grpc !== undefined) {
    console.log(`gRPC ÷ HTTP: spans/s ${fmt(rate(grpc) / rate(http), 2)}×, p99 ${fmt(grpc.p99Millis / http.p99Millis, 2)}×`);
  }
}

await main();
