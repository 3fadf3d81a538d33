import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../src/errors.ts';
import { encodeLine } from '../src/influx/line-protocol.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';
import { createLogsMapper, createMetricsMapper, exponentialToExplicit, leLabel, sanitizeMetricName } from '../src/mapping/map-signals.ts';
import type { MapContext } from '../src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../src/mapping/rules.ts';
import { decodeLogsRequest, decodeMetricsRequest } from '../src/otlp/decode-signals.ts';
import { ExportLogsServiceRequest, ExportMetricsServiceRequest } from '../src/otlp/proto.ts';
import type { ExpHistogramPoint } from '../src/otlp/signals.ts';

const CTX: MapContext = { tenantId: 'acme', instanceName: 'gw-1' };
const T = '1700000000123456789';
const kv = (key: string, v: string | number | boolean) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
});
const json = (o: unknown): Uint8Array => Buffer.from(JSON.stringify(o));
const metricsBody = (metrics: unknown[]) => ({ resourceMetrics: [{ resource: { attributes: [kv('service.name', 'api')] }, scopeMetrics: [{ scope: { name: 's' }, metrics }] }] });
/** Each point as its line-protocol line (without the timestamp probe), the most readable exact form. */
const lines = (points: ReadonlyArray<{ point: Parameters<typeof encodeLine>[0] }>): string[] => points.map((p) => encodeLine(p.point) ?? '<nothing to write>');

test('metric names are sanitised the Prometheus way; built-in measurement names are kept for us', () => {
  const table: Array<[string, string]> = [
    ['http.server.request.duration', 'http_server_request_duration'],
    ['app-requests/total', 'app_requests_total'],
    ['9lives', '_9lives'],
    ['ns:metric_1', 'ns:metric_1'],
    ['', 'unnamed_metric'],
  ];
  for (const [name, want] of table) assert.equal(sanitizeMetricName(name), want, name);
  const mapper = createMetricsMapper(DEFAULT_RULES);
  for (const [name, want] of [
    ['spans', 'metric_spans'],
    ['logs', 'metric_logs'],
    ['backend_api_latency', 'metric_backend_api_latency'],
  ]) {
    const r = mapper.map(decodeMetricsRequest(json(metricsBody([{ name, gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1 }] } }])), 'json'), CTX);
    assert.equal(r.points[0]?.point.measurement, want);
  }
});

test('le labels follow Prometheus: plain numbers and +Inf', () => {
  assert.deepEqual([0.005, 10, 2.5, Infinity].map(leLabel), ['0.005', '10', '2.5', '+Inf']);
});

