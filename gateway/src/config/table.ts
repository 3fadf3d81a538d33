/**
 * Every environment variable the gateway reads, once. The loader (read.ts + ../config.ts), the
 * reference docs (docs/configuration.md) and the chart's list of accepted `gateway.env` names
 * (values.schema.json) are all derived from this table; `npm run docs:config` regenerates the
 * files and gateway/test/config-table.test.ts fails when any of them disagrees with it.
 *
 * Order is the docs' order. Cross-field rules (exactly one JWT key, username with password, …)
 * are not data: they stay as small functions in ../config.ts.
 */
import { DEFAULT_ATTRIBUTE_LIMITS } from '../otlp/limits.ts';
import type { VariableSpec } from './spec.ts';

const MiB = 1024 * 1024;

/** Tenant ids: what the tenancy layer accepts, so the console's own tenant is one too. */
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function origin(o: string): string | undefined {
  // A wildcard would let any site send spans with a user's credentials; the allow-list is exact.
  if (o === '*') return 'must list exact origins; "*" is not allowed because credentials are accepted';
  let u: URL;
  try {
    u = new URL(o);
  } catch {
    return `"${o}" is not an origin like https://app.example.com`;
  }
  return u.origin === o ? undefined : `"${o}" is not an origin (did you mean "${u.origin}"?)`;
}

const G = {
  listen: 'Listener',
  store: 'Store',
  tenancy: 'Tenants and credentials',
  console: 'Console',
  grpc: 'OTLP/gRPC',
  limits: 'Request limits',
  writes: 'Buffer and writes',
  spool: 'Spool',
  processes: 'Processes',
  alerts: 'Alerts',
  rollups: 'Rollups',
  logs: 'Logs',
} as const;

