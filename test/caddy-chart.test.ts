/**
 * The chart's Caddyfile, telegraf.conf, dashboard and helm-test script against real binaries:
 * Debian's caddy 2.6.2, the real gateway (its sources under tsx; the image runs the same code compiled) and Debian's influxd.
 * Everything listens on 127.0.0.1 with random ports; Caddy's admin API too; no ACME (TLS is
 * either off or Caddy's offline `tls internal`).
 *
 * Caddy 2.6 does not know the global `metrics` option the chart uses for the pinned Caddy
 * 2.11, so the running Caddy gets the chart's own 2.6 variant (caddy.metrics.legacySyntax),
 * rendered by helm from the same templates and values; the first test pins down that this
 * is the only difference.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import YAML from 'yaml';
import { parsePrometheusText } from '../harness/prometheus.ts';
import { caddyAdapt, caddyFmt, caddyVersion, startCaddy, type Caddy, type CaddyPorts } from './support/caddy.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { RELEASE, scenarios, stagedChart, template } from './support/helm.ts';
import { startInfluxd, type Influxd, type InfluxSeries } from '../harness/influxd.ts';
import { createOtelClient, hrAt, SpanKind } from './support/otel.ts';
import { createRawGrpcClient, EXPORT_PATHS } from './support/grpc-client.ts';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const run = promisify(execFile);
type Obj = Record<string, unknown>;
interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { containers?: Array<{ args?: string[]; command?: string[] }> };
}

const GATEWAY_CM = `${RELEASE}-tenantlens-gateway`;
const CADDY_CM = `${RELEASE}-tenantlens-caddy`;
const TELEGRAF_CM = `${RELEASE}-tenantlens-telegraf`;
const JWT_SECRET = 'helm-test-hmac-secret-of-at-least-32-bytes!';

let chart: { dir: string; cleanup(): Promise<void> };
let files: Map<string, string>;
let influx: Influxd;
let gateway: Gateway; // header mode, as in ci/header-auth-values.yaml
let stub: { server: Server; url: string; seen: Array<{ path: string; headers: IncomingHttpHeaders }> };
let caddy: Caddy;

const rows = (series: InfluxSeries[]): Obj[] => series.flatMap((s) => s.values.map((v) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) })));

async function render(scenario: string, args: string[]): Promise<K8sDoc[]> {
  const out = await template(chart.dir, ['--values', files.get(scenario) as string, ...args]);
  return YAML.parseAllDocuments(out)
    .map((d) => d.toJS() as K8sDoc | null)
    .filter((d): d is K8sDoc => d !== null);
}
const configMap = (docs: K8sDoc[], name: string): Record<string, string> => {
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === name);
  assert.ok(cm?.data, `ConfigMap ${name}`);
  return cm.data;
};

/** The header-auth scenario's Caddyfile, as Debian's Caddy 2.6 needs it, for local ports. */
async function headerAuthCaddyfile(ports: CaddyPorts, gatewayUpstream = `127.0.0.1:${gateway.port}`): Promise<string> {
  const docs = await render('header-auth', [
    ...['caddy.metrics.legacySyntax=true', 'caddy.metrics.perHost=false', 'caddy.tls.mode=off', 'caddy.bind=127.0.0.1'].flatMap((s) => ['--set', s]),
    '--set-json', 'caddy.hosts=[]',
    '--set', `caddy.ports.http=${ports.http}`, '--set', `caddy.ports.https=${ports.https}`, '--set', `caddy.ports.metrics=${ports.metrics}`, '--set', `caddy.adminPort=${ports.admin}`,
    '--set', `caddy.gatewayUpstream=${gatewayUpstream}`,
    '--set', `caddy.gatewayGrpcUpstream=127.0.0.1:${gateway.grpcPort ?? 0}`,
    '--set', `caddy.tenantHeader.forwardAuth.url=${stub.url}`,
    '--set', `caddy.appUpstream=${stub.url}`,
  ]);
  return configMap(docs, CADDY_CM).Caddyfile as string;
}

/**
 * Auth service and app upstream in one: /tenantlens/verify answers like a real auth service
 * (Bearer key → tenant in X-Auth-Tenant, else 401); any other path echoes the headers it got.
 */