test('gauges and sums: one point per data point, typed field, attributes as tags, temporality tag, spoofed tenant dropped', () => {
  const req = metricsBody([
    { name: 'queue.depth', unit: '1', gauge: { dataPoints: [{ timeUnixNano: T, asInt: '7', attributes: [kv('queue', 'mail'), kv('tenant_id', 'evil')] }] } },
    {
      name: 'requests',
      sum: {
        aggregationTemporality: 2,
        isMonotonic: true,
        dataPoints: [
          { timeUnixNano: T, asDouble: 12, attributes: [kv('route', '/a')] },
          { timeUnixNano: T, asInt: '3', attributes: [kv('route', '/b'), kv('le', 'x')] },
        ],
      },
    },
    { name: 'in_flight', sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA', isMonotonic: false, dataPoints: [{ timeUnixNano: T, asInt: '-2' }] } },
  ]);
  const r = createMetricsMapper(DEFAULT_RULES).map(decodeMetricsRequest(json(req), 'json'), CTX);
  assert.deepEqual(lines(r.points), [
    `queue_depth,queue=mail,service_name=api,tenant_id=acme gauge=7 ${T}`,
    `requests,route=/a,service_name=api,temporality=cumulative,tenant_id=acme counter=12 ${T}`,
    `requests,attr_le=x,route=/b,service_name=api,temporality=cumulative,tenant_id=acme counter=3 ${T}`,
    // An up-down counter is a gauge for queries; delta stays delta.
    `in_flight,service_name=api,temporality=delta,tenant_id=acme gauge=-2 ${T}`,
  ]);
  assert.equal(r.accepted, 4);
  assert.equal(r.rejected, 0);
});

test('histograms: count/sum/min/max, then cumulative buckets with an le tag; http.server.request.duration also rolls up into backend_api_latency', () => {
  const req = metricsBody([
    {
      name: 'http.server.request.duration',
      unit: 's',
      histogram: {
        aggregationTemporality: 2,
        dataPoints: [
          {
            timeUnixNano: T,
            count: '4',
            sum: 0.35,
            min: 0.01,
            max: 0.2,
            explicitBounds: [0.05, 0.1],
            bucketCounts: ['2', '1', '1'],
            attributes: [kv('http.route', '/users/:id'), kv('http.request.method', 'GET'), kv('http.response.status_code', 200)],
          },
        ],
      },
    },
  ]);
  const r = createMetricsMapper(DEFAULT_RULES).map(decodeMetricsRequest(json(req), 'json'), CTX);
  const tags = 'http.request.method=GET,http.response.status_code=200,http.route=/users/:id';
  assert.deepEqual(lines(r.points), [
    `http_server_request_duration,${tags},service_name=api,temporality=cumulative,tenant_id=acme count=4i,sum=0.35,min=0.01,max=0.2 ${T}`,
    `http_server_request_duration,${tags},le=0.05,service_name=api,temporality=cumulative,tenant_id=acme bucket=2i ${T}`,
    `http_server_request_duration,${tags},le=0.1,service_name=api,temporality=cumulative,tenant_id=acme bucket=3i ${T}`,
    `http_server_request_duration,${tags},le=+Inf,service_name=api,temporality=cumulative,tenant_id=acme bucket=4i ${T}`,
    `backend_api_latency,endpoint=/users/:id,http_method=GET,service_name=api,status_code=200,temporality=cumulative,tenant_id=acme request_count=4i,latency_sum_ms=350,latency_min_ms=10,latency_max_ms=200,gateway_instance="gw-1" ${T}`,
  ]);
  assert.equal(r.accepted, 1, 'one data point, however many points it makes');
  // Distinct identities for every point; the same request again gets the same ones (a replay).
  const again = createMetricsMapper(DEFAULT_RULES).map(decodeMetricsRequest(json(req), 'json'), CTX);
  assert.equal(new Set(r.points.map((p) => p.spanId)).size, r.points.length);
  assert.deepEqual(again.points.map((p) => p.spanId), r.points.map((p) => p.spanId));
});

test('a histogram whose bucket counts do not match its bounds, and data points without a time or value, are refused alone', () => {
  const req = metricsBody([
    { name: 'h', histogram: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: T, count: '1', explicitBounds: [1, 2], bucketCounts: ['1'] }] } },
    { name: 'g', gauge: { dataPoints: [{ asDouble: 1 }, { timeUnixNano: T }, { timeUnixNano: T, asDouble: 5 }] } },
  ]);
  const r = createMetricsMapper(DEFAULT_RULES).map(decodeMetricsRequest(json(req), 'json'), CTX);
  assert.deepEqual(lines(r.points), [`g,service_name=api,tenant_id=acme gauge=5 ${T}`]);
  assert.equal(r.rejected, 3);
  assert.deepEqual(
    [...r.rejections].sort(),
    [
      ['bucket_counts length does not match explicit_bounds', 1],
      ['data point without a finite value', 1],
      ['missing time_unix_nano', 1],
    ],
  );
});

