import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { createAlerting, type Alerting } from './alerts/alerting.ts';
import { createApp } from './app.ts';
import { clusterMetricsText, runPrimary, WORKER_SLOT_ENV } from './cluster/primary.ts';
import type { AlertsSource } from './http/query-routes.ts';
import { ConfigError, loadConfig, type Config, type InfluxConfig } from './config.ts';
import { createGrpcReceiver, type GrpcReceiver } from './grpc/receiver.ts';
import { createExportIntake } from './ingest/export.ts';
import { createIngest } from './ingest/ingest.ts';
import { SIGNALS } from './ingest/signal-table.ts';
import type { WriteTransport } from './influx/transport.ts';
import { createV1Transport } from './influx/v1-transport.ts';
import { createV2Transport } from './influx/v2-transport.ts';
import { createV3Transport } from './influx/v3-transport.ts';
import { createRefusalLog } from './influx/refusal-reasons.ts';
import { openSpool, type Spool } from './influx/spool.ts';
import { createLineWriter } from './influx/writer.ts';
import { FieldTypeRegistry } from './mapping/field-types.ts';
import { UNLIMITED, type ColumnBudget } from './mapping/column-budget.ts';
import { createInfluxColumnBudget } from './store/column-claims.ts';
import { createLogsMapper, createMetricsMapper } from './mapping/map-signals.ts';
import { createSpanMapper } from './mapping/map-spans.ts';
import { DEFAULT_RULES, loadMappingFile, MappingFileError, type MappingRules } from './mapping/rules.ts';
import { createMetrics, type GatewayMetrics } from './ops/metrics.ts';
import { createRollupRecorder } from './rollup/recorder.ts';
import { createInfluxStore, type InfluxSink } from './store/influx-store.ts';
import type { LineSink, StoreParts, WriteSink } from './store/store.ts';
import { createTenantRateLimiter } from './tenancy/rate-limit.ts';
import { createCardinalityGuard } from './mapping/cardinality-guard.ts';
import { acceptInfrastructureCredential, reserveInfrastructureTenant } from './tenancy/infrastructure.ts';
import { createTenantResolver } from './tenancy/resolve-tenant.ts';

/** How long SIGTERM waits for the buffer to reach the database before giving up (k8s default grace is 30 s). */
const DRAIN_MILLIS = 25_000;

function fatal(message: string): never {
  process.stderr.write(`tenantlens-gateway: ${message}\n`);
  process.exit(1);
}

let config: Config;
let rules = DEFAULT_RULES;
try {
  config = loadConfig(process.env);
  if (config.mappingFile !== undefined) rules = loadMappingFile(config.mappingFile);
} catch (err) {
  if (err instanceof ConfigError || err instanceof MappingFileError) fatal(`invalid configuration: ${err.message}`);
  throw err;
}

/** Which of the `WORKERS` processes this is (undefined with one worker). */
const workerSlot = config.workers > 1 && cluster.isWorker ? Number(process.env[WORKER_SLOT_ENV] ?? 0) : undefined;

const logger = pino({
  level: config.logLevel,
  base: { service: 'tenantlens-gateway', instance: config.instanceName, pid: process.pid, ...(workerSlot === undefined ? {} : { worker: workerSlot }) },
  // Belt and braces: nothing should log credentials, but if a header object ever is, they vanish.
  redact: { paths: ['*.authorization', '*.headers.authorization', '*.token', 'config.influx.token', 'config.influx.password'], censor: '[redacted]' },
});

// The gauges read the store lazily: it is created after the metrics it reports into.
let sinkRef: WriteSink | undefined;
let spoolRef: Spool | undefined;
let alertingRef: Alerting | undefined;
const metrics = createMetrics({
  bufferLines: () => sinkRef?.bufferedPoints ?? 0,
  bufferBytes: () => sinkRef?.bufferedBytes ?? 0,
  spoolBytes: () => spoolRef?.bytes ?? 0,
  alertsFiring: () => alertingRef?.evaluator.firingCount ?? 0,
  attributeFields: () => budget.inUse(),
  attributeFieldsBudget: () => (budget === UNLIMITED ? undefined : budget.max),
});

