import type { MappedPoint } from '../mapping/map-spans.ts';
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
  retryAfterSeconds(): number;
  readonly isFull: boolean;
  readonly bufferedPoints: number;
  readonly bufferedBytes: number;
  /** Cheap health check for /readyz. */
  reachable(): Promise<boolean>;
  /** Writes everything buffered until `deadline` (epoch ms); resolves with the points left. */
  drain(deadline: number): Promise<number>;
  close(): Promise<void>;
  readonly queries: DrillDown;
}
