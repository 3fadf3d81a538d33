import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { BufferConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';
import { retryDelayMillis } from '../delivery/backoff.ts';
import type { FieldValue, MappedPoint } from '../schema/point.ts';
import type { MappingRules } from '../mapping/rules.ts';
import { createEmbeddedBrowserQueries } from '../query/browser-embedded.ts';
import { createEmbeddedDrillDown } from '../query/embedded.ts';
import { sqlIdent } from '../query/sql.ts';
import { tableSpecs, type TableSpec } from '../schema/derived.ts';
import { METRIC_NAME_COLUMN } from '../schema/measurements.ts';
import { createFullLatch } from './full-latch.ts';
import type { StoreParts, WriteSink } from './store.ts';
import type { RollupCoverage } from '../rollup/recorder.ts';

function columns(spec: TableSpec): string[] {
  return ['time_ns', spec.idColumn, ...spec.text, ...spec.integers, ...spec.floats, 'extra'];
}

function jsValue(v: FieldValue): string | number | boolean {
  return v.type === 'integer' ? Number(v.value) : v.value;
}

/** Rough in-memory size of a point, to bound the buffer in bytes like the InfluxDB writer. */
function sizeOf(p: MappedPoint): number {
  let n = 64 + p.point.measurement.length;
  for (const [k, v] of p.point.tags) n += k.length + v.length + 16;
  for (const [k, v] of p.point.fields) n += k.length + (typeof v.value === 'string' ? v.value.length : 8) + 24;
  return n;
}

export interface EmbeddedStoreOptions {
  /** `DATA_DIR`: the database file lives here and survives restarts. */
  readonly dataDir: string;
  readonly rules: MappingRules;
  readonly buffer: BufferConfig;
  readonly events: {
    written(points: number): void;
    retry(reason: string): void;
  };
  /** Rollups on: the recorder's coverage, for the drill-down (query/rollup-drilldown.ts). */
  readonly rollups?: RollupCoverage | undefined;
}

/** One table per measurement (from the schema), and the generic metrics table. */
async function createTables(conn: DuckDBConnection, tables: readonly TableSpec[]): Promise<void> {
  for (const spec of tables) {
    const cols = [
      'time_ns BIGINT NOT NULL',
      `${sqlIdent(spec.idColumn)} VARCHAR NOT NULL`,
      ...spec.text.map((c) => `${sqlIdent(c)} VARCHAR${c === 'tenant_id' ? ' NOT NULL' : ''}`),
      ...spec.integers.map((c) => `${sqlIdent(c)} BIGINT`),
      ...spec.floats.map((c) => `${sqlIdent(c)} DOUBLE`),
      'extra VARCHAR',
    ];
    await conn.run(`CREATE TABLE IF NOT EXISTS ${sqlIdent(spec.name)} (${cols.join(', ')}, PRIMARY KEY (tenant_id, ${sqlIdent(spec.idColumn)}, time_ns))`);
    // Staging tables take appender rows; INSERT OR IGNORE then skips replays (appenders cannot).
    await conn.run(`CREATE TEMP TABLE IF NOT EXISTS ${sqlIdent(`stage_${spec.name}`)} AS SELECT * FROM ${sqlIdent(spec.name)} LIMIT 0`);
  }
}

/** One row: the table's columns in order, everything else as JSON in `extra`. */
function appendRow(appender: DuckDBAppender, spec: TableSpec, p: MappedPoint): void {
  const values = new Map<string, string | number | boolean | bigint>();
  for (const [k, v] of p.point.tags) values.set(k, v);
  for (const [k, v] of p.point.fields) values.set(k, v.type === 'integer' ? BigInt(v.value) : v.value);
  appender.appendBigInt(p.point.timestamp);
  appender.appendVarchar(p.spanId);
  for (const c of spec.text) {
    const v = values.get(c);
    if (v === undefined) appender.appendNull();
    else appender.appendVarchar(String(v));
    values.delete(c);
  }
  for (const c of spec.integers) {
    const v = values.get(c);
    if (typeof v === 'bigint') appender.appendBigInt(v);
    else appender.appendNull();
    values.delete(c);
  }
  for (const c of spec.floats ?? []) {
    const v = values.get(c);
    if (typeof v === 'number') appender.appendDouble(v);
    else appender.appendNull();
    values.delete(c);
  }
  // In span tables the id column is the span id itself; it is not repeated in `extra`.
  if (spec.idColumn === 'span_id') values.delete('span_id');
  const extra: Record<string, string | number | boolean> = {};
  for (const [k, v] of p.point.fields) if (values.has(k)) extra[k] = jsValue(v);
  // Like InfluxDB, which omits empty tag values (a gauge has no `temporality`).
  for (const [k, v] of p.point.tags) if (values.has(k) && v !== '') extra[k] = v;
  appender.appendVarchar(JSON.stringify(extra));
  appender.endRow();
}

/** Writes one batch in one transaction: all of it or, on an error, none (the caller retries it). */
function createBatchWriter(conn: DuckDBConnection, byMeasurement: ReadonlyMap<string, TableSpec>, metrics: TableSpec): (batch: readonly MappedPoint[]) => Promise<void> {
  function groupByTable(batch: readonly MappedPoint[]): Map<TableSpec, MappedPoint[]> {
    const groups = new Map<TableSpec, MappedPoint[]>();
    for (const p of batch) {
      let spec = byMeasurement.get(p.point.measurement);
      let point = p;
      if (spec === undefined) {
        // Any other measurement is a metric: its name becomes a column of the generic table.
        spec = metrics;
        point = { spanId: p.spanId, point: { ...p.point, tags: [...p.point.tags, [METRIC_NAME_COLUMN, p.point.measurement]] } };
      }
      const g = groups.get(spec) ?? [];
      g.push(point);
      groups.set(spec, g);
    }
    return groups;
  }

  return async (batch) => {
    const groups = groupByTable(batch);
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const [spec, points] of groups) {
        const stage = sqlIdent(`stage_${spec.name}`);
        const appender = await conn.createAppender(`stage_${spec.name}`, 'main', 'temp');
        for (const p of points) appendRow(appender, spec, p);
        appender.closeSync();
        const cols = columns(spec).map(sqlIdent).join(', ');
        await conn.run(`INSERT OR IGNORE INTO ${sqlIdent(spec.name)} (${cols}) SELECT ${cols} FROM ${stage}`);
        await conn.run(`DELETE FROM ${stage}`);
      }
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  };
}

