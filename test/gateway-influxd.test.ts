import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { seriesRows, startInfluxd, waitForRows, type Influxd } from '../harness/influxd.ts';
import { createOtelClient, hrAt, hrToNs, SpanKind } from './support/otel.ts';
import { ExportTraceServiceResponse } from '../gateway/src/otlp/proto.ts';

const JWT_SECRET = 'tenantlens-test-secret-that-is-at-least-32-bytes';
const BASE_SEC = Math.floor(Date.now() / 1000) - 600;

let influx: Influxd;
let gw: Gateway; // TENANT_AUTH=header
let jwtGw: Gateway; // TENANT_AUTH=jwt

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

async function fieldTypes(measurement: string): Promise<Record<string, string>> {
  return Object.fromEntries(seriesRows(await influx.query(`SHOW FIELD KEYS FROM "${measurement}"`)).map((r) => [r.fieldKey, r.fieldType]));
}

function otlpJson(spans: Array<Record<string, unknown>>, resource: Array<Record<string, unknown>> = []): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'raw-client' } }, ...resource] },
        scopeSpans: [{ scope: { name: 'raw' }, spans }],
      },
    ],
  });
}

function rawSpan(traceId: string, startNs: bigint, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId,
    spanId: hex(8),
    name: 'raw-span',
    kind: 1,
    startTimeUnixNano: startNs.toString(),
    endTimeUnixNano: (startNs + 5_000_000n).toString(),
    ...extra,
  };
}

async function post(g: Gateway, body: string | Buffer, headers: Record<string, string>, path = '/v1/traces'): Promise<Response> {
  return fetch(`${g.url}${path}`, { method: 'POST', headers, body });
}

