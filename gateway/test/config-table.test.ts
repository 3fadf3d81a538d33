/**
 * The variable table (gateway/src/config/table.ts) against what is derived from it: the loader
 * reads exactly its rows, honours each row's default and range, and docs/configuration.md is
 * its rendering. The chart's list of `gateway.env` names is checked in test/chart.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfig } from '../src/config.ts';
import { CONFIG_DOC_PATH, renderConfigurationDoc } from '../src/config/render-docs.ts';
import type { VariableSpec } from '../src/config/spec.ts';
import { VARIABLES } from '../src/config/table.ts';

type Env = Record<string, string | undefined>;
const ROWS: readonly VariableSpec[] = VARIABLES;
const BASE: Env = { INFLUX_URL: 'http://127.0.0.1:8086', INFLUX_TOKEN: 'token', INFLUX_ORG: 'org', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header' };
const SECRET = 's'.repeat(32);
const PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----';
const JWT: Env = { TENANT_AUTH: 'jwt', JWT_SECRET: SECRET };

/** What a row needs around it to be read at all (beyond BASE). */
const CONTEXT: Record<string, Env> = {
  JWT_ALGORITHMS: JWT,
  JWT_ISSUER: JWT,
  JWT_AUDIENCE: JWT,
  TENANT_CLAIM: JWT,
  TENANT_AUTH: { JWT_SECRET: SECRET },
  JWT_JWKS_URL: { TENANT_AUTH: 'jwt' },
  JWT_SECRET: { TENANT_AUTH: 'jwt' },
  JWT_PUBLIC_KEY: { TENANT_AUTH: 'jwt' },
  INFLUX_USERNAME: { INFLUX_API_VERSION: '1', INFLUX_PASSWORD: 'p' },
  INFLUX_PASSWORD: { INFLUX_API_VERSION: '1', INFLUX_USERNAME: 'u' },
  WORKERS: { ALERTS: 'off' },
  TENANT_RATE_BURST: { TENANT_RATE_LIMIT: '100' },
  CARDINALITY_TAGS: { CARDINALITY_LIMIT: '100' },
  CARDINALITY_WINDOW_SECONDS: { CARDINALITY_LIMIT: '100' },
  SPOOL_MAX_BYTES: { SPOOL_DIR: '/tmp/spool' },
  SPOOL_SEGMENT_BYTES: { SPOOL_DIR: '/tmp/spool' },
  INFRA_TENANT: { INFRA_TOKEN: 'i'.repeat(24) },
  GRPC_TLS_CERT_FILE: { GRPC_TLS_KEY_FILE: '/etc/tls/key.pem' },
  GRPC_TLS_KEY_FILE: { GRPC_TLS_CERT_FILE: '/etc/tls/cert.pem' },
};

/** A valid value that is not the default, for rows whose kind does not suggest one. */
const OTHER: Record<string, string> = {
  HOST: '127.0.0.1',
  INFLUX_USERNAME: 'writer',
  INFLUX_PASSWORD: 'hunter2',
  JWT_ISSUER: 'https://idp.example.com',
  JWT_AUDIENCE: 'tenantlens',
  TENANT_CLAIM: 'org',
  MAPPING_FILE: '/etc/tenantlens/mapping.json',
  INSTANCE_NAME: 'gw-1',
  DATA_DIR: '/var/lib/tenantlens',
  INFLUX_TOKEN: 'other-token',
  INFLUX_ORG: 'other-org',
  INFLUX_BUCKET: 'other-bucket',
  JWT_SECRET: SECRET,
  JWT_PUBLIC_KEY: PEM,
  JWT_ALGORITHMS: 'HS512',
  ADMIN_TOKEN: 'a'.repeat(24),
  CORS_ORIGINS: 'https://app.example.com',
  CONSOLE_DIR: '/srv/console',
  CONSOLE_TENANT: 'console-2',
  INFRA_TOKEN: 'i'.repeat(24),
  INFRA_TENANT: 'infra-2',
  GRPC_TLS_CERT_FILE: '/etc/tls/other-cert.pem',
  GRPC_TLS_KEY_FILE: '/etc/tls/other-key.pem',
  CARDINALITY_TAGS: 'endpoint',
  SPOOL_DIR: '/tmp/spool',
  ALERTS: 'off',
  ALERT_BASELINE_MIN_WINDOWS: '1',
  ALERT_RESOLVE_RATIO: '1.1',
};

/** A value each row with a `check` must refuse (a new check without a case fails below). */
const REFUSED_BY_CHECK: Record<string, string> = {
  JWT_SECRET: 'short',
  JWT_PUBLIC_KEY: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE',
  ADMIN_TOKEN: 'short',
  CORS_ORIGINS: '*',
  CONSOLE_TENANT: 'no spaces',
  INFRA_TOKEN: 'short',
  INFRA_TENANT: 'no spaces',
  CARDINALITY_TAGS: 'tenant_id',
};