test('exponential histograms become cumulative explicit buckets (scale 0: base 2), keeping scale and zero_count', () => {
  const p: ExpHistogramPoint = {
    attributes: [],
    timeUnixNano: 1n,
    count: 10n,
    sum: 3,
    min: -1.5,
    max: 3.5,
    scale: 0,
    zeroCount: 3n,
    zeroThreshold: 0,
    positive: { offset: 0, counts: [1n, 2n] }, // (1,2]: 1, (2,4]: 2
    negative: { offset: 0, counts: [4n] }, // [-2,-1): 4
  };
  assert.deepEqual(exponentialToExplicit(p), [
    [-1, 4n],
    [0, 7n],
    [2, 8n],
    [4, 10n],
    [Infinity, 10n],
  ]);
  // Scale 1: base √2, offset -2 → first upper bound √2^-1.
  assert.deepEqual(exponentialToExplicit({ ...p, scale: 1, zeroCount: 0n, count: 1n, negative: { offset: 0, counts: [] }, positive: { offset: -2, counts: [1n] } }), [
    [0, 0n],
    [2 ** -0.5, 1n],
    [Infinity, 1n],
  ]);
  const req = metricsBody([
    { name: 'e', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T, count: '3', sum: 6, scale: 0, zeroCount: '0', positive: { offset: 1, bucketCounts: ['3'] } }] } },
  ]);
  const r = createMetricsMapper(DEFAULT_RULES).map(decodeMetricsRequest(json(req), 'json'), CTX);
  const tags = 'service_name=api,temporality=cumulative,tenant_id=acme';
  assert.deepEqual(lines(r.points), [
    `e,${tags} count=3i,sum=6,scale=0i,zero_count=0i ${T}`,
    `e,le=0,${tags} bucket=0i ${T}`,
    `e,le=4,${tags} bucket=3i ${T}`,
    `e,le=+Inf,${tags} bucket=3i ${T}`,
  ]);
});

test('summaries: count, sum and one field per quantile', () => {
  const req = metricsBody([{ name: 'rpc', summary: { dataPoints: [{ timeUnixNano: T, count: '9', sum: 45, quantileValues: [{ quantile: 0.5, value: 4 }, { quantile: 0.99, value: 9 }] }] } }]);
  const r = createMetricsMapper(DEFAULT_RULES).map(decodeMetricsRequest(json(req), 'json'), CTX);
  assert.deepEqual(lines(r.points), [`rpc,service_name=api,tenant_id=acme count=9i,sum=45,quantile_0.5=4,quantile_0.99=9 ${T}`]);
});

test('metrics: protobuf and OTLP/JSON decode to the same request', () => {
  const pb = ExportMetricsServiceRequest.encode({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
        scopeMetrics: [
          {
            metrics: [
              { name: 'g', gauge: { dataPoints: [{ timeUnixNano: 1700000000123456789n.toString(), asInt: 7, attributes: [{ key: 'q', value: { stringValue: 'm' } }] }] } },
              { name: 'h', unit: 's', histogram: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: T, count: 2, sum: 1.5, explicitBounds: [1], bucketCounts: [1, 1] }] } },
            ],
          },
        ],
      },
    ],
  }).finish();
  const js = metricsBody([
    { name: 'g', gauge: { dataPoints: [{ timeUnixNano: T, asInt: '7', attributes: [kv('q', 'm')] }] } },
    { name: 'h', unit: 's', histogram: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: T, count: '2', sum: 1.5, explicitBounds: [1], bucketCounts: ['1', '1'] }] } },
  ]);
  js.resourceMetrics[0]!.scopeMetrics[0]!.scope = { name: '' };
  assert.deepEqual(decodeMetricsRequest(pb, 'protobuf'), decodeMetricsRequest(json(js), 'json'));
});

test('malformed metrics and logs are 400s naming the problem', () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => decodeMetricsRequest(json({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: 'soon' }] } }] }] }] }), 'json'), /\$\.resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]\.gauge\.dataPoints\[0\]\.timeUnixNano/],
    [() => decodeMetricsRequest(Buffer.from('{'), 'json'), /invalid JSON/],
    [() => decodeMetricsRequest(Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'protobuf'), /invalid protobuf ExportMetricsServiceRequest/],
    [() => decodeLogsRequest(json({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 'LOUD' }] }] }] }), 'json'), /logRecords\[0\]\.severityNumber/],
    [() => decodeLogsRequest(Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'protobuf'), /invalid protobuf ExportLogsServiceRequest/],
  ];
  for (const [fn, msg] of cases) {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.status, 400);
      assert.match(err.message, msg);
      return true;
    });
  }
});

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const logsBody = (records: unknown[], resource: unknown[] = []) => ({ resourceLogs: [{ resource: { attributes: [kv('service.name', 'api'), ...resource] }, scopeLogs: [{ scope: { name: 'l' }, logRecords: records }] }] });

