import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ExportLogsServiceRequest, ExportLogsServiceResponse, ExportMetricsServiceRequest } from '../gateway/src/otlp/proto.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { seriesRows, startInfluxd, waitForRows, type Influxd } from '../harness/influxd.ts';

/**
 * All three signals from one setting: the official OpenTelemetry JS SDKs (metrics, logs, traces),
 * configured through OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_HEADERS alone, as an app
 * would be, export to the real gateway; the values are read back from a real influxd by InfluxQL.
 */
const ADMIN = 'operator-token-for-the-metrics-logs-test';

let influx: Influxd;
let gw: Gateway;

/** The exporters read these when constructed: set them first, and pass no `url`. */
function pointSdkAt(tenant: string): void {
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = gw.url;
  process.env.OTEL_EXPORTER_OTLP_HEADERS = `x-tenant-id=${tenant}`;
}

interface Sdk {
  meters: MeterProvider;
  loggers: LoggerProvider;
  tracers: BasicTracerProvider;
  shutdown(): Promise<void>;
}

function createSdk(encoding: 'protobuf' | 'json', tenant: string, service: string): Sdk {
  pointSdkAt(tenant);
  const resource = resourceFromAttributes({ 'service.name': service });
  const meters = new MeterProvider({
    resource,
    // A long interval: the only export is the one at shutdown, so each series has exactly one point.
    readers: [new PeriodicExportingMetricReader({ exporter: encoding === 'protobuf' ? new ProtoMetricExporter() : new JsonMetricExporter(), exportIntervalMillis: 3_600_000 })],
  });
  const loggers = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: encoding === 'protobuf' ? new ProtoLogExporter() : new JsonLogExporter() })] });
  const tracers = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(encoding === 'protobuf' ? new ProtoTraceExporter() : new JsonTraceExporter())] });
  return {
    meters,
    loggers,
    tracers,
    async shutdown() {
      await Promise.all([meters.shutdown(), loggers.shutdown(), tracers.shutdown()]);
    },
  };
}

before(async () => {
  influx = await startInfluxd();
  gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', MAX_BODY_BYTES: '65536', ADMIN_TOKEN: ADMIN, INSTANCE_NAME: 'gw-ml' });
});

after(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
  await gw?.stop();
  await influx?.close();
});

