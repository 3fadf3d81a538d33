import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_LOCAL_ROLLUPS, planRollups } from '../src/query/rollup-plan.ts';
import { COVERAGE_LAG_MILLIS, MINUTE_NS } from '../src/rollup/recorder.ts';

const M = 29_000_000;
const at = (minute: number, seconds = 0): bigint => BigInt(minute) * MINUTE_NS + BigInt(seconds) * 1_000_000_000n;

test('whole minutes inside the range come from rollups; the partial edges from raw points', () => {
  const range = { fromNs: at(M, 17), toNs: at(M + 5, 41) };
  const p = planRollups(range, range.toNs - range.fromNs, (M + 60) * 60_000, NO_LOCAL_ROLLUPS, M - 100);
  assert.deepEqual([...p.covered], [M + 1, M + 2, M + 3, M + 4]);
  assert.deepEqual(p.coveredRanges, [{ fromNs: at(M + 1), toNs: at(M + 5) }]);
  assert.deepEqual(p.raw, [
    { fromNs: at(M, 17), toNs: at(M + 1) },
    { fromNs: at(M + 5), toNs: at(M + 5, 41) },
  ]);
});

test('not from rollups: minutes ending within the lag, minutes this process still holds, the first rollup minute, minutes across a bucket edge', () => {
  const range = { fromNs: at(M), toNs: at(M + 6) };
  const whole = range.toNs - range.fromNs;
  // The clock: minute M+4 ended exactly COVERAGE_LAG_MILLIS ago, M+5 less.
  const now = (M + 5) * 60_000 + COVERAGE_LAG_MILLIS;
  const p = planRollups(range, whole, now, { lagMillis: COVERAGE_LAG_MILLIS, pending: (m) => m === M + 2 }, M);
  assert.deepEqual([...p.covered], [M + 1, M + 3, M + 4]);
  assert.deepEqual(p.raw, [
    { fromNs: at(M), toNs: at(M + 1) },
    { fromNs: at(M + 2), toNs: at(M + 3) },
    { fromNs: at(M + 5), toNs: at(M + 6) },
  ]);
  // 90-second buckets from a whole minute: every other minute straddles a bucket edge.
  const q = planRollups(range, 90n * 1_000_000_000n, (M + 60) * 60_000, NO_LOCAL_ROLLUPS, M - 1);
  assert.deepEqual([...q.covered], [M, M + 2, M + 3, M + 5]);
  assert.equal(q.coveredShare, 4 / 6);
  // Time before the first rollup minute is raw in any plan: the share counts from after it.
  const r = planRollups(range, whole, (M + 60) * 60_000, NO_LOCAL_ROLLUPS, M + 1);
  assert.deepEqual([...r.covered], [M + 2, M + 3, M + 4, M + 5]);
  assert.equal(r.coveredShare, 1);
});
