import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type { Config } from '../src/config.ts';
import { ConfigError, loadConfig } from '../src/config.ts';

type Env = Record<string, string | undefined>;

/** The smallest valid environment: InfluxDB 2 and the trusted-header tenant. */
const BASE: Env = {
  INFLUX_URL: 'http://127.0.0.1:8086',
  INFLUX_TOKEN: 'token',
  INFLUX_ORG: 'org',
  INFLUX_BUCKET: 'tenantlens',
  TENANT_AUTH: 'header',
};

const SECRET = 's'.repeat(32);
const PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----';
const JWT: Env = { ...BASE, TENANT_AUTH: 'jwt' };

function jwt(config: Config): Extract<Config['tenancy'], { mode: 'jwt' }> {
  assert.equal(config.tenancy.mode, 'jwt');
  return config.tenancy as Extract<Config['tenancy'], { mode: 'jwt' }>;
}

test('defaults', () => {
  const c = loadConfig(BASE);
  assert.equal(c.port, 4318);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.influx?.apiVersion, 2);
  assert.equal(c.influx?.url, 'http://127.0.0.1:8086');
  assert.equal(c.influx?.bucket, 'tenantlens');
  assert.equal(c.influx?.retentionPolicy, undefined);
  assert.equal(c.influx?.timeoutMillis, 10_000);
  assert.equal(c.tenancy.mode, 'header');
  assert.equal(c.tenancy.header, 'x-tenant-id', 'header names are matched lower-case');
  assert.equal(c.maxBodyBytes, 20 * 1024 * 1024);
  assert.deepEqual(c.corsOrigins, []);
  assert.equal(c.instanceName, hostname());
  assert.equal(c.mappingFile, undefined);
  assert.equal(c.logLevel, 'info');
  assert.deepEqual(c.buffer, { batchMaxLines: 5000, batchMaxBytes: 1024 * 1024, flushIntervalMillis: 1000, maxBytes: 64 * 1024 * 1024, retryMaxDelayMillis: 30_000, writeConcurrency: 4 });
});

test('valid settings are read, trimmed and normalised', () => {
  const c = loadConfig({
    ...BASE,
    PORT: ' 8080 ',
    HOST: '127.0.0.1',
    TENANT_HEADER: 'X-Org-Id',
    INFLUX_URL: 'https://influx.example.com:8086//',
    INSTANCE_NAME: 'gw-7',
    MAX_BODY_BYTES: '1024',
    MAPPING_FILE: '/etc/mapping.json',
    LOG_LEVEL: 'debug',
    CORS_ORIGINS: 'https://app.example.com, http://localhost:3000,',
    BATCH_MAX_LINES: '1',
    INFLUX_TIMEOUT_MILLIS: '600000',
  });
  assert.equal(c.port, 8080);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.tenancy.header, 'x-org-id');
  assert.equal(c.influx?.url, 'https://influx.example.com:8086', 'trailing slashes dropped');
  assert.equal(c.instanceName, 'gw-7');
  assert.equal(c.maxBodyBytes, 1024);
  assert.equal(c.mappingFile, '/etc/mapping.json');
  assert.equal(c.logLevel, 'debug');
  assert.deepEqual(c.corsOrigins, ['https://app.example.com', 'http://localhost:3000']);
  assert.equal(c.buffer.batchMaxLines, 1);
  assert.equal(c.influx?.timeoutMillis, 600_000);
  // Blank means unset.
  assert.equal(loadConfig({ ...BASE, PORT: '   ' }).port, 4318);
});

