import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CriticalPathRow, TraceSpan } from '../src/api/types.ts';
import { pageCount, pageOf, sortBy } from '../src/stores/paging.ts';
import { apiRange, chartRange, DEFAULT_RANGE, rangeFromQuery, rangeToQuery } from '../src/stores/range.ts';
import { defaultStepMs } from '../../gateway/src/query/timeseries.ts';
import { hrefFor, parseHash } from '../src/stores/router.ts';
import { treeOrder } from '../src/stores/trace.ts';
import { criticalPathPhrase } from '../src/views/CompareView.tsx';
import { fmtGap, fmtMs, fmtPct } from '../src/views/format.ts';

/** The console's pure logic: routes, the shared range, list paging, the waterfall order, wording. */

test('hash routes: every view, decoded names, anything else is "missing"', () => {
  const cases: Array<[string, unknown]> = [
    ['', { name: 'tenants' }],
    ['#/', { name: 'tenants' }],
    ['#/?range=6h', { name: 'tenants' }],
    ['#/tenant/acme', { name: 'tenant', tenant: 'acme' }],
    ['#/tenant/a%2Fb?session=s1', { name: 'tenant', tenant: 'a/b' }],
    ['#/trace/4eb74a3a0096050d63bf865b487d9c56', { name: 'trace', traceId: '4eb74a3a0096050d63bf865b487d9c56' }],
    ['#/compare?a=acme&b=globex', { name: 'compare' }],
    ['#/tenant', { name: 'missing', path: '/tenant' }],
    ['#/tenant/a/b', { name: 'missing', path: '/tenant/a/b' }],
    ['#/nope', { name: 'missing', path: '/nope' }],
  ];
  for (const [hash, route] of cases) assert.deepEqual(parseHash(hash).route, route, hash);
  assert.equal(parseHash('#/tenant/acme?session=s1&range=6h').query.get('session'), 's1');
  assert.equal(hrefFor('/compare', new URLSearchParams({ a: 'acme' })), '#/compare?a=acme');
  assert.equal(hrefFor('/', new URLSearchParams()), '#/');
});

test('the shared range: presets and custom windows round-trip through the URL; junk falls back to 1 h', () => {
  const table: Array<[string, unknown, { from: string; to: string }]> = [
    ['', DEFAULT_RANGE, { from: '-1h', to: 'now' }],
    ['range=15m', { kind: 'preset', preset: '15m' }, { from: '-15m', to: 'now' }],
    ['range=7d', { kind: 'preset', preset: '7d' }, { from: '-7d', to: 'now' }],
    ['range=3y', DEFAULT_RANGE, { from: '-1h', to: 'now' }],
    ['from=2026-12-01T10:00:00.000Z&to=2026-12-01T11:00:00.000Z', { kind: 'custom', from: '2026-12-01T10:00:00.000Z', to: '2026-12-01T11:00:00.000Z' }, { from: '2026-12-01T10:00:00.000Z', to: '2026-12-01T11:00:00.000Z' }],
    ['from=2026-12-01T10:00:00.000Z', DEFAULT_RANGE, { from: '-1h', to: 'now' }],
  ];
  for (const [qs, choice, api] of table) {
    const parsed = rangeFromQuery(new URLSearchParams(qs));
    assert.deepEqual(parsed, choice, qs);
    assert.deepEqual(apiRange(parsed), api, qs);
    const q = new URLSearchParams('session=s1&range=24h');
    rangeToQuery(parsed, q);
    assert.deepEqual(rangeFromQuery(q), parsed, `round trip of ${qs}`);
    assert.equal(q.get('session'), 's1', 'other parameters stay');
  }
  const q = new URLSearchParams();
  rangeToQuery(DEFAULT_RANGE, q);
  assert.equal(q.toString(), '', 'the default range is left out of the URL');
});

