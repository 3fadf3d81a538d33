import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ATTRIBUTE_LIMITS, type AttributeLimits } from './otlp/limits.ts';

/** Validated, frozen gateway configuration. Built once from the environment in `main.ts`. */
export interface Config {
  /** `PORT`, default 4318 (the OTLP/HTTP port). */
  readonly port: number;
  /** `HOST`, default `0.0.0.0`. */
  readonly host: string;
  /** InfluxDB, or undefined for the embedded store (`INFLUX_URL` unset). */
  readonly influx: InfluxConfig | undefined;
  /** `DATA_DIR`, default `./data`: where the embedded store keeps its database file. */
  readonly dataDir: string;
  /** `ADMIN_TOKEN`: a bearer token that may query every tenant. Unset: tenant credentials only. */
  readonly adminToken: string | undefined;
  readonly tenancy: TenancyConfig;
  /** `CORS_ORIGINS`: comma-separated allow-list of exact origins. Empty: no CORS headers at all. */
  readonly corsOrigins: readonly string[];
  /** `INSTANCE_NAME`, default the hostname. Added to every point as `gateway_instance`. */
  readonly instanceName: string;
  /** `MAX_BODY_BYTES`, default 20 MiB. Applied after decompression. */
  readonly maxBodyBytes: number;
  /** `MAPPING_FILE`: optional JSON file that overrides the default span → point mapping. */
  readonly mappingFile: string | undefined;
  readonly buffer: BufferConfig;
  /** `TENANT_RATE_LIMIT`: spans per second per tenant (0: no limit), with `TENANT_RATE_BURST` (default one second's worth). */
  readonly tenantRateLimit: { readonly spansPerSecond: number; readonly burst: number } | undefined;
  /**
   * `CARDINALITY_LIMIT` distinct values per tenant and tag within `CARDINALITY_WINDOW_SECONDS`
   * (default 3600) for the tags in `CARDINALITY_TAGS` (default session_id,endpoint). Unset: off.
   */
  readonly cardinality: { readonly maxValues: number; readonly windowMillis: number; readonly tags: readonly string[] } | undefined;
  /**
   * `SPOOL_DIR`: append every accepted request to disk (fdatasync) before answering 200; replayed
   * on start. `SPOOL_MAX_BYTES` (default 1 GiB) bounds it; `SPOOL_SEGMENT_BYTES` (default 16 MiB)
   * is the unit in which acknowledged data is deleted. InfluxDB only. Unset: memory buffer only.
   */
  readonly spool: { readonly dir: string; readonly maxBytes: number; readonly segmentBytes: number } | undefined;
  /**
   * `WORKERS`, default 1: gateway processes sharing the port (Node cluster); `auto` = one per CPU.
   * More than one needs INFLUX_URL (the embedded store is a single-process database file).
   */
  readonly workers: number;
  /**
   * `FUSED_ENCODER`, default on: OTLP/protobuf traces go straight to line protocol when writing
   * to InfluxDB (ingest/proto-trace-lines.ts). Off: every request takes the reference path
   * (decode → map → encode), which gives the same lines; the switch exists to compare the two.
   */
  readonly fusedEncoder: boolean;
  readonly alerts: AlertsConfig;
  readonly console: ConsoleConfig;
  /**
   * OTel attribute limits, per resource, span, data point and log record: `ATTRIBUTE_COUNT_LIMIT`
   * (default 128; attributes past it are dropped) and `ATTRIBUTE_VALUE_LENGTH_LIMIT` (default
   * 16 384 characters; longer strings are truncated). Both are counted and reported.
   */
  readonly attributeLimits: AttributeLimits;
  /**
   * Infrastructure spans (docs/ingress-spans.md): `INFRA_TOKEN` (at least 24 characters) is the
   * bearer token of a shared exporter (the ingress); its spans go to `INFRA_TENANT` (default
   * `tenantlens-infra`). Unset: off.
   */
  readonly infra: InfrastructureConfig | undefined;
  /** OTLP/gRPC (docs/grpc.md); undefined with `GRPC=off` (and in ALERTS_ONLY mode, which takes no data). */
  readonly grpc: GrpcConfig | undefined;
  /** `LOG_LEVEL`, default `info`. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/**
 * Per-tenant P99 alerts (`gateway/src/alerts/`). Durations accept `500ms`, `30s`, `5m`, `1h` or
 * a bare number of seconds.
 */
export interface AlertsConfig {
  /** `ALERTS`: `on` (default) or `off`. `ALERTS_ONLY=1` implies on. */
  readonly enabled: boolean;
  /** `ALERTS_ONLY=1`: run the evaluator and the read-only API, not the OTLP ingest routes. */
  readonly only: boolean;
  /** `ALERT_INTERVAL`, default 1m: time between evaluations. */
  readonly intervalMillis: number;
  /** `ALERT_WINDOW`, default 5m: the window whose P99 is compared; baseline windows have the same length. */
  readonly windowMillis: number;
  /** `ALERT_BASELINE_WINDOWS`, default 12: how many previous windows the trailing median is taken over. */
  readonly baselineWindows: number;
  /** `ALERT_BASELINE_MIN_WINDOWS`, default 3: fewer usable baseline windows means "still learning", no verdict. */
  readonly baselineMinWindows: number;
  /** `ALERT_RATIO`, default 1.5: fire above baseline × ratio … */
  readonly ratio: number;
  /** `ALERT_FLOOR_MS`, default 200: … and above baseline + floor (both must hold). */
  readonly floorMs: number;
  /** `ALERT_MIN_SAMPLES`, default 20: a window with fewer samples gives no verdict (quiet tenants do not flap). */
  readonly minSamples: number;
  /** `ALERT_RESOLVE_RATIO`, default 1.2: a firing alert recovers below baseline × this (below the fire threshold). */
  readonly resolveRatio: number;
  /** `ALERT_FIRE_AFTER`, default 1: consecutive breaching evaluations before firing. */
  readonly fireAfter: number;
  /** `ALERT_RESOLVE_AFTER`, default 2: consecutive recovered evaluations before resolving. */
  readonly resolveAfter: number;
  /** `ALERT_WEBHOOK_URL`: generic JSON webhook. */
  readonly webhookUrl: string | undefined;
  /** `ALERTMANAGER_URL`: Alertmanager base URL; alerts are POSTed to `<url>/api/v2/alerts`. */
  readonly alertmanagerUrl: string | undefined;
  /** `ALERT_DASHBOARD_URL`: drill-down links are `<url>?tenant=…&from=…&to=…`. Unset: the API path. */
  readonly dashboardUrl: string | undefined;
  /** `ALERTS_API_URL`: where a process with `ALERTS=off` forwards `GET /api/v1/alerts` (the evaluator's Service). */
  readonly apiUrl: string | undefined;
}

/** Infrastructure spans (tenancy/infrastructure.ts, docs/ingress-spans.md). */
export interface InfrastructureConfig {
  /** `INFRA_TOKEN`: the bearer token an infrastructure exporter (the ingress) sends. */
  readonly token: string;
  /** `INFRA_TENANT`, default `tenantlens-infra`: where its spans are stored; no tenant credential may name it. */
  readonly tenant: string;
}

/** The OTLP/gRPC receiver (gateway/src/grpc/, docs/grpc.md). */
export interface GrpcConfig {
  /** `GRPC_PORT`, default 4317 (the OTLP/gRPC port); 0 picks a free one (tests). Same `HOST` as HTTP. */
  readonly port: number;
  /**
   * `GRPC_TLS_CERT_FILE` and `GRPC_TLS_KEY_FILE` (PEM), both or neither. Neither: plaintext
   * HTTP/2 (h2c), since TLS usually ends at the ingress.
   */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /**
   * `GRPC_MAX_CONNECTION_AGE_MILLIS`, default 120 000 (0: never): a connection older than this is
   * sent GOAWAY, so a client reconnects and lands on a replica the HPA added since (gRPC pins a
   * client to one pod for the life of its HTTP/2 connection). grpc-js adds ±10 % jitter.
   */
  readonly maxConnectionAgeMillis: number | undefined;
  /** `GRPC_MAX_CONNECTION_AGE_GRACE_MILLIS`, default 30 000: how long calls in flight on an aged connection may still finish. */
  readonly maxConnectionAgeGraceMillis: number;
}

/** The drill-down console served at `/console/` (docs/console.md). */
export interface ConsoleConfig {
  /** `CONSOLE`: `on` (default) serves the console and takes its telemetry; `off` serves nothing under /console/. */
  readonly enabled: boolean;
  /**
   * `CONSOLE_DIR`, default `console/dist` of this repository, found from this file: `<root>/console/dist`
   * in a checkout and `/app/console/dist` in the image (gateway sources under /app/gateway/src).
   * Absolute after loading.
   */
  readonly dir: string;
  /** `CONSOLE_TENANT`, default `tenantlens-console`: the tenant the console's own spans are stored under. */
  readonly tenant: string;
}

export interface InfluxConfig {
  /** `INFLUX_URL`, e.g. `http://127.0.0.1:8086`. */
  readonly url: string;
  /** `INFLUX_API_VERSION`: `1` (/write), `2` or `3` (the official client's write API). Default 2. */
  readonly apiVersion: 1 | 2 | 3;
  readonly token: string | undefined;
  readonly org: string | undefined;
  /** v2/v3 bucket, or for v1 the database. */
  readonly bucket: string;
  /** v1 only: the retention policy from `INFLUX_BUCKET=db/rp`. */
  readonly retentionPolicy: string | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** `INFLUX_TIMEOUT_MILLIS`, default 10 000: one write request's deadline. */
  readonly timeoutMillis: number;
}

export type TenancyConfig =
  | { readonly mode: 'header'; readonly header: string; readonly tenantPattern: RegExp }
  | {
      readonly mode: 'jwt';
      readonly header: string;
      readonly tenantPattern: RegExp;
      readonly claim: string;
      readonly key:
        | { readonly kind: 'jwks'; readonly url: string }
        | { readonly kind: 'secret'; readonly secret: string }
        | { readonly kind: 'publicKey'; readonly pem: string };
      /** `JWT_ALGORITHMS`: pinned; default HS256 for a secret, RS256 for a PEM key, RS256+ES256 for JWKS. */
      readonly algorithms: readonly string[];
      readonly issuer: string | undefined;
      readonly audience: string | undefined;
    };

export interface BufferConfig {
  /** `BATCH_MAX_LINES`, default 5000: InfluxDB's recommended batch size. */
  readonly batchMaxLines: number;
  /** `BATCH_MAX_BYTES`, default 1 MiB. */
  readonly batchMaxBytes: number;
  /** `FLUSH_INTERVAL_MILLIS`, default 1000: a partial batch waits at most this long. */
  readonly flushIntervalMillis: number;
  /** `BUFFER_MAX_BYTES`, default 64 MiB: past this, requests get 503 + Retry-After instead of being dropped later. */
  readonly maxBytes: number;
  /** `RETRY_MAX_DELAY_MILLIS`, default 30 000: the backoff ceiling. */
  readonly retryMaxDelayMillis: number;
  /** `WRITE_CONCURRENCY`, default 4: write requests to InfluxDB in flight at once (1 while it is failing). */
  readonly writeConcurrency?: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const MiB = 1024 * 1024;
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function required(env: Env, name: string, why: string): string {
  const v = str(env, name);
  if (v === undefined) throw new ConfigError(name, `is required (${why})`);
  return v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], def?: T): T {
  const raw = str(env, name);
  if (raw === undefined) {
    if (def !== undefined) return def;
    throw new ConfigError(name, `is required: one of ${allowed.join(', ')}`);
  }
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function httpUrl(name: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL: "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

function headerName(name: string, raw: string): string {
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(raw)) throw new ConfigError(name, `is not a valid HTTP header name: "${raw}"`);
  return raw.toLowerCase();
}

function loadInflux(env: Env): InfluxConfig | undefined {
  const rawUrl = str(env, 'INFLUX_URL');
  if (rawUrl === undefined) {
    for (const name of ['INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET', 'INFLUX_USERNAME', 'INFLUX_PASSWORD']) {
      if (str(env, name) !== undefined) throw new ConfigError('INFLUX_URL', `is required when ${name} is set (unset both to use the embedded store)`);
    }
    return undefined;
  }
  const url = httpUrl('INFLUX_URL', rawUrl);
  const apiVersion = Number(oneOf(env, 'INFLUX_API_VERSION', ['1', '2', '3'], '2')) as 1 | 2 | 3;
  const bucketRaw = required(env, 'INFLUX_BUCKET', apiVersion === 1 ? 'the database, or database/retention_policy' : 'the bucket');
  const token = str(env, 'INFLUX_TOKEN');
  const org = str(env, 'INFLUX_ORG');
  const username = str(env, 'INFLUX_USERNAME');
  const password = str(env, 'INFLUX_PASSWORD');
  let bucket = bucketRaw;
  let retentionPolicy: string | undefined;
  if (apiVersion === 1) {
    const parts = bucketRaw.split('/');
    if (parts.length > 2 || parts.some((p) => p === '')) {
      throw new ConfigError('INFLUX_BUCKET', `for API version 1 must be "database" or "database/retention_policy", got "${bucketRaw}"`);
    }
    bucket = parts[0] as string;
    retentionPolicy = parts[1];
    if ((username === undefined) !== (password === undefined)) {
      throw new ConfigError(username === undefined ? 'INFLUX_USERNAME' : 'INFLUX_PASSWORD', 'INFLUX_USERNAME and INFLUX_PASSWORD must be set together');
    }
  } else {
    if (token === undefined) throw new ConfigError('INFLUX_TOKEN', `is required for INFLUX_API_VERSION=${apiVersion}`);
    if (apiVersion === 2 && org === undefined) throw new ConfigError('INFLUX_ORG', 'is required for INFLUX_API_VERSION=2');
  }
  return {
    url,
    apiVersion,
    token,
    org,
    bucket,
    retentionPolicy,
    username,
    password,
    timeoutMillis: int(env, 'INFLUX_TIMEOUT_MILLIS', 10_000, 100, 600_000),
  };
}

function loadTenancy(env: Env): TenancyConfig {
  const mode = oneOf(env, 'TENANT_AUTH', ['jwt', 'header']);
  const header = headerName('TENANT_HEADER', str(env, 'TENANT_HEADER') ?? 'X-Tenant-ID');
  if (mode === 'header') return { mode, header, tenantPattern: TENANT_PATTERN };

  const jwks = str(env, 'JWT_JWKS_URL');
  const secret = str(env, 'JWT_SECRET');
  const pem = str(env, 'JWT_PUBLIC_KEY');
  const given = [jwks, secret, pem].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new ConfigError('JWT_JWKS_URL', `TENANT_AUTH=jwt needs exactly one of JWT_JWKS_URL, JWT_SECRET or JWT_PUBLIC_KEY (${given} set)`);
  }
  let key: Extract<TenancyConfig, { mode: 'jwt' }>['key'];
  let defaultAlgs: string[];
  if (jwks !== undefined) {
    key = { kind: 'jwks', url: httpUrl('JWT_JWKS_URL', jwks) };
    defaultAlgs = ['RS256', 'ES256'];
  } else if (secret !== undefined) {
    // HS256 with a short secret is brute-forceable offline; RFC 7518 §3.2 asks for >= 256 bits.
    if (Buffer.byteLength(secret) < 32) throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes (RFC 7518 §3.2)');
    key = { kind: 'secret', secret };
    defaultAlgs = ['HS256'];
  } else {
    const text = (pem as string).replace(/\\n/g, '\n');
    if (!text.includes('-----BEGIN PUBLIC KEY-----')) {
      throw new ConfigError('JWT_PUBLIC_KEY', 'must be a PEM-encoded SPKI public key (-----BEGIN PUBLIC KEY-----)');
    }
    key = { kind: 'publicKey', pem: text };
    defaultAlgs = ['RS256'];
  }
  const algsRaw = str(env, 'JWT_ALGORITHMS');
  const algorithms = algsRaw === undefined ? defaultAlgs : algsRaw.split(',').map((a) => a.trim()).filter(Boolean);
  const allowed = key.kind === 'secret' ? /^HS(256|384|512)$/ : /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;
  for (const a of algorithms) {
    if (!allowed.test(a)) throw new ConfigError('JWT_ALGORITHMS', `"${a}" is not allowed with ${key.kind === 'secret' ? 'JWT_SECRET' : 'a public key'}`);
  }
  if (algorithms.length === 0) throw new ConfigError('JWT_ALGORITHMS', 'must name at least one algorithm');
  return {
    mode,
    header,
    tenantPattern: TENANT_PATTERN,
    claim: str(env, 'TENANT_CLAIM') ?? 'tenant_id',
    key,
    algorithms,
    issuer: str(env, 'JWT_ISSUER'),
    audience: str(env, 'JWT_AUDIENCE'),
  };
}

function loadCors(env: Env): string[] {
  const raw = str(env, 'CORS_ORIGINS');
  if (raw === undefined) return [];
  const origins = raw.split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of origins) {
    // A wildcard would let any site send spans with a user's credentials; the allow-list is exact.
    if (o === '*') throw new ConfigError('CORS_ORIGINS', 'must list exact origins; "*" is not allowed because credentials are accepted');
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `"${o}" is not an origin like https://app.example.com`);
    }
    if (u.origin !== o) throw new ConfigError('CORS_ORIGINS', `"${o}" is not an origin (did you mean "${u.origin}"?)`);
  }
  return origins;
}

