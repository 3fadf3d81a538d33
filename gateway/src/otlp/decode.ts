import { GatewayError } from '../errors.ts';
import { MAX_ANY_VALUE_DEPTH } from './limits.ts';
import { EMPTY_VALUE, type Attribute, type AttrValue, type ResourceSpans, type ScopeSpans, type SpanRecord, type TraceRequest } from './model.ts';
import { ExportTraceServiceRequest, int64ToBigInt, int64ToDecimal, type PbAnyValue, type PbKeyValue } from './proto.ts';
import { readTraceRequest } from './proto-traces.ts';
import { ProtoError } from './wire.ts';

export type OtlpEncoding = 'protobuf' | 'json';

/** Decodes an `ExportTraceServiceRequest` body. Malformed input throws a 400 `GatewayError`. */
export function decodeTraceRequest(body: Uint8Array, encoding: OtlpEncoding): TraceRequest {
  return encoding === 'protobuf' ? decodeProtobuf(body) : decodeJson(body);
}

// ---------------------------------------------------------------- protobuf

export function hex(bytes: Uint8Array | null | undefined): string {
  if (bytes === null || bytes === undefined || bytes.length === 0) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function pbValue(v: PbAnyValue | null | undefined): AttrValue {
  if (v === null || v === undefined) return EMPTY_VALUE;
  if (v.stringValue !== null) return { type: 'string', value: v.stringValue };
  if (v.intValue !== null) return { type: 'int', value: int64ToDecimal(v.intValue) };
  if (v.doubleValue !== null) return { type: 'double', value: v.doubleValue };
  if (v.boolValue !== null) return { type: 'bool', value: v.boolValue };
  if (v.arrayValue === null && v.kvlistValue === null && v.bytesValue === null) return EMPTY_VALUE;
  return { type: 'json', value: JSON.stringify(pbPlain(v)) };
}

function tooDeep(): never {
  throw new GatewayError('MALFORMED_BODY', `invalid protobuf: an AnyValue (array or kvlist) is nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
}

/** An AnyValue as plain JSON; `depth` counts array/kvlist levels (see MAX_ANY_VALUE_DEPTH). */
export function pbPlain(v: PbAnyValue | null | undefined, depth = 1): unknown {
  if (v === null || v === undefined) return null;
  if (v.stringValue !== null) return v.stringValue;
  if (v.intValue !== null) {
    const s = int64ToDecimal(v.intValue);
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : s;
  }
  if (v.doubleValue !== null) return v.doubleValue;
  if (v.boolValue !== null) return v.boolValue;
  if (v.arrayValue !== null) {
    if (depth > MAX_ANY_VALUE_DEPTH) tooDeep();
    return v.arrayValue.values.map((x) => pbPlain(x, depth + 1));
  }
  if (v.kvlistValue !== null) {
    if (depth > MAX_ANY_VALUE_DEPTH) tooDeep();
    const o: Record<string, unknown> = {};
    for (const kv of v.kvlistValue.values) o[kv.key ?? ''] = pbPlain(kv.value, depth + 1);
    return o;
  }
  if (v.bytesValue !== null) return Buffer.from(v.bytesValue).toString('base64');
  return null;
}

export function pbAttributes(kvs: PbKeyValue[] | undefined): Attribute[] {
  if (kvs === undefined || kvs.length === 0) return [];
  const out: Attribute[] = new Array<Attribute>(kvs.length);
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i] as PbKeyValue;
    // protobufjs leaves an absent key null, not '': a keyless attribute crashed the line encoder.
    out[i] = { key: kv.key ?? '', value: pbValue(kv.value) };
  }
  return out;
}

/**
 * protobufjs decodes strings of a Buffer with Node's UTF-8 decoder (invalid bytes become U+FFFD)
 * but those of a plain Uint8Array with its own, which differs; a Buffer view keeps it one rule.
 */
export function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** A protobuf decode failure as a 400; protobufjs recurses, so absurd nesting overflows its stack. */
export function protobufError(type: string, err: unknown): GatewayError {
  const why = err instanceof RangeError && /call stack/.test(err.message) ? `messages nested too deeply (more than ${MAX_ANY_VALUE_DEPTH} AnyValue levels are refused)` : (err as Error).message;
  return new GatewayError('MALFORMED_BODY', `invalid protobuf ${type}: ${why}`);
}

function decodeProtobuf(body: Uint8Array): TraceRequest {
  try {
    return readTraceRequest(body);
  } catch (err) {
    if (err instanceof ProtoError) throw new GatewayError('MALFORMED_BODY', `invalid protobuf ExportTraceServiceRequest: ${err.message}`);
    throw err;
  }
}

/**
 * The same decode through the generated protobufjs code of @opentelemetry/otlp-transformer: the
 * reference the hand-written reader is tested against, and what the naive bench baseline uses.
 */
export function decodeTraceRequestWithProtobufjs(body: Uint8Array): TraceRequest {
  let msg;
  try {
    msg = ExportTraceServiceRequest.decode(asBuffer(body));
  } catch (err) {
    throw protobufError('ExportTraceServiceRequest', err);
  }
  const resourceSpans: ResourceSpans[] = [];
  for (const rs of msg.resourceSpans) {
    const scopes: ScopeSpans[] = [];
    for (const ss of rs.scopeSpans) {
      const spans: SpanRecord[] = [];
      for (const s of ss.spans) {
        spans.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          // protobufjs leaves an absent (empty) string or enum null, not '' / 0: a nameless span
          // was stored with name "null".
          name: s.name ?? '',
          kind: s.kind ?? 0,
          startTimeUnixNano: int64ToBigInt(s.startTimeUnixNano),
          endTimeUnixNano: int64ToBigInt(s.endTimeUnixNano),
          statusCode: s.status?.code ?? 0,
          attributes: pbAttributes(s.attributes),
        });
      }
      scopes.push({ scopeName: ss.scope?.name ?? '', scopeVersion: ss.scope?.version ?? '', spans });
    }
    resourceSpans.push({ resource: pbAttributes(rs.resource?.attributes), scopes });
  }
  return { resourceSpans };
}

// ---------------------------------------------------------------- JSON (OTLP/JSON, not plain proto3 JSON)

export type Json = Record<string, unknown>;

/** Exported with the helpers below for the metrics and logs decoders (otlp/decode-signals.ts). */
export class JsonShapeError extends Error {}

export function fail(path: string, expected: string): never {
  throw new JsonShapeError(`${path}: expected ${expected}`);
}

export function obj(v: unknown, path: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'an object');
  return v as Json;
}

/** proto3 JSON parsers accept the lowerCamelCase and the original snake_case names. */
export function field(o: Json, camel: string, snake: string): unknown {
  const v = o[camel];
  return v === undefined ? o[snake] : v;
}

export function arr(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, 'an array');
  return v;
}

export function optStr(v: unknown, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(path, 'a string');
  return v;
}

const INT64 = /^-?\d{1,20}$/;

/** int64 in OTLP/JSON is a decimal string; numbers are tolerated when they are exact. */
export function int64Str(v: unknown, path: string): string {
  if (typeof v === 'string' && INT64.test(v)) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  // The official JS exporters' JSON serializer writes intValue as a JSON number, so a whole number
  // beyond 2^53 arrives as e.g. 1152921504606847000; refusing it failed the whole export with 400.
  // The double is exactly the value the sender held, and BigInt gives the decimal its protobuf
  // encoding carries. Fractions still fail.
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 64) return BigInt(v).toString();
  fail(path, 'an int64 as a decimal string');
}

export function uint64(v: unknown, path: string): bigint {
  if (v === undefined || v === null) return 0n;
  const s = int64Str(v, path);
  const b = BigInt(s);
  if (b < 0n || b > 0xffffffffffffffffn) fail(path, 'an unsigned 64-bit integer');
  return b;
}

/** OTLP/JSON ids are hex (not base64 as plain proto3 JSON would have them). */
export function hexId(v: unknown, path: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v)) fail(path, 'a hex string');
  return v.toLowerCase();
}

const KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

/** Enums are integers in OTLP/JSON; proto3 JSON also allows the enum value name. */
export function enumValue(v: unknown, names: Record<string, number>, path: string): number {
  if (v === undefined || v === null) return 0;
  // Enums are int32 on the wire; 1e20 passed Number.isInteger and became an integer field InfluxDB refuses.
  if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) return v;
  if (typeof v === 'string' && names[v] !== undefined) return names[v];
  fail(path, 'an enum integer');
}

/** `depth` counts array/kvlist levels (see MAX_ANY_VALUE_DEPTH). */
export function jsonPlain(v: unknown, path: string, depth = 1): unknown {
  const o = obj(v, path);
  if ('stringValue' in o) return optStr(o.stringValue, `${path}.stringValue`);
  if ('intValue' in o) {
    const s = int64Str(o.intValue, `${path}.intValue`);
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : s;
  }
  if ('doubleValue' in o) return jsonDouble(o.doubleValue, `${path}.doubleValue`);
  if ('boolValue' in o) return jsonBool(o.boolValue, `${path}.boolValue`);
  if ('arrayValue' in o) {
    if (depth > MAX_ANY_VALUE_DEPTH) fail(path, `an AnyValue nested at most ${MAX_ANY_VALUE_DEPTH} levels deep`);
    return arr(obj(o.arrayValue, `${path}.arrayValue`).values, `${path}.arrayValue.values`).map((x, i) => jsonPlain(x, `${path}.arrayValue.values[${i}]`, depth + 1));
  }
  if ('kvlistValue' in o) {
    if (depth > MAX_ANY_VALUE_DEPTH) fail(path, `an AnyValue nested at most ${MAX_ANY_VALUE_DEPTH} levels deep`);
    const out: Record<string, unknown> = {};
    const kvs = arr(obj(o.kvlistValue, `${path}.kvlistValue`).values, `${path}.kvlistValue.values`);
    kvs.forEach((kv, i) => {
      const k = obj(kv, `${path}.kvlistValue.values[${i}]`);
      out[optStr(k.key, `${path}.kvlistValue.values[${i}].key`)] = k.value === undefined ? null : jsonPlain(k.value, `${path}.kvlistValue.values[${i}].value`, depth + 1);
    });
    return out;
  }
  if ('bytesValue' in o) return optStr(o.bytesValue, `${path}.bytesValue`);
  return null;
}

export function jsonDouble(v: unknown, path: string): number {
  if (typeof v === 'number') return v;
  // proto3 JSON spells the non-finite doubles as strings.
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  fail(path, 'a number');
}

function jsonBool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'a boolean');
  return v;
}

function jsonValue(v: unknown, path: string): AttrValue {
  if (v === undefined || v === null) return EMPTY_VALUE;
  const o = obj(v, path);
  if ('stringValue' in o) return { type: 'string', value: optStr(o.stringValue, `${path}.stringValue`) };
  if ('intValue' in o) return { type: 'int', value: int64Str(o.intValue, `${path}.intValue`) };
  if ('doubleValue' in o) return { type: 'double', value: jsonDouble(o.doubleValue, `${path}.doubleValue`) };
  if ('boolValue' in o) return { type: 'bool', value: jsonBool(o.boolValue, `${path}.boolValue`) };
  if (!('arrayValue' in o) && !('kvlistValue' in o) && !('bytesValue' in o)) return EMPTY_VALUE;
  return { type: 'json', value: JSON.stringify(jsonPlain(o, path)) };
}

export function jsonAttributes(v: unknown, path: string): Attribute[] {
  return arr(v, path).map((kv, i) => {
    const o = obj(kv, `${path}[${i}]`);
    return { key: optStr(o.key, `${path}[${i}].key`), value: jsonValue(o.value, `${path}[${i}].value`) };
  });
}

/** A `\uD800`–`\uDFFF` escape: the only way a lone surrogate gets into a string parsed from UTF-8. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Lone surrogates → U+FFFD: what a UTF-8 encoder would write anyway, decided here once for every store. */
function wellFormed(_key: string, v: unknown): unknown {
  return typeof v === 'string' ? v.replace(LONE_SURROGATE, '\uFFFD') : v;
}

/**
 * OTLP/JSON text → value. Invalid UTF-8 bytes decode to U+FFFD; escaped lone surrogates (which
 * JSON allows and UTF-8 cannot carry) become U+FFFD too, through a reviver that only bodies with
 * such an escape pay for.
 */
export function parseOtlpJson(body: Uint8Array): unknown {
  const text = asBuffer(body).toString('utf8');
  try {
    return SURROGATE_ESCAPE.test(text) ? JSON.parse(text, wellFormed) : JSON.parse(text);
  } catch (err) {
    throw new GatewayError('MALFORMED_BODY', `invalid JSON: ${err instanceof RangeError ? 'nested too deeply' : (err as Error).message}`);
  }
}

function decodeJson(body: Uint8Array): TraceRequest {
  const parsed = parseOtlpJson(body);
  try {
    const root = obj(parsed, '$');
    const resourceSpans: ResourceSpans[] = arr(field(root, 'resourceSpans', 'resource_spans'), '$.resourceSpans').map((rsRaw, i) => {
      const p = `$.resourceSpans[${i}]`;
      const rs = obj(rsRaw, p);
      const resource = rs.resource === undefined || rs.resource === null ? {} : obj(rs.resource, `${p}.resource`);
      const scopes = arr(field(rs, 'scopeSpans', 'scope_spans'), `${p}.scopeSpans`).map((ssRaw, j): ScopeSpans => {
        const sp = `${p}.scopeSpans[${j}]`;
        const ss = obj(ssRaw, sp);
        const scope = ss.scope === undefined || ss.scope === null ? {} : obj(ss.scope, `${sp}.scope`);
        const spans = arr(ss.spans, `${sp}.spans`).map((sRaw, k): SpanRecord => {
          const pp = `${sp}.spans[${k}]`;
          const s = obj(sRaw, pp);
          const status = s.status === undefined || s.status === null ? {} : obj(s.status, `${pp}.status`);
          return {
            traceId: hexId(field(s, 'traceId', 'trace_id'), `${pp}.traceId`),
            spanId: hexId(field(s, 'spanId', 'span_id'), `${pp}.spanId`),
            parentSpanId: hexId(field(s, 'parentSpanId', 'parent_span_id'), `${pp}.parentSpanId`),
            name: optStr(s.name, `${pp}.name`),
            kind: enumValue(s.kind, KIND_NAMES, `${pp}.kind`),
            startTimeUnixNano: uint64(field(s, 'startTimeUnixNano', 'start_time_unix_nano'), `${pp}.startTimeUnixNano`),
            endTimeUnixNano: uint64(field(s, 'endTimeUnixNano', 'end_time_unix_nano'), `${pp}.endTimeUnixNano`),
            statusCode: enumValue(status.code, STATUS_NAMES, `${pp}.status.code`),
            attributes: jsonAttributes(s.attributes, `${pp}.attributes`),
          };
        });
        return { scopeName: optStr(scope.name, `${sp}.scope.name`), scopeVersion: optStr(scope.version, `${sp}.scope.version`), spans };
      });
      return { resource: jsonAttributes(resource.attributes, `${p}.resource.attributes`), scopes };
    });
    return { resourceSpans };
  } catch (err) {
    if (err instanceof JsonShapeError) throw new GatewayError('MALFORMED_BODY', `invalid OTLP/JSON ExportTraceServiceRequest: ${err.message}`);
    throw err;
  }
}