test('paging and sorting: ties by id, pages clamp when a filter shrinks the list', () => {
  const rows = [{ id: 'b', v: 2 }, { id: 'a', v: 2 }, { id: 'c', v: 9 }, { id: 'd', v: -1 }];
  assert.deepEqual(sortBy([...rows], (r) => r.v, (r) => r.id, true).map((r) => r.id), ['c', 'a', 'b', 'd']);
  assert.deepEqual(sortBy([...rows], (r) => r.v, (r) => r.id, false).map((r) => r.id), ['d', 'a', 'b', 'c']);
  const many = Array.from({ length: 120 }, (_, i) => i);
  assert.equal(pageCount(many.length, 50), 3);
  assert.equal(pageCount(0, 50), 1, 'an empty list still has one (empty) page');
  assert.deepEqual(pageOf(many, 2, 50), many.slice(100));
  assert.deepEqual(pageOf(many.slice(0, 10), 2, 50), many.slice(0, 10), 'page 3 of a 10-row list is its only page');
});

const span = (spanId: string, parentSpanId: string, startMicros: number): TraceSpan => ({
  traceId: 't', spanId, parentSpanId, name: spanId, service: 's', kind: 'internal', tenant: 'acme', startMicros, durationMs: 1, statusCode: 0, sessionId: '', attributes: {},
});

test('waterfall order: parent first, children by start, orphans as roots, a parent cycle does not loop', () => {
  const spans = [span('c2', 'p', 30), span('p', '', 0), span('c1', 'p', 10), span('g', 'c1', 12), span('orphan', 'gone', 5), span('x', 'y', 1), span('y', 'x', 2)];
  const rows = treeOrder(spans).map((r) => `${r.depth}:${r.span.spanId}`);
  assert.deepEqual(rows, ['0:p', '1:c1', '2:g', '1:c2', '0:orphan']);
});

test('units: ms with grouped digits, signed gaps, one-decimal percentages, and the critical-path sentence', () => {
  // Digits are grouped in the viewer's locale (the test machine's): expect what Intl says for it.
  const int = (n: number): string => new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }).format(n);
  const one = (n: number): string => new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(n);
  assert.equal(fmtMs(null), '—');
  assert.equal(fmtMs(3.14), `${one(3.1)} ms`);
  assert.equal(fmtMs(480.4), '480 ms');
  assert.equal(fmtMs(2605), `${int(2605)} ms`);
  assert.equal(fmtGap(480), '+480 ms');
  assert.equal(fmtGap(-14), '−14 ms');
  assert.equal(fmtPct(0.025), `${one(2.5)} %`);
  const row = (service: string, name: string, gapMs: number): CriticalPathRow => ({ service, name, a: { median: 40, p90: 50 }, b: { median: 40 + gapMs, p90: 60 }, gapMs });
  assert.equal(criticalPathPhrase(row('demo-backend', 'SELECT orders', 480), 'acme', 'globex'), "demo-backend SELECT orders: +480 ms on globex's critical path");
  assert.equal(criticalPathPhrase(row('demo-web', 'loadUsers', -12), 'acme', 'globex'), "demo-web loadUsers: +12 ms on acme's critical path");
  assert.equal(criticalPathPhrase(row('demo-backend', 'handler', 0.2), 'acme', 'globex'), 'demo-backend handler: the same on both critical paths');
});

test("a chart's range: a preset's window ending at the next whole minute, so the gateway's default step is whole minutes from a whole minute (its rollups answer)", () => {
  const now = Date.parse('2026-12-03T13:21:17.345Z');
  const r = chartRange(apiRange({ kind: 'preset', preset: '1h' }), now);
  assert.deepEqual(r, { from: '2026-12-03T12:22:00.000Z', to: '2026-12-03T13:22:00.000Z' });
  for (const preset of ['1h', '6h', '24h', '7d'] as const) {
    const c = chartRange(apiRange({ kind: 'preset', preset }), now);
    const [from, to] = [Date.parse(c.from), Date.parse(c.to)];
    assert.equal(from % 60_000, 0, `${preset}: from on a whole minute`);
    assert.equal(defaultStepMs(to - from) % 60_000, 0, `${preset}: the gateway's default step is whole minutes`);
  }
  // Already whole minutes from the picker: kept as they are.
  const custom = { from: '2026-12-01T10:00:00.000Z', to: '2026-12-01T12:30:00.000Z' };
  assert.deepEqual(chartRange(custom, now), custom);
  assert.deepEqual(chartRange(apiRange(DEFAULT_RANGE), now), r);
});
