import { encodeFields, encodeSeriesKey } from './line-protocol.ts';
import type { MappedPoint } from '../mapping/map-spans.ts';
import { MAX_TIMESTAMP_NS } from '../otlp/model.ts';

/**
 * InfluxDB keeps one point per (series, timestamp): a second one silently replaces the first.
 * Two distinct spans can start in the same nanosecond with the same tags (browser clocks are
 * coarse: 5–100 µs), so each point's timestamp is probed upwards one nanosecond at a time until
 * its slot is free or already owned by the same span. The probe is deterministic, so replaying a
 * request lands every point on the slot it had, which InfluxDB treats as an idempotent overwrite.
 *
 * A slot is a nanosecond of one measurement, whatever the series: within one process it belongs
 * to one span (or metric point, or log record). A distinct span at the same nanosecond in another
 * series of the measurement therefore moves up too, which it would not need to; that costs it a
 * nanosecond, never its microsecond (unless it was the last of one), and it is rare: microsecond
 * timestamps are spread over their 1000 nanoseconds by span id first. Keying by series meant one
 * long series string (and usually a map) kept per point: the index was the largest cost of the
 * encoder after decoding, and most of the memory it promoted to the old generation.
 * Measurements stay apart (a log record and a metric point at the same nanosecond keep it).
 *
 * The index is bounded (oldest slots are forgotten first); it covers one gateway process. A
 * collision between replicas, or with a slot forgotten after restart, needs two distinct spans
 * with the same tenant, series and start nanosecond on different replicas.
 */
/** The slots of one measurement: nanosecond key (see `slotKey`) → the span that owns it. */
export interface SlotScope {
  readonly owners: Map<number, string>;
}

const MAX_SCOPES = 10_000;
/** 2^22 seconds (48.5 days) of nanoseconds stay under 2^53: the key is exact inside that window. */
const KEY_SECONDS = 4_194_304;
const MAX_TOP = Number(MAX_TIMESTAMP_NS / 1_000_000_000n);
const MAX_NS = Number(MAX_TIMESTAMP_NS % 1_000_000_000n);

/**
 * A number for (seconds, nanoseconds): cheaper to hash than a decimal string. Two timestamps
 * exactly 2^22 s apart share a key, and the later one moves up a nanosecond: harmless, like any
 * other collision here.
 */
function slotKey(top: number, ns: number): number {
  return (top % KEY_SECONDS) * 1e9 + ns;
}

/** Seconds and nanoseconds as one decimal (nanoseconds since the epoch). */
export function nanosDecimal(top: number, ns: number): string {
  return top === 0 ? String(ns) : String(top) + String(ns).padStart(9, '0');
}

export class TimestampSlots {
  /**
   * Keys in the order they were created (with their scope), for eviction. Evicting through
   * `owners.keys().next()` was the gateway's top self-time function under load: V8 leaves deleted
   * entries at the front of a Map's table until it rehashes, so each call skipped over all of them.
   */
  private orderKeys: number[] = [];
  private orderScopes: SlotScope[] = [];
  private orderHead = 0;
  private entries = 0;
  private readonly scopes = new Map<string, SlotScope>();
  /** Past MAX_SCOPES measurements (their names come from clients: metric names), they share one. */
  private readonly shared: SlotScope = { owners: new Map() };

  constructor(private readonly capacity = 200_000) {}

  /** The slots of a measurement: measurements never take each other's nanoseconds. */
  scope(measurement: string): SlotScope {
    let s = this.scopes.get(measurement);
    if (s !== undefined) return s;
    if (this.scopes.size >= MAX_SCOPES) return this.shared;
    s = { owners: new Map() };
    this.scopes.set(measurement, s);
    return s;
  }

  /** The timestamp to write, as a decimal string. */
  assign(timestamp: bigint, spanId: string, scope: SlotScope = this.shared): string {
    return this.assignDecimal(timestamp.toString(), spanId, scope);
  }

  /** `assign` for a timestamp already in decimal: the hot path never needs BigInt arithmetic. */
  assignDecimal(ts: string, spanId: string, scope: SlotScope = this.shared): string {
    const cut = ts.length - 9;
    return this.assignParts(scope, cut > 0 ? Number(ts.slice(0, cut)) : 0, Number(cut > 0 ? ts.slice(cut) : ts), ts, spanId);
  }

