import { MAX_ANY_VALUE_DEPTH } from './limits.ts';
import { EMPTY_VALUE, type Attribute, type AttrValue, type ResourceSpans, type ScopeSpans, type SpanRecord, type TraceRequest } from './model.ts';
import { Reader, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './wire.ts';

/**
 * A hand-written protobuf reader for `ExportTraceServiceRequest`, straight into the span model.
 *
 * Why by hand: the generated protobufjs decoder plus the conversion to our model was the largest
 * cost of the gateway (bench/cost-growth.ts: ~1.3 µs per attribute, and worse on large requests,
 * where its intermediate objects outlive young-generation GC). This reader allocates only what
 * the model keeps: strings come from Buffer slices (native UTF-8, invalid bytes become U+FFFD),
 * ids from native hex, timestamps from two 32-bit reads.
 *
 * Field numbers follow opentelemetry-proto (collector/trace/v1, trace/v1, common/v1, resource/v1).
 * Unknown fields are skipped by wire type (wire.ts), as protobuf requires; anything truncated or
 * overlong is refused. A differential test holds it to the protobufjs decoder on the official
 * serializer's output.
 */
function readKeyValue(r: Reader): Attribute {
  let key = '';
  let value: AttrValue = EMPTY_VALUE;
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === WIRE_LEN) key = r.string();
    else if (field === 2 && (tag & 7) === WIRE_LEN) value = readAnyValue(r.sub());
    else r.skip(tag & 7);
  }
  return { key, value };
}

/**
 * The last member of the oneof wins (proto3). Arrays, kvlists and bytes become JSON, the shape
 * the JSON decoder produces for them too.
 */
function readAnyValue(r: Reader): AttrValue {
  let v: AttrValue = EMPTY_VALUE;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case (1 << 3) | WIRE_LEN:
        v = { type: 'string', value: r.string() };
        break;
      case (2 << 3) | WIRE_VARINT:
        v = { type: 'bool', value: r.uint32() !== 0 };
        break;
      case (3 << 3) | WIRE_VARINT:
        v = { type: 'int', value: r.int64Decimal() };
        break;
      case (4 << 3) | WIRE_I64:
        v = { type: 'double', value: r.double() };
        break;
      case (5 << 3) | WIRE_LEN:
      case (6 << 3) | WIRE_LEN:
      case (7 << 3) | WIRE_LEN:
        v = { type: 'json', value: readJsonMember(r, tag >>> 3) };
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return v;
}

/** An AnyValue's array (5), kvlist (6) or bytes (7) member at `r.pos`, as the JSON text the model keeps. */
export function readJsonMember(r: Reader, field: number): string {
  return JSON.stringify(plainAnyValueMember(field, r, 1));
}

/** A plain JS value for JSON: what `pbPlain` gives for the same AnyValue. `depth` counts array/kvlist levels. */
function plainAnyValue(r: Reader, depth: number): unknown {
  let v: unknown = null;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case (1 << 3) | WIRE_LEN:
        v = r.string();
        break;
      case (2 << 3) | WIRE_VARINT:
        v = r.uint32() !== 0;
        break;
      case (3 << 3) | WIRE_VARINT: {
        const s = r.int64Decimal();
        const n = Number(s);
        v = Number.isSafeInteger(n) ? n : s;
        break;
      }
      case (4 << 3) | WIRE_I64:
        v = r.double();
        break;
      case (5 << 3) | WIRE_LEN:
      case (6 << 3) | WIRE_LEN:
      case (7 << 3) | WIRE_LEN:
        v = plainAnyValueMember(tag >>> 3, r, depth);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return v;
}

