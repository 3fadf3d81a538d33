import { isUtf8 } from 'node:buffer';
import { escapeKey, escapeStringValue, MAX_SERIES_KEY_BYTES } from '../../influx/line-protocol.ts';
import { HAND_BACK } from './hand-back.ts';

/**
 * The line-protocol byte emitter of the fused encoder: lines written straight into one reused
 * buffer, values copied from the request's bytes and escaped on the way. Only a value that needs
 * the full escaping rules (or is not plain ASCII and valid UTF-8) becomes a string, and then goes
 * through line-protocol.ts's escapers, so both paths escape alike.
 *
 * The copy loops keep the buffer and position in locals: fields are memory loads and stores on
 * every byte otherwise.
 */

const SPECIAL = new Uint8Array(256);
// Bytes that send a tag value to escapeKey (its fast test, KEY_SPECIALS).
for (const c of ',= \n\r\t\\"') SPECIAL[c.charCodeAt(0)] = 1;

const HEX = Buffer.from('0123456789abcdef');
const EMPTY = Buffer.alloc(0);
const MAX_SERIES_BYTES = MAX_SERIES_KEY_BYTES;

/**
 * The slab requests' lines are written into, and handed out from as they are: a taken request's
 * lines are a view of the slab, not a copy in a buffer of their own. Copying each request's lines
 * out of a reused buffer (and allocating that buffer) was ~3% of the JSON encoder's time, and one
 * external allocation per request for the collector to track. A slab lives as long as any of its
 * requests' lines wait in the write buffer; a request larger than a slab gets one of its own size.
 */
const SLAB_BYTES = 512 * 1024;

export class LineBuffer {
  /** The request being encoded: values are copied from it. */
  src: Buffer = EMPTY;
  /** The slab the current request is written into, from `base`. */
  out: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  o = 0;
  /** Where each line ends, counted from the request's first byte; lines are separated by one newline. */
  lineEnds: number[] = [];
  private base = 0;
  private lineStart = 0;

  start(src: Buffer): void {
    this.src = src;
    // What is left of the slab is too little for a request: a new slab rather than a grow per request.
    if (this.out.length - this.o < SLAB_BYTES / 8) {
      this.out = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.o = 0;
    }
    this.base = this.o;
    this.lineStart = this.o;
    this.lineEnds = [];
  }

  /** The request's lines joined by newlines: a view of the slab, which later requests never write over. */
  finish(): Buffer {
    this.src = EMPTY;
    const count = this.lineEnds.length;
    const lines = this.out.subarray(this.base, count === 0 ? this.base : this.o - 1);
    this.base = this.o;
    return lines;
  }

  /** Forgets the request (handed back): nothing of it is kept, and its bytes are written over. */
  abandon(): void {
    this.src = EMPTY;
    this.o = this.base;
  }

  /** Room for `n` more bytes. It may move the request to a new slab: read `out` and `o` after it. */
  room(n: number): void {
    if (this.o + n > this.out.length) this.grow(n);
  }

