import { jsonPlain, parseOtlpJson } from '../../otlp/decode.ts';
import { HAND_BACK } from './hand-back.ts';
import { BRACKETS, type JsonCursor } from './json-cursor.ts';
import { readIntText, readText, once } from './json-scalars.ts';
import { MemberNames, jsonDouble } from './json-values.ts';
import { VALUE_KINDS, type SpanValues } from './span-values.ts';
import type { AttributeKeys, Canon } from './attribute-keys.ts';

/**
 * The JSON front end's reading of an attribute list (KeyValue → AnyValue) into the core's value
 * slots (span-values.ts), as otlp/decode.ts decodeJson reads it, or HAND_BACK where its answer
 * would differ (a limit, two AnyValue members, a value it refuses).
 */

const KEY_VALUE = new MemberNames({ key: 0, value: 1 });
const A_STRING = 0;
const A_INT = 1;
const A_DOUBLE = 2;
const A_BOOL = 3;
const A_ARRAY = 4;
const A_KVLIST = 5;
const A_BYTES = 6;
const ANY_VALUE = new MemberNames({ stringValue: A_STRING, intValue: A_INT, doubleValue: A_DOUBLE, boolValue: A_BOOL, arrayValue: A_ARRAY, kvlistValue: A_KVLIST, bytesValue: A_BYTES });
const ARRAY_VALUE = new MemberNames({ values: 0 });
const ANY_MEMBER = ['stringValue', 'intValue', 'doubleValue', 'boolValue', 'arrayValue', 'kvlistValue', 'bytesValue'] as const;

const QUOTE = 0x22;
// The official serializer's layout of a plain attribute (serializerAttribute).
const KV_HEAD = Buffer.from('{"key":"');
const KV_VALUE_HEAD = Buffer.from(',"value":{"');
const STRING_VALUE = Buffer.from('stringValue":"');
const INT_VALUE = Buffer.from('intValue":');
const DOUBLE_VALUE = Buffer.from('doubleValue":');
const BOOL_VALUE = Buffer.from('boolValue":');

// Module-local copies: an imported binding is a property read (tsx compiles modules to CommonJS) in loops that run per value.
const { LBRACE, RBRACE, LBRACKET, RBRACKET } = BRACKETS;
const { V_STRING, V_BOOL, V_INT, V_DOUBLE, V_JSON } = VALUE_KINDS;

/** Whether `bytes` are at buf[p] (before `end`). */
function bytesAt(buf: Buffer, p: number, end: number, bytes: Buffer): boolean {
  const n = bytes.length;
  if (p + n > end) return false;
  for (let j = 0; j < n; j++) if (buf[p + j] !== bytes[j]) return false;
  return true;
}

/** Guesses kept per position in an attribute list. */
const WAYS = 4;

/** An attribute as the serializer laid it out last time at its position in a list (`serializerAttribute`). */
interface Guess {
  /** The key's bytes, then `","value":{"` and the value's member name up to the value. */
  readonly bytes: Buffer;
  readonly keyLength: number;
  /** The member name's first byte: s(tringValue), i(ntValue), d(oubleValue), b(oolValue). */
  readonly kind: number;
  readonly canon: Canon;
}

export class JsonAttributes {
  /** Attributes read in the current list: past the count limit the reference path truncates. */
  private count = 0;
  /** Where the current list's guesses start in `guesses`: spans' lists and resources' lists have their own. */
  private guessBase = 0;
  /** WAYS guesses per position (kinds of span differ in their attributes), filled in turn. */
  private readonly guesses: Array<Guess | undefined>;
  /** Per position: the way the next new guess takes. */
  private readonly victim: Uint8Array;

  constructor(
    private readonly c: JsonCursor,
    private readonly values: SpanValues,
    private readonly keys: AttributeKeys,
    private readonly countLimit: number,
    private readonly valueLengthLimit: number,
  ) {
    this.guesses = new Array<Guess | undefined>(2 * countLimit * WAYS).fill(undefined);
    this.victim = new Uint8Array(2 * countLimit);
  }

  /** An attribute list (null: none) into the value slots; `resource` for a resource's attributes. */
  list(resource: boolean): void {
    const c = this.c;
    this.count = 0;
    this.guessBase = resource ? this.countLimit : 0;
    if (c.null()) return;
    if (c.open(LBRACKET, RBRACKET)) {
      do this.attribute();
      while (c.more(RBRACKET));
    }
  }

