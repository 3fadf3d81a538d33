import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, ConfigError } from '../src/config.ts';
import { GatewayError } from '../src/errors.ts';
import { ident, literal } from '../src/query/influxql.ts';
import { comparisonRows, nearestRank, summarizeTraces } from '../src/query/model.ts';
import { parseLimit, parseRange, parseTime } from '../src/query/range.ts';

test('InfluxQL literals and identifiers escape what would end them', () => {
  const table: Array<[string, string, string]> = [
    ['acme', `'acme'`, `"acme"`],
    [`o'brien`, `'o\\'brien'`, `"o'brien"`],
    [`a\\b`, `'a\\\\b'`, `"a\\\\b"`],
    [`say "hi"`, `'say "hi"'`, `"say \\"hi\\""`],
    [`x\\' OR 1=1`, `'x\\\\\\' OR 1=1'`, `"x\\\\' OR 1=1"`],
    ['line\nbreak', `'line\\nbreak'`, `"line\\nbreak"`],
  ];
  for (const [raw, lit, id] of table) {
    assert.equal(literal(raw), lit, raw);
    assert.equal(ident(raw), id, raw);
    // Unescaped, a quote of the literal's own kind never appears inside it.
    assert.ok(!/(^|[^\\])'/.test(literal(raw).slice(1, -1).replace(/\\\\/g, '')), `literal ${raw} closes early`);
  }
});

test('nearestRank follows InfluxQL PERCENTILE: floor(n·p/100 + 0.5), none outside 1..n', () => {
  assert.equal(nearestRank(10, 50), 5);
  assert.equal(nearestRank(10, 95), 10);
  assert.equal(nearestRank(10, 99), 10);
  assert.equal(nearestRank(18, 50), 9);
  assert.equal(nearestRank(18, 95), 17);
  assert.equal(nearestRank(1, 50), 1);
  assert.equal(nearestRank(10, 1), undefined, 'rank 0');
  assert.equal(nearestRank(0, 50), undefined);
});

test('parseTime: now, relative offsets, ISO dates; anything else is a 400 naming the parameter', () => {
  const now = Date.parse('2026-11-26T12:00:00Z');
  assert.equal(parseTime('now', 'from', now), now);
  assert.equal(parseTime('-15m', 'from', now), now - 15 * 60_000);
  assert.equal(parseTime('-2h', 'from', now), now - 7_200_000);
  assert.equal(parseTime('-7d', 'from', now), now - 7 * 86_400_000);
  assert.equal(parseTime('2026-11-26T11:00:00Z', 'from', now), now - 3_600_000);
  for (const bad of ['1', 'yesterday', '-1y', '15m', '', '2026-13-45']) {
    assert.throws(() => parseTime(bad, 'to', now), (e: unknown) => e instanceof GatewayError && e.status === 400 && e.message.startsWith('to:'), bad);
  }
});

test('parseRange: defaults to the last hour, in nanoseconds; from must precede to; parseLimit bounds', () => {
  const now = 1_800_000_000_000;
  const r = parseRange({}, now);
  assert.equal(r.toNs, BigInt(now) * 1_000_000n);
  assert.equal(r.toNs - r.fromNs, 3_600_000n * 1_000_000n);
  assert.throws(() => parseRange({ from: '-1h', to: '-2h' }, now), /from must be before to/);
  assert.throws(() => parseRange({ from: ['-1h', '-2h'] }, now), /give it once/);
  assert.equal(parseLimit({}), 50);
  assert.equal(parseLimit({ limit: '7' }), 7);
  for (const bad of ['0', '1001', '-1', '1.5', 'ten']) assert.throws(() => parseLimit({ limit: bad }), /limit/, bad);
});

test('summarizeTraces: root name, span count, start and end-to-end duration; orphan traces named by their earliest span', () => {
  const t = summarizeTraces([
    { traceId: 't1', parentSpanId: 'p', name: 'db', startMicros: 1_000_300, durationNs: 2_000_000 },
    { traceId: 't1', parentSpanId: '', name: 'click', startMicros: 1_000_000, durationNs: 1_000_000 },
    { traceId: 't2', parentSpanId: 'x', name: 'late', startMicros: 5_000_100, durationNs: 10 },
    { traceId: 't2', parentSpanId: 'y', name: 'early', startMicros: 5_000_000, durationNs: 10 },
  ]);
  assert.deepEqual(t, [
    { traceId: 't1', rootName: 'click', spanCount: 2, startMicros: 1_000_000, durationMs: 2.3 },
    { traceId: 't2', rootName: 'early', spanCount: 2, startMicros: 5_000_000, durationMs: 0.1 },
  ]);
});

test('comparisonRows: pairs tenants per key, biggest |p99 gap| first, missing side has no diff', () => {
  const s = (p99: number) => ({ count: 1, p50: p99, p95: p99, p99 });
  const rows = comparisonRows(
    [
      { tenant: 'a', key: { endpoint: '/x' }, stats: s(10) },
      { tenant: 'b', key: { endpoint: '/x' }, stats: s(15) },
      { tenant: 'a', key: { endpoint: '/y' }, stats: s(10) },
      { tenant: 'b', key: { endpoint: '/y' }, stats: s(510) },
      { tenant: 'b', key: { endpoint: '/z' }, stats: s(1) },
    ],
    'a',
    'b',
  );
  assert.deepEqual(rows.map((r) => [r.key.endpoint, r.p99DiffMs]), [['/y', 500], ['/x', 5], ['/z', null]]);
  assert.equal(rows[2]?.a.count, 0);
});

test('config: no INFLUX_URL means the embedded store in DATA_DIR; ADMIN_TOKEN must be long', () => {
  const c = loadConfig({ TENANT_AUTH: 'header' });
  assert.equal(c.influx, undefined);
  assert.equal(c.dataDir, './data');
  assert.equal(loadConfig({ TENANT_AUTH: 'header', DATA_DIR: '/var/lib/tl' }).dataDir, '/var/lib/tl');
  assert.throws(() => loadConfig({ TENANT_AUTH: 'header', INFLUX_BUCKET: 'b' }), (e: unknown) => e instanceof ConfigError && e.variable === 'INFLUX_URL' && /INFLUX_BUCKET/.test(e.message));
  assert.throws(() => loadConfig({ TENANT_AUTH: 'header', ADMIN_TOKEN: 'short' }), (e: unknown) => e instanceof ConfigError && e.variable === 'ADMIN_TOKEN');
  assert.equal(loadConfig({ TENANT_AUTH: 'header', ADMIN_TOKEN: 'x'.repeat(24) }).adminToken, 'x'.repeat(24));
});
