/**
 * A mergeable quantile sketch of durations with a relative error of SKETCH_RELATIVE_ERROR: the
 * log-bucket scheme of DDSketch (Masson et al., VLDB 2019). Bucket i holds the values in
 * (γ^(i-1), γ^i], γ = (1+α)/(1-α); its representative 2γ^i/(γ+1) is within α of every value in
 * it, so a percentile read from the buckets is within α (relative) of the exact nearest-rank
 * value. Zero and negative values are counted apart and read back as 0.
 *
 * Hand-written rather than @datadog/sketches-js: bench/sketch.ts measured both (docs/performance.md);
 * the library's protobuf form is several times larger in a line-protocol string field, and this
 * one also reads back whole milliseconds exactly where a bucket holds a single integer.
 */
import { nearestRankOf } from './rank.ts';

/** α: every percentile is within 1% of the exact nearest-rank value. */
export const SKETCH_RELATIVE_ERROR = 0.01;
const GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);
/** The serialized form's first byte: a format change gets a new one. */
const FORMAT = 1;

const indexOf = (v: number): number => Math.ceil(Math.log(v) / LOG_GAMMA);

/** Bucket i's value: the one integer in it when there is exactly one (durations are whole ms), else its representative. */
function valueOf(i: number): number {
  const rep = (2 * Math.pow(GAMMA, i)) / (GAMMA + 1);
  for (const k of [Math.floor(rep), Math.ceil(rep)]) {
    if (k >= 1 && indexOf(k) === i && indexOf(k - 1 || Number.MIN_VALUE) !== i && indexOf(k + 1) !== i) return k;
  }
  return rep;
}

export class LogSketch {
  /** Values ≤ 0. */
  zeros = 0;
  count = 0;
  /** counts[j] is bucket `offset + j`. */
  private counts: number[] = [];
  private offset = 0;

  add(value: number, n = 1): void {
    this.count += n;
    if (!(value > 0)) {
      this.zeros += n;
      return;
    }
    this.addToBucket(indexOf(value), n);
  }

  private addToBucket(i: number, n: number): void {
    const c = this.counts;
    if (c.length === 0) {
      this.offset = i;
      c.push(n);
      return;
    }
    if (i < this.offset) {
      const grow = this.offset - i;
      this.counts = new Array<number>(grow).fill(0).concat(c);
      this.offset = i;
      (this.counts[0] as number) += n;
      return;
    }
    const j = i - this.offset;
    while (c.length <= j) c.push(0);
    c[j] = (c[j] as number) + n;
  }

  merge(other: LogSketch): void {
    this.count += other.count;
    this.zeros += other.zeros;
    const oc = other.counts;
    for (let j = 0; j < oc.length; j++) {
      const n = oc[j] as number;
      if (n > 0) this.addToBucket(other.offset + j, n);
    }
  }

  /** The nearest-rank percentile (InfluxQL PERCENTILE's rank), within SKETCH_RELATIVE_ERROR; null when empty. */
  percentile(p: number): number | null {
    const rank = nearestRankOf(this.count, p);
    if (rank === undefined) return null;
    if (rank <= this.zeros) return 0;
    let left = rank - this.zeros;
    const c = this.counts;
    for (let j = 0; j < c.length; j++) {
      left -= c[j] as number;
      if (left <= 0) return valueOf(this.offset + j);
    }
    return valueOf(this.offset + c.length - 1);
  }

  /** Compact base64 (safe in a line-protocol string field): format, zeros, then (index gap, count) varints per non-empty bucket. */
  encode(): string {
    const bytes: number[] = [FORMAT];
    varint(bytes, this.zeros);
    let prev = 0;
    let first = true;
    const c = this.counts;
    for (let j = 0; j < c.length; j++) {
      const n = c[j] as number;
      if (n === 0) continue;
      const i = this.offset + j;
      varint(bytes, first ? zigzag(i) : i - prev);
      varint(bytes, n);
      prev = i;
      first = false;
    }
    return Buffer.from(bytes).toString('base64');
  }

  /** The sketch `encode` wrote; throws on anything else (a corrupt field must not pass as data). */
  static decode(text: string): LogSketch {
    const b = Buffer.from(text, 'base64');
    if (b[0] !== FORMAT) throw new Error(`sketch: unknown format ${String(b[0])}`);
    const s = new LogSketch();
    const at = { pos: 1 };
    s.zeros = readVarint(b, at);
    s.count = s.zeros;
    let i = 0;
    let first = true;
    while (at.pos < b.length) {
      const gap = readVarint(b, at);
      i = first ? unzigzag(gap) : i + gap;
      first = false;
      const n = readVarint(b, at);
      s.addToBucket(i, n);
      s.count += n;
    }
    return s;
  }
}

function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(b: Buffer, at: { pos: number }): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    const byte = b[at.pos++];
    if (byte === undefined) throw new Error('sketch: truncated');
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return v;
    mul *= 0x80;
  }
}

const zigzag = (i: number): number => (i >= 0 ? 2 * i : -2 * i - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