/** The per-minute duration sketches: written through the store's sink, read by its drill-down (coverage). None with ROLLUPS=off. */
const rollups =
  config.rollups === undefined
    ? undefined
    : createRollupRecorder({
        ...config.rollups,
        writer: workerSlot === undefined ? config.instanceName : `${config.instanceName}-w${workerSlot}`,
        target: { offer: (points) => sinkRef?.offer(points) ?? false },
        events: {
          flushed: (n) => metrics.rollups.inc({ event: 'flushed' }, n),
          duplicates: (n) => metrics.rollups.inc({ event: 'duplicate' }, n),
          refused: () => metrics.rollups.inc({ event: 'refused' }),
          forgotten: (n) => metrics.rollups.inc({ event: 'forgotten' }, n),
        },
      });

/** The column budget: on InfluxDB, shared with every replica through the claim log; none on the embedded store. */
let budget: ColumnBudget = UNLIMITED;
const overflowed = (measurement: string, n: number): void => metrics.attributesOverflowed.inc({ measurement }, n);
/** Created once the store is: its budget comes from the store's database. */
let fieldTypes: FieldTypeRegistry;
function createFieldTypes(): FieldTypeRegistry {
  return new FieldTypeRegistry(
    (measurement, key, type) => {
      metrics.fieldTypeConflicts.inc();
      logger.warn({ measurement, field: key, type }, `attribute "${key}" arrived as ${type} but the field has another type; written as "${key}__${type}"`);
    },
    undefined,
    budget,
    overflowed,
  );
}

function openConfiguredSpool(m: GatewayMetrics): Spool | undefined {
  if (config.spool === undefined) return undefined;
  // One spool per worker: a spool has one owner (its lock), and a replacement worker takes over its slot's.
  const dir = workerSlot === undefined ? resolve(config.spool.dir) : join(resolve(config.spool.dir), `worker-${workerSlot}`);
  try {
    return openSpool(
      // Any one record must fit the memory buffer with a batch to spare, or the feed would stall behind it.
      { ...config.spool, dir, maxRecordBytes: Math.max(64 * 1024, config.buffer.maxBytes - config.buffer.batchMaxBytes) },
      {
        recovered: (records, lines, bytes) => {
          m.spoolRecovered.inc(records);
          logger.info({ records, lines, bytes, dir }, 'spool: replaying lines InfluxDB had not acknowledged before the last stop');
        },
        truncated: (segment, bytes, why) => {
          m.spoolTruncatedBytes.inc(bytes);
          logger.warn({ segment, bytes, why }, 'spool: cut a torn tail off a segment (a write interrupted by a crash; it was never acknowledged)');
        },
        diskError: (err) => logger.error({ err: err.message, dir }, 'spool: disk write failed; refusing new data with 503 until restart'),
      },
    );
  } catch (err) {
    fatal(`cannot open the spool in SPOOL_DIR=${dir}: ${(err as Error).message}`);
  }
}

function influxStore(influx: InfluxConfig, m: GatewayMetrics, mapping: MappingRules): StoreParts<InfluxSink> {
  const sockets = (config.buffer.writeConcurrency ?? 1) + 1;
  const transport: WriteTransport =
    influx.apiVersion === 1 ? createV1Transport(influx, sockets) : influx.apiVersion === 3 ? createV3Transport(influx, sockets) : createV2Transport(influx, config.buffer.batchMaxLines);
  const refusals = createRefusalLog({
    count: (reason, lines) => m.linesRejected.inc({ reason }, lines),
    firstOfReason: (reason, line, message) => logger.error({ reason, message, line }, 'InfluxDB refused a line for a new reason; lines refused for it are dropped and counted in tenantlens_lines_rejected_total, this is logged once'),
  });
  const spool = openConfiguredSpool(m);
  spoolRef = spool;
  // The store feeds the writer from the spool; it exists only once the writer does.
  let released: (n: number) => void = () => undefined;
  const writer = createLineWriter({
    transport,
    onReleased: spool === undefined ? undefined : (n) => released(n),
    buffer: config.buffer,
    events: {
      written: (n) => m.pointsWritten.inc(n),
      retry: (reason, status) => {
        m.writeFailures.inc({ kind: 'retryable' });
        m.writeRetries.inc({ reason: status === undefined ? 'network' : String(status) });
        logger.warn({ status, reason }, 'InfluxDB write failed; will retry');
      },
      failed: (reason, status, rejected, sample, refused) => {
        m.writeFailures.inc({ kind: 'rejected' });
        refusals.record(reason, rejected, refused);
        // InfluxDB 3 names each refused line: the refusal log shows the first of each reason once.
        // v1/v2 give one message per batch, which stays logged with a sample as before.
        if (refused.length === 0) logger.error({ status, reason, rejectedLines: rejected, sampleLines: sample }, 'InfluxDB refused lines as invalid; they are dropped');
      },
    },
  });
  // Every InfluxDB version: the claim log is read over /query (on 2.x through the DBRP mapping the drill-down needs too).
  let problems = 0;
  budget = createInfluxColumnBudget({
    config: influx,
    transport,
    rules: mapping,
    max: config.attributeFieldsMax,
    events: {
      // Existing fields (SHOW FIELD KEYS) and columns other processes admitted: their type is the database's.
      adopted: (measurement, column, type) => fieldTypes.seed(measurement, column, type),
      problem: (what, err) => {
        // A database that stays down must not flood the log: the first few, then every 100th.
        if (problems++ < 5 || problems % 100 === 0) logger.warn({ err: String(err) }, what);
      },
    },
  });
  const store = createInfluxStore({ config: influx, rules: mapping, writer, transport, spool, rollups, budget, overflowed });
  released = (n) => store.sink.released(n);
  return store;
}