function defaultText(r: VariableSpec): string | undefined {
  if (r.kind === 'url' || r.default === undefined) return undefined;
  if (r.kind === 'duration') return r.defaultText;
  if (r.kind === 'flag') return r.default ? 'on' : 'off';
  if (r.kind === 'list') return r.default.join(',');
  return String(r.default);
}

function otherValue(r: VariableSpec): string {
  const given = OTHER[r.name];
  if (given !== undefined) return given;
  switch (r.kind) {
    case 'int':
    case 'decimal':
    case 'intOrAuto':
      return String(r.default === r.max ? r.min : r.max);
    case 'duration':
      return `${r.minMillis}ms`;
    case 'flag':
      return r.default === true ? 'off' : 'on';
    case 'enum':
      return r.allowed.find((a) => a !== r.default) as string;
    case 'url':
      return 'https://example.com/x';
    case 'header':
      return 'X-Other-Header';
    default:
      throw new Error(`${r.name}: add a valid non-default value to OTHER`);
  }
}

function refusedValues(r: VariableSpec): string[] {
  const byCheck = REFUSED_BY_CHECK[r.name];
  const checks = 'check' in r && r.check !== undefined;
  assert.equal(byCheck !== undefined, checks, `${r.name}: REFUSED_BY_CHECK must have a case exactly for rows with a check`);
  switch (r.kind) {
    case 'int':
      return ['x1', '1.5', String(r.max + 1), ...(r.min > 0 ? [String(r.min - 1)] : [])];
    case 'intOrAuto':
      return ['many', String(r.max + 1), String(r.min - 1)];
    case 'decimal':
      return ['1e3', String(r.max + 1)];
    case 'duration':
      return ['soon', `${r.maxMillis + 1}ms`];
    case 'flag':
      return ['maybe'];
    case 'enum':
      return ['not-one-of-them'];
    case 'url':
      return ['ftp://example.com', 'not a url'];
    case 'header':
      return ['X Tenant'];
    default:
      return byCheck === undefined ? [] : [byCheck];
  }
}

const envFor = (r: VariableSpec, value?: string): Env => ({ ...BASE, ...CONTEXT[r.name], ...(value === undefined ? {} : { [r.name]: value }) });

function tryLoad(env: Env): ReturnType<typeof loadConfig> | undefined {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

test('the loader reads exactly the variables of the table', () => {
  const read = new Set<string>();
  const env = new Proxy({ ...BASE } as Env, {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return target[key as string];
    },
  });
  loadConfig(env);
  assert.deepEqual([...read].sort(), ROWS.map((r) => r.name).sort());
});

test('the table: unique names, needs name rows, override tables name rows', () => {
  const names = new Set(ROWS.map((r) => r.name));
  assert.equal(names.size, ROWS.length, 'duplicate names');
  for (const r of ROWS) if (r.needs !== undefined) assert.ok(names.has(r.needs), `${r.name} needs an unknown ${r.needs}`);
  for (const table of [CONTEXT, OTHER, REFUSED_BY_CHECK]) for (const name of Object.keys(table)) assert.ok(names.has(name), `${name} is not a row`);
});

for (const r of ROWS) {
  test(`${r.name}: default, another value, refused values`, () => {
    // Unset can be invalid in context (a JWT key source, one of a username/password pair).
    const unset = tryLoad(envFor(r));
    const def = defaultText(r);
    if (def !== undefined) assert.deepEqual(loadConfig(envFor(r, def)), unset, `${r.name}=${def} (the table's default) is not the loader's default`);
    const other = otherValue(r);
    assert.notDeepEqual(loadConfig(envFor(r, other)), unset, `${r.name}=${other} changed nothing: is it read?`);
    for (const bad of refusedValues(r)) {
      assert.throws(
        () => loadConfig(envFor(r, bad)),
        (err: unknown) => err instanceof ConfigError && err.variable === r.name && err.message.startsWith(`${r.name}: `),
        `${r.name}=${bad} must be refused naming ${r.name}`,
      );
    }
    if (r.needs !== undefined) {
      assert.throws(() => loadConfig({ ...BASE, [r.name]: other }), new RegExp(`^ConfigError: ${r.name}: needs ${r.needs}$`));
    }
  });
}

test('docs/configuration.md is the rendering of the table (regenerate with `npm run docs:config`)', async () => {
  const committed = await readFile(CONFIG_DOC_PATH, 'utf8').catch(() => '');
  const rendered = renderConfigurationDoc();
  if (committed === rendered) return;
  const a = committed.split('\n');
  const b = rendered.split('\n');
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  assert.fail(`docs/configuration.md differs from the table at line ${i + 1}:\n  file:     ${a[i]}\n  rendered: ${b[i]}\nRun npm run docs:config and commit the result.`);
});

test('every row appears in docs/configuration.md', () => {
  const doc = renderConfigurationDoc();
  for (const r of ROWS) assert.ok(doc.includes(`| \`${r.name}\` |`), r.name);
});