test('logs: tags tenant/service/severity_text; body (structured as JSON), severity_number, ids, typed attributes', () => {
  const req = logsBody([
    { timeUnixNano: T, severityNumber: 9, severityText: 'INFO', body: { stringValue: 'user "x" loaded' }, traceId: TRACE, spanId: SPAN, attributes: [kv('rows', 3), kv('cached', true), kv('body', 'dup'), kv('tenant.id', 'evil')] },
    { observedTimeUnixNano: T, severityNumber: 'SEVERITY_NUMBER_ERROR', body: { kvlistValue: { values: [kv('code', 42), { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }] } } }] } } },
  ], [kv('host.name', 'web-1'), kv('rows', 'from-resource'), kv('tenant.id', 'evil-too')]);
  const r = createLogsMapper(DEFAULT_RULES, new FieldTypeRegistry()).map(decodeLogsRequest(json(req), 'json'), CTX);
  assert.deepEqual(lines(r.points), [
    // Resource attributes are fields too (like on spans); the record's own `rows` wins over the resource's.
    `logs,service_name=api,severity_text=INFO,tenant_id=acme body="user \\"x\\" loaded",severity_number=9i,trace_id="${TRACE}",span_id="${SPAN}",gateway_instance="gw-1",host.name="web-1",rows=3,cached=true,attr_body="dup" ${T}`,
    // No time_unix_nano: the observed time stands in. An empty severity_text writes no tag. `rows`
    // is a float in `logs` since the first record, so the resource's string goes to rows__string.
    `logs,service_name=api,tenant_id=acme body="{\\"code\\":42,\\"tags\\":[\\"a\\"]}",severity_number=17i,trace_id="",span_id="",gateway_instance="gw-1",host.name="web-1",rows__string="from-resource" ${T}`,
  ]);
});

test('logs: identical records stay distinct, a replay keeps its identities, bad ids and times are refused alone', () => {
  const rec = { timeUnixNano: T, severityNumber: 9, body: { stringValue: 'tick' } };
  const req = logsBody([rec, rec, { ...rec, traceId: 'abc' }, { ...rec, timeUnixNano: '0' }, { ...rec, spanId: '0000000000000000' }]);
  const mapper = createLogsMapper(DEFAULT_RULES, new FieldTypeRegistry());
  const r = mapper.map(decodeLogsRequest(json(req), 'json'), CTX);
  assert.equal(r.points.length, 2);
  assert.notEqual(r.points[0]?.spanId, r.points[1]?.spanId);
  assert.deepEqual(mapper.map(decodeLogsRequest(json(req), 'json'), CTX).points.map((p) => p.spanId), r.points.map((p) => p.spanId));
  assert.deepEqual([...r.rejections].sort(), [
    ['invalid span_id (must be 8 bytes, not all zero)', 1],
    ['invalid trace_id (must be 16 bytes, not all zero)', 1],
    ['missing time_unix_nano', 1],
  ]);
});

test('logs: protobuf and OTLP/JSON decode to the same request', () => {
  const pb = ExportLogsServiceRequest.encode({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
        scopeLogs: [
          {
            scope: { name: 'l' },
            logRecords: [{ timeUnixNano: T, severityNumber: 13, severityText: 'WARN', body: { stringValue: 'slow' }, traceId: Buffer.from(TRACE, 'hex'), spanId: Buffer.from(SPAN, 'hex'), attributes: [{ key: 'n', value: { doubleValue: 1.5 } }] }],
          },
        ],
      },
    ],
  }).finish();
  const js = logsBody([{ timeUnixNano: T, severityNumber: 13, severityText: 'WARN', body: { stringValue: 'slow' }, traceId: TRACE.toUpperCase(), spanId: SPAN, attributes: [kv('n', 1.5)] }]);
  assert.deepEqual(decodeLogsRequest(pb, 'protobuf'), decodeLogsRequest(json(js), 'json'));
});