describe('real OpenTelemetry SDKs → /v1/metrics, /v1/logs, /v1/traces → real influxd', () => {
  let traceId = '';
  let spanId = '';

  test('protobuf: a counter, a gauge, a histogram and logs inside a span land with exact values', async () => {
    const sdk = createSdk('protobuf', 'acme', 'shop-api');
    const meter = sdk.meters.getMeter('shop');
    const orders = meter.createCounter('orders.placed');
    orders.add(3, { region: 'eu' });
    orders.add(4, { region: 'eu' });
    orders.add(2, { region: 'us', tenant_id: 'spoofed' });
    meter.createGauge('queue.depth').record(42.5, { queue: 'mail' });
    const duration = meter.createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 0.5, 1] } });
    const attrs = { 'http.route': '/orders/:id', 'http.request.method': 'POST', 'http.response.status_code': 201 };
    for (const v of [0.05, 0.2, 0.3, 2]) duration.record(v, attrs);

    const span = sdk.tracers.getTracer('shop').startSpan('POST /orders/:id', { kind: SpanKind.SERVER });
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    const logger = sdk.loggers.getLogger('shop');
    logger.emit({ context: ctx, severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'order placed', attributes: { order_id: 'o-1', items: 3, gift: true } });
    logger.emit({ context: ctx, severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: { code: 42, reason: 'card declined' } });
    span.end();
    traceId = span.spanContext().traceId;
    spanId = span.spanContext().spanId;
    // Shutdown exports once more and then stops: one collection, so one point per series.
    await sdk.shutdown();

    const counter = await waitForRows(influx, `SELECT "counter" FROM "orders_placed" WHERE "tenant_id" = 'acme' GROUP BY *`, 2);
    assert.deepEqual(
      counter.map((r) => [r.region, r.counter, r.temporality, r.service_name, r.tenant_id]).sort(),
      [
        ['eu', 7, 'cumulative', 'shop-api', 'acme'],
        ['us', 2, 'cumulative', 'shop-api', 'acme'],
      ],
      'the spoofed tenant_id attribute is dropped, the credential decides',
    );
    const gauge = await waitForRows(influx, `SELECT "gauge" FROM "queue_depth" WHERE "tenant_id" = 'acme' GROUP BY *`, 1);
    assert.deepEqual(gauge.map((r) => [r.queue, r.gauge, r.service_name]), [['mail', 42.5, 'shop-api']]);

    const hist = await waitForRows(influx, `SELECT "count", "sum", "min", "max" FROM "http_server_request_duration" WHERE "tenant_id" = 'acme' AND "le" = ''`, 1);
    assert.equal(hist.length, 1);
    assert.equal(hist[0]?.count, 4);
    assert.ok(Math.abs((hist[0]?.sum as number) - 2.55) < 1e-12, `sum ${String(hist[0]?.sum)}`);
    assert.deepEqual([hist[0]?.min, hist[0]?.max], [0.05, 2]);
    const buckets = await waitForRows(influx, `SELECT "bucket" FROM "http_server_request_duration" WHERE "tenant_id" = 'acme' GROUP BY "le"`, 4);
    assert.deepEqual(Object.fromEntries(buckets.map((r) => [r.le, r.bucket])), { '0.1': 1, '0.5': 3, '1': 3, '+Inf': 4 }, 'cumulative, Prometheus style');
    const types = Object.fromEntries(seriesRows(await influx.query('SHOW FIELD KEYS FROM "http_server_request_duration"')).map((r) => [r.fieldKey, r.fieldType]));
    assert.deepEqual(types, { bucket: 'integer', count: 'integer', max: 'float', min: 'float', sum: 'float' });

    const rollup = await waitForRows(influx, `SELECT "request_count", "latency_sum_ms", "latency_min_ms", "latency_max_ms" FROM "backend_api_latency" WHERE "tenant_id" = 'acme' AND "request_count" > 0 GROUP BY *`, 1);
    assert.equal(rollup.length, 1);
    assert.deepEqual([rollup[0]?.endpoint, rollup[0]?.http_method, rollup[0]?.status_code, rollup[0]?.service_name, rollup[0]?.request_count], ['/orders/:id', 'POST', '201', 'shop-api', 4]);
    assert.ok(Math.abs((rollup[0]?.latency_sum_ms as number) - 2550) < 1e-9);
    assert.deepEqual([rollup[0]?.latency_min_ms, rollup[0]?.latency_max_ms], [50, 2000]);

    const logs = await waitForRows(influx, `SELECT * FROM "logs" WHERE "trace_id" = '${traceId}'`, 2);
    const byBody = Object.fromEntries(logs.map((r) => [r.body, r]));
    const info = byBody['order placed'];
    assert.deepEqual(
      [info?.severity_text, info?.severity_number, info?.span_id, info?.service_name, info?.tenant_id, info?.order_id, info?.items, info?.gift],
      ['INFO', 9, spanId, 'shop-api', 'acme', 'o-1', 3, true],
    );
    const error = byBody['{"code":42,"reason":"card declined"}'];
    assert.deepEqual([error?.severity_text, error?.severity_number, error?.span_id], ['ERROR', 17, spanId], 'a structured body is stored as JSON');

    assert.equal(await gw.metric('tenantlens_log_records_accepted_total'), 2);
    assert.ok((await gw.metric('tenantlens_data_points_accepted_total')) >= 4);
  });

  test('the trace drill-down shows the log records next to their span', async () => {
    const deadline = Date.now() + 10_000;
    let body: { spans: Array<{ spanId: string; name: string }>; logs: Array<{ spanId: string; body: string; severityText: string; attributes: Record<string, unknown> }> };
    for (;;) {
      const res = await fetch(`${gw.url}/api/v1/traces/${traceId}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      body = (await res.json()) as typeof body;
      if ((res.status === 200 && body.spans.length === 1 && body.logs.length === 2) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(body.spans.map((s) => [s.spanId, s.name]), [[spanId, 'POST /orders/:id']]);
    assert.deepEqual(body.logs.map((l) => [l.spanId, l.severityText, l.body]).sort(), [
      [spanId, 'ERROR', '{"code":42,"reason":"card declined"}'],
      [spanId, 'INFO', 'order placed'],
    ]);
    const info = body.logs.find((l) => l.body === 'order placed');
    assert.deepEqual([info?.attributes.order_id, info?.attributes.items, info?.attributes.gift], ['o-1', 3, true]);
  });

  test('OTLP/JSON: the same SDKs with the -http exporters', async () => {
    const sdk = createSdk('json', 'globex', 'billing');
    const meter = sdk.meters.getMeter('billing');
    meter.createCounter('invoices').add(5, { plan: 'pro' });
    meter.createUpDownCounter('sessions.active').add(-3);
    const span = sdk.tracers.getTracer('billing').startSpan('charge');
    sdk.loggers.getLogger('billing').emit({ context: trace.setSpan(ROOT_CONTEXT, span), severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'retrying charge', attributes: { attempt: 2 } });
    span.end();
    // Shutdown exports once more and then stops: one collection, so one point per series.
    await sdk.shutdown();

    const inv = await waitForRows(influx, `SELECT "counter" FROM "invoices" WHERE "tenant_id" = 'globex' GROUP BY *`, 1);
    assert.deepEqual(inv.map((r) => [r.plan, r.counter, r.temporality, r.service_name]), [['pro', 5, 'cumulative', 'billing']]);
    const active = await waitForRows(influx, `SELECT "gauge" FROM "sessions_active" WHERE "tenant_id" = 'globex'`, 1);
    assert.deepEqual(active.map((r) => r.gauge), [-3], 'an up-down counter is stored as a gauge');
    const logs = await waitForRows(influx, `SELECT * FROM "logs" WHERE "trace_id" = '${span.spanContext().traceId}'`, 1);
    assert.deepEqual(logs.map((r) => [r.body, r.severity_text, r.severity_number, r.span_id, r.attempt, r.tenant_id]), [['retrying charge', 'WARN', 13, span.spanContext().spanId, 2, 'globex']]);
  });
});

describe('/v1/metrics and /v1/logs by hand: replays, partial success, bad input', () => {
  const T = (BigInt(Date.now()) - 60_000n) * 1_000_000n;
  const headers = { 'content-type': 'application/json', 'x-tenant-id': 'initech' };
  const metricsJson = (points: unknown[]) =>
    JSON.stringify({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hand' } }] }, scopeMetrics: [{ metrics: [{ name: 'replayed', gauge: { dataPoints: points } }] }] }] });
  const logsJson = (records: unknown[]) => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] });

  test('a replayed request (an exporter retry) writes nothing twice; identical log records in one request are both kept', async () => {
    const m = metricsJson([{ timeUnixNano: String(T), asDouble: 1.5 }]);
    const l = logsJson([
      { timeUnixNano: String(T), body: { stringValue: 'same' } },
      { timeUnixNano: String(T), body: { stringValue: 'same' } },
    ]);
    for (let i = 0; i < 2; i++) {
      assert.equal((await fetch(`${gw.url}/v1/metrics`, { method: 'POST', headers, body: m })).status, 200);
      assert.equal((await fetch(`${gw.url}/v1/logs`, { method: 'POST', headers, body: l })).status, 200);
    }
    await waitForRows(influx, `SELECT * FROM "logs" WHERE "tenant_id" = 'initech' AND "body" = 'same'`, 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(seriesRows(await influx.query(`SELECT * FROM "replayed" WHERE "tenant_id" = 'initech'`)).length, 1);
    assert.equal(seriesRows(await influx.query(`SELECT * FROM "logs" WHERE "tenant_id" = 'initech' AND "body" = 'same'`)).length, 2);
  });

  test('partial success in the request encoding: JSON metrics, protobuf logs', async () => {
    const res = await fetch(`${gw.url}/v1/metrics`, { method: 'POST', headers, body: metricsJson([{ timeUnixNano: String(T + 1n), asDouble: 2 }, { asDouble: 3 }]) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { partialSuccess: { rejectedDataPoints: '1', errorMessage: '1 data point(s): missing time_unix_nano' } });

    const pb = ExportLogsServiceRequest.encode({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: String(T), body: { stringValue: 'fine' } }, { timeUnixNano: String(T), traceId: Buffer.from('abcd', 'hex') }] }] }] }).finish();
    const res2 = await fetch(`${gw.url}/v1/logs`, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-protobuf' }, body: pb });
    assert.equal(res2.status, 200);
    assert.equal(res2.headers.get('content-type'), 'application/x-protobuf');
    const decoded = ExportLogsServiceResponse.decode(new Uint8Array(await res2.arrayBuffer())) as { partialSuccess?: { rejectedLogRecords: { toString(): string }; errorMessage: string } };
    assert.equal(decoded.partialSuccess?.rejectedLogRecords.toString(), '1');
    assert.equal(decoded.partialSuccess?.errorMessage, '1 log record(s): invalid trace_id (must be 16 bytes, not all zero)');
  });

  const MALLORY = { 'x-tenant-id': 'mallory' };
  const okMetrics = Buffer.from(ExportMetricsServiceRequest.encode({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'mallory_m', gauge: { dataPoints: [{ timeUnixNano: String(T), asDouble: 1 }] } }] }] }] }).finish());
  const okLogs = logsJson([{ timeUnixNano: String(T), body: { stringValue: 'mallory' } }]);
  for (const path of ['/v1/metrics', '/v1/logs'] as const) {
    const ok = path === '/v1/metrics' ? { body: okMetrics, type: 'application/x-protobuf' } : { body: okLogs, type: 'application/json' };
    const cases: Array<{ name: string; status: number; message: RegExp; init: RequestInit }> = [
      { name: 'malformed protobuf', status: 400, message: /protobuf/, init: { body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), headers: { 'content-type': 'application/x-protobuf', ...MALLORY } } },
      { name: 'malformed JSON', status: 400, message: /invalid JSON/, init: { body: '{"resource', headers: { 'content-type': 'application/json', ...MALLORY } } },
      { name: 'JSON of the wrong shape', status: 400, message: /\$\.resource(Metrics|Logs)\[0\]/, init: { body: '{"resourceMetrics":[{"scopeMetrics":{}}],"resourceLogs":[{"scopeLogs":{}}]}', headers: { 'content-type': 'application/json', ...MALLORY } } },
      { name: 'text/plain', status: 415, message: /Content-Type/, init: { body: ok.body, headers: { 'content-type': 'text/plain', ...MALLORY } } },
      { name: 'gzip bomb', status: 413, message: /after decompression/, init: { body: gzipSync(Buffer.alloc(10_000_000, 0x20)), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...MALLORY } } },
      { name: 'no tenant', status: 401, message: /x-tenant-id/, init: { body: ok.body, headers: { 'content-type': ok.type } } },
    ];
    for (const c of cases) {
      test(`${path}: ${c.name} → ${c.status}`, async () => {
        const res = await fetch(`${gw.url}${path}`, { method: 'POST', ...c.init });
        assert.equal(res.status, c.status);
        const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
        assert.match(text, c.message);
      });
    }
    test(`${path}: gzip-compressed requests are accepted (the control: a good body from the same tenant would land)`, async () => {
      const res = await fetch(`${gw.url}${path}`, { method: 'POST', body: gzipSync(ok.body), headers: { 'content-type': ok.type, 'content-encoding': 'gzip', 'x-tenant-id': 'umbrella' } });
      assert.equal(res.status, 200);
    });
  }

  test('nothing was written for the refused requests; the gzip controls were', async () => {
    await waitForRows(influx, `SELECT * FROM "logs" WHERE "tenant_id" = 'umbrella'`, 1);
    await waitForRows(influx, `SELECT * FROM "mallory_m" WHERE "tenant_id" = 'umbrella'`, 1);
    await new Promise((r) => setTimeout(r, 300));
    const tenants = seriesRows(await influx.query('SHOW TAG VALUES WITH KEY = "tenant_id"')).map((r) => r.value);
    assert.ok(tenants.includes('umbrella'));
    assert.ok(!tenants.includes('mallory'), `mallory wrote something: ${JSON.stringify(tenants)}`);
  });
});
