import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttributeLimits } from './otlp/limits.ts';
import { ConfigError, readVariables, type Env, type Values } from './config/read.ts';
import { TENANT_PATTERN } from './config/table.ts';
import type { AlertsConfig, ConsoleConfig, GrpcConfig, InfrastructureConfig, RollupsConfig } from './config/sections.ts';

export { ConfigError } from './config/read.ts';
export type { AlertsConfig, ConsoleConfig, GrpcConfig, InfrastructureConfig, RollupsConfig } from './config/sections.ts';

/**
 * Validated, frozen gateway configuration. Built once from the environment in `main.ts`. The
 * variables' defaults and ranges below are restated for the reader; config/table.ts is the source.
 */
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
  /** SPAN_ATTRIBUTE_FIELDS_MAX: attribute fields per measurement on InfluxDB (mapping/column-budget.ts). */
  readonly attributeFieldsMax: number;
  /** `ROLLUPS` (default on) and the recorder's timings (rollup/recorder.ts); undefined: off, every percentile from raw points. */
  readonly rollups: RollupsConfig | undefined;
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

export interface InfluxConfig {
  /** `INFLUX_URL`, e.g. `http://127.0.0.1:8086`. */
  readonly url: string;
  /** `INFLUX_API_VERSION`: `1` (/write), `2` (the official client's /api/v2/write) or `3` (/api/v3/write_lp, Bearer token). Default 2. */
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

/*
 * Every variable is read, parsed and range-checked by its row in config/table.ts
 * (readVariables). What follows are the rules a single row cannot state: defaults derived from
 * other variables, and settings that only make sense together.
 */

/** The recorder's timings do nothing with ROLLUPS=off: setting one then is refused rather than ignored. */
function rollupsRules(v: Values, given: ReadonlySet<string>): RollupsConfig | undefined {
  if (!v.ROLLUPS) {
    for (const name of ['ROLLUP_CLOSE_DELAY_MILLIS', 'ROLLUP_RETRY_WINDOW_MILLIS', 'ROLLUP_TRACKED_IDS_MAX']) {
      if (given.has(name)) throw new ConfigError(name, 'is set but ROLLUPS=off (no rollups are recorded)');
    }
    return undefined;
  }
  return { closeDelayMillis: v.ROLLUP_CLOSE_DELAY_MILLIS, retryWindowMillis: v.ROLLUP_RETRY_WINDOW_MILLIS, maxTrackedIds: v.ROLLUP_TRACKED_IDS_MAX };
}

function influxRules(v: Values, given: ReadonlySet<string>): InfluxConfig | undefined {
  if (v.INFLUX_URL === undefined) {
    for (const name of ['INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET', 'INFLUX_USERNAME', 'INFLUX_PASSWORD']) {
      if (given.has(name)) throw new ConfigError('INFLUX_URL', `is required when ${name} is set (unset both to use the embedded store)`);
    }
    return undefined;
  }
  const apiVersion = Number(v.INFLUX_API_VERSION) as 1 | 2 | 3;
  const bucketRaw = v.INFLUX_BUCKET;
  if (bucketRaw === undefined) throw new ConfigError('INFLUX_BUCKET', `is required (${apiVersion === 1 ? 'the database, or database/retention_policy' : 'the bucket'})`);
  const { INFLUX_TOKEN: token, INFLUX_ORG: org, INFLUX_USERNAME: username, INFLUX_PASSWORD: password } = v;
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
  return { url: v.INFLUX_URL, apiVersion, token, org, bucket, retentionPolicy, username, password, timeoutMillis: v.INFLUX_TIMEOUT_MILLIS };
}

function tenancyRules(v: Values): TenancyConfig {
  const mode = v.TENANT_AUTH;
  const header = v.TENANT_HEADER;
  if (mode === 'header') return { mode, header, tenantPattern: TENANT_PATTERN };

  const { JWT_JWKS_URL: jwks, JWT_SECRET: secret, JWT_PUBLIC_KEY: pem } = v;
  const given = [jwks, secret, pem].filter((k) => k !== undefined).length;
  if (given !== 1) {
    throw new ConfigError('JWT_JWKS_URL', `TENANT_AUTH=jwt needs exactly one of JWT_JWKS_URL, JWT_SECRET or JWT_PUBLIC_KEY (${given} set)`);
  }
  let key: Extract<TenancyConfig, { mode: 'jwt' }>['key'];
  let defaultAlgs: string[];
  if (jwks !== undefined) {
    key = { kind: 'jwks', url: jwks };
    defaultAlgs = ['RS256', 'ES256'];
  } else if (secret !== undefined) {
    key = { kind: 'secret', secret };
    defaultAlgs = ['HS256'];
  } else {
    key = { kind: 'publicKey', pem: pem as string };
    defaultAlgs = ['RS256'];
  }
  const algorithms = v.JWT_ALGORITHMS === undefined ? defaultAlgs : [...v.JWT_ALGORITHMS];
  // Pinning by key type prevents algorithm confusion (a public key used as an HMAC secret).
  const allowed = key.kind === 'secret' ? /^HS(256|384|512)$/ : /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;
  for (const a of algorithms) {
    if (!allowed.test(a)) throw new ConfigError('JWT_ALGORITHMS', `"${a}" is not allowed with ${key.kind === 'secret' ? 'JWT_SECRET' : 'a public key'}`);
  }
  if (algorithms.length === 0) throw new ConfigError('JWT_ALGORITHMS', 'must name at least one algorithm');
  return { mode, header, tenantPattern: TENANT_PATTERN, claim: v.TENANT_CLAIM, key, algorithms, issuer: v.JWT_ISSUER, audience: v.JWT_AUDIENCE };
}

function spoolRules(v: Values): Config['spool'] {
  const dir = v.SPOOL_DIR;
  if (dir === undefined) return undefined;
  // The embedded store commits to its own database file; a spool in front of it would only double the writes.
  if (v.INFLUX_URL === undefined) throw new ConfigError('SPOOL_DIR', 'needs INFLUX_URL (the spool protects writes to InfluxDB; the embedded store is on disk already)');
  if (v.SPOOL_SEGMENT_BYTES > v.SPOOL_MAX_BYTES) throw new ConfigError('SPOOL_SEGMENT_BYTES', `must not exceed SPOOL_MAX_BYTES (${v.SPOOL_MAX_BYTES})`);
  return { dir, maxBytes: v.SPOOL_MAX_BYTES, segmentBytes: v.SPOOL_SEGMENT_BYTES };
}

function workersRule(v: Values): number {
  const workers = v.WORKERS === 'auto' ? availableParallelism() : v.WORKERS;
  if (workers > 1 && v.INFLUX_URL === undefined) throw new ConfigError('WORKERS', 'more than one worker needs INFLUX_URL (the embedded store is one database file, opened by one process)');
  return workers;
}

function alertsRules(v: Values, workers: number): AlertsConfig {
  const only = v.ALERTS_ONLY;
  // Every worker would evaluate and notify: with WORKERS > 1 alerts are off unless asked for, and asking is refused.
  const enabled = v.ALERTS ?? workers === 1;
  if ((enabled || only) && workers > 1) {
    throw new ConfigError('WORKERS', 'more than one worker cannot run the alert evaluator (each would notify); set ALERTS=off here and run one ALERTS_ONLY=1 process');
  }
  if (only && !enabled) throw new ConfigError('ALERTS', 'cannot be off with ALERTS_ONLY=1 (the process would do nothing)');
  const ratio = v.ALERT_RATIO;
  const resolveRatio = v.ALERT_RESOLVE_RATIO ?? Math.min(1.2, ratio);
  // Resolving above the firing threshold would let one value both fire and resolve: no hysteresis.
  if (resolveRatio > ratio) throw new ConfigError('ALERT_RESOLVE_RATIO', `must not exceed ALERT_RATIO (${ratio}), got ${resolveRatio}`);
  const baselineWindows = v.ALERT_BASELINE_WINDOWS;
  const baselineMinWindows = v.ALERT_BASELINE_MIN_WINDOWS ?? Math.min(3, baselineWindows);
  if (baselineMinWindows > baselineWindows) {
    throw new ConfigError('ALERT_BASELINE_MIN_WINDOWS', `must not exceed ALERT_BASELINE_WINDOWS (${baselineWindows}), got ${baselineMinWindows}`);
  }
  return {
    enabled: enabled || only,
    only,
    intervalMillis: v.ALERT_INTERVAL,
    windowMillis: v.ALERT_WINDOW,
    baselineWindows,
    baselineMinWindows,
    ratio,
    floorMs: v.ALERT_FLOOR_MS,
    minSamples: v.ALERT_MIN_SAMPLES,
    resolveRatio,
    fireAfter: v.ALERT_FIRE_AFTER,
    resolveAfter: v.ALERT_RESOLVE_AFTER,
    webhookUrl: v.ALERT_WEBHOOK_URL,
    alertmanagerUrl: v.ALERTMANAGER_URL,
    dashboardUrl: v.ALERT_DASHBOARD_URL,
    apiUrl: v.ALERTS_API_URL,
  };
}

/** Where a checkout (and the image) keeps the built console, relative to this file. */
const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

/** gRPC: TLS files both or neither; grpc-js takes "no limit" as the option left out, not as 0. */
function grpcRules(v: Values): GrpcConfig | undefined {
  if (!v.GRPC) return undefined;
  const certFile = v.GRPC_TLS_CERT_FILE;
  const keyFile = v.GRPC_TLS_KEY_FILE;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(certFile === undefined ? 'GRPC_TLS_CERT_FILE' : 'GRPC_TLS_KEY_FILE', 'is required with the other GRPC_TLS_* file (set both or neither)');
  }
  return {
    port: v.GRPC_PORT,
    tls: certFile === undefined || keyFile === undefined ? undefined : { certFile, keyFile },
    maxConnectionAgeMillis: v.GRPC_MAX_CONNECTION_AGE_MILLIS === 0 ? undefined : v.GRPC_MAX_CONNECTION_AGE_MILLIS,
    maxConnectionAgeGraceMillis: v.GRPC_MAX_CONNECTION_AGE_GRACE_MILLIS,
  };
}

