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
/** The owners of one timestamp: usually one series; a map once several series share it. */
type Owners = { readonly series: string; readonly spanId: string } | Map<string, string>;

export class TimestampSlots {
  /**
   * Keyed by the timestamp's decimal string (short, cheap to hash; the line needs it anyway).
   * Keying by `series + ts` cost more than the rest of the pipeline: long freshly concatenated
   * keys must be flattened and hashed on every lookup. Many series at one timestamp (browser
   * clocks are coarse) get a map, so each lookup stays O(1).
   */
  private readonly owners = new Map<string, Owners>();
  private entries = 0;
  /**
   * Keys in the order they were created, for eviction. Evicting through `owners.entries().next()`
   * was the gateway's top self-time function under load: V8 leaves deleted entries at the front
   * of a Map's table until it rehashes, so each call skipped over all of them.
   */
  private order: string[] = [];
  private orderHead = 0;

  constructor(private readonly capacity = 200_000) {}

  /** The timestamp to write, as a decimal string. */
  assign(series: string, timestamp: bigint, spanId: string): string {
    return this.assignDecimal(series, timestamp.toString(), spanId);
  }

  /** `assign` for a timestamp already in decimal: the hot path never needs BigInt arithmetic. */
  assignDecimal(series: string, decimal: string, spanId: string): string {
    let key = decimal;
    let ts: bigint | undefined;
    // 1000 distinct spans in one series within one microsecond would be pathological; stop there.
    for (let i = 0; i < 1000; i++) {
      const owners = this.owners.get(key);
      const owner = owners === undefined ? undefined : owners instanceof Map ? owners.get(series) : owners.series === series ? owners.spanId : undefined;
      if (owner === spanId) return key;
      if (owner === undefined) {
        this.insert(key, series, spanId);
        return key;
      }
      ts = (ts ?? BigInt(decimal)) + 1n;
      key = ts.toString();
    }
    return decimal;
  }

  get size(): number {
    return this.entries;
  }

  private insert(key: string, series: string, spanId: string): void {
    // Forget the oldest timestamps first; that may include this one, so look it up afterwards.
    while (this.entries >= this.capacity && this.orderHead < this.order.length) {
      const oldest = this.order[this.orderHead] as string;
      this.order[this.orderHead++] = '';
      const gone = this.owners.get(oldest);
      if (gone === undefined) continue;
      this.owners.delete(oldest);
      this.entries -= gone instanceof Map ? gone.size : 1;
    }
    if (this.orderHead > 4096 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    const owners = this.owners.get(key);
    if (owners === undefined) {
      this.owners.set(key, { series, spanId });
      this.order.push(key);
    } else if (owners instanceof Map) owners.set(series, spanId);
    else this.owners.set(key, new Map([[owners.series, owners.spanId], [series, spanId]]));
    this.entries++;
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
function spreadDecimal(ts: string, spanId: string): string {
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
    lines.push(series + ' ' + fields + ' ' + slots.assignDecimal(series, spreadDecimal(point.timestamp.toString(), spanId), spanId));
  }
  return lines;
}
