/**
 * The gateway process with INFLUX_API_VERSION=3 against the InfluxDB 3 stand-in (documented API
 * only, docs/influxdb3.md): refused lines show in /metrics per reason and are logged once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startGateway } from '../harness/gateway.ts';
import { startInfluxDB3Standin } from './support/influxdb3-standin.ts';

const TOKEN = 'apiv3_gateway-token';

function spans(n: number): string {
  const start = BigInt(Date.now()) * 1_000_000n;
  const list = Array.from({ length: n }, (_, i) => ({
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    name: 'op',
    kind: 1,
    startTimeUnixNano: String(start + BigInt(i) * 1000n),
    endTimeUnixNano: String(start + BigInt(i) * 1000n + 1_000_000n),
  }));
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans: list }] }] });
}

test('v3: refused lines are counted per reason in /metrics, logged once per reason, not retried', async () => {
  const s = await startInfluxDB3Standin({ token: TOKEN });
  // Another writer made duration_ns a string column: every spans line of ours is refused.
  s.seedTable('tenantlens', 'spans', { duration_ns: 'string' });
  const gw = await startGateway({ INFLUX_URL: s.url, INFLUX_API_VERSION: '3', INFLUX_TOKEN: TOKEN, INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header' });
  try {
    for (const n of [3, 2]) {
      const res = await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'acme' }, body: spans(n) });
      assert.equal(res.status, 200);
      // One request at a time, so the two land in separate batches.
      const deadline = Date.now() + 10_000;
      while (s.writes.filter((w) => w.status === 400).length < (n === 3 ? 1 : 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    }
    const reason = "invalid column type for column '?', expected iox::column_type::field::string, got iox::column_type::field::integer";
    const deadline = Date.now() + 10_000;
    while ((await gw.metric('tenantlens_lines_rejected_total', { reason })) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await gw.metric('tenantlens_lines_rejected_total', { reason }), 5);
    assert.equal(await gw.metric('tenantlens_write_retries_total'), 0, 'refused lines are not retried');
    const firstOf = gw.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('InfluxDB refused a line for a new reason'));
    assert.equal(firstOf.length, 1, 'logged once for the reason');
    assert.match(String(firstOf[0]?.line), /^spans,/);
    assert.equal(s.writes[0]?.authorization, `Bearer ${TOKEN}`);
    // Field types and the column budget are read at start-up, one statement per request (v3 takes one):
    // the fields of the measurements with attribute fields, and the claim log.
    const asked = s.queries.map((q) => `${q.method} ${q.url.searchParams.get('q')}`);
    for (const m of ['spans', 'logs', 'frontend_performance', 'backend_api_latency']) assert.ok(asked.includes(`GET SHOW FIELD KEYS FROM "${m}"`), m);
    assert.ok(asked.includes('GET SELECT * FROM "tenantlens_column_claims"'));
    assert.ok(gw.logs().some((l) => l.msg === 'column budget: attribute fields admitted per measurement'));
  } finally {
    await gw.stop();
    await s.close();
  }
});
