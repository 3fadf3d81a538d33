import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd, waitForRows, type Influxd } from '../harness/influxd.ts';
import { startIngress, type Ingress } from '../demo/ingress.ts';

/**
 * Ingress spans in the tenant's trace (issue 15 §3, docs/ingress-spans.md). Debian's caddy 2.6.2
 * is built without its tracing module, so the ingress here is a real OpenTelemetry-instrumented
 * reverse proxy (demo/ingress.cjs: @opentelemetry/sdk-trace-node +
 * instrumentation-http, exporting over OTLP/gRPC with the infrastructure credential). Behind it,
 * an app continues the trace from `traceparent` and exports its server span as the tenant.
 */
const INFRA_TOKEN = 'infrastructure-token-for-the-ingress-test';
const ADMIN = 'operator-token-for-the-ingress-span-test';

let influx: Influxd;
let gw: Gateway;
let app: Server;
let ingress: Ingress;
const appTrace = new Map<string, string>();

/** The app: continues the trace from `traceparent` and exports its SERVER span under the tenant the request names. */
function startApp(): Promise<Server> {
  const propagator = new W3CTraceContextPropagator();
  const server = createServer((req, res) => {
    const tenant = String(req.headers['x-tenant-id']);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shop-api' }),
      spanProcessors: [new SimpleSpanProcessor(new ProtoTraceExporter({ url: `${gw.url}/v1/traces`, headers: { 'x-tenant-id': tenant } }))],
    });
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, { get: (h, k) => h[k] as string | undefined, keys: (h) => Object.keys(h) });
    const span = provider.getTracer('app').startSpan('GET /cart', { kind: SpanKind.SERVER, attributes: { 'http.route': '/cart', 'http.request.method': 'GET', 'http.response.status_code': 200 } }, parent);
    appTrace.set(tenant, span.spanContext().traceId);
    span.end();
    void provider.shutdown().then(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  influx = await startInfluxd();
  gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', ADMIN_TOKEN: ADMIN, INFRA_TOKEN });
  app = await startApp();
  ingress = await startIngress({ upstream: `http://127.0.0.1:${(app.address() as AddressInfo).port}`, grpcEndpoint: `http://127.0.0.1:${gw.grpcPort ?? 0}`, token: INFRA_TOKEN });
});

after(async () => {
  await ingress?.close();
  await new Promise((r) => app?.close(r));
  await gw?.stop();
  await influx?.close();
});

interface Span {
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  tenant: string;
  service: string;
}

async function drill(traceId: string, headers: Record<string, string>): Promise<{ status: number; spans: Span[] }> {
  const res = await fetch(`${gw.url}/api/v1/traces/${traceId}`, { headers });
  const body = (await res.json()) as { spans?: Span[] };
  return { status: res.status, spans: body.spans ?? [] };
}

describe('ingress spans through the infrastructure credential', () => {
  test('a request through the ingress: one trace, ingress SERVER → CLIENT → app SERVER, in the tenant\'s drill-down only', async () => {
    for (const tenant of ['acme', 'globex']) {
      const res = await fetch(`${ingress.url}/cart`, { headers: { 'x-tenant-id': tenant } });
      assert.equal(res.status, 200);
    }
    const acmeTrace = appTrace.get('acme') as string;
    const globexTrace = appTrace.get('globex') as string;
    // Two ingress spans per request (its SERVER and CLIENT spans) arrive over gRPC under the infra tenant.
    await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'tenantlens-infra'`, 4);
    await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'acme'`, 1);

    const acme = await drill(acmeTrace, { 'x-tenant-id': 'acme' });
    assert.equal(acme.status, 200);
    const byKind = (kind: string, tenant: string): Span | undefined => acme.spans.find((s) => s.kind === kind && s.tenant === tenant);
    const ingressServer = byKind('server', 'tenantlens-infra');
    const ingressClient = byKind('client', 'tenantlens-infra');
    const appServer = byKind('server', 'acme');
    assert.ok(ingressServer && ingressClient && appServer, `three spans: ${JSON.stringify(acme.spans.map((s) => [s.tenant, s.kind, s.name]))}`);
    assert.equal(acme.spans.length, 3);
    assert.equal(ingressServer.parentSpanId, '', 'the trace starts at the ingress');
    assert.equal(ingressClient.parentSpanId, ingressServer.spanId);
    assert.equal(appServer.parentSpanId, ingressClient.spanId, 'the app span is a child of the ingress (traceparent)');
    assert.equal(ingressServer.service, 'ingress');

    // globex's trace holds the ingress spans of globex's request, never acme's, and acme can't open it.
    const globex = await drill(globexTrace, { 'x-tenant-id': 'globex' });
    assert.deepEqual(globex.spans.map((s) => s.tenant).sort(), ['globex', 'tenantlens-infra', 'tenantlens-infra']);
    assert.equal((await drill(globexTrace, { 'x-tenant-id': 'acme' })).status, 404, 'another tenant\'s trace id opens nothing, not even its ingress spans');
  });

  test('no tenant can list, search or claim the infrastructure tenant; the infrastructure token reads nothing', async () => {
    const asAcme = { 'x-tenant-id': 'acme' };
    assert.equal((await fetch(`${gw.url}/api/v1/tenants/tenantlens-infra/traces`, { headers: asAcme })).status, 403);
    assert.equal((await fetch(`${gw.url}/api/v1/tenants/tenantlens-infra/traces`, { headers: { 'x-tenant-id': 'tenantlens-infra' } })).status, 401, 'the reserved id is no tenant credential');
    const listed = (await (await fetch(`${gw.url}/api/v1/tenants`, { headers: asAcme })).json()) as { tenants: Array<{ tenant: string }> };
    assert.deepEqual(listed.tenants.map((t) => t.tenant), ['acme']);
    assert.equal((await fetch(`${gw.url}/api/v1/tenants`, { headers: { authorization: `Bearer ${INFRA_TOKEN}` } })).status, 401, 'the infrastructure token is a write credential only');
    // Nor can a tenant write as infrastructure through the trusted header.
    const forged = await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'tenantlens-infra' }, body: '{"resourceSpans":[]}' });
    assert.equal(forged.status, 401);
  });

  test('per-tenant percentiles never count an infrastructure span as the tenant\'s own', async () => {
    const res = await fetch(`${gw.url}/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const { tenants } = (await res.json()) as { tenants: Array<{ tenant: string; backend: { count: number } }> };
    const acme = tenants.find((t) => t.tenant === 'acme');
    assert.equal(acme?.backend.count, 1, 'acme\'s backend latency holds its own server span only, not the ingress\'s SERVER span');
  });
});
