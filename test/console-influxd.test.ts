import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { DB_LATENCY, startDemoBackend } from '../demo/backend/server.ts';
import { buildDemo } from '../demo/build.ts';
import { launchChromium } from '../harness/browser.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { launch } from '../harness/process.ts';
import { chartSeries, criticalPathRows, goHash, mintTenantJwt, openConsole, pollUntil, tenantRows } from './support/console.ts';

/**
 * The console in Debian's Chromium against the real gateway on a real influxd (1.6.7, API v1),
 * with demo traffic (demo/traffic.ts: real OpenTelemetry exporters, through the real demo backend,
 * whose database spans carry each tenant's latency). The backend's gateway URL is a tee that sends
 * every OTLP request to two gateways, one on influxd and one on the embedded store, so the
 * critical-path ranking is checked on both stores against the very same traces.
 */
const SECRET = 'console-influxd-secret-long-enough-for-hs256';
const ADMIN = 'console-influxd-operator-token-long-enough';
const TENANTS = ['acme', 'globex', 'initech'];
const TRAFFIC = fileURLToPath(new URL('../demo/traffic.ts', import.meta.url));
/** The injected slowdown of globex's report query (`x-demo-slow-ms`, sent by `--regress globex`). */
const SLOW_MS = 1500;
const OPERATION = 'loadReport';
/** Each report trace is one loadReport → GET /demo-api/report → SELECT orders; a few per side make a stable median. */
const MIN_TRACES = 8;

/** The median of a uniform [lo, hi) draw is its midpoint. */
const mid = ([lo, hi]: [number, number]): number => (lo + hi) / 2;
/**
 * The expected gap of `SELECT orders` on the critical path: its span is the database wait, which is
 * the tenant's latency draw plus, for globex, the injected slowdown; the span has no children, so
 * all of it is self-time on the path. The row building (same work for both tenants) cancels out.
 */
const EXPECTED_GAP_MS = SLOW_MS + mid(DB_LATENCY.globex as [number, number]) - mid(DB_LATENCY.acme as [number, number]);

let influxd: Influxd;
let dataDir: string;
let onInflux: Gateway;
let embedded: Gateway;
let tee: { url: string; close(): Promise<void> };
let backend: { url: string; close(): Promise<void> };
let browser: Browser;

/**
 * An HTTP tee: each request is sent to every target with the same method, path, headers and body;
 * the first target's answer is returned (the others must answer 2xx too, or the caller gets a 502,
 * so a store that refuses data fails the test instead of hiding).
 */
async function startTee(targets: readonly string[]): Promise<{ url: string; close(): Promise<void> }> {
  const send = (target: string, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const u = new URL(target);
      const req = request({ host: u.hostname, port: u.port, method, path, headers: { ...headers, host: u.host } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      Promise.all(targets.map((t) => send(t, req.method ?? 'GET', req.url ?? '/', req.headers, body)))
        .then(([first, ...rest]) => {
          const bad = rest.find((r) => r.status >= 300);
          if (first === undefined || bad !== undefined) {
            res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `a tee target answered ${bad?.status ?? 'nothing'}` }));
            return;
          }
          res.writeHead(first.status, first.headers).end(first.body);
        })
        .catch((err: unknown) => res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message })));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface CriticalPathAnswer {
  traces: { a: number; b: number };
  rows: Array<{ service: string; name: string; gapMs: number | null }>;
}

