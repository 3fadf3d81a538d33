import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../src/errors.ts';
import { buildSeries, checkBuckets, defaultStepMs, errorRateBuckets, parseStep, viewKey } from '../src/query/timeseries.ts';

const MS = 1_000_000n;
const range = (fromMs: number, toMs: number) => ({ fromNs: BigInt(fromMs) * MS, toNs: BigInt(toMs) * MS });

test('parseStep: 30s, 5m, 1h, 1d and bare seconds; anything else (or under 1 s) is a 400 naming step', () => {
  assert.deepEqual(['30s', '5m', '1h', '1d', '90'].map(parseStep), [30_000, 300_000, 3_600_000, 86_400_000, 90_000]);
  for (const bad of ['0', '0s', '1.5', '5x', '-1m', '', ['1s', '2s']]) {
    assert.throws(() => parseStep(bad), (e: unknown) => e instanceof GatewayError && e.status === 400 && e.message.startsWith('step:'), String(bad));
  }
});

test('defaultStepMs: the range / 60 rounded up to a whole step', () => {
  const h = 3_600_000;
  assert.deepEqual([15 * 60_000, h, 6 * h, 24 * h, 7 * 24 * h, 90 * 24 * h].map(defaultStepMs), [30_000, 60_000, 600_000, 1_800_000, 3 * h, 2 * 86_400_000]);
  assert.equal(defaultStepMs(1000), 10_000, 'never under 10 s');
});

test('checkBuckets: at most 1000 buckets; the 400 states the limit and the smallest step that fits', () => {
  assert.doesNotThrow(() => checkBuckets(range(0, 1000 * 60_000), 60_000));
  assert.throws(() => checkBuckets(range(0, 1001 * 60_000), 60_000), /step: 60s gives 1001 buckets over this range; the limit is 1000 buckets \(use a step of at least 61s\)$/);
});

test('buildSeries: buckets at from + k·step, sorted by tenant, key, time; error rates divided once; empty buckets dropped', () => {
  const r = range(1_000, 61_000);
  const rows = [
    { tenant: 'b', key: '', bucket: 2, value: 5, count: 1 },
    { tenant: 'a', key: 'y', bucket: 1, value: 7, count: 2 },
    { tenant: 'a', key: 'x', bucket: 3, value: 1, count: 4 },
    { tenant: 'a', key: 'x', bucket: 0, value: 0, count: 0 },
  ];
  assert.deepEqual(buildSeries(rows, 'p99', r, 10_000n * MS), [
    { tenant: 'a', key: 'x', points: [{ t: 31_000_000, value: 1, count: 4 }] },
    { tenant: 'a', key: 'y', points: [{ t: 11_000_000, value: 7, count: 2 }] },
    { tenant: 'b', key: '', points: [{ t: 21_000_000, value: 5, count: 1 }] },
  ]);
  assert.deepEqual(buildSeries(rows, 'error_rate', r, 10_000n * MS)[0]?.points, [{ t: 31_000_000, value: 0.25, count: 4 }]);
});

test('errorRateBuckets: spans and ERROR spans (status 2) per tenant, key and bucket', () => {
  const r = range(0, 100_000);
  const spans = [
    { tenant: 't', key: 'k', timeNs: 5_000n * MS, statusCode: 2 },
    { tenant: 't', key: 'k', timeNs: 9_999n * MS, statusCode: 0 },
    { tenant: 't', key: 'k', timeNs: 10_000n * MS, statusCode: 1 },
  ];
  assert.deepEqual(errorRateBuckets(spans, r, 10_000n * MS), [
    { tenant: 't', key: 'k', bucket: 0, value: 1, count: 2 },
    { tenant: 't', key: 'k', bucket: 1, value: 0, count: 1 },
  ]);
  assert.deepEqual([viewKey('Users', 'load'), viewKey('Users', '')], ['Users · load', 'Users']);
});
