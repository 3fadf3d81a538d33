import { seriesKeyTooLong } from '../influx/line-protocol.ts';
import type { FieldValue, MappedPoint } from '../schema/point.ts';
import type { Attribute, AttrValue, SpanRecord, TraceRequest } from '../otlp/model.ts';
import { invalidSpanReason, REASONS, spanKindName } from '../otlp/model.ts';
import { KNOWN_BY_KEY, SLOT, SLOT_COUNT } from '../schema/attributes.ts';
import { SPANS_RESERVED } from '../schema/derived.ts';
import { appendAttributeFields, type FieldTypeRegistry } from './field-types.ts';
import type { MappingRules, MeasurementRule } from './rules.ts';
import { indexPoints, TraceIndexRows } from './trace-index-rows.ts';

export interface MapResult {
  readonly points: MappedPoint[];
  readonly acceptedSpans: number;
  readonly rejectedSpans: number;
  /** reason → count, for partial_success and the rejected-spans metric. */
  readonly rejections: ReadonlyMap<string, number>;
}

export interface MapContext {
  /** From the verified token or trusted header; never from the payload. */
  readonly tenantId: string;
  readonly instanceName: string;
}

type Fields = Array<readonly [string, FieldValue]>;

/** The known attributes' values (schema/attributes.ts `SLOT`); everything else becomes a typed field of `spans`. */
type Known = Array<AttrValue | undefined>;

const NS_PER_MS = 1_000_000n;
const NS_PER_SECOND = 1_000_000_000n;

function durationMs(span: SpanRecord): bigint {
  // Round half up rather than truncate, so a 0.9 ms action is 1 ms, not 0.
  return (span.endTimeUnixNano - span.startTimeUnixNano + NS_PER_MS / 2n) / NS_PER_MS;
}

