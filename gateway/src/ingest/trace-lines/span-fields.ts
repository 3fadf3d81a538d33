import { MAX_TIMESTAMP_NS } from '../../otlp/model.ts';
import type { Reader } from '../../otlp/wire.ts';
import { HAND_BACK } from './hand-back.ts';
import type { SpanValues } from './span-values.ts';

/**
 * The wire fields of one `Span` message (trace/v1) as the fused encoder needs them: byte positions
 * in the request for ids and the name, times as 32-bit halves (no BigInt), the status code. Its
 * attributes go to `SpanValues` as they are met.
 */

// Protobuf tags of Span and Status (trace/v1). Module-local: the switch below runs per field.
const SPAN_TRACE_ID = (1 << 3) | 2;
const SPAN_SPAN_ID = (2 << 3) | 2;
const SPAN_PARENT_ID = (4 << 3) | 2;
const SPAN_NAME = (5 << 3) | 2;
const SPAN_KIND = (6 << 3) | 0;
const SPAN_START = (7 << 3) | 1;
const SPAN_END = (8 << 3) | 1;
const SPAN_ATTRIBUTE = (9 << 3) | 2;
const SPAN_STATUS = (15 << 3) | 2;
const STATUS_CODE = (3 << 3) | 0;

const MAX_TS_HI = Number(MAX_TIMESTAMP_NS >> 32n);
const MAX_TS_LO = Number(MAX_TIMESTAMP_NS & 0xffffffffn);

/** A span's own wire fields: byte positions in the request, times as 32-bit halves. */
export class SpanFields {
  traceAt = -1;
  traceLen = 0;
  spanAt = -1;
  spanLen = 0;
  parentAt = -1;
  parentLen = 0;
  nameStart = 0;
  nameEnd = 0;
  kind = 0;
  startLo = 0;
  startHi = 0;
  endLo = 0;
  endHi = 0;
  statusCode = 0;

  /**
   * The Span message in [r.pos, end): its wire fields into this, its attributes into `values`.
   * Locals while reading (registers, not memory, in the loop that runs per field), stored once at the end.
   */
  read(r: Reader, end: number, values: SpanValues, countLimit: number): void {
    let traceAt = -1;
    let traceLen = 0;
    let spanAt = -1;
    let spanLen = 0;
    let parentAt = -1;
    let parentLen = 0;
    let nameStart = 0;
    let nameEnd = 0;
    let kind = 0;
    let startLo = 0;
    let startHi = 0;
    let endLo = 0;
    let endHi = 0;
    let statusCode = 0;
    let attributes = 0;
    const outer = r.end;
    r.end = end;
    while (r.pos < end) {
      const tag = r.uint32();
      switch (tag) {
        case SPAN_TRACE_ID:
          traceAt = r.span();
          traceLen = r.pos - traceAt;
          break;
        case SPAN_SPAN_ID:
          spanAt = r.span();
          spanLen = r.pos - spanAt;
          break;
        case SPAN_PARENT_ID:
          parentAt = r.span();
          parentLen = r.pos - parentAt;
          break;
        case SPAN_NAME:
          nameStart = r.span();
          nameEnd = r.pos;
          break;
        case SPAN_KIND:
          kind = r.uint32() | 0;
          break;
        case SPAN_START:
          if (r.pos + 8 > end) throw HAND_BACK;
          startLo = r.buf.readUInt32LE(r.pos);
          startHi = r.buf.readUInt32LE(r.pos + 4);
          r.pos += 8;
          break;
        case SPAN_END:
          if (r.pos + 8 > end) throw HAND_BACK;
          endLo = r.buf.readUInt32LE(r.pos);
          endHi = r.buf.readUInt32LE(r.pos + 4);
          r.pos += 8;
          break;
        case SPAN_ATTRIBUTE: {
          if (++attributes > countLimit) throw HAND_BACK;
          const s = r.span();
          const e = r.pos;
          r.pos = s;
          values.readAttribute(r, e);
          r.pos = e;
          break;
        }
        case SPAN_STATUS: {
          // A later status replaces an earlier one, as in the reference decoder.
          const s = r.span();
          const e = r.pos;
          r.pos = s;
          r.end = e;
          statusCode = 0;
          while (r.pos < e) {
            const st = r.uint32();
            if (st === STATUS_CODE) statusCode = r.uint32() | 0;
            else r.skip(st & 7);
          }
          r.end = end;
          break;
        }
        default:
          r.skip(tag & 7);
      }
    }
    r.end = outer;
    this.traceAt = traceAt;
    this.traceLen = traceLen;
    this.spanAt = spanAt;
    this.spanLen = spanLen;
    this.parentAt = parentAt;
    this.parentLen = parentLen;
    this.nameStart = nameStart;
    this.nameEnd = nameEnd;
    this.kind = kind;
    this.startLo = startLo;
    this.startHi = startHi;
    this.endLo = endLo;
    this.endHi = endHi;
    this.statusCode = statusCode;
  }

  /** Spans the reference path refuses (otlp/model.ts invalidSpanReason) are its to count and report. */
  check(src: Buffer): void {
    if (this.traceLen !== 16 || allZero(src, this.traceAt, 16) || this.spanLen !== 8 || allZero(src, this.spanAt, 8)) throw HAND_BACK;
    if (this.parentAt !== -1 && this.parentLen !== 0 && this.parentLen !== 8) throw HAND_BACK;
    if (this.startHi === 0 && this.startLo === 0) throw HAND_BACK;
    if (this.endHi < this.startHi || (this.endHi === this.startHi && this.endLo < this.startLo)) throw HAND_BACK;
    if (this.endHi > MAX_TS_HI || (this.endHi === MAX_TS_HI && this.endLo > MAX_TS_LO)) throw HAND_BACK;
    // Durations past 2^50 ns (13 days) would lose exactness in a double: the reference path uses BigInt.
    if (this.endHi - this.startHi >= 0x40000) throw HAND_BACK;
  }
}

function allZero(src: Buffer, at: number, n: number): boolean {
  for (let i = at; i < at + n; i++) if (src[i] !== 0) return false;
  return true;
}
