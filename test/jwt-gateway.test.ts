import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWTPayload } from 'jose';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { seriesRows, startInfluxd, waitForRows, type Influxd } from '../harness/influxd.ts';
import { freePort } from '../harness/ports.ts';

/**
 * Issue #7, JWT: a real gateway process verifying tokens against a real JWKS endpoint (node:http).
 * Every hostile token is a 401, nothing is written for it, and the gateway keeps serving good
 * tokens; a JWKS that cannot be fetched is a 401 too (TL_KEYS_UNAVAILABLE), while keys the gateway
 * already holds keep working through an outage of the key server.
 */

const ISS = 'https://id.example.com';
const AUD = 'tenantlens';
const BASE_NS = BigInt(Math.floor(Date.now() / 1000) - 600) * 1_000_000_000n;

let influx: Influxd;
let jwks: Server;
let jwksRequests = 0;
let gw: Gateway; // JWT_JWKS_URL → the server above
let orphan: Gateway; // JWT_JWKS_URL → a port nothing listens on
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };

const now = (): number => Math.floor(Date.now() / 1000);

async function token(payload: JWTPayload, o: { key?: CryptoKey | Uint8Array; alg?: string; kid?: string; iss?: string; aud?: string; exp?: number; nbf?: number } = {}): Promise<string> {
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: o.alg ?? 'RS256', kid: o.kid ?? 'rsa-1' })
    .setIssuedAt()
    .setIssuer(o.iss ?? ISS)
    .setAudience(o.aud ?? AUD)
    .setExpirationTime(o.exp ?? now() + 600);
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  return jwt.sign(o.key ?? rsa.privateKey);
}

function body(): string {
  const start = BASE_NS + BigInt(Math.floor(Math.random() * 1e9));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'jwt-e2e' } }] },
        scopeSpans: [{ spans: [{ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), name: 'op', kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1000n) }] }],
      },
    ],
  });
}

async function send(g: Gateway, bearer: string): Promise<Response> {
  return fetch(`${g.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: body(), signal: AbortSignal.timeout(15_000) });
}

before(async () => {
  rsa = await generateKeyPair('RS256');
  const set = JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }] });
  jwks = createServer((_req, res) => {
    jwksRequests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(set);
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  influx = await startInfluxd();
  const common = { INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'jwt', JWT_ISSUER: ISS, JWT_AUDIENCE: AUD };
  [gw, orphan] = await Promise.all([
    startGateway({ ...common, JWT_JWKS_URL: jwksUrl }),
    startGateway({ ...common, JWT_JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks.json`, INSTANCE_NAME: 'orphan' }),
  ]);
});

after(async () => {
  await Promise.all([gw?.stop(), orphan?.stop()]);
  await influx?.close();
  jwks?.closeAllConnections();
  await new Promise((resolve) => jwks?.close(resolve));
});

async function tenantsInInflux(): Promise<string[]> {
  return [...new Set(seriesRows(await influx.query('SHOW TAG VALUES WITH KEY = "tenant_id"')).map((r) => String(r.value)))].sort();
}

describe('a real gateway with a JWKS', () => {
  test('a good token is accepted (and the key set fetched once)', async () => {
    const res = await send(gw, await token({ tenant_id: 'acme' }));
    assert.equal(res.status, 200);
    assert.equal(jwksRequests, 1);
    assert.equal((await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'acme'`, 1)).length, 1);
  });

  test('every hostile token of issue #7 is a 401 with WWW-Authenticate, nothing is written, and the gateway keeps serving', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const stranger = await generateKeyPair('RS256');
    const cases: Array<[string, () => Promise<string>, RegExp]> = [
      ['expired', () => token({ tenant_id: 'mallory' }, { exp: now() - 60 }), /token expired/],
      ['nbf in the future', () => token({ tenant_id: 'mallory' }, { nbf: now() + 3600 }), /"nbf"/],
      ['wrong issuer', () => token({ tenant_id: 'mallory' }, { iss: 'https://evil.example.com' }), /"iss"/],
      ['wrong audience', () => token({ tenant_id: 'mallory' }, { aud: 'someone-else' }), /"aud"/],
      ['alg: none', async () => new UnsecuredJWT({ tenant_id: 'mallory', iss: ISS, aud: AUD }).setExpirationTime('10m').encode(), /token/],
      ['HS256 keyed with the RSA public key (algorithm confusion)', () => token({ tenant_id: 'mallory' }, { alg: 'HS256', key: new TextEncoder().encode(pem) }), /token algorithm not allowed/],
      ['a kid the JWKS does not hold', () => token({ tenant_id: 'mallory' }, { kid: 'rotated-away', key: stranger.privateKey }), /kid/],
      ['the right kid, signed by another key', () => token({ tenant_id: 'mallory' }, { key: stranger.privateKey }), /signature invalid/],
    ];
    for (const [name, make, message] of cases) {
      const res = await send(gw, await make());
      assert.equal(res.status, 401, name);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer', name);
      assert.equal(res.headers.get('retry-after'), null, `${name}: a 401 is not retried`);
      const answer = (await res.json()) as { code: number; message: string; error: string };
      assert.equal(answer.code, 16, `${name}: google.rpc.Code UNAUTHENTICATED`);
      assert.equal(answer.error, 'TL_UNAUTHENTICATED', name);
      assert.match(answer.message, message, name);
    }
    assert.equal(gw.proc.exited(), false);
    const res = await send(gw, await token({ tenant_id: 'globex' }));
    assert.equal(res.status, 200, 'a good token right after is accepted');
    await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'globex'`, 1);
    assert.ok(!(await tenantsInInflux()).includes('mallory'), 'nothing written for a refused token');
    assert.equal(await gw.metric('tenantlens_requests_refused_total', { reason: 'TL_UNAUTHENTICATED' }), cases.length);
  });

  test('JWKS outage: the key server goes down, keys already fetched keep verifying new tokens', async () => {
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
    const before = jwksRequests;
    const res = await send(gw, await token({ tenant_id: 'initech', sub: 'during-outage' }));
    assert.equal(res.status, 200);
    assert.equal(jwksRequests, before, 'no fetch was needed');
    await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'initech'`, 1);
  });
});

describe('a gateway whose JWKS cannot be fetched', () => {
  test('a valid token is a 401 TL_KEYS_UNAVAILABLE saying why (not a 503), and the gateway stays up', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await send(orphan, await token({ tenant_id: 'acme-orphan' }));
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('retry-after'), null);
      const answer = (await res.json()) as { code: number; message: string; error: string };
      assert.equal(answer.error, 'TL_KEYS_UNAVAILABLE');
      assert.equal(answer.code, 16);
      assert.match(answer.message, /signing key set \(JWT_JWKS_URL\) could not be fetched/);
    }
    assert.equal((await fetch(`${orphan.url}/healthz`)).status, 200);
    assert.equal(orphan.proc.exited(), false);
    assert.equal(await orphan.metric('tenantlens_requests_refused_total', { reason: 'TL_KEYS_UNAVAILABLE' }), 3);
    assert.ok(!(await tenantsInInflux()).includes('acme-orphan'));
  });
});
