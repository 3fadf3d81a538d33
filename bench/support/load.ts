/**
 * The load generator, run as its own process by bench/e2e.ts so that it never shares an event loop
 * with the gateway or the sink: `node --import tsx bench/support/load.ts '<LoadSpec JSON>'`.
 * It reads pre-generated OTLP bodies, gzips them up front when asked, prints `{"event":"start"}`
 * just before the first request and `{"event":"result",…}` (a LoadResult) at the end.
 *
 * Two modes. Closed loop (autocannon): each connection sends its next request when the previous
 * one is answered: max throughput. Paced (`paced` with `overallRate`): requests leave at evenly
 * spaced times on up to `connections` keep-alive sockets, whatever the answers do, and latency
 * counts from the scheduled time (waiting for a free socket included, so a slow server cannot
 * hide it: no coordinated omission). autocannon's own rate limit is not that: each connection
 * sends its quota for the second back to back, then waits for the next second (autocannon
 * lib/httpClient.js, `reqsMadeThisSecond`), so "half rate" meant 32 requests at once, half of each
 * second: the latency of a saturated gateway.
 */
import { request, Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { decodeBodies } from './bodies.ts';

export interface LoadSpec {
  readonly url: string;
  /** A file written by writeBodies(): length-prefixed request bodies. */
  readonly bodiesFile: string;
  /** `application/x-protobuf` or `application/json`: what the bodies are. */
  readonly contentType: string;
  readonly gzip: boolean;
  readonly seconds: number;
  readonly connections: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  readonly overallRate?: number;
  /** With overallRate: evenly spaced requests (open loop) instead of autocannon's per-second quota. */
  readonly paced?: boolean;
  readonly tenant: string;
}

export interface LoadResult {
  readonly event: 'result';
  readonly durationSeconds: number;
  readonly ok: number;
  /** Requests written to a socket: `ok` plus failures plus the ≤ `connections` in flight when the run stopped. */
  readonly sent: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Record<string, number>;
  readonly p50Millis: number;
  readonly p99Millis: number;
  readonly maxMillis: number;
}

// autocannon ships no types; this is the part of its API we use.
interface AutocannonRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  timeout: number;
  requests: AutocannonRequest[];
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  requests: { sent: number };
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number; max: number };
}
type Autocannon = (opts: AutocannonOptions) => Promise<AutocannonResult>;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** The paced mode (see the header): one request every 1/rate s, latency from its scheduled time. */
async function paced(spec: LoadSpec, rate: number, bodies: readonly Buffer[], headers: Record<string, string>): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let inFlight = 0;
  let settled: () => void = () => undefined;
  const fire = (scheduled: number): void => {
    const body = bodies[sent % bodies.length] as Buffer;
    sent++;
    inFlight++;
    const done = (status: number | undefined): void => {
      latencies.push(performance.now() - scheduled);
      if (status === undefined) errors++;
      else {
        statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        if (status >= 200 && status < 300) ok++;
        else non2xx++;
      }
      if (--inFlight === 0) settled();
    };
    const req = request({ agent, host: url.hostname, port: url.port, method: 'POST', path: '/v1/traces', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode));
      res.on('error', () => done(undefined));
    });
    req.on('error', () => done(undefined));
    req.end(body);
  };
  const interval = 1000 / rate;
  const start = performance.now();
  const end = start + spec.seconds * 1000;
  let next = start;
  process.stdout.write(`${JSON.stringify({ event: 'start' })}\n`);
  while (next < end) {
    const now = performance.now();
    while (next <= now && next < end) {
      fire(next);
      next += interval;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next - performance.now(), 5))));
  }
  if (inFlight > 0) await new Promise<void>((r) => (settled = r));
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    event: 'result',
    durationSeconds: (performance.now() - start) / 1000,
    ok,
    sent,
    non2xx,
    errors,
    timeouts: 0,
    statusCodes,
    p50Millis: Math.round(percentile(sorted, 50) * 10) / 10,
    p99Millis: Math.round(percentile(sorted, 99) * 10) / 10,
    maxMillis: Math.round((sorted[sorted.length - 1] ?? 0) * 10) / 10,
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const bodies = decodeBodies(readFileSync(spec.bodiesFile)).map((b) => (spec.gzip ? gzipSync(b) : b));
  const headers: Record<string, string> = { 'content-type': spec.contentType, 'x-tenant-id': spec.tenant };
  if (spec.gzip) headers['content-encoding'] = 'gzip';
  if (spec.paced === true && spec.overallRate !== undefined) {
    process.stdout.write(`${JSON.stringify(await paced(spec, spec.overallRate, bodies, headers))}\n`);
    return;
  }
  const requests = bodies.map((body) => ({ method: 'POST' as const, path: '/v1/traces', headers, body }));
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  process.stdout.write(`${JSON.stringify({ event: 'start' })}\n`);
  const r = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    timeout: 30,
    requests,
    ...(spec.overallRate === undefined ? {} : { overallRate: spec.overallRate }),
  });
  const result: LoadResult = {
    event: 'result',
    durationSeconds: r.duration,
    ok: r['2xx'],
    sent: r.requests.sent,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count])),
    p50Millis: r.latency.p50,
    p99Millis: r.latency.p99,
    maxMillis: r.latency.max,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
