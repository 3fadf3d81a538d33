import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { DEFAULT_RULES } from '../src/mapping/rules.ts';
import { createEmbeddedDrillDown } from '../src/query/embedded.ts';
import { byStartDesc, summarizeTraces, type DrillDown, type TimeRange, type TraceSummary } from '../src/query/model.ts';
import { newestTraces, type TraceRow } from '../src/query/newest-traces.ts';
import { tableSpecs } from '../src/schema/derived.ts';
import { createTables } from '../src/store/embedded-write.ts';

/**
 * The embedded store's newest traces (query/embedded-newest.ts: summarised in SQL, later reads
 * over a time window) against the reads they replaced (newestTraces over every row read into
 * JavaScript, as the InfluxDB store still does), on a real DuckDB; and, where every trace is
 * shorter than a minute, against every trace of the range summarised by hand.
 */

const T0 = 1_800_000_000_000_000_000n; // ns
const S = 1_000_000_000n;
const specs = tableSpecs(DEFAULT_RULES);
let instance: DuckDBInstance;
let conn: DuckDBConnection;
let drill: DrillDown;

const rowsOf = async (sql: string, params: DuckDBValue[]): Promise<Array<Record<string, DuckDBValue>>> => (await conn.runAndReadAll(sql, params)).getRowObjects();
const toRow = (r: Record<string, DuckDBValue>): TraceRow => ({
  traceId: String(r.trace_id),
  parentSpanId: String(r.parent_span_id ?? ''),
  name: String(r.name ?? ''),
  startMicros: Number(r.start_us),
  durationNs: Number(r.duration_ns ?? 0),
});
const COLS = 'trace_id, parent_span_id, name, time_ns // 1000 AS start_us, duration_ns';
const WHERE = 'time_ns >= $1 AND time_ns < $2 AND tenant_id = $3';

/** The previous embedded read: the newest n rows, all into JavaScript. */
function reference(tenant: string, range: TimeRange, limit: number): Promise<TraceSummary[]> {
  return newestTraces(limit, async (n) => (await rowsOf(`SELECT ${COLS} FROM spans WHERE ${WHERE} ORDER BY time_ns DESC LIMIT ${n}`, [range.fromNs, range.toNs, tenant])).map(toRow));
}

/** Every trace of the range, summarised, newest first. */
async function everyTrace(tenant: string, range: TimeRange, limit: number): Promise<TraceSummary[]> {
  return summarizeTraces((await rowsOf(`SELECT ${COLS} FROM spans WHERE ${WHERE}`, [range.fromNs, range.toNs, tenant])).map(toRow)).sort(byStartDesc).slice(0, limit);
}

/**
 * Traces of 3 spans (root, child, grandchild; the children start 1 µs and 2 µs later and end
 * before the root) for `tenant`, the k-th starting at `start + k·step` ns for k in [0, count),
 * with ids `prefix` + k. `step` 0 gives every trace the same start.
 */
async function traces(tenant: string, prefix: string, start: bigint, step: bigint, count: number, durationNs = 40_000_000n): Promise<void> {
  await conn.run(
    `INSERT INTO spans (time_ns, span_id, tenant_id, trace_id, parent_span_id, name, duration_ns)
     SELECT $1 + k * $2 + s.o * 1000, printf('%08x%08x', k, s.i), $3, $4 || printf('%010d', k), s.parent, s.name, $5 - s.o * 1000
     FROM range($6) t(k), (VALUES (0, 1, '', 'root'), (1, 2, 'p', 'child'), (2, 3, 'c', 'db')) s(o, i, parent, name)`,
    [start, step, tenant, prefix, durationNs, count],
  );
}

async function check(tenant: string, range: TimeRange, limit: number, opts: { short: boolean }): Promise<TraceSummary[]> {
  const got = await drill.traces(tenant, range, limit, undefined);
  assert.deepEqual(got, await reference(tenant, range, limit), `limit ${limit}: the same answer as the previous read`);
  if (opts.short) assert.deepEqual(got, await everyTrace(tenant, range, limit), `limit ${limit}: the newest traces of the whole range`);
  return got;
}

