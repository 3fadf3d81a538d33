import { createHash } from 'node:crypto';
import { seriesKeyTooLong } from '../influx/line-protocol.ts';
import type { FieldValue, MappedPoint, Point } from '../schema/point.ts';
import { MAX_TIMESTAMP_NS, REASONS, type Attribute, type AttrValue } from '../otlp/model.ts';
import type { ExpHistogramPoint, HistogramPoint, LogRecord, LogsRequest, MetricData, MetricRecord, MetricsRequest, Temporality } from '../otlp/signals.ts';
import { SLOT, slotKeys } from '../schema/attributes.ts';
import { LOGS_RESERVED, METRIC_RESERVED } from '../schema/derived.ts';
import { LATENCY_ROLLUP, LOGS } from '../schema/measurements.ts';
import { SESSION_INDEX, TRACE_INDEX } from '../schema/trace-index.ts';
import { appendAttributeFields, type FieldTypeRegistry } from './field-types.ts';
import { browserEventPoint } from './map-browser-events.ts';
import type { MapContext } from './map-spans.ts';
import type { MappingRules } from './rules.ts';

/**
 * OTLP metrics and logs → points. The layout follows what Telegraf's Prometheus input (metric
 * version 2) and the Collector's InfluxDB exporter write, so existing queries and dashboards work:
 * measurement = sanitised metric name, data-point attributes as tags, histogram buckets as rows
 * with an `le` tag. Metric names and attribute keys are low-cardinality by OTel convention; ids
 * never become tags.
 */

/** Logs go to one fixed measurement; its name is also kept free of metrics. */
export const LOGS_MEASUREMENT = LOGS.name;

/** The semantic-convention histogram behind the `backend_api_latency` rollup. */
export const HTTP_SERVER_DURATION = 'http.server.request.duration';

export interface SignalMapResult {
  readonly points: MappedPoint[];
  readonly accepted: number;
  readonly rejected: number;
  /** reason → count, for partial_success and the rejected metric. */
  readonly rejections: ReadonlyMap<string, number>;
}

export interface MetricsMapper {
  map(req: MetricsRequest, ctx: MapContext): SignalMapResult;
}
export interface LogsMapper {
  map(req: LogsRequest, ctx: MapContext): SignalMapResult;
}

/** Past InfluxDB's range the whole batch would be refused; refused alone instead, never clamped. */
function timeProblem(ts: bigint): string | undefined {
  if (ts <= 0n) return 'missing time_unix_nano';
  if (ts > MAX_TIMESTAMP_NS) return REASONS.timeRange;
  return undefined;
}

/**
 * Buckets per data point. Every bucket is a point, and a 20 MiB body of packed zero counts is
 * 20 million of them; OTel SDKs default to 160 exponential buckets and a dozen explicit ones.
 */
export const MAX_BUCKETS = 4096;

const INT64_MAX = 2n ** 63n - 1n;

/** Why the points a data point produced cannot be written, if they cannot. */
function unwritable(points: readonly MappedPoint[], from: number): string | undefined {
  for (let i = from; i < points.length; i++) {
    const { point } = points[i] as MappedPoint;
    if (seriesKeyTooLong(point)) return REASONS.seriesKey;
    // Counts are uint64 in OTLP, InfluxDB integers int64: influxd refuses the line ("value out of
    // range"), after the client got its 200. Cumulative bucket sums can pass 2^63 too.
    for (const [, f] of point.fields) if (f.type === 'integer' && typeof f.value === 'bigint' && f.value > INT64_MAX) return 'count out of range (InfluxDB integers are signed 64-bit)';
  }
  return undefined;
}

function asText(v: AttrValue): string {
  return typeof v.value === 'string' ? v.value : String(v.value);
}

function byKey(a: readonly [string, string], b: readonly [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * Prometheus-style metric name: `http.server.request.duration` → `http_server_request_duration`.
 * Dots are legal in line protocol but need quoting in every InfluxQL query; Telegraf and the
 * Prometheus exporters make the same substitution.
 */
export function sanitizeMetricName(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_:]/g, '_');
  if (s === '') s = 'unnamed_metric';
  if (/^[0-9]/.test(s)) s = `_${s}`;
  return s;
}

/**
 * A deterministic identity for a point that has no span id: the same input (an exporter retry)
 * gets the same identity, so the timestamp probe and the embedded store's dedupe treat it
 * as a replay, while distinct points never share one.
 */
function identity(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 32);
}

function seriesIdentity(measurement: string, tags: ReadonlyArray<readonly [string, string]>, ts: bigint): string {
  return identity([measurement, ...tags.map(([k, v]) => `${k}=${v}`), ts.toString()]);
}

