import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricSummary } from '../src/api/types.ts';
import { barSegments, fmtVital, p75Rating, ratingShares, shortMessage } from '../src/views/vitals-format.ts';

/** The tenant page's "Web vitals" and "Errors" wording: units, the p75's rating, the stacked bar. */

// Digits and decimals in the viewer's locale (the test machine's): expect what Intl says for it.
const int = (n: number): string => new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }).format(n);
const one = (n: number): string => new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(n);
const score = (n: number): string => new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 3 }).format(n);

const summary = (good: number, ni: number, poor: number): Pick<MetricSummary, 'ratings'> => {
  const n = good + ni + poor;
  const r = (c: number) => ({ count: c, share: n === 0 ? 0 : c / n });
  return { ratings: { good: r(good), 'needs-improvement': r(ni), poor: r(poor) } };
};

test('a vital with its unit: ms for the time metrics, CLS unitless with two to three decimals', () => {
  assert.equal(fmtVital('LCP', 2600), `${int(2600)} ms`);
  assert.equal(fmtVital('INP', 312.4), '312 ms');
  assert.equal(fmtVital('TTFB', 4.25), `${one(4.3)} ms`);
  assert.equal(fmtVital('CLS', 0.3), score(0.3));
  assert.equal(fmtVital('CLS', 0.05), score(0.05));
  assert.equal(fmtVital('CLS', 0.12345), score(0.123));
  assert.equal(fmtVital('CLS', 0), score(0));
  assert.doesNotMatch(fmtVital('CLS', 0.3), /ms/);
  for (const m of ['LCP', 'CLS']) {
    assert.equal(fmtVital(m, null), '—');
    assert.equal(fmtVital(m, Number.NaN), '—');
  }
});

test("a p75's rating follows web-vitals' thresholds, limits included in the better rating", () => {
  const table: Array<[string, number, string | undefined]> = [
    ['LCP', 2500, 'good'],
    ['LCP', 2501, 'needs-improvement'],
    ['LCP', 4000, 'needs-improvement'],
    ['LCP', 4001, 'poor'],
    ['INP', 200, 'good'],
    ['INP', 501, 'poor'],
    ['CLS', 0.1, 'good'],
    ['CLS', 0.25, 'needs-improvement'],
    ['CLS', 0.3, 'poor'],
    ['FCP', 1800, 'good'],
    ['TTFB', 1801, 'poor'],
    ['FID', 10, undefined],
  ];
  for (const [metric, v, want] of table) assert.equal(p75Rating(metric, v), want, `${metric} ${v}`);
  assert.equal(p75Rating('LCP', null), undefined);
});

test('rating shares: text with every rating, a bar whose segments end flush at 100 %', () => {
  const s = summary(1, 1, 1);
  assert.equal(ratingShares(s), `good ${one(33.3)} % · needs improvement ${one(33.3)} % · poor ${one(33.3)} %`);
  const bar = barSegments(s);
  assert.deepEqual(bar.map((b) => b.rating), ['good', 'needs-improvement', 'poor']);
  assert.ok(Math.abs(bar.reduce((t, b) => t + b.percent, 0) - 100) < 1e-9);
  // Empty ratings draw no segment (a zero-width span would still show a border or a gap).
  assert.deepEqual(barSegments(summary(3, 0, 1)), [
    { rating: 'good', percent: 75 },
    { rating: 'poor', percent: 25 },
  ]);
  assert.deepEqual(barSegments(summary(0, 0, 0)), []);
  assert.equal(ratingShares(summary(0, 0, 0)), `good ${one(0)} % · needs improvement ${one(0)} % · poor ${one(0)} %`);
});

test('error messages: one line, cut with an ellipsis, never blank', () => {
  assert.equal(shortMessage('x is\n  undefined '), 'x is undefined');
  assert.equal(shortMessage('   '), '(no message)');
  const long = shortMessage('a'.repeat(500), 20);
  assert.equal(long.length, 20);
  assert.ok(long.endsWith('…'));
  assert.equal(shortMessage('a'.repeat(20), 20), 'a'.repeat(20));
});
