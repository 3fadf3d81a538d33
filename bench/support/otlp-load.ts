/**
 * A closed-loop OTLP load generator for bench/grpc.ts, run in its own process: `connections`
 * requests in flight at all times, each on its own connection, over OTLP/HTTP/protobuf (node:http,
 * keep-alive) or OTLP/gRPC (@grpc/grpc-js, one channel per connection). One generator for both
 * transports, so the figures differ by the gateway's side only (autocannon speaks HTTP/1.1 only).
 *
 * argv[2]: JSON { transport, target, bodiesFile, connections, seconds, warmupSeconds, tenant }.
 * stdout: one JSON line { event: 'result', ok, failed, seconds, p50Millis, p99Millis }.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { decodeBodies } from './bodies.ts';

export interface OtlpLoadSpec {
  readonly transport: 'http' | 'grpc';
  /** http://127.0.0.1:PORT for HTTP; 127.0.0.1:PORT for gRPC. */
  readonly target: string;
  readonly bodiesFile: string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly tenant: string;
}

export interface OtlpLoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly seconds: number;
  readonly p50Millis: number;
  readonly p99Millis: number;
}

type Send = (body: Buffer) => Promise<boolean>;

function httpSender(spec: OtlpLoadSpec): Send {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const url = new URL('/v1/traces', spec.target);
  return (body) =>
    new Promise((resolve) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length, 'x-tenant-id': spec.tenant } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
      req.end(body);
    });
}

function grpcSender(spec: OtlpLoadSpec): Send {
  const identity = (b: Buffer): Buffer => b;
  // A distinct option per client keeps grpc-js from sharing one subchannel (one connection) among them.
  const clients = Array.from({ length: spec.connections }, (_, i) => new Client(spec.target, credentials.createInsecure(), { 'grpc.tenantlens_bench_channel': i }));
  const metadata = new Metadata();
  metadata.set('x-tenant-id', spec.tenant);
  let next = 0;
  return (body) =>
    new Promise((resolve) => {
      const client = clients[next++ % clients.length] as Client;
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', identity, identity, body, metadata, (err) => resolve(err === null));
    });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export async function runLoad(spec: OtlpLoadSpec): Promise<OtlpLoadResult> {
  const bodies = decodeBodies(readFileSync(spec.bodiesFile));
  const send = spec.transport === 'http' ? httpSender(spec) : grpcSender(spec);
  const warmupEnd = Date.now() + spec.warmupSeconds * 1000;
  let measuring = false;
  let start = 0;
  let end = 0;
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let i = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const now = Date.now();
      if (!measuring && now >= warmupEnd) {
        measuring = true;
        start = now;
        end = now + spec.seconds * 1000;
      }
      if (measuring && now >= end) return;
      const t0 = performance.now();
      const good = await send(bodies[i++ % bodies.length] as Buffer);
      if (!measuring || Date.now() > end) continue;
      latencies.push(performance.now() - t0);
      if (good) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, worker));
  latencies.sort((a, b) => a - b);
  return { ok, failed, seconds: (Date.now() - start) / 1000, p50Millis: percentile(latencies, 50), p99Millis: percentile(latencies, 99) };
}

if (process.argv[2] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const result = await runLoad(JSON.parse(process.argv[2]) as OtlpLoadSpec);
  process.stdout.write(`${JSON.stringify({ event: 'result', ...result })}\n`);
  process.exit(0);
}
