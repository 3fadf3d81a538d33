/**
 * The protobuf wire format, for the hand-written readers: the trace decoder (proto-traces.ts) and
 * the fused trace encoder (ingest/trace-lines/). One reader, so both paths skip and refuse the
 * same bytes.
 */
/** Malformed protobuf: the decoders turn it into a 400. */
export class ProtoError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
export const WIRE_I32 = 5;

/** A cursor over `buf` up to `end`; the fused encoder (ingest/trace-lines/) moves `end` in and out of nested messages. */
export class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    public end: number,
  ) {}

  fail(what: string): never {
    throw new ProtoError(`${what} at byte ${this.pos}`);
  }

  /** A varint of at most 32 significant bits (tags, lengths, enums, bools); longer ones are truncated like protobufjs's uint32(). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    // A sub-reader's end is inside the buffer: never read a byte past it.
    if (pos >= this.end) this.fail('truncated varint');
    let b = buf[pos++] as number;
    let v = b & 0x7f;
    if (b < 0x80) {
      this.pos = pos;
      return v;
    }
    let shift = 7;
    for (;;) {
      if (pos >= this.end) this.fail('truncated varint');
      b = buf[pos++] as number;
      if (shift < 32) v |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 63) this.fail('varint longer than 10 bytes');
    }
    this.pos = pos;
    return v >>> 0;
  }

  /** A signed int64 varint as an exact decimal string. */
  int64Decimal(): string {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (pos >= this.end) this.fail('truncated varint');
      const b = buf[pos++] as number;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) break;
      shift += 7;
      if (shift > 63) this.fail('varint longer than 10 bytes');
    }
    this.pos = pos;
    lo >>>= 0;
    hi >>>= 0;
    // Small non-negative values (the common case) are exact in a double.
    if (hi < 0x200000) return String(hi * 0x100000000 + lo);
    const u = (BigInt(hi) << 32n) | BigInt(lo);
    return BigInt.asIntN(64, u).toString();
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) this.fail('truncated fixed64');
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Start and end of a length-delimited field's payload; advances past it. */
  span(): number {
    const len = this.uint32();
    const start = this.pos;
    if (len > this.end - start) this.fail(`length ${len} runs past the end of its message`);
    this.pos = start + len;
    return start;
  }

  string(): string {
    const start = this.span();
    return start === this.pos ? '' : this.buf.toString('utf8', start, this.pos);
  }

  hex(): string {
    const start = this.span();
    return start === this.pos ? '' : this.buf.toString('hex', start, this.pos);
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.uint32();
        return;
      case WIRE_I64:
        if (this.pos + 8 > this.end) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.span();
        return;
      case WIRE_I32:
        if (this.pos + 4 > this.end) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      case WIRE_START_GROUP:
        this.skipGroup();
        return;
      default:
        // An end-group tag with no group open, or wire types 6 and 7 (never defined).
        this.fail(`invalid wire type ${wire}`);
    }
  }

  /**
   * Past the end-group tag that closes a group just opened. OTLP defines no groups, but a newer
   * schema or another sender may put one in any message, and unknown fields must be skipped, not
   * refused (forward compatibility): protobufjs, which decodes metrics and logs, skips them the same
   * way (to the next end-group tag, whatever its field number). A loop with a depth, not recursion,
   * so nesting costs no stack.
   */
  private skipGroup(): void {
    let depth = 1;
    while (depth > 0) {
      const wire = this.uint32() & 7;
      if (wire === WIRE_START_GROUP) depth++;
      else if (wire === WIRE_END_GROUP) depth--;
      else this.skip(wire);
    }
  }

  /** A sub-reader over the next length-delimited field, sharing the buffer. */
  sub(): Reader {
    const start = this.span();
    const r = new Reader(this.buf, this.pos);
    r.pos = start;
    return r;
  }
}

/**
 * Calls `each` with the payload bounds of every occurrence of length-delimited field `field` in
 * [start, end), skipping other fields by wire type. `each` may move the reader anywhere; the
 * reader is left at `end` with its `end` restored.
 */
export function forEachField(r: Reader, start: number, end: number, field: number, each: (s: number, e: number) => void): void {
  const outer = r.end;
  const want = (field << 3) | WIRE_LEN;
  r.pos = start;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== want) {
      r.skip(tag & 7);
      continue;
    }
    const s = r.span();
    const e = r.pos;
    r.pos = s;
    each(s, e);
    r.pos = e;
    r.end = end;
  }
  r.end = outer;
}

/** The last occurrence of length-delimited field `field` in [start, end), as [start, end), or undefined (proto3: the last one wins). */
export function lastField(r: Reader, start: number, end: number, field: number): [number, number] | undefined {
  let found: [number, number] | undefined;
  forEachField(r, start, end, field, (s, e) => {
    found = [s, e];
  });
  return found;
}
