/**
 * Who owns a timestamp slot (point-identity.ts), as a 64-bit number in two 32-bit halves rather
 * than a string. A span id, the common owner, is its 8 bytes exactly: the reference path gives it
 * as 16 lower-case hex digits (otlp/decode.ts lower-cases JSON ids), the fused encoder reads the
 * bytes themselves (`ownerOfBytes`), and both land on the same number. Any other identity (a log
 * record's or metric point's hash, a beacon id) is hashed to 64 bits: two distinct identities that
 * meet on one nanosecond of one measurement are told apart unless their hashes collide (2^-64).
 */
export interface SlotOwner {
  hi: number;
  lo: number;
}

const HEX_DIGIT = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) HEX_DIGIT['0123456789abcdef'.charCodeAt(c)] = c;

/** The 8 bytes at `buf[at]` (a span id) as an owner. */
export function ownerOfBytes(buf: Uint8Array, at: number, into: SlotOwner): void {
  into.hi = (((buf[at] as number) << 24) | ((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number)) | 0;
  into.lo = (((buf[at + 4] as number) << 24) | ((buf[at + 5] as number) << 16) | ((buf[at + 6] as number) << 8) | (buf[at + 7] as number)) | 0;
}

/** An identity as an owner: a span id (16 lower-case hex digits) exactly, anything else hashed. */
export function ownerOfId(id: string, into: SlotOwner): void {
  if (id.length === 16 && hexHalves(id, into)) return;
  // FNV-1a and a multiply-rotate hash (murmur3's constants), independent enough for 64 bits.
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0xcc9e2d51);
    b = (b << 15) | (b >>> 17);
    b = Math.imul(b, 0x1b873593);
  }
  b ^= id.length;
  b ^= b >>> 16;
  b = Math.imul(b, 0x85ebca6b);
  b ^= b >>> 13;
  into.hi = a | 0;
  into.lo = b | 0;
}

function hexHalves(id: string, into: SlotOwner): boolean {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 16; i++) {
    const c = id.charCodeAt(i);
    const d = c < 128 ? (HEX_DIGIT[c] as number) : -1;
    if (d < 0) return false;
    if (i < 8) hi = (hi << 4) | d;
    else lo = (lo << 4) | d;
  }
  into.hi = hi | 0;
  into.lo = lo | 0;
  return true;
}
