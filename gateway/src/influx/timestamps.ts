/**
 * Nanosecond timestamps for line protocol, in one place for both trace paths: the reference path
 * (point-identity.ts `encodePoints`, from a bigint's decimal) and the fused encoder (from the two
 * 32-bit halves of a protobuf fixed64). A timestamp is carried as whole seconds (`top`) and
 * nanoseconds (`ns`), both exact in a JS number; it never becomes one number of nanoseconds,
 * which 2^53 would cut after ~104 days.
 *
 * The sub-microsecond spread: the slot index (point-identity.ts) is per process, so it cannot keep
 * apart two spans that start in the same nanosecond with the same tags on two workers, two replicas,
 * or either side of a restart. Clocks that tick in whole microseconds (every JavaScript SDK:
 * `performance.now()`; browsers coarsen it further) make that likely. Such a timestamp gets a
 * sub-microsecond offset derived from the span id: distinct spans spread over 1000 nanoseconds, the
 * same span always lands on the same one on any process (so retries and replays stay idempotent),
 * and the microsecond is unchanged, which is all the query API reads. Timestamps with real
 * nanosecond digits are kept exactly.
 */

/** A timestamp split into seconds and nanoseconds; filled in place, so the hot path allocates nothing. */
export interface SplitTime {
  top: number;
  ns: number;
}

/** Seconds and nanoseconds as one decimal (nanoseconds since the epoch). */
export function nanosDecimal(top: number, ns: number): string {
  return top === 0 ? String(ns) : String(top) + String(ns).padStart(9, '0');
}

/** A canonical non-negative decimal (a bigint's `toString()`) split into `into`. */
export function splitDecimal(ts: string, into: SplitTime): void {
  const cut = ts.length - 9;
  into.top = cut > 0 ? Number(ts.slice(0, cut)) : 0;
  into.ns = Number(cut > 0 ? ts.slice(cut) : ts);
}

/**
 * An unsigned 64-bit integer given as two 32-bit halves, split into `into` without BigInt, with
 * products that stay under 2^53: hi · 2^32 + lo = (hi · 2^16) · 2^16 + lo, divided by 1e9 in two steps.
 */
export function splitU64(lo: number, hi: number, into: SplitTime): void {
  const a = hi * 65536;
  const qa = div1e9(a);
  const t = (a - qa * 1e9) * 65536 + lo;
  const qt = div1e9(t);
  into.top = qa * 65536 + qt;
  into.ns = t - qt * 1e9;
}

/**
 * ⌊n / 1e9⌋ for an integer n < 2^53. The double quotient can round up onto the next integer (never
 * down below the true one), so a negative remainder means one less.
 */
function div1e9(n: number): number {
  const q = Math.floor(n / 1e9);
  return n - q * 1e9 < 0 ? q - 1 : q;
}

const scratch: SplitTime = { top: 0, ns: 0 };

/** The unsigned 64-bit integer as an exact decimal. */
export function u64Decimal(lo: number, hi: number): string {
  splitU64(lo, hi, scratch);
  return nanosDecimal(scratch.top, scratch.ns);
}

// FNV-1a, 32-bit: span ids are random hex and log/metric identities are hashes; either spreads well.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const HEX = Buffer.from('0123456789abcdef');

/** The spread offset (0–999) of an identity given as text (a span id in hex, a point identity). */
export function spreadOffset(id: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), FNV_PRIME);
  return (h >>> 0) % 1000;
}

/** `spreadOffset` of the hex of `n` bytes at `buf[at]`, without making the string. */
export function spreadOffsetOfBytes(buf: Buffer, at: number, n: number): number {
  let h = FNV_OFFSET;
  for (let i = at; i < at + n; i++) {
    const b = buf[i] as number;
    h = Math.imul(h ^ (HEX[b >> 4] as number), FNV_PRIME);
    h = Math.imul(h ^ (HEX[b & 15] as number), FNV_PRIME);
  }
  return (h >>> 0) % 1000;
}

/** The nanoseconds to write: a whole microsecond (at least 1000 ns since the epoch) gets `offset` added. */
export function spreadNanos(top: number, ns: number, offset: number): number {
  return (top > 0 || ns >= 1000) && ns % 1000 === 0 ? ns + offset : ns;
}

/** `spreadNanos` on a decimal timestamp; an empty id spreads nothing. */
export function spreadDecimal(ts: string, id: string): string {
  if (id === '') return ts;
  splitDecimal(ts, scratch);
  const ns = spreadNanos(scratch.top, scratch.ns, spreadOffset(id));
  return ns === scratch.ns ? ts : nanosDecimal(scratch.top, ns);
}

/** `spreadDecimal` on a bigint. */
export function spreadTimestamp(timestamp: bigint, id: string): bigint {
  return BigInt(spreadDecimal(timestamp.toString(), id));
}