async function criticalPath(gw: Gateway): Promise<CriticalPathAnswer> {
  const q = new URLSearchParams({ a: 'acme', b: 'globex', operation: OPERATION, from: '-15m' });
  const res = await fetch(`${gw.url}/api/v1/compare/critical-path?${q}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as CriticalPathAnswer;
}

before(async () => {
  await buildDemo(() => undefined); // the console the gateways serve (built only when stale)
  influxd = await startInfluxd();
  dataDir = await mkdtemp(join(tmpdir(), 'tenantlens-console-influxd-'));
  const common = { TENANT_AUTH: 'jwt', JWT_SECRET: SECRET, ADMIN_TOKEN: ADMIN, FLUSH_INTERVAL_MILLIS: '100' };
  [onInflux, embedded] = await Promise.all([
    startGateway({ ...common, INFLUX_URL: influxd.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens' }),
    startGateway({ ...common, DATA_DIR: dataDir }),
  ]);
  tee = await startTee([onInflux.url, embedded.url]);
  backend = await startDemoBackend({ port: 0, host: '127.0.0.1', gatewayUrl: tee.url, jwtSecret: SECRET, staticDir: undefined });
  browser = await launchChromium();

  // Demo traffic for every tenant, globex's report query slowed from the start to the end.
  const traffic = launch(process.execPath, ['--import', 'tsx', TRAFFIC, '--url', backend.url, '--regress', 'globex', '--warmup', '0', '--regress-for', '30', '--recover-for', '0', '--slow-ms', String(SLOW_MS), '--concurrency', '6']);
  const code = await traffic.done();
  assert.equal(code, 0, `demo traffic failed:\n${traffic.tail()}`);
});

after(async () => {
  await browser?.close();
  await backend?.close();
  await tee?.close();
  await Promise.all([onInflux?.stop(), embedded?.stop()]);
  await influxd?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

test('influxd: the operator sees the three demo tenants and one P99 line per tenant', async () => {
  const c = await openConsole(browser, onInflux.url, ADMIN);
  try {
    const rows = await pollUntil(() => tenantRows(c.page), (r) => TENANTS.every((t) => r.includes(t)), 30_000);
    assert.deepEqual([...rows].sort(), TENANTS, `the three demo tenants (${rows.join(', ')})`);
    const lines = await pollUntil(() => chartSeries(c.page, 'p99-chart'), (s) => s.length === 3, 20_000);
    assert.deepEqual([...lines].sort(), TENANTS, 'one P99 line per tenant');
    assert.deepEqual(c.errors, [], 'no page errors');
    assert.deepEqual(c.cspViolations, [], 'nothing the CSP blocks');
  } finally {
    await c.close();
  }
});

test('influxd: a tenant token sees its own tenant only; a URL to another tenant shows "not allowed"', async () => {
  const c = await openConsole(browser, onInflux.url, await mintTenantJwt(SECRET, 'globex'));
  const { page } = c;
  try {
    await page.locator('tr[data-tenant="globex"]').waitFor({ timeout: 30_000 });
    assert.deepEqual(await tenantRows(page), ['globex']);
    assert.deepEqual(await pollUntil(() => chartSeries(page, 'p99-chart'), (s) => s.length > 0, 20_000), ['globex']);
    const body = await page.locator('body').innerText();
    for (const other of ['acme', 'initech']) assert.ok(!body.includes(other), `no mention of ${other}`);

    await goHash(page, '#/tenant/acme');
    await page.getByTestId('not-allowed').waitFor();
    assert.ok(!c.apiRequests.some((p) => p.includes('acme')), `the console never asked for acme: ${c.apiRequests.filter((p) => p.includes('acme')).join(', ')}`);
    await goHash(page, '#/tenant/globex');
    await page.getByTestId('sessions').locator('tbody tr').first().waitFor({ timeout: 20_000 });
    assert.deepEqual(c.errors, [], 'no page errors');
  } finally {
    await c.close();
  }
});

for (const [store, gw] of [['embedded store', () => embedded], ['influxd', () => onInflux]] as const) {
  test(`${store}: the compare page ranks globex's slowed database span first on its critical path, gap within 20% of the slowdown`, async (t) => {
    // Backend spans leave the demo backend in batches: wait until both sides have enough traces.
    const api = await pollUntil(() => criticalPath(gw()), (a) => a.traces.a >= MIN_TRACES && a.traces.b >= MIN_TRACES, 30_000);
    assert.ok(api.traces.a >= MIN_TRACES && api.traces.b >= MIN_TRACES, `enough ${OPERATION} traces: ${JSON.stringify(api.traces)}`);

    const c = await openConsole(browser, gw().url, ADMIN, `#/compare?a=acme&b=globex&operation=${OPERATION}&range=15m`);
    try {
      const rows = await pollUntil(() => criticalPathRows(c.page), (r) => r.length > 0, 20_000);
      const top = rows[0];
      assert.ok(top !== undefined, 'critical-path rows on the page');
      assert.equal(`${top.service} ${top.name}`, 'demo-backend SELECT orders', `ranked first: ${rows.map((r) => `${r.rank}. ${r.service} ${r.name} ${r.gapMs}`).join('; ')}`);
      assert.equal(top.rank, 1);
      const off = Math.abs(top.gapMs - EXPECTED_GAP_MS) / EXPECTED_GAP_MS;
      t.diagnostic(`${store}: ${top.service} ${top.name} ${top.gapMs} ms vs expected ${EXPECTED_GAP_MS} ms over ${api.traces.a} / ${api.traces.b} traces`);
      assert.ok(off <= 0.2, `gap ${top.gapMs} ms vs expected ${EXPECTED_GAP_MS} ms (${(off * 100).toFixed(1)}% off)`);
      assert.match(top.text, /on globex's critical path/);
      assert.deepEqual(c.errors, [], 'no page errors');
    } finally {
      await c.close();
    }
  });
}

test('the custom range inputs follow the range when it changes through the URL', async () => {
  // openConsole's browser runs in Europe/Berlin, UTC+1 in December: the inputs show local time.
  const c = await openConsole(browser, onInflux.url, ADMIN, '#/?from=2026-12-01T10:00:00.000Z&to=2026-12-01T11:30:00.000Z');
  const { page } = c;
  try {
    const inputs = async (): Promise<[string, string]> => [await page.getByTestId('range-from').inputValue(), await page.getByTestId('range-to').inputValue()];
    await page.getByTestId('range-from').waitFor();
    assert.deepEqual(await inputs(), ['2026-12-01T11:00', '2026-12-01T12:30'], 'a custom range in the URL opens the form with its ends');

    // Another custom range through the URL (a link, the back button): the inputs follow it.
    await goHash(page, '#/?from=2026-12-02T08:30:00.000Z&to=2026-12-02T09:45:00.000Z');
    assert.deepEqual(await pollUntil(inputs, (v) => v[0] === '2026-12-02T09:30', 5_000, 100), ['2026-12-02T09:30', '2026-12-02T10:45']);
    await page.goBack();
    assert.deepEqual(await pollUntil(inputs, (v) => v[0] === '2026-12-01T11:00', 5_000, 100), ['2026-12-01T11:00', '2026-12-01T12:30'], 'back to the first range');

    // A preset through the URL closes the form, as its button does; reopened, it shows that preset's window.
    await goHash(page, '#/?range=6h');
    await pollUntil(() => page.getByTestId('range-from').count(), (n) => n === 0, 5_000, 100);
    assert.equal(await page.getByTestId('range-from').count(), 0, 'the form closed');
    await page.getByTestId('range-custom').click();
    const [from, to] = await inputs();
    const hours = (Date.parse(to) - Date.parse(from)) / 3_600_000;
    assert.equal(hours, 6, `a 6 h window (${from} → ${to})`);
    assert.deepEqual(c.errors, [], 'no page errors');
  } finally {
    await c.close();
  }
});
