import { GatewayError } from '../errors.ts';
import type { Attribute } from './model.ts';
import {
  arr,
  enumValue,
  fail,
  field,
  hexId,
  int64Str,
  jsonAttributes,
  jsonDouble,
  jsonPlain,
  JsonShapeError,
  obj,
  optStr,
  parseOtlpJson,
  uint64,
  type Json,
} from './decode.ts';
import {
  temporalityName,
  type ExpBuckets,
  type LogRecord,
  type LogsRequest,
  type MetricData,
  type MetricRecord,
  type MetricsRequest,
  type NumberPoint,
} from './signals.ts';

// The OTLP/JSON half of decode-signals.ts: metrics and logs, camelCase or snake_case keys, enums by number or name.

const parseJson = parseOtlpJson;

function shapeErrors<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof JsonShapeError) throw new GatewayError('MALFORMED_BODY', `invalid OTLP/JSON ${what}: ${err.message}`);
    throw err;
  }
}

const TEMPORALITY_NAMES: Record<string, number> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

function optObj(v: unknown, path: string): Json {
  return v === undefined || v === null ? {} : obj(v, path);
}

/** An absent `optional double` stays undefined (histogram sum/min/max). */
function optDouble(v: unknown, path: string): number | undefined {
  return v === undefined || v === null ? undefined : jsonDouble(v, path);
}

/** sint32 (bucket offset, scale): a plain JSON number in OTLP/JSON. */
function jsonInt(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) fail(path, 'a 32-bit integer');
  return v;
}

function jsonNumberPoints(v: unknown, path: string): NumberPoint[] {
  return arr(v, path).map((raw, i) => {
    const p = `${path}[${i}]`;
    const o = obj(raw, p);
    const asInt = field(o, 'asInt', 'as_int');
    const asDouble = field(o, 'asDouble', 'as_double');
    return {
      attributes: jsonAttributes(o.attributes, `${p}.attributes`),
      timeUnixNano: uint64(field(o, 'timeUnixNano', 'time_unix_nano'), `${p}.timeUnixNano`),
      value: asDouble !== undefined && asDouble !== null ? jsonDouble(asDouble, `${p}.asDouble`) : asInt !== undefined && asInt !== null ? Number(int64Str(asInt, `${p}.asInt`)) : NaN,
    };
  });
}

function jsonCounts(v: unknown, path: string): bigint[] {
  return arr(v, path).map((c, i) => uint64(c, `${path}[${i}]`));
}

function jsonBuckets(v: unknown, path: string): ExpBuckets {
  const o = optObj(v, path);
  return { offset: jsonInt(o.offset, `${path}.offset`), counts: jsonCounts(field(o, 'bucketCounts', 'bucket_counts'), `${path}.bucketCounts`) };
}

