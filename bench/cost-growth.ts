/**
 * Cost growth (issue 6): how spans/s and µs per span move with the shape of the traffic, in
 * process (an OTLP protobuf request to line protocol, as the gateway runs it: the fused encoder),
 * ours against the naive `Point` baseline in the
 * same run. One dimension varies at a time from the default shape (100 spans per request,
 * 20 attributes, 1k sessions):
 *   - spans per request: 10, 100, 1000
 *   - attributes per span: 5, 20, 50
 *   - distinct session_id values: 10, 1k, 100k
 * Prints a table; writes bench/results/cost-growth.svg (and .json).
 * Run: `npm run bench:cost` (part of `npm run bench`); BENCH_SECONDS per case, default 2.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import { encodePoints, TimestampSlots } from '../gateway/src/influx/point-identity.ts';
import { createProtoTraceLineEncoder } from '../gateway/src/ingest/proto-trace-lines.ts';
import { DEFAULT_ATTRIBUTE_LIMITS } from '../gateway/src/otlp/limits.ts';
import { decodeTraceRequest } from '../gateway/src/otlp/decode.ts';
import { buildShapedFixtures, type Shape } from '../harness/fixtures.ts';
import { naivePipeline } from '../harness/naive-pipeline.ts';
import { machineLine } from './support/machine.ts';
import { lineChart, stackCharts } from './support/svg-chart.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const DEFAULT: Omit<Shape, 'requests'> = { spansPerRequest: 100, attributes: 20, sessions: 1000 };
/** Spans per fixture pass: enough for 100k distinct sessions, small enough to build quickly. */
const SPANS_PER_PASS = 20_000;

const progress = (msg: string): void => void process.stderr.write(`[bench:cost ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Case {
  readonly dimension: 'spans per request' | 'attributes per span' | 'distinct session_ids';
  readonly value: number;
  readonly shape: Shape;
}

function cases(): Case[] {
  const out: Case[] = [];
  const shape = (over: Partial<Shape>): Shape => {
    const s = { ...DEFAULT, ...over };
    // 100k sessions need 100k spans; the others cycle a 20k-span corpus.
    const spans = Math.max(SPANS_PER_PASS, s.sessions);
    return { ...s, requests: Math.max(1, Math.round(spans / s.spansPerRequest)) };
  };
  for (const v of [10, 100, 1000]) out.push({ dimension: 'spans per request', value: v, shape: shape({ spansPerRequest: v }) });
  for (const v of [5, 20, 50]) out.push({ dimension: 'attributes per span', value: v, shape: shape({ attributes: v }) });
  for (const v of [10, 1000, 100_000]) out.push({ dimension: 'distinct session_ids', value: v, shape: shape({ sessions: v }) });
  return out;
}

interface Result {
  readonly c: Case;
  readonly ours: number;
  readonly naive: number;
}

function measure(c: Case): Result {
  const fixture = buildShapedFixtures(c.shape).protobuf;
  const spans = c.shape.requests * c.shape.spansPerRequest;
  const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry());
  const ctx = { tenantId: 'acme', instanceName: 'bench' };
  // One slot index for the whole case, as in a long-running gateway; every pass is new traffic to it
  // only in the first round, which is what the alternating rounds average over.
  const slots = new TimestampSlots();
  const fused = createProtoTraceLineEncoder({ rules: DEFAULT_RULES, fieldTypes: new FieldTypeRegistry(), slots, instanceName: ctx.instanceName, limits: DEFAULT_ATTRIBUTE_LIMITS });
  if (fused === undefined) throw new Error('the default mapping must take the fused encoder');
  const bodies = fixture.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const runs = {
    // What the gateway runs: the fused encoder, or the reference path for a request it hands back.
    ours: (): number => {
      let n = 0;
      for (const b of bodies) n += fused.encode(b, ctx.tenantId)?.body.length ?? encodePoints(mapper.map(decodeTraceRequest(b, 'protobuf'), ctx).points, slots).join('\n').length;
      return n;
    },
    naive: (): number => {
      let n = 0;
      for (const b of fixture) n += naivePipeline(b, 'protobuf', 'acme').length;
      return n;
    },
  };
  runs.ours();
  runs.naive();
  const rounds = { ours: [] as number[], naive: [] as number[] };
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end || rounds.ours.length < 3) {
    for (const k of ['ours', 'naive'] as const) {
      const t0 = process.hrtime.bigint();
      runs[k]();
      rounds[k].push(spans / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
  }
  return { c, ours: median(rounds.ours), naive: median(rounds.naive) };
}

const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const label = (v: number): string => (v >= 1000 ? `${v / 1000}k` : String(v));

async function main(): Promise<void> {
  const machine = machineLine();
  const results: Result[] = [];
  for (const c of cases()) {
    progress(`${c.dimension} = ${label(c.value)}: ${c.shape.requests} requests × ${c.shape.spansPerRequest} spans`);
    results.push(measure(c));
  }
  console.log(`\ncost growth, in process (OTLP protobuf request → line protocol: the fused encoder the gateway runs), ${SECONDS}s per case, node ${process.version}; default shape: 100 spans/request, 20 attributes, 1k sessions`);
  console.log(`${machine}\n`);
  console.log('| varies | value | ours spans/s | ours µs/span | naive spans/s | naive µs/span | ours ÷ naive |');
  console.log('|:--|--:|--:|--:|--:|--:|--:|');
  for (const r of results) {
    console.log(`| ${r.c.dimension} | ${label(r.c.value)} | ${fmt(r.ours)} | ${fmt(1e6 / r.ours, 1)} | ${fmt(r.naive)} | ${fmt(1e6 / r.naive, 1)} | ${fmt(r.ours / r.naive, 2)}× |`);
  }
  mkdirSync(RESULTS, { recursive: true });
  const charts = (['spans per request', 'attributes per span', 'distinct session_ids'] as const).map((dim) => {
    const rs = results.filter((r) => r.c.dimension === dim);
    return lineChart({
      title: `µs per span vs ${dim} (in process, protobuf)`,
      xLabel: `${dim} (log scale)`,
      leftLabel: 'µs per span',
      logX: true,
      series: [
        { name: 'tenantlens', points: rs.map((r) => [r.c.value, 1e6 / r.ours] as const), color: '#1f77b4' },
        { name: 'naive Point baseline', points: rs.map((r) => [r.c.value, 1e6 / r.naive] as const), color: '#999999' },
      ],
    });
  });
  writeFileSync(join(RESULTS, 'cost-growth.svg'), stackCharts(charts));
  writeFileSync(join(RESULTS, 'cost-growth.json'), JSON.stringify(results.map((r) => ({ dimension: r.c.dimension, value: r.c.value, oursSpansPerSec: r.ours, naiveSpansPerSec: r.naive })), null, 2));
  progress(`chart: ${join(RESULTS, 'cost-growth.svg')}`);
}

await main();
