/**
 * `GET /api/v1/vitals` and `GET /api/v1/errors`: the same browser events through both stores (a
 * real influxd, and the embedded DuckDB store) give the same JSON, and it is the one computed here
 * by hand. Tenant credentials see their own tenant only.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SignJWT } from 'jose';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

const ADMIN = 'operator-token-for-the-browser-contract';
const SECRET = 'browser-contract-secret-at-least-32-bytes-long';
const BASE_NS = (BigInt(Date.now()) - 20n * 60_000n) * 1_000_000n;
const MS = 1_000_000n;
const STORES = ['influxdb', 'embedded'] as const;

let influx: Influxd;
let dataDir: string;
const gws = {} as Record<(typeof STORES)[number], Gateway>;

const kv = (key: string, v: string | number) => ({ key, value: typeof v === 'string' ? { stringValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } });

/** LCP per tenant and view (values and ratings chosen by hand), CLS for one view, and errors. */
const LCP: Record<string, Array<[string, number, string]>> = {
  acme: [
    ['Home', 1200, 'good'],
    ['Home', 2600, 'needs-improvement'],
    ['Home', 1800, 'good'],
    ['Home', 4200, 'poor'],
    ['Cart', 900, 'good'],
    ['Cart', 3100, 'needs-improvement'],
  ],
  globex: [['Home', 5000, 'poor']],
};
const CLS: Array<[string, number, string]> = [
  ['Home', 0.05, 'good'],
  ['Home', 0.3, 'poor'],
];

function records(tenant: string): unknown[] {
  let t = BASE_NS + (tenant === 'acme' ? 0n : 500n * MS);
  const next = (): string => String((t += 7n * MS));
  const vital = (metric: string, [view, value, rating]: [string, number, string]) => ({
    timeUnixNano: next(),
    eventName: 'browser.web_vital',
    attributes: [kv('browser.web_vital.name', metric), kv('browser.web_vital.value', value), kv('browser.web_vital.rating', rating), kv('view_name', view), kv('session_id', `${tenant}-s`)],
  });
  const error = (type: string, view: string, message: string, count: number) => ({
    timeUnixNano: next(),
    eventName: 'exception',
    attributes: [kv('exception.type', type), kv('exception.message', message), kv('exception.stacktrace', `${type}: ${message}\n    at f (app.js:1:1)`), kv('exception.count', count), kv('view_name', view), kv('session_id', `${tenant}-s`), kv('action_name', 'act')],
  });
  const out: unknown[] = (LCP[tenant] ?? []).map((v) => vital('LCP', v));
  if (tenant === 'acme') {
    out.push(...CLS.map((v) => vital('CLS', v)));
    out.push(error('TypeError', 'Home', 'x is undefined', 50), error('TypeError', 'Home', 'x is undefined', 1), error('RangeError', 'Cart', 'bad index', 3));
  } else out.push(error('Error', 'Home', 'globex only', 1));
  return out;
}