function loadCardinality(env: Env): Config['cardinality'] {
  const max = int(env, 'CARDINALITY_LIMIT', 0, 0, 10_000_000);
  if (max === 0) {
    for (const name of ['CARDINALITY_WINDOW_SECONDS', 'CARDINALITY_TAGS']) if (str(env, name) !== undefined) throw new ConfigError(name, 'needs CARDINALITY_LIMIT');
    return undefined;
  }
  const tags = (str(env, 'CARDINALITY_TAGS') ?? 'session_id,endpoint').split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of tags) if (t === 'tenant_id' || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(t)) throw new ConfigError('CARDINALITY_TAGS', `"${t}" is not a tag that can be guarded`);
  if (tags.length === 0) throw new ConfigError('CARDINALITY_TAGS', 'must name at least one tag');
  return { maxValues: max, windowMillis: int(env, 'CARDINALITY_WINDOW_SECONDS', 3600, 1, 31 * 86_400) * 1000, tags };
}

function loadSpool(env: Env, influx: boolean): Config['spool'] {
  const dir = str(env, 'SPOOL_DIR');
  if (dir === undefined) {
    for (const name of ['SPOOL_MAX_BYTES', 'SPOOL_SEGMENT_BYTES']) if (str(env, name) !== undefined) throw new ConfigError(name, 'needs SPOOL_DIR');
    return undefined;
  }
  // The embedded store commits to its own database file; a spool in front of it would only double the writes.
  if (!influx) throw new ConfigError('SPOOL_DIR', 'needs INFLUX_URL (the spool protects writes to InfluxDB; the embedded store is on disk already)');
  const maxBytes = int(env, 'SPOOL_MAX_BYTES', 1024 * MiB, MiB, 1024 * 1024 * MiB);
  const segmentBytes = int(env, 'SPOOL_SEGMENT_BYTES', 16 * MiB, 64 * 1024, 1024 * MiB);
  if (segmentBytes > maxBytes) throw new ConfigError('SPOOL_SEGMENT_BYTES', `must not exceed SPOOL_MAX_BYTES (${maxBytes})`);
  return { dir, maxBytes, segmentBytes };
}

