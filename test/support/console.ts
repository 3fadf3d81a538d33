import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SignJWT } from 'jose';

/**
 * Driving the console (console/, served by the gateway at /console/) in a real browser, for the
 * e2e tests on either store. Selectors are the console's stable data-testid / data-* attributes.
 */
export interface ConsolePage {
  readonly ctx: BrowserContext;
  readonly page: Page;
  /** Uncaught page errors. */
  readonly errors: string[];
  /** Console messages reporting a Content-Security-Policy violation (the gateway's CSP is strict). */
  readonly cspViolations: string[];
  /** Every /api/v1 path the page requested (with query), in order. */
  readonly apiRequests: string[];
  close(): Promise<void>;
}

/** Opens the console at `hash` (e.g. `#/tenant/acme`), signed in with `token` through the `#token=` link. */
export async function openConsole(browser: Browser, gatewayUrl: string, token: string | undefined, hash = '#/'): Promise<ConsolePage> {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 1000 }, timezoneId: 'Europe/Berlin' });
  const page = await ctx.newPage();
  const errors: string[] = [];
  const cspViolations: string[] = [];
  const apiRequests: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/v1/')) apiRequests.push(`${u.pathname}${u.search}`);
  });
  if (token !== undefined) {
    await page.goto(`${gatewayUrl}/console/#token=${encodeURIComponent(token)}`);
    await waitTokenRead(page);
    if (hash !== '#/') await goHash(page, hash);
  } else await page.goto(`${gatewayUrl}/console/${hash}`);
  return {
    ctx,
    page,
    errors,
    cspViolations,
    apiRequests,
    async close() {
      // Closing the page fires pagehide: the console's SDK flushes its spans then.
      await page.close({ runBeforeUnload: true });
      await ctx.close();
    },
  };
}

// The root tsconfig has no DOM types: page-side code is passed as strings to evaluate (CDP, not
// subject to the page's CSP); anything polled is polled from here.

async function waitTokenRead(page: Page): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (new URL(page.url()).hash.startsWith('#token=')) {
    if (Date.now() > deadline) throw new Error('the console did not take the token from the URL');
    await page.waitForTimeout(50);
  }
}

/** Navigates the console to a hash route (`#/tenant/acme?range=6h`). */
export async function goHash(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

/**
 * Waits until the hash route starts with `prefix` and contains every one of `parts`. Polled from
 * here: waitForFunction with a string compiles it in the page, which the console's CSP forbids.
 */
export async function waitHash(page: Page, prefix: string, ...parts: string[]): Promise<void> {
  const ok = (): boolean => {
    const hash = new URL(page.url()).hash;
    return hash.startsWith(prefix) && parts.every((p) => hash.includes(p));
  };
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`the console's URL did not become ${prefix}…${parts.join('…')}: ${page.url()}`);
    await page.waitForTimeout(50);
  }
}

/** Waits until no section of the console is loading or refreshing (`aria-busy`). */
export async function waitIdle(page: Page, timeoutMs = 20_000): Promise<void> {
  const busy = page.locator('[aria-busy="true"]');
  const deadline = Date.now() + timeoutMs;
  while ((await busy.count()) > 0) {
    if (Date.now() > deadline) throw new Error('the console is still loading');
    await page.waitForTimeout(100);
  }
}

/** The token the console keeps in sessionStorage (null when signed out). */
export async function storedToken(page: Page): Promise<string | null> {
  return page.evaluate("sessionStorage.getItem('tenantlens.console.token')");
}

/** Polls `read` until `ok` holds or the deadline passes; returns the last value read. */
export async function pollUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Tenant rows of the tenants view, in table order. */
export async function tenantRows(page: Page): Promise<string[]> {
  return page.locator('[data-testid="tenant-table"] tbody tr[data-tenant]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tenant') ?? ''));
}

/** A tenant's frontend p99 (ms) from the tenants table, undefined when absent or empty. */
export async function tenantP99(page: Page, tenant: string): Promise<number | undefined> {
  const cell = page.getByTestId(`p99-${tenant}`);
  if ((await cell.count()) === 0) return undefined;
  const v = await cell.getAttribute('data-value');
  return v === null || v === '' ? undefined : Number(v);
}

/** The series ids drawn as lines in a chart (`p99-chart`, `tenant-p99-chart`). */
export async function chartSeries(page: Page, chartTestId: string): Promise<string[]> {
  return page.locator(`[data-testid="${chartTestId}"] path[data-series]`).evaluateAll((ps) => ps.map((p) => p.getAttribute('data-series') ?? ''));
}

export interface CriticalPathRowSeen {
  readonly rank: number;
  readonly service: string;
  readonly name: string;
  readonly gapMs: number;
  readonly text: string;
}

/** The compare view's critical-path rows, in rank order. */
export async function criticalPathRows(page: Page): Promise<CriticalPathRowSeen[]> {
  return page.locator('[data-testid="cp-row"]').evaluateAll((rows) =>
    rows.map((r) => ({
      rank: Number(r.getAttribute('data-rank')),
      service: r.getAttribute('data-service') ?? '',
      name: r.getAttribute('data-name') ?? '',
      gapMs: Number(r.getAttribute('data-gap')),
      text: (r.textContent ?? '').replace(/\s+/g, ' ').trim(),
    })),
  );
}

/** A tenant JWT as the demo backend mints them (HS256, `tenant_id` claim). */
export function mintTenantJwt(secret: string, tenant: string, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT({ tenant_id: tenant })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(typeof expiresIn === 'number' && expiresIn < 0 ? Math.floor(Date.now() / 1000) + expiresIn - 60 : undefined)
    .setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn)
    .sign(new TextEncoder().encode(secret));
}
