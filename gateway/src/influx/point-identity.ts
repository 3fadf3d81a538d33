import { encodeFields, encodeSeriesKey } from './line-protocol.ts';
import type { MappedPoint } from '../mapping/map-spans.ts';

/**
 * InfluxDB keeps one point per (series, timestamp): a second one silently replaces the first.
 * Two distinct spans can start in the same nanosecond with the same tags (browser clocks are
 * coarse: 5–100 µs), so each point's timestamp is probed upwards one nanosecond at a time until
 * its slot is free or already owned by the same span. The probe is deterministic, so replaying a
 * request lands every point on the slot it had, which InfluxDB treats as an idempotent overwrite.
 *
 * A slot is a nanosecond, whatever the series: within one process a nanosecond belongs to one
 * span (its points in every measurement share it). A distinct span at the same nanosecond in
 * another series therefore moves up too, which it would not need to; that costs it a nanosecond,
 * never its microsecond (unless it was the last of one), and it is rare: microsecond timestamps
 * are spread over their 1000 nanoseconds by span id first. Keying by series as well meant one
 * long series string (and usually a map) kept per point: the index was the largest cost of the
 * encoder after decoding, and most of the memory it promoted to the old generation.
 *
 * The index is bounded (oldest slots are forgotten first); it covers one gateway process. A
 * collision between replicas, or with a slot forgotten after restart, needs two distinct spans
 * with the same tenant, series and start nanosecond on different replicas.
 */
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

  constructor(private readonly capacity = 200_000) {}

  /** The timestamp to write, as a decimal string. */
  assign(timestamp: bigint, spanId: string): string {
    return this.assignDecimal(timestamp.toString(), spanId);
  }

  /** `assign` for a timestamp already in decimal: the hot path never needs BigInt arithmetic. */
  assignDecimal(decimal: string, spanId: string): string {
    let key = decimal;
    let ts: bigint | undefined;
    // 1000 distinct spans within one microsecond would be pathological; stop there.
    for (let i = 0; i < 1000; i++) {
      const owner = this.owners.get(key);
      if (owner === spanId) return key;
      if (owner === undefined) {
        this.insert(key, spanId);
        return key;
      }
      ts = (ts ?? BigInt(decimal)) + 1n;
      key = ts.toString();
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
    lines.push(series + ' ' + fields + ' ' + slots.assignDecimal(spreadDecimal(point.timestamp.toString(), spanId), spanId));
  }
  return lines;
}