async function start(): Promise<void> {
  let store: StoreParts;
  // Only the InfluxDB sink takes the fused encoder's lines; the embedded store takes points.
  let lines: LineSink | undefined;
  if (config.influx !== undefined) {
    const influx = influxStore(config.influx, metrics, rules);
    store = influx;
    lines = influx.sink;
  } else {
    const dataDir = resolve(config.dataDir);
    try {
      // Loaded only here: DuckDB's native library adds ~40 MB of RSS to a gateway that writes to InfluxDB.
      const { createEmbeddedStore } = await import('./store/embedded-store.ts');
      store = await createEmbeddedStore({
        dataDir,
        rules,
        buffer: config.buffer,
        rollups,
        events: {
          written: (n) => metrics.pointsWritten.inc(n),
          retry: (reason) => {
            metrics.writeFailures.inc({ kind: 'retryable' });
            metrics.writeRetries.inc({ reason: 'embedded' });
            logger.warn({ reason }, 'embedded store write failed; will retry');
          },
        },
      });
    } catch (err) {
      fatal(`cannot open the embedded store in DATA_DIR=${dataDir}: ${(err as Error).message}`);
    }
  }
  sinkRef = store.sink;
  fieldTypes = createFieldTypes();
  // Start-up reads the admitted columns and reserves spares before the first request, so a new
  // attribute's first values get a field; a database that does not answer soon only delays that.
  await Promise.race([budget.ready(), new Promise((r) => setTimeout(r, 10_000).unref())]);
  logger.info({ budget: budget.max, fields: Object.fromEntries(budget.inUse()) }, 'column budget: attribute fields admitted per measurement');

  const ingest = createIngest({
    // The trace and session index serves InfluxDB's lookups; the embedded store has SQL for them.
    mapper: createSpanMapper(rules, fieldTypes, { traceIndex: config.influx !== undefined }),
    metricsMapper: createMetricsMapper(rules),
    logsMapper: createLogsMapper(rules, fieldTypes),
    rules,
    sink: store.sink,
    lines,
    instanceName: config.instanceName,
    rateLimiter: config.tenantRateLimit === undefined ? undefined : createTenantRateLimiter(config.tenantRateLimit),
    attributeLimits: config.attributeLimits,
    fieldTypes: config.fusedEncoder ? fieldTypes : undefined,
    rollups,
    cardinalityGuard:
      config.cardinality === undefined ? undefined : createCardinalityGuard({ ...config.cardinality, onDemoted: (tag) => metrics.tagValuesDemoted.inc({ tag }) }),
  });
  const alerting = config.alerts.enabled ? createAlerting({ config: config.alerts, queries: store.queries, state: store.alertState, metrics, logger }) : undefined;
  alertingRef = alerting;
  const alerts: AlertsSource =
    alerting !== undefined
      ? { kind: 'local', list: () => alerting.evaluator.alerts() }
      : config.alerts.apiUrl !== undefined
        ? { kind: 'remote', url: config.alerts.apiUrl, forwardHeaders: ['authorization', config.tenancy.header] }
        : { kind: 'off' };
  const tenantCredentials = createTenantResolver(config.tenancy);
  // With INFRA_TOKEN: no tenant credential may name the infrastructure tenant, and only ingest takes the token.
  const tenants = config.infra === undefined ? tenantCredentials : reserveInfrastructureTenant(tenantCredentials, config.infra);
  const ingestTenants = config.infra === undefined ? tenants : acceptInfrastructureCredential(tenants, config.infra);
  // One intake for both transports: the same admission, decoding, counters and drain state.
  const intake = createExportIntake({ ingest, admission: store.sink, metrics, logger, maxBodyBytes: config.maxBodyBytes });
  const { app, startDraining } = createApp({
    config,
    ingest,
    intake,
    tenants,
    ingestTenants,
    sink: store.sink,
    health: store.health,
    queries: store.queries,
    browser: store.browser,
    metrics,
    logger,
    alerts,
    metricsText: workerSlot === undefined ? undefined : clusterMetricsText(metrics.registry),
  });
  // The evaluator takes no data, on any transport.
  const grpc: GrpcReceiver | undefined =
    config.grpc === undefined || config.alerts.only
      ? undefined
      : createGrpcReceiver({ config: config.grpc, host: config.host, maxBodyBytes: config.maxBodyBytes, signals: SIGNALS, intake, tenants: ingestTenants, metrics, logger });
  let grpcPort: number | undefined;
  try {
    // Bound before HTTP listens, so the one "listening" line (which tests wait for) names both ports.
    grpcPort = await grpc?.listen();
  } catch (err) {
    fatal(`cannot serve OTLP/gRPC on ${config.host}:${config.grpc?.port ?? ''} (GRPC_PORT; GRPC=off turns it off): ${(err as Error).message}`);
  }

  const server: Server = app.listen(config.port, config.host, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
    logger.info(
      {
        port,
        ...(grpcPort === undefined ? {} : { grpcPort, grpcTls: config.grpc?.tls !== undefined }),
        store: config.influx === undefined ? 'embedded' : 'influxdb',
        ...(config.influx === undefined
          ? { dataDir: resolve(config.dataDir) }
          : { influx: config.influx.url, apiVersion: config.influx.apiVersion, bucket: config.influx.bucket }),
        tenantAuth: config.tenancy.mode,
        alerts: config.alerts.only ? 'only' : config.alerts.enabled ? 'on' : 'off',
      },
      `${config.alerts.only ? 'alert evaluator (ALERTS_ONLY=1, no ingest)' : 'gateway'} listening on http://${config.host}:${port} (OTLP/HTTP: POST /v1/traces; drill-down: GET /api/v1/tenants)${grpcPort === undefined ? '' : `; OTLP/gRPC on ${config.host}:${grpcPort}`}`,
    );
  });
  server.keepAliveTimeout = 65_000;
  alerting?.start();

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, buffered: store.sink.bufferedPoints }, 'stopping: refusing new data, flushing the buffer');
    startDraining();
    grpc?.startDraining();
    // An evaluation stuck on an unreachable database must not eat the drain's grace period.
    if (alerting !== undefined) await Promise.race([alerting.stop(), new Promise((r) => setTimeout(r, 2000).unref())]);
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    // Calls in flight finish (their data is acknowledged only once buffered); new ones get UNAVAILABLE.
    const grpcClosed = grpc?.close(Date.now() + 5000);
    // The open minutes' rollups go out with the buffer (flushAll); again once the calls in flight are done.
    rollups?.stop();
    rollups?.flushAll();
    // A resolved notification still queued is worth a few seconds, not the whole grace period; before
    // the drain, so the alert state that records its delivery is written with the rest.
    if (alerting !== undefined) await Promise.race([alerting.idle(), new Promise((r) => setTimeout(r, 3000).unref())]);
    let left = await store.sink.drain(Date.now() + DRAIN_MILLIS);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    await grpcClosed;
    if (!(rollups?.flushAll() ?? true) || store.sink.bufferedPoints > 0) left = await store.sink.drain(Date.now() + 3000);
    // Closing a client to an unreachable database must not hold the exit hostage.
    await Promise.race([store.sink.close().catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
    if (left > 0 && store.sink.durable) {
      logger.warn(
        { spooled: left, dir: config.spool?.dir },
        'the database did not take everything before the deadline; the rest stays in the spool, replayed when a gateway starts on this directory again (an emptyDir volume is deleted with its pod: then these lines are lost)',
      );
    } else if (left > 0) {
      logger.error({ lost: left }, 'the database did not take the whole buffer before the deadline; these points are lost');
      process.exit(1);
    }
    logger.info('stopped cleanly');
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

if (config.workers > 1 && cluster.isPrimary) runPrimary(config.workers, logger);
else await start();
