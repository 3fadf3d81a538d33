import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { startGateway, type Gateway } from '../harness/gateway.ts';

/**
 * The embedded store keeps logs in their own table (the trace drill-down reads them) and every
 * metric measurement in one generic table, `otel_metrics` (name, tenant, tags and fields as JSON).
 * Read back from the DuckDB file itself after the gateway has drained and exited.
 */
let dataDir: string;
let gw: Gateway | undefined;
const T = (BigInt(Date.now()) - 60_000n) * 1_000_000n;
const kv = (key: string, v: string | number) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tenantlens-embedded-signals-'));
  gw = await startGateway({ TENANT_AUTH: 'header', DATA_DIR: dataDir });
});

after(async () => {
  await gw?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('metrics and logs land in the embedded store; replays are no-ops there too', async () => {
  const g = gw as Gateway;
  const metrics = JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [kv('service.name', 'api')] },
        scopeMetrics: [
          {
            metrics: [
              { name: 'queue.depth', gauge: { dataPoints: [{ timeUnixNano: String(T), asDouble: 4.5, attributes: [kv('queue', 'mail')] }] } },
              {
                name: 'http.server.request.duration',
                unit: 's',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [{ timeUnixNano: String(T), count: '2', sum: 0.3, explicitBounds: [0.1], bucketCounts: ['1', '1'], attributes: [kv('http.route', '/r'), kv('http.request.method', 'GET')] }],
                },
              },
            ],
          },
        ],
      },
    ],
  });
  const logs = JSON.stringify({
    resourceLogs: [{ resource: { attributes: [kv('service.name', 'api')] }, scopeLogs: [{ logRecords: [{ timeUnixNano: String(T), severityText: 'INFO', severityNumber: 9, body: { stringValue: 'hello' }, traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), attributes: [kv('n', 2)] }] }] }],
  });
  const headers = { 'content-type': 'application/json', 'x-tenant-id': 'acme' };
  for (let i = 0; i < 2; i++) {
    assert.equal((await fetch(`${g.url}/v1/metrics`, { method: 'POST', headers, body: metrics })).status, 200);
    assert.equal((await fetch(`${g.url}/v1/logs`, { method: 'POST', headers, body: logs })).status, 200);
  }
  // SIGTERM drains the buffer before exit; then the file is ours to read.
  await g.stop();
  gw = undefined;

  const db = await DuckDBInstance.create(join(dataDir, 'tenantlens.duckdb'));
  const conn = await db.connect();
  try {
    const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjects();
    const m = await q(`SELECT measurement, tenant_id, extra FROM otel_metrics`);
    const parsed = m
      .map((r) => [r.measurement, r.tenant_id, JSON.parse(String(r.extra)) as Record<string, unknown>] as const)
      .sort((x, y) => String(x[0]).localeCompare(String(y[0])) || Number(x[2].bucket ?? -1) - Number(y[2].bucket ?? -1));
    assert.deepEqual(parsed, [
      ['http_server_request_duration', 'acme', { count: 2, sum: 0.3, 'http.request.method': 'GET', 'http.route': '/r', service_name: 'api', temporality: 'cumulative' }],
      ['http_server_request_duration', 'acme', { bucket: 1, 'http.request.method': 'GET', 'http.route': '/r', le: '0.1', service_name: 'api', temporality: 'cumulative' }],
      ['http_server_request_duration', 'acme', { bucket: 2, 'http.request.method': 'GET', 'http.route': '/r', le: '+Inf', service_name: 'api', temporality: 'cumulative' }],
      ['queue_depth', 'acme', { gauge: 4.5, queue: 'mail', service_name: 'api' }],
    ]);
    const rollup = await q(`SELECT endpoint, http_method, latency_ms, extra FROM backend_api_latency`);
    assert.equal(rollup.length, 1);
    assert.deepEqual([rollup[0]?.endpoint, rollup[0]?.http_method, rollup[0]?.latency_ms], ['/r', 'GET', null], 'the rollup has no per-request latency_ms, so span percentiles are unaffected');
    assert.equal((JSON.parse(String(rollup[0]?.extra)) as Record<string, unknown>).request_count, 2);
    const l = await q(`SELECT tenant_id, service_name, severity_text, severity_number, trace_id, span_id, body, extra FROM logs`);
    assert.equal(l.length, 1, 'the replayed record is not stored twice');
    const { extra, ...cols } = l[0] as Record<string, unknown>;
    assert.deepEqual(cols, { tenant_id: 'acme', service_name: 'api', severity_text: 'INFO', severity_number: 9n, trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8), body: 'hello' });
    assert.equal((JSON.parse(String(extra)) as Record<string, unknown>).n, 2);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});
