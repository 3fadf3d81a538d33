import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { BufferConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';
import { retryDelayMillis } from '../delivery/backoff.ts';
import type { MappedPoint } from '../schema/point.ts';
import type { MappingRules } from '../mapping/rules.ts';
import { createEmbeddedBrowserQueries } from '../query/browser-embedded.ts';
import { createEmbeddedDrillDown } from '../query/embedded.ts';
import { tableSpecs, type TableSpec } from '../schema/derived.ts';
import { createEmbeddedAlertState } from './alert-state-embedded.ts';
import { createBatchWriter, createTables } from './embedded-write.ts';
import { createFullLatch } from './full-latch.ts';
import type { StoreParts, WriteSink } from './store.ts';
import type { RollupCoverage } from '../rollup/recorder.ts';

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

/**
 * Points per transaction at most: everything pending up to this. Fewer, larger transactions are
 * what makes DuckDB fast (bench/embedded-store.ts): a commit writes the WAL and now and then a
 * checkpoint, and a transaction that appends a whole row group (122,880 rows) to a table writes it
 * straight to the database file, compressed once, instead of through the WAL. Under a light load a
 * batch is whatever arrived while the last one was written, so latency stays low.
 */
export const EMBEDDED_BATCH_MAX_POINTS = 250_000;

export interface EmbeddedSinkOptions extends Pick<EmbeddedStoreOptions, 'buffer' | 'events'> {
  readonly batchMaxPoints: number;
}

/** The embedded store's write side, with the buffer's fill for the health probe. */
export interface EmbeddedSink extends WriteSink {
  readonly isFull: boolean;
}

/**
 * The bounded point buffer and its one writer loop. Points are kept until a batch is committed,
 * so a full disk or a lock is waited out; the bound turns a long outage into 503s, not loss.
 */
export function createEmbeddedSink(writeBatch: (batch: readonly MappedPoint[]) => Promise<void>, opts: EmbeddedSinkOptions, closeDatabase: () => void): EmbeddedSink {
  let queue: MappedPoint[] = [];
  // Each point's size, computed once when offered (sizeOf was a tenth of the writer's time when
  // it ran again for every written batch).
  let sizes: number[] = [];
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
        const batch = queue.slice(head, head + opts.batchMaxPoints);
        try {
          await writeBatch(batch);
          attempt = 0;
          for (let i = head; i < head + batch.length; i++) queuedBytes -= sizes[i] ?? 0;
          head += batch.length;
          if (head > 4096 && head * 2 > queue.length) {
            queue = queue.slice(head);
            sizes = sizes.slice(head);
            head = 0;
          }
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
      const first = sizes.length;
      let add = 0;
      for (const p of points) {
        const n = sizeOf(p);
        sizes.push(n);
        add += n;
      }
      if (queuedBytes + add > opts.buffer.maxBytes) {
        sizes.length = first;
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
 * loop (store/embedded-write.ts), which skips a row whose (tenant, id, time) is already stored,
 * so a replayed request is a no-op, like InfluxDB's idempotent overwrite. The drill-down reads on a second connection.
 */
export async function createEmbeddedStore(opts: EmbeddedStoreOptions): Promise<StoreParts> {
  mkdirSync(opts.dataDir, { recursive: true });
  const instance = await DuckDBInstance.create(join(opts.dataDir, 'tenantlens.duckdb'));
  const writeConn = await instance.connect();
  const readConn = await instance.connect();
  const stateConn = await instance.connect();
  const specs = tableSpecs(opts.rules);
  const byMeasurement = new Map<string, TableSpec>([specs.frontend, specs.backend, specs.spans, specs.logs, specs.webVitals, specs.frontendErrors, specs.latencyRollup].map((s) => [s.name, s]));
  await createTables(writeConn, [...byMeasurement.values(), specs.metrics]);

  const batchMaxPoints = Math.max(opts.buffer.batchMaxLines, EMBEDDED_BATCH_MAX_POINTS);
  const sink = createEmbeddedSink(createBatchWriter(writeConn, byMeasurement, specs.metrics), { ...opts, batchMaxPoints }, () => {
    writeConn.closeSync();
    readConn.closeSync();
    stateConn.closeSync();
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
    alertState: await createEmbeddedAlertState(stateConn),
  };
}
