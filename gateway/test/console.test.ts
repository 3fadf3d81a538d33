import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { createApp } from '../src/app.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { CONSOLE_CSP } from '../src/http/console-static.ts';
import { createMetrics } from '../src/ops/metrics.ts';
import { createTenantResolver } from '../src/tenancy/resolve-tenant.ts';
import { EMPTY_DRILL_DOWN, createInProcessIngest, type MemoryStore } from '../../test/support/memory-store.ts';

const SECRET = 'console-test-secret-at-least-32-bytes-long';
const ADMIN = 'operator-token-for-the-console-test';
const INDEX = '<!doctype html><html><head><script type="module" src="./assets/app-3f9a1c.js"></script></head><body><div id="root"></div></body></html>';

interface Running {
  url: string;
  store: MemoryStore;
  logLines: string[];
  close(): Promise<void>;
}

async function start(env: Record<string, string>): Promise<Running> {
  const config = loadConfig({ TENANT_AUTH: 'jwt', JWT_SECRET: SECRET, ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info', ...env });
  const { ingest, store } = createInProcessIngest('console-test');
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const metrics = createMetrics({ bufferLines: () => 0, bufferBytes: () => 0 }, false);
  const { app } = createApp({ config, ingest, tenants: createTenantResolver(config.tenancy), sink: store, health: store, queries: EMPTY_DRILL_DOWN, metrics, logger: pino({ level: 'info' }, sink) });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    store,
    logLines,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const token = (tenant: string, exp: string | number = '10m'): Promise<string> =>
  new SignJWT({ tenant_id: tenant }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

function securityHeaders(res: Response, what: string): void {
  assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP, what);
  assert.ok(!/unsafe-inline/.test(res.headers.get('content-security-policy') ?? ''), what);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
}

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenantlens-console-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), INDEX);
  await writeFile(join(dir, 'assets', 'app-3f9a1c.js'), 'console.log("console");\n');
  await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a built console at /console/', () => {
  let gw: Running;
  before(async () => {
    gw = await start({ CONSOLE_DIR: dir });
  });
  after(() => gw.close());

  test('index.html: no-cache, CSP without inline scripts, nosniff', async () => {
    const res = await fetch(`${gw.url}/console/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), INDEX);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    securityHeaders(res, 'index');
  });

  test('hashed assets: cached for a year, immutable; other files revalidated', async () => {
    const res = await fetch(`${gw.url}/console/assets/app-3f9a1c.js`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /console\.log/);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    securityHeaders(res, 'asset');
    const icon = await fetch(`${gw.url}/console/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('cache-control'), 'no-cache');
  });

  test('unknown paths answer index.html; a missing hashed asset is a 404, not HTML', async () => {
    for (const path of ['/console/tenant/acme', '/console/some/deep/path?x=1']) {
      const res = await fetch(`${gw.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), INDEX, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
    }
    const missing = await fetch(`${gw.url}/console/assets/app-000000.js`);
    assert.equal(missing.status, 404);
    securityHeaders(missing, '404');
  });

  test('/console redirects to /console/ and keeps the query (alert drill-down links)', async () => {
    const res = await fetch(`${gw.url}/console?tenant=acme&from=1&to=2`, { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), '/console/?tenant=acme&from=1&to=2');
  });

  test('no log line about an unbuilt console', () => {
    assert.equal(gw.logLines.filter((l) => /not built/.test(l)).length, 0);
  });
});

describe('an unbuilt console', () => {
  let gw: Running;
  before(async () => {
    gw = await start({ CONSOLE_DIR: join(dir, 'does-not-exist') });
  });
  after(() => gw.close());

  test('answers 200 with a page that says how to build it, and logs it once', async () => {
    for (const path of ['/console/', '/console/assets/app.js', '/console/tenant/x']) {
      const res = await fetch(`${gw.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await res.text(), /the console is not built: run npm run build/);
      assert.ok(!/<script|<style|style=/.test(await (await fetch(`${gw.url}${path}`)).text()), 'the page has nothing CSP would block');
      securityHeaders(res, path);
    }
    assert.equal(gw.logLines.filter((l) => /the console is not built/.test(l)).length, 1);
  });
});

