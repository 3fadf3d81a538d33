/**
 * The web SDK in a real browser: Debian's headless Chromium (driven by playwright-core) loads a
 * React + MobX page bundled from the package; its spans go through the real gateway (CORS,
 * tenant from the X-Tenant-ID header the SDK's `headers` option sends) into a real influxd.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { bundleForBrowser, launchChromium, servePage, startStandInGateway, type PageServer } from '../harness/browser.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd, type InfluxSeries } from '../harness/influxd.ts';

const PAGE = fileURLToPath(new URL('../web-sdk/test/browser/page.ts', import.meta.url));
const USERS = [
  { id: 1, name: 'Ada' },
  { id: 2, name: 'Grace' },
  { id: 3, name: 'Linus' },
];

let influx: Influxd;
let gw: Gateway;
let site: PageServer;
let browser: Browser;

before(async () => {
  const [db, js] = await Promise.all([startInfluxd(), bundleForBrowser(PAGE)]);
  influx = db;
  site = await servePage(js, () => USERS);
  gw = await startGateway({
    INFLUX_URL: influx.url,
    INFLUX_API_VERSION: '1',
    INFLUX_BUCKET: 'tenantlens',
    TENANT_AUTH: 'header',
    CORS_ORIGINS: site.url, // the page's origin (another port than the gateway: cross-origin)
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.stop();
  await site?.close();
  await influx?.close();
});

type Row = Record<string, unknown>;

function rows(series: InfluxSeries[]): Row[] {
  return series.flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
}

/**
 * Polls until `q` returns at least `n` rows: the gateway writes to influxd in batches. `poke`
 * runs before each poll (e.g. flush the page: the fetch instrumentation ends its span a few
 * hundred milliseconds after the response, waiting for resource timings).
 */
async function waitRows(q: string, n: number, poke?: () => Promise<unknown>, timeoutMs = 15_000): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await poke?.();
    const r = rows(await influx.query(q));
    if (r.length >= n) return r;
    if (Date.now() > deadline) throw new Error(`expected ${n} rows for ${q}, got ${r.length}: ${JSON.stringify(r)}\ngateway: ${gw.proc.tail()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Opens the page in a fresh browser context (own sessionStorage, caches and preflight cache). */
async function openPage(tenant: string, gateway = gw.url): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${site.url}/?gateway=${encodeURIComponent(gateway)}&tenant=${tenant}`);
  await page.waitForFunction('window.tenantlens !== undefined && document.getElementById("load") !== null');
  return { page, errors };
}

interface Stats {
  spansExported: number;
  spansDropped: number;
}

test('a click runs a traced flow; its spans arrive in influxd as frontend_performance rows with view, action, session, element_count and tenant', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPage('acme');
  await page.click('#load');
  await page.waitForFunction('document.getElementById("status")?.textContent === "3 users"');
  const sessionId = (await page.evaluate('window.tenantlens.sessionId()')) as string;
  assert.match(sessionId, /^[0-9a-f]{32}$/);
  const found = await waitRows(`SELECT * FROM frontend_performance WHERE session_id = '${sessionId}'`, 3, () => page.evaluate('window.tenantlens.flush()'));
  const byAction = new Map(found.map((r) => [r.action_name ?? '(none)', r]));
  const flow = byAction.get('loadUsers');
  const transition = byAction.get('fetchUsers');
  const fetchRow = found.find((r) => r.action_name === null || r.action_name === undefined);
  assert.ok(flow && transition && fetchRow, JSON.stringify(found));
  for (const r of [flow, transition, fetchRow]) {
    assert.equal(r.tenant_id, 'acme');
    assert.equal(r.view_name, 'UserListView');
    assert.equal(r.session_id, sessionId);
    assert.equal(r.service_name, 'browser-test');
    assert.ok(Number.isInteger(r.duration_ms) && (r.duration_ms as number) >= 0);
  }
  assert.equal(transition.element_count, 3);
  assert.equal(flow.element_count, null);

  // One trace from the click to the backend: the fetch made after the flow's first yield carried
  // a traceparent in the flow's trace, and its span is in that trace too.
  const [apiCall] = site.apiRequests;
  const traceparent = String(apiCall?.headers.traceparent);
  assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(traceparent.split('-')[1], flow.trace_id);
  assert.equal(fetchRow.trace_id, flow.trace_id);
  assert.equal(traceparent.split('-')[2], fetchRow.span_id);

  const stats = (await page.evaluate('window.tenantlens.stats()')) as Stats;
  assert.equal(stats.spansDropped, 0);
  assert.ok(stats.spansExported >= 3);
  assert.deepEqual(errors, []);
  // The web SDK's OTLP/JSON took the gateway's JSON fast path (ingest/json-trace-lines.ts), every request of it.
  assert.ok((await gw.metric('tenantlens_trace_requests_encoded_total', { encoding: 'json', path: 'fused' })) > 0, 'the web SDK bodies were fused');
  assert.equal(await gw.metric('tenantlens_trace_requests_encoded_total', { encoding: 'json', path: 'reference' }), 0, 'no web SDK body was handed back to the reference path');
  await page.context().close();
});

test('closing the page right after an action still delivers its span (flush on page hide, keepalive fetch)', { timeout: 60_000 }, async () => {
  const { page } = await openPage('globex');
  const sessionId = (await page.evaluate('window.tenantlens.sessionId()')) as string;
  await page.click('#select');
  const before = (await page.evaluate('window.tenantlens.stats()')) as Stats;
  assert.equal(before.spansExported, 0, 'nothing sent before the page goes away');
  const context = page.context();
  await page.close({ runBeforeUnload: true });

  const [row] = await waitRows(`SELECT * FROM frontend_performance WHERE session_id = '${sessionId}' AND action_name = 'selectUser'`, 1);
  assert.equal(row?.tenant_id, 'globex');
  assert.equal(row?.view_name, 'UserListView');
  await context.close();
});

test('in the browser, a 503 is retried after its Retry-After and a 400 is not (stand-in gateway)', { timeout: 60_000 }, async () => {
  // The real gateway cannot be made to answer 503 on demand; this stand-in answers 503 with
  // Retry-After: 2, then 200, then 400.
  const standIn = await startStandInGateway(site.url, (n) =>
    n === 1 ? { status: 503, headers: { 'retry-after': '2' } } : n === 2 ? { status: 200 } : { status: 400 },
  );
  try {
    const { page } = await openPage('acme', standIn.url);
    await page.click('#select');
    await page.evaluate('window.tenantlens.flush()'); // resolves once the retry succeeded
    const [first, second] = standIn.posts;
    assert.ok(first && second, `${standIn.posts.length} posts`);
    // The exporter's own backoff would be about 1 s; 2 s means the header was read and obeyed.
    assert.ok(second.at - first.at >= 1_900, `retried after ${second.at - first.at} ms`);
    assert.equal(second.body, first.body, 'the same batch is sent again');
    await page.click('#select');
    await page.evaluate('window.tenantlens.flush()');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(standIn.posts.length, 3, 'a 400 is not retried');
    const stats = (await page.evaluate('window.tenantlens.stats()')) as Stats & { dropped: { exportFailed: number } };
    assert.equal(stats.spansExported, 1);
    assert.equal(stats.dropped.exportFailed, 1);
    await page.context().close();
  } finally {
    await standIn.close();
  }
});
