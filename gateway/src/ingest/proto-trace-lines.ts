import { isUtf8 } from 'node:buffer';
import { escapeFieldKey, escapeKey, escapeMeasurement, escapeStringValue, MAX_SERIES_KEY_BYTES, type FieldType } from '../influx/line-protocol.ts';
import { nanosDecimal, type SlotScope, type TimestampSlots } from '../influx/point-identity.ts';
import type { FieldTypeRegistry } from '../mapping/field-types.ts';
import { asInteger, DROPPED, SPANS_RESERVED } from '../mapping/map-spans.ts';
import type { MappingRules } from '../mapping/rules.ts';
import type { AttributeLimits } from '../otlp/limits.ts';
import { MAX_TIMESTAMP_NS, SPAN_KIND_NAMES, type AttrValue } from '../otlp/model.ts';
import { readJsonMember, Reader } from '../otlp/proto-traces.ts';

/**
 * The fused hot path for OTLP/protobuf traces into InfluxDB: protobuf bytes straight to line
 * protocol, without the span model, `Point`s or `FieldValue`s in between (the profile of the
 * reference path was GC, per-value escaping and string building: issue 6).
 *
 * It handles the common request exactly as the reference path (decode → limit → map → encode)
 * would, byte for byte, and hands anything else back (`undefined`): a span the reference path
 * would refuse, an attribute over a limit, arrays and maps, a reserved attribute name, malformed
 * protobuf. The reference path then decodes the request again and answers it, so every rule
 * (partial success, limits, error messages) lives in one place. test/fused-trace-lines.test.ts
 * holds the two paths to identical lines on fixtures, edge cases and fuzzed bodies.
 *
 * How it stays cheap:
 * - attribute keys are looked up by their bytes in a table built once per key, which also holds
 *   the canonical key, its role in the mapping and its escaped, type-resolved field key;
 * - values are copied from the request into the output buffer, escaped on the way; only a value
 *   that needs the full escaping rules (or is not plain ASCII and valid UTF-8) becomes a string;
 * - ids are written as hex from their bytes, timestamps converted without BigInt.
 */
export interface FusedTraceLines {
  readonly spans: number;
  /** The lines joined by newlines (no trailing one), UTF-8: what a write body holds. */
  readonly body: Buffer;
  readonly count: number;
  /** The lines one by one, for the spool (it frames each line). */
  lines(): string[];
}

export interface ProtoTraceLineEncoder {
  /** The request's lines with their timestamps assigned, or undefined: use the reference path. */
  encode(body: Buffer, tenantId: string): FusedTraceLines | undefined;
}

export interface ProtoTraceLineOptions {
  readonly rules: MappingRules;
  readonly fieldTypes: FieldTypeRegistry;
  readonly slots: TimestampSlots;
  readonly instanceName: string;
  readonly limits: AttributeLimits;
}

// Protobuf wire types. Module-local on purpose: an imported binding is a getter call once the
// loader turns modules into CommonJS (tsx does), and the switch cases below run per field.
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const MAX_SERIES_BYTES = MAX_SERIES_KEY_BYTES;

/** Thrown inside the encoder to hand a request back; preallocated, so bailing captures no stack. */
const BAIL = new Error('fused trace encoder: use the reference path');

// What an attribute key does in the mapping (map-spans.ts `scan`).
const R_PLAIN = 0;
const R_DROP = 1;
const R_SESSION = 2;
const R_SERVICE = 3;
const R_VIEW = 4;
const R_ACTION = 5;
const R_ELEMENT = 6;
const R_ROUTE = 7;
const R_METHOD = 8;
const R_METHOD_OLD = 9;
const R_STATUS = 10;
const R_STATUS_OLD = 11;
/** A name `spans` writes itself: the reference path renames it (`attr_…`) per span. */
const R_RESERVED = 12;
/**
 * `blocked_ms`/`long_tasks`: the web SDK's long-task charge, extra `frontend_performance` fields.
 * Rare (a span that blocked the main thread), so the reference path writes those requests.
 */
const R_BLOCKING = 13;

const ROLES: ReadonlyMap<string, number> = new Map(Object.entries({
  session_id: R_SESSION,
  'service.name': R_SERVICE,
  view_name: R_VIEW,
  action_name: R_ACTION,
  element_count: R_ELEMENT,
  'http.route': R_ROUTE,
  'http.request.method': R_METHOD,
  'http.method': R_METHOD_OLD,
  'http.response.status_code': R_STATUS,
  'http.status_code': R_STATUS_OLD,
  blocked_ms: R_BLOCKING,
  long_tasks: R_BLOCKING,
}));

