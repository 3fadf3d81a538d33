/**
 * `/v1/telemetry` beacons that carry the client's `id` and `timestamp` are idempotent: the same
 * beacon sent twice (a retry after a lost answer) is one stored point, in InfluxDB (same series
 * and timestamp: an overwrite) and in the embedded store (same tenant, id and time: skipped). Without
 * them the gateway draws an id and reads its own clock, and every delivery is a point: the
 * README's Guarantees say so.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd, waitForRows, type Influxd } from '../harness/influxd.ts';

const headers = { 'content-type': 'application/json', 'x-tenant-id': 'acme' };
const beacon = (session: string, extra: Record<string, unknown> = {}) => ({ sessionId: session, viewName: 'Checkout', actionName: 'pay', metrics: { duration_ms: 250, fps: 59.5 }, ...extra });

async function send(gw: Gateway, body: unknown): Promise<Response> {
  return fetch(`${gw.url}/v1/telemetry`, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** Sends each body twice, as a client retrying after a lost answer would. */
async function sendTwice(gw: Gateway, ...bodies: unknown[]): Promise<void> {
  for (let i = 0; i < 2; i++) for (const b of bodies) assert.equal((await send(gw, b)).status, 200);
}

describe('beacons into InfluxDB', () => {
  let influx: Influxd;
  let gw: Gateway;
  before(async () => {
    influx = await startInfluxd({ database: 'beacons' });
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'beacons', TENANT_AUTH: 'header' });
  });
  after(async () => {
    await gw?.stop();
    await influx?.stop();
  });

  test('a replayed beacon with id and timestamp is one point at the client\'s time; two ids in one millisecond are two', async () => {
    const at = Date.now() - 5_000.25; // a fraction: microseconds are kept
    await sendTwice(gw, beacon('s-id', { id: 'b-1', timestamp: at }), [beacon('s-id', { id: 'b-2', timestamp: at })]);
    // The last one is a marker: once it is stored, everything sent before it has been written.
    assert.equal((await send(gw, beacon('s-id-done', { id: 'marker', timestamp: at }))).status, 200);
    await waitForRows(influx, `SELECT * FROM frontend_performance WHERE session_id = 's-id-done'`, 1);
    const rows = await waitForRows(influx, `SELECT * FROM frontend_performance WHERE session_id = 's-id'`, 2);
    assert.equal(rows.length, 2, 'two beacons, each sent twice, are two points');
    // Each lands in the client's microsecond, spread within it by its id (as spans are by theirs),
    // so that the same beacon lands on the same nanosecond on any replica.
    const micros = BigInt(Math.round(at * 1000));
    for (const r of rows) assert.equal(BigInt(String(r.time)) / 1000n, micros, `stored at ${String(r.time)}, not in microsecond ${micros}`);
    assert.notEqual(rows[0]?.time, rows[1]?.time);
  });

  test('without an id every delivery is a point (the gateway cannot tell a retry from a new beacon)', async () => {
    await sendTwice(gw, beacon('s-anon'), beacon('s-anon-ts', { timestamp: Date.now() - 1_000 }));
    assert.equal((await waitForRows(influx, `SELECT * FROM frontend_performance WHERE session_id = 's-anon'`, 2)).length, 2);
    assert.equal((await waitForRows(influx, `SELECT * FROM frontend_performance WHERE session_id = 's-anon-ts'`, 2)).length, 2);
  });

  test('an id without a timestamp, or a malformed one, is a 400 naming the field', async () => {
    const cases: ReadonlyArray<readonly [Record<string, unknown>, RegExp]> = [
      [{ id: 'b-3' }, /id: needs a timestamp/],
      [{ id: '', timestamp: 1 }, /id: expected 1–64 printable ASCII/],
      [{ id: 'has space', timestamp: 1 }, /id: expected/],
      [{ id: 7, timestamp: 1 }, /id: expected/],
      [{ id: 'b-4', timestamp: '1700000000000' }, /timestamp: expected epoch milliseconds/],
      [{ timestamp: -1 }, /timestamp: expected/],
      [{ timestamp: 1e20 }, /timestamp: expected/],
    ];
    for (const [extra, message] of cases) {
      const res = await send(gw, beacon('s-bad', extra));
      assert.equal(res.status, 400, JSON.stringify(extra));
      assert.match(await res.text(), message, JSON.stringify(extra));
    }
  });
});

describe('beacons into the embedded store', () => {
  let dataDir: string;
  let gw: Gateway | undefined;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tenantlens-beacons-'));
    gw = await startGateway({ TENANT_AUTH: 'header', DATA_DIR: dataDir });
  });
  after(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a replayed beacon with id and timestamp is one row; without an id, two', async () => {
    const g = gw as Gateway;
    await sendTwice(g, beacon('e-id', { id: 'b-1', timestamp: Date.now() - 2_000 }), beacon('e-anon'));
    // SIGTERM drains the buffer before exit; then the file is ours to read.
    await g.stop();
    gw = undefined;
    const db = await DuckDBInstance.create(join(dataDir, 'tenantlens.duckdb'));
    const conn = await db.connect();
    try {
      const rows = (await conn.runAndReadAll(`SELECT session_id, count(*) AS n FROM frontend_performance GROUP BY session_id ORDER BY session_id`)).getRowObjects();
      assert.deepEqual(rows.map((r) => [r.session_id, Number(r.n)]), [['e-anon', 2], ['e-id', 1]]);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});
