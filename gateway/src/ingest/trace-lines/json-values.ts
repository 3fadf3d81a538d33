import { HAND_BACK } from './hand-back.ts';

/**
 * Scalars of OTLP/JSON read from their bytes for the JSON front end (json-trace-lines.ts), each
 * exactly as otlp/decode.ts reads the value JSON.parse makes of them, or HAND_BACK where this
 * reading would differ.
 */

/**
 * The member names an object of one kind reads, found by their bytes (no string is made): a slot
 * from the length and the last byte, then one comparison (names sharing a slot are chained).
 */
export class MemberNames {
  private readonly slots: Array<{ readonly bytes: Buffer; readonly id: number } | undefined> = new Array(SLOTS).fill(undefined);
  /** Names whose slot another name took first. */
  private readonly others: Array<{ readonly bytes: Buffer; readonly id: number }> = [];
  /** By first byte: the names, for `at`. */
  private readonly byFirst: Array<Array<{ readonly bytes: Buffer; readonly id: number }> | undefined> = new Array(128).fill(undefined);

  constructor(names: Readonly<Record<string, number>>) {
    for (const [name, id] of Object.entries(names)) {
      const bytes = Buffer.from(name, 'utf8');
      const slot = slotOf(bytes, 0, bytes.length);
      if (this.slots[slot] === undefined) this.slots[slot] = { bytes, id };
      else this.others.push({ bytes, id });
      (this.byFirst[bytes[0] as number] ??= []).push({ bytes, id });
    }
  }

  /**
   * The name whose bytes and closing quote follow buf[at] (an opening quote), compared in place:
   * its id, with `end` just past the closing quote; -1 when none is (the caller scans the string).
   * No scan, no escape can hide in a match: the fast way through the names an object expects.
   */
  at(buf: Buffer, at: number, limit: number): number {
    const candidates = this.byFirst[buf[at + 1] as number];
    if (candidates === undefined) return -1;
    for (const { bytes, id } of candidates) {
      const n = bytes.length;
      const close = at + 1 + n;
      if (close >= limit || buf[close] !== 0x22) continue;
      let j = 1;
      while (j < n && bytes[j] === buf[at + 1 + j]) j++;
      if (j === n) {
        this.end = close + 1;
        return id;
      }
    }
    return -1;
  }

  /** After a match by `at`: where the name's closing quote ends. */
  end = 0;

  /** The id of the name in buf[s, e), or -1. */
  id(buf: Buffer, s: number, e: number): number {
    if (e === s) return -1;
    const first = this.slots[slotOf(buf, s, e)];
    if (first !== undefined && same(first.bytes, buf, s, e)) return first.id;
    for (const o of this.others) if (same(o.bytes, buf, s, e)) return o.id;
    return -1;
  }
}

const SLOTS = 64;

function slotOf(buf: Buffer, s: number, e: number): number {
  return ((e - s) * 7 + (buf[e - 1] as number)) & (SLOTS - 1);
}

function same(bytes: Buffer, buf: Buffer, s: number, e: number): boolean {
  const n = bytes.length;
  if (e - s !== n) return false;
  for (let j = 0; j < n; j++) if (bytes[j] !== buf[s + j]) return false;
  return true;
}

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * A JSON number's value, as JSON.parse gives it. Up to 15 significant digits and 22 decimals it is
 * `m / 10^k` of two exact doubles, which IEEE division rounds exactly as the decimal is rounded
 * (Clinger's fast path); past that, or with an exponent, Number() on the text, which JSON.parse matches.
 */
export function jsonDouble(b: Buffer, s: number, e: number): number {
  let p = s;
  const negative = b[p] === 0x2d;
  if (negative) p++;
  let m = 0;
  let digits = 0;
  let decimals = 0;
  let dot = false;
  for (; p < e; p++) {
    const ch = b[p] as number;
    if (ch === 0x2e) dot = true;
    else if (ch === 0x65 || ch === 0x45) return Number(b.toString('latin1', s, e));
    else {
      m = m * 10 + (ch - 0x30);
      digits++;
      if (dot) decimals++;
    }
  }
  if (digits > 15 || decimals > 22) return Number(b.toString('latin1', s, e));
  const v = decimals === 0 ? m : m / (POW10[decimals] as number);
  return negative ? -v : v;
}

/**
 * An integer JSON number of at most `digits` digits, in [-limit, limit): what decodeJson's
 * `enumValue` accepts; anything else (fractions, -0, larger) is handed back.
 */
export function jsonInt(b: Buffer, s: number, e: number, integer: boolean, digits: number, limit: number): number {
  const d = b[s] === 0x2d ? s + 1 : s;
  if (!integer || e - d > digits || (d > s && b[d] === 0x30)) throw HAND_BACK;
  let v = 0;
  for (let j = d; j < e; j++) v = v * 10 + ((b[j] as number) - 0x30);
  if (d > s) v = -v;
  if (v < -limit || v >= limit) throw HAND_BACK;
  return v;
}

/** An unsigned 64-bit time as its 32-bit halves: nanoseconds never become one JS number. */
export interface TimeHalves {
  lo: number;
  hi: number;
}

/**
 * The decimal digits in b[s, e) (at most `digits` of them, nothing else) as a uint64 in `out`;
 * past 2^64 - 1 (the reference path's 400) it is handed back.
 */
export function timeHalves(b: Buffer, s: number, e: number, digits: number, out: TimeHalves): void {
  if (e === s || e - s > digits) throw HAND_BACK;
  // Up to 15 digits are one exact double. Past that, the leading (up to 11) digits and the last 9 as
  // two, joined in 32-bit halves: (hi, lo) × 10^9 (as × 15625 × 64000, each product under 2^53) + the last 9.
  const short = e - s <= 15;
  const split = short ? e : e - 9;
  const a = digitsValue(b, s, split);
  let hi = Math.floor(a / 0x100000000);
  let lo = a - hi * 0x100000000;
  if (!short) {
    let x = lo * 15625;
    let carry = Math.floor(x / 0x100000000);
    lo = x - carry * 0x100000000;
    hi = hi * 15625 + carry;
    x = lo * 64000;
    carry = Math.floor(x / 0x100000000);
    lo = x - carry * 0x100000000;
    hi = hi * 64000 + carry;
    lo += digitsValue(b, split, e);
    if (lo >= 0x100000000) {
      lo -= 0x100000000;
      hi++;
    }
  }
  if (hi > 0xffffffff) throw HAND_BACK;
  out.lo = lo;
  out.hi = hi;
}

/** The decimal digits in b[s, e) (at most 15; nothing else) as a number. */
function digitsValue(b: Buffer, s: number, e: number): number {
  let v = 0;
  for (let j = s; j < e; j++) {
    const d = (b[j] as number) - 0x30;
    if (d < 0 || d > 9) throw HAND_BACK;
    v = v * 10 + d;
  }
  return v;
}
