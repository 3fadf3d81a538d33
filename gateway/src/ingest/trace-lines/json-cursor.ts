import { isUtf8 } from 'node:buffer';
import { HAND_BACK } from './hand-back.ts';
import type { MemberNames } from './json-values.ts';

/**
 * A validating JSON tokenizer over the bytes of one request, for the OTLP/JSON front end
 * (json-trace-lines.ts): no tokens or strings are made, only positions, and anything JSON.parse
 * would refuse (or that this reader leaves alone: deep nesting, an escaped member name) throws
 * HAND_BACK, so the reference path answers it with its own error.
 *
 * Strings are decoded in place (an escape is never shorter than what it stands for in UTF-8), so
 * the buffer must be the front end's own copy of the request.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
/** For `open` and `more`. */
export const BRACKETS = Object.freeze({ LBRACE, RBRACE, LBRACKET, RBRACKET });
const N = 0x6e;
const T = 0x74;
const F = 0x66;

const WS = new Uint8Array(256);
for (const c of ' \t\n\r') WS[c.charCodeAt(0)] = 1;
/** In a string: 0 plain ASCII, 1 stops the run (quote, backslash, control character), 2 not ASCII. */
const STR = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STR[c] = 1;
STR[QUOTE] = 1;
STR[BACKSLASH] = 1;
for (let c = 0x80; c < 0x100; c++) STR[c] = 2;
const DIGIT = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) DIGIT[c] = 1;
/** Hex digit values, -1 for other bytes. */
export const HEX_VALUE = new Int8Array(256).fill(-1);
for (let c = 0; c < 16; c++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(c)] = c;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(c)] = c;
}
/** The byte after a backslash: its meaning, or 0 (not an escape JSON allows). `u` is 1. */
const ESCAPE = new Uint8Array(256);
for (const [c, v] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09], ['u', 1]] as const) ESCAPE[c.charCodeAt(0)] = v;

/** Nesting past this in skipped values is left to JSON.parse (the reference path). */
const MAX_SKIP_DEPTH = 64;
const EMPTY = Buffer.alloc(0);

export class JsonCursor {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;
  /** The last `string()`: its content ends here (exclusive); `decode` moves it. */
  strEnd = 0;
  /** The last `string()` held a backslash escape. */
  escaped = false;
  /** The last `string()` held a byte past ASCII. */
  wide = false;
  /** The last `number()`: its text ends here; `integer` when it has no fraction or exponent. */
  numEnd = 0;
  integer = false;

  reset(buf: Buffer, end: number): void {
    this.buf = buf;
    this.pos = 0;
    this.end = end;
  }

