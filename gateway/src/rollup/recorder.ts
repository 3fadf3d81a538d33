import { LATENCY_ROLLUP } from '../schema/measurements.ts';
import type { MappedPoint } from '../schema/point.ts';
import type { RollupSide, SpanObservation } from './observation.ts';
import { LogSketch } from './sketch.ts';

export const MINUTE_NS = 60_000_000_000n;
const MINUTE_MS = 60_000;

/**
 * When a minute closes (default; ROLLUP_CLOSE_DELAY_MILLIS): this long after its end (spans arrive
 * after they end, browsers batch for 5 s), and once no duration for it has arrived for IDLE_MILLIS.
 * A duration arriving later still counts: it goes into a later rollup point of the same minute (a
 * new timestamp within it).
 */
export const CLOSE_DELAY_MILLIS = 20_000;
const IDLE_MILLIS = 2_000;
export const TICK_MILLIS = 1_000;
/** After a flush, how long the minute is still read from raw points: the writer's batch delay and a margin. */
const SETTLE_MILLIS = 5_000;
/**
 * The drill-down reads a minute from rollups only once it ended this long ago (query/rollup-plan.ts):
 * by then every writer with the same close delay has flushed what it held for it.
 */
export function coverageLagMillis(closeDelayMillis: number): number {
  return closeDelayMillis + IDLE_MILLIS + TICK_MILLIS + SETTLE_MILLIS + 2_000;
}
export const COVERAGE_LAG_MILLIS = coverageLagMillis(CLOSE_DELAY_MILLIS);
/** Span identities kept for retry detection (per side and tenant, per minute): the oldest minutes' go first past this (default; ROLLUP_TRACKED_IDS_MAX). */
const MAX_TRACKED_IDS = 1_000_000;
/** Identities of minutes older than this (span time, against the clock) are let go (default; ROLLUP_RETRY_WINDOW_MILLIS). */
const ID_RETENTION_MILLIS = 15 * MINUTE_MS;

/** What a rollup is written to: the store's point sink (all or nothing, false when full). */
export interface RollupTarget {
  offer(points: readonly MappedPoint[]): boolean;
}

export interface RollupEvents {
  flushed(points: number): void;
  duplicates(n: number): void;
  /** The store refused a flush (full): the minute stays open and is offered again next tick. */
  refused(): void;
  /** Identities let go before their retention (MAX_TRACKED_IDS): a retry of those spans would count twice. */
  forgotten(n: number): void;
}

/** What the drill-down asks the local recorder (query/rollup-plan.ts). */
export interface RollupCoverage {
  /** How long after its end a minute may be read from rollups (coverageLagMillis of the close delay). */
  readonly lagMillis: number;
  /** True while this process holds durations of minute `minute` (index since the epoch) not yet in the store. */
  pending(minute: number, nowMs: number): boolean;
}

export interface RollupRecorder extends RollupCoverage {
  /** Durations the store accepted. Duplicates (same side, tenant, id and minute) are skipped and counted. */
  record(observations: readonly SpanObservation[]): void;
  /** Writes every minute that is due; called by the timer. */
  tick(): void;
  /** Writes every open minute now (drain, SIGTERM); false if the store refused. */
  flushAll(): boolean;
  /** Stops the timer (does not flush). */
  stop(): void;
}

export interface RollupRecorderOptions {
  /** The `writer` tag: this process (instance name, and the worker slot with WORKERS > 1). */
  readonly writer: string;
  readonly target: RollupTarget;
  readonly events?: Partial<RollupEvents>;
  readonly now?: () => number;
  /** Default true: a timer calls tick() every second (unref'd). Tests drive tick() themselves. */
  readonly timer?: boolean;
  readonly maxTrackedIds?: number;
  readonly closeDelayMillis?: number;
  /** How long span ids are kept for retry detection (span time, against the clock). */
  readonly retryWindowMillis?: number;
}