before(async () => {
  influx = await startInfluxd();
  const common = { INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', INSTANCE_NAME: 'gw-test-1' };
  [gw, jwtGw] = await Promise.all([
    startGateway({ ...common, TENANT_AUTH: 'header', MAX_BODY_BYTES: '65536', CORS_ORIGINS: 'https://app.example.com' }),
    startGateway({ ...common, TENANT_AUTH: 'jwt', JWT_SECRET, INSTANCE_NAME: 'gw-test-2' }),
  ]);
});

after(async () => {
  await Promise.all([gw?.stop(), jwtGw?.stop()]);
  await influx?.close();
});

describe('real OpenTelemetry exporters → gateway → real influxd', () => {
  for (const encoding of ['protobuf', 'json'] as const) {
    test(`${encoding}: exact points, tags, field types, timestamps, and a trace that joins up`, async () => {
      const client = createOtelClient({
        encoding,
        url: gw.url,
        serviceName: `checkout-${encoding}`,
        headers: { 'X-Tenant-ID': 'acme' },
        // A client trying to pick its tenant through the resource: must be ignored.
        resource: { 'tenant.id': 'globex' },
      });
      const t0 = encoding === 'protobuf' ? 1_000_000 : 2_000_000;
      const server = client.span('GET /api/cart/:id', {
        kind: SpanKind.SERVER,
        start: hrAt(BASE_SEC, t0 + 123_456_789),
        end: hrAt(BASE_SEC, t0 + 123_456_789 + 87_400_000),
        attributes: { 'http.route': '/api/cart/:id', 'http.request.method': 'GET', 'http.response.status_code': 200, 'session.id': 'sess-1', tenant_id: 'globex' },
      });
      const child = client.span('render cart', {
        start: hrAt(BASE_SEC, t0 + 200_000_001),
        end: hrAt(BASE_SEC, t0 + 200_000_001 + 12_600_000),
        parent: server,
        attributes: { view_name: 'Cart', action_name: 'loadCart', element_count: 42, 'session.id': 'sess-1', ratio: 13.0, flag: true, labels: ['a', 'b'], note: 'x y,z=1' },
      });
      await client.flush();
      await client.shutdown();
      const traceId = server.spanContext().traceId;
      const serverId = server.spanContext().spanId;
      const childId = child.spanContext().spanId;

      const spans = await waitForRows(influx, `SELECT * FROM spans WHERE trace_id = '${traceId}'`, 2);
      assert.equal(spans.length, 2, 'both spans of the trace are stored');
      const byId = new Map(spans.map((s) => [s.span_id, s]));
      const srv = byId.get(serverId);
      const chd = byId.get(childId);
      assert.ok(srv && chd, 'rows are keyed by the exporter span ids');
      // The trace joins up: the child's parent is the server span, both share trace_id.
      assert.equal(chd.parent_span_id, serverId);
      assert.equal(srv.parent_span_id, '');
      // Timestamps are the spans' start, to the nanosecond.
      assert.equal(srv.time, hrToNs(hrAt(BASE_SEC, t0 + 123_456_789)));
      assert.equal(chd.time, hrToNs(hrAt(BASE_SEC, t0 + 200_000_001)));
      assert.equal(srv.duration_ns, 87_400_000);
      assert.equal(srv.span_kind, 'server');
      assert.equal(chd.span_kind, 'internal');
      assert.equal(srv.service_name, `checkout-${encoding}`);
      assert.equal(srv.session_id, 'sess-1');
      assert.equal(srv.gateway_instance, 'gw-test-1');
      assert.equal(chd.ratio, 13, JSON.stringify(chd) + JSON.stringify(gw.logs().filter((l) => Number(l.level) >= 40)));
      assert.equal(chd.flag, true);
      assert.equal(chd.labels, '["a","b"]');
      assert.equal(chd.note, 'x y,z=1');
      // The tenant is the header's, never the payload's.
      for (const s of spans) assert.equal(s.tenant_id, 'acme');

      const fe = await waitForRows(influx, `SELECT * FROM frontend_performance WHERE trace_id = '${traceId}'`, 1);
      assert.equal(fe.length, 1, 'only the span with view_name is a frontend point');
      assert.deepEqual(
        { ...fe[0], time: undefined },
        {
          time: undefined,
          tenant_id: 'acme',
          session_id: 'sess-1',
          view_name: 'Cart',
          action_name: 'loadCart',
          service_name: `checkout-${encoding}`,
          duration_ms: 13, // 12.6 ms rounds to 13
          element_count: 42,
          trace_id: traceId,
          span_id: childId,
          gateway_instance: 'gw-test-1',
        },
      );

      const be = await waitForRows(influx, `SELECT * FROM backend_api_latency WHERE trace_id = '${traceId}'`, 1);
      assert.equal(be.length, 1, 'only the SERVER span is a backend point');
      assert.equal(be[0]?.endpoint, '/api/cart/:id');
      assert.equal(be[0]?.http_method, 'GET');
      assert.equal(be[0]?.status_code, '200');
      assert.equal(be[0]?.latency_ms, 87);
      assert.equal(be[0]?.span_id, serverId);

      const feTypes = await fieldTypes('frontend_performance');
      assert.equal(feTypes.duration_ms, 'integer');
      assert.equal(feTypes.element_count, 'integer');
      assert.equal(feTypes.trace_id, 'string');
      const beTypes = await fieldTypes('backend_api_latency');
      assert.equal(beTypes.latency_ms, 'integer');
      const spanTypes = await fieldTypes('spans');
      assert.equal(spanTypes.duration_ns, 'integer');
      assert.equal(spanTypes.status_code, 'integer');
      assert.equal(spanTypes.ratio, 'float');
      assert.equal(spanTypes.flag, 'boolean');
      assert.equal(spanTypes.labels, 'string');
      assert.equal(spanTypes.tenant_id, undefined, 'no tenant_id field from the payload');
    });
  }

  test('ids are fields, not tags: series count does not grow with spans', async () => {
    const tagKeys = seriesRows(await influx.query('SHOW TAG KEYS')).map((r) => r.tagKey);
    for (const id of ['trace_id', 'span_id', 'parent_span_id']) assert.ok(!tagKeys.includes(id), `${id} must not be a tag`);
  });

  test('a field keeps one type: 13.0 (sent as int) and 13.5 from the real exporter are both floats', async () => {
    const client = createOtelClient({ encoding: 'protobuf', url: gw.url, serviceName: 'typeflip', headers: { 'X-Tenant-ID': 'acme' } });
    const a = client.span('a', { start: hrAt(BASE_SEC, 3_000_000), end: hrAt(BASE_SEC, 3_100_000), attributes: { price: 13.0, code: 'A7' } });
    // One export at a time: "first type seen wins" is about arrival order, so fix the order.
    await client.flush();
    const b = client.span('b', { start: hrAt(BASE_SEC, 3_200_000), end: hrAt(BASE_SEC, 3_300_000), attributes: { price: 13.5, code: 7 } });
    await client.flush();
    await client.shutdown();
    const r = await waitForRows(influx, `SELECT price, code, "code__float" FROM spans WHERE service_name = 'typeflip'`, 2);
    // Keyed by microsecond: the SDK's whole-microsecond start gets a sub-microsecond offset.
    const micros = (ns: string | unknown): string => String(BigInt(ns as string) / 1000n);
    const byUs = new Map(r.map((x) => [micros(x.time), x]));
    assert.equal(r.length, 2, 'neither line was refused for a type conflict');
    assert.equal(byUs.get(micros(hrToNs(hrAt(BASE_SEC, 3_000_000))))?.price, 13);
    assert.equal(byUs.get(micros(hrToNs(hrAt(BASE_SEC, 3_200_000))))?.price, 13.5);
    // A string-then-number attribute keeps its first type and the number goes to code__float.
    assert.equal(byUs.get(micros(hrToNs(hrAt(BASE_SEC, 3_000_000))))?.code, 'A7');
    assert.equal(byUs.get(micros(hrToNs(hrAt(BASE_SEC, 3_200_000))))?.code__float, 7);
    const types = await fieldTypes('spans');
    assert.equal(types.price, 'float');
    assert.equal(types.code, 'string');
    assert.equal(types.code__float, 'float');
    assert.equal(await gw.metric('tenantlens_lines_rejected_total'), 0, 'InfluxDB refused no line');
    assert.ok(await gw.metric('tenantlens_field_type_conflicts_total') >= 1);
    assert.ok(a.spanContext().spanId !== b.spanContext().spanId);
  });

  test('no silent overwrites: two spans with the same series and start nanosecond are both kept', async () => {
    const traceId = hex(16);
    // Real nanosecond digits: kept exactly, collisions probed upwards one nanosecond at a time.
    const start = BigInt(BASE_SEC) * 1_000_000_000n + 4_000_123n;
    const body = otlpJson([rawSpan(traceId, start), rawSpan(traceId, start), rawSpan(traceId, start)]);
    const res = await post(gw, body, { 'content-type': 'application/json', 'x-tenant-id': 'acme' });
    assert.equal(res.status, 200);
    const r = await waitForRows(influx, `SELECT * FROM spans WHERE trace_id = '${traceId}'`, 3);
    assert.equal(r.length, 3);
    assert.deepEqual(r.map((x) => x.time).sort(), [start, start + 1n, start + 2n].map(String));

    // Whole microseconds (a JavaScript clock): spread inside the microsecond, all three kept.
    const traceUs = hex(16);
    const us = BigInt(BASE_SEC) * 1_000_000_000n + 4_500_000n;
    assert.equal((await post(gw, otlpJson([rawSpan(traceUs, us), rawSpan(traceUs, us), rawSpan(traceUs, us)]), { 'content-type': 'application/json', 'x-tenant-id': 'acme' })).status, 200);
    const times = (await waitForRows(influx, `SELECT * FROM spans WHERE trace_id = '${traceUs}'`, 3)).map((x) => BigInt(x.time as string));
    assert.equal(new Set(times).size, 3);
    for (const t of times) assert.equal(t / 1000n, us / 1000n, 'inside the original microsecond');
  });

  test('replaying the same request does not duplicate anything', async () => {
    const traceId = hex(16);
    const start = BigInt(BASE_SEC) * 1_000_000_000n + 5_000_000n;
    const body = otlpJson([rawSpan(traceId, start), rawSpan(traceId, start), rawSpan(traceId, start + 7n, { attributes: [{ key: 'view_name', value: { stringValue: 'Home' } }] })]);
    for (let i = 0; i < 3; i++) {
      const res = await post(gw, body, { 'content-type': 'application/json', 'x-tenant-id': 'acme' });
      assert.equal(res.status, 200);
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await waitForRows(influx, `SELECT * FROM spans WHERE trace_id = '${traceId}'`, 3)).length, 3);
    assert.equal((await waitForRows(influx, `SELECT * FROM frontend_performance WHERE trace_id = '${traceId}'`, 1)).length, 1);
  });

  test('gzip-compressed OTLP/JSON is accepted', async () => {
    const traceId = hex(16);
    const body = gzipSync(otlpJson([rawSpan(traceId, BigInt(BASE_SEC) * 1_000_000_000n + 6_000_000n)]));
    const res = await post(gw, body, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-tenant-id': 'acme' });
    assert.equal(res.status, 200);
    assert.equal((await waitForRows(influx, `SELECT * FROM spans WHERE trace_id = '${traceId}'`, 1)).length, 1);
  });

  test('partial success: invalid spans are refused and counted, valid ones stored (protobuf response)', async () => {
    const traceId = hex(16);
    const body = otlpJson([rawSpan(traceId, BigInt(BASE_SEC) * 1_000_000_000n + 7_000_000n), rawSpan('0'.repeat(32), 1n)]);
    const res = await post(gw, body, { 'content-type': 'application/json', 'x-tenant-id': 'acme' });
    assert.equal(res.status, 200);
    const json = (await res.json()) as { partialSuccess?: { rejectedSpans: string; errorMessage: string } };
    assert.equal(json.partialSuccess?.rejectedSpans, '1');
    assert.match(json.partialSuccess?.errorMessage ?? '', /invalid trace_id/);
    assert.equal((await waitForRows(influx, `SELECT * FROM spans WHERE trace_id = '${traceId}'`, 1)).length, 1);
  });
});

describe('tenant isolation', () => {
  test('header mode: payload tenant attributes cannot move data to another tenant', async () => {
    const traceId = hex(16);
    const body = otlpJson(
      [rawSpan(traceId, BigInt(BASE_SEC) * 1_000_000_000n + 8_000_000n, { attributes: [{ key: 'tenant_id', value: { stringValue: 'globex' } }, { key: 'tenant.id', value: { stringValue: 'globex' } }, { key: 'view_name', value: { stringValue: 'X' } }] })],
      [{ key: 'tenant_id', value: { stringValue: 'globex' } }],
    );
    assert.equal((await post(gw, body, { 'content-type': 'application/json', 'x-tenant-id': 'acme' })).status, 200);
    const r = await waitForRows(influx, `SELECT * FROM spans WHERE trace_id = '${traceId}'`, 1);
    assert.equal(r[0]?.tenant_id, 'acme');
    const f = await waitForRows(influx, `SELECT * FROM frontend_performance WHERE trace_id = '${traceId}'`, 1);
    assert.equal(f[0]?.tenant_id, 'acme');
    assert.equal(seriesRows(await influx.query(`SELECT * FROM spans, frontend_performance WHERE tenant_id = 'globex'`)).length, 0);
  });

  test('jwt mode: the token decides; a tenant header or attribute naming another tenant is ignored', async () => {
    const token = await new SignJWT({ tenant_id: 'initech' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));
    const client = createOtelClient({ encoding: 'protobuf', url: jwtGw.url, serviceName: 'jwt-client', headers: { Authorization: `Bearer ${token}`, 'X-Tenant-ID': 'globex' } });
    const s = client.span('op', { start: hrAt(BASE_SEC, 9_000_000), end: hrAt(BASE_SEC, 9_500_000), attributes: { tenant_id: 'globex' } });
    await client.flush();
    await client.shutdown();
    const r = await waitForRows(influx, `SELECT * FROM spans WHERE trace_id = '${s.spanContext().traceId}'`, 1);
    assert.equal(r.length, 1);
    assert.equal(r[0]?.tenant_id, 'initech');
    assert.equal(r[0]?.gateway_instance, 'gw-test-2');
  });
});

describe('bad input: the right status, nothing written, and the gateway keeps serving', () => {
  const MALLORY = { 'x-tenant-id': 'mallory' };
  const okBody = (): string => otlpJson([rawSpan(hex(16), BigInt(BASE_SEC) * 1_000_000_000n + 10_000_000n)]);
  const expired = async (): Promise<string> =>
    new SignJWT({ tenant_id: 'mallory' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(JWT_SECRET));
  const forged = async (): Promise<string> =>
    new SignJWT({ tenant_id: 'mallory' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'));

  const cases: Array<{ name: string; status: number; send: () => Promise<Response>; message: RegExp }> = [
    { name: 'malformed protobuf', status: 400, message: /protobuf/, send: () => post(gw, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf', ...MALLORY }) },
    { name: 'malformed JSON', status: 400, message: /invalid JSON/, send: () => post(gw, '{"resourceSpans": [', { 'content-type': 'application/json', ...MALLORY }) },
    { name: 'JSON of the wrong shape', status: 400, message: /resourceSpans\[0\]\.scopeSpans/, send: () => post(gw, '{"resourceSpans":[{"scopeSpans":{}}]}', { 'content-type': 'application/json', ...MALLORY }) },
    { name: 'corrupt gzip', status: 400, message: /decompress|incorrect header/, send: () => post(gw, Buffer.from('not gzip at all'), { 'content-type': 'application/json', 'content-encoding': 'gzip', ...MALLORY }) },
    { name: 'text/plain', status: 415, message: /Content-Type/, send: () => post(gw, okBody(), { 'content-type': 'text/plain', ...MALLORY }) },
    { name: 'unsupported Content-Encoding', status: 415, message: /encoding/i, send: () => post(gw, okBody(), { 'content-type': 'application/json', 'content-encoding': 'zstd', ...MALLORY }) },
    { name: 'body over MAX_BODY_BYTES', status: 413, message: /MAX_BODY_BYTES/, send: () => post(gw, Buffer.alloc(70_000, 0x20), { 'content-type': 'application/json', ...MALLORY }) },
    {
      name: 'gzip bomb (small on the wire, over the limit inflated)',
      status: 413,
      message: /after decompression/,
      send: () => post(gw, gzipSync(Buffer.alloc(10_000_000, 0x20)), { 'content-type': 'application/json', 'content-encoding': 'gzip', ...MALLORY }),
    },
    { name: 'no tenant header', status: 401, message: /x-tenant-id/, send: () => post(gw, okBody(), { 'content-type': 'application/json' }) },
    { name: 'invalid tenant id', status: 401, message: /not a valid tenant id/, send: () => post(gw, okBody(), { 'content-type': 'application/json', 'x-tenant-id': '../mallory' }) },
    { name: 'jwt: no token', status: 401, message: /Bearer/, send: () => post(jwtGw, okBody(), { 'content-type': 'application/json', ...MALLORY }) },
    { name: 'jwt: expired token', status: 401, message: /expired/, send: async () => post(jwtGw, okBody(), { 'content-type': 'application/json', authorization: `Bearer ${await expired()}` }) },
    { name: 'jwt: forged signature', status: 401, message: /signature/, send: async () => post(jwtGw, okBody(), { 'content-type': 'application/json', authorization: `Bearer ${await forged()}` }) },
    { name: 'beacon: non-finite metric', status: 400, message: /finite number/, send: () => post(gw, '{"sessionId":"s","viewName":"v","metrics":{"duration_ms":"fast"}}', { 'content-type': 'application/json', ...MALLORY }, '/v1/telemetry') },
    { name: 'beacon: Infinity', status: 400, message: /finite number/, send: () => post(gw, '{"sessionId":"s","viewName":"v","metrics":{"duration_ms":1e999}}', { 'content-type': 'application/json', ...MALLORY }, '/v1/telemetry') },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      const res = await c.send();
      assert.equal(res.status, c.status);
      if (res.headers.get('content-type') === 'application/x-protobuf') {
        // A protobuf request's error is a protobuf google.rpc.Status: field 1 code, field 2 message.
        const bytes = Buffer.from(await res.arrayBuffer());
        assert.equal(bytes[0], 0x08);
        assert.match(bytes.toString('utf8'), c.message);
      } else {
        const body = (await res.json()) as { code: number; message: string };
        assert.match(body.message, c.message);
        assert.equal(typeof body.code, 'number', 'an OTLP google.rpc.Status body');
      }
    });
  }

  test('a protobuf request gets its error as a protobuf google.rpc.Status', async () => {
    const res = await post(gw, Buffer.from([0xff, 0xff]), { 'content-type': 'application/x-protobuf', ...MALLORY });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes[0], 0x08, 'field 1 (code), varint');
    assert.equal(bytes[1], 3, 'INVALID_ARGUMENT');
    assert.match(bytes.toString('utf8'), /protobuf/);
  });

  test('after all of that: nothing was written for the offending tenant, and the gateway still serves', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const tenants = seriesRows(await influx.query('SHOW TAG VALUES WITH KEY = "tenant_id"')).map((r) => r.value);
    assert.ok(!tenants.includes('mallory'), `no data for the refused requests (tenants: ${tenants.join(', ')})`);
    const health = await fetch(`${gw.url}/healthz`);
    assert.equal(health.status, 200);
    assert.ok((await gw.metric('tenantlens_requests_refused_total', { reason: 'TL_UNAUTHENTICATED' })) >= 2);
  });
});

describe('protocol details', () => {
  test('a protobuf request gets a protobuf ExportTraceServiceResponse with partial_success', async () => {
    // Build a protobuf request by hand with protobufjs from the same generated root the gateway uses.
    const { ExportTraceServiceRequest } = await import('../gateway/src/otlp/proto.ts');
    const good = { traceId: randomBytes(16), spanId: randomBytes(8), name: 'p', kind: 1, startTimeUnixNano: Date.now() * 1e6, endTimeUnixNano: Date.now() * 1e6 + 1000 };
    const bad = { ...good, spanId: Buffer.alloc(8), traceId: randomBytes(16) };
    const bytes = ExportTraceServiceRequest.encode({ resourceSpans: [{ scopeSpans: [{ spans: [good, bad] }] }] }).finish();
    const res = await post(gw, Buffer.from(bytes), { 'content-type': 'application/x-protobuf', 'x-tenant-id': 'acme' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    const decoded = ExportTraceServiceResponse.decode(new Uint8Array(await res.arrayBuffer())) as { partialSuccess?: { rejectedSpans: { toString(): string }; errorMessage: string } };
    assert.equal(decoded.partialSuccess?.rejectedSpans.toString(), '1');
    assert.match(decoded.partialSuccess?.errorMessage ?? '', /invalid span_id/);
  });

  test('CORS: allow-listed origin gets credentials and the OTLP headers; others get nothing', async () => {
    const pre = await fetch(`${gw.url}/v1/traces`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization,traceparent,x-tenant-id' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
    const allowed = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['content-type', 'authorization', 'traceparent', 'x-tenant-id']) assert.ok(allowed.includes(h), `${h} allowed`);
    const evil = await fetch(`${gw.url}/v1/traces`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });

  test('legacy beacon lands in frontend_performance with the trusted tenant', async () => {
    const session = `beacon-${hex(4)}`;
    const res = await post(gw, JSON.stringify({ sessionId: session, viewName: 'Dashboard', actionName: 'load', metrics: { duration_ms: 412.6, element_count: 120, fps: 58.5 } }), { 'content-type': 'application/json', 'x-tenant-id': 'acme' }, '/v1/telemetry');
    assert.equal(res.status, 200);
    const r = await waitForRows(influx, `SELECT * FROM frontend_performance WHERE session_id = '${session}'`, 1);
    assert.equal(r.length, 1);
    assert.equal(r[0]?.tenant_id, 'acme');
    assert.equal(r[0]?.view_name, 'Dashboard');
    assert.equal(r[0]?.duration_ms, 413);
    assert.equal(r[0]?.element_count, 120);
    assert.equal(r[0]?.fps, 58.5);
  });

  test('/readyz is 200 with InfluxDB up; /metrics counts spans and points', async () => {
    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.ok((await gw.metric('tenantlens_spans_accepted_total', { signal: 'traces' })) > 0);
    assert.ok((await gw.metric('tenantlens_points_written_total')) > 0);
    assert.ok((await gw.metric('tenantlens_spans_rejected_total', { reason: 'invalid trace_id (must be 16 bytes, not all zero)' })) >= 1);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    for (const name of ['tenantlens_buffer_lines', 'tenantlens_write_retries_total', 'tenantlens_write_failures_total', 'tenantlens_http_request_duration_seconds_bucket']) {
      assert.ok(text.includes(name), `${name} exposed`);
    }
  });
});
