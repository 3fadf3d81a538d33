import { encodeFields, encodeSeriesKey } from './line-protocol.ts';
import type { MappedPoint } from '../schema/point.ts';
import { MAX_TIMESTAMP_NS } from '../otlp/model.ts';
import { nanosDecimal, splitDecimal, spreadNanos, spreadOffset, type SplitTime } from './timestamps.ts';
import { ownerOfId, type SlotOwner } from './slot-owner.ts';

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
/** The slots of one measurement. */
export interface SlotScope {
  readonly id: number;
}

const MAX_SCOPES = 10_000;
/** Seconds are kept modulo 2^22 (48.5 days): two timestamps exactly that far apart share a slot, and the later one moves up a nanosecond, harmless like any other collision here. */
const KEY_SECONDS = 4_194_304;
const MAX_TOP = Number(MAX_TIMESTAMP_NS / 1_000_000_000n);
const MAX_NS = Number(MAX_TIMESTAMP_NS % 1_000_000_000n);

/**
 * The index is a fixed-size hash table in typed arrays, with its entries in a ring in insertion
 * order: the oldest is overwritten first, and nothing is allocated per point. A JS Map was the
 * encoder's largest cost after decoding at steady state (every insert also evicted), and kept a
 * heap object per slot.
 */
export class TimestampSlots {
  private readonly capacity: number;
  /** Entries the arrays hold now: they start small and double up to `capacity` before the ring wraps. */
  private allocated = 0;
  private mask = 0;
  /** Bucket → its first entry + 1 (0: empty). */
  private heads = new Int32Array(0);
  /** Entry → the next entry + 1 in its bucket (0: last). */
  private next = new Int32Array(0);
  private entryScope = new Int32Array(0);
  private entrySeconds = new Int32Array(0);
  private entryNanos = new Int32Array(0);
  private ownerHi = new Int32Array(0);
  private ownerLo = new Int32Array(0);
  /** Ring position of the next entry (the oldest once the ring is full). */
  private ring = 0;
  private entries = 0;
  private readonly scopes = new Map<string, SlotScope>();
  /** Past MAX_SCOPES measurements (their names come from clients: metric names), they share one. */
  private readonly shared: SlotScope = { id: 0 };
  private readonly split: SplitTime = { top: 0, ns: 0 };
  private readonly probe: SplitTime = { top: 0, ns: 0 };
  private readonly owner1: SlotOwner = { hi: 0, lo: 0 };

  constructor(capacity = 200_000) {
    this.capacity = Math.max(1, capacity);
    this.resize(Math.min(this.capacity, 1024));
  }

  /**
   * Arrays for `size` entries, the entries so far copied in (in insertion order: the ring has not
   * wrapped while it can still grow) and rehashed. A process that sees little traffic, and every
   * test that makes an index, never pays for 200 000 slots.
   */
  private resize(size: number): void {
    const old = { scope: this.entryScope, seconds: this.entrySeconds, nanos: this.entryNanos, hi: this.ownerHi, lo: this.ownerLo };
    let buckets = 1;
    while (buckets < size * 2) buckets *= 2;
    this.allocated = size;
    this.mask = buckets - 1;
    this.heads = new Int32Array(buckets);
    this.next = new Int32Array(size);
    this.entryScope = new Int32Array(size);
    this.entrySeconds = new Int32Array(size);
    this.entryNanos = new Int32Array(size);
    this.ownerHi = new Int32Array(size);
    this.ownerLo = new Int32Array(size);
    for (let i = 0; i < this.entries; i++) {
      const scope = old.scope[i] as number;
      const seconds = old.seconds[i] as number;
      const nanos = old.nanos[i] as number;
      const b = this.bucket(scope, seconds, nanos);
      this.entryScope[i] = scope;
      this.entrySeconds[i] = seconds;
      this.entryNanos[i] = nanos;
      this.ownerHi[i] = old.hi[i] as number;
      this.ownerLo[i] = old.lo[i] as number;
      this.next[i] = this.heads[b] as number;
      this.heads[b] = i + 1;
    }
  }

  /** The slots of a measurement: measurements never take each other's nanoseconds. */
  scope(measurement: string): SlotScope {
    let s = this.scopes.get(measurement);
    if (s !== undefined) return s;
    if (this.scopes.size >= MAX_SCOPES) return this.shared;
    s = { id: this.scopes.size + 1 };
    this.scopes.set(measurement, s);
    return s;
  }

  /** The timestamp to write, as a decimal string. */
  assign(timestamp: bigint, spanId: string, scope: SlotScope = this.shared): string {
    return this.assignDecimal(timestamp.toString(), spanId, scope);
  }

  /** `assign` for a timestamp already in decimal: the hot path never needs BigInt arithmetic. */
  assignDecimal(ts: string, spanId: string, scope: SlotScope = this.shared): string {
    splitDecimal(ts, this.split);
    return this.assignParts(scope, this.split.top, this.split.ns, ts, spanId);
  }