async function token(tenant: string): Promise<string> {
  return new SignJWT({ tenant_id: tenant }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

async function api(store: (typeof STORES)[number], path: string, bearer = ADMIN): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gws[store].url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Both stores' answers, asserted equal; returns one of them. */
async function same(path: string, bearer = ADMIN): Promise<Record<string, unknown>> {
  const [a, b] = await Promise.all(STORES.map((s) => api(s, path, bearer)));
  assert.equal(a?.status, 200, JSON.stringify(a?.body));
  assert.deepEqual(b?.body, a?.body, `${path}: the stores disagree`);
  return a?.body as Record<string, unknown>;
}

before(async () => {
  influx = await startInfluxd();
  dataDir = await mkdtemp(join(tmpdir(), 'tenantlens-browser-contract-'));
  const common = { TENANT_AUTH: 'jwt', JWT_SECRET: SECRET, ADMIN_TOKEN: ADMIN };
  [gws.influxdb, gws.embedded] = await Promise.all([
    startGateway({ ...common, INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens' }),
    startGateway({ ...common, DATA_DIR: dataDir }),
  ]);
  for (const tenant of ['acme', 'globex']) {
    const body = JSON.stringify({ resourceLogs: [{ resource: { attributes: [kv('service.name', 'web')] }, scopeLogs: [{ scope: { name: '@tenantlens/web-sdk' }, logRecords: records(tenant) }] }] });
    for (const gw of Object.values(gws)) {
      const res = await fetch(`${gw.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(tenant)}` }, body });
      assert.equal(res.status, 200);
    }
  }
  for (const store of STORES) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { body } = await api(store, '/api/v1/errors');
      if (Array.isArray(body.recent) && body.recent.length === 4) break;
      if (Date.now() > deadline) throw new Error(`${store} did not show the errors: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

after(async () => {
  await Promise.all(Object.values(gws).map((g) => g.stop()));
  await influx?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

const share = (n: number, of: number) => ({ count: n, share: n / of });

test('vitals per tenant: p75 (nearest rank) and rating shares per metric, identical on both stores', async () => {
  const body = await same('/api/v1/vitals');
  assert.deepEqual(body, {
    tenant: null,
    view: null,
    by: 'tenant',
    groups: [
      {
        tenant: 'acme',
        view: null,
        metrics: [
          // LCP values sorted: 900 1200 1800 2600 3100 4200; rank floor(6·0.75 + 0.5) = 5 → 3100
          { metric: 'LCP', count: 6, p75: 3100, ratings: { good: share(3, 6), 'needs-improvement': share(2, 6), poor: share(1, 6) } },
          { metric: 'CLS', count: 2, p75: 0.3, ratings: { good: share(1, 2), 'needs-improvement': share(0, 2), poor: share(1, 2) } },
        ],
      },
      { tenant: 'globex', view: null, metrics: [{ metric: 'LCP', count: 1, p75: 5000, ratings: { good: share(0, 1), 'needs-improvement': share(0, 1), poor: share(1, 1) } }] },
    ],
  });
});

test('vitals per view, and for one view', async () => {
  const perView = (await same('/api/v1/vitals?tenant=acme&by=view')) as { groups: Array<{ view: string; metrics: Array<{ metric: string; p75: number }> }> };
  assert.deepEqual(
    perView.groups.map((g) => [g.view, g.metrics.map((m) => `${m.metric}:${m.p75}`)]),
    [
      ['Cart', ['LCP:3100']], // 900 3100: rank floor(2·0.75 + 0.5) = 2
      ['Home', ['LCP:2600', 'CLS:0.3']], // 1200 1800 2600 4200: rank 3
    ],
  );
  const one = (await same('/api/v1/vitals?tenant=acme&view=Cart')) as { groups: Array<{ metrics: unknown[] }> };
  assert.equal(one.groups.length, 1);
  assert.equal(one.groups[0]?.metrics.length, 1);
});

test('errors: counts per type and view (bursts in full), recent examples newest first, identical on both stores', async () => {
  const body = (await same('/api/v1/errors?tenant=acme')) as { counts: unknown[]; recent: Array<Record<string, unknown>> };
  assert.deepEqual(body.counts, [
    { tenant: 'acme', errorType: 'TypeError', view: 'Home', count: 51 },
    { tenant: 'acme', errorType: 'RangeError', view: 'Cart', count: 3 },
  ]);
  assert.deepEqual(
    body.recent.map((r) => [r.errorType, r.message, r.count, r.view, r.actionName, r.sessionId]),
    [
      ['RangeError', 'bad index', 3, 'Cart', 'act', 'acme-s'],
      ['TypeError', 'x is undefined', 1, 'Home', 'act', 'acme-s'],
      ['TypeError', 'x is undefined', 50, 'Home', 'act', 'acme-s'],
    ],
  );
  assert.match(String(body.recent[0]?.stack), /^RangeError: bad index\n/);
  const limited = (await same('/api/v1/errors?tenant=acme&limit=1')) as { recent: unknown[] };
  assert.equal(limited.recent.length, 1);
});

test('tenant scoping: a tenant sees its own vitals and errors only; bad parameters are 400', async () => {
  const globex = await token('globex');
  const own = (await same('/api/v1/errors', globex)) as { tenant: string; counts: Array<{ tenant: string }> };
  assert.equal(own.tenant, 'globex');
  assert.deepEqual(
    own.counts.map((c) => c.tenant),
    ['globex'],
  );
  const vitals = (await same('/api/v1/vitals', globex)) as { groups: Array<{ tenant: string }> };
  assert.deepEqual(
    vitals.groups.map((g) => g.tenant),
    ['globex'],
  );
  for (const store of STORES) {
    assert.equal((await api(store, '/api/v1/vitals?tenant=acme', globex)).status, 403);
    assert.equal((await api(store, '/api/v1/errors?tenant=acme', globex)).status, 403);
    assert.equal((await api(store, '/api/v1/vitals?by=session')).status, 400);
    assert.equal((await api(store, '/api/v1/errors?tenant=a%20b')).status, 400);
    assert.equal((await api(store, '/api/v1/vitals', 'not-a-token')).status, 401);
  }
});
