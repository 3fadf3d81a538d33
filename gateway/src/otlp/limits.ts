import type { Attribute, AttrValue, TraceRequest } from './model.ts';
import type { LogsRequest, MetricData, MetricsRequest } from './signals.ts';

/**
 * OpenTelemetry attribute limits (spec: common/README.md "Attribute Limits"), applied by the
 * gateway because a client is not bound by its SDK's: past the count limit attributes are dropped,
 * longer string values (also inside arrays and maps) are truncated, and both are counted.
 */
export interface AttributeLimits {
  /** `ATTRIBUTE_COUNT_LIMIT`, default 128 (the spec's default): per resource, span, data point or log record. */
  readonly countLimit: number;
  /** `ATTRIBUTE_VALUE_LENGTH_LIMIT`, default 16 384 characters (the spec has none; see DEFAULT_ATTRIBUTE_LIMITS). */
  readonly valueLengthLimit: number;
}

/**
 * 16 384 UTF-16 units are at most 48 KiB of UTF-8, under InfluxDB's documented 64 KB limit for a
 * string field; the spec's own default (no limit) would let one attribute fill MAX_BODY_BYTES.
 */
export const DEFAULT_ATTRIBUTE_LIMITS: AttributeLimits = Object.freeze({ countLimit: 128, valueLengthLimit: 16_384 });

/**
 * Attribute keys longer than this are dropped (counted with the attributes over the count limit):
 * a key becomes a field or tag key, and influxd 1.x refuses a line whose key or series key passes
 * 64 KiB ("unable to parse"), which would lose the point after the client got its 200.
 */
export const MAX_ATTRIBUTE_KEY_LENGTH = 1024;

/**
 * Arrays and maps nested deeper than this are refused with a 400 (the OTel configuration schema's
 * attribute_value_depth_limit defaults to 64 too). The walkers recurse, and a 100 000-deep kvlist
 * fits in a few hundred KiB of body: without a bound it overflowed the stack.
 */
export const MAX_ANY_VALUE_DEPTH = 64;

/** What applying the limits to one request cost. */
export interface LimitTally {
  dropped: number;
  truncated: number;
}

/** Cuts `s` to `limit` UTF-16 units without splitting a surrogate pair. */
export function truncateString(s: string, limit: number): string {
  if (s.length <= limit) return s;
  const hi = s.charCodeAt(limit - 1);
  return s.slice(0, hi >= 0xd800 && hi <= 0xdbff ? limit - 1 : limit);
}

function truncateDeep(v: unknown, limit: number): unknown {
  if (typeof v === 'string') return truncateString(v, limit);
  if (Array.isArray(v)) return v.map((x) => truncateDeep(x, limit));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = truncateDeep(x, limit);
    return o;
  }
  return v;
}

function limitValue(v: AttrValue, limit: number, tally: LimitTally): AttrValue {
  if (v.type === 'string') {
    if (v.value.length <= limit) return v;
    tally.truncated++;
    return { type: 'string', value: truncateString(v.value, limit) };
  }
  // Arrays and maps arrive as JSON text. Only a long one can hold a long string, so the rare
  // case pays for the parse; the strings inside are truncated, not the text (which would not parse).
  if (v.type === 'json' && v.value.length > limit) {
    const out = JSON.stringify(truncateDeep(JSON.parse(v.value), limit));
    if (out === v.value) return v;
    tally.truncated++;
    return { type: 'json', value: out };
  }
  return v;
}

/** The same array when nothing is over a limit (the common case allocates nothing). */
export function limitAttributes(attrs: readonly Attribute[], limits: AttributeLimits, tally: LimitTally): readonly Attribute[] {
  const { countLimit, valueLengthLimit } = limits;
  let out: Attribute[] | undefined;
  const n = attrs.length;
  if (n > countLimit) {
    tally.dropped += n - countLimit;
    out = [];
  }
  const keep = Math.min(n, countLimit);
  for (let i = 0; i < keep; i++) {
    const a = attrs[i] as Attribute;
    if (a.key.length > MAX_ATTRIBUTE_KEY_LENGTH) {
      tally.dropped++;
      out ??= attrs.slice(0, i);
      continue;
    }
    const v = limitValue(a.value, valueLengthLimit, tally);
    if (v !== a.value) out ??= attrs.slice(0, i);
    out?.push(v === a.value ? a : { key: a.key, value: v });
  }
  return out ?? attrs;
}

export function limitTraceRequest(req: TraceRequest, limits: AttributeLimits, tally: LimitTally): TraceRequest {
  return {
    resourceSpans: req.resourceSpans.map((rs) => ({
      resource: limitAttributes(rs.resource, limits, tally),
      scopes: rs.scopes.map((ss) => ({
        ...ss,
        spans: ss.spans.map((s) => {
          const attributes = limitAttributes(s.attributes, limits, tally);
          return attributes === s.attributes ? s : { ...s, attributes };
        }),
      })),
    })),
  };
}

function limitPoints<P extends { readonly attributes: readonly Attribute[] }>(points: readonly P[], limits: AttributeLimits, tally: LimitTally): P[] {
  return points.map((p) => {
    const attributes = limitAttributes(p.attributes, limits, tally);
    return attributes === p.attributes ? p : { ...p, attributes };
  });
}

function limitMetricData(d: MetricData, limits: AttributeLimits, tally: LimitTally): MetricData {
  switch (d.kind) {
    case 'none':
      return d;
    case 'gauge':
      return { ...d, points: limitPoints(d.points, limits, tally) };
    case 'sum':
      return { ...d, points: limitPoints(d.points, limits, tally) };
    case 'histogram':
      return { ...d, points: limitPoints(d.points, limits, tally) };
    case 'exponential_histogram':
      return { ...d, points: limitPoints(d.points, limits, tally) };
    case 'summary':
      return { ...d, points: limitPoints(d.points, limits, tally) };
  }
}

export function limitMetricsRequest(req: MetricsRequest, limits: AttributeLimits, tally: LimitTally): MetricsRequest {
  return {
    resourceMetrics: req.resourceMetrics.map((rm) => ({
      resource: limitAttributes(rm.resource, limits, tally),
      scopes: rm.scopes.map((sm) => ({ ...sm, metrics: sm.metrics.map((m) => ({ ...m, data: limitMetricData(m.data, limits, tally) })) })),
    })),
  };
}

export function limitLogsRequest(req: LogsRequest, limits: AttributeLimits, tally: LimitTally): LogsRequest {
  return {
    resourceLogs: req.resourceLogs.map((rl) => ({
      resource: limitAttributes(rl.resource, limits, tally),
      scopes: rl.scopes.map((sl) => ({ ...sl, records: limitPoints(sl.records, limits, tally) })),
    })),
  };
}