  private attribute(): void {
    const c = this.c;
    const values = this.values;
    if (++this.count > this.countLimit) throw HAND_BACK;
    const i = values.slot();
    let keyStart = 0;
    let keyEnd = 0;
    // Not an object (null included): the reference path's 400.
    if (c.peek() !== LBRACE) throw HAND_BACK;
    const at = c.pos;
    if (this.serializerAttribute(i, this.guessBase + this.count - 1)) return;
    c.pos = at;
    values.type[i] = V_STRING;
    values.start[i] = 0;
    values.end[i] = 0;
    if (c.open(LBRACE, RBRACE)) {
      let seen = 0;
      do {
        const id = c.member(KEY_VALUE);
        if (id === -1) {
          c.skip();
          continue;
        }
        seen = once(seen, id);
        if (id === 0) {
          keyStart = readText(c);
          keyEnd = c.strEnd;
        } else if (!c.null()) this.anyValue(i);
      } while (c.more(RBRACE));
    }
    values.keyed(keyStart, keyEnd, i);
  }

  /**
   * The attribute at the cursor when it is laid out exactly as the official serializer writes a
   * plain one, `{"key":"k","value":{"stringValue":"v"}}` (or intValue, doubleValue, boolValue),
   * without escapes or whitespace: read in one pass of byte comparisons. False (the cursor
   * anywhere) for any other layout, which `attribute` then reads member by member.
   *
   * The guess (`Guess`): spans of one request, and of one client, carry their attributes in the
   * same order with the same value kinds, so the key, the bytes up to its value and its Canon are
   * remembered per position in the list (`g`). When the same bytes are there again, one comparison
   * replaces the key's scan, its hash and table lookup, and the value's header.
   */
  private serializerAttribute(i: number, g: number): boolean {
    const c = this.c;
    const values = this.values;
    const b = c.buf;
    const end = c.end;
    let p = c.pos;
    if (!bytesAt(b, p, end, KV_HEAD)) return false;
    p += KV_HEAD.length;
    const keyStart = p;
    let keyEnd: number;
    let kind: number;
    let canon: Canon | undefined;
    const guesses = this.guesses;
    let guess: Guess | undefined;
    for (let w = g * WAYS; w < g * WAYS + WAYS; w++) {
      const x = guesses[w];
      if (x === undefined) break;
      if (bytesAt(b, p, end, x.bytes)) {
        guess = x;
        break;
      }
    }
    if (guess !== undefined) {
      keyEnd = p + guess.keyLength;
      p += guess.bytes.length;
      kind = guess.kind;
      canon = guess.canon;
    } else {
      c.pos = p;
      keyEnd = c.plainRun();
      if (b[keyEnd] !== QUOTE || !bytesAt(b, keyEnd + 1, end, KV_VALUE_HEAD)) return false;
      p = keyEnd + 1 + KV_VALUE_HEAD.length;
      kind = b[p] as number;
      const head = kind === 0x73 ? STRING_VALUE : kind === 0x69 ? INT_VALUE : kind === 0x64 ? DOUBLE_VALUE : kind === 0x62 ? BOOL_VALUE : undefined;
      if (head === undefined || !bytesAt(b, p, end, head)) return false;
      p += head.length;
    }
    const valueAt = p;
    switch (kind) {
      case 0x73: {
        c.pos = p;
        const e = c.plainRun();
        if (b[e] !== QUOTE || e - p > this.valueLengthLimit) return false;
        values.type[i] = V_STRING;
        values.start[i] = p;
        values.end[i] = e;
        p = e + 1;
        break;
      }
      case 0x69:
        if (b[p] === QUOTE) return false;
        c.pos = p;
        values.type[i] = V_INT;
        values.text[i] = readIntText(c, 19);
        p = c.pos;
        break;
      case 0x64: {
        c.pos = p;
        const s = c.number();
        values.type[i] = V_DOUBLE;
        values.num[i] = jsonDouble(b, s, c.numEnd);
        p = c.pos;
        break;
      }
      default:
        c.pos = p;
        values.type[i] = V_BOOL;
        values.num[i] = c.boolean() ? 1 : 0;
        p = c.pos;
    }
    if (p + 2 > end || b[p] !== RBRACE || b[p + 1] !== RBRACE) return false;
    c.pos = p + 2;
    if (canon !== undefined) {
      values.keyedAs(canon, i);
      return true;
    }
    canon = values.keyed(keyStart, keyEnd, i);
    // Only a Canon the key table keeps: one made for this request alone must not outlive it.
    if (this.keys.lastKept) {
      const way = this.victim[g] as number;
      this.victim[g] = (way + 1) % WAYS;
      guesses[g * WAYS + way] = { bytes: Buffer.from(b.subarray(keyStart, valueAt)), keyLength: keyEnd - keyStart, kind, canon };
    }
    return true;
  }