test('InfluxDB API versions', () => {
  const v1 = loadConfig({ ...BASE, INFLUX_API_VERSION: '1', INFLUX_TOKEN: undefined, INFLUX_ORG: undefined, INFLUX_BUCKET: 'telemetry/autogen' });
  assert.equal(v1.influx?.apiVersion, 1);
  assert.equal(v1.influx?.bucket, 'telemetry');
  assert.equal(v1.influx?.retentionPolicy, 'autogen');

  const v1db = loadConfig({ ...BASE, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'telemetry', INFLUX_USERNAME: 'u', INFLUX_PASSWORD: 'p' });
  assert.equal(v1db.influx?.bucket, 'telemetry');
  assert.equal(v1db.influx?.retentionPolicy, undefined);
  assert.equal(v1db.influx?.username, 'u');
  assert.equal(v1db.influx?.password, 'p');

  // In v2 a slash is just part of the bucket name.
  assert.equal(loadConfig({ ...BASE, INFLUX_BUCKET: 'a/b' }).influx?.bucket, 'a/b');

  const v3 = loadConfig({ ...BASE, INFLUX_API_VERSION: '3', INFLUX_ORG: undefined });
  assert.equal(v3.influx?.apiVersion, 3);
  assert.equal(v3.influx?.org, undefined);
  assert.equal(v3.influx?.token, 'token');
});

