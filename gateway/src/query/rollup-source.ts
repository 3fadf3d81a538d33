import { MINUTE_NS } from '../rollup/recorder.ts';
import { LogSketch } from '../rollup/sketch.ts';
import { nearestRankOf } from '../rollup/rank.ts';
import type { LatencyStats, Side, TimeRange } from './model.ts';

/** A group's identity in the rollup model: frontend (view, action) or backend (endpoint, ''). */
export interface CellKey {
  readonly tenant: string;
  readonly side: Side;
  readonly k1: string;
  readonly k2: string;
}

/** One `latency_rollup` point, as a store reads it. */
export interface RollupRow extends CellKey {
  readonly timeNs: bigint;
  readonly sketch: string;
  readonly spans: number;
  readonly errors: number;
}

/** A duration from a raw `frontend_performance` / `backend_api_latency` row. */
export interface RawLatency extends CellKey {
  readonly timeNs: bigint;
  readonly value: number;
}

/** A span of the side from the raw `spans` rows: for the error rate. */
export interface RawStatus extends CellKey {
  readonly timeNs: bigint;
  readonly error: boolean;
}

export interface CellFilter {
  /** undefined: every tenant. */
  readonly tenants: readonly string[] | undefined;
  /** undefined: both sides. */
  readonly side: Side | undefined;
}

/** What each store implements: the rollup points and the raw rows of a range. */
export interface RollupSource {
  /** The time of the earliest rollup point, undefined when there is none. */
  firstRollupNs(): Promise<bigint | undefined>;
  rollups(range: TimeRange, filter: CellFilter): Promise<RollupRow[]>;
  rawLatencies(ranges: readonly TimeRange[], filter: CellFilter): Promise<RawLatency[]>;
  rawStatuses(ranges: readonly TimeRange[], filter: CellFilter): Promise<RawStatus[]>;
}

/**
 * One answer group's durations and error counts. Raw durations are kept as values while the group
 * has no rollup: its percentiles are then exact (nearest rank, as before rollups); as soon as a
 * rollup joins, everything goes into the sketch and they are within SKETCH_RELATIVE_ERROR.
 */
export class Accumulator {
  private sketch: LogSketch | undefined;
  private values: number[] = [];
  spans = 0;
  errors = 0;

  addRollup(encoded: string): void {
    const s = LogSketch.decode(encoded);
    if (this.sketch === undefined) {
      this.sketch = s;
      for (const v of this.values) s.add(v);
      this.values = [];
    } else this.sketch.merge(s);
  }

  addValue(v: number): void {
    if (this.sketch === undefined) this.values.push(v);
    else this.sketch.add(v);
  }

  get count(): number {
    return (this.sketch?.count ?? 0) + this.values.length;
  }

  percentile(p: number): number | null {
    if (this.sketch !== undefined) return this.sketch.percentile(p);
    const rank = nearestRankOf(this.values.length, p);
    if (rank === undefined) return null;
    this.values.sort((a, b) => a - b);
    return this.values[rank - 1] ?? null;
  }

  stats(): LatencyStats {
    return { count: this.count, p50: this.percentile(50), p95: this.percentile(95), p99: this.percentile(99) };
  }

  get errorRate(): number | null {
    return this.spans === 0 ? null : this.errors / this.spans;
  }
}

/** Groups, each with its own accumulator and what the caller keeps about it. */
export class Groups<Meta> {
  readonly byId = new Map<string, { meta: Meta; acc: Accumulator }>();
  at(id: string, meta: () => Meta): Accumulator {
    let g = this.byId.get(id);
    if (g === undefined) {
      g = { meta: meta(), acc: new Accumulator() };
      this.byId.set(id, g);
    }
    return g.acc;
  }
}

export const minuteOfNs = (ns: bigint): number => Number(ns / MINUTE_NS);