/** Infrastructure spans only with a token; INFRA_TENANT alone is refused by the table (`needs`). */
function infraRules(v: Values): InfrastructureConfig | undefined {
  return v.INFRA_TOKEN === undefined ? undefined : { token: v.INFRA_TOKEN, tenant: v.INFRA_TENANT };
}

/** Reads and validates every variable once. Throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const { values: v, given } = readVariables(env);
  const workers = workersRule(v);
  const config: Config = {
    port: v.PORT,
    host: v.HOST,
    influx: influxRules(v, given),
    dataDir: v.DATA_DIR,
    adminToken: v.ADMIN_TOKEN,
    tenancy: tenancyRules(v),
    corsOrigins: [...(v.CORS_ORIGINS ?? [])],
    instanceName: v.INSTANCE_NAME ?? hostname(),
    maxBodyBytes: v.MAX_BODY_BYTES,
    mappingFile: v.MAPPING_FILE,
    buffer: {
      batchMaxLines: v.BATCH_MAX_LINES,
      batchMaxBytes: v.BATCH_MAX_BYTES,
      flushIntervalMillis: v.FLUSH_INTERVAL_MILLIS,
      maxBytes: v.BUFFER_MAX_BYTES,
      retryMaxDelayMillis: v.RETRY_MAX_DELAY_MILLIS,
      writeConcurrency: v.WRITE_CONCURRENCY,
    },
    tenantRateLimit: v.TENANT_RATE_LIMIT === 0 ? undefined : { spansPerSecond: v.TENANT_RATE_LIMIT, burst: v.TENANT_RATE_BURST ?? v.TENANT_RATE_LIMIT },
    cardinality: v.CARDINALITY_LIMIT === 0 ? undefined : { maxValues: v.CARDINALITY_LIMIT, windowMillis: v.CARDINALITY_WINDOW_SECONDS * 1000, tags: [...v.CARDINALITY_TAGS] },
    spool: spoolRules(v),
    workers,
    fusedEncoder: v.FUSED_ENCODER,
    attributeFieldsMax: v.SPAN_ATTRIBUTE_FIELDS_MAX,
    rollups: rollupsRules(v, given),
    alerts: alertsRules(v, workers),
    console: { enabled: v.CONSOLE, dir: resolve(v.CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR), tenant: v.CONSOLE_TENANT },
    attributeLimits: { countLimit: v.ATTRIBUTE_COUNT_LIMIT, valueLengthLimit: v.ATTRIBUTE_VALUE_LENGTH_LIMIT },
    infra: infraRules(v),
    grpc: grpcRules(v),
    logLevel: v.LOG_LEVEL,
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
