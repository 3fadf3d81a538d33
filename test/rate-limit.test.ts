import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startGateway, type Gateway } from '../harness/gateway.ts';

const ADMIN = 'operator-token-for-the-rate-limit-test';
let gw: Gateway;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenantlens-rate-'));
  gw = await startGateway({ DATA_DIR: dir, TENANT_AUTH: 'header', ADMIN_TOKEN: ADMIN, TENANT_RATE_LIMIT: '300', TENANT_RATE_BURST: '300' });
});
after(async () => {
  await gw?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** 100 frontend spans (view_name), so they show up in the tenant counts. */
function body(): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: 100 }, (_, i) => ({
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    name: 'click',
    kind: 1,
    startTimeUnixNano: String(now + BigInt(i) * 1000n),
    endTimeUnixNano: String(now + BigInt(i) * 1000n + 5_000_000n),
    attributes: [{ key: 'view_name', value: { stringValue: 'Home' } }],
  }));
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
}

const send = (tenant: string): Promise<Response> =>
  fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body: body() });

async function frontendCount(tenant: string): Promise<number> {
  const res = await fetch(`${gw.url}/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const { tenants } = (await res.json()) as { tenants: Array<{ tenant: string; frontend: { count: number } }> };
  return tenants.find((t) => t.tenant === tenant)?.frontend.count ?? 0;
}

test('TENANT_RATE_LIMIT: a flooding tenant gets 429 + Retry-After, another tenant is untouched, nothing refused is written', async () => {
  let ok = 0;
  let limited: Response | undefined;
  for (let i = 0; i < 12; i++) {
    const res = await send('acme');
    if (res.status === 200) ok++;
    else if (res.status === 429) limited ??= res;
    else assert.fail(`unexpected ${res.status}`);
  }
  assert.ok(limited !== undefined, 'acme was limited');
  assert.ok(ok >= 3 && ok <= 6, `about the burst (300 spans) got through: ${ok} requests of 100`);
  assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  const status = (await limited.json()) as { message: string };
  assert.match(status.message, /TENANT_RATE_LIMIT/);

  // globex has its own budget.
  assert.equal((await send('globex')).status, 200);

  // Only the admitted requests were stored.
  const deadline = Date.now() + 10_000;
  while ((await frontendCount('acme')) < ok * 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await frontendCount('acme'), ok * 100);
  assert.equal(await frontendCount('globex'), 100);
  assert.ok((await gw.metric('tenantlens_requests_refused_total', { reason: 'TL_RATE_LIMITED' })) >= 1);

  // After Retry-After, acme is admitted again.
  await new Promise((r) => setTimeout(r, Number(limited.headers.get('retry-after')) * 1000 + 100));
  assert.equal((await send('acme')).status, 200);
});