async function startStub(): Promise<typeof stub> {
  const seen: typeof stub.seen = [];
  const tenants: Record<string, string> = { 'Bearer key-acme': 'acme', 'Bearer key-globex': 'globex' };
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    if (req.url?.startsWith('/tenantlens/verify')) {
      const tenant = tenants[req.headers.authorization ?? ''];
      if (tenant === undefined) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('unknown API key');
        return;
      }
      res.writeHead(200, { 'x-auth-tenant': tenant }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ app: true, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  chart = await stagedChart();
  files = await scenarios();
  [influx, stub] = await Promise.all([startInfluxd(), startStub()]);
  gateway = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', INSTANCE_NAME: 'gw-caddy-1' });
  caddy = await startCaddy(headerAuthCaddyfile);
});

after(async () => {
  await caddy?.close();
  await gateway?.stop();
  await influx?.close();
  await new Promise((r) => stub?.server.close(r));
  await chart?.cleanup();
});

describe('the chart Caddyfile on a real Caddy', () => {
  test('Debian caddy is 2.6: it refuses the chart default (global metrics, Caddy >= 2.9) and adapts the 2.6 variant; only the metrics block differs', async () => {
    assert.match(await caddyVersion(), /^v?2\.6\./);
    for (const [name] of files) {
      const current = configMap(await render(name, []), CADDY_CM).Caddyfile as string;
      const legacy = configMap(await render(name, ['--set', 'caddy.metrics.legacySyntax=true', '--set', 'caddy.metrics.perHost=false']), CADDY_CM).Caddyfile as string;
      const refused = await caddyAdapt(current);
      assert.notEqual(refused.code, 0, name);
      assert.match(refused.stderr, /unrecognized global option: metrics/, name);
      // Debian's 2.6 build has no tracing module: the tracing scenario is adapted with it off, and
      // only that directive is what it refuses (the pinned image has the module).
      const tracing = name === 'ingress-tracing';
      if (tracing) assert.match((await caddyAdapt(legacy)).stderr, /unrecognized directive: tracing/, name);
      const adaptable = tracing ? (configMap(await render(name, ['--set', 'caddy.metrics.legacySyntax=true', '--set', 'caddy.metrics.perHost=false', '--set', 'caddy.tracing.enabled=false']), CADDY_CM).Caddyfile as string) : legacy;
      const adapted = await caddyAdapt(adaptable);
      assert.equal(adapted.code, 0, `${name}: ${adapted.stderr}`);
      assert.equal((adapted.json as { admin: { listen: string } }).admin.listen, '127.0.0.1:2019', `${name}: admin API on loopback`);
      // Both are `caddy fmt` canonical, so Caddy logs no "not formatted" warning.
      assert.equal(await caddyFmt(current), current, `${name}: current syntax is not caddy-fmt formatted`);
      assert.equal(await caddyFmt(legacy), legacy, `${name}: legacy syntax is not caddy-fmt formatted`);
      const a = current.split('\n');
      const b = legacy.split('\n');
      const onlyInCurrent = a.filter((l) => !b.includes(l));
      const onlyInLegacy = b.filter((l) => !a.includes(l));
      assert.deepEqual(onlyInCurrent, [`# Rendered by the tenantlens chart (tenantlens-0.1.0) for Caddy >= 2.9.`, '\tmetrics {', '\t\tper_host'], name);
      assert.deepEqual(onlyInLegacy, [`# Rendered by the tenantlens chart (tenantlens-0.1.0) for Caddy < 2.9.`, '\tservers {', '\t\tmetrics'], name);
    }
  });

  test('the adapted TLS-secret config loads the mounted certificate files', async () => {
    const legacy = configMap(await render('tls-secret', ['--set', 'caddy.metrics.legacySyntax=true', '--set', 'caddy.metrics.perHost=false']), CADDY_CM).Caddyfile as string;
    const { json } = await caddyAdapt(legacy);
    const tls = (json as { apps: { tls: { certificates: { load_files: Array<{ certificate: string; key: string }> } } } }).apps.tls;
    assert.deepEqual(tls.certificates.load_files.map((f) => [f.certificate, f.key]), [['/etc/caddy-tls/tls.crt', '/etc/caddy-tls/tls.key']]);
  });

  test('OTLP from real exporters goes through Caddy to the gateway, with the tenant the auth service vouches for; a client X-Tenant-ID is discarded', async () => {
    const base = Math.floor(Date.now() / 1000) - 120;
    const clients = [
      createOtelClient({ encoding: 'protobuf', url: caddy.url, serviceName: 'caddy-e2e-proto', headers: { Authorization: 'Bearer key-acme', 'X-Tenant-ID': 'evil' } }),
      createOtelClient({ encoding: 'json', url: caddy.url, serviceName: 'caddy-e2e-json', headers: { Authorization: 'Bearer key-globex', 'X-Tenant-ID': 'evil' } }),
    ];
    try {
      for (const [i, client] of clients.entries()) {
        client.span('GET /cart', { kind: SpanKind.SERVER, start: hrAt(base, i * 1000), end: hrAt(base, i * 1000 + 12_000_000), attributes: { 'http.route': '/cart', 'http.request.method': 'GET', 'http.response.status_code': 200 } });
        client.span('loadCart', { kind: SpanKind.INTERNAL, start: hrAt(base, i * 1000 + 500), end: hrAt(base, i * 1000 + 30_000_000), attributes: { view_name: 'Cart', 'session.id': `s${i}` } });
        await client.flush();
      }
    } finally {
      await Promise.all(clients.map((c) => c.shutdown()));
    }
    const spans = await waitFor('4 spans in InfluxDB', async () => {
      const r = rows(await influx.query(`SELECT * FROM spans WHERE service_name =~ /^caddy-e2e/`));
      return r.length >= 4 ? r : undefined;
    });
    assert.deepEqual(
      spans.map((s) => `${s.service_name} ${s.tenant_id}`).sort(),
      ['caddy-e2e-json globex', 'caddy-e2e-json globex', 'caddy-e2e-proto acme', 'caddy-e2e-proto acme'],
    );
    const tenants = rows(await influx.query('SHOW TAG VALUES FROM spans WITH KEY = "tenant_id"')).map((r) => r.value);
    assert.ok(!tenants.includes('evil'), `a client-chosen tenant reached InfluxDB: ${tenants.join(', ')}`);
    // Stripped before forward_auth: the auth service never sees the client's copy either.
    const authCalls = stub.seen.filter((s) => s.path.startsWith('/tenantlens/verify'));
    assert.ok(authCalls.length >= 4);
    for (const call of authCalls) assert.equal(call.headers['x-tenant-id'], undefined);
    // Caddy's JSON access log has the requests.
    await waitFor('4 access-log lines for POST /v1/traces', async () => {
      const logged = caddy.accessLogs().filter((l) => (l.request as Obj | undefined)?.uri === '/v1/traces' && (l.request as Obj).method === 'POST' && l.status === 200);
      return logged.length >= 4 ? true : undefined;
    });
  });

  test('OTLP/gRPC through Caddy (h2c in, h2c to the gateway): the tenant the auth service vouches for, never the client\'s metadata', async () => {
    const client = createRawGrpcClient(`127.0.0.1:${caddy.ports.http}`);
    const service = 'caddy-e2e-grpc';
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(memory)] });
    provider.getTracer('caddy-grpc').startSpan('grpc via caddy').end();
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans()) ?? new Uint8Array());
    try {
      const ok = await client.call(EXPORT_PATHS.traces, body, { authorization: 'Bearer key-acme', 'x-tenant-id': 'evil' });
      assert.equal(ok.code, 0, `OK through Caddy: ${ok.details}`);
      const refused = await client.call(EXPORT_PATHS.traces, body, { 'x-tenant-id': 'acme' });
      assert.notEqual(refused.code, 0, 'no credential: the auth service refuses, nothing reaches the gateway');
    } finally {
      client.close();
    }
    const stored = await waitFor('the gRPC span in InfluxDB', async () => {
      const r = rows(await influx.query(`SELECT * FROM spans WHERE service_name = '${service}'`));
      return r.length >= 1 ? r : undefined;
    });
    assert.deepEqual(stored.map((r) => r.tenant_id), ['acme']);
  });

  test('without a credential the auth service answers and nothing reaches the gateway', async () => {
    const before = await gateway.metric('tenantlens_spans_received_total');
    const res = await fetch(`${caddy.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Tenant-ID': 'acme' }, body: '{"resourceSpans":[]}' });
    assert.equal(res.status, 401);
    assert.equal(await res.text(), 'unknown API key');
    assert.equal(await gateway.metric('tenantlens_spans_received_total'), before);
  });

  test('everything else goes to the app upstream, without the tenant header; /healthz answers 200 itself', async () => {
    const res = await fetch(`${caddy.url}/shop/cart`, { headers: { 'X-Tenant-ID': 'evil' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { app: boolean; headers: Obj };
    assert.equal(body.app, true);
    assert.equal(body.headers['x-tenant-id'], undefined);
    const health = await fetch(`${caddy.url}/healthz`);
    assert.equal(health.status, 200);
  });

  test('Caddy metrics count the proxied OTLP requests, as the gateway does', async () => {
    // gRPC calls are HTTP/2 POSTs answered 200 too (the gRPC status travels in the trailers).
    const atGateway =
      (await gateway.metric('tenantlens_http_request_duration_seconds_count', { route: '/v1/traces', status: '200' })) +
      (await gateway.metric('tenantlens_grpc_request_duration_seconds_count', { code: 'OK' }));
    assert.ok(atGateway >= 4, `gateway saw ${atGateway}`);
    // Caddy observes a request after its response is written, so the last one may lag a moment.
    // Caddy 2.6 instruments every handler; "subroute" is the site block's outermost one.
    let samples: ReturnType<typeof parsePrometheusText>['samples'] = [];
    let viaCaddy = -1;
    await waitFor(`Caddy to count ${atGateway} proxied POSTs`, async () => {
      const parsed = parsePrometheusText(await (await fetch(caddy.metricsUrl)).text());
      assert.equal(parsed.types.get('caddy_http_request_duration_seconds'), 'histogram');
      samples = parsed.samples;
      viaCaddy = samples
        .filter((s) => s.name === 'caddy_http_request_duration_seconds_count' && s.labels.method === 'POST' && s.labels.code === '200' && s.labels.handler === 'subroute')
        .reduce((n, s) => n + s.value, 0);
      return viaCaddy >= atGateway ? true : undefined;
    }, 3_000);
    assert.equal(viaCaddy, atGateway, 'every 200 the gateway answered went through Caddy, and Caddy counted it');
    const refused = samples.filter((s) => s.name === 'caddy_http_request_duration_seconds_count' && s.labels.code === '401' && s.labels.method === 'POST');
    assert.ok(refused.length > 0, 'the 401 is counted too');
    assert.deepEqual(Object.keys(samples.find((s) => s.name === 'caddy_http_request_duration_seconds_count')?.labels ?? {}).sort(), ['code', 'handler', 'method', 'server']);
  });

  test('the console through Caddy: GET /console/ (no credential, no tenant header) and POST /console/v1/traces (forward_auth, tenant header set) reach the gateway; /api/ still does', async () => {
    // A recording stand-in for the gateway, so the routing is checked whatever the gateway serves.
    const got: Array<{ method: string; path: string; headers: IncomingHttpHeaders; body: string }> = [];
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ gateway: true }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const consoleCaddy = await startCaddy((ports) => headerAuthCaddyfile(ports, `127.0.0.1:${(upstream.address() as AddressInfo).port}`));
    try {
      const reached = async (path: string, init: RequestInit = {}): Promise<(typeof got)[number] | undefined> => {
        const before = got.length;
        const res = await fetch(`${consoleCaddy.url}${path}`, init);
        const body = await res.text();
        if (got.length === before) return undefined;
        assert.equal(res.status, 200, `${path}: ${body}`);
        assert.deepEqual(JSON.parse(body), { gateway: true });
        return got[got.length - 1];
      };
      // The page and its assets: a browser's navigation carries no credential, so no forward_auth;
      // a client's X-Tenant-ID is stripped as everywhere.
      for (const path of ['/console/', '/console', '/console/assets/index-3f2a9c.js', '/console/?tenant=acme&from=-1h&to=now']) {
        const authBefore = stub.seen.length;
        const r = await reached(path, { headers: { 'X-Tenant-ID': 'evil' } });
        assert.ok(r, `${path} reaches the gateway`);
        assert.deepEqual([r.method, r.path], ['GET', path]);
        assert.equal(r.headers['x-tenant-id'], undefined, `${path}: no tenant header on static files`);
        assert.equal(stub.seen.length, authBefore, `${path}: the auth service is not asked`);
      }
      // Its own telemetry: an OTLP POST, credentialed like /v1/traces (tenant from the auth service).
      const otlp = JSON.stringify({ resourceSpans: [] });
      const traces = await reached('/console/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json', Authorization: 'Bearer key-globex', 'X-Tenant-ID': 'evil' }, body: otlp });
      assert.ok(traces, 'POST /console/v1/traces reaches the gateway');
      assert.deepEqual([traces.method, traces.path, traces.body, traces.headers['content-type']], ['POST', '/console/v1/traces', otlp, 'application/json']);
      assert.equal(traces.headers['x-tenant-id'], 'globex', 'the tenant the auth service vouches for, not the client copy');
      assert.equal(traces.headers.authorization, 'Bearer key-globex', 'the gateway sees the console\'s credential too');
      // Without a credential the auth service answers, and nothing reaches the gateway.
      const before = got.length;
      const refused = await fetch(`${consoleCaddy.url}/console/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: otlp });
      assert.equal(refused.status, 401);
      assert.equal(got.length, before);
      // The console's API calls: same route and tenant header as before.
      const api = await reached('/api/v1/tenants?from=-1h', { headers: { Authorization: 'Bearer key-acme' } });
      assert.deepEqual([api?.path, api?.headers['x-tenant-id']], ['/api/v1/tenants?from=-1h', 'acme']);
      // Only /console and /console/… are the console's: a look-alike path is the app's.
      const app = await fetch(`${consoleCaddy.url}/consoles/x`);
      assert.equal(((await app.json()) as { app?: boolean }).app, true);
    } finally {
      await consoleCaddy.close();
      await new Promise((r) => upstream.close(r));
    }
    // And /api/ reaches the real gateway through the chart's Caddy: the tenant comes from the auth service.
    const res = await fetch(`${caddy.url}/api/v1/tenants?from=-1h`, { headers: { Authorization: 'Bearer key-acme', 'X-Tenant-ID': 'globex' } });
    assert.equal(res.status, 200, await res.clone().text());
    const tenants = ((await res.json()) as { tenants: Array<{ tenant: string }> }).tenants.map((t) => t.tenant);
    assert.ok(tenants.every((t) => t === 'acme'), `a tenant credential sees only its tenant: ${tenants.join(', ')}`);
  });

  test('TLS mode (tls internal, offline): HTTP answers the probe path and redirects the rest to HTTPS on 443; HTTPS proxies to the gateway', async () => {
    const tlsCaddy = await startCaddy(async (ports) => {
      const docs = await render('defaults', [
        ...['caddy.metrics.legacySyntax=true', 'caddy.metrics.perHost=false', 'caddy.tls.mode=internal', 'caddy.bind=127.0.0.1'].flatMap((s) => ['--set', s]),
        '--set-json', 'caddy.hosts=["otel.test"]',
        '--set', `caddy.ports.http=${ports.http}`, '--set', `caddy.ports.https=${ports.https}`, '--set', `caddy.ports.metrics=${ports.metrics}`, '--set', `caddy.adminPort=${ports.admin}`,
        '--set', `caddy.gatewayUpstream=127.0.0.1:${gateway.port}`,
      ]);
      return configMap(docs, CADDY_CM).Caddyfile as string;
    });
    try {
      const probe = await fetch(`${tlsCaddy.url}/healthz`, { headers: { host: 'otel.test' } });
      assert.equal(probe.status, 200, 'the Azure probe path answers over plain HTTP without a redirect');
      const redirect = await fetch(`${tlsCaddy.url}/v1/traces?x=1`, { redirect: 'manual' });
      assert.equal(redirect.status, 308);
      assert.equal(redirect.headers.get('location'), 'https://127.0.0.1/v1/traces?x=1');
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port: tlsCaddy.ports.https, servername: 'otel.test', path: '/v1/traces', method: 'POST', headers: { host: 'otel.test', 'content-type': 'application/json' }, rejectUnauthorized: false },
          (r) => {
            let body = '';
            r.on('data', (c: Buffer) => (body += c.toString()));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end('{"resourceSpans":[]}');
      });
      // jwt-mode Caddyfile (no tenant header set) in front of a header-mode gateway: the
      // gateway's own google.rpc.Status 401 proves the request was proxied to it.
      assert.equal(res.status, 401);
      assert.equal((JSON.parse(res.body) as { code: number }).code, 16);
    } finally {
      await tlsCaddy.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Telegraf: there is no Telegraf binary here, so this is a model of exactly the Telegraf
// behaviour the chart relies on, written from Telegraf's source (v1.39): the prometheus parser
// with metric_version 2 (plugins/parsers/prometheus/metric_v2.go), input tags and fieldinclude
// (models/filter.go Modify), processor selection/modification (models/running_processor.go:
// Select on namepass/tagpass, then tagexclude), and processors.rename (rename.go). It refuses
// any option it does not model, as Telegraf refuses unknown options. It runs on the real
// metrics of the Caddy and gateway above, so the names the dashboard queries come from real
// Caddy output, not from a copy of the docs.

interface Metric {
  name: string;
  tags: Record<string, string>;
  fields: Record<string, number>;
}
const glob = (pattern: string): RegExp => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
const matchesAny = (patterns: string[], value: string): boolean => patterns.some((p) => glob(p).test(value));
function onlyKeys(table: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(table)) assert.ok(allowed.includes(k), `${where}: option "${k}" is not modelled (Telegraf would need checking)`);
}