/** Histogram bound as a Prometheus `le` label: `0.005`, `10`, `+Inf`. */
export function leLabel(bound: number): string {
  if (bound === Infinity) return '+Inf';
  if (bound === -Infinity) return '-Inf';
  return String(bound);
}

/**
 * An exponential histogram as cumulative explicit buckets (upper bound, cumulative count), lowest
 * first, ending with +Inf. Bucket `i` of the positive range covers (base^i, base^(i+1)] with
 * base = 2^(2^-scale); negative bucket `i` covers [-base^(i+1), -base^i); zeros sit at le 0
 * (spec: opentelemetry-proto metrics.proto, ExponentialHistogramDataPoint).
 */
export function exponentialToExplicit(p: ExpHistogramPoint): Array<[number, bigint]> {
  const base = 2 ** (2 ** -p.scale);
  const out: Array<[number, bigint]> = [];
  let cum = 0n;
  // Most negative first: the highest negative index.
  for (let k = p.negative.counts.length - 1; k >= 0; k--) {
    cum += p.negative.counts[k] ?? 0n;
    out.push([-(base ** (p.negative.offset + k)), cum]);
  }
  cum += p.zeroCount;
  out.push([0, cum]);
  for (let k = 0; k < p.positive.counts.length; k++) {
    cum += p.positive.counts[k] ?? 0n;
    out.push([base ** (p.positive.offset + k + 1), cum]);
  }
  out.push([Infinity, p.count > cum ? p.count : cum]);
  return out;
}

type Fields = Array<readonly [string, FieldValue]>;


// The rollup's tags come from the same attributes as a server span's (schema/attributes.ts), but a
// fallback key counts whenever the primary one is absent (a span's only while the primary's text is empty).
const ROUTE_KEYS = slotKeys(SLOT.route);
const METHOD_KEYS = slotKeys(SLOT.method);
const STATUS_KEYS = slotKeys(SLOT.status);

/** The value of the first of `keys` present, or ''. */
function first(attrs: ReadonlyMap<string, string>, keys: readonly string[]): string {
  for (const k of keys) {
    const v = attrs.get(k);
    if (v !== undefined) return v;
  }
  return '';
}

function push(out: MappedPoint[], measurement: string, tags: Array<[string, string]>, fields: Fields, ts: bigint): void {
  const point: Point = { measurement, tags, fields, timestamp: ts };
  out.push({ point, spanId: seriesIdentity(measurement, tags, ts) });
}

function histogramPoints(measurement: string, tags: Array<[string, string]>, p: HistogramPoint, out: MappedPoint[]): string | undefined {
  if (p.counts.length > 0 && p.counts.length !== p.bounds.length + 1) return 'bucket_counts length does not match explicit_bounds';
  push(out, measurement, tags, summaryFields(p.count, p.sum, p.min, p.max), p.timeUnixNano);
  let cum = 0n;
  for (let i = 0; i < p.counts.length; i++) {
    cum += p.counts[i] ?? 0n;
    const bound = i < p.bounds.length ? (p.bounds[i] as number) : Infinity;
    push(out, measurement, [...tags, ['le', leLabel(bound)] as [string, string]].sort(byKey), [['bucket', { type: 'integer', value: cum }]], p.timeUnixNano);
  }
  return undefined;
}

type MetricDataWithPoints = Exclude<MetricData, { kind: 'none' }>;

/** Appends one data point's points to `out`, or returns why the data point is refused alone. */
function dataPointPoints(data: MetricDataWithPoints, p: MetricDataWithPoints['points'][number], measurement: string, tags: Array<[string, string]>, out: MappedPoint[]): string | undefined {
  switch (data.kind) {
    case 'gauge':
    case 'sum': {
      const v = (p as { value: number }).value;
      if (!Number.isFinite(v)) return 'data point without a finite value';
      // A non-monotonic sum (an up-down counter) behaves like a gauge in queries.
      const key = data.kind === 'sum' && data.monotonic ? 'counter' : 'gauge';
      push(out, measurement, tags, [[key, { type: 'float', value: v }]], p.timeUnixNano);
      break;
    }
    case 'histogram': {
      const hp = p as HistogramPoint;
      if (hp.counts.length > MAX_BUCKETS) return `too many histogram buckets (more than ${MAX_BUCKETS})`;
      return histogramPoints(measurement, tags, hp, out);
    }
    case 'exponential_histogram': {
      const ep = p as ExpHistogramPoint;
      if (ep.positive.counts.length + ep.negative.counts.length > MAX_BUCKETS) return `too many histogram buckets (more than ${MAX_BUCKETS})`;
      const fields = summaryFields(ep.count, ep.sum, ep.min, ep.max);
      fields.push(['scale', { type: 'integer', value: ep.scale }], ['zero_count', { type: 'integer', value: ep.zeroCount }]);
      push(out, measurement, tags, fields, ep.timeUnixNano);
      for (const [bound, cum] of exponentialToExplicit(ep)) {
        push(out, measurement, [...tags, ['le', leLabel(bound)] as [string, string]].sort(byKey), [['bucket', { type: 'integer', value: cum }]], ep.timeUnixNano);
      }
      break;
    }
    case 'summary': {
      const sp = p as { count: bigint; sum: number; quantiles: ReadonlyArray<{ quantile: number; value: number }> };
      const fields: Fields = [['count', { type: 'integer', value: sp.count }]];
      if (Number.isFinite(sp.sum)) fields.push(['sum', { type: 'float', value: sp.sum }]);
      for (const q of sp.quantiles) if (Number.isFinite(q.value)) fields.push([`quantile_${q.quantile}`, { type: 'float', value: q.value }]);
      push(out, measurement, tags, fields, p.timeUnixNano);
      break;
    }
  }
  return undefined;
}

