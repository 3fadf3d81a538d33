import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config, type InfluxConfig } from './config.ts';
import { createIngest } from './ingest/ingest.ts';
import { seedFieldTypes } from './influx/field-types-from-db.ts';
import type { WriteTransport } from './influx/transport.ts';
import { createV1Transport } from './influx/v1-transport.ts';
import { createV2Transport } from './influx/v2-transport.ts';
import { createLineWriter } from './influx/writer.ts';
import { FieldTypeRegistry } from './mapping/field-types.ts';
import { createLogsMapper, createMetricsMapper } from './mapping/map-signals.ts';
import { createSpanMapper } from './mapping/map-spans.ts';
import { DEFAULT_RULES, loadMappingFile, MappingFileError, type MappingRules } from './mapping/rules.ts';
import { createMetrics, type GatewayMetrics } from './ops/metrics.ts';
import { createEmbeddedStore } from './store/embedded-store.ts';
import { createInfluxStore } from './store/influx-store.ts';
import type { Store } from './store/store.ts';
import { createTenantRateLimiter } from './tenancy/rate-limit.ts';
import { createCardinalityGuard } from './mapping/cardinality-guard.ts';
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

const logger = pino({
  level: config.logLevel,
  base: { service: 'tenantlens-gateway', instance: config.instanceName },
  // Belt and braces: nothing should log credentials, but if a header object ever is, they vanish.
  redact: { paths: ['*.authorization', '*.headers.authorization', '*.token', 'config.influx.token', 'config.influx.password'], censor: '[redacted]' },
});

// The gauges read the store lazily: it is created after the metrics it reports into.
let storeRef: Store | undefined;
const metrics = createMetrics({ bufferLines: () => storeRef?.bufferedPoints ?? 0, bufferBytes: () => storeRef?.bufferedBytes ?? 0 });

const fieldTypes = new FieldTypeRegistry((measurement, key, type) => {
  metrics.fieldTypeConflicts.inc();
  logger.warn({ measurement, field: key, type }, `attribute "${key}" arrived as ${type} but the field has another type; written as "${key}__${type}"`);
});

function influxStore(influx: InfluxConfig, m: GatewayMetrics, mapping: MappingRules): Store {
  const transport: WriteTransport = influx.apiVersion === 1 ? createV1Transport(influx) : createV2Transport(influx, config.buffer.batchMaxLines);
  const writer = createLineWriter({
    transport,
    buffer: config.buffer,
    events: {
      written: (n) => m.pointsWritten.inc(n),
      retry: (reason, status) => {
        m.writeFailures.inc({ kind: 'retryable' });
        m.writeRetries.inc({ reason: status === undefined ? 'network' : String(status) });
        logger.warn({ status, reason }, 'InfluxDB write failed; will retry');
      },
      failed: (reason, status, rejected, sample) => {
        m.writeFailures.inc({ kind: 'rejected' });
        m.linesRejected.inc(rejected);
        logger.error({ status, reason, rejectedLines: rejected, sampleLines: sample }, 'InfluxDB refused lines as invalid; they are dropped');
      },
    },
  });
  if (influx.apiVersion === 1) {
    seedFieldTypes(influx, mapping, fieldTypes)
      .then((n) => logger.info({ fields: n }, 'field types read from InfluxDB'))
      .catch((err: unknown) => logger.warn({ err: String(err) }, 'could not read field types from InfluxDB; conflicts will be learned as they happen'));
  }
  return createInfluxStore({ config: influx, rules: mapping, writer, transport });
}

async function start(): Promise<void> {
  let store: Store;
  if (config.influx !== undefined) {
    store = influxStore(config.influx, metrics, rules);
  } else {
    const dataDir = resolve(config.dataDir);
    try {
      store = await createEmbeddedStore({
        dataDir,
        rules,
        buffer: config.buffer,
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
  storeRef = store;

  const ingest = createIngest({
    mapper: createSpanMapper(rules, fieldTypes),
    metricsMapper: createMetricsMapper(rules),
    logsMapper: createLogsMapper(rules, fieldTypes),
    rules,
    store,
    instanceName: config.instanceName,
    rateLimiter: config.tenantRateLimit === undefined ? undefined : createTenantRateLimiter(config.tenantRateLimit),
    attributeLimits: config.attributeLimits,
    cardinalityGuard:
      config.cardinality === undefined ? undefined : createCardinalityGuard({ ...config.cardinality, onDemoted: (tag) => metrics.tagValuesDemoted.inc({ tag }) }),
  });
  const { app, startDraining } = createApp({ config, ingest, tenants: createTenantResolver(config.tenancy), store, metrics, logger });

  const server: Server = app.listen(config.port, config.host, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
    logger.info(
      {
        port,
        store: store.kind,
        ...(config.influx === undefined
          ? { dataDir: resolve(config.dataDir) }
          : { influx: config.influx.url, apiVersion: config.influx.apiVersion, bucket: config.influx.bucket }),
        tenantAuth: config.tenancy.mode,
      },
      `gateway listening on http://${config.host}:${port} (OTLP/HTTP: POST /v1/traces; drill-down: GET /api/v1/tenants)`,
    );
  });
  server.keepAliveTimeout = 65_000;

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, buffered: store.bufferedPoints }, 'stopping: refusing new data, flushing the buffer');
    startDraining();
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    const left = await store.drain(Date.now() + DRAIN_MILLIS);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    // Closing a client to an unreachable database must not hold the exit hostage.
    await Promise.race([store.close().catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
    if (left > 0) {
      logger.error({ lost: left }, 'the database did not take the whole buffer before the deadline; these points are lost');
      process.exit(1);
    }
    logger.info('stopped cleanly');
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

await start();
