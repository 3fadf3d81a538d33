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
export class TimestampSlots {
  private readonly owners = new Map<string, string>();

  constructor(private readonly capacity = 200_000) {}

  assign(seriesKey: string, timestamp: bigint, spanId: string): bigint {
    let ts = timestamp;
    // 1000 distinct spans in one series within one microsecond would be pathological; stop there.
    for (let i = 0; i < 1000; i++, ts++) {
      const slot = seriesKey + ' ' + ts;
      const owner = this.owners.get(slot);
      if (owner === spanId) return ts;
      if (owner === undefined) {
        if (this.owners.size >= this.capacity) {
          const oldest = this.owners.keys().next();
          if (oldest.done !== true) this.owners.delete(oldest.value);
        }
        this.owners.set(slot, spanId);
        return ts;
      }
    }
    return timestamp;
  }

  get size(): number {
    return this.owners.size;
  }
}

/** Encodes mapped points into line protocol, giving each a collision-free timestamp. */
export function encodePoints(points: readonly MappedPoint[], slots: TimestampSlots): string[] {
  const lines: string[] = [];
  for (const { point, spanId } of points) {
    const fields = encodeFields(point.fields);
    if (fields === '') continue;
    const series = encodeSeriesKey(point.measurement, point.tags);
    const ts = slots.assign(series, point.timestamp, spanId);
    lines.push(`${series} ${fields} ${ts}`);
  }
  return lines;
}