describe('CONSOLE=off', () => {
  let gw: Running;
  before(async () => {
    gw = await start({ CONSOLE: 'off', CONSOLE_DIR: dir });
  });
  after(() => gw.close());

  test('nothing is served under /console/, not even the telemetry route', async () => {
    assert.equal((await fetch(`${gw.url}/console/`)).status, 404);
    assert.equal((await fetch(`${gw.url}/console/assets/app-3f9a1c.js`)).status, 404);
    const post = await fetch(`${gw.url}/console/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: '{}' });
    assert.equal(post.status, 404);
  });
});

/** A span that claims another tenant twice (resource and span attribute). */
const SPOOFING = JSON.stringify({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tenantlens-console' } }, { key: 'tenant.id', value: { stringValue: 'acme' } }] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203331',
              name: 'tenants.load',
              kind: 1,
              startTimeUnixNano: '1796280000000000000',
              endTimeUnixNano: '1796280000120000000',
              attributes: [{ key: 'tenant_id', value: { stringValue: 'acme' } }, { key: 'view_name', value: { stringValue: 'Tenants' } }],
            },
          ],
        },
      ],
    },
  ],
});

describe('POST /console/v1/traces: the console\'s own telemetry', () => {
  let gw: Running;
  before(async () => {
    gw = await start({ CONSOLE_DIR: dir, CONSOLE_TENANT: 'my-console', CORS_ORIGINS: 'https://app.example.com' });
  });
  after(() => gw.close());

  const post = (auth: string | undefined): Promise<Response> =>
    fetch(`${gw.url}/console/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth === undefined ? {} : { authorization: auth }) }, body: SPOOFING });

  test('a tenant credential (acme) sends; the spans are stored under CONSOLE_TENANT, whatever the payload claims', async () => {
    const res = await post(`Bearer ${await token('acme')}`);
    assert.equal(res.status, 200);
    assert.ok(gw.store.points.length >= 2, 'frontend_performance and spans points');
    for (const p of gw.store.points) {
      assert.deepEqual(p.point.tags.filter(([k]) => k === 'tenant_id'), [['tenant_id', 'my-console']], p.point.measurement);
      assert.ok(!p.point.fields.some(([k]) => k === 'tenant_id' || k === 'tenant.id'), 'the claimed tenant is not kept');
    }
  });

  test('the operator token sends too; no or a bad credential is a 401 in OTLP form, and nothing is stored', async () => {
    gw.store.clear();
    assert.equal((await post(`Bearer ${ADMIN}`)).status, 200);
    assert.ok(gw.store.points.length > 0);
    gw.store.clear();
    const none = await post(undefined);
    assert.equal(none.status, 401);
    assert.match(JSON.stringify(await none.json()), /operator token/);
    const expired = await post(`Bearer ${await token('acme', Math.floor(Date.now() / 1000) - 60)}`);
    assert.equal(expired.status, 401);
    assert.equal(gw.store.points.length, 0);
  });

  test('CORS like the other OTLP routes: an allowed origin gets a preflight answer, another does not', async () => {
    const pre = (origin: string) =>
      fetch(`${gw.url}/console/v1/traces`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    assert.equal((await pre('https://app.example.com')).headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal((await pre('https://evil.example.com')).headers.get('access-control-allow-origin'), null);
  });

  test('GET /api/v1/whoami tells who is signed in and the console tenant', async () => {
    const who = async (auth?: string) => {
      const res = await fetch(`${gw.url}/api/v1/whoami`, { headers: auth === undefined ? {} : { authorization: auth } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    assert.deepEqual(await who(`Bearer ${ADMIN}`), { status: 200, body: { admin: true, consoleTenant: 'my-console' } });
    assert.deepEqual(await who(`Bearer ${await token('acme')}`), { status: 200, body: { admin: false, tenant: 'acme', consoleTenant: 'my-console' } });
    const expired = await who(`Bearer ${await token('acme', Math.floor(Date.now() / 1000) - 60)}`);
    assert.equal(expired.status, 401);
    assert.match(JSON.stringify(expired.body), /expired/);
    assert.equal((await who()).status, 401);
  });
});

test('config: CONSOLE, CONSOLE_DIR and CONSOLE_TENANT are validated; the default directory is the repository\'s console/dist', () => {
  const c = loadConfig({ TENANT_AUTH: 'header' });
  assert.equal(c.console.enabled, true);
  assert.equal(c.console.tenant, 'tenantlens-console');
  assert.ok(isAbsolute(c.console.dir) && c.console.dir.endsWith(join('console', 'dist')), c.console.dir);
  assert.equal(loadConfig({ TENANT_AUTH: 'header', CONSOLE: 'off' }).console.enabled, false);
  assert.equal(loadConfig({ TENANT_AUTH: 'header', CONSOLE_DIR: 'rel/dist' }).console.dir, join(process.cwd(), 'rel/dist'));
  for (const [name, value] of [
    ['CONSOLE', 'maybe'],
    ['CONSOLE_TENANT', 'bad tenant'],
    ['CONSOLE_TENANT', '-x'],
  ] as const) {
    assert.throws(() => loadConfig({ TENANT_AUTH: 'header', [name]: value }), (e: unknown) => e instanceof ConfigError && e.variable === name, `${name}=${value}`);
  }
});
