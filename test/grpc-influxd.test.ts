import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { ExportTraceServiceResponse } from '../gateway/src/otlp/proto.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { createRawGrpcClient, EXPORT_PATHS, type RawGrpcClient } from './support/grpc-client.ts';
import { seriesRows, startInfluxd, waitForRows, type Influxd } from '../harness/influxd.ts';

/**
 * OTLP/gRPC into a real influxd: the official OpenTelemetry JS gRPC exporters, configured by
 * OTEL_EXPORTER_OTLP_* alone, as an app would be; the same request over HTTP and gRPC; and bad
 * input over gRPC, each with its status and nothing written.
 */
let influx: Influxd;
let gw: Gateway;
let raw: RawGrpcClient;
const MAX_BODY = 65_536;

function grpcEndpoint(): string {
  assert.ok(gw.grpcPort !== undefined, 'the gateway serves gRPC by default');
  return `http://127.0.0.1:${gw.grpcPort}`;
}

/** The exporters read these when constructed: set them first, and pass no options. */
function pointSdkAt(tenant: string): void {
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = grpcEndpoint();
  process.env.OTEL_EXPORTER_OTLP_HEADERS = `x-tenant-id=${tenant}`;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc';
}

before(async () => {
  influx = await startInfluxd();
  gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', MAX_BODY_BYTES: String(MAX_BODY), INSTANCE_NAME: 'gw-grpc' });
  raw = createRawGrpcClient(`127.0.0.1:${gw.grpcPort}`);
});

after(async () => {
  for (const k of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_PROTOCOL']) delete process.env[k];
  raw?.close();
  await gw?.stop();
  await influx?.close();
});

async function tenantsStored(): Promise<string[]> {
  const rows = new Set<string>();
  for (const m of ['spans', 'logs', 'frontend_performance']) {
    for (const r of seriesRows(await influx.query(`SHOW TAG VALUES FROM "${m}" WITH KEY = "tenant_id"`))) rows.add(String(r.value));
  }
  return [...rows];
}

/** Spans made once, in memory, with fixed times: the same ReadableSpans go out over both transports. */
function makeSpans(service: string): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'tenant.id': 'forged-resource' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('grpc-test');
  const base = 1_700_000_000;
  const server = tracer.startSpan('GET /cart', { kind: SpanKind.SERVER, startTime: [base, 0], attributes: { 'http.route': '/cart', 'http.request.method': 'GET', 'http.response.status_code': 200, tenant_id: 'forged-span' } });
  const click = tracer.startSpan('loadCart', { startTime: [base, 1000], attributes: { view_name: 'Cart', 'session.id': 's1', element_count: 3, ratio: 0.5 } }, trace.setSpan(ROOT_CONTEXT, server));
  click.end([base, 250_001_000]);
  server.end([base, 300_000_000]);
  return memory.getFinishedSpans();
}

function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) => {
    exporter.export(spans, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error ?? new Error('export failed'))));
  });
}

/** Every row of a measurement for one tenant, without the tenant: what must match across transports. */
async function rowsOf(measurement: string, tenant: string): Promise<Array<Record<string, unknown>>> {
  const rows = seriesRows(await influx.query(`SELECT * FROM "${measurement}" WHERE "tenant_id" = '${tenant}'`));
  return rows.map(({ tenant_id: _t, ...rest }) => rest).sort((a, b) => String(a.span_id).localeCompare(String(b.span_id)));
}