  /** Skips whitespace: the next byte, or -1 at the end. */
  peek(): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    while (p < end && WS[b[p] as number] === 1) p++;
    this.pos = p;
    return p < end ? (b[p] as number) : -1;
  }

  eat(c: number): void {
    if (this.peek() !== c) throw HAND_BACK;
    this.pos++;
  }

  /** `{` or `[` (`open`): false when the object or array is empty (its end is consumed too). */
  open(open: number, close: number): boolean {
    this.eat(open);
    if (this.peek() !== close) return true;
    this.pos++;
    return false;
  }

  /** After a member or element: true when `,` follows, false at `close` (consumed). */
  more(close: number): boolean {
    const c = this.peek();
    this.pos++;
    if (c === COMMA) return true;
    if (c === close) return false;
    throw HAND_BACK;
  }

  /** A member name and its colon: where the name starts (`strEnd` its end). Escaped names are handed back. */
  key(): number {
    const s = this.string();
    if (this.escaped) throw HAND_BACK;
    this.eat(COLON);
    return s;
  }

  /** A member name and its colon: its id in `names`, or -1 for a name it does not hold. */
  member(names: MemberNames): number {
    if (this.peek() === QUOTE) {
      const id = names.at(this.buf, this.pos, this.end);
      if (id !== -1) {
        this.pos = names.end;
        this.eat(COLON);
        return id;
      }
    }
    const s = this.key();
    return names.id(this.buf, s, this.strEnd);
  }

  /** `null`, consumed; false (nothing consumed) for any other value. */
  null(): boolean {
    if (this.peek() !== N) return false;
    this.literal('null');
    return true;
  }

  /** The string at the cursor, validated, not decoded: where its content starts (`strEnd`, `escaped`, `wide`). */
  string(): number {
    if (this.peek() !== QUOTE) throw HAND_BACK;
    const b = this.buf;
    const end = this.end;
    const start = this.pos + 1;
    let p = start;
    let escaped = false;
    let wide = false;
    for (;;) {
      if (p >= end) throw HAND_BACK;
      const c = b[p] as number;
      const k = STR[c];
      if (k === 0) {
        p++;
      } else if (k === 2) {
        wide = true;
        p++;
      } else if (c === QUOTE) {
        break;
      } else if (c === BACKSLASH) {
        escaped = true;
        const e = ESCAPE[b[p + 1] ?? 0] as number;
        if (e === 0) throw HAND_BACK;
        if (e === 1) {
          if (p + 6 > end || (HEX_VALUE[b[p + 2] as number] as number) < 0 || (HEX_VALUE[b[p + 3] as number] as number) < 0 || (HEX_VALUE[b[p + 4] as number] as number) < 0 || (HEX_VALUE[b[p + 5] as number] as number) < 0) throw HAND_BACK;
          p += 6;
        } else p += 2;
      } else throw HAND_BACK; // a control character: JSON.parse refuses it
    }
    this.pos = p + 1;
    this.strEnd = p;
    this.escaped = escaped;
    this.wide = wide;
    return start;
  }

  /**
   * Decodes the last string's escapes in place (`strEnd` moves to the decoded end), as JSON.parse
   * and the reference path's reviver would: a lone surrogate becomes U+FFFD. Invalid UTF-8 beside
   * escapes is handed back (its U+FFFD would be decided around bytes this moved).
   */
  decode(start: number): void {
    if (!this.escaped) return;
    const b = this.buf;
    const end = this.strEnd;
    if (this.wide && !isUtf8(b.subarray(start, end))) throw HAND_BACK;
    let r = start;
    let w = start;
    while (r < end) {
      const c = b[r] as number;
      if (c !== BACKSLASH) {
        b[w++] = c;
        r++;
        continue;
      }
      const e = ESCAPE[b[r + 1] as number] as number;
      if (e !== 1) {
        b[w++] = e;
        r += 2;
        continue;
      }
      let u = hex4(b, r + 2);
      r += 6;
      if (u >= 0xd800 && u <= 0xdfff) {
        if (u <= 0xdbff && r + 6 <= end && b[r] === BACKSLASH && b[r + 1] === 0x75) {
          const lo = hex4(b, r + 2);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            r += 6;
          } else u = 0xfffd;
        } else u = 0xfffd;
      }
      w = putUtf8(b, w, u);
    }
    this.strEnd = w;
  }

  /**
   * From the cursor (inside a string), past the bytes that need no decoding: where the run stops.
   * At a closing quote the string was plain (the cursor is left on the quote).
   */
  plainRun(): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    while (p < end && STR[b[p] as number] !== 1) p++;
    this.pos = p;
    return p;
  }

  /** The number at the cursor, validated (JSON's grammar): where it starts (`numEnd`, `integer`). */
  number(): number {
    this.peek();
    const b = this.buf;
    const end = this.end;
    const start = this.pos;
    let p = start;
    if (p < end && b[p] === MINUS) p++;
    if (p < end && b[p] === ZERO) p++;
    else {
      if (p >= end || DIGIT[b[p] as number] !== 1) throw HAND_BACK;
      while (p < end && DIGIT[b[p] as number] === 1) p++;
    }
    let integer = true;
    if (p < end && b[p] === DOT) {
      integer = false;
      p++;
      if (p >= end || DIGIT[b[p] as number] !== 1) throw HAND_BACK;
      while (p < end && DIGIT[b[p] as number] === 1) p++;
    }
    if (p < end && (b[p] === 0x65 || b[p] === 0x45)) {
      integer = false;
      p++;
      if (p < end && (b[p] === 0x2b || b[p] === MINUS)) p++;
      if (p >= end || DIGIT[b[p] as number] !== 1) throw HAND_BACK;
      while (p < end && DIGIT[b[p] as number] === 1) p++;
    }
    this.pos = p;
    this.numEnd = p;
    this.integer = integer;
    return start;
  }

  /** `true` or `false` at the cursor. */
  boolean(): boolean {
    const c = this.peek();
    if (c === T) {
      this.literal('true');
      return true;
    }
    if (c === F) {
      this.literal('false');
      return false;
    }
    throw HAND_BACK;
  }

  private literal(word: string): void {
    const b = this.buf;
    const p = this.pos;
    if (p + word.length > this.end) throw HAND_BACK;
    for (let i = 0; i < word.length; i++) if (b[p + i] !== word.charCodeAt(i)) throw HAND_BACK;
    this.pos = p + word.length;
  }

  /** Skips any value, validating it as JSON.parse would. */
  skip(depth = 0): void {
    const c = this.peek();
    if (c === QUOTE) this.string();
    else if (c === LBRACE) {
      if (depth >= MAX_SKIP_DEPTH) throw HAND_BACK;
      if (this.open(LBRACE, RBRACE)) {
        do {
          this.string();
          this.eat(COLON);
          this.skip(depth + 1);
        } while (this.more(RBRACE));
      }
    } else if (c === LBRACKET) {
      if (depth >= MAX_SKIP_DEPTH) throw HAND_BACK;
      if (this.open(LBRACKET, RBRACKET)) {
        do this.skip(depth + 1);
        while (this.more(RBRACKET));
      }
    } else if (c === T) this.literal('true');
    else if (c === F) this.literal('false');
    else if (c === N) this.literal('null');
    else this.number();
  }

  /** After the root value: only whitespace may follow. */
  done(): void {
    if (this.peek() !== -1) throw HAND_BACK;
  }
}

function hex4(b: Buffer, at: number): number {
  return ((HEX_VALUE[b[at] as number] as number) << 12) | ((HEX_VALUE[b[at + 1] as number] as number) << 8) | ((HEX_VALUE[b[at + 2] as number] as number) << 4) | (HEX_VALUE[b[at + 3] as number] as number);
}

/** Code point `u` as UTF-8 at `w`: the position after it. */
function putUtf8(b: Buffer, w: number, u: number): number {
  if (u < 0x80) b[w++] = u;
  else if (u < 0x800) {
    b[w++] = 0xc0 | (u >> 6);
    b[w++] = 0x80 | (u & 0x3f);
  } else if (u < 0x10000) {
    b[w++] = 0xe0 | (u >> 12);
    b[w++] = 0x80 | ((u >> 6) & 0x3f);
    b[w++] = 0x80 | (u & 0x3f);
  } else {
    b[w++] = 0xf0 | (u >> 18);
    b[w++] = 0x80 | ((u >> 12) & 0x3f);
    b[w++] = 0x80 | ((u >> 6) & 0x3f);
    b[w++] = 0x80 | (u & 0x3f);
  }
  return w;
}
