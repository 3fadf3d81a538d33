import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SignJWT } from 'jose';
import { GATEWAY_SOURCES, startGateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

let influx: Influxd;
let dir: string;

before(async () => {
  influx = await startInfluxd();
  dir = await mkdtemp(join(tmpdir(), 'tenantlens-ops-'));
});
after(async () => {
  await influx?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const base = (): Record<string, string> => ({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header' });

function span(traceId: string, startNs: bigint, attributes: Array<Record<string, unknown>> = []): Record<string, unknown> {
  return { traceId, spanId: randomBytes(8).toString('hex'), name: 'op', kind: 1, startTimeUnixNano: String(startNs), endTimeUnixNano: String(startNs + 1_000_000n), attributes };
}
function body(service: string, spans: Array<Record<string, unknown>>): string {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] });
}

const badConfigs: Array<{ env: Record<string, string | undefined>; variable: string }> = [
  { env: { INFLUX_URL: undefined }, variable: 'INFLUX_URL' },
  { env: { INFLUX_URL: 'ftp://x' }, variable: 'INFLUX_URL' },
  { env: { INFLUX_API_VERSION: '7' }, variable: 'INFLUX_API_VERSION' },
  { env: { TENANT_AUTH: 'trust-me' }, variable: 'TENANT_AUTH' },
  { env: { PORT: '99999' }, variable: 'PORT' },
  { env: { TENANT_AUTH: 'jwt' }, variable: 'JWT_JWKS_URL' },
  { env: { CORS_ORIGINS: '*' }, variable: 'CORS_ORIGINS' },
  { env: { MAPPING_FILE: '/nonexistent/mapping.json' }, variable: 'MAPPING_FILE' },
];

for (const c of badConfigs) {
  test(`bad configuration (${c.variable}) → one message naming it, exit 1`, () => {
    const env: Record<string, string | undefined> = { ...process.env, ...base(), ...c.env };
    for (const [k, v] of Object.entries(c.env)) if (v === undefined) delete env[k];
    const r = spawnSync(process.execPath, ['--import', 'tsx', GATEWAY_SOURCES], { env, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`invalid configuration: .*${c.variable}`));
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  });
}

test('MAPPING_FILE renames a measurement, adds a tag and an alias', async () => {
  const file = join(dir, 'mapping.json');
  await writeFile(file, JSON.stringify({ aliases: { 'app.screen': 'view_name' }, measurements: { frontend: { name: 'web_perf', extraTags: ['app.version'] } } }));
  const gw = await startGateway({ ...base(), MAPPING_FILE: file });
  try {
    const traceId = randomBytes(16).toString('hex');
    const res = await fetch(`${gw.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant-id': 'acme' },
      body: body('mapped', [span(traceId, BigInt(Date.now()) * 1_000_000n, [{ key: 'app.screen', value: { stringValue: 'Settings' } }, { key: 'app.version', value: { stringValue: '2.1' } }])]),
    });
    assert.equal(res.status, 200);
    let rows: unknown[][] = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      // InfluxQL returns nothing for a SELECT of tags only, so a field leads.
      rows = (await influx.query(`SELECT duration_ms, view_name, "app.version", tenant_id FROM web_perf WHERE trace_id = '${traceId}'`)).flatMap((s) => s.values);
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(rows[0]?.slice(2), ['Settings', '2.1', 'acme']);
    const tagKeys = (await influx.query('SHOW TAG KEYS FROM web_perf')).flatMap((s) => s.values.map((v) => v[0]));
    assert.ok(tagKeys.includes('app.version'), 'extra tag is a tag');
    assert.equal((await influx.query(`SELECT * FROM frontend_performance WHERE trace_id = '${traceId}'`)).length, 0);
  } finally {
    await gw.stop();
  }
});

test('lines InfluxDB refuses (field type conflict) are logged with the line, counted, not retried; the rest is written', async () => {
  // Its own database: field types are fixed per shard by whoever writes first.
  await influx.createDatabase('conflicts');
  const gw = await startGateway({ ...base(), INFLUX_BUCKET: 'conflicts' });
  try {
    // Another writer gives a built-in field (always an integer from us) the string type. The
    // type registry cannot route around built-in fields, so InfluxDB refuses our line. Field
    // types are per shard in 1.x, hence a timestamp in the current shard.
    const now = BigInt(Date.now()) * 1_000_000n;
    const clash = await fetch(`${influx.url}/write?db=conflicts&precision=ns`, { method: 'POST', body: `spans,service_name=other duration_ns="text" ${now - 1_000_000_000n}` });
    assert.equal(clash.status, 204);
    const traceId = randomBytes(16).toString('hex');
    const res = await fetch(`${gw.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant-id': 'acme' },
      body: body('conflict', [span(traceId, BigInt(Date.now()) * 1_000_000n, [{ key: 'view_name', value: { stringValue: 'V' } }])]),
    });
    assert.equal(res.status, 200);
    const deadline = Date.now() + 10_000;
    while ((await gw.metric('tenantlens_lines_rejected_total')) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await gw.metric('tenantlens_lines_rejected_total'), 1, 'exactly the spans line was refused');
    assert.equal(await gw.metric('tenantlens_write_failures_total', { kind: 'rejected' }), 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await gw.metric('tenantlens_write_retries_total'), 0, 'a refused line is not retried');
    // The frontend_performance line of the same batch was written.
    const fe = (await influx.query(`SELECT * FROM frontend_performance WHERE trace_id = '${traceId}'`, 'conflicts')).flatMap((s) => s.values);
    assert.equal(fe.length, 1);
    const log = gw.logs().find((l) => l.msg === 'InfluxDB refused lines as invalid; they are dropped');
    assert.ok(log, 'the refusal is logged');
    assert.match(String(log.reason), /field type conflict/);
    assert.ok((log.sampleLines as string[]).some((l) => l.startsWith('spans,') && l.includes(traceId)), 'the offending line is in the log');
  } finally {
    await gw.stop();
  }
});

test('fields already in InfluxDB are read at start-up (SHOW FIELD KEYS over /query) and count against the column budget', async () => {
  await influx.createDatabase('seeded');
  const now = BigInt(Date.now()) * 1_000_000n;
  const w = await fetch(`${influx.url}/write?db=seeded&precision=ns`, { method: 'POST', body: `spans,service_name=s a="x",b=1i ${now}\nlogs,service_name=s c=1.5 ${now}` });
  assert.equal(w.status, 204);
  const gw = await startGateway({ ...base(), INFLUX_BUCKET: 'seeded' });
  try {
    const deadline = Date.now() + 10_000;
    let log: Record<string, unknown> | undefined;
    while ((log = gw.logs().find((l) => l.msg === 'column budget: attribute fields admitted per measurement')) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const fields = log?.fields as Record<string, number> | undefined;
    assert.deepEqual([fields?.spans, fields?.logs], [2, 1], 'a and b of spans, c of logs');
    assert.equal(await gw.metric('tenantlens_attribute_fields', { measurement: 'spans' }), 2);
  } finally {
    await gw.stop();
  }
});

test('tokens never appear in the logs, even at trace level', async () => {
  const secret = 'a-secret-that-is-definitely-longer-than-32-bytes';
  const gw = await startGateway({ ...base(), TENANT_AUTH: 'jwt', JWT_SECRET: secret, LOG_LEVEL: 'trace' });
  try {
    const good = await new SignJWT({ tenant_id: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    const forged = await new SignJWT({ tenant_id: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(40)));
    for (const token of [good, forged]) {
      await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body('tok', [span(randomBytes(16).toString('hex'), BigInt(Date.now()) * 1_000_000n)]) });
    }
    await new Promise((r) => setTimeout(r, 300));
    const text = gw.proc.tail() + JSON.stringify(gw.logs());
    assert.ok(gw.logs().length > 0);
    for (const token of [good, forged]) {
      const signature = token.split('.')[2] ?? '';
      assert.ok(!text.includes(signature), 'no token signature in the logs');
    }
    assert.ok(!text.includes(secret), 'the secret is never logged');
  } finally {
    await gw.stop();
  }
});