function prometheusV2(text: string, baseTags: Record<string, string>): Metric[] {
  const { types, samples } = parsePrometheusText(text);
  const out: Metric[] = [];
  const histograms = new Map<string, Metric>();
  for (const s of samples) {
    const family = [...types.keys()].find((f) => (types.get(f) === 'histogram' || types.get(f) === 'summary') && (s.name === `${f}_bucket` || s.name === `${f}_sum` || s.name === `${f}_count`)) ?? s.name;
    const type = types.get(family) ?? 'untyped';
    if (type === 'histogram' || type === 'summary') {
      const { le, quantile, ...labels } = s.labels;
      if (s.name === `${family}_bucket`) out.push({ name: 'prometheus', tags: { ...baseTags, ...labels, le: le as string }, fields: { [`${family}_bucket`]: s.value } });
      else if (s.name === family && quantile !== undefined) out.push({ name: 'prometheus', tags: { ...baseTags, ...labels, quantile }, fields: { [family]: s.value } });
      else {
        const key = `${family} ${JSON.stringify(labels)}`;
        const m = histograms.get(key) ?? { name: 'prometheus', tags: { ...baseTags, ...labels }, fields: {} };
        m.fields[s.name] = s.value;
        if (!histograms.has(key)) out.push(m);
        histograms.set(key, m);
      }
    } else if (!Number.isNaN(s.value)) out.push({ name: 'prometheus', tags: { ...baseTags, ...s.labels }, fields: { [s.name]: s.value } });
  }
  return out;
}

