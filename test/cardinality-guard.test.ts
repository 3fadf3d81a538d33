import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { seriesRows, startInfluxd, waitForRows, type Influxd } from '../harness/influxd.ts';

let influx: Influxd;
let gw: Gateway;

before(async () => {
  influx = await startInfluxd();
  gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', CARDINALITY_LIMIT: '3', CARDINALITY_TAGS: 'session_id' });
});
after(async () => {
  await gw?.stop();
  await influx?.close();
});

test('CARDINALITY_LIMIT: a tenant minting session ids stops adding series; the values are kept as a field and counted', async () => {
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: 6 }, (_, i) => ({
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    name: 'click',
    kind: 1,
    startTimeUnixNano: String(now + BigInt(i) * 1000n),
    endTimeUnixNano: String(now + BigInt(i) * 1000n + 1_000_000n),
    attributes: [
      { key: 'view_name', value: { stringValue: 'Home' } },
      { key: 'session.id', value: { stringValue: `session-${i}` } },
    ],
  }));
  const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
  for (const tenant of ['acme', 'globex']) {
    const res = await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body });
    assert.equal(res.status, 200);
  }
  for (const tenant of ['acme', 'globex']) {
    const rows = await waitForRows(influx, `SELECT duration_ms, session_id, "session_id__demoted" FROM frontend_performance WHERE tenant_id = '${tenant}'`, 6);
    assert.equal(rows.length, 6, `${tenant}: every span is stored`);
    const tags = seriesRows(await influx.query(`SHOW TAG VALUES FROM frontend_performance WITH KEY = "session_id" WHERE tenant_id = '${tenant}'`)).map((r) => r.value);
    assert.deepEqual(tags.sort(), ['session-0', 'session-1', 'session-2', '~overflow'], `${tenant}: three sessions stay tags, the rest share one series`);
    assert.deepEqual(rows.map((r) => r.session_id__demoted).filter((v) => v !== null).sort(), ['session-3', 'session-4', 'session-5'], `${tenant}: demoted values kept as a field`);
  }
  assert.equal(await gw.metric('tenantlens_tag_values_demoted_total', { tag: 'session_id' }), 6);
});