function plainAnyValueMember(field: number, r: Reader, depth: number): unknown {
  if (field === 7) {
    const start = r.span();
    return r.buf.toString('base64', start, r.pos);
  }
  // Refused before recursing: 100 000 nested levels must be a 400, not a stack overflow.
  if (depth > MAX_ANY_VALUE_DEPTH) r.fail(`an AnyValue (array or kvlist) is nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
  const m = r.sub();
  if (field === 5) {
    const values: unknown[] = [];
    while (m.pos < m.end) {
      const tag = m.uint32();
      if (tag === ((1 << 3) | WIRE_LEN)) values.push(plainAnyValue(m.sub(), depth + 1));
      else m.skip(tag & 7);
    }
    return values;
  }
  const o: Record<string, unknown> = {};
  while (m.pos < m.end) {
    const tag = m.uint32();
    if (tag !== ((1 << 3) | WIRE_LEN)) {
      m.skip(tag & 7);
      continue;
    }
    const kv = m.sub();
    let key = '';
    let value: unknown = null;
    while (kv.pos < kv.end) {
      const t = kv.uint32();
      if (t === ((1 << 3) | WIRE_LEN)) key = kv.string();
      else if (t === ((2 << 3) | WIRE_LEN)) value = plainAnyValue(kv.sub(), depth + 1);
      else kv.skip(t & 7);
    }
    o[key] = value;
  }
  return o;
}

/** Repeated KeyValue field `field` of the message in `r`, e.g. Resource.attributes (1). */
function readAttributes(r: Reader, field: number): Attribute[] {
  const out: Attribute[] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((field << 3) | WIRE_LEN)) out.push(readKeyValue(r.sub()));
    else r.skip(tag & 7);
  }
  return out;
}

function readSpan(r: Reader): SpanRecord {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let start = 0n;
  let end = 0n;
  let statusCode = 0;
  const attributes: Attribute[] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case (1 << 3) | WIRE_LEN:
        traceId = r.hex();
        break;
      case (2 << 3) | WIRE_LEN:
        spanId = r.hex();
        break;
      case (4 << 3) | WIRE_LEN:
        parentSpanId = r.hex();
        break;
      case (5 << 3) | WIRE_LEN:
        name = r.string();
        break;
      case (6 << 3) | WIRE_VARINT:
        kind = r.uint32() | 0;
        break;
      case (7 << 3) | WIRE_I64:
        start = r.fixed64();
        break;
      case (8 << 3) | WIRE_I64:
        end = r.fixed64();
        break;
      case (9 << 3) | WIRE_LEN:
        attributes.push(readKeyValue(r.sub()));
        break;
      case (15 << 3) | WIRE_LEN: {
        // Status: a later status replaces an earlier one, as protobufjs does.
        const s = r.sub();
        statusCode = 0;
        while (s.pos < s.end) {
          const t = s.uint32();
          if (t === ((3 << 3) | WIRE_VARINT)) statusCode = s.uint32() | 0;
          else s.skip(t & 7);
        }
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  return { traceId, spanId, parentSpanId, name, kind, startTimeUnixNano: start, endTimeUnixNano: end, statusCode, attributes };
}

function readScopeSpans(r: Reader): ScopeSpans {
  let scopeName = '';
  let scopeVersion = '';
  const spans: SpanRecord[] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((2 << 3) | WIRE_LEN)) spans.push(readSpan(r.sub()));
    else if (tag === ((1 << 3) | WIRE_LEN)) {
      const s = r.sub();
      scopeName = '';
      scopeVersion = '';
      while (s.pos < s.end) {
        const t = s.uint32();
        if (t === ((1 << 3) | WIRE_LEN)) scopeName = s.string();
        else if (t === ((2 << 3) | WIRE_LEN)) scopeVersion = s.string();
        else s.skip(t & 7);
      }
    } else r.skip(tag & 7);
  }
  return { scopeName, scopeVersion, spans };
}

function readResourceSpans(r: Reader): ResourceSpans {
  let resource: Attribute[] = [];
  const scopes: ScopeSpans[] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((2 << 3) | WIRE_LEN)) scopes.push(readScopeSpans(r.sub()));
    else if (tag === ((1 << 3) | WIRE_LEN)) resource = readAttributes(r.sub(), 1);
    else r.skip(tag & 7);
  }
  return { resource, scopes };
}

/** Decodes an `ExportTraceServiceRequest`. Throws `ProtoError` on malformed input. */
export function readTraceRequest(body: Uint8Array): TraceRequest {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = new Reader(buf, buf.length);
  const resourceSpans: ResourceSpans[] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) resourceSpans.push(readResourceSpans(r.sub()));
    else r.skip(tag & 7);
  }
  return { resourceSpans };
}