/** Applies the rendered telegraf.conf to one scrape per input alias: what Telegraf would write. */
function telegrafModel(conf: Obj, scrapes: Record<string, { text: string; address: string }>): Metric[] {
  const inputs = ((conf.inputs as Obj).prometheus ?? []) as Obj[];
  let metrics: Metric[] = [];
  for (const input of inputs) {
    onlyKeys(input, ['alias', 'urls', 'kubernetes_services', 'metric_version', 'timeout', 'fieldinclude', 'tags'], `inputs.prometheus ${String(input.alias)}`);
    assert.equal(input.metric_version, 2);
    const scrape = scrapes[input.alias as string];
    assert.ok(scrape, `a scrape for input ${String(input.alias)}`);
    const url = (input.kubernetes_services as string[])[0] as string;
    for (const m of prometheusV2(scrape.text, { url, address: scrape.address, ...((input.tags ?? {}) as Record<string, string>) })) {
      const include = input.fieldinclude as string[] | undefined;
      if (include !== undefined) for (const f of Object.keys(m.fields)) if (!matchesAny(include, f)) delete m.fields[f];
      if (Object.keys(m.fields).length > 0) metrics.push(m);
    }
  }
  const processors = [...(((conf.processors as Obj).rename ?? []) as Obj[])].sort((a, b) => Number(a.order) - Number(b.order));
  for (const p of processors) {
    onlyKeys(p, ['order', 'namepass', 'tagpass', 'tagexclude', 'replace'], 'processors.rename');
    metrics = metrics.map((m) => {
      const namepass = p.namepass as string[] | undefined;
      const tagpass = p.tagpass as Record<string, string[]> | undefined;
      const selected =
        (namepass === undefined || matchesAny(namepass, m.name)) &&
        (tagpass === undefined || Object.entries(tagpass).some(([k, globs]) => m.tags[k] !== undefined && matchesAny(globs, m.tags[k] as string)));
      if (!selected) return m;
      const tags = Object.fromEntries(Object.entries(m.tags).filter(([k]) => !matchesAny((p.tagexclude as string[] | undefined) ?? [], k)));
      const out: Metric = { name: m.name, tags, fields: { ...m.fields } };
      for (const r of p.replace as Array<Record<string, string>>) {
        onlyKeys(r, ['measurement', 'tag', 'field', 'dest'], 'processors.rename.replace');
        const dest = r.dest as string;
        if (r.measurement !== undefined) {
          if (out.name === r.measurement) out.name = dest;
        } else if (r.tag !== undefined) {
          if (out.tags[r.tag] !== undefined) {
            out.tags[dest] = out.tags[r.tag] as string;
            delete out.tags[r.tag];
          }
        } else if (r.field !== undefined && out.fields[r.field] !== undefined) {
          out.fields[dest] = out.fields[r.field] as number;
          delete out.fields[r.field];
        }
      }
      return out;
    });
  }
  return metrics;
}

