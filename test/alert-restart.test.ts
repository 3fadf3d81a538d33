import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { seriesRows, startInfluxd, type Influxd } from '../harness/influxd.ts';

/**
 * Issue 18 §3 on real processes: alert state survives a SIGKILL of the evaluator, on a real
 * influxd and on the embedded store (the same DATA_DIR), driven like test/alerts.test.ts
 * (deterministic spans through the real gateway, ALERT_INTERVAL=1s, 10 s windows, a real HTTP
 * webhook receiver).
 *
 * Two tenants regress at once. globex stays slow for a minute: across the restart it must stay
 * listed as firing with the same `since` and frozen baseline, and no second firing webhook may
 * arrive. initech recovers while the gateway is down: after the restart it must resolve exactly
 * once (one resolved webhook).
 */
const ADMIN = 'operator-token-for-the-restart-test';
const WINDOW_S = 10;
const ALERT_ENV = {
  ALERT_INTERVAL: '1s',
  ALERT_WINDOW: `${WINDOW_S}s`,
  ALERT_BASELINE_WINDOWS: '6',
  ALERT_BASELINE_MIN_WINDOWS: '3',
  ALERT_MIN_SAMPLES: '10',
  ALERT_RATIO: '1.5',
  ALERT_FLOOR_MS: '100',
  ALERT_RESOLVE_RATIO: '1.2',
  ALERT_RESOLVE_AFTER: '2',
};
const COMMON = { TENANT_AUTH: 'header', ADMIN_TOKEN: ADMIN, ...ALERT_ENV };
const stores = ['influxdb', 'embedded'] as const;
type StoreKind = (typeof stores)[number];

interface Alert {
  tenant: string;
  dimension: { kind: string; value: string };
  state: string;
  since: string;
  resolvedAt?: string;
  baselineMs: number;
  thresholdMs: number;
  firedP99Ms: number;
  drilldown: { from: string };
}
interface Hook {
  at: number;
  alerts: Alert[];
}

let influx: Influxd;
let dataDir: string;
let receiver: Server;
let receiverUrl: string;
const hooks: Record<StoreKind, Hook[]> = { influxdb: [], embedded: [] };
const gws = {} as Record<StoreKind, Gateway>;
const envOf = {} as Record<StoreKind, Record<string, string>>;
let t0 = 0;

const MS = 1_000_000n;
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const kv = (key: string, v: string | number) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });
let ids = 0;

/** Server spans (→ backend_api_latency) on /api/report, 4 a second from t0 − 70 s to t0 + 90 s; slow (700+ ms) in [slowFrom, slowTo). */
function traffic(tenant: string, slowFrom: number, slowTo: number): string {
  const spans = [];
  for (let i = 0, at = t0 - 70_000; at < t0 + 90_000; i++, at += 250) {
    const ms = at >= slowFrom && at < slowTo ? 700 + (i % 40) : 80 + ((i * 37) % 40);
    const start = BigInt(at) * MS;
    const n = ++ids;
    spans.push({
      traceId: hex(n, 32),
      spanId: hex(n, 16),
      name: 'GET /api/report',
      kind: 2,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + BigInt(ms) * MS),
      attributes: [kv('http.route', '/api/report'), kv('http.request.method', 'GET'), kv('http.response.status_code', 200)],
    });
  }
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', 'shop')] }, scopeSpans: [{ scope: { name: 'restart-test' }, spans }] }] });
}

