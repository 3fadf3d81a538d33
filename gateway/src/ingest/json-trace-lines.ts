import { jsonPlain, parseOtlpJson } from '../otlp/decode.ts';
import { TraceLineCore, type TraceLineEncoder, type TraceLineOptions } from './trace-lines/encoder-core.ts';
import { HAND_BACK } from './trace-lines/hand-back.ts';
import { BRACKETS, HEX_VALUE, JsonCursor } from './trace-lines/json-cursor.ts';
import { MemberNames, jsonDouble, jsonInt, timeHalves, type TimeHalves } from './trace-lines/json-values.ts';
import type { ScopeName } from './trace-lines/span-lines.ts';
import { VALUE_KINDS } from './trace-lines/span-values.ts';

/**
 * The fused hot path for OTLP/JSON traces (what browsers send) into InfluxDB: JSON bytes straight
 * to line protocol, without JSON.parse's object tree, the span model, `Point`s or `FieldValue`s.
 * It is a second front end to the encoder core the protobuf path drives
 * (trace-lines/encoder-core.ts): this file walks the JSON down to each span with a validating
 * tokenizer (trace-lines/json-cursor.ts) and hands the core the same positions the protobuf
 * reader does, so every mapping, escaping and limit rule is the one the protobuf path applies.
 *
 * It reads a copy of the request: strings with escapes are decoded in place, and hex ids become
 * their bytes in place, where the core reads them as it reads protobuf bytes.
 *
 * What the reference path (otlp/decode.ts decodeJson → limits → map → encode) would answer in a
 * way this reader does not reproduce is handed back (`undefined`), as the protobuf path does: a
 * span it refuses, a limit, malformed JSON, and on purpose some valid but rare shapes (a member
 * twice or under both its names, an escaped member name, an int64 that is not canonical decimal,
 * a double spelled as a string, an AnyValue with two members). gateway/test/json-trace-lines.test.ts
 * holds the two paths to identical lines and errors.
 */

/** A member this reader skips (any value, any number of times), named so that it is found without a scan. */
const IGNORED = 31;
const ROOT = new MemberNames({ resourceSpans: 0, resource_spans: 0 });
const RESOURCE_SPANS = new MemberNames({ resource: 0, scopeSpans: 1, scope_spans: 1 });
const ATTRIBUTES = new MemberNames({ attributes: 0, droppedAttributesCount: IGNORED });
const SCOPE_SPANS = new MemberNames({ scope: 0, spans: 1 });
const SCOPE = new MemberNames({ name: 0, version: 1 });
const S_TRACE = 0;
const S_SPAN = 1;
const S_PARENT = 2;
const S_NAME = 3;
const S_KIND = 4;
const S_START = 5;
const S_END = 6;
const S_STATUS = 7;
const S_ATTRIBUTES = 8;
const SPAN = new MemberNames({
  traceId: S_TRACE,
  trace_id: S_TRACE,
  spanId: S_SPAN,
  span_id: S_SPAN,
  parentSpanId: S_PARENT,
  parent_span_id: S_PARENT,
  name: S_NAME,
  kind: S_KIND,
  startTimeUnixNano: S_START,
  start_time_unix_nano: S_START,
  endTimeUnixNano: S_END,
  end_time_unix_nano: S_END,
  status: S_STATUS,
  attributes: S_ATTRIBUTES,
  // Read past unread, but found by name as fast as the rest: the official serializer writes them on every span.
  droppedAttributesCount: IGNORED,
  events: IGNORED,
  droppedEventsCount: IGNORED,
  links: IGNORED,
  droppedLinksCount: IGNORED,
  flags: IGNORED,
  traceState: IGNORED,
});
const STATUS = new MemberNames({ code: 0 });
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

/** Enum names proto3 JSON allows besides the integers (otlp/decode.ts reads the same). */
const KIND_NAMES = new MemberNames({ SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5 });
const STATUS_NAMES = new MemberNames({ STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 });

const EMPTY = Buffer.alloc(0);
const QUOTE = 0x22;
// The official serializer's layout of a plain attribute (serializerAttribute).
const KV_HEAD = Buffer.from('{"key":"');
const KV_VALUE_HEAD = Buffer.from(',"value":{"');
const STRING_VALUE = Buffer.from('stringValue":"');
const INT_VALUE = Buffer.from('intValue":');
const DOUBLE_VALUE = Buffer.from('doubleValue":');
const BOOL_VALUE = Buffer.from('boolValue":');