const esc = (s: string): string => s.replace(/[,= ]/g, '\\$&');
const lineProtocol = (metrics: Metric[], timeNs: bigint): string =>
  metrics
    .map((m) => {
      const tags = Object.entries(m.tags).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `,${esc(k)}=${esc(v)}`).join('');
      const fields = Object.entries(m.fields).map(([k, v]) => `${esc(k)}=${Number.isFinite(v) ? v : 0}`).join(',');
      return `${esc(m.name)}${tags} ${fields} ${timeNs}`;
    })
    .join('\n');

describe('telegraf.conf applied to the real Caddy and gateway metrics', () => {
  let conf: Obj;
  let first: Metric[];
  let second: Metric[];
  const t1 = BigInt(Date.now() - 30_000) * 1_000_000n;
  const t2 = BigInt(Date.now() - 10_000) * 1_000_000n;

  before(async () => {
    const docs = await render('header-auth', []);
    conf = parseToml(configMap(docs, TELEGRAF_CM)['telegraf.conf'] as string) as Obj;
    const scrape = async (): Promise<Metric[]> =>
      telegrafModel(conf, {
        caddy: { text: await (await fetch(caddy.metricsUrl)).text(), address: '10.244.1.17' },
        gateway: { text: await (await fetch(`${gateway.url}/metrics`)).text(), address: '10.244.2.9' },
      });
    first = await scrape();
    // More traffic between the two scrapes, so the rates in the dashboard are not zero.
    const client = createOtelClient({ encoding: 'json', url: caddy.url, serviceName: 'caddy-e2e-rate', headers: { Authorization: 'Bearer key-acme' } });
    const base = Math.floor(Date.now() / 1000) - 60;
    for (let i = 0; i < 5; i++) client.span(`GET /item/${i}`, { kind: SpanKind.SERVER, start: hrAt(base, i * 1_000_000), end: hrAt(base, i * 1_000_000 + 8_000_000), attributes: { 'http.route': '/item/:id' } });
    await client.flush();
    await client.shutdown();
    second = await scrape();
    await writeLines(`${lineProtocol(first, t1)}\n${lineProtocol(second, t2)}`);
  });

  async function writeLines(body: string): Promise<void> {
    const res = await fetch(`${influx.url}/write?db=tenantlens`, { method: 'POST', body });
    assert.equal(res.status, 204, await res.text());
  }

  test('Caddy request metrics land in caddy_http_requests with the documented tags and fields', () => {
    const caddyRows = second.filter((m) => m.name === 'caddy_http_requests');
    assert.ok(caddyRows.length > 0);
    // Nothing from Caddy stays in "prometheus", and nothing else lands in caddy_http_requests.
    assert.ok(!second.some((m) => m.name === 'prometheus' && Object.keys(m.fields).some((f) => f.startsWith('caddy_'))));
    const totals = caddyRows.filter((m) => m.tags.le === undefined);
    const buckets = caddyRows.filter((m) => m.tags.le !== undefined);
    for (const m of totals) {
      assert.deepEqual(Object.keys(m.fields).sort(), ['count', 'duration_seconds_sum']);
      // Caddy 2.6 has no host label; with the pinned 2.11 and per_host, `host` joins these.
      assert.deepEqual(Object.keys(m.tags).sort(), ['handler', 'instance', 'method', 'server', 'status_code']);
      assert.equal(m.tags.instance, '10.244.1.17');
    }
    for (const m of buckets) assert.deepEqual(Object.keys(m.fields), ['duration_seconds_bucket']);
    assert.ok(buckets.some((m) => m.tags.le === '+Inf') && buckets.some((m) => m.tags.le === '0.25'));
    assert.ok(totals.some((m) => m.tags.status_code === '200' && m.tags.method === 'POST' && (m.fields.count ?? 0) >= 4));
  });

  test('gateway metrics land in "prometheus" with field = metric name and an instance tag', () => {
    const gw = second.filter((m) => m.name === 'prometheus');
    const accepted = gw.find((m) => m.fields.tenantlens_spans_accepted_total !== undefined);
    assert.ok(accepted, 'tenantlens_spans_accepted_total');
    assert.equal(accepted.tags.instance, '10.244.2.9');
    assert.equal(accepted.tags.url, undefined, 'the constant Service URL is dropped');
    assert.ok(gw.some((m) => m.fields.tenantlens_buffer_bytes !== undefined));
  });

  test('every dashboard query runs on influxd (InfluxQL) over that data and the spans, and the key panels return series', async () => {
    const dash = JSON.parse((await import('node:fs')).readFileSync(new URL('../charts/tenantlens/dashboards/tenantlens.json', import.meta.url), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ query: string }> }>;
    };
    const results = new Map<string, Obj[]>();
    for (const panel of dash.panels) {
      for (const t of panel.targets ?? []) {
        const q = t.query.replaceAll('$timeFilter', 'time > now() - 1h').replaceAll('$__interval', '20s').replaceAll('$tenant', '.*');
        const series = await influx.query(q); // throws on any InfluxQL error
        results.set(panel.title, [...(results.get(panel.title) ?? []), ...rows(series)]);
      }
    }
    const nonEmpty = (title: string): Obj[] => {
      const r = (results.get(title) ?? []).filter((x) => Object.entries(x).some(([k, v]) => k !== 'time' && typeof v === 'number' && v > 0));
      assert.ok(r.length > 0, `panel "${title}" returned no data`);
      return r;
    };
    assert.ok(nonEmpty('Backend latency p50 / p95 / p99 by tenant').some((r) => r.tenant_id === 'acme'));
    assert.ok(nonEmpty('Frontend duration p50 / p95 / p99 by tenant').some((r) => r.tenant_id === 'globex'));
    assert.ok(nonEmpty('Requests per second by status').some((r) => r.status_code === '200'));
    nonEmpty('Mean request duration by status');
    assert.ok(nonEmpty('Requests per second at or under each duration bucket').some((r) => r.le === '+Inf'));
    nonEmpty('Spans accepted and rejected per second');
    nonEmpty('Slowest tenants: backend p99 over the range');
  });
});

