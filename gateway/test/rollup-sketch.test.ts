import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogSketch, SKETCH_RELATIVE_ERROR } from '../src/rollup/sketch.ts';
import { nearestRankOf } from '../src/rollup/rank.ts';

/** Deterministic log-normal-ish durations (ms, whole): a skewed tail up to ~60 s. */
function skewed(n: number, seed: number): number[] {
  let x = seed >>> 0;
  const rnd = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return (x + 0.5) / 2 ** 32;
  };
  return Array.from({ length: n }, () => Math.round(Math.exp(3 + 1.6 * Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd()))));
}

function exact(values: readonly number[], p: number): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  const r = nearestRankOf(sorted.length, p);
  return r === undefined ? null : (sorted[r - 1] as number);
}

const within = (est: number | null, want: number | null, what: string): void => {
  assert.ok(est !== null && want !== null, what);
  assert.ok(Math.abs(est - want) <= SKETCH_RELATIVE_ERROR * want + 1e-9, `${what}: ${est} vs exact ${want} (±${SKETCH_RELATIVE_ERROR * 100}%)`);
};

test('every nearest-rank percentile is within the stated relative error of the exact one, on a skewed distribution', () => {
  const values = skewed(50_000, 7);
  const s = new LogSketch();
  for (const v of values) s.add(v);
  assert.equal(s.count, values.length);
  for (const p of [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]) within(s.percentile(p), exact(values, p), `p${p}`);
});

test('small whole milliseconds and zeros read back exactly (a bucket holding one integer returns it)', () => {
  const s = new LogSketch();
  for (const v of [0, 0, 1, 2, 3, 7, 20, 45]) s.add(v);
  assert.deepEqual([12.5, 25, 37.5, 50, 62.5, 75, 87.5, 100].map((p) => s.percentile(p)), [0, 0, 1, 2, 3, 7, 20, 45]);
  assert.equal(new LogSketch().percentile(99), null);
});

test('merging sketches equals one sketch of all the values (merge is exact; order does not matter)', () => {
  const parts = [skewed(3000, 1), skewed(5000, 2), skewed(10, 3), []];
  const whole = new LogSketch();
  for (const v of parts.flat()) whole.add(v);
  const merged = new LogSketch();
  for (const part of [...parts].reverse()) {
    const s = new LogSketch();
    for (const v of part) s.add(v);
    merged.merge(s);
  }
  assert.equal(merged.encode(), whole.encode());
  for (const p of [50, 95, 99]) assert.equal(merged.percentile(p), whole.percentile(p));
  for (const p of [50, 95, 99]) within(merged.percentile(p), exact(parts.flat(), p), `merged p${p}`);
});

test('serialize round-trip: decode(encode(s)) is the same sketch, base64 a line-protocol string field takes as is', () => {
  const s = new LogSketch();
  for (const v of [...skewed(20_000, 9), 0, 0, 0.25, 1e7]) s.add(v);
  const text = s.encode();
  assert.match(text, /^[A-Za-z0-9+/]+=*$/);
  const back = LogSketch.decode(text);
  assert.equal(back.count, s.count);
  assert.equal(back.zeros, s.zeros);
  assert.ok(s.zeros >= 3);
  assert.equal(back.encode(), text);
  for (const p of [0.1, 50, 99, 100]) assert.equal(back.percentile(p), s.percentile(p));
  // Compact: about two bytes per non-empty bucket (a minute of one endpoint is a few hundred bytes).
  assert.ok(text.length < 2000, `${text.length} characters`);
  assert.throws(() => LogSketch.decode(Buffer.from([9, 1]).toString('base64')), /unknown format/);
  assert.throws(() => LogSketch.decode(Buffer.from([1, 0x80]).toString('base64')), /truncated/);
});
