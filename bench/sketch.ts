/**
 * The duration sketch, library against hand-written: @datadog/sketches-js's DDSketch (1% relative
 * accuracy) and the gateway's LogSketch (gateway/src/rollup/sketch.ts, same 1%), on the same
 * skewed durations, in the same run. Insert speed, merge speed, serialized size (what one rollup
 * point carries in its `sketch` string field: base64 of the library's protobuf, or of ours) and
 * accuracy against the exact nearest-rank percentile (the one the drill-down answered before).
 *
 * Run: `npm run bench:sketch` (BENCH_VALUES, default 1,000,000).
 */
import { DDSketch } from '@datadog/sketches-js';
import { nearestRankOf } from '../gateway/src/rollup/rank.ts';
import { LogSketch } from '../gateway/src/rollup/sketch.ts';
import { machineLine } from './support/machine.ts';

const N = Number(process.env.BENCH_VALUES ?? 1_000_000);
const PARTS = 1000;

/** Whole-ms durations, log-normal (median ~20 ms, tail to tens of seconds): a skewed latency. */
function durations(n: number): Float64Array {
  let x = 12345;
  const rnd = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return (x + 0.5) / 2 ** 32;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.max(1, Math.round(Math.exp(3 + 1.5 * Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd()))));
  return out;
}

interface Candidate {
  readonly name: string;
  make(): unknown;
  add(s: unknown, v: number): void;
  merge(into: unknown, s: unknown): void;
  encode(s: unknown): string;
  percentile(s: unknown, p: number): number;
}

const CANDIDATES: Candidate[] = [
  {
    name: '@datadog/sketches-js DDSketch',
    make: () => new DDSketch({ relativeAccuracy: 0.01 }),
    add: (s, v) => (s as DDSketch).accept(v),
    merge: (into, s) => (into as DDSketch).merge(s as DDSketch),
    encode: (s) => Buffer.from((s as DDSketch).toProto()).toString('base64'),
    percentile: (s, p) => (s as DDSketch).getValueAtQuantile(p / 100),
  },
  {
    name: 'LogSketch (hand-written)',
    make: () => new LogSketch(),
    add: (s, v) => (s as LogSketch).add(v),
    merge: (into, s) => (into as LogSketch).merge(s as LogSketch),
    encode: (s) => (s as LogSketch).encode(),
    percentile: (s, p) => (s as LogSketch).percentile(p) ?? NaN,
  },
];

function time(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

const values = durations(N);
const sorted = Float64Array.from(values).sort();
const exact = (p: number): number => sorted[(nearestRankOf(N, p) as number) - 1] as number;

console.log(machineLine());
console.log(`${N.toLocaleString()} durations (log-normal, whole ms, median ${exact(50)} ms, p99 ${exact(99)} ms); merge: ${PARTS} sketches of ${N / PARTS} values into one`);
console.log(`| sketch | insert (M values/s) | merge (sketches/s) | serialized (base64 chars, all values) | serialized (one part: ${(N / PARTS).toLocaleString()} values) | max error p50/p95/p99/p99.9 vs exact nearest rank |`);
console.log('|---|---|---|---|---|---|');
const rows: Array<{ name: string; insert: number; merge: number; size: number; minute: number }> = [];
for (const c of CANDIDATES) {
  // Warm the JIT, then measure.
  for (let r = 0; r < 2; r++) {
    const s = c.make();
    for (let i = 0; i < Math.min(N, 100_000); i++) c.add(s, values[i] as number);
  }
  const whole = c.make();
  const insertMs = time(() => {
    for (let i = 0; i < N; i++) c.add(whole, values[i] as number);
  });
  const parts = Array.from({ length: PARTS }, (_, k) => {
    const s = c.make();
    for (let i = k; i < N; i += PARTS) c.add(s, values[i] as number);
    return s;
  });
  const merged = c.make();
  const mergeMs = time(() => {
    for (const s of parts) c.merge(merged, s);
  });
  const size = c.encode(whole).length;
  const minute = c.encode(parts[0]).length;
  const err = Math.max(...[50, 95, 99, 99.9].map((p) => Math.abs(c.percentile(merged, p) - exact(p)) / exact(p)));
  rows.push({ name: c.name, insert: N / insertMs / 1000, merge: PARTS / (mergeMs / 1000), size, minute });
  console.log(`| ${c.name} | ${(N / insertMs / 1000).toFixed(1)} | ${Math.round(PARTS / (mergeMs / 1000)).toLocaleString()} | ${size.toLocaleString()} | ${minute.toLocaleString()} | ${(err * 100).toFixed(2)}% |`);
}
const [lib, ours] = rows as [(typeof rows)[0], (typeof rows)[0]];
console.log(`ratios, hand-written / library: insert ×${(ours.insert / lib.insert).toFixed(2)}, merge ×${(ours.merge / lib.merge).toFixed(2)}, serialized size ×${(ours.size / lib.size).toFixed(2)} (one part ×${(ours.minute / lib.minute).toFixed(2)})`);