// AnyValue kinds, as the model's AttrValue types.
const V_STRING = 0;
const V_BOOL = 1;
const V_INT = 2;
const V_DOUBLE = 3;
/** Arrays, kvlists and bytes: JSON text (in vText), like the reference decoder makes them. */
const V_JSON = 4;

const FIELD_TYPES: readonly FieldType[] = ['string', 'boolean', 'float', 'float', 'string'];

/** One canonical attribute key (after aliases), shared by every spelling that maps to it. */
interface Canon {
  readonly key: string;
  readonly role: number;
  /** The span (stamp) whose `rest` list holds this key, and where. */
  stamp: number;
  restIndex: number;
  /** `spans` field keys resolved and escaped, per value kind, valid while the registry's version holds. */
  readonly fieldKeys: Array<Buffer | undefined>;
  fieldVersion: number;
}

/** A key as it arrived (bytes), for the byte-keyed table. */
interface KeyEntry {
  readonly bytes: Buffer;
  readonly canon: Canon;
}

const KEY_TABLE_SIZE = 4096;
const MAX_CACHED_KEYS = 2048;

const SPECIAL = new Uint8Array(256);
// Bytes that send a tag value to escapeKey (its fast test, KEY_SPECIALS).
for (const c of ',= \n\r\t\\"') SPECIAL[c.charCodeAt(0)] = 1;

const HEX = Buffer.from('0123456789abcdef');
const MAX_TS_HI = Number(MAX_TIMESTAMP_NS >> 32n);
const MAX_TS_LO = Number(MAX_TIMESTAMP_NS & 0xffffffffn);

