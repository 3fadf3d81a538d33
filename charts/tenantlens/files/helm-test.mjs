// Run by the `helm test` pod (templates/tests/test-otlp-span.yaml) with the gateway's own env.
/* global process, console, Buffer, fetch, AbortSignal -- Node.js globals; this file runs under node, not in a browser. */
import { createHmac, randomBytes } from 'node:crypto';

const env = process.env;
const url = env.GATEWAY_URL;
const timeout = Number(env.TIMEOUT_MILLIS ?? '10000');
const tenant = 'helm-test';
const fail = (message) => {
  console.error(`FAIL: ${message}`);
  process.exit(1);
};

const headers = { 'content-type': 'application/json' };
let expected = 200;
if (env.TENANT_AUTH === 'header') {
  headers[env.TENANT_HEADER ?? 'X-Tenant-ID'] = tenant;
} else if ((env.JWT_SECRET ?? '') !== '') {
  // HS256/384/512, whichever the gateway allows first (JWT_ALGORITHMS; default HS256).
  const alg = (env.JWT_ALGORITHMS ?? 'HS256').split(',').map((a) => a.trim()).find((a) => /^HS(256|384|512)$/.test(a)) ?? 'HS256';
  const now = Math.floor(Date.now() / 1000);
  const claims = { [env.TENANT_CLAIM ?? 'tenant_id']: tenant, iat: now, exp: now + 300 };
  if (env.JWT_ISSUER) claims.iss = env.JWT_ISSUER;
  if (env.JWT_AUDIENCE) claims.aud = env.JWT_AUDIENCE;
  const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${b64url({ alg, typ: 'JWT' })}.${b64url(claims)}`;
  const signature = createHmac(`sha${alg.slice(2)}`, env.JWT_SECRET).update(unsigned).digest('base64url');
  headers.authorization = `Bearer ${unsigned}.${signature}`;
} else {
  // JWKS or public key: this pod holds no private key, so it checks the refusal instead.
  expected = 401;
}

const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeout) });
if (ready.status !== 200) fail(`GET /readyz answered ${ready.status}: ${await ready.text()}`);

const end = BigInt(Date.now()) * 1_000_000n;
const span = {
  traceId: randomBytes(16).toString('hex'),
  spanId: randomBytes(8).toString('hex'),
  name: 'helm test',
  kind: 2,
  startTimeUnixNano: String(end - 5_000_000n),
  endTimeUnixNano: String(end),
  attributes: [{ key: 'http.route', value: { stringValue: '/helm-test' } }],
};
const body = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tenantlens-helm-test' } }] },
      scopeSpans: [{ scope: { name: 'tenantlens-helm-test' }, spans: [span] }],
    },
  ],
};
const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeout) });
const text = await res.text();
if (res.status !== expected) fail(`POST /v1/traces answered ${res.status}, expected ${expected}: ${text}`);
if (expected === 200 && JSON.parse(text).partialSuccess !== undefined) fail(`the gateway refused the span: ${text}`);
console.log(
  expected === 200
    ? `OK: span ${span.traceId} accepted for tenant ${tenant} (${env.TENANT_AUTH} mode)`
    : 'OK: unauthenticated span refused with 401 (jwt mode without an HMAC secret; no token to sign)',
);