function loadWorkers(env: Env, influx: boolean): number {
  const workers = str(env, 'WORKERS') === 'auto' ? availableParallelism() : int(env, 'WORKERS', 1, 1, 256);
  if (workers > 1 && !influx) throw new ConfigError('WORKERS', 'more than one worker needs INFLUX_URL (the embedded store is one database file, opened by one process)');
  return workers;
}

function loadRateLimit(env: Env): Config['tenantRateLimit'] {
  const rate = int(env, 'TENANT_RATE_LIMIT', 0, 0, 100_000_000);
  if (rate === 0) {
    if (str(env, 'TENANT_RATE_BURST') !== undefined) throw new ConfigError('TENANT_RATE_BURST', 'needs TENANT_RATE_LIMIT');
    return undefined;
  }
  return { spansPerSecond: rate, burst: int(env, 'TENANT_RATE_BURST', rate, 1, 1_000_000_000) };
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function duration(env: Env, name: string, defMillis: number, minMillis: number, maxMillis: number): number {
  const raw = str(env, name);
  if (raw === undefined) return defMillis;
  const m = /^(\d{1,9})(ms|s|m|h)?$/.exec(raw);
  if (m === null) throw new ConfigError(name, `must be a duration like 30s, 5m or 1h (a bare number is seconds), got "${raw}"`);
  const ms = Number(m[1]) * (DURATION_MS[m[2] ?? 's'] as number);
  if (ms < minMillis || ms > maxMillis) throw new ConfigError(name, `must be between ${minMillis} ms and ${maxMillis} ms, got ${ms} ms`);
  return ms;
}

function decimal(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^\d+(\.\d+)?$/.test(raw)) throw new ConfigError(name, `must be a number like 1.5, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function flag(env: Env, name: string, def: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return def;
  if (['1', 'on', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'off', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be on or off (1/0, true/false), got "${raw}"`);
}

