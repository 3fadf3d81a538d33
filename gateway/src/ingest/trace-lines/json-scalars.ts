import { HAND_BACK } from './hand-back.ts';
import { HEX_VALUE, type JsonCursor } from './json-cursor.ts';
import { jsonInt, timeHalves, type MemberNames, type TimeHalves } from './json-values.ts';

/**
 * The JSON front end's readers of one scalar at the cursor (a string, a hex id, an enum, a time,
 * an int64), each as otlp/decode.ts reads it or HAND_BACK where its answer would differ. Plain
 * functions of the cursor: they keep no state of their own.
 */

/** A member id the walk skips (any value, any number of times), named so that it is found without a scan. */
export const IGNORED = 31;

const QUOTE = 0x22;
// Module-local copy: an imported binding is a property read (tsx compiles modules to CommonJS) in a loop run per id byte.
const HEX = HEX_VALUE;
const SMALL_INTS = Array.from({ length: 1000 }, (_, i) => String(i));
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An int64's decimal; past int64 (which decodeJson takes as text) the reference path's. */
function int64Text(n: bigint): string {
  if (n < INT64_MIN || n > INT64_MAX) throw HAND_BACK;
  return n.toString();
}

/** A member met twice (or under both its names): JSON.parse keeps the last, decodeJson prefers camelCase; the reference path's. */
export function once(seen: number, id: number): number {
  if ((seen & (1 << id)) !== 0) throw HAND_BACK;
  return seen | (1 << id);
}

/** A string value (null: empty), decoded: where it starts (`c.strEnd` its end). */
export function readText(c: JsonCursor): number {
  if (c.null()) {
    c.strEnd = 0;
    return 0;
  }
  const s = c.string();
  c.decode(s);
  return s;
}

/** A hex id of `bytes` bytes, made its bytes in place: where they start (-1: none, `c.strEnd` their end). */
export function readHexId(c: JsonCursor, bytes: number): number {
  if (c.null()) {
    c.strEnd = -1;
    return -1;
  }
  const s = c.string();
  const len = c.strEnd - s;
  if (len === 0) return s;
  // Another length is refused by the reference path (partial success), or bad hex (a 400): its answer.
  if (c.escaped || len !== 2 * bytes) throw HAND_BACK;
  const b = c.buf;
  for (let j = 0; j < bytes; j++) {
    const hi = HEX[b[s + 2 * j] as number] as number;
    const lo = HEX[b[s + 2 * j + 1] as number] as number;
    if (hi < 0 || lo < 0) throw HAND_BACK;
    b[s + j] = (hi << 4) | lo;
  }
  c.strEnd = s + bytes;
  return s;
}

/** An enum: its integer, or its name in `names`; null is 0. */
export function readEnum(c: JsonCursor, names: MemberNames): number {
  if (c.null()) return 0;
  if (c.peek() === QUOTE) {
    const s = c.string();
    const v = c.escaped ? -1 : names.id(c.buf, s, c.strEnd);
    if (v === -1) throw HAND_BACK;
    return v;
  }
  const s = c.number();
  return jsonInt(c.buf, s, c.numEnd, c.integer, 10, 2 ** 31);
}

/** A uint64 time into `time`: a decimal string, or an exact JSON number; null is 0. */
export function readTime(c: JsonCursor, time: TimeHalves): void {
  if (c.null()) {
    time.lo = 0;
    time.hi = 0;
    return;
  }
  if (c.peek() === QUOTE) {
    const s = c.string();
    if (c.escaped) throw HAND_BACK;
    timeHalves(c.buf, s, c.strEnd, 20, time);
  } else {
    const s = c.number();
    if (!c.integer) throw HAND_BACK;
    timeHalves(c.buf, s, c.numEnd, 15, time);
  }
}

/**
 * An int64 as otlp/decode.ts reads it, when its decimal is canonical (what the core writes as
 * is) and an int64: a string of at most `digits` digits, or a JSON number (past 15 digits, the
 * decimal of the double it is, as decodeJson's BigInt makes it).
 */
export function readIntText(c: JsonCursor, digits: number): string {
  const b = c.buf;
  let s: number;
  let e: number;
  if (c.peek() === QUOTE) {
    s = c.string();
    e = c.strEnd;
    if (c.escaped) throw HAND_BACK;
  } else {
    s = c.number();
    e = c.numEnd;
    if (!c.integer) throw HAND_BACK;
    if (e - s > 15 && digits > 15) return int64Text(BigInt(Number(b.toString('latin1', s, e))));
  }
  const d = b[s] === 0x2d ? s + 1 : s;
  if (e === d || e - d > digits || (b[d] === 0x30 && (e - d > 1 || d > s))) throw HAND_BACK;
  for (let j = d; j < e; j++) if ((b[j] as number) - 0x30 > 9 || (b[j] as number) < 0x30) throw HAND_BACK;
  if (e - s <= 3) {
    // Small non-negative ints (status codes, counts, ports) without a string made per value.
    let v = 0;
    for (let j = s; j < e; j++) v = v * 10 + ((b[j] as number) - 0x30);
    if (d === s) return SMALL_INTS[v] as string;
  }
  const text = b.toString('latin1', s, e);
  return e - d < 19 ? text : int64Text(BigInt(text));
}