  /**
   * `assign` for a timestamp split into seconds and nanoseconds (`ts` is the same time in decimal,
   * returned when the slot is free or the span's own).
   */
  assignParts(scope: SlotScope, top: number, ns: number, ts: string, spanId: string): string {
    const t = this.probe;
    t.top = top;
    t.ns = ns;
    ownerOfId(spanId, this.owner1);
    return this.claim(scope, t, this.owner1.hi, this.owner1.lo) ? nanosDecimal(t.top, t.ns) : ts;
  }

  /**
   * The slot for `time` in `scope`, owned by (hi, lo) (slot-owner.ts): true when `time` was moved
   * (in place) to the first free or own slot. Probes upwards one nanosecond at a time, never past
   * the last nanosecond InfluxDB stores: from there, downwards. Nothing is allocated: the fused
   * encoder calls it per line.
   */
  claim(scope: SlotScope, time: SplitTime, hi: number, lo: number): boolean {
    const id = scope.id;
    const top = time.top;
    const ns = time.ns;
    let e = this.find(id, top % KEY_SECONDS, ns);
    if (e === -1) {
      this.insert(id, top % KEY_SECONDS, ns, hi, lo);
      return false;
    }
    if (this.ownerHi[e] === hi && this.ownerLo[e] === lo) return false;
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
      e = this.find(id, t % KEY_SECONDS, n);
      if (e === -1) this.insert(id, t % KEY_SECONDS, n, hi, lo);
      else if (this.ownerHi[e] !== hi || this.ownerLo[e] !== lo) continue;
      time.top = t;
      time.ns = n;
      return true;
    }
    return false;
  }

  get size(): number {
    return this.entries;
  }

  private bucket(scope: number, seconds: number, nanos: number): number {
    let h = Math.imul(nanos ^ Math.imul(seconds, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(scope, 0xc2b2ae35);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The entry of the slot, or -1 when it is free. */
  private find(scope: number, seconds: number, nanos: number): number {
    for (let e = this.heads[this.bucket(scope, seconds, nanos)] as number; e !== 0; e = this.next[e - 1] as number) {
      const i = e - 1;
      if (this.entryNanos[i] === nanos && this.entrySeconds[i] === seconds && this.entryScope[i] === scope) return i;
    }
    return -1;
  }

  private insert(scope: number, seconds: number, nanos: number, hi: number, lo: number): void {
    if (this.entries === this.allocated && this.allocated < this.capacity) {
      this.resize(Math.min(this.capacity, this.allocated * 2));
      this.ring = this.entries;
    }
    const i = this.ring;
    // The ring is full: its slot at `ring` is the oldest entry; forget it first.
    if (this.entries === this.capacity) this.unlink(i);
    else this.entries++;
    const b = this.bucket(scope, seconds, nanos);
    this.entryScope[i] = scope;
    this.entrySeconds[i] = seconds;
    this.entryNanos[i] = nanos;
    this.ownerHi[i] = hi;
    this.ownerLo[i] = lo;
    this.next[i] = this.heads[b] as number;
    this.heads[b] = i + 1;
    this.ring = i + 1 === this.capacity ? 0 : i + 1;
  }

  private unlink(i: number): void {
    const b = this.bucket(this.entryScope[i] as number, this.entrySeconds[i] as number, this.entryNanos[i] as number);
    let prev = 0;
    for (let e = this.heads[b] as number; e !== 0; e = this.next[e - 1] as number) {
      if (e === i + 1) {
        if (prev === 0) this.heads[b] = this.next[i] as number;
        else this.next[prev - 1] = this.next[i] as number;
        return;
      }
      prev = e;
    }
  }
}

const at: SplitTime = { top: 0, ns: 0 };

/**
 * Encodes mapped points into line protocol, giving each a collision-free timestamp: spread below
 * the microsecond by its identity (timestamps.ts), then probed in the slot index. A point whose
 * identity is '' is keyed by its timestamp itself (the trace index, mapping/trace-index-rows.ts):
 * it is written at that timestamp, and takes no slot.
 */
export function encodePoints(points: readonly MappedPoint[], slots: TimestampSlots): string[] {
  const lines: string[] = [];
  for (const { point, spanId } of points) {
    const fields = encodeFields(point.fields);
    if (fields === '') continue;
    const series = encodeSeriesKey(point.measurement, point.tags);
    const decimal = point.timestamp.toString();
    if (spanId === '') {
      lines.push(series + ' ' + fields + ' ' + decimal);
      continue;
    }
    splitDecimal(decimal, at);
    const ns = spreadNanos(at.top, at.ns, spreadOffset(spanId));
    const ts = ns === at.ns ? decimal : nanosDecimal(at.top, ns);
    lines.push(series + ' ' + fields + ' ' + slots.assignParts(slots.scope(point.measurement), at.top, ns, ts, spanId));
  }
  return lines;
}