function jsonMetricData(m: Json, path: string): MetricData {
  const temporality = (o: Json, p: string) => temporalityName(enumValue(field(o, 'aggregationTemporality', 'aggregation_temporality'), TEMPORALITY_NAMES, `${p}.aggregationTemporality`));
  const dps = (o: Json) => field(o, 'dataPoints', 'data_points');
  if (m.gauge !== undefined && m.gauge !== null) {
    const g = obj(m.gauge, `${path}.gauge`);
    return { kind: 'gauge', points: jsonNumberPoints(dps(g), `${path}.gauge.dataPoints`) };
  }
  if (m.sum !== undefined && m.sum !== null) {
    const s = obj(m.sum, `${path}.sum`);
    const mono = field(s, 'isMonotonic', 'is_monotonic');
    if (mono !== undefined && mono !== null && typeof mono !== 'boolean') fail(`${path}.sum.isMonotonic`, 'a boolean');
    return { kind: 'sum', monotonic: mono === true, temporality: temporality(s, `${path}.sum`), points: jsonNumberPoints(dps(s), `${path}.sum.dataPoints`) };
  }
  if (m.histogram !== undefined && m.histogram !== null) {
    const h = obj(m.histogram, `${path}.histogram`);
    return {
      kind: 'histogram',
      temporality: temporality(h, `${path}.histogram`),
      points: arr(dps(h), `${path}.histogram.dataPoints`).map((raw, i) => {
        const p = `${path}.histogram.dataPoints[${i}]`;
        const o = obj(raw, p);
        return {
          attributes: jsonAttributes(o.attributes, `${p}.attributes`),
          timeUnixNano: uint64(field(o, 'timeUnixNano', 'time_unix_nano'), `${p}.timeUnixNano`),
          count: uint64(o.count, `${p}.count`),
          sum: optDouble(o.sum, `${p}.sum`),
          min: optDouble(o.min, `${p}.min`),
          max: optDouble(o.max, `${p}.max`),
          bounds: arr(field(o, 'explicitBounds', 'explicit_bounds'), `${p}.explicitBounds`).map((b, j) => jsonDouble(b, `${p}.explicitBounds[${j}]`)),
          counts: jsonCounts(field(o, 'bucketCounts', 'bucket_counts'), `${p}.bucketCounts`),
        };
      }),
    };
  }
  const eh = field(m, 'exponentialHistogram', 'exponential_histogram');
  if (eh !== undefined && eh !== null) {
    const h = obj(eh, `${path}.exponentialHistogram`);
    return {
      kind: 'exponential_histogram',
      temporality: temporality(h, `${path}.exponentialHistogram`),
      points: arr(dps(h), `${path}.exponentialHistogram.dataPoints`).map((raw, i) => {
        const p = `${path}.exponentialHistogram.dataPoints[${i}]`;
        const o = obj(raw, p);
        return {
          attributes: jsonAttributes(o.attributes, `${p}.attributes`),
          timeUnixNano: uint64(field(o, 'timeUnixNano', 'time_unix_nano'), `${p}.timeUnixNano`),
          count: uint64(o.count, `${p}.count`),
          sum: optDouble(o.sum, `${p}.sum`),
          min: optDouble(o.min, `${p}.min`),
          max: optDouble(o.max, `${p}.max`),
          scale: jsonInt(o.scale, `${p}.scale`),
          zeroCount: uint64(field(o, 'zeroCount', 'zero_count'), `${p}.zeroCount`),
          zeroThreshold: optDouble(field(o, 'zeroThreshold', 'zero_threshold'), `${p}.zeroThreshold`) ?? 0,
          positive: jsonBuckets(o.positive, `${p}.positive`),
          negative: jsonBuckets(o.negative, `${p}.negative`),
        };
      }),
    };
  }
  if (m.summary !== undefined && m.summary !== null) {
    const s = obj(m.summary, `${path}.summary`);
    return {
      kind: 'summary',
      points: arr(dps(s), `${path}.summary.dataPoints`).map((raw, i) => {
        const p = `${path}.summary.dataPoints[${i}]`;
        const o = obj(raw, p);
        return {
          attributes: jsonAttributes(o.attributes, `${p}.attributes`),
          timeUnixNano: uint64(field(o, 'timeUnixNano', 'time_unix_nano'), `${p}.timeUnixNano`),
          count: uint64(o.count, `${p}.count`),
          sum: optDouble(o.sum, `${p}.sum`) ?? 0,
          quantiles: arr(field(o, 'quantileValues', 'quantile_values'), `${p}.quantileValues`).map((q, j) => {
            const qo = obj(q, `${p}.quantileValues[${j}]`);
            return { quantile: optDouble(qo.quantile, `${p}.quantileValues[${j}].quantile`) ?? 0, value: optDouble(qo.value, `${p}.quantileValues[${j}].value`) ?? 0 };
          }),
        };
      }),
    };
  }
  return { kind: 'none' };
}

type Keys = readonly [camel: string, snake: string];

/**
 * The OTLP/JSON envelope every signal shares: resource<X>[] → { resource, scope<X>[] → { scope,
 * items[] } }. `item` decodes one item at its JSON path.
 */