/** Whether `bytes` are at buf[p] (before `end`). */
function bytesAt(buf: Buffer, p: number, end: number, bytes: Buffer): boolean {
  const n = bytes.length;
  if (p + n > end) return false;
  for (let j = 0; j < n; j++) if (buf[p + j] !== bytes[j]) return false;
  return true;
}
// Module-local copies: an imported binding is a property read (tsx compiles modules to CommonJS) in loops that run per value.
const { LBRACE, RBRACE, LBRACKET, RBRACKET } = BRACKETS;
const { V_STRING, V_BOOL, V_INT, V_DOUBLE, V_JSON } = VALUE_KINDS;
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
function once(seen: number, id: number): number {
  if ((seen & (1 << id)) !== 0) throw HAND_BACK;
  return seen | (1 << id);
}

/**
 * The JSON front end, or undefined when the mapping needs the reference path for every span.
 *
 * Why one long factory (and a file past 400 lines): its functions are one recursive walk over
 * the request (containers → span → attribute → AnyValue → JSON text of arrays), each calling the
 * next per span and per value, all sharing the cursor, the core's value slots and the limits as
 * closure locals, which V8 inlines and keeps in registers. A class or separate modules would put
 * a property load or an imported binding on each step of the hottest loop; the sections below
 * follow the JSON's levels instead.
 */