/** The fused encoder, or undefined when the mapping needs the reference path for every span. */
export function createProtoTraceLineEncoder(opts: ProtoTraceLineOptions): ProtoTraceLineEncoder | undefined {
  const { rules, fieldTypes, slots, limits } = opts;
  // MAPPING_FILE extra tags change each line's tag set per span: the reference path does that.
  if (rules.frontend.extraTags.length + rules.backend.extraTags.length + rules.spans.extraTags.length > 0) return undefined;
  const aliases = new Map(Object.entries(rules.aliases));
  const spansName = rules.spans.name;

  const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
  const frontendPrefix = utf8(escapeMeasurement(rules.frontend.name));
  const backendPrefix = utf8(escapeMeasurement(rules.backend.name));
  const spansPrefix = utf8(escapeMeasurement(rules.spans.name));
  const instanceValue = utf8('"' + escapeStringValue(opts.instanceName) + '"');
  const kindTags = SPAN_KIND_NAMES.map((k) => utf8(`,span_kind=${k}`));
  const kindUnspecified = kindTags[0] as Buffer;
  const K = {
    actionName: utf8(',action_name='),
    serviceName: utf8(',service_name='),
    sessionId: utf8(',session_id='),
    viewName: utf8(',view_name='),
    endpoint: utf8(',endpoint='),
    httpMethod: utf8(',http_method='),
    statusCode: utf8(',status_code='),
    durationMs: utf8(' duration_ms='),
    elementCount: utf8(',element_count='),
    latencyMs: utf8(' latency_ms='),
    traceIdFirst: utf8(' trace_id="'),
    traceId: utf8(',trace_id="'),
    spanId: utf8('",span_id="'),
    parentSpanId: utf8('",parent_span_id="'),
    name: utf8('",name='),
    durationNs: utf8(',duration_ns='),
    statusCodeField: utf8('i,status_code='),
    sessionField: utf8('i,session_id='),
    scopeName: utf8(',scope_name='),
    instance: utf8(',gateway_instance='),
  };

  // ---------------------------------------------------------------- attribute keys

  const canons = new Map<string, Canon>();
  /**
   * Keys past MAX_CACHED_KEYS, for the current request only: two spellings of one key, or one key
   * in the resource and the span, must still be one Canon, or their fields would not collapse.
   */
  const overflow = new Map<string, Canon>();
  const keyTable: Array<KeyEntry | undefined> = new Array(KEY_TABLE_SIZE).fill(undefined);
  let cachedKeys = 0;

  function canonFor(raw: string): Canon {
    const key = aliases.get(raw) ?? raw;
    let c = canons.get(key) ?? overflow.get(key);
    if (c !== undefined) return c;
    let role = ROLES.get(key) ?? R_PLAIN;
    if (DROPPED.has(key)) role = R_DROP;
    else if (role === R_PLAIN && SPANS_RESERVED.has(key)) role = R_RESERVED;
    c = { key, role, stamp: 0, restIndex: 0, fieldKeys: [undefined, undefined, undefined, undefined, undefined], fieldVersion: -1 };
    // Bounded: past it, a key is found (and costs) like the reference path's, for one request.
    (canons.size < MAX_CACHED_KEYS ? canons : overflow).set(key, c);
    return c;
  }

  /** The key in buf[start, end), found by its bytes: most requests repeat a few dozen keys. */
  function keyAt(buf: Buffer, start: number, end: number): Canon {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const len = end - start;
    let slot = (h >>> 0) & (KEY_TABLE_SIZE - 1);
    for (let probe = 0; probe < 8; probe++) {
      const e = keyTable[slot];
      if (e === undefined) {
        const canon = canonFor(buf.toString('utf8', start, end));
        // A key that only got a per-request Canon must not outlive the request here.
        if (cachedKeys < MAX_CACHED_KEYS && canons.get(canon.key) === canon) {
          keyTable[slot] = { bytes: Buffer.from(buf.subarray(start, end)), canon };
          cachedKeys++;
        }
        return canon;
      }
      const b = e.bytes;
      if (b.length === len) {
        let same = true;
        for (let i = 0; i < len; i++) {
          if (b[i] !== buf[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return e.canon;
      }
      slot = (slot + 1) & (KEY_TABLE_SIZE - 1);
    }
    return canonFor(buf.toString('utf8', start, end));
  }

  /**
   * `,key=` for a value of kind `v` in `spans`: the field key resolved (registry rule 3) and
   * escaped; an empty buffer when the key escapes to nothing (skip the field).
   */
  function fieldKeyFor(c: Canon, v: number, conflicts: Array<[string, FieldType]>): Buffer {
    const version = fieldTypes.version;
    if (c.fieldVersion === version) {
      const cached = c.fieldKeys[v];
      if (cached !== undefined) return cached;
    } else {
      c.fieldKeys.fill(undefined);
      c.fieldVersion = version;
    }
    const type = FIELD_TYPES[v] as FieldType;
    const r = fieldTypes.resolveQuietly(spansName, c.key, type);
    const escaped = escapeFieldKey(r.key);
    const bytes = escaped === '' ? Buffer.alloc(0) : utf8(`,${escaped}=`);
    if (r.conflict) conflicts.push([c.key, type]);
    // Cached only while resolving again would give the same key without a conflict to count.
    else if (fieldTypes.holds(spansName, c.key, type)) {
      c.fieldKeys[v] = bytes;
      c.fieldVersion = fieldTypes.version;
    }
    return bytes;
  }

  // ---------------------------------------------------------------- values of the current span

  /** Resource values first (kept for the whole ResourceSpans), then the span's own. */
  const MAX_VALUES = 2 * limits.countLimit + 2;
  const vType = new Uint8Array(MAX_VALUES);
  const vStart = new Int32Array(MAX_VALUES);
  const vEnd = new Int32Array(MAX_VALUES);
  const vNum = new Float64Array(MAX_VALUES);
  const vText: string[] = new Array<string>(MAX_VALUES).fill('');
  let nValues = 0;

  /** Attributes that become `spans` fields, in first-seen order (a Map's), each with its last value. */
  const restKeys: Canon[] = [];
  const restVal = new Int32Array(MAX_VALUES);
  let restLen = 0;
  let stamp = 0;

  // Known attributes (map-spans.ts `Known`): value indexes, -1 for none.
  let kSession = -1;
  let kService = -1;
  let kView = -1;
  let kAction = -1;
  let kElement = -1;
  let kRoute = -1;
  let kMethod = -1;
  let kStatus = -1;

  // The resource's share of the above, restored for every span of its ResourceSpans.
  let resValues = 0;
  const resKnown = new Int32Array(8);
  const resRestKeys: Canon[] = [];
  const resRestVal = new Int32Array(MAX_VALUES);
  let resRestLen = 0;

  let src: Buffer = Buffer.alloc(0);

  function emptyText(i: number): boolean {
    return i === -1 || (vType[i] === V_STRING && vStart[i] === vEnd[i]);
  }

  /** `asText` of a value that is not a string (strings are copied as bytes). */
  function otherText(i: number): string {
    switch (vType[i]) {
      case V_BOOL:
        return vNum[i] === 1 ? 'true' : 'false';
      case V_INT:
      case V_JSON:
        return vText[i] as string;
      default:
        return String(vNum[i]);
    }
  }

  /** Reads an AnyValue in [r.pos, end) into value slot `i`; the last member of the oneof wins. */
  function readValue(r: Reader, end: number, i: number): void {
    const outer = r.end;
    r.end = end;
    vType[i] = V_STRING;
    vStart[i] = 0;
    vEnd[i] = 0;
    while (r.pos < end) {
      const tag = r.uint32();
      switch (tag) {
        case (1 << 3) | WIRE_LEN: {
          const s = r.span();
          if (r.pos - s > limits.valueLengthLimit) throw BAIL;
          vType[i] = V_STRING;
          vStart[i] = s;
          vEnd[i] = r.pos;
          break;
        }
        case (2 << 3) | WIRE_VARINT:
          vType[i] = V_BOOL;
          vNum[i] = r.uint32() !== 0 ? 1 : 0;
          break;
        case (3 << 3) | WIRE_VARINT:
          vType[i] = V_INT;
          vText[i] = r.int64Decimal();
          break;
        case (4 << 3) | WIRE_I64:
          vType[i] = V_DOUBLE;
          vNum[i] = r.double();
          break;
        case (5 << 3) | WIRE_LEN:
        case (6 << 3) | WIRE_LEN:
        case (7 << 3) | WIRE_LEN: {
          const json = readJsonMember(r, tag >>> 3);
          // The limits would truncate strings inside it: the reference path's job.
          if (json.length > limits.valueLengthLimit) throw BAIL;
          vType[i] = V_JSON;
          vText[i] = json;
          break;
        }
        default:
          r.skip(tag & 7);
      }
    }
    r.end = outer;
  }

  function restSet(c: Canon, i: number): void {
    if (c.stamp === stamp) {
      restVal[c.restIndex] = i;
      return;
    }
    c.stamp = stamp;
    c.restIndex = restLen;
    restKeys[restLen] = c;
    restVal[restLen++] = i;
  }

  /** A KeyValue in [r.pos, end): what map-spans.ts `scan` does with one attribute. */
  function readAttribute(r: Reader, end: number): void {
    const outer = r.end;
    r.end = end;
    let keyStart = 0;
    let keyEnd = 0;
    const i = nValues++;
    vType[i] = V_STRING;
    vStart[i] = 0;
    vEnd[i] = 0;
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === ((1 << 3) | WIRE_LEN)) {
        keyStart = r.span();
        keyEnd = r.pos;
      } else if (tag === ((2 << 3) | WIRE_LEN)) {
        const s = r.span();
        const e = r.pos;
        r.pos = s;
        readValue(r, e, i);
      } else r.skip(tag & 7);
    }
    r.end = outer;
    // Over-long keys are dropped (and counted) by the limits: the reference path's job.
    if (keyEnd - keyStart > 1024) throw BAIL;
    const c = keyAt(src, keyStart, keyEnd);
    switch (c.role) {
      case R_DROP:
        return;
      case R_SESSION:
        kSession = i;
        return;
      case R_SERVICE:
        kService = i;
        return;
      case R_VIEW:
        kView = i;
        break;
      case R_ACTION:
        kAction = i;
        break;
      case R_ELEMENT:
        kElement = i;
        break;
      case R_ROUTE:
        kRoute = i;
        break;
      case R_METHOD:
        kMethod = i;
        break;
      case R_METHOD_OLD:
        if (emptyText(kMethod)) kMethod = i;
        break;
      case R_STATUS:
        kStatus = i;
        break;
      case R_STATUS_OLD:
        if (emptyText(kStatus)) kStatus = i;
        break;
      case R_RESERVED:
      case R_BLOCKING:
        throw BAIL;
    }
    restSet(c, i);
  }

  // ---------------------------------------------------------------- output

  let out = Buffer.allocUnsafe(64 * 1024);
  let o = 0;

  function room(n: number): void {
    if (o + n <= out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, o + n));
    out.copy(bigger, 0, 0, o);
    out = bigger;
  }

  // The copy loops below keep the buffer and position in locals: closure variables are memory
  // loads and stores on every byte.
  function put(b: Buffer): void {
    const n = b.length;
    room(n);
    const d = out;
    let p = o;
    for (let i = 0; i < n; i++) d[p++] = b[i] as number;
    o = p;
  }

  function putAscii(s: string): void {
    const n = s.length;
    room(n);
    const d = out;
    let p = o;
    for (let i = 0; i < n; i++) d[p++] = s.charCodeAt(i);
    o = p;
  }

  function putUtf8(s: string): void {
    room(s.length * 3);
    o += out.write(s, o, 'utf8');
  }

  function putHex(start: number, n: number): void {
    room(n * 2);
    const from = src;
    const d = out;
    let p = o;
    for (let i = start; i < start + n; i++) {
      const b = from[i] as number;
      d[p++] = HEX[b >> 4] as number;
      d[p++] = HEX[b & 15] as number;
    }
    o = p;
  }

  /** `,key=value` unless the value escapes to '' (encodeSeriesKey skips those tags). */
  function tagRange(key: Buffer, s: number, e: number): void {
    if (s === e) return;
    const from = src;
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
      put(key);
      room(e - s);
      const d = out;
      let p = o;
      for (let j = s; j < e; j++) d[p++] = from[j] as number;
      o = p;
      return;
    }
    tagText(key, src.toString('utf8', s, e));
  }

  function tagText(key: Buffer, text: string): void {
    const v = escapeKey(text);
    if (v === '') return;
    put(key);
    putUtf8(v);
  }

  function tagValue(key: Buffer, i: number): void {
    if (i === -1) return;
    if (vType[i] === V_STRING) tagRange(key, vStart[i] as number, vEnd[i] as number);
    else tagText(key, otherText(i));
  }

  /** A double-quoted string field value from src[s, e): only `"` and `\` are escaped. */
  function stringRange(s: number, e: number): void {
    room(2 * (e - s) + 2);
    const from = src;
    const d = out;
    const at = o;
    let p = o;
    d[p++] = 0x22;
    let wide = false;
    for (let j = s; j < e; j++) {
      const b = from[j] as number;
      if (b === 0x22 || b === 0x5c) d[p++] = 0x5c;
      else if (b >= 0x80) wide = true;
      d[p++] = b;
    }
    d[p++] = 0x22;
    o = p;
    if (!wide) return;
    // Invalid UTF-8 becomes U+FFFD in the reference path's strings; so it does here.
    if (!isUtf8(src.subarray(s, e))) {
      o = at;
      stringText(src.toString('utf8', s, e));
    }
  }

  function stringText(text: string): void {
    putUtf8('"' + escapeStringValue(text) + '"');
  }

  function stringValue(i: number): void {
    if (i === -1) putAscii('""');
    else if (vType[i] === V_STRING) stringRange(vStart[i] as number, vEnd[i] as number);
    else stringText(otherText(i));
  }

  /** `element_count` (asInteger), or undefined when it is not an integer InfluxDB can hold. */
  function elementCount(i: number): string | undefined {
    switch (vType[i]) {
      case V_INT:
        return vText[i];
      case V_BOOL:
      case V_JSON:
        return undefined;
      case V_DOUBLE:
        return asInteger({ type: 'double', value: vNum[i] as number })?.toString();
      default: {
        const v: AttrValue = { type: 'string', value: src.toString('utf8', vStart[i], vEnd[i]) };
        return asInteger(v)?.toString();
      }
    }
  }

  // ---------------------------------------------------------------- spans

  /** Where each line ends in `out`; lines are separated by one newline. */
  let lineEnds: number[] = [];
  let spans = 0;
  let conflicts: Array<[string, FieldType]> = [];
  let tenantTag: Buffer = Buffer.alloc(0);
  let lastTenant: string | undefined;

  /** The current span's start (spread; also as seconds and nanoseconds) and id. */
  let spanTs = '';
  let spanTop = 0;
  let spanNs = 0;
  let spanIdHex = '';
  const frontendScope = slots.scope(rules.frontend.name);
  const backendScope = slots.scope(rules.backend.name);
  const spansScope = slots.scope(rules.spans.name);

  /** Ends a line with the timestamp the slot index gives the span in the line's measurement. */
  function finishLine(scope: SlotScope): void {
    const at = slots.assignParts(scope, spanTop, spanNs, spanTs, spanIdHex);
    room(at.length + 2);
    const d = out;
    let p = o;
    d[p++] = 0x20;
    for (let i = 0; i < at.length; i++) d[p++] = at.charCodeAt(i);
    lineEnds.push(p);
    d[p++] = 0x0a;
    o = p;
    lineStart = p;
  }

  let lineStart = 0;

  function seriesEnd(): void {
    if (o - lineStart > MAX_SERIES_BYTES) throw BAIL;
  }

  function span(r: Reader, end: number, scopeStart: number, scopeEnd: number, scopeIsSet: boolean): void {
    const outer = r.end;
    r.end = end;
    // The resource's attributes, then the span's (a span attribute of the same name wins).
    stamp++;
    nValues = resValues;
    restLen = resRestLen;
    for (let j = 0; j < resRestLen; j++) {
      const c = resRestKeys[j] as Canon;
      c.stamp = stamp;
      c.restIndex = j;
      restKeys[j] = c;
      restVal[j] = resRestVal[j] as number;
    }
    kSession = resKnown[0] as number;
    kService = resKnown[1] as number;
    kView = resKnown[2] as number;
    kAction = resKnown[3] as number;
    kElement = resKnown[4] as number;
    kRoute = resKnown[5] as number;
    kMethod = resKnown[6] as number;
    kStatus = resKnown[7] as number;

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
    while (r.pos < end) {
      const tag = r.uint32();
      switch (tag) {
        case (1 << 3) | WIRE_LEN:
          traceAt = r.span();
          traceLen = r.pos - traceAt;
          break;
        case (2 << 3) | WIRE_LEN:
          spanAt = r.span();
          spanLen = r.pos - spanAt;
          break;
        case (4 << 3) | WIRE_LEN:
          parentAt = r.span();
          parentLen = r.pos - parentAt;
          break;
        case (5 << 3) | WIRE_LEN:
          nameStart = r.span();
          nameEnd = r.pos;
          break;
        case (6 << 3) | WIRE_VARINT:
          kind = r.uint32() | 0;
          break;
        case (7 << 3) | WIRE_I64:
          if (r.pos + 8 > end) throw BAIL;
          startLo = src.readUInt32LE(r.pos);
          startHi = src.readUInt32LE(r.pos + 4);
          r.pos += 8;
          break;
        case (8 << 3) | WIRE_I64:
          if (r.pos + 8 > end) throw BAIL;
          endLo = src.readUInt32LE(r.pos);
          endHi = src.readUInt32LE(r.pos + 4);
          r.pos += 8;
          break;
        case (9 << 3) | WIRE_LEN: {
          if (++attributes > limits.countLimit) throw BAIL;
          const s = r.span();
          const e = r.pos;
          r.pos = s;
          readAttribute(r, e);
          r.pos = e;
          break;
        }
        case (15 << 3) | WIRE_LEN: {
          const s = r.span();
          const e = r.pos;
          r.pos = s;
          r.end = e;
          statusCode = 0;
          while (r.pos < e) {
            const t = r.uint32();
            if (t === ((3 << 3) | WIRE_VARINT)) statusCode = r.uint32() | 0;
            else r.skip(t & 7);
          }
          r.end = end;
          break;
        }
        default:
          r.skip(tag & 7);
      }
    }
    r.end = outer;

    // Spans the reference path refuses (invalidSpanReason) are its to count and report.
    if (traceLen !== 16 || allZero(traceAt, 16) || spanLen !== 8 || allZero(spanAt, 8)) throw BAIL;
    if (parentAt !== -1 && parentLen !== 0 && parentLen !== 8) throw BAIL;
    if (startHi === 0 && startLo === 0) throw BAIL;
    if (endHi < startHi || (endHi === startHi && endLo < startLo)) throw BAIL;
    if (endHi > MAX_TS_HI || (endHi === MAX_TS_HI && endLo > MAX_TS_LO)) throw BAIL;
    const dHi = endHi - startHi;
    // Durations past 2^50 ns (13 days) would lose exactness in a double: the reference path uses BigInt.
    if (dHi >= 0x40000) throw BAIL;
    const durationNs = dHi * 0x100000000 + (endLo - startLo);
    const durationMs = Math.floor((durationNs + 500_000) / 1_000_000);

    spans++;
    spanIdHex = src.toString('hex', spanAt, spanAt + 8);
    splitU64(startLo, startHi, spreadOffset(spanAt));
    spanTop = splitTop;
    spanNs = splitNs;
    spanTs = nanosDecimal(spanTop, spanNs);
    const hasParent = parentLen === 8;

    if (rules.frontend.enabled && !emptyText(kView)) {
      put(frontendPrefix);
      tagValue(K.actionName, kAction);
      tagValue(K.serviceName, kService);
      tagValue(K.sessionId, kSession);
      put(tenantTag);
      tagValue(K.viewName, kView);
      seriesEnd();
      put(K.durationMs);
      putAscii(`${durationMs}i`);
      if (kElement !== -1) {
        const n = elementCount(kElement);
        if (n !== undefined) {
          put(K.elementCount);
          putAscii(`${n}i`);
        }
      }
      idFields(traceAt, spanAt);
      put(K.instance);
      put(instanceValue);
      finishLine(frontendScope);
    }

    if (rules.backend.enabled && kind === 2) {
      put(backendPrefix);
      if (!emptyText(kRoute)) tagValue(K.endpoint, kRoute);
      else tagRange(K.endpoint, nameStart, nameEnd);
      tagValue(K.httpMethod, kMethod);
      tagValue(K.serviceName, kService);
      tagValue(K.statusCode, kStatus);
      put(tenantTag);
      seriesEnd();
      put(K.latencyMs);
      putAscii(`${durationMs}i`);
      idFields(traceAt, spanAt);
      put(K.instance);
      put(instanceValue);
      finishLine(backendScope);
    }

    if (rules.spans.enabled) {
      put(spansPrefix);
      tagValue(K.serviceName, kService);
      put(kindTags[kind] ?? kindUnspecified);
      put(tenantTag);
      seriesEnd();
      put(K.traceIdFirst);
      putHex(traceAt, 16);
      put(K.spanId);
      putHex(spanAt, 8);
      put(K.parentSpanId);
      if (hasParent) putHex(parentAt, 8);
      put(K.name);
      stringRange(nameStart, nameEnd);
      put(K.durationNs);
      putAscii(String(durationNs));
      put(K.statusCodeField);
      putAscii(String(statusCode));
      put(K.sessionField);
      stringValue(kSession);
      put(K.scopeName);
      if (scopeIsSet) stringRange(scopeStart, scopeEnd);
      else putAscii('""');
      put(K.instance);
      put(instanceValue);
      for (let j = 0; j < restLen; j++) attributeField(restKeys[j] as Canon, restVal[j] as number);
      finishLine(spansScope);
    }
  }

  /** `,trace_id="…",span_id="…"` (frontend and backend lines). */
  function idFields(traceAt: number, spanAt: number): void {
    put(K.traceId);
    putHex(traceAt, 16);
    put(K.spanId);
    putHex(spanAt, 8);
    room(1);
    out[o++] = 0x22;
  }

  /** An attribute as a typed `spans` field (field-types.ts rules 1–3). */
  function attributeField(c: Canon, i: number): void {
    const v = vType[i] as number;
    // Non-finite doubles cannot be written (attributeField → undefined): no field, no registration.
    if (v === V_DOUBLE && !Number.isFinite(vNum[i])) return;
    const key = fieldKeyFor(c, v, conflicts);
    if (key.length === 0) return;
    put(key);
    switch (v) {
      case V_STRING:
        stringRange(vStart[i] as number, vEnd[i] as number);
        return;
      case V_BOOL:
        putAscii(vNum[i] === 1 ? 'true' : 'false');
        return;
      case V_INT: {
        // int64Decimal is canonical: up to 15 digits it is what String(Number(…)) prints.
        const t = vText[i] as string;
        putAscii(t.length <= 15 ? t : String(Number(t)));
        return;
      }
      case V_JSON:
        stringText(vText[i] as string);
        return;
      default:
        putAscii(String(vNum[i]));
    }
  }

  /**
   * point-identity.ts `spreadDecimal`'s offset for the span id at `at`: FNV-1a over its 16 hex
   * characters, read from the bytes (the same hash, without making the string first).
   */
  function spreadOffset(at: number): number {
    const from = src;
    let h = 0x811c9dc5;
    for (let i = at; i < at + 8; i++) {
      const b = from[i] as number;
      h = Math.imul(h ^ (HEX[b >> 4] as number), 0x01000193);
      h = Math.imul(h ^ (HEX[b & 15] as number), 0x01000193);
    }
    return (h >>> 0) % 1000;
  }

  function allZero(at: number, n: number): boolean {
    for (let i = at; i < at + n; i++) if (src[i] !== 0) return false;
    return true;
  }

  // ---------------------------------------------------------------- containers

  /**
   * Calls `each` with the payload bounds of every occurrence of length-delimited field `field` in
   * [start, end), skipping other fields by wire type. `each` may move the reader anywhere.
   */
  function forEachField(r: Reader, start: number, end: number, field: number, each: (s: number, e: number) => void): void {
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

  /** The last occurrence of length-delimited field `field` in [start, end), as [start, end), or undefined. */
  function lastField(r: Reader, start: number, end: number, field: number): [number, number] | undefined {
    let found: [number, number] | undefined;
    forEachField(r, start, end, field, (s, e) => {
      found = [s, e];
    });
    return found;
  }

  function resource(r: Reader, start: number, end: number): void {
    stamp++;
    nValues = 0;
    restLen = 0;
    kSession = kService = kView = kAction = kElement = kRoute = kMethod = kStatus = -1;
    let attributes = 0;
    forEachField(r, start, end, 1, (_, e) => {
      if (++attributes > limits.countLimit) throw BAIL;
      readAttribute(r, e);
    });
    resValues = nValues;
    resRestLen = restLen;
    for (let j = 0; j < restLen; j++) {
      resRestKeys[j] = restKeys[j] as Canon;
      resRestVal[j] = restVal[j] as number;
    }
    resKnown[0] = kSession;
    resKnown[1] = kService;
    resKnown[2] = kView;
    resKnown[3] = kAction;
    resKnown[4] = kElement;
    resKnown[5] = kRoute;
    resKnown[6] = kMethod;
    resKnown[7] = kStatus;
  }

  function scopeSpans(r: Reader, start: number, end: number): void {
    // The scope may follow its spans on the wire; the reference path applies the last one to all.
    const scope = lastField(r, start, end, 1);
    const name = scope === undefined ? undefined : lastField(r, scope[0], scope[1], 1);
    const [scopeStart, scopeEnd] = name ?? [0, 0];
    forEachField(r, start, end, 2, (_, e) => span(r, e, scopeStart, scopeEnd, scopeEnd > scopeStart));
  }

  function resourceSpans(r: Reader, start: number, end: number): void {
    const res = lastField(r, start, end, 1);
    if (res === undefined) resource(r, 0, 0);
    else resource(r, res[0], res[1]);
    forEachField(r, start, end, 2, (s, e) => scopeSpans(r, s, e));
  }

  return {
    encode(body, tenantId) {
      src = body;
      if (overflow.size > 0) overflow.clear();
      lineEnds = [];
      lineStart = 0;
      spans = 0;
      conflicts = [];
      o = 0;
      if (tenantId !== lastTenant) {
        const v = escapeKey(tenantId);
        tenantTag = v === '' ? Buffer.alloc(0) : utf8(`,tenant_id=${v}`);
        lastTenant = tenantId;
      }
      const r = new Reader(body, body.length);
      try {
        forEachField(r, 0, body.length, 1, (s, e) => resourceSpans(r, s, e));
      } catch {
        // BAIL, malformed protobuf, or anything unforeseen: the reference path answers it.
        src = Buffer.alloc(0);
        return undefined;
      }
      src = Buffer.alloc(0);
      for (const [key, type] of conflicts) fieldTypes.noteConflict(spansName, key, type);
      const count = lineEnds.length;
      // A copy of its own: `out` is reused by the next request. Off the V8 heap, so a request's
      // lines waiting in the write buffer cost no garbage-collection work.
      const lines = Buffer.allocUnsafeSlow(count === 0 ? 0 : o - 1);
      out.copy(lines, 0, 0, lines.length);
      const ends = lineEnds;
      return { spans, body: lines, count, lines: () => splitLines(lines, ends) };
    },
  };
}