function jsonResourceScopes<T>(
  root: Json,
  resourceKey: Keys,
  scopeKey: Keys,
  itemsKey: Keys,
  item: (raw: Json, path: string) => T,
): Array<{ resource: Attribute[]; scopes: Array<{ scopeName: string; items: T[] }> }> {
  return arr(field(root, ...resourceKey), `$.${resourceKey[0]}`).map((rRaw, i) => {
    const p = `$.${resourceKey[0]}[${i}]`;
    const r = obj(rRaw, p);
    const resource = optObj(r.resource, `${p}.resource`);
    return {
      resource: jsonAttributes(resource.attributes, `${p}.resource.attributes`),
      scopes: arr(field(r, ...scopeKey), `${p}.${scopeKey[0]}`).map((sRaw, j) => {
        const sp = `${p}.${scopeKey[0]}[${j}]`;
        const sc = obj(sRaw, sp);
        const scope = optObj(sc.scope, `${sp}.scope`);
        return {
          scopeName: optStr(scope.name, `${sp}.scope.name`),
          items: arr(field(sc, ...itemsKey), `${sp}.${itemsKey[0]}`).map((raw, k) => {
            const ip = `${sp}.${itemsKey[0]}[${k}]`;
            return item(obj(raw, ip), ip);
          }),
        };
      }),
    };
  });
}

export function metricsFromJson(body: Uint8Array): MetricsRequest {
  const parsed = parseJson(body);
  return shapeErrors('ExportMetricsServiceRequest', () => ({
    resourceMetrics: jsonResourceScopes(obj(parsed, '$'), ['resourceMetrics', 'resource_metrics'], ['scopeMetrics', 'scope_metrics'], ['metrics', 'metrics'], (m, mp): MetricRecord => ({
      name: optStr(m.name, `${mp}.name`),
      unit: optStr(m.unit, `${mp}.unit`),
      data: jsonMetricData(m, mp),
    })).map((rm) => ({ resource: rm.resource, scopes: rm.scopes.map((sm) => ({ scopeName: sm.scopeName, metrics: sm.items })) })),
  }));
}

const SEVERITY_NAMES: Record<string, number> = Object.fromEntries(
  ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'].map(
    (n, i) => [`SEVERITY_NUMBER_${n}`, i],
  ),
);

function jsonBody(v: unknown, path: string): string {
  if (v === undefined || v === null) return '';
  const o = obj(v, path);
  if ('stringValue' in o) return optStr(o.stringValue, `${path}.stringValue`);
  const plain = jsonPlain(o, path);
  // An AnyValue with no member set is empty, as an attribute value is (model.ts EMPTY_VALUE).
  return plain === null ? '' : JSON.stringify(plain);
}

export function logsFromJson(body: Uint8Array): LogsRequest {
  const parsed = parseJson(body);
  return shapeErrors('ExportLogsServiceRequest', () => ({
    resourceLogs: jsonResourceScopes(obj(parsed, '$'), ['resourceLogs', 'resource_logs'], ['scopeLogs', 'scope_logs'], ['logRecords', 'log_records'], (r, rp): LogRecord => {
      return {
        timeUnixNano: uint64(field(r, 'timeUnixNano', 'time_unix_nano'), `${rp}.timeUnixNano`),
        observedTimeUnixNano: uint64(field(r, 'observedTimeUnixNano', 'observed_time_unix_nano'), `${rp}.observedTimeUnixNano`),
        severityNumber: enumValue(field(r, 'severityNumber', 'severity_number'), SEVERITY_NAMES, `${rp}.severityNumber`),
        severityText: optStr(field(r, 'severityText', 'severity_text'), `${rp}.severityText`),
        body: jsonBody(r.body, `${rp}.body`),
        attributes: jsonAttributes(r.attributes, `${rp}.attributes`),
        traceId: hexId(field(r, 'traceId', 'trace_id'), `${rp}.traceId`),
        spanId: hexId(field(r, 'spanId', 'span_id'), `${rp}.spanId`),
        eventName: optStr(field(r, 'eventName', 'event_name'), `${rp}.eventName`),
      };
    }).map((rl) => ({ resource: rl.resource, scopes: rl.scopes.map((sl) => ({ scopeName: sl.scopeName, records: sl.items })) })),
  }));
}