  /** An AnyValue into value slot `i`; with none of its members set it stays the empty string. */
  private anyValue(i: number): void {
    const c = this.c;
    if (!c.open(LBRACE, RBRACE)) return;
    let set = false;
    do {
      const id = c.member(ANY_VALUE);
      if (id === -1) {
        c.skip();
        continue;
      }
      // decodeJson takes the first of its list, not the last in the text: two are the reference path's.
      if (set) throw HAND_BACK;
      set = true;
      this.anyMember(id, i);
    } while (c.more(RBRACE));
  }

  private anyMember(id: number, i: number): void {
    const c = this.c;
    const values = this.values;
    switch (id) {
      case A_STRING: {
        const s = readText(c);
        if (c.strEnd - s > this.valueLengthLimit) throw HAND_BACK;
        values.type[i] = V_STRING;
        values.start[i] = s;
        values.end[i] = c.strEnd;
        return;
      }
      case A_INT:
        values.type[i] = V_INT;
        values.text[i] = readIntText(c, 19);
        return;
      case A_DOUBLE: {
        const s = c.number();
        values.type[i] = V_DOUBLE;
        values.num[i] = jsonDouble(c.buf, s, c.numEnd);
        return;
      }
      case A_BOOL:
        values.type[i] = V_BOOL;
        values.num[i] = c.boolean() ? 1 : 0;
        return;
      default: {
        const json = id === A_ARRAY ? this.arrayText() : this.sliceText(id);
        // The limits would truncate strings inside it: the reference path's job.
        if (json.length > this.valueLengthLimit) throw HAND_BACK;
        values.type[i] = V_JSON;
        values.text[i] = json;
      }
    }
  }

  /**
   * An arrayValue's JSON text, as jsonPlain → JSON.stringify makes it, for an array of plain
   * scalars (the common case: what the SDKs send for string[] and number[] attributes); anything
   * else takes `sliceText`.
   */
  private arrayText(): string {
    const at = this.c.pos;
    const fast = this.plainArray();
    if (fast !== undefined) return fast;
    this.c.pos = at;
    return this.sliceText(A_ARRAY);
  }

  private plainArray(): string | undefined {
    const c = this.c;
    if (!c.open(LBRACE, RBRACE)) return '[]';
    const k = c.key();
    if (ARRAY_VALUE.id(c.buf, k, c.strEnd) !== 0 || c.null()) return undefined;
    let out = '[';
    if (c.open(LBRACKET, RBRACKET)) {
      do {
        const v = this.plainScalar();
        if (v === undefined) return undefined;
        out += out.length === 1 ? v : ',' + v;
      } while (c.more(RBRACKET));
    }
    return c.more(RBRACE) ? undefined : out + ']';
  }

  private plainScalar(): string | undefined {
    const c = this.c;
    if (c.peek() !== LBRACE) return undefined;
    if (!c.open(LBRACE, RBRACE)) return 'null';
    const k = c.key();
    let v: string;
    switch (ANY_VALUE.id(c.buf, k, c.strEnd)) {
      case A_STRING: {
        if (c.peek() !== QUOTE) return undefined;
        const s = c.string();
        if (c.escaped) return undefined;
        v = '"' + c.buf.toString('utf8', s, c.strEnd) + '"';
        break;
      }
      case A_INT:
        // jsonPlain makes a safe integer a number: 15 digits always are.
        try {
          v = readIntText(c, 15);
        } catch {
          return undefined; // past 15 digits jsonPlain keeps the decimal as a string: sliceText
        }
        break;
      case A_DOUBLE: {
        if (c.peek() === QUOTE) return undefined;
        const s = c.number();
        const x = jsonDouble(c.buf, s, c.numEnd);
        v = Number.isFinite(x) ? String(x) : 'null';
        break;
      }
      case A_BOOL:
        v = c.boolean() ? 'true' : 'false';
        break;
      default:
        return undefined;
    }
    return c.more(RBRACE) ? undefined : v;
  }

  /**
   * The value of AnyValue member `id` at the cursor, as JSON text made by the reference path's own
   * functions (parseOtlpJson, jsonPlain) on its bytes alone: exact by construction, for the shapes
   * the fast reading leaves (kvlists, nesting, escapes, bytes). It throws what the reference path
   * would refuse back as HAND_BACK.
   */
  private sliceText(id: number): string {
    const c = this.c;
    const s = c.pos;
    c.skip();
    try {
      return JSON.stringify(jsonPlain({ [ANY_MEMBER[id] as string]: parseOtlpJson(c.buf.subarray(s, c.pos)) }, '$'));
    } catch {
      throw HAND_BACK;
    }
  }
}