export function createMetricsMapper(rules: MappingRules): MetricsMapper {
  const aliases = new Map(Object.entries(rules.aliases));
  // A metric called `spans` must not land among the spans: built-in measurements are kept for us.
  const builtIn = new Set([rules.frontend.name, rules.backend.name, rules.spans.name, LOGS_MEASUREMENT, LATENCY_ROLLUP.name, TRACE_INDEX.name, SESSION_INDEX.name]);
  const measurementOf = (name: string): string => {
    const s = sanitizeMetricName(name);
    return builtIn.has(s) ? `metric_${s}` : s;
  };

  function tagsOf(attrs: readonly Attribute[], base: Array<[string, string]>): Array<[string, string]> {
    const map = new Map<string, string>(base);
    for (const { key: raw, value } of attrs) {
      const key = aliases.get(raw) ?? raw;
      // The tenant comes from the credential, never from the payload.
      if (key === 'tenant_id') continue;
      let k = key;
      while (METRIC_RESERVED.has(k)) k = `attr_${k}`;
      map.set(k, asText(value));
    }
    return [...map].sort(byKey);
  }

  /** `backend_api_latency` from the request-duration histogram, for backends that send metrics rather than spans. */
  function rollup(metric: MetricRecord, p: HistogramPoint, resourceService: string, temporality: Temporality, ctx: MapContext, out: MappedPoint[]): void {
    const attr = new Map<string, string>();
    for (const { key, value } of p.attributes) attr.set(key, asText(value));
    // Semantic conventions record this histogram in seconds; our latencies are milliseconds.
    const toMs = metric.unit === 'ms' ? 1 : 1000;
    const tags: Array<[string, string]> = [
      ['endpoint', first(attr, ROUTE_KEYS)],
      ['http_method', first(attr, METHOD_KEYS)],
      ['service_name', resourceService],
      ['status_code', first(attr, STATUS_KEYS)],
      ['temporality', temporality],
      ['tenant_id', ctx.tenantId],
    ];
    const fields: Fields = [['request_count', { type: 'integer', value: p.count }]];
    if (p.sum !== undefined && Number.isFinite(p.sum)) fields.push(['latency_sum_ms', { type: 'float', value: p.sum * toMs }]);
    if (p.min !== undefined && Number.isFinite(p.min)) fields.push(['latency_min_ms', { type: 'float', value: p.min * toMs }]);
    if (p.max !== undefined && Number.isFinite(p.max)) fields.push(['latency_max_ms', { type: 'float', value: p.max * toMs }]);
    fields.push(['gateway_instance', { type: 'string', value: ctx.instanceName }]);
    push(out, rules.backend.name, tags, fields, p.timeUnixNano);
  }

  return {
    map(req, ctx) {
      const points: MappedPoint[] = [];
      const rejections = new Map<string, number>();
      let accepted = 0;
      let rejected = 0;
      const refuse = (reason: string): void => {
        rejected++;
        rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
      };
      for (const rm of req.resourceMetrics) {
        let service = '';
        for (const { key, value } of rm.resource) if (key === 'service.name') service = asText(value);
        for (const sm of rm.scopes) {
          for (const metric of sm.metrics) {
            const data = metric.data;
            if (data.kind === 'none') continue;
            const measurement = measurementOf(metric.name);
            const temporality: Temporality = 'temporality' in data ? data.temporality : '';
            const base: Array<[string, string]> = [
              ['service_name', service],
              ['temporality', temporality],
              ['tenant_id', ctx.tenantId],
            ];
            for (const p of data.points) {
              const bad = timeProblem(p.timeUnixNano);
              if (bad !== undefined) {
                refuse(bad);
                continue;
              }
              const tags = tagsOf(p.attributes, base);
              const from = points.length;
              const refused = dataPointPoints(data, p, measurement, tags, points);
              if (refused !== undefined) {
                refuse(refused);
                continue;
              }
              if (data.kind === 'histogram' && metric.name === HTTP_SERVER_DURATION && rules.backend.enabled) rollup(metric, p as HistogramPoint, service, data.temporality, ctx, points);
              const problem = unwritable(points, from);
              if (problem !== undefined) {
                points.length = from;
                refuse(problem);
                continue;
              }
              accepted++;
            }
          }
        }
      }
      return { points, accepted, rejected, rejections };
    },
  };
}

