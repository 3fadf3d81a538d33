/**
 * The one span shape both decoders (protobuf and JSON) produce. Everything downstream of
 * `otlp/` sees only this, so mapping never cares which encoding arrived.
 */

/** Attribute values keep their OTLP type; int64 stays an exact decimal string. */
export type AttrValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'int'; readonly value: string }
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean }
  /** Arrays, key-value lists and bytes, serialised as JSON (bytes as a base64 JSON string). */
  | { readonly type: 'json'; readonly value: string };

/**
 * An AnyValue with no member set (an empty message, or `{}` in JSON) is the empty string, like an
 * absent value, from every decoder and for log bodies too. JSON and protobufjs used to make it the
 * text "null" (which no reader can tell from a real "null"), the protobuf trace reader "" (issue 16).
 */
export const EMPTY_VALUE: AttrValue = Object.freeze({ type: 'string', value: '' });

export interface Attribute {
  readonly key: string;
  readonly value: AttrValue;
}

export interface SpanRecord {
  /** Lower-case hex, 32 chars. */
  readonly traceId: string;
  /** Lower-case hex, 16 chars. */
  readonly spanId: string;
  /** Lower-case hex, 16 chars, or '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly attributes: readonly Attribute[];
}

export interface ResourceSpans {
  readonly resource: readonly Attribute[];
  readonly scopes: readonly ScopeSpans[];
}

export interface ScopeSpans {
  readonly scopeName: string;
  readonly scopeVersion: string;
  readonly spans: readonly SpanRecord[];
}

export interface TraceRequest {
  readonly resourceSpans: readonly ResourceSpans[];
}

export const SPAN_KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

export function spanKindName(kind: number): string {
  return SPAN_KIND_NAMES[kind] ?? 'unspecified';
}

export function countSpans(req: TraceRequest): number {
  let n = 0;
  for (const rs of req.resourceSpans) for (const ss of rs.scopes) n += ss.spans.length;
  return n;
}

/**
 * InfluxDB's timestamp range ends here ("time outside range -9223372036854775806 -
 * 9223372036854775806", 2262-04-11T23:47:16.854775806Z). OTLP times are unsigned, so the lower end
 * (1677) cannot be reached; 0 means "not set".
 */
export const MAX_TIMESTAMP_NS = 9_223_372_036_854_775_806n;

/** Partial-success reasons (also the `reason` label of the tenantlens_*_rejected_total counters): few, fixed strings. */
export const REASONS = {
  traceId: 'invalid trace_id (must be 16 bytes, not all zero)',
  spanId: 'invalid span_id (must be 8 bytes, not all zero)',
  parentSpanId: 'invalid parent_span_id (must be 8 bytes or empty)',
  noStart: 'missing start_time_unix_nano',
  endBeforeStart: 'end_time_unix_nano before start_time_unix_nano',
  timeRange: 'timestamp out of range (InfluxDB stores up to 2262-04-11T23:47:16.854775806Z)',
  seriesKey: 'tags too long (series key over InfluxDB\'s 64 KiB limit)',
} as const;

/** Why a single span is refused (reported through OTLP partial_success, never a whole-request error). */
export function invalidSpanReason(span: SpanRecord): string | undefined {
  if (!/^[0-9a-f]{32}$/.test(span.traceId) || /^0+$/.test(span.traceId)) return REASONS.traceId;
  if (!/^[0-9a-f]{16}$/.test(span.spanId) || /^0+$/.test(span.spanId)) return REASONS.spanId;
  if (span.parentSpanId !== '' && !/^[0-9a-f]{16}$/.test(span.parentSpanId)) return REASONS.parentSpanId;
  if (span.startTimeUnixNano <= 0n) return REASONS.noStart;
  if (span.endTimeUnixNano < span.startTimeUnixNano) return REASONS.endBeforeStart;
  // Refused rather than clamped: a clamped time is a wrong time, and past year 2262 the point (and
  // the int64 duration) would be a 400 for the whole batch, other tenants' lines included.
  if (span.endTimeUnixNano > MAX_TIMESTAMP_NS) return REASONS.timeRange;
  return undefined;
}
