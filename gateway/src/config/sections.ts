/**
 * Sections of the gateway's configuration (config.ts `Config`) that stand alone: rollups, alerts,
 * infrastructure spans, gRPC and the console. config.ts builds and re-exports them.
 */

/** The per-minute duration rollups (`gateway/src/rollup/`); undefined in `Config` with `ROLLUPS=off`. */
export interface RollupsConfig {
  /** `ROLLUP_CLOSE_DELAY_MILLIS`: how long after its end a minute is written. */
  readonly closeDelayMillis: number;
  /** `ROLLUP_RETRY_WINDOW_MILLIS`: how long a minute's span ids are kept to skip client retries. */
  readonly retryWindowMillis: number;
  /** `ROLLUP_TRACKED_IDS_MAX`: at most this many span ids kept for that. */
  readonly maxTrackedIds: number;
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