function loadAlerts(env: Env, workers: number): AlertsConfig {
  const only = flag(env, 'ALERTS_ONLY', false);
  // Every worker would evaluate and notify: with WORKERS > 1 alerts are off unless asked for, and asking is refused.
  const enabled = flag(env, 'ALERTS', workers === 1);
  if ((enabled || only) && workers > 1) {
    throw new ConfigError('WORKERS', 'more than one worker cannot run the alert evaluator (each would notify); set ALERTS=off here and run one ALERTS_ONLY=1 process');
  }
  if (only && !enabled) throw new ConfigError('ALERTS', 'cannot be off with ALERTS_ONLY=1 (the process would do nothing)');
  const ratio = decimal(env, 'ALERT_RATIO', 1.5, 1, 100);
  const resolveRatio = decimal(env, 'ALERT_RESOLVE_RATIO', Math.min(1.2, ratio), 0.1, 100);
  // Resolving above the firing threshold would let one value both fire and resolve: no hysteresis.
  if (resolveRatio > ratio) throw new ConfigError('ALERT_RESOLVE_RATIO', `must not exceed ALERT_RATIO (${ratio}), got ${resolveRatio}`);
  const baselineWindows = int(env, 'ALERT_BASELINE_WINDOWS', 12, 1, 1000);
  const baselineMinWindows = int(env, 'ALERT_BASELINE_MIN_WINDOWS', Math.min(3, baselineWindows), 1, 1000);
  if (baselineMinWindows > baselineWindows) {
    throw new ConfigError('ALERT_BASELINE_MIN_WINDOWS', `must not exceed ALERT_BASELINE_WINDOWS (${baselineWindows}), got ${baselineMinWindows}`);
  }
  const url = (name: string): string | undefined => {
    const raw = str(env, name);
    return raw === undefined ? undefined : httpUrl(name, raw);
  };
  return {
    enabled: enabled || only,
    only,
    intervalMillis: duration(env, 'ALERT_INTERVAL', 60_000, 100, 86_400_000),
    windowMillis: duration(env, 'ALERT_WINDOW', 300_000, 1000, 7 * 86_400_000),
    baselineWindows,
    baselineMinWindows,
    ratio,
    floorMs: decimal(env, 'ALERT_FLOOR_MS', 200, 0, 3_600_000),
    minSamples: int(env, 'ALERT_MIN_SAMPLES', 20, 1, 100_000_000),
    resolveRatio,
    fireAfter: int(env, 'ALERT_FIRE_AFTER', 1, 1, 1000),
    resolveAfter: int(env, 'ALERT_RESOLVE_AFTER', 2, 1, 1000),
    webhookUrl: url('ALERT_WEBHOOK_URL'),
    alertmanagerUrl: url('ALERTMANAGER_URL'),
    dashboardUrl: url('ALERT_DASHBOARD_URL'),
    apiUrl: url('ALERTS_API_URL'),
  };
}