/** What `splitU64` last produced: seconds (⌊n / 1e9⌋) and nanoseconds (n mod 1e9). */
let splitTop = 0;
let splitNs = 0;

/**
 * Splits an unsigned 64-bit integer (two 32-bit halves) into base-1e9 digits without BigInt, with
 * products that stay under 2^53. With `spread` (0–999), a whole microsecond (≥ 1000, ending in
 * 000) gets it added: point-identity.ts `spreadDecimal`, done on the number.
 */
function splitU64(lo: number, hi: number, spread: number): void {
  // hi · 2^32 + lo = (hi · 2^16) · 2^16 + lo, divided by 1e9 in two steps.
  const a = hi * 65536;
  const qa = div1e9(a);
  const t = (a - qa * 1e9) * 65536 + lo;
  const qt = div1e9(t);
  splitTop = qa * 65536 + qt;
  splitNs = t - qt * 1e9;
  if (spread >= 0 && (splitTop > 0 || splitNs >= 1000) && splitNs % 1000 === 0) splitNs += spread;
}

/**
 * ⌊n / 1e9⌋ for an integer n < 2^53. The double quotient can round up onto the next integer (never
 * down below the true one), so a negative remainder means one less.
 */
function div1e9(n: number): number {
  const q = Math.floor(n / 1e9);
  return n - q * 1e9 < 0 ? q - 1 : q;
}

/** The unsigned 64-bit integer as an exact decimal (`splitU64`, then formatted). */
export function u64Decimal(lo: number, hi: number, spread = -1): string {
  splitU64(lo, hi, spread);
  return nanosDecimal(splitTop, splitNs);
}

/** `body` cut at the byte offsets in `ends` (each followed by one newline byte). */
function splitLines(body: Buffer, ends: readonly number[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const end of ends) {
    out.push(body.toString('utf8', at, end));
    at = end + 1;
  }
  return out;
}
