/**
 * In-process pipeline benchmark: OTLP request → line protocol, spans per second, for OTLP
 * protobuf and OTLP/JSON, against a naive baseline (`Point` objects) in the same run. "tenantlens"
 * is what the gateway runs: the fused encoders (ingest/proto-trace-lines.ts for protobuf,
 * ingest/json-trace-lines.ts for JSON); the reference path (decode → map → encode) is also shown on its own.
 * Rounds of both pipelines alternate so that a noisy neighbour slows both alike; the figure per
 * pipeline is the median round. Run: `npm run bench` (BENCH_SECONDS to change the duration,
 * BENCH_CLOCK=cpu to time rounds by CPU time).
 */
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import { encodePoints, TimestampSlots } from '../gateway/src/influx/point-identity.ts';
import { decodeTraceRequest, type OtlpEncoding } from '../gateway/src/otlp/decode.ts';
import { createJsonTraceLineEncoder } from '../gateway/src/ingest/json-trace-lines.ts';
import { createProtoTraceLineEncoder } from '../gateway/src/ingest/proto-trace-lines.ts';
import { DEFAULT_ATTRIBUTE_LIMITS } from '../gateway/src/otlp/limits.ts';
import { buildFixtures } from '../harness/fixtures.ts';
import { naivePipeline } from '../harness/naive-pipeline.ts';
import { machineLine } from './support/machine.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
/**
 * BENCH_CLOCK=cpu: time each round by the process's CPU time (user + system, every thread: the
 * collector's helpers too) instead of the wall clock. On a shared machine the wall clock also
 * counts the time the round waited for a CPU, which at a load average of 10 or more scatters the
 * ratios; CPU time counts only what the pipeline spent.
 */
const CPU_CLOCK = process.env.BENCH_CLOCK === 'cpu';
/** Seconds on the round clock. */
function clock(): number {
  if (!CPU_CLOCK) return Number(process.hrtime.bigint()) / 1e9;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
const REQUESTS = 50;
const SPANS = 100;

const fixture = buildFixtures(REQUESTS, SPANS);
const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry());
const ctx = { tenantId: 'acme', instanceName: 'bench' };

function ours(body: Uint8Array, encoding: OtlpEncoding, slots: TimestampSlots): string {
  const mapped = mapper.map(decodeTraceRequest(body, encoding), ctx);
  return encodePoints(mapped.points, slots).join('\n');
}

const steadySlots = new TimestampSlots(REQUESTS * SPANS);
const fusedSlots = new TimestampSlots(REQUESTS * SPANS);
// One registry and one slot index for both encoders, as ingest.ts wires them.
const fusedOptions = { rules: DEFAULT_RULES, fieldTypes: new FieldTypeRegistry(), slots: fusedSlots, instanceName: ctx.instanceName, limits: DEFAULT_ATTRIBUTE_LIMITS };
const protobufEncoder = createProtoTraceLineEncoder(fusedOptions);
const jsonEncoder = createJsonTraceLineEncoder(fusedOptions);
if (protobufEncoder === undefined || jsonEncoder === undefined) throw new Error('the default mapping must take the fused encoders');
const fusedEncoder = { protobuf: protobufEncoder, json: jsonEncoder };

/** What the gateway runs for one request (ingest.ts): the fused encoder unless it hands the request back. */
function gateway(body: Uint8Array, encoding: OtlpEncoding): number {
  const r = fusedEncoder[encoding].encode(Buffer.from(body.buffer, body.byteOffset, body.byteLength), ctx.tenantId);
  if (r !== undefined) return r.body.length;
  return ours(body, encoding, fusedSlots).length;
}

// The same with the trace and session index (mapping/trace-index-rows.ts), which the gateway writes to InfluxDB.
const indexMapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry(), { traceIndex: true });
const indexSlots = new TimestampSlots(REQUESTS * SPANS);
const indexOptions = { rules: DEFAULT_RULES, fieldTypes: new FieldTypeRegistry(), slots: indexSlots, instanceName: ctx.instanceName, limits: DEFAULT_ATTRIBUTE_LIMITS, traceIndex: true };
const indexed = { protobuf: createProtoTraceLineEncoder(indexOptions), json: createJsonTraceLineEncoder(indexOptions) };
function withIndex(body: Uint8Array, encoding: OtlpEncoding): number {
  const r = indexed[encoding]?.encode(Buffer.from(body.buffer, body.byteOffset, body.byteLength), ctx.tenantId);
  if (r !== undefined) return r.body.length;
  return encodePoints(indexMapper.map(decodeTraceRequest(body, encoding), ctx).points, indexSlots).join('\n').length;
}