function summaryFields(count: bigint, sum: number | undefined, min: number | undefined, max: number | undefined): Fields {
  const fields: Fields = [['count', { type: 'integer', value: count }]];
  if (sum !== undefined && Number.isFinite(sum)) fields.push(['sum', { type: 'float', value: sum }]);
  if (min !== undefined && Number.isFinite(min)) fields.push(['min', { type: 'float', value: min }]);
  if (max !== undefined && Number.isFinite(max)) fields.push(['max', { type: 'float', value: max }]);
  return fields;
}


const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

export function createLogsMapper(rules: MappingRules, fieldTypes: FieldTypeRegistry): LogsMapper {
  const aliases = new Map(Object.entries(rules.aliases));

  function logProblem(r: LogRecord): string | undefined {
    if (r.traceId !== '' && (!TRACE_ID.test(r.traceId) || /^0+$/.test(r.traceId))) return REASONS.traceId;
    if (r.spanId !== '' && (!SPAN_ID.test(r.spanId) || /^0+$/.test(r.spanId))) return REASONS.spanId;
    return timeProblem(r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano);
  }

  /** Resource attributes first, so a record attribute of the same name wins (as for spans). */
  function attributeFields(resource: readonly Attribute[], attrs: readonly Attribute[], fields: Fields): void {
    const rest = new Map<string, AttrValue>();
    for (const list of [resource, attrs]) {
      for (const { key: raw, value } of list) {
        const key = aliases.get(raw) ?? raw;
        // service.name is the service_name tag; the tenant comes from the credential.
        if (key !== 'tenant_id' && !(list === resource && key === 'service.name')) rest.set(key, value);
      }
    }
    appendAttributeFields(fields, LOGS_MEASUREMENT, rest, LOGS_RESERVED, fieldTypes);
  }

  function logPoint(resource: readonly Attribute[], r: LogRecord, service: string, ctx: MapContext, ts: bigint): Point {
    const tags: Array<[string, string]> = [
      ['service_name', service],
      ['severity_text', r.severityText],
      ['tenant_id', ctx.tenantId],
    ];
    const fields: Fields = [
      ['body', { type: 'string', value: r.body }],
      ['severity_number', { type: 'integer', value: r.severityNumber }],
      ['trace_id', { type: 'string', value: r.traceId }],
      ['span_id', { type: 'string', value: r.spanId }],
      ['gateway_instance', { type: 'string', value: ctx.instanceName }],
    ];
    attributeFields(resource, r.attributes, fields);
    return { measurement: LOGS_MEASUREMENT, tags, fields, timestamp: ts };
  }

  return {
    map(req, ctx) {
      const points: MappedPoint[] = [];
      const rejections = new Map<string, number>();
      // Identical records in one request are still distinct records: number the repeats.
      const seen = new Map<string, number>();
      let accepted = 0;
      let rejected = 0;
      for (const rl of req.resourceLogs) {
        let service = '';
        for (const { key, value } of rl.resource) if (key === 'service.name') service = asText(value);
        for (const sl of rl.scopes) {
          for (const r of sl.records) {
            const bad = logProblem(r);
            const ts = r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano;
            // A browser event (vital, page error) goes to its own measurement instead of `logs`.
            const point = browserEventPoint({ record: r, service, tenantId: ctx.tenantId, timestamp: ts }, aliases) ?? logPoint(rl.resource, r, service, ctx, ts);
            const problem = bad ?? (seriesKeyTooLong(point) ? REASONS.seriesKey : undefined);
            if (problem !== undefined) {
              rejected++;
              rejections.set(problem, (rejections.get(problem) ?? 0) + 1);
              continue;
            }
            accepted++;
            const content = identity([ts.toString(), service, r.severityText, String(r.severityNumber), r.body, r.traceId, r.spanId, sl.scopeName, JSON.stringify(r.attributes), ...(r.eventName === '' ? [] : [r.eventName])]);
            const n = seen.get(content) ?? 0;
            seen.set(content, n + 1);
            points.push({ spanId: n === 0 ? content : identity([content, String(n)]), point });
          }
        }
      }
      return { points, accepted, rejected, rejections };
    },
  };
}
