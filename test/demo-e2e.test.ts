import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDemoBackend } from '../demo/backend/server.ts';
import { buildDemo } from '../demo/build.ts';
import { startIngress, type Ingress } from '../demo/ingress.ts';
import { requireBinary } from './support/binaries.ts';
import { startGateway, type Gateway } from './support/gateway.ts';
import { launch } from './support/process.ts';

/**
 * The whole demo stack, as `npm start` runs it (gateway on the embedded store, demo backend behind
 * the instrumented ingress, built web app), clicked through in headless Debian Chromium as two tenants.
 */
const SECRET = 'e2e-demo-secret-that-is-long-enough-for-hs256';
const ADMIN = 'e2e-demo-operator-token-long-enough';
const SHOTS = fileURLToPath(new URL('../test-output/demo/', import.meta.url));
const TRAFFIC = fileURLToPath(new URL('../demo/traffic.ts', import.meta.url));
/** Like `npm start` (demo/start.ts), shorter still: 6 s windows evaluated every second. */
const DEMO_ALERTS = { ALERT_INTERVAL: '1s', ALERT_WINDOW: '6s', ALERT_BASELINE_WINDOWS: '6', ALERT_BASELINE_MIN_WINDOWS: '2', ALERT_MIN_SAMPLES: '3', ALERT_FLOOR_MS: '500' };

let dataDir: string;
let gateway: Gateway;
let backend: { url: string; close(): Promise<void> };
/** What the browser talks to, as in `npm start`: the instrumented ingress in front of the backend. */
let ingress: Ingress;
const INFRA_TOKEN = 'e2e-demo-ingress-token-long-enough';
let browser: Browser;