type Runner = (bodies: Uint8Array[], encoding: OtlpEncoding) => number;

const runners: Record<string, Runner> = {
  tenantlens: (bodies, encoding) => {
    let bytes = 0;
    for (const b of bodies) bytes += gateway(b, encoding);
    return bytes;
  },
  'tenantlens + trace index (InfluxDB)': (bodies, encoding) => {
    let bytes = 0;
    for (const b of bodies) bytes += withIndex(b, encoding);
    return bytes;
  },
  'reference path (decode+map+encode)': (bodies, encoding) => {
    // One index for the whole run, like a gateway's, kept full: its capacity is below a pass's
    // lines, so every span is new to it and every insert evicts (the steady state under load).
    const slots = steadySlots;
    let bytes = 0;
    for (const b of bodies) bytes += ours(b, encoding, slots).length;
    return bytes;
  },
  'naive Point baseline': (bodies, encoding) => {
    let bytes = 0;
    for (const b of bodies) bytes += naivePipeline(b, encoding, 'acme').length;
    return bytes;
  },
  'decode only (ours)': (bodies, encoding) => {
    let n = 0;
    for (const b of bodies) n += decodeTraceRequest(b, encoding).resourceSpans.length;
    return n;
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function sanity(encoding: OtlpEncoding): void {
  const body = fixture[encoding][0] as Uint8Array;
  const a = ours(body, encoding, new TimestampSlots()).split('\n').length;
  if (fusedEncoder[encoding].encode(Buffer.from(body), 'acme') === undefined) throw new Error(`the fused ${encoding} encoder handed a benchmark request back`);
  const b = naivePipeline(fixture[encoding][0] as Uint8Array, encoding, 'acme').split('\n').length;
  if (a !== b) throw new Error(`pipelines disagree on line count for ${encoding}: ${a} vs ${b}`);
}

const spansPerPass = REQUESTS * SPANS;
const avgBytes = (bs: Uint8Array[]): number => Math.round(bs.reduce((n, b) => n + b.length, 0) / bs.length);
console.log(`tenantlens bench: ${REQUESTS} requests × ${SPANS} spans (~10 attributes each), official OTel serializers`);
console.log(`request size: protobuf ${avgBytes(fixture.protobuf)} B, JSON ${avgBytes(fixture.json)} B; ${SECONDS}s per encoding; rounds timed by ${CPU_CLOCK ? 'CPU time (BENCH_CLOCK=cpu)' : 'the wall clock'}`);
console.log(`${machineLine()}\n`);

const results: Array<{ encoding: string; pipeline: string; spansPerSec: number; ratio: string }> = [];
for (const encoding of ['protobuf', 'json'] as const) {
  sanity(encoding);
  const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
  // Warm-up: let the JIT settle on both pipelines.
  for (const run of Object.values(runners)) run(fixture[encoding], encoding);
  const end = Date.now() + SECONDS * 1000;
  let round = 0;
  while (Date.now() < end || round < 3) {
    for (const [name, run] of Object.entries(runners)) {
      const t0 = clock();
      run(fixture[encoding], encoding);
      const secs = clock() - t0;
      rounds[name]?.push(spansPerPass / secs);
    }
    round++;
    process.stderr.write(`\r${encoding}: round ${round}`);
  }
  process.stderr.write('\n');
  const base = median(rounds['naive Point baseline'] ?? []);
  for (const [name, rs] of Object.entries(rounds)) {
    const m = median(rs);
    results.push({ encoding, pipeline: name, spansPerSec: Math.round(m), ratio: `${(m / base).toFixed(2)}×` });
  }
}
console.table(results);
console.log('ratio = spans/s ÷ naive baseline spans/s, same encoding, same run (median of alternating rounds).');