/** Where a checkout (and the image) keeps the built console, relative to this file. */
const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

function loadConsole(env: Env): ConsoleConfig {
  const tenant = str(env, 'CONSOLE_TENANT') ?? 'tenantlens-console';
  if (!TENANT_PATTERN.test(tenant)) throw new ConfigError('CONSOLE_TENANT', `must be a tenant id (letters, digits, ".", "_", "-"; at most 64), got "${tenant}"`);
  return { enabled: flag(env, 'CONSOLE', true), dir: resolve(str(env, 'CONSOLE_DIR') ?? DEFAULT_CONSOLE_DIR), tenant };
}

function loadGrpc(env: Env): GrpcConfig | undefined {
  if (!flag(env, 'GRPC', true)) return undefined;
  const certFile = str(env, 'GRPC_TLS_CERT_FILE');
  const keyFile = str(env, 'GRPC_TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(certFile === undefined ? 'GRPC_TLS_CERT_FILE' : 'GRPC_TLS_KEY_FILE', 'is required with the other GRPC_TLS_* file (set both or neither)');
  }
  const age = int(env, 'GRPC_MAX_CONNECTION_AGE_MILLIS', 120_000, 0, 86_400_000);
  return {
    port: int(env, 'GRPC_PORT', 4317, 0, 65535),
    tls: certFile === undefined || keyFile === undefined ? undefined : { certFile, keyFile },
    // grpc-js takes "no limit" as the option left out, not as 0.
    maxConnectionAgeMillis: age === 0 ? undefined : age,
    maxConnectionAgeGraceMillis: int(env, 'GRPC_MAX_CONNECTION_AGE_GRACE_MILLIS', 30_000, 0, 3_600_000),
  };
}