before(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await createTables(conn, [specs.spans]);
  drill = createEmbeddedDrillDown(conn, specs);
  // acme, steady: a trace every 20 ms for 10 minutes (90,000 spans), so the first reads hold
  // under a minute and the later ones are windows estimated from them.
  await traces('acme', 'a', T0, 20_000_000n, 30_000);
  // Another tenant interleaved, which every read must leave out.
  await traces('other', 'o', T0 + 7n, 10_000_000n, 60_000);
  // globex: sparse (a trace every 2 s for 30 minutes), then a burst of 500 traces in its last
  // second, so each window estimated from the burst holds too few rows and is widened, down to `from`.
  await traces('globex', 'g', T0, 2n * S, 900);
  await traces('globex', 'h', T0 + 1800n * S, 2_000_000n, 500);
  // umbrella: sparse, then 20 traces of 51 spans in its last second: the first read holds 20
  // traces, and a window that held too few rows but were taken as all would answer with ~20.
  await traces('umbrella', 'u', T0, 2n * S, 900);
  await conn.run(
    `INSERT INTO spans (time_ns, span_id, tenant_id, trace_id, parent_span_id, name, duration_ns)
     SELECT $1 + k * 1000000, printf('%016x', k), 'umbrella', 'burst' || (k % 20), CASE WHEN k < 20 THEN '' ELSE 'p' END, 'op' || k, 5000000 FROM range(1020) t(k)`,
    [T0 + 1800n * S],
  );
  // initech: 60 traces sharing one start (ties by trace id across the limit), spans of equal
  // time in different traces, and a long trace straddling every window (spans 5 minutes apart).
  await traces('initech', 'i', T0, 1_000_000_000n, 2000);
  await traces('initech', 'tie', T0 + 2000n * S, 0n, 60);
  await conn.run(
    `INSERT INTO spans (time_ns, span_id, tenant_id, trace_id, parent_span_id, name, duration_ns) VALUES
     ($1, 'long0001', 'initech', 'long', '', 'slow job', 400000000000), ($2, 'long0002', 'initech', 'long', 'long0001', 'step', 1000)`,
    [T0 + 1700n * S, T0 + 2000n * S],
  );
});

after(() => {
  conn.closeSync();
  instance.closeSync();
});

describe('embedded newest traces: the same answer as the rows read into JavaScript', () => {
  const all: TimeRange = { fromNs: T0 - 3600n * S, toNs: T0 + 7200n * S };

  test('steady data: several reads, the later ones over a window; limits 1, 50, 200', async () => {
    for (const limit of [1, 50, 200]) {
      const got = await check('acme', all, limit, { short: true });
      assert.equal(got.length, limit);
      assert.equal(got[0]?.traceId, 'a0000029999');
      assert.equal(got[0]?.spanCount, 3);
      assert.equal(got[0]?.rootName, 'root');
    }
  });

  test('a burst after sparse data: windows widened until they hold the rows, or reach from', async () => {
    for (const limit of [50, 600, 1400, 2000]) {
      const got = await check('globex', all, limit, { short: true });
      assert.equal(got.length, Math.min(limit, 1400));
    }
    const few = await check('umbrella', all, 50, { short: true });
    assert.equal(few.length, 50);
    assert.deepEqual(few.slice(0, 20).map((t) => t.spanCount), Array(20).fill(51));
  });

  test('equal starts across the limit (ties by trace id), equal times in different traces, a trace straddling the windows', async () => {
    for (const limit of [1, 50, 60, 61, 100]) await check('initech', all, limit, { short: false });
    const got = await drill.traces('initech', all, 61, undefined);
    assert.deepEqual(got.slice(0, 60).map((t) => t.traceId), Array.from({ length: 60 }, (_, k) => `tie${String(k).padStart(10, '0')}`));
    assert.equal(got[60]?.traceId, 'i0000001999');
    // The long trace (its root 5 minutes before its last span) is not sure until the read reaches
    // its root; here the read holds the whole range, so it is summarised whole, root first.
    const whole = await check('initech', all, 400, { short: false });
    const long = whole.find((t) => t.traceId === 'long');
    assert.equal(long?.spanCount, 2);
    assert.equal(long?.rootName, 'slow job');
    assert.equal(BigInt(long?.startMicros ?? 0) * 1000n, T0 + 1700n * S);
  });

  test('a range that cuts through the data, one before it, and one with fewer rows than a read', async () => {
    const middle: TimeRange = { fromNs: T0 + 200n * S, toNs: T0 + 400n * S + 5n };
    const got = await check('acme', middle, 50, { short: false });
    assert.ok(got.every((t) => BigInt(t.startMicros) * 1000n < middle.toNs));
    assert.deepEqual(await check('acme', { fromNs: T0 + 599n * S, toNs: T0 + 600n * S }, 50, { short: true }), await everyTrace('acme', { fromNs: T0 + 599n * S, toNs: T0 + 600n * S }, 50));
    assert.deepEqual(await check('acme', { fromNs: T0 - 10n * S, toNs: T0 }, 50, { short: true }), []);
    assert.deepEqual(await check('nobody', all, 50, { short: true }), []);
  });
});