export const VARIABLES = [
  // --- Listener
  { name: 'PORT', group: G.listen, kind: 'int', default: 4318, min: 0, max: 65535, chart: { value: 'gateway.port' }, description: 'Listen port (the OTLP/HTTP port).' },
  { name: 'HOST', group: G.listen, kind: 'text', default: '0.0.0.0', chart: { set: '`0.0.0.0` (every interface of the pod)' }, description: 'Listen address (HTTP and gRPC).' },
  { name: 'INSTANCE_NAME', group: G.listen, kind: 'text', defaultDoc: 'the hostname', chart: { set: "the pod's name" }, description: 'Written as field `gateway_instance` on every point.' },

  // --- Store
  { name: 'INFLUX_URL', group: G.store, kind: 'url', defaultDoc: '— (embedded store)', chart: { value: 'influx.url', note: 'or the in-cluster InfluxDB with `influxdb2.enabled`' }, description: 'InfluxDB base URL, e.g. `http://influxdb:8086`. **Unset: the embedded store** (DuckDB in `DATA_DIR`), no database to install.' },
  { name: 'DATA_DIR', group: G.store, kind: 'text', default: './data', chart: { none: 'the chart always writes to InfluxDB' }, description: 'Embedded store only: the database file `tenantlens.duckdb` lives here and survives restarts. One gateway process per directory (DuckDB takes a file lock).' },
  { name: 'INFLUX_API_VERSION', group: G.store, kind: 'enum', allowed: ['1', '2', '3'], default: '2', chart: { value: 'influx.apiVersion' }, description: '`1`: `/write` with `db`/`rp`. `2`: the official `@influxdata/influxdb-client` write API (`/api/v2/write`). `3`: InfluxDB 3 native `/api/v3/write_lp` with partial writes, refused lines counted per reason ([influxdb3.md](influxdb3.md)).' },
  { name: 'INFLUX_TOKEN', group: G.store, kind: 'text', secret: true, chart: { value: 'influx.existingSecret', note: 'or `influx.token`, from which the chart makes a Secret' }, description: 'Token (required for v2/v3; for v1 sent as `Authorization: Token` when no username is set).' },
  { name: 'INFLUX_ORG', group: G.store, kind: 'text', chart: { value: 'influx.org' }, description: 'Organisation (required for v2).' },
  { name: 'INFLUX_BUCKET', group: G.store, kind: 'text', defaultDoc: '— (required with `INFLUX_URL`)', chart: { value: 'influx.bucket' }, description: 'Bucket; for v1 the `database` or `database/retention_policy`.' },
  { name: 'INFLUX_USERNAME', group: G.store, kind: 'text', chart: { value: 'influx.basicAuth.existingSecret', note: 'key `influx.basicAuth.usernameKey`; v1 only' }, description: 'v1 basic auth user; set `INFLUX_USERNAME` and `INFLUX_PASSWORD` both or neither.' },
  { name: 'INFLUX_PASSWORD', group: G.store, kind: 'text', secret: true, chart: { value: 'influx.basicAuth.existingSecret', note: 'key `influx.basicAuth.passwordKey`; v1 only' }, description: 'v1 basic auth password; wins over `INFLUX_TOKEN`.' },
  { name: 'INFLUX_TIMEOUT_MILLIS', group: G.store, kind: 'int', default: 10_000, min: 100, max: 600_000, chart: { env: true }, description: 'Deadline of one write request.' },

  // --- Tenancy
  { name: 'TENANT_AUTH', group: G.tenancy, kind: 'enum', allowed: ['jwt', 'header'], defaultDoc: '— (required)', chart: { value: 'gateway.tenantAuth.mode' }, description: '`jwt`: tenant from a verified bearer token. `header`: tenant from `TENANT_HEADER`, set by a trusted ingress that strips any client copy.' },
  { name: 'TENANT_HEADER', group: G.tenancy, kind: 'header', default: 'X-Tenant-ID', chart: { value: 'gateway.tenantAuth.header' }, description: 'Header carrying the tenant in `header` mode.' },
  { name: 'JWT_JWKS_URL', group: G.tenancy, kind: 'url', chart: { value: 'gateway.tenantAuth.jwt.jwksUrl' }, description: '`jwt` mode, one of three key sources: a JWKS endpoint. Exactly one of `JWT_JWKS_URL`, `JWT_SECRET`, `JWT_PUBLIC_KEY`.' },
  {
    name: 'JWT_SECRET', group: G.tenancy, kind: 'text', secret: true, typeDoc: 'text, ≥ 32 bytes', chart: { value: 'gateway.tenantAuth.jwt.existingSecret' },
    // HS256 with a short secret is brute-forceable offline; RFC 7518 §3.2 asks for >= 256 bits.
    check: (v: string) => (Buffer.byteLength(v) < 32 ? 'must be at least 32 bytes (RFC 7518 §3.2)' : undefined),
    description: '`jwt` mode: an HMAC secret.',
  },
  {
    name: 'JWT_PUBLIC_KEY', group: G.tenancy, kind: 'text', typeDoc: 'PEM (SPKI)', chart: { value: 'gateway.tenantAuth.jwt.publicKey' },
    // PEM from an env var often has literal "\n" sequences.
    normalize: (v: string) => v.replace(/\\n/g, '\n'),
    check: (v: string) => (v.includes('-----BEGIN PUBLIC KEY-----') ? undefined : 'must be a PEM-encoded SPKI public key (-----BEGIN PUBLIC KEY-----)'),
    description: '`jwt` mode: a PEM SPKI public key (literal `\\n` sequences are read as newlines).',
  },
  { name: 'JWT_ALGORITHMS', group: G.tenancy, kind: 'list', defaultDoc: '`HS256` (secret), `RS256` (PEM), `RS256,ES256` (JWKS)', chart: { value: 'gateway.tenantAuth.jwt.algorithms' }, description: 'Pinned algorithms; anything else is refused. HMAC only with `JWT_SECRET`, RSA/EC/EdDSA only with a public key.' },
  { name: 'JWT_ISSUER', group: G.tenancy, kind: 'text', chart: { value: 'gateway.tenantAuth.jwt.issuer' }, description: 'Required `iss`, when set.' },
  { name: 'JWT_AUDIENCE', group: G.tenancy, kind: 'text', chart: { value: 'gateway.tenantAuth.jwt.audience' }, description: 'Required `aud`, when set.' },
  { name: 'TENANT_CLAIM', group: G.tenancy, kind: 'text', default: 'tenant_id', chart: { value: 'gateway.tenantAuth.jwt.claim' }, description: 'Token claim holding the tenant.' },
  {
    name: 'ADMIN_TOKEN', group: G.tenancy, kind: 'text', secret: true, typeDoc: 'text, ≥ 24 characters', chart: { value: 'gateway.adminToken.existingSecret' },
    // It unlocks every tenant's data; a short one is guessable.
    check: (v: string) => (v.length < 24 ? 'must be at least 24 characters' : undefined),
    description: 'Operator bearer token for the drill-down API: sees every tenant. Without it, only tenant credentials can query, each its own tenant.',
  },
  { name: 'CORS_ORIGINS', group: G.tenancy, kind: 'list', defaultDoc: '— (no CORS)', check: origin, chart: { value: 'gateway.corsOrigins' }, description: 'Comma-separated exact origins allowed to send from a browser. Never `*` (credentials are allowed).' },

  {
    name: 'INFRA_TOKEN', group: G.tenancy, kind: 'text', secret: true, typeDoc: 'text, ≥ 24 characters', chart: { value: 'caddy.tracing.existingSecret' },
    // It writes into every tenant's traces: a short one is guessable.
    check: (v: string) => (v.length < 24 ? 'must be at least 24 characters' : undefined),
    description: 'Bearer token of shared infrastructure (the ingress): its spans go to `INFRA_TENANT` and appear only inside each tenant\'s own traces ([ingress-spans.md](ingress-spans.md)). Ingest only: it reads nothing.',
  },
  {
    name: 'INFRA_TENANT', group: G.tenancy, kind: 'text', default: 'tenantlens-infra', typeDoc: 'tenant id', needs: 'INFRA_TOKEN', chart: { env: true },
    check: (v: string) => (TENANT_PATTERN.test(v) ? undefined : `must be a tenant id (letters, digits, ".", "_", "-"; at most 64), got "${v}"`),
    description: 'The reserved tenant for infrastructure spans; no tenant credential may name it.',
  },

  // --- Console
  { name: 'CONSOLE', group: G.console, kind: 'flag', default: true, chart: { value: 'console.enabled' }, description: '`on`: serve the built console at `/console/` and take its own telemetry at `POST /console/v1/traces`; `off`: nothing under `/console/` ([console.md](console.md)).' },
  { name: 'CONSOLE_DIR', group: G.console, kind: 'text', defaultDoc: "the repository's `console/dist` (`/app/console/dist` in the image)", chart: { env: true }, description: "The built console to serve. Found from the gateway's sources, so the default holds wherever the repository (or `/app`) is. Without an `index.html` there, `/console/` says how to build it." },
  {
    name: 'CONSOLE_TENANT', group: G.console, kind: 'text', default: 'tenantlens-console', typeDoc: 'tenant id', chart: { value: 'console.tenant' },
    check: (v: string) => (TENANT_PATTERN.test(v) ? undefined : `must be a tenant id (letters, digits, ".", "_", "-"; at most 64), got "${v}"`),
    description: 'The tenant the console\'s own spans are stored under, whichever credential sends them; the console hides it by default.',
  },

  // --- OTLP/gRPC
  { name: 'GRPC', group: G.grpc, kind: 'flag', default: true, chart: { value: 'gateway.grpc.enabled' }, description: '`off` turns the OTLP/gRPC receiver off ([grpc.md](grpc.md)).' },
  { name: 'GRPC_PORT', group: G.grpc, kind: 'int', default: 4317, min: 0, max: 65535, chart: { value: 'gateway.grpc.port' }, description: 'OTLP/gRPC port: the three OTLP `Export` services and `grpc.health.v1.Health`.' },
  { name: 'GRPC_TLS_CERT_FILE', group: G.grpc, kind: 'text', chart: { env: true }, description: 'PEM certificate; with `GRPC_TLS_KEY_FILE` (both or neither) TLS on the gRPC port. Unset: plaintext HTTP/2 (h2c), as behind the ingress.' },
  { name: 'GRPC_TLS_KEY_FILE', group: G.grpc, kind: 'text', chart: { env: true }, description: 'PEM private key for `GRPC_TLS_CERT_FILE`.' },
  { name: 'GRPC_MAX_CONNECTION_AGE_MILLIS', group: G.grpc, kind: 'int', default: 120_000, min: 0, max: 86_400_000, chart: { value: 'gateway.grpc.maxConnectionAgeMillis' }, description: 'A gRPC connection older than this gets GOAWAY (±10 % jitter), so clients spread over new replicas; `0`: never.' },
  { name: 'GRPC_MAX_CONNECTION_AGE_GRACE_MILLIS', group: G.grpc, kind: 'int', default: 30_000, min: 0, max: 3_600_000, chart: { value: 'gateway.grpc.maxConnectionAgeGraceMillis' }, description: 'How long calls in flight on an aged connection may still finish.' },

  // --- Request limits
  { name: 'MAX_BODY_BYTES', group: G.limits, kind: 'int', unit: 'bytes', default: 20 * MiB, min: 1024, max: 1024 * MiB, chart: { value: 'gateway.maxBodyBytes' }, description: 'Body limit, applied **after** decompression (a gzip bomb gets 413).' },
  { name: 'MAPPING_FILE', group: G.limits, kind: 'text', chart: { set: 'from `gateway.mapping` (mounted from a ConfigMap)' }, description: 'JSON file overriding the span → point mapping ([below](#mapping_file)).' },
  { name: 'TENANT_RATE_LIMIT', group: G.limits, kind: 'int', default: 0, min: 0, max: 100_000_000, defaultDoc: '`0` (no limit)', chart: { value: 'gateway.tenantRateLimit.spansPerSecond' }, description: 'Spans per second per tenant (traces and beacons). A tenant over it gets 429 + `Retry-After`; other tenants are unaffected. One token bucket per tenant, per gateway process.' },
  { name: 'TENANT_RATE_BURST', group: G.limits, kind: 'int', min: 1, max: 1_000_000_000, needs: 'TENANT_RATE_LIMIT', defaultDoc: '`TENANT_RATE_LIMIT`', chart: { value: 'gateway.tenantRateLimit.burst' }, description: 'Bucket size in spans.' },
  { name: 'CARDINALITY_LIMIT', group: G.limits, kind: 'int', default: 0, min: 0, max: 10_000_000, defaultDoc: '`0` (off)', chart: { value: 'gateway.cardinality.limit' }, description: 'Distinct values per tenant of each guarded tag within a window. Past it, a new value is written with the tag set to `~overflow` and the value in a `<tag>__demoted` field (not dropped), counted in `tenantlens_tag_values_demoted_total{tag}`. Keeps one tenant from exploding InfluxDB\'s series index.' },
  {
    name: 'CARDINALITY_TAGS', group: G.limits, kind: 'list', default: ['session_id', 'endpoint'], nonEmpty: 'must name at least one tag', needs: 'CARDINALITY_LIMIT', chart: { value: 'gateway.cardinality.tags' },
    check: (t: string) => (t === 'tenant_id' || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(t) ? `"${t}" is not a tag that can be guarded` : undefined),
    description: 'Tags the guard watches (never `tenant_id`).',
  },
  { name: 'CARDINALITY_WINDOW_SECONDS', group: G.limits, kind: 'int', default: 3600, min: 1, max: 31 * 86_400, needs: 'CARDINALITY_LIMIT', chart: { value: 'gateway.cardinality.windowSeconds' }, description: 'The window; counts start afresh after it.' },
  { name: 'SPAN_ATTRIBUTE_FIELDS_MAX', group: G.limits, kind: 'int', default: 150, min: 0, max: 100_000, chart: { env: true }, description: 'InfluxDB only: attribute fields each measurement may hold (its column budget), counting type-clash `<key>__<type>` and demoted `<tag>__demoted` fields. Attributes past it go into one `attributes` field, a JSON object, counted in `tenantlens_attributes_overflowed_total`. Shared by every replica and worker through a claim log in the database ([data model](data-model.md#a-column-budget)). `0`: every attribute goes to `attributes`.' },
  { name: 'ATTRIBUTE_COUNT_LIMIT', group: G.limits, kind: 'int', default: DEFAULT_ATTRIBUTE_LIMITS.countLimit, min: 0, max: 1_000_000, chart: { env: true }, description: 'Attributes kept per resource, span, data point and log record (the OTel default); the rest are dropped and counted.' },
  { name: 'ATTRIBUTE_VALUE_LENGTH_LIMIT', group: G.limits, kind: 'int', default: DEFAULT_ATTRIBUTE_LIMITS.valueLengthLimit, min: 1, max: 64 * MiB, chart: { env: true }, description: 'Characters per string attribute value (also inside arrays and maps); longer ones are truncated and counted.' },

  // --- Buffer and writes
  { name: 'BATCH_MAX_LINES', group: G.writes, kind: 'int', default: 5000, min: 1, max: 1_000_000, chart: { env: true }, description: 'Lines per write request.' },
  { name: 'BATCH_MAX_BYTES', group: G.writes, kind: 'int', unit: 'bytes', default: MiB, min: 1024, max: 256 * MiB, chart: { env: true }, description: 'Bytes per write request.' },
  { name: 'FLUSH_INTERVAL_MILLIS', group: G.writes, kind: 'int', default: 1000, min: 1, max: 600_000, chart: { env: true }, description: 'A partial batch waits at most this long.' },
  { name: 'BUFFER_MAX_BYTES', group: G.writes, kind: 'int', unit: 'bytes', default: 64 * MiB, min: 64 * 1024, max: 16 * 1024 * MiB, chart: { value: 'gateway.bufferMaxBytes' }, description: 'Memory buffer bound. Past it, requests get 503 + `Retry-After`.' },
  { name: 'RETRY_MAX_DELAY_MILLIS', group: G.writes, kind: 'int', default: 30_000, min: 10, max: 3_600_000, chart: { env: true }, description: 'Backoff ceiling (full jitter) when InfluxDB gives no `Retry-After`.' },
  { name: 'WRITE_CONCURRENCY', group: G.writes, kind: 'int', default: 4, min: 1, max: 64, chart: { env: true }, description: 'Write requests to InfluxDB in flight at once. Batches may finish in any order but are acknowledged (and deleted from the spool) in order; while InfluxDB is failing, one probe at a time.' },
  { name: 'FUSED_ENCODER', group: G.writes, kind: 'flag', default: true, chart: { env: true }, description: 'OTLP traces bound for InfluxDB, protobuf and JSON, go straight from their bytes to line protocol (`gateway/src/ingest/proto-trace-lines.ts` and `json-trace-lines.ts`, one encoder core), byte-identical to the reference path (decode → map → encode), which still answers metrics, logs, the embedded store, `MAPPING_FILE` extra tags, `CARDINALITY_LIMIT`, and any request with something the fused encoders leave to it (counted in `tenantlens_trace_requests_encoded_total{path="reference"}`). `off` sends every request through the reference path: for comparison only.' },

  // --- Spool
  { name: 'SPOOL_DIR', group: G.spool, kind: 'text', defaultDoc: '— (memory only)', chart: { value: 'gateway.spool.enabled', note: 'an emptyDir at `/var/lib/tenantlens/spool`, or a PersistentVolumeClaim per pod with `gateway.spool.persistence.enabled`' }, description: 'InfluxDB only: append every accepted request to disk (fdatasync) before answering 200, replay on start ([Guarantees](guarantees.md)).' },
  { name: 'SPOOL_MAX_BYTES', group: G.spool, kind: 'int', unit: 'bytes', default: 1024 * MiB, min: MiB, max: 1024 * 1024 * MiB, needs: 'SPOOL_DIR', chart: { value: 'gateway.spool.maxBytes' }, description: 'Spool bound (per worker). Past it, requests get 503 + `Retry-After`.' },
  { name: 'SPOOL_SEGMENT_BYTES', group: G.spool, kind: 'int', unit: 'bytes', default: 16 * MiB, min: 64 * 1024, max: 1024 * MiB, needs: 'SPOOL_DIR', chart: { value: 'gateway.spool.segmentBytes' }, description: 'Segment file size: acknowledged data is deleted a segment at a time. At most `SPOOL_MAX_BYTES`.' },

  // --- Processes
  { name: 'WORKERS', group: G.processes, kind: 'intOrAuto', default: 1, min: 1, max: 256, chart: { value: 'gateway.workers' }, description: 'Gateway processes sharing the port (Node cluster), `auto` = one per CPU; more than one needs `INFLUX_URL`. Each worker has its own buffer, spool (`SPOOL_DIR/worker-N`), rate-limit buckets and cardinality counts, so `TENANT_RATE_LIMIT` and `CARDINALITY_LIMIT` apply per worker.' },

  // --- Alerts
  { name: 'ALERTS', group: G.alerts, kind: 'flag', defaultDoc: '`on` (`off` with `WORKERS` > 1)', chart: { set: '`off` on the gateway replicas, `on` in the evaluator Deployment (`alerts.enabled`)' }, description: 'Run the per-tenant P99 alert evaluator in this process. Exactly one process may: set `off` on every replica but one.' },
  { name: 'ALERTS_ONLY', group: G.alerts, kind: 'flag', default: false, chart: { set: '`1` in the evaluator Deployment (`alerts.enabled`)' }, description: '`1`: only evaluate alerts: `/healthz`, `/readyz`, `/metrics` and `GET /api/v1/alerts`; the OTLP routes answer 404.' },
  { name: 'ALERTS_API_URL', group: G.alerts, kind: 'url', chart: { set: "the evaluator's Service (`alerts.enabled`)" }, description: "With `ALERTS=off`: the evaluator's base URL; `GET /api/v1/alerts` is forwarded there (with the caller's credentials)." },
  { name: 'ALERT_INTERVAL', group: G.alerts, kind: 'duration', default: 60_000, defaultText: '1m', minMillis: 100, maxMillis: 86_400_000, chart: { value: 'alerts.interval' }, description: 'Time between evaluations.' },
  { name: 'ALERT_WINDOW', group: G.alerts, kind: 'duration', default: 300_000, defaultText: '5m', minMillis: 1000, maxMillis: 7 * 86_400_000, chart: { value: 'alerts.window' }, description: 'The window whose P99 is compared; baseline windows have the same length.' },
  { name: 'ALERT_BASELINE_WINDOWS', group: G.alerts, kind: 'int', default: 12, min: 1, max: 1000, chart: { value: 'alerts.baselineWindows' }, description: 'Previous windows the baseline (median of their P99s) is taken over.' },
  { name: 'ALERT_BASELINE_MIN_WINDOWS', group: G.alerts, kind: 'int', min: 1, max: 1000, defaultDoc: '`3` (at most `ALERT_BASELINE_WINDOWS`)', chart: { value: 'alerts.baselineMinWindows' }, description: 'Fewer usable previous windows: still learning, no verdict. At most `ALERT_BASELINE_WINDOWS`.' },
  { name: 'ALERT_RATIO', group: G.alerts, kind: 'decimal', default: 1.5, min: 1, max: 100, chart: { value: 'alerts.ratio' }, description: 'Fire above baseline × ratio **and** above baseline + `ALERT_FLOOR_MS`.' },
  { name: 'ALERT_FLOOR_MS', group: G.alerts, kind: 'decimal', default: 200, min: 0, max: 3_600_000, chart: { value: 'alerts.floorMs' }, description: 'See `ALERT_RATIO`: both must hold, so small P99s do not fire on noise.' },
  { name: 'ALERT_MIN_SAMPLES', group: G.alerts, kind: 'int', default: 20, min: 1, max: 100_000_000, chart: { value: 'alerts.minSamples' }, description: 'A window with fewer samples gives no verdict (fire, resolve, or count as a baseline window).' },
  { name: 'ALERT_RESOLVE_RATIO', group: G.alerts, kind: 'decimal', min: 0.1, max: 100, defaultDoc: '`1.2` (at most `ALERT_RATIO`)', chart: { value: 'alerts.resolveRatio' }, description: 'Resolve below baseline × this; at most `ALERT_RATIO` (hysteresis).' },
  { name: 'ALERT_FIRE_AFTER', group: G.alerts, kind: 'int', default: 1, min: 1, max: 1000, chart: { value: 'alerts.fireAfter' }, description: 'Consecutive breaching evaluations needed to fire.' },
  { name: 'ALERT_RESOLVE_AFTER', group: G.alerts, kind: 'int', default: 2, min: 1, max: 1000, chart: { value: 'alerts.resolveAfter' }, description: 'Consecutive recovered evaluations needed to resolve.' },
  { name: 'ALERT_WEBHOOK_URL', group: G.alerts, kind: 'url', chart: { value: 'alerts.webhook.url', note: 'or `alerts.webhook.existingSecret`' }, description: 'Generic JSON webhook.' },
  { name: 'ALERTMANAGER_URL', group: G.alerts, kind: 'url', chart: { value: 'alerts.alertmanager.url' }, description: 'Alertmanager base URL; alerts are POSTed to `<url>/api/v2/alerts`.' },
  { name: 'ALERT_DASHBOARD_URL', group: G.alerts, kind: 'url', chart: { value: 'alerts.dashboardUrl', note: "default: the console's URL" }, description: 'Drill-down links become `<url>?tenant=…&from=…&to=…` (the demo: `http://127.0.0.1:4318/console/`, which opens the console at that tenant). Unset: the sessions API path.' },

  // --- Rollups
  { name: 'ROLLUPS', group: G.rollups, kind: 'flag', default: true, chart: { env: true }, description: 'Per-minute duration sketches (`latency_rollup`, [data model](data-model.md#rollups-latency_rollup)): written beside the raw points, and `/tenants`, `/compare`, `/timeseries` and the alert windows read them where they cover the range (estimates within 1%). `off`: no rollup points are written and every percentile comes from raw points (exact, slower over long ranges). Set it the same on every replica.' },
  { name: 'ROLLUP_CLOSE_DELAY_MILLIS', group: G.rollups, kind: 'int', default: 20_000, min: 1000, max: 600_000, chart: { env: true }, description: "A minute's sketch is written this long after the minute ends (spans arrive after they end; browsers batch). A duration arriving later still counts, in a later rollup point of the same minute. Queries read a minute from rollups only once it ended this long ago plus about 10 s: set it the same on every replica." },
  { name: 'ROLLUP_RETRY_WINDOW_MILLIS', group: G.rollups, kind: 'int', default: 900_000, min: 60_000, max: 86_400_000, chart: { env: true }, description: 'How long (span time, against the clock) span ids are kept so a retried or replayed span is not counted twice in a rollup.' },
  { name: 'ROLLUP_TRACKED_IDS_MAX', group: G.rollups, kind: 'int', default: 1_000_000, min: 1000, max: 100_000_000, chart: { env: true }, description: 'Span ids kept for that, at most (about 100 bytes each); past it the oldest minutes\' go first, counted in `tenantlens_rollup_events_total{event="forgotten"}` (a retry of those spans would count twice).' },

  // --- Logs
  { name: 'LOG_LEVEL', group: G.logs, kind: 'enum', allowed: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', chart: { value: 'gateway.logLevel' }, description: 'pino level. Logs are JSON and never contain tokens.' },
] as const satisfies readonly VariableSpec[];

export type VariableName = (typeof VARIABLES)[number]['name'];