export function createJsonTraceLineEncoder(opts: TraceLineOptions): TraceLineEncoder | undefined {
  const core = TraceLineCore.create(opts);
  if (core === undefined) return undefined;
  const { values, lines } = core;
  const { countLimit, valueLengthLimit } = opts.limits;
  const c = new JsonCursor();
  /** The request's copy, reused: decoding writes into it. */
  let work = Buffer.allocUnsafeSlow(64 * 1024);
  const scope: ScopeName = { start: 0, end: 0 };
  const time: TimeHalves = { lo: 0, hi: 0 };
  let attributeCount = 0;

  /** An array of `item`s, or null (none). */
  function each(item: () => void): void {
    if (c.null()) return;
    if (c.open(LBRACKET, RBRACKET)) {
      do item();
      while (c.more(RBRACKET));
    }
  }

  /** An object's members: `member(id)` reads the value of a member `names` knows; the rest are skipped. */
  function members(names: MemberNames, member: (id: number) => void): void {
    if (!c.open(LBRACE, RBRACE)) return;
    let seen = 0;
    do {
      const id = c.member(names);
      if (id === -1 || id === IGNORED) c.skip();
      else {
        seen = once(seen, id);
        member(id);
      }
    } while (c.more(RBRACE));
  }

  /** A string value (null: empty), decoded: where it starts (`c.strEnd` its end). */
  function text(): number {
    if (c.null()) {
      c.strEnd = 0;
      return 0;
    }
    const s = c.string();
    c.decode(s);
    return s;
  }

  function root(): void {
    members(ROOT, () => each(resourceSpans));
    c.done();
  }

  function resourceSpans(): void {
    let resourceRead = false;
    let deferred = -1;
    members(RESOURCE_SPANS, (id) => {
      if (id === 0) {
        resource();
        resourceRead = true;
      } else if (resourceRead) each(scopeSpans);
      else {
        // Spans before their resource: read once the resource is (the reference path has the whole object).
        deferred = c.pos;
        c.skip();
      }
    });
    if (!resourceRead) {
      values.startResource();
      values.endResource();
    }
    if (deferred !== -1) {
      const after = c.pos;
      c.pos = deferred;
      each(scopeSpans);
      c.pos = after;
    }
  }

  function resource(): void {
    values.startResource();
    if (!c.null()) members(ATTRIBUTES, attributes);
    values.endResource();
  }

  function scopeSpans(): void {
    let scopeRead = false;
    let deferred = -1;
    scope.start = 0;
    scope.end = 0;
    members(SCOPE_SPANS, (id) => {
      if (id === 0) {
        if (!c.null()) members(SCOPE, scopeMember);
        scopeRead = true;
      } else if (scopeRead) each(span);
      else {
        deferred = c.pos;
        c.skip();
      }
    });
    if (deferred !== -1) {
      const after = c.pos;
      c.pos = deferred;
      each(span);
      c.pos = after;
    }
  }

  function scopeMember(id: number): void {
    const s = text();
    if (id === 0) {
      scope.start = s;
      scope.end = c.strEnd;
    }
  }

  /** A hex id of `bytes` bytes, made its bytes in place: where they start (-1: none, `c.strEnd` their end). */
  function hexId(bytes: number): number {
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
  function enumValue(names: MemberNames): number {
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
  function timeValue(): void {
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

  // span, attribute and anyValue walk their members inline (no closure per object): they run per span and per value.
  function span(): void {
    values.startSpan();
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
    if (c.open(LBRACE, RBRACE)) {
      let seen = 0;
      do {
        const id = c.member(SPAN);
        if (id === -1 || id === IGNORED) {
          c.skip();
          continue;
        }
        seen = once(seen, id);
        switch (id) {
          case S_TRACE:
            traceAt = hexId(16);
            traceLen = c.strEnd - traceAt;
            break;
          case S_SPAN:
            spanAt = hexId(8);
            spanLen = c.strEnd - spanAt;
            break;
          case S_PARENT:
            parentAt = hexId(8);
            parentLen = c.strEnd - parentAt;
            break;
          case S_NAME:
            nameStart = text();
            nameEnd = c.strEnd;
            break;
          case S_KIND:
            kind = enumValue(KIND_NAMES);
            break;
          case S_START:
            timeValue();
            startLo = time.lo;
            startHi = time.hi;
            break;
          case S_END:
            timeValue();
            endLo = time.lo;
            endHi = time.hi;
            break;
          case S_STATUS:
            statusCode = status();
            break;
          default:
            attributes();
        }
      } while (c.more(RBRACE));
    }
    const f = lines.fields;
    f.traceAt = traceAt;
    f.traceLen = traceLen;
    f.spanAt = spanAt;
    f.spanLen = spanLen;
    f.parentAt = parentAt;
    f.parentLen = parentLen;
    f.nameStart = nameStart;
    f.nameEnd = nameEnd;
    f.kind = kind;
    f.startLo = startLo;
    f.startHi = startHi;
    f.endLo = endLo;
    f.endHi = endHi;
    f.statusCode = statusCode;
    lines.write(scope);
  }

  /** A span's status: its code (null, or no code: 0). */
  function status(): number {
    let code = 0;
    if (!c.null()) {
      members(STATUS, () => {
        code = enumValue(STATUS_NAMES);
      });
    }
    return code;
  }

  function attributes(): void {
    attributeCount = 0;
    each(attribute);
  }

  function attribute(): void {
    if (++attributeCount > countLimit) throw HAND_BACK;
    const i = values.slot();
    let keyStart = 0;
    let keyEnd = 0;
    // Not an object (null included): the reference path's 400.
    if (c.peek() !== LBRACE) throw HAND_BACK;
    const at = c.pos;
    if (serializerAttribute(i)) return;
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
          keyStart = text();
          keyEnd = c.strEnd;
        } else if (!c.null()) anyValue(i);
      } while (c.more(RBRACE));
    }
    values.keyed(keyStart, keyEnd, i);
  }

  /**
   * The attribute at the cursor when it is laid out exactly as the official serializer writes a
   * plain one, `{"key":"k","value":{"stringValue":"v"}}` (or intValue, doubleValue, boolValue),
   * without escapes or whitespace: read in one pass of byte comparisons. False (the cursor
   * anywhere) for any other layout, which `attribute` then reads member by member.
   */
  function serializerAttribute(i: number): boolean {
    const b = c.buf;
    const end = c.end;
    let p = c.pos;
    if (!bytesAt(b, p, end, KV_HEAD)) return false;
    p += KV_HEAD.length;
    const keyStart = p;
    c.pos = p;
    const keyEnd = c.plainRun();
    if (b[keyEnd] !== QUOTE || !bytesAt(b, keyEnd + 1, end, KV_VALUE_HEAD)) return false;
    p = keyEnd + 1 + KV_VALUE_HEAD.length;
    switch (b[p]) {
      case 0x73: {
        if (!bytesAt(b, p, end, STRING_VALUE)) return false;
        const s = p + STRING_VALUE.length;
        c.pos = s;
        const e = c.plainRun();
        if (b[e] !== QUOTE || e - s > valueLengthLimit) return false;
        values.type[i] = V_STRING;
        values.start[i] = s;
        values.end[i] = e;
        p = e + 1;
        break;
      }
      case 0x69:
        if (!bytesAt(b, p, end, INT_VALUE) || b[p + INT_VALUE.length] === QUOTE) return false;
        c.pos = p + INT_VALUE.length;
        values.type[i] = V_INT;
        values.text[i] = intText(19);
        p = c.pos;
        break;
      case 0x64: {
        if (!bytesAt(b, p, end, DOUBLE_VALUE)) return false;
        c.pos = p + DOUBLE_VALUE.length;
        const s = c.number();
        values.type[i] = V_DOUBLE;
        values.num[i] = jsonDouble(b, s, c.numEnd);
        p = c.pos;
        break;
      }
      case 0x62:
        if (!bytesAt(b, p, end, BOOL_VALUE)) return false;
        c.pos = p + BOOL_VALUE.length;
        values.type[i] = V_BOOL;
        values.num[i] = c.boolean() ? 1 : 0;
        p = c.pos;
        break;
      default:
        return false;
    }
    if (p + 2 > end || b[p] !== RBRACE || b[p + 1] !== RBRACE) return false;
    c.pos = p + 2;
    values.keyed(keyStart, keyEnd, i);
    return true;
  }

  /** An AnyValue into value slot `i`; with none of its members set it stays the empty string. */
  function anyValue(i: number): void {
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
      anyMember(id, i);
    } while (c.more(RBRACE));
  }

  function anyMember(id: number, i: number): void {
    switch (id) {
      case A_STRING: {
        const s = text();
        if (c.strEnd - s > valueLengthLimit) throw HAND_BACK;
        values.type[i] = V_STRING;
        values.start[i] = s;
        values.end[i] = c.strEnd;
        return;
      }
      case A_INT:
        values.type[i] = V_INT;
        values.text[i] = intText(19);
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
        const json = id === A_ARRAY ? arrayText() : sliceText(id);
        // The limits would truncate strings inside it: the reference path's job.
        if (json.length > valueLengthLimit) throw HAND_BACK;
        values.type[i] = V_JSON;
        values.text[i] = json;
      }
    }
  }

  /**
   * An int64 as otlp/decode.ts reads it, when its decimal is canonical (what the core writes as
   * is) and an int64: a string of at most `digits` digits, or a JSON number (past 15 digits, the
   * decimal of the double it is, as decodeJson's BigInt makes it).
   */
  function intText(digits: number): string {
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

  /**
   * An arrayValue's JSON text, as jsonPlain → JSON.stringify makes it, for an array of plain
   * scalars (the common case: what the SDKs send for string[] and number[] attributes); anything
   * else takes `sliceText`.
   */
  function arrayText(): string {
    const at = c.pos;
    const fast = plainArray();
    if (fast !== undefined) return fast;
    c.pos = at;
    return sliceText(A_ARRAY);
  }

  function plainArray(): string | undefined {
    if (!c.open(LBRACE, RBRACE)) return '[]';
    const k = c.key();
    if (ARRAY_VALUE.id(c.buf, k, c.strEnd) !== 0 || c.null()) return undefined;
    let out = '[';
    if (c.open(LBRACKET, RBRACKET)) {
      do {
        const v = plainScalar();
        if (v === undefined) return undefined;
        out += out.length === 1 ? v : ',' + v;
      } while (c.more(RBRACKET));
    }
    return c.more(RBRACE) ? undefined : out + ']';
  }

  function plainScalar(): string | undefined {
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
          v = intText(15);
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
  function sliceText(id: number): string {
    const s = c.pos;
    c.skip();
    try {
      return JSON.stringify(jsonPlain({ [ANY_MEMBER[id] as string]: parseOtlpJson(c.buf.subarray(s, c.pos)) }, '$'));
    } catch {
      throw HAND_BACK;
    }
  }

  return {
    encode(body, tenantId) {
      if (work.length < body.length) work = Buffer.allocUnsafeSlow(Math.max(body.length, 2 * work.length));
      work.set(body, 0);
      core.begin(work, tenantId);
      c.reset(work, body.length);
      try {
        root();
      } catch {
        // HAND_BACK, malformed JSON, or anything unforeseen: the reference path answers it.
        core.abandon();
        c.reset(EMPTY, 0);
        return undefined;
      }
      c.reset(EMPTY, 0);
      return core.finish();
    },
  };
}
