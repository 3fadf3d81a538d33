import type { GatewayError } from '../errors.ts';
import type { TimestampSlots } from '../influx/point-identity.ts';
import type { MappedPoint } from '../mapping/map-spans.ts';
import type { BrowserQueries } from '../query/browser-model.ts';
import type { DrillDown } from '../query/model.ts';

/**
 * Where mapped points go and where the drill-down queries come from: InfluxDB or the embedded
 * store. Nothing above this interface knows which one it talks to.
 */
export interface Store {
  readonly kind: 'influxdb' | 'embedded';
  /**
   * Buffers all points or none. False means the buffer is full: the caller refuses the request
   * (503 + Retry-After) rather than accept data it would have to drop.
   */
  offer(points: readonly MappedPoint[]): boolean;
  /**
   * InfluxDB only: line protocol the fused encoder built (ingest/proto-trace-lines.ts), with the
   * slot index it must take timestamps from (the one `offer` uses). Same contract as `offer`.
   */
  readonly lines?: LineIntake | undefined;
  /**
   * With a spool: resolves once everything offered so far is on disk, so the request may be
   * answered 200; throws a 503 `GatewayError` if the disk failed. Undefined without a spool
   * (nothing to wait for: the hot path skips the await).
   */
  persisted(): Promise<void> | undefined;
  /** The error for the last refused offer (503 + Retry-After, or 413 for a record too large to buffer). */
  refusal(): GatewayError;
  /**
   * The 503 + Retry-After to answer a request with before reading its body while a new offer would
   * most likely be refused (the memory buffer refused one and has not written since, or the spool
   * is full or failed); undefined otherwise.
   */
  fullError(): GatewayError | undefined;
  /** True when a refused or unfinished drain leaves data on disk for the next start, not lost. */
  readonly durable: boolean;
  readonly isFull: boolean;
  readonly bufferedPoints: number;
  readonly bufferedBytes: number;
  /** Cheap health check for /readyz. */
  reachable(): Promise<boolean>;
  /** Writes everything buffered until `deadline` (epoch ms); resolves with the points left. */
  drain(deadline: number): Promise<number>;
  close(): Promise<void>;
  readonly queries: DrillDown;
  /** `GET /api/v1/vitals` and `/errors`. */
  readonly browser?: BrowserQueries | undefined;
}

/** Lines already encoded: the request's lines joined by newlines (UTF-8), and each line for the spool. */
export interface EncodedLines {
  readonly body: Buffer;
  readonly count: number;
  lines(): readonly string[];
}

export interface LineIntake {
  readonly slots: TimestampSlots;
  offer(lines: EncodedLines): boolean;
}