test('tenant auth: jwt with one key source and pinned algorithms', () => {
  const secret = jwt(loadConfig({ ...JWT, JWT_SECRET: SECRET }));
  assert.deepEqual(secret.key, { kind: 'secret', secret: SECRET });
  assert.deepEqual(secret.algorithms, ['HS256']);
  assert.equal(secret.claim, 'tenant_id');

  // 32 bytes, not 32 characters: 16 two-byte characters are enough.
  assert.equal(jwt(loadConfig({ ...JWT, JWT_SECRET: 'ü'.repeat(16) })).key.kind, 'secret');

  const jwks = jwt(loadConfig({ ...JWT, JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json', JWT_ISSUER: 'https://idp', JWT_AUDIENCE: 'tl', TENANT_CLAIM: 'org' }));
  assert.deepEqual(jwks.key, { kind: 'jwks', url: 'https://idp.example.com/.well-known/jwks.json' });
  assert.deepEqual(jwks.algorithms, ['RS256', 'ES256']);
  assert.equal(jwks.issuer, 'https://idp');
  assert.equal(jwks.audience, 'tl');
  assert.equal(jwks.claim, 'org');

  // PEM from an env var often has literal "\n" sequences.
  const pem = jwt(loadConfig({ ...JWT, JWT_PUBLIC_KEY: PEM.replace(/\n/g, '\\n'), JWT_ALGORITHMS: 'ES256, EdDSA' }));
  assert.deepEqual(pem.key, { kind: 'publicKey', pem: PEM });
  assert.deepEqual(pem.algorithms, ['ES256', 'EdDSA']);

  assert.deepEqual(jwt(loadConfig({ ...JWT, JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS512,HS256' })).algorithms, ['HS512', 'HS256']);
});

interface Bad {
  readonly name: string;
  readonly env: Env;
  readonly variable: string;
  /** Extra text the message must contain, if any. */
  readonly says?: RegExp;
}

const BAD: readonly Bad[] = [
  // InfluxDB
  { name: 'no INFLUX_URL', env: { ...BASE, INFLUX_URL: undefined }, variable: 'INFLUX_URL', says: /required/ },
  { name: 'INFLUX_URL not a URL', env: { ...BASE, INFLUX_URL: 'not a url' }, variable: 'INFLUX_URL', says: /not a valid URL/ },
  { name: 'INFLUX_URL without scheme', env: { ...BASE, INFLUX_URL: 'localhost:8086' }, variable: 'INFLUX_URL', says: /http\(s\)/ },
  { name: 'INFLUX_URL ftp', env: { ...BASE, INFLUX_URL: 'ftp://influx' }, variable: 'INFLUX_URL', says: /http\(s\)/ },
  { name: 'INFLUX_API_VERSION 4', env: { ...BASE, INFLUX_API_VERSION: '4' }, variable: 'INFLUX_API_VERSION', says: /1, 2, 3/ },
  { name: 'no INFLUX_BUCKET', env: { ...BASE, INFLUX_BUCKET: undefined }, variable: 'INFLUX_BUCKET', says: /required/ },
  { name: 'v1 bucket with 3 parts', env: { ...BASE, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'db/rp/x' }, variable: 'INFLUX_BUCKET', says: /db\/rp\/x/ },
  { name: 'v1 bucket with empty rp', env: { ...BASE, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'db/' }, variable: 'INFLUX_BUCKET' },
  { name: 'v1 bucket with empty db', env: { ...BASE, INFLUX_API_VERSION: '1', INFLUX_BUCKET: '/rp' }, variable: 'INFLUX_BUCKET' },
  { name: 'v1 username without password', env: { ...BASE, INFLUX_API_VERSION: '1', INFLUX_USERNAME: 'u' }, variable: 'INFLUX_PASSWORD' },
  { name: 'v1 password without username', env: { ...BASE, INFLUX_API_VERSION: '1', INFLUX_PASSWORD: 'p' }, variable: 'INFLUX_USERNAME' },
  { name: 'v2 without token', env: { ...BASE, INFLUX_TOKEN: undefined }, variable: 'INFLUX_TOKEN', says: /INFLUX_API_VERSION=2/ },
  { name: 'v2 blank token', env: { ...BASE, INFLUX_TOKEN: '  ' }, variable: 'INFLUX_TOKEN' },
  { name: 'v2 without org', env: { ...BASE, INFLUX_ORG: undefined }, variable: 'INFLUX_ORG' },
  { name: 'v3 without token', env: { ...BASE, INFLUX_API_VERSION: '3', INFLUX_TOKEN: undefined }, variable: 'INFLUX_TOKEN', says: /INFLUX_API_VERSION=3/ },
  // Tenancy
  { name: 'no TENANT_AUTH', env: { ...BASE, TENANT_AUTH: undefined }, variable: 'TENANT_AUTH', says: /jwt, header/ },
  { name: 'TENANT_AUTH oauth', env: { ...BASE, TENANT_AUTH: 'oauth' }, variable: 'TENANT_AUTH', says: /"oauth"/ },
  { name: 'TENANT_AUTH upper-case', env: { ...BASE, TENANT_AUTH: 'JWT' }, variable: 'TENANT_AUTH' },
  { name: 'TENANT_HEADER with a space', env: { ...BASE, TENANT_HEADER: 'X Tenant' }, variable: 'TENANT_HEADER' },
  { name: 'TENANT_HEADER with a colon', env: { ...BASE, TENANT_HEADER: 'X-Tenant:' }, variable: 'TENANT_HEADER' },
  { name: 'jwt without a key', env: JWT, variable: 'JWT_JWKS_URL', says: /JWT_SECRET.*JWT_PUBLIC_KEY.*0 set/ },
  { name: 'jwt with two keys', env: { ...JWT, JWT_SECRET: SECRET, JWT_PUBLIC_KEY: PEM }, variable: 'JWT_JWKS_URL', says: /exactly one.*2 set/ },
  { name: 'jwt with three keys', env: { ...JWT, JWT_SECRET: SECRET, JWT_PUBLIC_KEY: PEM, JWT_JWKS_URL: 'https://idp/jwks' }, variable: 'JWT_JWKS_URL', says: /3 set/ },
  { name: 'short JWT_SECRET', env: { ...JWT, JWT_SECRET: 's'.repeat(31) }, variable: 'JWT_SECRET', says: /32 bytes/ },
  { name: 'JWKS URL not http', env: { ...JWT, JWT_JWKS_URL: 'file:///etc/jwks.json' }, variable: 'JWT_JWKS_URL' },
  { name: 'JWKS URL not a URL', env: { ...JWT, JWT_JWKS_URL: 'jwks.json' }, variable: 'JWT_JWKS_URL' },
  { name: 'public key not PEM', env: { ...JWT, JWT_PUBLIC_KEY: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE' }, variable: 'JWT_PUBLIC_KEY' },
  { name: 'private key instead of public', env: { ...JWT, JWT_PUBLIC_KEY: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----' }, variable: 'JWT_PUBLIC_KEY' },
  { name: 'HS256 with a public key (algorithm confusion)', env: { ...JWT, JWT_PUBLIC_KEY: PEM, JWT_ALGORITHMS: 'HS256' }, variable: 'JWT_ALGORITHMS', says: /"HS256"/ },
  { name: 'HS256 with JWKS', env: { ...JWT, JWT_JWKS_URL: 'https://idp/jwks', JWT_ALGORITHMS: 'RS256,HS256' }, variable: 'JWT_ALGORITHMS', says: /"HS256"/ },
  { name: 'RS256 with a secret', env: { ...JWT, JWT_SECRET: SECRET, JWT_ALGORITHMS: 'RS256' }, variable: 'JWT_ALGORITHMS', says: /"RS256".*JWT_SECRET/ },
  { name: 'alg none', env: { ...JWT, JWT_SECRET: SECRET, JWT_ALGORITHMS: 'none' }, variable: 'JWT_ALGORITHMS', says: /"none"/ },
  { name: 'algorithms lower-case', env: { ...JWT, JWT_PUBLIC_KEY: PEM, JWT_ALGORITHMS: 'rs256' }, variable: 'JWT_ALGORITHMS' },
  { name: 'empty algorithm list', env: { ...JWT, JWT_SECRET: SECRET, JWT_ALGORITHMS: ' , ' }, variable: 'JWT_ALGORITHMS', says: /at least one/ },
  // CORS
  { name: 'CORS wildcard', env: { ...BASE, CORS_ORIGINS: '*' }, variable: 'CORS_ORIGINS', says: /"\*"/ },
  { name: 'CORS wildcard in a list', env: { ...BASE, CORS_ORIGINS: 'https://app.example.com,*' }, variable: 'CORS_ORIGINS' },
  { name: 'CORS origin with a path', env: { ...BASE, CORS_ORIGINS: 'https://app.example.com/login' }, variable: 'CORS_ORIGINS', says: /did you mean "https:\/\/app\.example\.com"/ },
  { name: 'CORS origin with a trailing slash', env: { ...BASE, CORS_ORIGINS: 'https://app.example.com/' }, variable: 'CORS_ORIGINS' },
  { name: 'CORS origin without scheme', env: { ...BASE, CORS_ORIGINS: 'app.example.com' }, variable: 'CORS_ORIGINS' },
  // Integers and enums
  { name: 'PORT not a number', env: { ...BASE, PORT: 'http' }, variable: 'PORT', says: /whole number/ },
  { name: 'PORT negative', env: { ...BASE, PORT: '-1' }, variable: 'PORT' },
  { name: 'PORT too large', env: { ...BASE, PORT: '65536' }, variable: 'PORT', says: /between 0 and 65535/ },
  { name: 'PORT with a unit', env: { ...BASE, PORT: '80a' }, variable: 'PORT' },
  { name: 'MAX_BODY_BYTES fractional', env: { ...BASE, MAX_BODY_BYTES: '1.5' }, variable: 'MAX_BODY_BYTES' },
  { name: 'MAX_BODY_BYTES exponent', env: { ...BASE, MAX_BODY_BYTES: '1e6' }, variable: 'MAX_BODY_BYTES' },
  { name: 'MAX_BODY_BYTES too small', env: { ...BASE, MAX_BODY_BYTES: '1023' }, variable: 'MAX_BODY_BYTES' },
  { name: 'BATCH_MAX_LINES zero', env: { ...BASE, BATCH_MAX_LINES: '0' }, variable: 'BATCH_MAX_LINES' },
  { name: 'BATCH_MAX_BYTES huge', env: { ...BASE, BATCH_MAX_BYTES: '99999999999999999999' }, variable: 'BATCH_MAX_BYTES' },
  { name: 'FLUSH_INTERVAL_MILLIS hex', env: { ...BASE, FLUSH_INTERVAL_MILLIS: '0x10' }, variable: 'FLUSH_INTERVAL_MILLIS' },
  { name: 'BUFFER_MAX_BYTES too small', env: { ...BASE, BUFFER_MAX_BYTES: '1024' }, variable: 'BUFFER_MAX_BYTES' },
  { name: 'RETRY_MAX_DELAY_MILLIS too small', env: { ...BASE, RETRY_MAX_DELAY_MILLIS: '9' }, variable: 'RETRY_MAX_DELAY_MILLIS' },
  { name: 'INFLUX_TIMEOUT_MILLIS too small', env: { ...BASE, INFLUX_TIMEOUT_MILLIS: '99' }, variable: 'INFLUX_TIMEOUT_MILLIS' },
  // Spool and workers
  { name: 'SPOOL_DIR on the embedded store', env: { TENANT_AUTH: 'header', SPOOL_DIR: '/tmp/spool' }, variable: 'SPOOL_DIR', says: /needs INFLUX_URL/ },
  { name: 'SPOOL_MAX_BYTES without SPOOL_DIR', env: { ...BASE, SPOOL_MAX_BYTES: '10485760' }, variable: 'SPOOL_MAX_BYTES', says: /needs SPOOL_DIR/ },
  { name: 'SPOOL_MAX_BYTES below 1 MiB', env: { ...BASE, SPOOL_DIR: '/tmp/spool', SPOOL_MAX_BYTES: '1000' }, variable: 'SPOOL_MAX_BYTES' },
  { name: 'SPOOL_SEGMENT_BYTES over SPOOL_MAX_BYTES', env: { ...BASE, SPOOL_DIR: '/tmp/spool', SPOOL_MAX_BYTES: '1048576', SPOOL_SEGMENT_BYTES: '2097152' }, variable: 'SPOOL_SEGMENT_BYTES', says: /must not exceed/ },
  { name: 'WORKERS on the embedded store', env: { TENANT_AUTH: 'header', WORKERS: '2' }, variable: 'WORKERS', says: /needs INFLUX_URL/ },
  { name: 'WORKERS with the alert evaluator', env: { ...BASE, WORKERS: '2', ALERTS: 'on' }, variable: 'WORKERS', says: /ALERTS_ONLY=1/ },
  { name: 'WORKERS zero', env: { ...BASE, WORKERS: '0' }, variable: 'WORKERS' },
  { name: 'LOG_LEVEL verbose', env: { ...BASE, LOG_LEVEL: 'verbose' }, variable: 'LOG_LEVEL', says: /"verbose"/ },
  { name: 'INFRA_TOKEN too short', env: { ...BASE, INFRA_TOKEN: 'short' }, variable: 'INFRA_TOKEN', says: /at least 24/ },
  { name: 'INFRA_TENANT without INFRA_TOKEN', env: { ...BASE, INFRA_TENANT: 'infra' }, variable: 'INFRA_TENANT', says: /needs INFRA_TOKEN/ },
  { name: 'INFRA_TENANT not a tenant id', env: { ...BASE, INFRA_TOKEN: 'i'.repeat(24), INFRA_TENANT: 'bad tenant' }, variable: 'INFRA_TENANT' },
  { name: 'GRPC not a flag', env: { ...BASE, GRPC: 'maybe' }, variable: 'GRPC', says: /on or off/ },
  { name: 'GRPC_PORT out of range', env: { ...BASE, GRPC_PORT: '70000' }, variable: 'GRPC_PORT', says: /./ },
  { name: 'GRPC_TLS_CERT_FILE without the key', env: { ...BASE, GRPC_TLS_CERT_FILE: '/tls/tls.crt' }, variable: 'GRPC_TLS_KEY_FILE', says: /set both or neither/ },
  { name: 'GRPC_TLS_KEY_FILE without the cert', env: { ...BASE, GRPC_TLS_KEY_FILE: '/tls/tls.key' }, variable: 'GRPC_TLS_CERT_FILE', says: /set both or neither/ },
];

for (const c of BAD) {
  test(`rejected: ${c.name}`, () => {
    assert.throws(
      () => loadConfig(c.env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
        assert.equal(err.name, 'ConfigError');
        assert.equal(err.variable, c.variable);
        assert.ok(err.message.includes(c.variable), `message does not name ${c.variable}: ${err.message}`);
        if (c.says !== undefined) assert.match(err.message, c.says);
        return true;
      },
    );
  });
}

test('spool and workers: defaults and values', () => {
  const off = loadConfig(BASE);
  assert.equal(off.spool, undefined);
  assert.equal(off.workers, 1);
  const on = loadConfig({ ...BASE, SPOOL_DIR: ' /var/lib/tenantlens/spool ', WORKERS: 'auto' });
  assert.deepEqual(on.spool, { dir: '/var/lib/tenantlens/spool', maxBytes: 1024 * 1024 * 1024, segmentBytes: 16 * 1024 * 1024 });
  assert.ok(on.workers >= 1);
  assert.equal(loadConfig({ ...BASE, WORKERS: '2' }).workers, 2);
  assert.equal(loadConfig({ ...BASE, WORKERS: '2' }).alerts.enabled, false, 'alerts default off with several workers');
  assert.equal(loadConfig(BASE).alerts.enabled, true);
});

test('the config is frozen, deeply', () => {
  const configs = [loadConfig({ ...BASE, CORS_ORIGINS: 'https://app.example.com' }), loadConfig({ ...JWT, JWT_SECRET: SECRET })];
  for (const c of configs) {
    for (const [what, o] of [
      ['config', c],
      ['influx', c.influx],
      ['tenancy', c.tenancy],
      ['buffer', c.buffer],
      ['corsOrigins', c.corsOrigins],
    ] as const) {
      assert.ok(Object.isFrozen(o), `${what} is not frozen`);
    }
    assert.throws(() => {
      (c.influx as { url: string }).url = 'http://evil';
    }, TypeError);
    assert.throws(() => {
      (c as { port: number }).port = 1;
    }, TypeError);
  }
  const j = jwt(configs[1] as Config);
  assert.ok(Object.isFrozen(j.key), 'jwt key');
  assert.ok(Object.isFrozen(j.algorithms), 'jwt algorithms');
  assert.throws(() => (j.algorithms as string[]).push('none'), TypeError);
  assert.equal(configs[0]?.influx?.url, 'http://127.0.0.1:8086');
});

test('loadConfig does not modify its input', () => {
  const env: Env = { ...BASE, PORT: ' 9000 ' };
  const copy = { ...env };
  loadConfig(env);
  assert.deepEqual(env, copy);
  assert.ok(!Object.isFrozen(env));
});

test('OTLP/gRPC: on at 4317 by default, plaintext, a 2-minute connection age; GRPC=off turns it off; 0 means no age limit', () => {
  assert.deepEqual(loadConfig(BASE).grpc, { port: 4317, tls: undefined, maxConnectionAgeMillis: 120_000, maxConnectionAgeGraceMillis: 30_000 });
  assert.equal(loadConfig({ ...BASE, GRPC: 'off' }).grpc, undefined);
  const c = loadConfig({ ...BASE, GRPC_PORT: '0', GRPC_TLS_CERT_FILE: '/tls/tls.crt', GRPC_TLS_KEY_FILE: '/tls/tls.key', GRPC_MAX_CONNECTION_AGE_MILLIS: '0', GRPC_MAX_CONNECTION_AGE_GRACE_MILLIS: '5000' });
  assert.deepEqual(c.grpc, { port: 0, tls: { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' }, maxConnectionAgeMillis: undefined, maxConnectionAgeGraceMillis: 5000 });
});

test('infrastructure spans: off by default; INFRA_TOKEN turns them on under tenantlens-infra', () => {
  assert.equal(loadConfig(BASE).infra, undefined);
  assert.deepEqual(loadConfig({ ...BASE, INFRA_TOKEN: 'i'.repeat(24) }).infra, { token: 'i'.repeat(24), tenant: 'tenantlens-infra' });
  assert.deepEqual(loadConfig({ ...BASE, INFRA_TOKEN: 'i'.repeat(24), INFRA_TENANT: 'edge' }).infra, { token: 'i'.repeat(24), tenant: 'edge' });
});

test('ROLLUPS: on by default with the recorder timings; off leaves rollups out, and a timing set with it off is refused', () => {
  assert.deepEqual(loadConfig(BASE).rollups, { closeDelayMillis: 20_000, retryWindowMillis: 900_000, maxTrackedIds: 1_000_000 });
  assert.deepEqual(loadConfig({ ...BASE, ROLLUP_CLOSE_DELAY_MILLIS: '5000' }).rollups?.closeDelayMillis, 5000);
  assert.equal(loadConfig({ ...BASE, ROLLUPS: 'off' }).rollups, undefined);
  assert.throws(() => loadConfig({ ...BASE, ROLLUPS: 'off', ROLLUP_TRACKED_IDS_MAX: '5000' }), /^ConfigError: ROLLUP_TRACKED_IDS_MAX: is set but ROLLUPS=off/);
});