describe('the official OpenTelemetry JS gRPC exporters, configured by OTEL_EXPORTER_OTLP_* alone', () => {
  test('traces, metrics and logs land in influxd with exact values; a tenant in the data never wins', async () => {
    pointSdkAt('acme');
    const resource = resourceFromAttributes({ 'service.name': 'grpc-shop', 'tenant.id': 'evil' });
    const meters = new MeterProvider({ resource, readers: [new PeriodicExportingMetricReader({ exporter: new GrpcMetricExporter(), exportIntervalMillis: 3_600_000 })] });
    const loggers = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: new GrpcLogExporter() })] });
    const tracers = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(new GrpcTraceExporter())] });

    const orders = meters.getMeter('shop').createCounter('grpc.orders');
    orders.add(3, { region: 'eu' });
    orders.add(4, { region: 'us', tenant_id: 'evil' });
    const span = tracers.getTracer('shop').startSpan('POST /orders', { kind: SpanKind.SERVER, startTime: [1_700_000_100, 0], attributes: { 'http.route': '/orders', 'http.request.method': 'POST', 'http.response.status_code': 201, tenant_id: 'evil' } });
    loggers.getLogger('shop').emit({ context: trace.setSpan(ROOT_CONTEXT, span), severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'card retried', attributes: { attempt: 2 } });
    span.end([1_700_000_100, 42_000_000]);
    const traceId = span.spanContext().traceId;
    const spanId = span.spanContext().spanId;
    await Promise.all([meters.shutdown(), loggers.shutdown(), tracers.shutdown()]);

    const spans = await waitForRows(influx, `SELECT * FROM "spans" WHERE "trace_id" = '${traceId}'`, 1);
    assert.deepEqual(
      spans.map((r) => [r.tenant_id, r.service_name, r.span_kind, r.span_id, r.name, r.duration_ns, String(r.time).slice(0, 16)]),
      // The start, to the microsecond (the nanoseconds below it keep spans of one microsecond apart).
      [['acme', 'grpc-shop', 'server', spanId, 'POST /orders', 42_000_000, '1700000100000000']],
    );
    const latency = await waitForRows(influx, `SELECT * FROM "backend_api_latency" WHERE "trace_id" = '${traceId}'`, 1);
    assert.deepEqual(latency.map((r) => [r.tenant_id, r.endpoint, r.http_method, r.status_code, r.latency_ms]), [['acme', '/orders', 'POST', '201', 42]]);
    const counter = await waitForRows(influx, `SELECT "counter" FROM "grpc_orders" WHERE "tenant_id" = 'acme' GROUP BY *`, 2);
    assert.deepEqual(counter.map((r) => [r.region, r.counter, r.temporality, r.service_name]).sort(), [['eu', 3, 'cumulative', 'grpc-shop'], ['us', 4, 'cumulative', 'grpc-shop']]);
    const logs = await waitForRows(influx, `SELECT * FROM "logs" WHERE "trace_id" = '${traceId}'`, 1);
    assert.deepEqual(logs.map((r) => [r.tenant_id, r.body, r.severity_text, r.severity_number, r.span_id, r.attempt]), [['acme', 'card retried', 'WARN', 13, spanId, 2]]);
    assert.ok(!(await tenantsStored()).includes('evil'), 'tenant attributes are discarded');
    assert.ok((await gw.metric('tenantlens_grpc_request_duration_seconds_count', { code: 'OK' })) >= 3, 'the calls are counted under gRPC');
  });

  test('HTTP/protobuf and gRPC store identical rows for the same request', async () => {
    const spans = makeSpans('same-rows');
    pointSdkAt('same-grpc');
    await exportSpans(new GrpcTraceExporter(), spans);
    await exportSpans(new ProtoTraceExporter({ url: `${gw.url}/v1/traces`, headers: { 'x-tenant-id': 'same-http' } }), spans);
    for (const m of ['spans', 'frontend_performance', 'backend_api_latency']) {
      const want = m === 'spans' ? 2 : 1;
      await waitForRows(influx, `SELECT * FROM "${m}" WHERE "tenant_id" = 'same-grpc'`, want);
      await waitForRows(influx, `SELECT * FROM "${m}" WHERE "tenant_id" = 'same-http'`, want);
      const viaGrpc = await rowsOf(m, 'same-grpc');
      assert.equal(viaGrpc.length, want, m);
      assert.deepEqual(viaGrpc, await rowsOf(m, 'same-http'), `${m}: the same rows whichever transport`);
    }
    const frontend = await rowsOf('frontend_performance', 'same-grpc');
    assert.deepEqual([frontend[0]?.view_name, frontend[0]?.session_id, frontend[0]?.duration_ms, frontend[0]?.element_count], ['Cart', 's1', 250, 3]);
  });
});