function asText(v: AttrValue | undefined): string {
  return v === undefined ? '' : typeof v.value === 'string' ? v.value : String(v.value);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An InfluxDB integer (signed 64-bit), or undefined: an out-of-range integer is a 400 for the batch. */
export function asInteger(v: AttrValue): bigint | undefined {
  let n: bigint | undefined;
  if (v.type === 'int') n = BigInt(v.value);
  else if (v.type === 'double' && Number.isFinite(v.value)) n = BigInt(Math.round(v.value));
  else if (v.type === 'string' && /^-?\d{1,19}$/.test(v.value)) n = BigInt(v.value);
  return n !== undefined && n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

function byKey(a: readonly [string, string], b: readonly [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export interface SpanMapper {
  map(req: TraceRequest, ctx: MapContext): MapResult;
  /** Whether it writes the trace and session index (schema/trace-index.ts); the fused encoder follows it. */
  readonly traceIndex: boolean;
}

export interface SpanMapperOptions {
  /**
   * Write the trace and session index after each request's span points: for InfluxDB, where ids are
   * fields and a lookup would scan (main.ts turns it on there). Default off (the embedded store has SQL).
   */
  readonly traceIndex?: boolean;
}

// About 130 lines on purpose: the reference path's hot loop (every JSON trace, and every trace into
// the embedded store), with the rules' lookups built once and closed over; its steps (scan, extra
// tags, one span) are inner functions that share them.
export function createSpanMapper(rules: MappingRules, fieldTypes: FieldTypeRegistry, options: SpanMapperOptions = {}): SpanMapper {
  // The index points at spans: without them there is nothing to find.
  const traceIndex = options.traceIndex === true && rules.spans.enabled;
  const index = new TraceIndexRows();
  const aliases = new Map(Object.entries(rules.aliases));
  const canonical = (key: string): string => aliases.get(key) ?? key;
  // MAPPING_FILE extra tags of `spans` are tags there: an attribute field of the same name would be a tag and a field of one name.
  const spansReserved: ReadonlySet<string> = rules.spans.extraTags.length === 0 ? SPANS_RESERVED : new Set([...SPANS_RESERVED, ...rules.spans.extraTags]);

  /** Resource first, then span: a span attribute of the same name wins (the last value of a key does). */
  function scan(attrs: readonly Attribute[], known: Known, rest: Map<string, AttrValue>): void {
    for (const { key: rawKey, value } of attrs) {
      const key = canonical(rawKey);
      const k = KNOWN_BY_KEY.get(key);
      if (k !== undefined) {
        if (k.slot === -1) continue;
        if (!k.fallback || asText(known[k.slot]) === '') known[k.slot] = value;
        if (!k.alsoField) continue;
      }
      rest.set(key, value);
    }
  }

  /** Built-in tags are listed in key order already; only extra tags from MAPPING_FILE need a sort. */
  function withExtraTags(rule: MeasurementRule, rest: Map<string, AttrValue>, tags: Array<[string, string]>): Array<[string, string]> {
    if (rule.extraTags.length === 0) return tags;
    for (const k of rule.extraTags) {
      const v = rest.get(k);
      if (v !== undefined) tags.push([k, asText(v)]);
    }
    return tags.sort(byKey);
  }

  /** Returns the span's session id, for the index. */
  function mapSpan(span: SpanRecord, resource: readonly Attribute[], scopeName: string, ctx: MapContext, out: MappedPoint[]): string {
    const known: Known = new Array<AttrValue | undefined>(SLOT_COUNT).fill(undefined);
    const rest = new Map<string, AttrValue>();
    // Resource first, so a span attribute of the same name wins.
    scan(resource, known, rest);
    scan(span.attributes, known, rest);
    const ts = span.startTimeUnixNano;
    const ids: Fields = [
      ['trace_id', { type: 'string', value: span.traceId }],
      ['span_id', { type: 'string', value: span.spanId }],
    ];
    const instance: readonly [string, FieldValue] = ['gateway_instance', { type: 'string', value: ctx.instanceName }];

    const serviceName = asText(known[SLOT.service]);
    const sessionId = asText(known[SLOT.session]);
    const viewName = asText(known[SLOT.view]);

    if (rules.frontend.enabled && viewName !== '') {
      const tags = withExtraTags(rules.frontend, rest, [
        ['action_name', asText(known[SLOT.action])],
        ['service_name', serviceName],
        ['session_id', sessionId],
        ['tenant_id', ctx.tenantId],
        ['view_name', viewName],
      ]);
      const fields: Fields = [['duration_ms', { type: 'integer', value: durationMs(span) }]];
      const element = known[SLOT.element];
      const count = element === undefined ? undefined : asInteger(element);
      if (count !== undefined) fields.push(['element_count', { type: 'integer', value: count }]);
      for (const [key, slot] of [['blocked_ms', SLOT.blocked], ['long_tasks', SLOT.longTasks]] as const) {
        const v = known[slot];
        const n = v === undefined ? undefined : asInteger(v);
        if (n !== undefined) fields.push([key, { type: 'integer', value: n }]);
      }
      fields.push(...ids, instance);
      out.push({ spanId: span.spanId, point: { measurement: rules.frontend.name, tags, fields, timestamp: ts } });
    }

    if (rules.backend.enabled && span.kind === 2) {
      const route = asText(known[SLOT.route]);
      const tags = withExtraTags(rules.backend, rest, [
        ['endpoint', route !== '' ? route : span.name],
        ['http_method', asText(known[SLOT.method])],
        ['service_name', serviceName],
        ['status_code', asText(known[SLOT.status])],
        ['tenant_id', ctx.tenantId],
      ]);
      const fields: Fields = [['latency_ms', { type: 'integer', value: durationMs(span) }], ...ids, instance];
      out.push({ spanId: span.spanId, point: { measurement: rules.backend.name, tags, fields, timestamp: ts } });
    }

    if (rules.spans.enabled) {
      const tags = withExtraTags(rules.spans, rest, [
        ['service_name', serviceName],
        ['span_kind', spanKindName(span.kind)],
        ['tenant_id', ctx.tenantId],
      ]);
      const fields: Fields = [
        ...ids,
        ['parent_span_id', { type: 'string', value: span.parentSpanId }],
        ['name', { type: 'string', value: span.name }],
        ['duration_ns', { type: 'integer', value: span.endTimeUnixNano - span.startTimeUnixNano }],
        ['status_code', { type: 'integer', value: span.statusCode }],
        ['session_id', { type: 'string', value: sessionId }],
        ['scope_name', { type: 'string', value: scopeName }],
        instance,
      ];
      appendAttributeFields(fields, rules.spans.name, rest, spansReserved, fieldTypes);
      out.push({ spanId: span.spanId, point: { measurement: rules.spans.name, tags, fields, timestamp: ts } });
    }
    return sessionId;
  }

  return {
    traceIndex,
    map(req, ctx) {
      const points: MappedPoint[] = [];
      if (traceIndex) index.start();
      const rejections = new Map<string, number>();
      let accepted = 0;
      let rejected = 0;
      for (const rs of req.resourceSpans) {
        for (const ss of rs.scopes) {
          for (const span of ss.spans) {
            let reason = invalidSpanReason(span);
            const from = points.length;
            let sessionId = '';
            if (reason === undefined) {
              sessionId = mapSpan(span, rs.resource, ss.scopeName, ctx, points);
              for (let i = from; i < points.length && reason === undefined; i++) if (seriesKeyTooLong((points[i] as MappedPoint).point)) reason = REASONS.seriesKey;
            }
            if (reason !== undefined) {
              points.length = from;
              rejected++;
              rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
              continue;
            }
            accepted++;
            if (traceIndex) {
              index.add(Number(span.startTimeUnixNano / NS_PER_SECOND), span.traceId, sessionId);
              const startUs = Number((span.startTimeUnixNano % NS_PER_SECOND) / 1000n);
              index.span(span.spanId, startUs, startUs * 1000 + Number(span.endTimeUnixNano - span.startTimeUnixNano), span.parentSpanId === '', span.name);
            }
          }
        }
      }
      if (traceIndex) indexPoints(index.rows(), ctx.tenantId, points);
      return { points, acceptedSpans: accepted, rejectedSpans: rejected, rejections };
    },
  };
}
