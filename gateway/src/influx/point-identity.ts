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
const MAX_SCOPES = 10_000;

export class TimestampSlots {
  /** Timestamp (decimal, which the line needs anyway) → the span that owns it. */
  private readonly owners = new Map<string, string>();
  /**
   * Keys in the order they were created, for eviction. Evicting through `owners.keys().next()`
   * was the gateway's top self-time function under load: V8 leaves deleted entries at the front
   * of a Map's table until it rehashes, so each call skipped over all of them.
   */
  private order: string[] = [];
  private orderHead = 0;
  /** Measurement → the short prefix its keys carry. */
  private readonly scopes = new Map<string, string>();

  constructor(private readonly capacity = 200_000) {}

  /**
   * The key prefix for a measurement's slots: short, so keys stay cheap to hash. Measurement names
   * come from clients (metric names), so past MAX_SCOPES the name itself is the prefix.
   */
  scope(measurement: string): string {
    let s = this.scopes.get(measurement);
    if (s !== undefined) return s;
    if (this.scopes.size >= MAX_SCOPES) return `${measurement}\u0000`;
    s = `${this.scopes.size.toString(36)}:`;
    this.scopes.set(measurement, s);
    return s;
  }

  /** The timestamp to write, as a decimal string. */
  assign(timestamp: bigint, spanId: string, scope = ''): string {
    return this.assignDecimal(timestamp.toString(), spanId, scope);
  }

  /** `assign` for a timestamp already in decimal: the hot path never needs BigInt arithmetic. */
  assignDecimal(decimal: string, spanId: string, scope = ''): string {
    let ts = decimal;
    let key = scope + decimal;
    let base: bigint | undefined;
    let step = 1n;
    // 1000 distinct spans within one microsecond would be pathological; stop there.
    for (let i = 0; i < 1000; i++) {
      const owner = this.owners.get(key);
      if (owner === spanId) return ts;
      if (owner === undefined) {
        this.insert(key, spanId);
        return ts;
      }
      base ??= BigInt(decimal);
      // Upwards, but never past the last nanosecond InfluxDB stores: from there, downwards.
      let next = base + step;
      if (next > MAX_TIMESTAMP_NS || step < 0n) {
        if (step > 0n) step = 0n;
        step--;
        next = base + step;
      } else step++;
      ts = next.toString();
      key = scope + ts;
    }
    return decimal;
  }

  get size(): number {
    return this.owners.size;
  }

  private insert(key: string, spanId: string): void {
    // Forget the oldest timestamps first.
    while (this.owners.size >= this.capacity && this.orderHead < this.order.length) {
      const oldest = this.order[this.orderHead] as string;
      this.order[this.orderHead++] = '';
      this.owners.delete(oldest);
    }
    if (this.orderHead > 4096 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    this.owners.set(key, spanId);
    this.order.push(key);
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
