/**
 * `node --import tsx bench/console-render.ts`: how the console renders at scale, in Debian's
 * Chromium, with the API answered by synthetic data (this measures the UI, not the stores; the
 * API's own latencies are measured by bench/queries.ts):
 *
 * - the tenants view with 1,000 tenants and a P99 series of 60 points each: time from navigation
 *   to the table and the chart on screen, and a re-sort of the whole list;
 * - a tenant with 1,000 sessions (the API's most per request): time to the list, and a filter.
 *
 * Prints the median of 5 runs per figure. Builds the console first if it is not built.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchChromium } from '../harness/browser.ts';
import { machineLine } from './support/machine.ts';

const DIST = fileURLToPath(new URL('../console/dist/', import.meta.url));
const TENANTS = 1000;
const SESSIONS = 1000;
const RUNS = 5;

if (!existsSync(join(DIST, 'index.html'))) {
  const { buildConsole } = await import('../console/build.ts');
  await buildConsole(() => undefined);
}

const now = Date.now() * 1000;
const stats = (i: number) => ({ count: 100 + i, p50: 50 + (i % 97), p95: 200 + (i % 89), p99: 300 + ((i * 37) % 1000), errorRate: (i % 13) / 100 });
const tenants = Array.from({ length: TENANTS }, (_, i) => ({ tenant: `tenant-${String(i).padStart(4, '0')}`, frontend: stats(i), backend: stats(i + 1) }));
const series = tenants.map((t, i) => ({ tenant: t.tenant, key: '', points: Array.from({ length: 60 }, (_, k) => ({ t: now - (60 - k) * 60e6, value: 200 + ((i * 31 + k * 17) % 900), count: 10 })) }));
const sessions = Array.from({ length: SESSIONS }, (_, i) => ({ sessionId: `session-${i}`, spanCount: 6, p99Ms: 100 + ((i * 53) % 2000), maxMs: 100 + ((i * 53) % 2000), firstSeenMicros: now - i * 1e6, lastSeenMicros: now - i * 1e6 + 5e6 }));
const api: Record<string, unknown> = {
  '/api/v1/whoami': { admin: true, consoleTenant: 'tenantlens-console' },
  '/api/v1/tenants': { tenants },
  '/api/v1/timeseries': { metric: 'p99', group: 'tenant', side: 'frontend', stepMs: 60_000, fromMicros: now - 3600e6, toMicros: now, series },
  '/api/v1/alerts': { alerts: [] },
  '/api/v1/compare': { a: 'tenant-0001', b: 'tenant-0001', endpoints: [], views: [] },
  '/api/v1/tenants/tenant-0001/sessions': { tenant: 'tenant-0001', sessions },
  // The tenant page's vitals and errors panels: empty (the bench times the tables above).
  '/api/v1/vitals': { tenant: 'tenant-0001', view: null, by: 'tenant', groups: [] },
  '/api/v1/errors': { tenant: 'tenant-0001', counts: [], recent: [] },
};
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.map': 'application/json' };
const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path.startsWith('/api/v1/')) {
    const body = api[path] ?? (path === '/api/v1/timeseries' ? api[path] : { series: [], fromMicros: now - 3600e6, toMicros: now, stepMs: 60_000 });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return;
  }
  if (path.startsWith('/console/v1/')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  const file = join(DIST, path.replace(/^\/console\//, ''));
  const f = path.startsWith('/console/') && existsSync(file) && extname(file) !== '' ? file : join(DIST, 'index.html');
  res.writeHead(200, { 'content-type': TYPES[extname(f)] ?? 'application/octet-stream' }).end(readFileSync(f));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/console/`;
const browser = await launchChromium();

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function timed(page: Page, act: () => Promise<unknown>, ready: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await act();
  await ready();
  return Date.now() - t0;
}

const figures: Record<string, number[]> = { tenantsFirstRender: [], tenantsResort: [], sessionsFirstRender: [], sessionsFilter: [] };
for (let run = 0; run < RUNS; run++) {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await ctx.newPage();
  await page.goto(`${base}#token=bench`);
  await page.locator('[data-testid="sessions"], [data-testid="tenant-table"]').first().waitFor();
  figures.tenantsFirstRender?.push(
    await timed(page, () => page.goto(`${base}?r=${run}#/`), () => Promise.all([page.locator('[data-testid="tenant-table"] tbody tr[data-tenant]').first().waitFor(), page.locator('[data-testid="p99-chart"] path[data-series]').first().waitFor()])),
  );
  figures.tenantsResort?.push(
    await timed(page, () => page.locator('th button.sort', { hasText: 'count' }).first().click(), () => page.locator('th[aria-sort="descending"] button', { hasText: 'count' }).first().waitFor()),
  );
  figures.sessionsFirstRender?.push(await timed(page, () => page.evaluate("location.hash = '#/tenant/tenant-0001'"), () => page.locator('[data-testid="sessions"] tbody tr').first().waitFor()));
  figures.sessionsFilter?.push(
    await timed(page, () => page.getByTestId('min-duration').fill('1500'), () => page.locator('.pager span', { hasText: /of \d+ · [\d,]+ sessions/ }).first().waitFor()),
  );
  await ctx.close();
}
await browser.close();
server.close();

console.log(`\nconsole rendering at scale (synthetic API answers; median of ${RUNS} runs)\n${machineLine()}\n`);
console.log(`  tenants view, ${TENANTS} tenants + ${TENANTS} P99 series × 60 points: first render ${median(figures.tenantsFirstRender ?? [])} ms (page load included), re-sort ${median(figures.tenantsResort ?? [])} ms`);
console.log(`  tenant view, ${SESSIONS} sessions: first render ${median(figures.sessionsFirstRender ?? [])} ms, minimum-duration filter ${median(figures.sessionsFilter ?? [])} ms`);