describe('bad input over gRPC: a clear status, nothing written, the gateway keeps serving', () => {
  const valid = (): Buffer => Buffer.from(ProtobufTraceSerializer.serializeRequest(makeSpans(`bad-${randomBytes(2).toString('hex')}`)) ?? new Uint8Array());

  test('garbage, over the limit before and after gzip, no or a malformed credential', async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const big = Buffer.concat([valid(), Buffer.alloc(MAX_BODY)]);
    const gz = createRawGrpcClient(`127.0.0.1:${gw.grpcPort}`, { 'grpc.default_compression_algorithm': 2 });
    try {
      const cases: Array<[string, () => ReturnType<RawGrpcClient['call']>, number, RegExp]> = [
        ['garbage bytes', () => raw.call(EXPORT_PATHS.traces, garbage, { 'x-tenant-id': 'bad-garbage' }), status.INVALID_ARGUMENT, /./],
        ['a message over MAX_BODY_BYTES', () => raw.call(EXPORT_PATHS.traces, big, { 'x-tenant-id': 'bad-big' }), status.RESOURCE_EXHAUSTED, /larger than/],
        // Zeros compress ~1000×: under the limit on the wire, over it once inflated.
        ['gzip that inflates past MAX_BODY_BYTES', () => gz.call(EXPORT_PATHS.traces, Buffer.concat([valid(), Buffer.alloc(4 * MAX_BODY)]), { 'x-tenant-id': 'bad-bomb' }), status.RESOURCE_EXHAUSTED, /decompresses to a size larger than/],
        ['no credential', () => raw.call(EXPORT_PATHS.traces, valid()), status.UNAUTHENTICATED, /x-tenant-id header is required/],
        ['a malformed tenant', () => raw.call(EXPORT_PATHS.traces, valid(), { 'x-tenant-id': 'bad tenant!' }), status.UNAUTHENTICATED, /not a valid tenant id/],
        ['garbage metrics', () => raw.call(EXPORT_PATHS.metrics, garbage, { 'x-tenant-id': 'bad-metrics' }), status.INVALID_ARGUMENT, /./],
        ['garbage logs', () => raw.call(EXPORT_PATHS.logs, garbage, { 'x-tenant-id': 'bad-logs' }), status.INVALID_ARGUMENT, /./],
      ];
      for (const [name, send, code, message] of cases) {
        const r = await send();
        assert.equal(r.code, code, `${name}: ${status[r.code]} ${r.details}`);
        assert.match(r.details, message, name);
        assert.equal(r.retryDelaySeconds, undefined, `${name}: not retryable, no RetryInfo`);
      }
      // gzip itself is fine: a compressed message under the limit is stored.
      const ok = await gz.call(EXPORT_PATHS.traces, valid(), { 'x-tenant-id': 'good-gzip' });
      assert.equal(ok.code, status.OK, ok.details);
    } finally {
      gz.close();
    }
    await waitForRows(influx, `SELECT * FROM "spans" WHERE "tenant_id" = 'good-gzip'`, 2);
    const stored = await tenantsStored();
    assert.deepEqual(stored.filter((t) => t.startsWith('bad')), [], 'nothing written for a refused call');
    assert.ok((await gw.metric('tenantlens_requests_refused_total', { transport: 'grpc', reason: 'TL_UNAUTHENTICATED' })) >= 2);
    assert.ok((await gw.metric('tenantlens_requests_refused_total', { transport: 'grpc', reason: 'TL_MALFORMED_BODY' })) >= 3);
    assert.equal(await gw.metric('tenantlens_requests_refused_total', { reason: 'TL_INTERNAL' }), 0, 'no internal errors');
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  });

  test('a span refused alone: OK with partial_success (rejected_spans, error_message) in the Export response; the rest stored', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'grpc-partial' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('partial');
    tracer.startSpan('fine', { startTime: [1_700_000_200, 0] }).end([1_700_000_200, 5_000_000]);
    // Past InfluxDB's last nanosecond (2262): refused alone, as over HTTP.
    tracer.startSpan('too late', { startTime: [9_300_000_000, 0] }).end([9_300_000_001, 0]);
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans()) ?? new Uint8Array());
    const r = await raw.call(EXPORT_PATHS.traces, body, { 'x-tenant-id': 'grpc-partial' });
    assert.equal(r.code, status.OK, r.details);
    const answer = ExportTraceServiceResponse.decode(r.response ?? Buffer.alloc(0)) as { partialSuccess?: { rejectedSpans?: unknown; errorMessage?: string } };
    assert.equal(Number(answer.partialSuccess?.rejectedSpans), 1);
    assert.match(answer.partialSuccess?.errorMessage ?? '', /1 span\(s\): timestamp out of range/);
    const stored = await waitForRows(influx, `SELECT * FROM "spans" WHERE "tenant_id" = 'grpc-partial'`, 1);
    assert.deepEqual(stored.map((row) => row.name), ['fine']);
  });

  test('an unknown method is UNIMPLEMENTED; grpc.health.v1 answers SERVING', async () => {
    const r = await raw.call('/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export', Buffer.alloc(0), { 'x-tenant-id': 'acme' });
    assert.equal(r.code, status.UNIMPLEMENTED);
    // HealthCheckRequest { service = "" } is the empty message; HealthCheckResponse { status = SERVING (1) } is 08 01.
    const health = await raw.call('/grpc.health.v1.Health/Check', Buffer.alloc(0));
    assert.equal(health.code, status.OK, health.details);
    assert.deepEqual([...(health.response ?? [])], [0x08, 0x01]);
  });
});

describe('GRPC_TLS_CERT_FILE / GRPC_TLS_KEY_FILE', () => {
  test('TLS on: a client trusting the certificate is served; a plaintext client is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-grpc-tls-'));
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const tls = await startGateway({ DATA_DIR: dir, TENANT_AUTH: 'header', GRPC_TLS_CERT_FILE: cert, GRPC_TLS_KEY_FILE: key });
    const check = (client: Client): Promise<number> =>
      new Promise((resolve) => {
        client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err === null ? 0 : (err.code ?? -1)));
      });
    try {
      assert.ok(tls.logs().some((l) => l.grpcTls === true), 'the start-up line says TLS is on');
      const secure = new Client(`localhost:${tls.grpcPort}`, credentials.createSsl(readFileSync(cert)));
      const plain = new Client(`127.0.0.1:${tls.grpcPort}`, credentials.createInsecure());
      try {
        assert.equal(await check(secure), status.OK);
        assert.notEqual(await check(plain), status.OK);
      } finally {
        secure.close();
        plain.close();
      }
    } finally {
      await tls.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