interface Cell {
  readonly tenant: string;
  readonly side: RollupSide;
  readonly k1: string;
  readonly k2: string;
  readonly sketch: LogSketch;
  spans: number;
  errors: number;
}

interface Minute {
  readonly index: number;
  cells: Map<string, Cell>;
  /** side + tenant → span ids seen in this minute. */
  readonly seen: Map<string, Set<string>>;
  ids: number;
  lastAt: number;
  /** Written, but maybe not yet readable, until then. */
  settledAt: number;
}

const STATUS_ERROR = 2;

const cellKey = (o: SpanObservation): string => o.side + '\u0000' + o.tenant + '\u0000' + o.k1 + '\u0000' + o.k2;

/**
 * Per minute (of span start) and per (tenant, side, endpoint or view · action): a sketch of the
 * durations, their count, and the spans and errors for the error rate. A minute is written as
 * rollup points once it is closed (CLOSE_DELAY_MILLIS after its end and idle), through the store's
 * normal point sink (InfluxDB: line protocol, spool, writer; embedded: the `latency_rollup` table).
 *
 * Over 120 lines on purpose: one closure over the open minutes and their identity sets, which
 * record, tick and flush all read and write.
 */
export function createRollupRecorder(opts: RollupRecorderOptions): RollupRecorder {
  const now = opts.now ?? Date.now;
  const maxIds = opts.maxTrackedIds ?? MAX_TRACKED_IDS;
  const closeDelay = opts.closeDelayMillis ?? CLOSE_DELAY_MILLIS;
  const retention = opts.retryWindowMillis ?? ID_RETENTION_MILLIS;
  const minutes = new Map<number, Minute>();
  let trackedIds = 0;
  let seq = 0;

  function minuteOf(index: number): Minute {
    let m = minutes.get(index);
    if (m === undefined) {
      m = { index, cells: new Map(), seen: new Map(), ids: 0, lastAt: 0, settledAt: 0 };
      minutes.set(index, m);
    }
    return m;
  }

  /** False when this id was already counted in this minute (a retry or a replay). */
  function firstTime(m: Minute, ids: Set<string>, o: SpanObservation): boolean {
    if (ids.has(o.id)) return false;
    ids.add(o.id);
    m.ids++;
    trackedIds++;
    return true;
  }

  function forget(m: Minute): void {
    trackedIds -= m.ids;
    m.ids = 0;
    m.seen.clear();
  }

  /** Lets go of identity sets: those past retention, then the oldest minutes' while over the bound. */
  function trim(at: number): void {
    for (const m of minutes.values()) {
      if ((m.index + 1) * MINUTE_MS + retention < at && m.ids > 0) forget(m);
      if (m.ids === 0 && m.cells.size === 0 && m.settledAt <= at) minutes.delete(m.index);
    }
    if (trackedIds <= maxIds) return;
    for (const m of [...minutes.values()].sort((a, b) => a.index - b.index)) {
      if (trackedIds <= maxIds) break;
      opts.events?.forgotten?.(m.ids);
      forget(m);
    }
  }

  function point(c: Cell, ts: bigint): MappedPoint {
    const tags: Array<[string, string]> = [];
    const tag = (k: string, v: string): void => {
      if (v !== '') tags.push([k, v]);
    };
    // Sorted by key, as a point's tags are.
    if (c.side === 'frontend') tag('action_name', c.k2);
    if (c.side === 'backend') tag('endpoint', c.k1);
    tag('side', c.side);
    tag('tenant_id', c.tenant);
    if (c.side === 'frontend') tag('view_name', c.k1);
    tag('writer', opts.writer);
    return {
      spanId: [opts.writer, c.side, c.tenant, c.k1, c.k2].join('\u001f'),
      point: {
        measurement: LATENCY_ROLLUP.name,
        tags,
        fields: [
          ['sketch', { type: 'string', value: c.sketch.encode() }],
          ['count', { type: 'integer', value: c.sketch.count }],
          ['span_count', { type: 'integer', value: c.spans }],
          ['error_count', { type: 'integer', value: c.errors }],
        ],
        timestamp: ts,
      },
    };
  }

  function flush(m: Minute, at: number): boolean {
    if (m.cells.size === 0) return true;
    // A timestamp within the minute that no earlier flush of this writer used (a late duration's
    // rollup must add to the minute's first one, not replace it), also across a restart: the
    // clock's millisecond within 50 s, and a sequence number below it.
    const ts = BigInt(m.index) * MINUTE_NS + BigInt((at % 50_000) * 1_000_000 + (seq++ % 1_000_000));
    const points = [...m.cells.values()].map((c) => point(c, ts));
    if (!opts.target.offer(points)) {
      opts.events?.refused?.();
      return false;
    }
    opts.events?.flushed?.(points.length);
    m.cells = new Map();
    m.settledAt = at + SETTLE_MILLIS;
    return true;
  }

  const recorder: RollupRecorder = {
    lagMillis: coverageLagMillis(closeDelay),
    record(observations) {
      const at = now();
      let duplicates = 0;
      // Consecutive durations mostly share a minute: two bigint comparisons instead of a division.
      let m: Minute | undefined;
      let from = 0n;
      let to = 0n;
      // And the same side, tenant and key: the last id set and cell are reused without building their keys.
      let ids: Set<string> | undefined;
      let idsOf: SpanObservation | undefined;
      let c: Cell | undefined;
      for (const o of observations) {
        if (m === undefined || o.timeNs < from || o.timeNs >= to) {
          m = minuteOf(Number(o.timeNs / MINUTE_NS));
          from = BigInt(m.index) * MINUTE_NS;
          to = from + MINUTE_NS;
          ids = undefined;
          c = undefined;
        }
        if (ids === undefined || idsOf === undefined || idsOf.side !== o.side || idsOf.tenant !== o.tenant) {
          idsOf = o;
          const who = o.side + '\u0000' + o.tenant;
          ids = m.seen.get(who);
          if (ids === undefined) {
            ids = new Set();
            m.seen.set(who, ids);
          }
        }
        if (!firstTime(m, ids, o)) {
          duplicates++;
          continue;
        }
        m.lastAt = at;
        if (c === undefined || c.side !== o.side || c.tenant !== o.tenant || c.k1 !== o.k1 || c.k2 !== o.k2) {
          const key = cellKey(o);
          c = m.cells.get(key);
          if (c === undefined) {
            c = { tenant: o.tenant, side: o.side, k1: o.k1, k2: o.k2, sketch: new LogSketch(), spans: 0, errors: 0 };
            m.cells.set(key, c);
          }
        }
        c.sketch.add(o.durationMs);
        if (o.status !== undefined) {
          c.spans++;
          if (o.status === STATUS_ERROR) c.errors++;
        }
      }
      if (duplicates > 0) opts.events?.duplicates?.(duplicates);
      if (trackedIds > maxIds) trim(at);
    },
    tick() {
      const at = now();
      for (const m of minutes.values()) {
        if (m.cells.size > 0 && (m.index + 1) * MINUTE_MS + closeDelay <= at && at - m.lastAt >= IDLE_MILLIS) flush(m, at);
      }
      trim(at);
    },
    flushAll() {
      const at = now();
      let ok = true;
      for (const m of minutes.values()) ok = flush(m, at) && ok;
      return ok;
    },
    pending(minute, nowMs) {
      const m = minutes.get(minute);
      return m !== undefined && (m.cells.size > 0 || m.settledAt > nowMs);
    },
    stop() {
      clearInterval(timer);
    },
  };
  const timer = opts.timer === false ? undefined : setInterval(() => recorder.tick(), TICK_MILLIS).unref();
  return recorder;
}
