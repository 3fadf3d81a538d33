import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { startGateway, type Gateway } from '../harness/gateway.ts';

/**
 * The rollups in a real gateway process (embedded store): a closed minute is written on its own
 * and counted in /metrics, a client's retry is not counted twice, /tenants reads the rollups once
 * the minute is covered and gives the same counts, and SIGTERM writes the minute still open.
 * Read back from the DuckDB file after the gateway has drained and exited.
 */
const ADMIN = 'operator-token-for-the-rollup-gateway-test';
const OLD_MINUTE = Math.floor(Date.now() / 60_000) - 10;
const kv = (key: string, v: string) => ({ key, value: { stringValue: v } });
const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

function body(minute: number, n: number, tag: number): string {
  const spans = Array.from({ length: n }, (_, i) => {
    const start = BigInt(minute) * 60_000_000_000n + BigInt(i) * 1_000_000_000n + 123_000n;
    const ms = BigInt(20 + i * 7);
    return [
      { traceId: hex(tag, 8) + hex(i + 1, 24), spanId: hex(tag, 8) + hex(i + 1, 8), name: 'load', kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(start + ms * 1_000_000n), attributes: [kv('view_name', 'Users'), kv('action_name', 'load')], status: i === 0 ? { code: 2 } : {} },
      { traceId: hex(tag, 8) + hex(i + 1, 24), spanId: hex(tag, 8) + hex(i + 1001, 8), name: 'GET /api/users', kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + ms * 500_000n), attributes: [kv('http.route', '/api/users')] },
    ];
  }).flat();
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', 'web')] }, scopeSpans: [{ spans }] }] });
}

let dataDir: string;
let gw: Gateway | undefined;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tenantlens-rollup-gw-'));
  gw = await startGateway({ TENANT_AUTH: 'header', ADMIN_TOKEN: ADMIN, DATA_DIR: dataDir });
});
after(async () => {
  await gw?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a closed minute is written and counted, a retry counts once, /tenants reads it, SIGTERM writes the open minute', async () => {
  const g = gw as Gateway;
  const headers = { 'content-type': 'application/json', 'x-tenant-id': 'acme' };
  const old = body(OLD_MINUTE, 30, 1);
  // The same request twice (an exporter's retry), then spans of the current minute.
  for (const b of [old, old, body(Math.floor(Date.now() / 60_000), 5, 2)]) assert.equal((await fetch(`${g.url}/v1/traces`, { method: 'POST', headers, body: b })).status, 200);
  assert.equal(await g.metric('tenantlens_rollup_events_total', { event: 'duplicate' }), 60, 'the retried request: 30 frontend and 30 backend durations skipped');
  // The old minute closes after 2 s without new durations for it: two groups (frontend Users · load, backend /api/users).
  await waitFor('the old minute written', async () => (await g.metric('tenantlens_rollup_events_total', { event: 'flushed' })) === 2);

  const range = `from=${new Date(OLD_MINUTE * 60_000 - 5_000).toISOString()}&to=${new Date(OLD_MINUTE * 60_000 + 65_000).toISOString()}`;
  const tenants = async () => ((await (await fetch(`${g.url}/api/v1/tenants?${range}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { tenants: Array<{ tenant: string; frontend: { count: number; p99: number; errorRate: number }; backend: { count: number } }> }).tenants;
  const fromRaw = await tenants();
  // Once settled (5 s after the write) the minute comes from the rollup: the same counts and error rate, p99 within 1%.
  await new Promise((r) => setTimeout(r, 6_000));
  const fromRollups = await tenants();
  assert.equal(fromRollups.length, 1);
  const [r, raw] = [fromRollups[0], fromRaw[0]];
  assert.deepEqual([r?.frontend.count, r?.backend.count, r?.frontend.errorRate], [30, 30, 1 / 30]);
  assert.deepEqual([raw?.frontend.count, raw?.backend.count, raw?.frontend.errorRate], [30, 30, 1 / 30]);
  assert.ok(Math.abs((r?.frontend.p99 ?? 0) - (raw?.frontend.p99 ?? 0)) <= 0.01 * (raw?.frontend.p99 ?? 0), `${r?.frontend.p99} vs ${raw?.frontend.p99}`);

  await g.stop();
  gw = undefined;
  const db = await DuckDBInstance.create(join(dataDir, 'tenantlens.duckdb'));
  const conn = await db.connect();
  try {
    const rows = (await conn.runAndReadAll(`SELECT side, time_ns // 60000000000 AS minute, sum(count) AS n, sum(span_count) AS spans, sum(error_count) AS errors FROM latency_rollup GROUP BY ALL ORDER BY minute, side`)).getRowObjects();
    const current = Number(rows[rows.length - 1]?.minute);
    assert.deepEqual(
      rows.map((x) => [x.side, Number(x.minute), Number(x.n), Number(x.spans), Number(x.errors)]),
      [
        ['backend', OLD_MINUTE, 30, 30, 0],
        ['frontend', OLD_MINUTE, 30, 30, 1],
        ['backend', current, 5, 5, 0],
        ['frontend', current, 5, 5, 1],
      ],
      'the current minute was written at SIGTERM',
    );
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});

test('ROLLUPS=off: no rollup points written, /tenants exact from raw points', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-rollup-off-'));
  const g = await startGateway({ TENANT_AUTH: 'header', ADMIN_TOKEN: ADMIN, DATA_DIR: dir, ROLLUPS: 'off' });
  try {
    const headers = { 'content-type': 'application/json', 'x-tenant-id': 'acme' };
    assert.equal((await fetch(`${g.url}/v1/traces`, { method: 'POST', headers, body: body(OLD_MINUTE, 30, 3) })).status, 200);
    // Past the idle time after which a recorder would have written the old minute.
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal((await g.metric('tenantlens_rollup_events_total', { event: 'flushed' })) ?? 0, 0);
    const range = `from=${new Date(OLD_MINUTE * 60_000 - 5_000).toISOString()}&to=${new Date(OLD_MINUTE * 60_000 + 65_000).toISOString()}`;
    const res = (await (await fetch(`${g.url}/api/v1/tenants?${range}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { tenants: Array<{ tenant: string; frontend: { count: number; p50: number; p99: number; errorRate: number } }> };
    // Durations 20 + 7i ms, i < 30: nearest rank, exactly (a sketch would be off by up to 1%).
    assert.deepEqual(
      res.tenants.map((t) => [t.tenant, t.frontend.count, t.frontend.p50, t.frontend.p99, t.frontend.errorRate]),
      [['acme', 30, 20 + 14 * 7, 20 + 29 * 7, 1 / 30]],
    );
  } finally {
    await g.stop();
  }
  const db = await DuckDBInstance.create(join(dir, 'tenantlens.duckdb'));
  const conn = await db.connect();
  try {
    const [n] = (await conn.runAndReadAll(`SELECT count(*) AS n FROM latency_rollup`)).getRowObjects();
    assert.equal(Number(n?.n), 0, 'no rollup rows');
    const [spans] = (await conn.runAndReadAll(`SELECT count(*) AS n FROM frontend_performance`)).getRowObjects();
    assert.equal(Number(spans?.n), 30, 'the raw points are there');
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
});
