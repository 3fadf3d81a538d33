/**
 * Web vitals, errors, long tasks and navigation from a real browser: Debian's headless Chromium
 * loads web-sdk/test/browser/vitals-page.ts; everything goes through the real gateway into a real
 * influxd (`web_vitals`, `frontend_errors`, `frontend_performance`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { bundleForBrowser, launchChromium, servePage, type PageServer } from '../harness/browser.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd, type InfluxSeries } from '../harness/influxd.ts';

const PAGE = fileURLToPath(new URL('../web-sdk/test/browser/vitals-page.ts', import.meta.url));

/** A 640×400 24-bit BMP of noise: Chromium leaves low-entropy images out of LCP. */
function noisyBmp(width: number, height: number): Buffer {
  const pixels = width * height * 3; // rows of 1920 bytes: already 4-byte aligned
  const header = Buffer.alloc(54);
  header.write('BM', 0);
  header.writeUInt32LE(54 + pixels, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(pixels, 34);
  return Buffer.concat([header, randomBytes(pixels)]);
}

type Row = Record<string, unknown>;
let influx: Influxd;
let gw: Gateway;
let site: PageServer;
let browser: Browser;
let sessionId = '';

function rows(series: InfluxSeries[]): Row[] {
  return series.flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
}

async function waitRows(q: string, n: number, timeoutMs = 15_000): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = rows(await influx.query(q));
    if (r.length >= n) return r;
    if (Date.now() > deadline) throw new Error(`expected ${n} rows for ${q}, got ${r.length}: ${JSON.stringify(r)}\ngateway: ${gw.proc.tail()}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** Drives the page once; the tests below read what arrived. */
async function drive(page: Page): Promise<void> {
  await page.goto(`${site.url}/?gateway=${encodeURIComponent(gw.url)}&tenant=acme`);
  await page.waitForFunction('window.tenantlens !== undefined && window.heroLoaded === true');
  await page.waitForTimeout(300); // the hero's paint, then LCP is final at the first input
  sessionId = (await page.evaluate('window.tenantlens.sessionId()')) as string;
  await page.click('#busy');
  await page.waitForTimeout(100);
  await page.click('#block');
  for (const id of ['#throw', '#reject', '#burst', '#secret', '#scrub']) await page.click(id);
  await page.waitForTimeout(1_300); // the burst window (1 s) closes
  await page.click('#nav');
  await page.waitForSelector('#second');
  await page.waitForTimeout(200);
  await page.evaluate('window.tenantlens.flush()');
  // CLS and INP are reported when the page is hidden: leave it.
  await page.goto('about:blank');
}

before(async () => {
  const [db, js] = await Promise.all([startInfluxd(), bundleForBrowser(PAGE)]);
  influx = db;
  site = await servePage(js, () => ({}), new Map([['/img/hero.bmp', { type: 'image/bmp', body: noisyBmp(640, 400), delayMs: 300 }]]));
  gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', CORS_ORIGINS: site.url });
  browser = await launchChromium();
  const page = await (await browser.newContext()).newPage();
  await drive(page);
});

after(async () => {
  await browser?.close();
  await gw?.stop();
  await site?.close();
  await influx?.close();
});

test('LCP, CLS, INP, FCP and TTFB arrive as web_vitals rows with tenant, view, rating and attribution', { timeout: 60_000 }, async () => {
  const found = await waitRows(`SELECT * FROM web_vitals WHERE session_id = '${sessionId}'`, 5);
  const by = new Map(found.map((r) => [r.metric, r]));
  console.log('vitals measured:', JSON.stringify(found.map((r) => ({ metric: r.metric, value: r.value, rating: r.rating, view: r.view_name, attribution: r.attribution }))));
  assert.deepEqual([...by.keys()].sort(), ['CLS', 'FCP', 'INP', 'LCP', 'TTFB']);
  for (const r of found) {
    assert.equal(r.tenant_id, 'acme');
    assert.equal(r.service_name, 'vitals-test');
    assert.equal(r.navigation_type, 'navigate');
    assert.match(String(r.rating), /^(good|needs-improvement|poor)$/);
  }
  const lcp = by.get('LCP') as Row;
  assert.equal(lcp.view_name, 'VitalsView');
  assert.ok((lcp.value as number) >= 500, `LCP ${String(lcp.value)} ms: the late image`);
  const lcpAttr = JSON.parse(String(lcp.attribution)) as Record<string, unknown>;
  assert.equal(lcpAttr.target, '#hero');
  assert.equal(lcpAttr.url, `${site.url}/img/hero.bmp`, 'query string stripped');
  const cls = by.get('CLS') as Row;
  assert.equal(cls.view_name, 'VitalsView', 'the view when the shift happened, not when it was reported');
  assert.ok((cls.value as number) > 0);
  assert.ok((JSON.parse(String(cls.attribution)) as { largest_shift_value: number }).largest_shift_value > 0);
  const inp = by.get('INP') as Row;
  assert.ok((inp.value as number) >= 300, `INP ${String(inp.value)} ms`);
  const inpAttr = JSON.parse(String(inp.attribution)) as Record<string, unknown>;
  assert.equal(inpAttr.interaction_target, '#busy');
  assert.ok((inpAttr.processing_duration as number) >= 290);
});

test('a thrown error and an unhandled rejection arrive as frontend_errors rows with stack and view; 50 identical errors are one row with count 50', { timeout: 60_000 }, async () => {
  const found = await waitRows(`SELECT * FROM frontend_errors WHERE session_id = '${sessionId}'`, 4);
  const byMessage = new Map(found.map((r) => [r.message, r]));
  const thrown = byMessage.get('boom at https://app.example/p') as Row;
  assert.ok(thrown, JSON.stringify(found));
  assert.equal(thrown.error_type, 'TypeError');
  assert.equal(thrown.view_name, 'VitalsView');
  assert.equal(thrown.tenant_id, 'acme');
  assert.equal(thrown.count, 1);
  assert.match(String(thrown.stack), /TypeError: boom[\s\S]*at .*app\.js:\d+:\d+/);
  const rejected = byMessage.get('rejected on purpose') as Row;
  assert.equal(rejected.error_type, 'RangeError');
  assert.match(String(rejected.stack), /app\.js/);
  const burst = byMessage.get('same error every time') as Row;
  assert.equal(burst.count, 50);
  assert.equal(found.filter((r) => r.message === 'same error every time').length, 1);
});

test('beforeSend drops one error and scrubs another', { timeout: 60_000 }, async () => {
  const found = await waitRows(`SELECT * FROM frontend_errors WHERE session_id = '${sessionId}'`, 4);
  assert.equal(found.filter((r) => String(r.message).includes('secret')).length, 0);
  assert.ok(found.some((r) => r.message === 'mail to [email] failed'), JSON.stringify(found.map((r) => r.message)));
});

test('a MobX reaction that blocks for 200 ms shows blocked_ms >= 200 on its action row', { timeout: 60_000 }, async () => {
  const [row] = await waitRows(`SELECT * FROM frontend_performance WHERE session_id = '${sessionId}' AND action_name = 'applyFilter'`, 1);
  console.log('blocked on applyFilter:', JSON.stringify({ duration_ms: row?.duration_ms, blocked_ms: row?.blocked_ms, long_tasks: row?.long_tasks }));
  assert.ok((row?.blocked_ms as number) >= 200, JSON.stringify(row));
  assert.ok((row?.long_tasks as number) >= 1);
});

test('a pushState navigation produces a navigation span named after the new view', { timeout: 60_000 }, async () => {
  const [row] = await waitRows(`SELECT * FROM frontend_performance WHERE session_id = '${sessionId}' AND action_name = 'navigation'`, 1);
  assert.equal(row?.view_name, 'SecondView');
  const [span] = await waitRows(`SELECT * FROM spans WHERE session_id = '${sessionId}' AND "name" = 'SecondView'`, 1);
  assert.equal(span?.['navigation.trigger'], 'push');
});