/** The embedded store's write side, with the buffer's fill for the health probe. */
interface EmbeddedSink extends WriteSink {
  readonly isFull: boolean;
}

/**
 * The bounded point buffer and its one writer loop. Points are kept until a batch is committed,
 * so a full disk or a lock is waited out; the bound turns a long outage into 503s, not loss.
 */
function createEmbeddedSink(writeBatch: (batch: readonly MappedPoint[]) => Promise<void>, opts: EmbeddedStoreOptions, closeDatabase: () => void): EmbeddedSink {
  let queue: MappedPoint[] = [];
  // Written points are skipped with a head index and compacted now and then: slicing the whole
  // queue after every batch made a deep queue quadratic.
  let head = 0;
  const pending = (): number => queue.length - head;
  let queuedBytes = 0;
  let writing: Promise<void> | undefined;
  let attempt = 0;
  let lastRetryMillis = 0;
  let closed = false;

  const full = createFullLatch();
  const refusal = (): GatewayError =>
    new GatewayError('BUFFER_FULL', 'the write buffer is full (the embedded store is falling behind); retry later', {
      retryAfterSeconds: Math.max(1, Math.ceil(lastRetryMillis / 1000)),
    });

  function pump(): void {
    if (writing !== undefined || pending() === 0 || closed) return;
    writing = (async () => {
      while (pending() > 0 && !closed) {
        const batch = queue.slice(head, head + opts.buffer.batchMaxLines);
        try {
          await writeBatch(batch);
          attempt = 0;
          head += batch.length;
          if (head > 4096 && head * 2 > queue.length) {
            queue = queue.slice(head);
            head = 0;
          }
          queuedBytes -= batch.reduce((n, p) => n + sizeOf(p), 0);
          opts.events.written(batch.length);
        } catch (err) {
          opts.events.retry((err as Error).message);
          lastRetryMillis = retryDelayMillis(undefined, attempt++, { initialMillis: 250, minMillis: 100, maxMillis: opts.buffer.retryMaxDelayMillis });
          await new Promise((r) => setTimeout(r, lastRetryMillis));
        }
      }
    })().finally(() => {
      writing = undefined;
      pump();
    });
  }

  return {
    offer(points) {
      if (closed) return false;
      let add = 0;
      for (const p of points) add += sizeOf(p);
      if (queuedBytes + add > opts.buffer.maxBytes) {
        full.refused(queuedBytes);
        return false;
      }
      for (const p of points) queue.push(p);
      queuedBytes += add;
      // Let the rest of this tick's requests join the batch before writing.
      setImmediate(pump);
      return true;
    },
    persisted: () => undefined,
    refusal,
    fullError: () => (full.holds(queuedBytes) ? refusal() : undefined),
    durable: false,
    get isFull() {
      return queuedBytes + opts.buffer.batchMaxBytes > opts.buffer.maxBytes;
    },
    get bufferedPoints() {
      return pending();
    },
    get bufferedBytes() {
      return queuedBytes;
    },
    async drain(deadline) {
      pump();
      while ((pending() > 0 || writing !== undefined) && Date.now() < deadline) {
        await Promise.race([writing ?? Promise.resolve(), new Promise((r) => setTimeout(r, 50))]);
        pump();
      }
      return pending();
    },
    async close() {
      closed = true;
      await writing;
      closeDatabase();
    },
  };
}

/**
 * The default store when no InfluxDB is configured: DuckDB in `DATA_DIR/tenantlens.duckdb`.
 * Points are buffered (bounded like the InfluxDB writer) and appended in batches by one writer
 * loop; a (tenant, span, time) primary key makes a replayed request a no-op, like InfluxDB's
 * idempotent overwrite. The drill-down reads on a second connection.
 */
export async function createEmbeddedStore(opts: EmbeddedStoreOptions): Promise<StoreParts> {
  mkdirSync(opts.dataDir, { recursive: true });
  const instance = await DuckDBInstance.create(join(opts.dataDir, 'tenantlens.duckdb'));
  const writeConn = await instance.connect();
  const readConn = await instance.connect();
  const specs = tableSpecs(opts.rules);
  const byMeasurement = new Map<string, TableSpec>([specs.frontend, specs.backend, specs.spans, specs.logs, specs.webVitals, specs.frontendErrors, specs.latencyRollup].map((s) => [s.name, s]));
  await createTables(writeConn, [...byMeasurement.values(), specs.metrics]);

  const sink = createEmbeddedSink(createBatchWriter(writeConn, byMeasurement, specs.metrics), opts, () => {
    writeConn.closeSync();
    readConn.closeSync();
    instance.closeSync();
  });
  return {
    sink,
    health: {
      async check() {
        const problems = sink.isFull ? ['write buffer full'] : [];
        try {
          await readConn.run('SELECT 1');
        } catch {
          problems.push('embedded store unavailable');
        }
        return { problems, warnings: [] };
      },
    },
    queries: createEmbeddedDrillDown(readConn, specs, opts.rollups),
    browser: createEmbeddedBrowserQueries(readConn, specs),
  };
}
