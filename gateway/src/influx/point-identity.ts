import { encodeFields, encodeSeriesKey } from './line-protocol.ts';
import type { MappedPoint } from '../mapping/map-spans.ts';

/**
 * InfluxDB keeps one point per (series, timestamp): a second one silently replaces the first.
 * Two distinct spans can start in the same nanosecond with the same tags (browser clocks are
 * coarse: 5–100 µs), so each point's timestamp is probed upwards one nanosecond at a time until
 * its slot is free or already owned by the same span. The probe is deterministic, so replaying a
 * request lands every point on the slot it had, which InfluxDB treats as an idempotent overwrite.
 *
 * The index is bounded (oldest slots are forgotten first); it covers one gateway process. A
 * collision between replicas, or with a slot forgotten after restart, needs two distinct spans
 * with the same tenant, series and start nanosecond on different replicas.
 */
/** One occupied slot; `next` chains the rare other series sharing the same timestamp. */
interface Slot {
  readonly series: string;
  readonly spanId: string;
  next: Slot | undefined;
}

export class TimestampSlots {
  /**
   * Keyed by the timestamp's decimal string (short, cheap to hash; the line needs it anyway), then
   * a short chain per series. Keying by `series + ts` cost more than the rest of the pipeline:
   * long freshly concatenated keys must be flattened and hashed on every lookup.
   */
  private readonly owners = new Map<string, Slot>();
  private entries = 0;

  constructor(private readonly capacity = 200_000) {}

  /** The timestamp to write, as a decimal string. */
  assign(series: string, timestamp: bigint, spanId: string): string {
    let ts = timestamp;
    let key = ts.toString();
    // 1000 distinct spans in one series within one microsecond would be pathological; stop there.
    for (let i = 0; i < 1000; i++) {
      const head = this.owners.get(key);
      let slot = head;
      while (slot !== undefined && slot.series !== series) slot = slot.next;
      if (slot === undefined) {
        if (head === undefined) this.evict();
        this.owners.set(key, { series, spanId, next: this.owners.get(key) });
        this.entries++;
        return key;
      }
      if (slot.spanId === spanId) return key;
      ts++;
      key = ts.toString();
    }
    return timestamp.toString();
  }

  get size(): number {
    return this.entries;
  }

  private evict(): void {
    while (this.entries >= this.capacity) {
      const oldest = this.owners.entries().next();
      if (oldest.done === true) return;
      this.owners.delete(oldest.value[0]);
      for (let s: Slot | undefined = oldest.value[1]; s !== undefined; s = s.next) this.entries--;
    }
  }
}

/** Encodes mapped points into line protocol, giving each a collision-free timestamp. */
export function encodePoints(points: readonly MappedPoint[], slots: TimestampSlots): string[] {
  const lines: string[] = [];
  for (const { point, spanId } of points) {
    const fields = encodeFields(point.fields);
    if (fields === '') continue;
    const series = encodeSeriesKey(point.measurement, point.tags);
    lines.push(series + ' ' + fields + ' ' + slots.assign(series, point.timestamp, spanId));
  }
  return lines;
}
