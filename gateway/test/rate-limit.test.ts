import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, ConfigError } from '../src/config.ts';
import { createTenantRateLimiter } from '../src/tenancy/rate-limit.ts';

test('token bucket per tenant: burst, refill, debt, Retry-After, tenants independent', () => {
  let t = 0;
  const rl = createTenantRateLimiter({ spansPerSecond: 100, burst: 200, now: () => t });
  assert.deepEqual(rl.take('acme', 150), { ok: true });
  assert.deepEqual(rl.take('acme', 150), { ok: true }, 'admitted while positive, into debt (-100)');
  const refused = rl.take('acme', 1);
  assert.equal(refused.ok, false);
  assert.equal(refused.ok === false && refused.retryAfterSeconds, 2, '101 tokens to earn at 100/s → 2 s');
  assert.deepEqual(rl.take('globex', 200), { ok: true }, 'another tenant has its own bucket');
  t += 1000; // +100 → 0: still not positive
  assert.equal(rl.take('acme', 1).ok, false);
  t += 500; // +50 → 50
  assert.deepEqual(rl.take('acme', 1000), { ok: true }, 'a request larger than the burst passes once the bucket is positive');
  t += 60_000;
  assert.deepEqual(rl.take('acme', 200), { ok: true }, 'refill is capped at the burst, then spent');
  assert.equal(rl.take('acme', 1).ok, false);
});

test('the tenant map is bounded: the least recently seen tenant is forgotten', () => {
  const rl = createTenantRateLimiter({ spansPerSecond: 10, now: () => 0, maxTenants: 2 });
  assert.equal(rl.take('a', 10).ok, true);
  assert.equal(rl.take('a', 1).ok, false);
  rl.take('b', 1);
  rl.take('c', 1); // evicts 'a'
  assert.equal(rl.take('a', 1).ok, true, 'a forgotten tenant starts with a full bucket');
});

test('config: TENANT_RATE_LIMIT and TENANT_RATE_BURST', () => {
  assert.equal(loadConfig({ TENANT_AUTH: 'header' }).tenantRateLimit, undefined);
  assert.deepEqual(loadConfig({ TENANT_AUTH: 'header', TENANT_RATE_LIMIT: '500' }).tenantRateLimit, { spansPerSecond: 500, burst: 500 });
  assert.deepEqual(loadConfig({ TENANT_AUTH: 'header', TENANT_RATE_LIMIT: '500', TENANT_RATE_BURST: '2000' }).tenantRateLimit, { spansPerSecond: 500, burst: 2000 });
  assert.throws(() => loadConfig({ TENANT_AUTH: 'header', TENANT_RATE_BURST: '10' }), (e: unknown) => e instanceof ConfigError && e.variable === 'TENANT_RATE_BURST');
  assert.throws(() => loadConfig({ TENANT_AUTH: 'header', TENANT_RATE_LIMIT: 'fast' }), (e: unknown) => e instanceof ConfigError && e.variable === 'TENANT_RATE_LIMIT');
});