function loadInfra(env: Env): InfrastructureConfig | undefined {
  const token = str(env, 'INFRA_TOKEN');
  const tenant = str(env, 'INFRA_TENANT') ?? 'tenantlens-infra';
  if (token === undefined) {
    if (str(env, 'INFRA_TENANT') !== undefined) throw new ConfigError('INFRA_TENANT', 'needs INFRA_TOKEN');
    return undefined;
  }
  // It writes into every tenant's traces: a short one is guessable.
  if (token.length < 24) throw new ConfigError('INFRA_TOKEN', 'must be at least 24 characters');
  if (!TENANT_PATTERN.test(tenant)) throw new ConfigError('INFRA_TENANT', `must be a tenant id (letters, digits, ".", "_", "-"; at most 64), got "${tenant}"`);
  return { token, tenant };
}

function loadAdminToken(env: Env): string | undefined {
  const t = str(env, 'ADMIN_TOKEN');
  // It unlocks every tenant's data; a short one is guessable.
  if (t !== undefined && t.length < 24) throw new ConfigError('ADMIN_TOKEN', 'must be at least 24 characters');
  return t;
}

/** Reads and validates every variable once. Throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const workers = loadWorkers(env, str(env, 'INFLUX_URL') !== undefined);
  const config: Config = {
    port: int(env, 'PORT', 4318, 0, 65535),
    host: str(env, 'HOST') ?? '0.0.0.0',
    influx: loadInflux(env),
    dataDir: str(env, 'DATA_DIR') ?? './data',
    adminToken: loadAdminToken(env),
    tenancy: loadTenancy(env),
    corsOrigins: loadCors(env),
    instanceName: str(env, 'INSTANCE_NAME') ?? hostname(),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 20 * MiB, 1024, 1024 * MiB),
    mappingFile: str(env, 'MAPPING_FILE'),
    buffer: {
      batchMaxLines: int(env, 'BATCH_MAX_LINES', 5000, 1, 1_000_000),
      batchMaxBytes: int(env, 'BATCH_MAX_BYTES', MiB, 1024, 256 * MiB),
      flushIntervalMillis: int(env, 'FLUSH_INTERVAL_MILLIS', 1000, 1, 600_000),
      maxBytes: int(env, 'BUFFER_MAX_BYTES', 64 * MiB, 64 * 1024, 16 * 1024 * MiB),
      retryMaxDelayMillis: int(env, 'RETRY_MAX_DELAY_MILLIS', 30_000, 10, 3_600_000),
      writeConcurrency: int(env, 'WRITE_CONCURRENCY', 4, 1, 64),
    },
    tenantRateLimit: loadRateLimit(env),
    cardinality: loadCardinality(env),
    spool: loadSpool(env, str(env, 'INFLUX_URL') !== undefined),
    workers,
    fusedEncoder: flag(env, 'FUSED_ENCODER', true),
    alerts: loadAlerts(env, workers),
    console: loadConsole(env),
    attributeLimits: {
      countLimit: int(env, 'ATTRIBUTE_COUNT_LIMIT', DEFAULT_ATTRIBUTE_LIMITS.countLimit, 0, 1_000_000),
      valueLengthLimit: int(env, 'ATTRIBUTE_VALUE_LENGTH_LIMIT', DEFAULT_ATTRIBUTE_LIMITS.valueLengthLimit, 1, 64 * MiB),
    },
    infra: loadInfra(env),
    grpc: loadGrpc(env),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  };
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !(o instanceof RegExp)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
