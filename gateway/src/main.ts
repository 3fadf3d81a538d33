import type { Server } from 'node:http';
import { pino } from 'pino';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createIngest } from './ingest/ingest.ts';
import { TimestampSlots } from './influx/point-identity.ts';
import type { WriteTransport } from './influx/transport.ts';
import { createV1Transport } from './influx/v1-transport.ts';
import { createV2Transport } from './influx/v2-transport.ts';
import { createLineWriter } from './influx/writer.ts';
import { seedFieldTypes } from './influx/field-types-from-db.ts';
import { FieldTypeRegistry } from './mapping/field-types.ts';
import { createSpanMapper } from './mapping/map-spans.ts';
import { DEFAULT_RULES, loadMappingFile, MappingFileError } from './mapping/rules.ts';
import { createMetrics } from './ops/metrics.ts';
import { createTenantResolver } from './tenancy/resolve-tenant.ts';

/** How long SIGTERM waits for the buffer to reach InfluxDB before giving up (k8s default grace is 30 s). */
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

const transport: WriteTransport =
  config.influx.apiVersion === 1
    ? createV1Transport(config.influx)
    : createV2Transport(config.influx, config.buffer.batchMaxLines);

// eslint-disable-next-line prefer-const -- assigned once the writer exists; the gauges read it lazily
let writerRef: ReturnType<typeof createLineWriter> | undefined;
const metrics = createMetrics({ bufferLines: () => writerRef?.bufferedLines ?? 0, bufferBytes: () => writerRef?.bufferedBytes ?? 0 });

const fieldTypes = new FieldTypeRegistry((measurement, key, type) => {
  metrics.fieldTypeConflicts.inc();
  logger.warn({ measurement, field: key, type }, `attribute "${key}" arrived as ${type} but the field has another type; written as "${key}__${type}"`);
});

const writer = createLineWriter({
  transport,
  buffer: config.buffer,
  events: {
    written: (n) => metrics.pointsWritten.inc(n),
    retry: (reason, status) => {
      metrics.writeFailures.inc({ kind: 'retryable' });
      metrics.writeRetries.inc({ reason: status === undefined ? 'network' : String(status) });
      logger.warn({ status, reason }, 'InfluxDB write failed; will retry');
    },
    failed: (reason, status, rejected, sample) => {
      metrics.writeFailures.inc({ kind: 'rejected' });
      metrics.linesRejected.inc(rejected);
      logger.error({ status, reason, rejectedLines: rejected, sampleLines: sample }, 'InfluxDB refused lines as invalid; they are dropped');
    },
  },
});
writerRef = writer;

let reachable = { at: 0, ok: false };
async function databaseReachable(): Promise<boolean> {
  if (Date.now() - reachable.at > 1000) reachable = { at: Date.now(), ok: await transport.ping() };
  return reachable.ok;
}

const ingest = createIngest({
  mapper: createSpanMapper(rules, fieldTypes),
  rules,
  slots: new TimestampSlots(),
  writer,
  instanceName: config.instanceName,
});

const { app, startDraining } = createApp({
  config,
  ingest,
  tenants: createTenantResolver(config.tenancy),
  writer,
  metrics,
  logger,
  databaseReachable,
});

if (config.influx.apiVersion === 1) {
  seedFieldTypes(config.influx, rules, fieldTypes)
    .then((n) => logger.info({ fields: n }, 'field types read from InfluxDB'))
    .catch((err: unknown) => logger.warn({ err: String(err) }, 'could not read field types from InfluxDB; conflicts will be learned as they happen'));
}

const server: Server = app.listen(config.port, config.host, () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  logger.info(
    { port, influx: config.influx.url, apiVersion: config.influx.apiVersion, bucket: config.influx.bucket, tenantAuth: config.tenancy.mode },
    `gateway listening on http://${config.host}:${port} (OTLP/HTTP: POST /v1/traces)`,
  );
});
server.keepAliveTimeout = 65_000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, bufferedLines: writer.bufferedLines }, 'stopping: refusing new data, flushing the buffer');
  startDraining();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const left = await writer.drain(Date.now() + DRAIN_MILLIS);
  writer.close();
  await transport.close();
  await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
  if (left > 0) {
    logger.error({ lostLines: left }, 'InfluxDB did not take the whole buffer before the deadline; these lines are lost');
    process.exit(1);
  }
  logger.info('stopped cleanly');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