  /** A new slab for the current request, with its bytes so far moved to its start: room for `n` more. */
  private grow(n: number): void {
    const used = this.o - this.base;
    const bigger = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, 2 * used + n));
    this.out.copy(bigger, 0, this.base, this.o);
    this.out = bigger;
    this.lineStart -= this.base;
    this.o = used;
    this.base = 0;
  }

  put(b: Buffer): void {
    const n = b.length;
    // Before reading `o`: growing moves the request to the start of a new slab.
    if (this.o + n > this.out.length) this.grow(n);
    let p = this.o;
    const d = this.out;
    for (let i = 0; i < n; i++) d[p++] = b[i] as number;
    this.o = p;
  }

  putAscii(s: string): void {
    const n = s.length;
    this.room(n);
    const d = this.out;
    let p = this.o;
    for (let i = 0; i < n; i++) d[p++] = s.charCodeAt(i);
    this.o = p;
  }

  putUtf8(s: string): void {
    this.room(s.length * 3);
    this.o += this.out.write(s, this.o, 'utf8');
  }

  /** `n` bytes of the request at `start`, as lower-case hex (ids). */
  putHex(start: number, n: number): void {
    this.room(n * 2);
    const from = this.src;
    const d = this.out;
    let p = this.o;
    for (let i = start; i < start + n; i++) {
      const b = from[i] as number;
      d[p++] = HEX[b >> 4] as number;
      d[p++] = HEX[b & 15] as number;
    }
    this.o = p;
  }

  /** `,key=value` from src[s, e) unless the value escapes to '' (encodeSeriesKey skips those tags). */
  tagRange(key: Buffer, s: number, e: number): void {
    if (s === e) return;
    const from = this.src;
    let plain = true;
    let wide = false;
    for (let j = s; j < e; j++) {
      const b = from[j] as number;
      if (b >= 0x80) wide = true;
      else if (SPECIAL[b] === 1) {
        plain = false;
        break;
      }
    }
    if (plain && (!wide || isUtf8(from.subarray(s, e)))) {
      this.put(key);
      this.room(e - s);
      const d = this.out;
      let p = this.o;
      for (let j = s; j < e; j++) d[p++] = from[j] as number;
      this.o = p;
      return;
    }
    this.tagText(key, from.toString('utf8', s, e));
  }

  tagText(key: Buffer, text: string): void {
    const v = escapeKey(text);
    if (v === '') return;
    this.put(key);
    this.putUtf8(v);
  }

  /** A double-quoted string field value from src[s, e): only `"` and `\` are escaped. */
  stringRange(s: number, e: number): void {
    this.room(2 * (e - s) + 2);
    const from = this.src;
    const d = this.out;
    const at = this.o;
    let p = at;
    d[p++] = 0x22;
    let wide = false;
    for (let j = s; j < e; j++) {
      const b = from[j] as number;
      if (b === 0x22 || b === 0x5c) d[p++] = 0x5c;
      else if (b >= 0x80) wide = true;
      d[p++] = b;
    }
    d[p++] = 0x22;
    this.o = p;
    if (!wide) return;
    // Invalid UTF-8 becomes U+FFFD in the reference path's strings; so it does here.
    if (!isUtf8(from.subarray(s, e))) {
      this.o = at;
      this.stringText(from.toString('utf8', s, e));
    }
  }

  /**
   * A double-quoted string field value from text (arrays and kvlists as JSON, non-string values):
   * ASCII text is escaped as it is copied; text past ASCII takes escapeStringValue.
   */
  stringText(text: string): void {
    const n = text.length;
    this.room(2 * n + 2);
    const d = this.out;
    const at = this.o;
    let p = at;
    d[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        this.o = at;
        this.putUtf8('"' + escapeStringValue(text) + '"');
        return;
      }
      if (c === 0x22 || c === 0x5c) d[p++] = 0x5c;
      d[p++] = c;
    }
    d[p++] = 0x22;
    this.o = p;
  }

  /** After the tags: a series key over InfluxDB's limit is the reference path's to refuse. */
  seriesEnd(): void {
    if (this.o - this.lineStart > MAX_SERIES_BYTES) throw HAND_BACK;
  }

  /** ` <timestamp>\n`: ends the current line. */
  endLine(timestamp: string): void {
    this.room(timestamp.length + 2);
    const d = this.out;
    let p = this.o;
    d[p++] = 0x20;
    for (let i = 0; i < timestamp.length; i++) d[p++] = timestamp.charCodeAt(i);
    this.lineEnds.push(p - this.base);
    d[p++] = 0x0a;
    this.o = p;
    this.lineStart = p;
  }

  /**
   * `endLine` for the timestamp `top` seconds + `ns` nanoseconds, its digits written in place: what
   * timestamps.ts `nanosDecimal` spells, without making the string (one per line otherwise).
   */
  endLineAt(top: number, ns: number): void {
    this.room(32);
    const d = this.out;
    let p = this.o;
    d[p++] = 0x20;
    p = top === 0 ? putDigits(d, p, ns, 1) : putDigits(d, putDigits(d, p, top, 1), ns, 9);
    this.lineEnds.push(p - this.base);
    d[p++] = 0x0a;
    this.o = p;
    this.lineStart = p;
  }
}

/** The decimal digits of the integer `n` (0 ≤ n < 2^53) into d[p…], `width` at least (zero-padded): the position after them. */
function putDigits(d: Buffer, p: number, n: number, width: number): number {
  let len = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
  if (len < width) len = width;
  let x = n;
  for (let i = p + len - 1; i >= p; i--) {
    const q = Math.floor(x / 10);
    d[i] = 0x30 + (x - q * 10);
    x = q;
  }
  return p + len;
}

/** `body` cut at the byte offsets in `ends` (each followed by one newline byte). */
export function splitLines(body: Buffer, ends: readonly number[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const end of ends) {
    out.push(body.toString('utf8', at, end));
    at = end + 1;
  }
  return out;
}