async function alerts(url: string): Promise<Alert[]> {
  const res = await fetch(`${url}/api/v1/alerts`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { alerts: Alert[] }).alerts;
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every alert the webhook was told about, as `tenant state`. */
const told = (s: StoreKind): string[] => hooks[s].flatMap((h) => h.alerts.map((a) => `${a.tenant} ${a.state}`));
const count = (list: string[], x: string): number => list.filter((y) => y === x).length;
const sleepUntil = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const s = (req.url ?? '').slice(1).split('/')[0] as StoreKind;
      hooks[s]?.push({ at: Date.now(), alerts: (JSON.parse(body) as { alerts: Alert[] }).alerts });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  influx = await startInfluxd();
  dataDir = await mkdtemp(join(tmpdir(), 'tenantlens-alert-restart-'));
  envOf.influxdb = { ...COMMON, INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', ALERT_WEBHOOK_URL: `${receiverUrl}/influxdb/hook` };
  envOf.embedded = { ...COMMON, DATA_DIR: dataDir, ALERT_WEBHOOK_URL: `${receiverUrl}/embedded/hook` };
  const [influxGw, embeddedGw] = await Promise.all(stores.map((s) => startGateway(envOf[s], 60_000)));
  Object.assign(gws, { influxdb: influxGw, embedded: embeddedGw });

  t0 = Date.now();
  const data = { globex: traffic('globex', t0 - 10_000, t0 + 60_000), initech: traffic('initech', t0 - 10_000, t0 + 10_000), acme: traffic('acme', 0, 0) };
  for (const s of stores) {
    for (const [tenant, body] of Object.entries(data)) {
      const res = await fetch(`${gws[s].url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body });
      assert.equal(res.status, 200, `${s} ${tenant}`);
    }
  }
});

after(async () => {
  await Promise.all(Object.values(gws).map((g) => g?.stop()));
  await influx?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('alert state survives SIGKILL of the evaluator (issue 18 §3), on both stores', () => {
  const before = {} as Record<StoreKind, Alert[]>;

  test('both fire, are told once, and the state is stored as notified', async () => {
    await Promise.all(
      stores.map(async (s) => {
        before[s] = await until(`${s}: globex and initech firing`, async () => {
          const list = await alerts(gws[s].url);
          return list.filter((a) => a.state === 'firing').length === 2 ? list : undefined;
        });
        assert.deepEqual(before[s].map((a) => a.tenant).sort(), ['globex', 'initech'], s);
        await until(`${s}: both firing webhooks`, () => (count(told(s), 'globex firing') === 1 && count(told(s), 'initech firing') === 1 ? true : undefined), 15_000);
        // The transition, then "notified" once the webhook took it, for both alerts; no write failed.
        const stored = (): string[] => gws[s].logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('alert notifications settled; stored as notified')).flatMap((l) => l.alerts as string[]);
        await until(`${s}: both stored as notified`, () => (['globex', 'initech'].every((t) => stored().includes(`${t} endpoint /api/report firing`)) ? true : undefined), 10_000);
        assert.ok((await gws[s].metric('tenantlens_alert_state_writes_total', { outcome: 'success' })) >= 2, s);
        assert.equal(await gws[s].metric('tenantlens_alert_state_writes_total', { outcome: 'retryable' }), 0, s);
      }),
    );
    // On InfluxDB: the measurement as declared, identity in tags (no ids), notified once delivered.
    const rows = await until('the state rows in influxd', async () => {
      const r = seriesRows(await influx.query('SELECT * FROM "tenantlens_alert_state" WHERE "notified" = true'));
      return new Set(r.map((x) => x.tenant_id)).size === 2 ? r : undefined;
    }, 10_000);
    assert.deepEqual(new Set(rows.map((r) => `${r.tenant_id} ${r.dimension} ${r.dimension_value} ${r.state}`)), new Set(['globex endpoint /api/report firing', 'initech endpoint /api/report firing']));
    const tagKeys = seriesRows(await influx.query('SHOW TAG KEYS FROM "tenantlens_alert_state"')).map((r) => r.tagKey);
    assert.deepEqual(tagKeys, ['dimension', 'dimension_value', 'tenant_id']);
  });

  test('SIGKILL, initech recovers meanwhile, restart: globex still firing as before, initech resolved exactly once, no second firing', async () => {
    await Promise.all(
      stores.map(async (s) => {
        gws[s].proc.child.kill('SIGKILL');
        assert.equal(await gws[s].waitExit(), null, `${s}: killed by the signal`);
      }),
    );
    // initech's last slow span is at t0 + 10 s: from t0 + 21 s a whole window is normal again.
    await sleepUntil(t0 + 22_000);
    const restartedAt = Date.now();
    const [influxGw, embeddedGw] = await Promise.all(stores.map((s) => startGateway(envOf[s], 60_000)));
    Object.assign(gws, { influxdb: influxGw, embedded: embeddedGw });
    assert.ok(Date.now() < t0 + 60_000, 'globex is still slow after the restart (else this test proves nothing)');

    await Promise.all(
      stores.map(async (s) => {
        const after = await until(`${s}: initech resolved after the restart`, async () => {
          const list = await alerts(gws[s].url);
          return list.some((a) => a.tenant === 'initech' && a.state === 'resolved') ? list : undefined;
        });
        const was = (tenant: string): Alert => before[s].find((a) => a.tenant === tenant) as Alert;
        const is = (tenant: string): Alert | undefined => after.find((a) => a.tenant === tenant);
        const g = is('globex') as Alert;
        assert.equal(g.state, 'firing', `${s}: globex still firing`);
        assert.deepEqual([g.since, g.baselineMs, g.thresholdMs, g.firedP99Ms, g.drilldown.from], [was('globex').since, was('globex').baselineMs, was('globex').thresholdMs, was('globex').firedP99Ms, was('globex').drilldown.from], `${s}: the same episode, baseline frozen`);
        const i = is('initech') as Alert;
        assert.deepEqual([i.since, i.baselineMs], [was('initech').since, was('initech').baselineMs], `${s}: initech resolved the episode that fired before the kill`);
        assert.ok(Date.parse(i.resolvedAt ?? '') >= restartedAt, `${s}: resolved by the restarted process`);
        assert.equal(await gws[s].metric('tenantlens_alert_state_loads_total', { outcome: 'ok' }), 1, s);
      }),
    );
    // A few more evaluations: nothing else may arrive.
    await new Promise((r) => setTimeout(r, 4000));
    for (const s of stores) {
      const list = told(s);
      assert.equal(count(list, 'globex firing'), 1, `${s}: no second firing webhook for globex: ${list.join(', ')}`);
      assert.equal(count(list, 'initech firing'), 1, `${s}: initech fired once: ${list.join(', ')}`);
      assert.equal(count(list, 'initech resolved'), 1, `${s}: initech resolved once: ${list.join(', ')}`);
      assert.equal(list.length, 3, `${s}: ${list.join(', ')}`);
      assert.equal((await alerts(gws[s].url)).find((a) => a.tenant === 'globex')?.state, 'firing', s);
      assert.equal(await gws[s].metric('tenantlens_alerts_firing'), 1, s);
    }
  });
});
