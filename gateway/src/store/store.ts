import type { GatewayError } from '../errors.ts';
import type { TimestampSlots } from '../influx/point-identity.ts';
import type { AlertStateStore } from '../schema/alert-state.ts';
import type { MappedPoint } from '../schema/point.ts';
import type { BrowserQueries } from '../query/browser-model.ts';
import type { DrillDown } from '../query/model.ts';

/**
 * A store does three jobs, and each has its own interface so that every caller sees only the job
 * it uses (and a test double fakes only that): the write sink (the ingest offers points, the HTTP
 * admission asks for room, main.ts drains it), the health probe (/readyz) and the drill-down
 * queries (query/model.ts, query/browser-model.ts). Nothing above these interfaces knows whether
 * it talks to InfluxDB or the embedded store.
 */

/** What the ingest offers mapped points to. */
export interface PointSink {
  /**
   * Buffers all points or none. False means the buffer is full: the caller refuses the request
   * (503 + Retry-After) rather than accept data it would have to drop.
   */
  offer(points: readonly MappedPoint[]): boolean;
  /** The error for the last refused offer (503 + Retry-After, or 413 for a record too large to buffer). */
  refusal(): GatewayError;
}

/**
 * A sink that also takes line protocol the fused encoder built (ingest/proto-trace-lines.ts):
 * the InfluxDB store is one, the embedded store is not (it takes points). The ingest receives it
 * as its own dependency, so whether the fused path exists is decided when the gateway is wired.
 */
export interface LineSink {
  /** The slot index the lines' timestamps must come from: the one `offer` uses for points. */
  readonly slots: TimestampSlots;
  /** Same contract as `PointSink.offer`: all lines or none. */
  offerLines(lines: EncodedLines): boolean;
  refusal(): GatewayError;
}

/** What a request waits on before and after the ingest: room for it, and with a spool, the disk. */
export interface WriteAdmission {
  /**
   * The 503 + Retry-After to answer a request with before reading its body while a new offer would
   * most likely be refused (the memory buffer refused one and has not written since, or the spool
   * is full or failed); undefined otherwise.
   */
  fullError(): GatewayError | undefined;
  /**
   * With a spool: resolves once everything offered so far is on disk, so the request may be
   * answered 200; throws a 503 `GatewayError` if the disk failed. Undefined without a spool
   * (nothing to wait for: the hot path skips the await).
   */
  persisted(): Promise<void> | undefined;
}

/** The whole write side of a store, as main.ts holds it: offers, admission, the gauges and the drain. */
export interface WriteSink extends PointSink, WriteAdmission {
  /** True when a refused or unfinished drain leaves data on disk for the next start, not lost. */
  readonly durable: boolean;
  readonly bufferedPoints: number;
  readonly bufferedBytes: number;
  /** Writes everything buffered until `deadline` (epoch ms); resolves with the points left. */
  drain(deadline: number): Promise<number>;
  close(): Promise<void>;
}

/** What /readyz reports about the store. */
export interface HealthReport {
  /** Each makes the replica unready (503). */
  readonly problems: readonly string[];
  /** Each makes it `degraded`, still ready. */
  readonly warnings: readonly string[];
}

export interface HealthProbe {
  /** Cheap enough for a readiness probe polled every few seconds. */
  check(): Promise<HealthReport>;
}

/** One backend, split by job; main.ts hands each part to the code that uses it. */
export interface StoreParts<Sink extends WriteSink = WriteSink> {
  readonly sink: Sink;
  readonly health: HealthProbe;
  readonly queries: DrillDown;
  /** `GET /api/v1/vitals` and `/errors`. */
  readonly browser: BrowserQueries;
  /** Where the alert evaluator keeps its state across restarts (schema/alert-state.ts). */
  readonly alertState: AlertStateStore;
}

/** Lines already encoded: the request's lines joined by newlines (UTF-8), and each line for the spool. */
export interface EncodedLines {
  readonly body: Buffer;
  readonly count: number;
  lines(): readonly string[];
}