  /**
   * `assign` for a timestamp split into seconds and nanoseconds (`ts` is the same time in decimal,
   * returned when the slot is free or the span's own). Probes upwards one nanosecond at a time,
   * never past the last nanosecond InfluxDB stores: from there, downwards.
   */
  assignParts(scope: SlotScope, top: number, ns: number, ts: string, spanId: string): string {
    const owners = scope.owners;
    let key = slotKey(top, ns);
    let owner = owners.get(key);
    if (owner === spanId) return ts;
    if (owner === undefined) {
      this.insert(scope, key, spanId);
      return ts;
    }
    let t = top;
    let n = ns;
    let down = false;
    // 1000 distinct spans within one microsecond would be pathological; stop there.
    for (let i = 0; i < 1000; i++) {
      if (!down && (t > MAX_TOP || (t === MAX_TOP && n >= MAX_NS))) {
        down = true;
        t = top;
        n = ns;
      }
      if (down) {
        if (n === 0) {
          t--;
          n = 999_999_999;
        } else n--;
      } else if (n === 999_999_999) {
        t++;
        n = 0;
      } else n++;
      key = slotKey(t, n);
      owner = owners.get(key);
      if (owner === spanId) return nanosDecimal(t, n);
      if (owner === undefined) {
        this.insert(scope, key, spanId);
        return nanosDecimal(t, n);
      }
    }
    return ts;
  }

  get size(): number {
    return this.entries;
  }

  private insert(scope: SlotScope, key: number, spanId: string): void {
    // Forget the oldest timestamps first.
    while (this.entries >= this.capacity && this.orderHead < this.orderKeys.length) {
      const oldest = this.orderKeys[this.orderHead] as number;
      const from = this.orderScopes[this.orderHead] as SlotScope;
      this.orderScopes[this.orderHead++] = this.shared;
      if (from.owners.delete(oldest)) this.entries--;
    }
    if (this.orderHead > 4096 && this.orderHead * 2 > this.orderKeys.length) {
      this.orderKeys = this.orderKeys.slice(this.orderHead);
      this.orderScopes = this.orderScopes.slice(this.orderHead);
      this.orderHead = 0;
    }
    scope.owners.set(key, spanId);
    this.entries++;
    this.orderKeys.push(key);
    this.orderScopes.push(scope);
  }
}

/**
 * The slot index is per process, so it cannot keep apart two spans that start in the same
 * nanosecond with the same tags on two workers, two replicas, or either side of a restart. Clocks
 * that tick in whole microseconds (every JavaScript SDK: `performance.now()`; browsers coarsen it
 * further) make that likely. Such a timestamp gets a sub-microsecond offset derived from the span
 * id: distinct spans spread over 1000 nanoseconds, the same span always lands on the same one on
 * any process (so retries and replays stay idempotent), and the microsecond is unchanged, which
 * is all the query API reads. Timestamps with real nanosecond digits are kept exactly.
 */
export function spreadTimestamp(timestamp: bigint, spanId: string): bigint {
  return BigInt(spreadDecimal(timestamp.toString(), spanId));
}

const PAD = ['', '00', '0', ''];

/** `spreadTimestamp` on the decimal string: the last three digits are replaced, no BigInt math. */
export function spreadDecimal(ts: string, spanId: string): string {
  if (spanId === '' || ts.length < 4 || !ts.endsWith('000')) return ts;
  // FNV-1a over the id: span ids are random hex, log/metric identities are hashes; either spreads well.
  let h = 0x811c9dc5;
  for (let i = 0; i < spanId.length; i++) h = Math.imul(h ^ spanId.charCodeAt(i), 0x01000193);
  const offset = String((h >>> 0) % 1000);
  return ts.slice(0, -3) + PAD[offset.length] + offset;
}

/** Encodes mapped points into line protocol, giving each a collision-free timestamp. */
export function encodePoints(points: readonly MappedPoint[], slots: TimestampSlots): string[] {
  const lines: string[] = [];
  for (const { point, spanId } of points) {
    const fields = encodeFields(point.fields);
    if (fields === '') continue;
    const series = encodeSeriesKey(point.measurement, point.tags);
    lines.push(series + ' ' + fields + ' ' + slots.assignDecimal(spreadDecimal(point.timestamp.toString(), spanId), spanId, slots.scope(point.measurement)));
  }
  return lines;
}