describe('the helm test hook script against the real gateway', () => {
  const hookScript = async (scenario: string, args: string[] = []): Promise<{ script: string; env: Record<string, string> }> => {
    const docs = await render(scenario, args);
    const pod = docs.find((d) => d.kind === 'Pod');
    const c = pod?.spec?.containers?.[0];
    assert.deepEqual(c?.command, ['/nodejs/bin/node', '--input-type=module', '-e']);
    return { script: c?.args?.[0] as string, env: configMap(docs, GATEWAY_CM) };
  };
  const runHook = async (script: string, env: Record<string, string>): Promise<{ code: number; out: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...env }, timeout: 20_000 });
      return { code: 0, out: stdout + stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };

  test('header mode: the span is accepted and written under tenant helm-test', async () => {
    const { script, env } = await hookScript('header-auth');
    const res = await runHook(script, { ...env, GATEWAY_URL: gateway.url, TIMEOUT_MILLIS: '5000' });
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /OK: span [0-9a-f]{32} accepted for tenant helm-test \(header mode\)/);
    await waitFor('the helm-test span', async () => ((await influx.query(`SELECT * FROM spans WHERE tenant_id = 'helm-test'`)).length > 0 ? true : undefined));
  });

  test('jwt mode with an HMAC secret: the token the script signs is accepted by the gateway', async () => {
    const { script, env } = await hookScript('existing-secret');
    const jwtGateway = await startGateway({
      INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'jwt', JWT_SECRET,
      JWT_ALGORITHMS: env.JWT_ALGORITHMS as string, JWT_ISSUER: env.JWT_ISSUER as string, JWT_AUDIENCE: env.JWT_AUDIENCE as string,
    });
    try {
      const ok = await runHook(script, { ...env, GATEWAY_URL: jwtGateway.url, JWT_SECRET, TIMEOUT_MILLIS: '5000' });
      assert.equal(ok.code, 0, ok.out);
      assert.match(ok.out, /accepted for tenant helm-test \(jwt mode\)/);
      // A wrong secret must make the hook fail, or the check proves nothing.
      const bad = await runHook(script, { ...env, GATEWAY_URL: jwtGateway.url, JWT_SECRET: `${JWT_SECRET}-wrong`, TIMEOUT_MILLIS: '5000' });
      assert.equal(bad.code, 1);
      assert.match(bad.out, /FAIL: POST \/v1\/traces answered 401, expected 200/);
    } finally {
      await jwtGateway.stop();
    }
  });
});
