/**
 * The load generator, run as its own process by bench/e2e.ts so that it never shares an event loop
 * with the gateway or the sink: `node --import tsx bench/support/load.ts '<LoadSpec JSON>'`.
 * It reads pre-generated OTLP bodies, gzips them up front when asked, prints `{"event":"start"}`
 * just before the first request and `{"event":"result",…}` (a LoadResult) at the end.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { decodeBodies } from './bodies.ts';

export interface LoadSpec {
  readonly url: string;
  /** A file written by writeBodies(): length-prefixed request bodies. */
  readonly bodiesFile: string;
  readonly gzip: boolean;
  readonly seconds: number;
  readonly connections: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  readonly overallRate?: number;
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

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const bodies = decodeBodies(readFileSync(spec.bodiesFile)).map((b) => (spec.gzip ? gzipSync(b) : b));
  const headers: Record<string, string> = { 'content-type': 'application/x-protobuf', 'x-tenant-id': spec.tenant };
  if (spec.gzip) headers['content-encoding'] = 'gzip';
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