before(async () => {
  requireBinary('/usr/bin/chromium', 'chromium');
  const staticDir = await buildDemo(() => undefined);
  dataDir = await mkdtemp(join(tmpdir(), 'tenantlens-demo-'));
  await mkdir(SHOTS, { recursive: true });
  gateway = await startGateway({ DATA_DIR: dataDir, TENANT_AUTH: 'jwt', JWT_SECRET: SECRET, ADMIN_TOKEN: ADMIN, FLUSH_INTERVAL_MILLIS: '100', INFRA_TOKEN, ...DEMO_ALERTS });
  backend = await startDemoBackend({ port: 0, host: '127.0.0.1', gatewayUrl: gateway.url, jwtSecret: SECRET, adminToken: ADMIN, staticDir });
  ingress = await startIngress({ upstream: backend.url, grpcEndpoint: `http://127.0.0.1:${gateway.grpcPort ?? 0}`, token: INFRA_TOKEN, tracePrefix: '/demo-api/' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  await ingress?.close();
  await backend?.close();
  await gateway?.stop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

async function useAppAs(tenant: string): Promise<void> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(ingress.url);
  await page.getByTestId(`login-${tenant}`).click();
  await page.getByTestId('current-tenant').filter({ hasText: tenant }).waitFor();
  await page.getByTestId('users').locator('tr').first().waitFor();
  for (let i = 0; i < 4; i++) {
    await page.getByTestId('reload-users').click();
    await page.getByTestId('reload-users').and(page.locator(':enabled')).waitFor();
  }
  await page.getByTestId('tab-report').click();
  await page.getByTestId('report-summary').filter({ hasText: 'orders' }).waitFor();
  await page.getByTestId('buckets').selectOption('80');
  await page.getByTestId('tab-users').click();
  await page.getByTestId('users').locator('tr').first().waitFor();
  // Leaving the page flushes the SDK's batch (pagehide).
  await page.close({ runBeforeUnload: true });
  await ctx.close();
  assert.deepEqual(errors, [], `no page errors as ${tenant}`);
}

async function tenantP99(page: Page, tenant: string): Promise<number | undefined> {
  const cell = page.getByTestId(`p99-${tenant}`);
  if ((await cell.count()) === 0) return undefined;
  const v = await cell.getAttribute('data-value');
  return v === null || v === '' ? undefined : Number(v);
}

test('two tenants use the app; the dashboard lists both (globex slower) and drills down to one browser → backend trace', async () => {
  await useAppAs('acme');
  await useAppAs('globex');

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(ingress.url);
  await page.getByTestId('login-acme').click();
  await page.getByTestId('tab-dashboard').click();
  // Spans arrive asynchronously (SDK batches, gateway buffer): the dashboard refreshes itself.
  const deadline = Date.now() + 45_000;
  let acme: number | undefined;
  let globex: number | undefined;
  while (Date.now() < deadline) {
    acme = await tenantP99(page, 'acme');
    globex = await tenantP99(page, 'globex');
    if (acme !== undefined && globex !== undefined) break;
    await page.waitForTimeout(1000);
  }
  await page.screenshot({ path: join(SHOTS, '1-tenants.png'), fullPage: true });
  assert.ok(acme !== undefined && globex !== undefined, `both tenants listed (acme ${acme}, globex ${globex})`);
  assert.ok(globex > acme, `globex p99 (${globex} ms) is above acme's (${acme} ms)`);
  assert.ok(acme > 0 && globex < 30_000, 'plausible values');

  await page.locator('tr[data-tenant="globex"]').click();
  await page.getByTestId('sessions').locator('tbody tr').first().waitFor();
  await page.screenshot({ path: join(SHOTS, '2-sessions.png'), fullPage: true });
  await page.getByTestId('sessions').locator('tbody tr').first().click();
  await page.getByTestId('traces').locator('tbody tr').first().waitFor();
  await page.screenshot({ path: join(SHOTS, '3-traces.png'), fullPage: true });

  // Find a trace that holds both the browser MobX span and the backend server span.
  const rows = page.getByTestId('traces').locator('tbody tr');
  let found = false;
  for (let i = 0; i < (await rows.count()) && !found; i++) {
    await rows.nth(i).click();
    await page.getByTestId('waterfall').waitFor();
    const browserSpans = await page.locator('[data-testid="waterfall"] .row[data-service="demo-web"]').count();
    const serverSpans = await page.locator('[data-testid="waterfall"] .row[data-service="demo-backend"][data-kind="server"]').count();
    const dbSpans = await page.locator('[data-testid="waterfall"] .row[data-service="demo-backend"][data-kind="client"]').count();
    const ingressSpans = await page.locator('[data-testid="waterfall"] .row[data-service="ingress"]').count();
    if (browserSpans > 0 && serverSpans > 0 && dbSpans > 0 && ingressSpans > 0) {
      found = true;
      await page.locator('[data-testid="waterfall"] .row[data-kind="server"]').first().click();
      await page.screenshot({ path: join(SHOTS, '4-waterfall.png'), fullPage: true });
    } else {
      await page.getByTestId('crumb-session').click();
      await page.getByTestId('traces').waitFor();
    }
  }
  assert.ok(found, 'a trace with the browser span, the ingress spans, the backend server span and the db span under one trace id');
  await ctx.close();
});

test('`demo:traffic --regress globex`: an alert fires in the dashboard, and its link opens globex\'s drill-down for the alert window', async () => {
  // Real traffic through the demo backend and the gateway: a baseline, then globex's report endpoint slowed by 2 s.
  const traffic = launch(process.execPath, ['--import', 'tsx', TRAFFIC, '--url', ingress.url, '--regress', 'globex', '--warmup', '16', '--regress-for', '60', '--recover-for', '0', '--slow-ms', '2000', '--concurrency', '6']);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  try {
    const page = await ctx.newPage();
    await page.goto(ingress.url);
    await page.getByTestId('login-acme').click();
    await page.getByTestId('tab-dashboard').click();
    // The regressed endpoint; its view (ReportView) may fire too, since it waits for that endpoint.
    const firing = page.locator('[data-testid="alerts"] tr[data-alert-tenant="globex"][data-state="firing"][data-dimension="/demo-api/report"]');
    await firing.first().waitFor({ timeout: 75_000 });
    assert.ok(!traffic.exited(), `traffic still running:\n${traffic.tail()}`);
    const row = (await firing.first().innerText()).replace(/\s+/g, ' ');
    assert.match(row, /firing globex endpoint \/demo-api\/report/, row);
    assert.ok(Number(await firing.first().getAttribute('data-p99')) >= 2000, `the 2 s regression is what fired: ${row}`);
    // docs/images/dashboard-alerts.png is a committed copy of this screenshot (not rewritten by tests).
    await page.screenshot({ path: join(SHOTS, '5-alerts.png'), fullPage: true });

    await firing.first().getByTestId('alert-link-globex').click();
    await page.getByTestId('crumb-tenant').filter({ hasText: 'globex' }).waitFor();
    await page.getByTestId('pinned-range').waitFor();
    await page.getByTestId('sessions').locator('tbody tr').first().waitFor({ timeout: 15_000 });
    assert.match(page.url(), /#dashboard\?tenant=globex&from=.+&to=.+/);
    await page.screenshot({ path: join(SHOTS, '6-alert-drilldown.png'), fullPage: true });
  } finally {
    await ctx.close();
    await traffic.stop();
  }
});

test('initech\'s filter reaction blocks the main thread on purpose: the drill-down shows blocked_ms on setFilter', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(ingress.url);
  await page.getByTestId('login-initech').click();
  await page.getByTestId('current-tenant').filter({ hasText: 'initech' }).waitFor();
  await page.getByTestId('tab-filter').click();
  await page.getByTestId('filter').pressSequentially('product-1', { delay: 50 });
  await page.getByTestId('filter-results').locator('li').first().waitFor();
  await page.close({ runBeforeUnload: true }); // pagehide flushes the batch
  await ctx.close();

  const api = async (path: string): Promise<Record<string, unknown>> =>
    (await (await fetch(`${gateway.url}/api/v1${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
  const deadline = Date.now() + 30_000;
  let blocked: number | undefined;
  while (Date.now() < deadline && blocked === undefined) {
    const traces = ((await api('/tenants/initech/traces?limit=200')).traces ?? []) as Array<{ traceId: string; rootName: string }>;
    for (const t of traces.filter((x) => x.rootName === 'setFilter')) {
      const spans = ((await api(`/traces/${t.traceId}`)).spans ?? []) as Array<{ name: string; attributes: Record<string, unknown> }>;
      const root = spans.find((s) => s.name === 'setFilter');
      if (typeof root?.attributes.blocked_ms === 'number') blocked = Math.max(blocked ?? 0, root.attributes.blocked_ms);
    }
    if (blocked === undefined) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(blocked !== undefined && blocked >= 200, `setFilter blocked the main thread ${String(blocked)} ms`);
});
