import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldValue, Point } from '../src/schema/point.ts';
import { encodeLine } from '../src/influx/line-protocol.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';
import type { MapContext, MapResult } from '../src/mapping/map-spans.ts';
import { createSpanMapper } from '../src/mapping/map-spans.ts';
import type { MappingRules } from '../src/mapping/rules.ts';
import { DEFAULT_RULES, MappingFileError, parseMappingRules } from '../src/mapping/rules.ts';
import type { Attribute, AttrValue, SpanRecord, TraceRequest } from '../src/otlp/model.ts';

// ---------------------------------------------------------------------------------------------
// Hand-built requests

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const START = 1_700_000_000_123_456_789n;
const MS = 1_000_000n;
const CTX: MapContext = { tenantId: 'acme', instanceName: 'gw-1' };

const s = (key: string, value: string): Attribute => ({ key, value: { type: 'string', value } });
const i = (key: string, value: string): Attribute => ({ key, value: { type: 'int', value } });
const d = (key: string, value: number): Attribute => ({ key, value: { type: 'double', value } });
const b = (key: string, value: boolean): Attribute => ({ key, value: { type: 'bool', value } });
const j = (key: string, value: string): Attribute => ({ key, value: { type: 'json', value } });

let nextSpan = 1;
function span(over: Partial<SpanRecord> = {}): SpanRecord {
  return {
    traceId: TRACE_ID,
    spanId: (nextSpan++).toString(16).padStart(16, 'a'),
    parentSpanId: '',
    name: 'GET /api/orders/{id}',
    kind: 1,
    startTimeUnixNano: START,
    endTimeUnixNano: START + 12n * MS,
    statusCode: 0,
    attributes: [],
    ...over,
  };
}

function request(spans: SpanRecord[], resource: Attribute[] = [], scopeName = '@tenantlens/web-sdk'): TraceRequest {
  return { resourceSpans: [{ resource, scopes: [{ scopeName, scopeVersion: '1.0.0', spans }] }] };
}

function mapWith(req: TraceRequest, rules: MappingRules = DEFAULT_RULES, ctx: MapContext = CTX, types = new FieldTypeRegistry()): MapResult {
  return createSpanMapper(rules, types).map(req, ctx);
}

function only(result: MapResult, measurement: string): Point {
  const found = result.points.filter((p) => p.point.measurement === measurement);
  assert.equal(found.length, 1, `expected exactly one ${measurement} point, got ${result.points.map((p) => p.point.measurement).join(', ')}`);
  return (found[0] as (typeof found)[number]).point;
}

const tagsOf = (p: Point): Record<string, string> => Object.fromEntries(p.tags);
const fieldsOf = (p: Point): Record<string, FieldValue> => Object.fromEntries(p.fields);
const measurements = (r: MapResult): string[] => r.points.map((p) => p.point.measurement).sort();

/** Integers may be number or bigint; compare them as bigint. */
function assertInteger(f: FieldValue | undefined, expected: bigint, what: string): void {
  assert.equal(f?.type, 'integer', `${what} is an integer field`);
  assert.equal(BigInt((f as { value: bigint | number }).value), expected, what);
}

// ---------------------------------------------------------------------------------------------
// frontend_performance

test('frontend span → frontend_performance with tenant, session, view, action, service tags', () => {
  const sp = span({ attributes: [s('view_name', '/checkout'), s('action_name', 'click pay'), s('session_id', 'sess-1'), i('element_count', '42')] });
  const r = mapWith(request([sp], [s('service.name', 'web-shop')]));
  const p = only(r, 'frontend_performance');
  assert.deepEqual(tagsOf(p), { action_name: 'click pay', service_name: 'web-shop', session_id: 'sess-1', tenant_id: 'acme', view_name: '/checkout' });
  const f = fieldsOf(p);
  assertInteger(f.duration_ms, 12n, 'duration_ms');
  assertInteger(f.element_count, 42n, 'element_count');
  assert.deepEqual(f.trace_id, { type: 'string', value: TRACE_ID });
  assert.deepEqual(f.span_id, { type: 'string', value: sp.spanId });
  assert.equal(p.timestamp, START, 'the point is at the span start');
  assert.deepEqual(
    p.tags.map(([k]) => k),
    [...p.tags.map(([k]) => k)].sort(),
    'tags sorted by key',
  );
});

test('duration_ms is rounded half up, not truncated', () => {
  const cases: Array<[durationNs: bigint, ms: bigint]> = [
    [0n, 0n],
    [499_999n, 0n],
    [500_000n, 1n],
    [900_000n, 1n],
    [12_400_000n, 12n],
    [12_500_000n, 13n],
    [60_000n * MS, 60_000n],
  ];
  for (const [ns, ms] of cases) {
    const r = mapWith(request([span({ endTimeUnixNano: START + ns, attributes: [s('view_name', 'v')] })]));
    assertInteger(fieldsOf(only(r, 'frontend_performance')).duration_ms, ms, `${ns} ns`);
  }
});

test('dotted aliases: view.name, session.id, action.name, element.count', () => {
  const r = mapWith(request([span({ attributes: [s('view.name', '/home'), s('session.id', 'sess-9'), s('action.name', 'load'), i('element.count', '3')] })]));
  const p = only(r, 'frontend_performance');
  assert.equal(tagsOf(p).view_name, '/home');
  assert.equal(tagsOf(p).session_id, 'sess-9');
  assert.equal(tagsOf(p).action_name, 'load');
  assertInteger(fieldsOf(p).element_count, 3n, 'element_count');
  // The alias also names the attribute field of `spans`.
  const spans = fieldsOf(only(r, 'spans'));
  assert.deepEqual(spans.view_name, { type: 'string', value: '/home' });
  assert.equal(spans['view.name'], undefined);
  assert.deepEqual(spans.session_id, { type: 'string', value: 'sess-9' }, 'spans.session_id comes from the alias too');
});

test('element_count accepts int, double and numeric strings only', () => {
  const cases: Array<[AttrValue, bigint | undefined]> = [
    [{ type: 'int', value: '7' }, 7n],
    [{ type: 'double', value: 6.6 }, 7n],
    [{ type: 'double', value: 2.5 }, 3n],
    [{ type: 'string', value: '12' }, 12n],
    [{ type: 'string', value: '-4' }, -4n],
    [{ type: 'string', value: 'twelve' }, undefined],
    [{ type: 'string', value: '1.5' }, undefined],
    [{ type: 'bool', value: true }, undefined],
    [{ type: 'double', value: Number.NaN }, undefined],
    [{ type: 'json', value: '[1,2]' }, undefined],
  ];
  for (const [value, expected] of cases) {
    const r = mapWith(request([span({ attributes: [s('view_name', 'v'), { key: 'element_count', value }] })]));
    const f = fieldsOf(only(r, 'frontend_performance')).element_count;
    if (expected === undefined) assert.equal(f, undefined, JSON.stringify(value));
    else assertInteger(f, expected, JSON.stringify(value));
  }
});

test('no view_name, no frontend_performance point (empty one included)', () => {
  for (const attributes of [[], [s('action_name', 'click')], [s('view_name', '')]]) {
    const r = mapWith(request([span({ attributes })]));
    assert.deepEqual(measurements(r), ['spans'], JSON.stringify(attributes));
  }
});

test('frontend tags left empty are omitted from the line', () => {
  const r = mapWith(request([span({ attributes: [s('view_name', '/x')] })]));
  const line = encodeLine(only(r, 'frontend_performance'));
  assert.ok(line?.startsWith('frontend_performance,tenant_id=acme,view_name=/x '), line);
});

// ---------------------------------------------------------------------------------------------
// backend_api_latency

test('SERVER span → backend_api_latency with endpoint, method, status, latency', () => {
  const sp = span({ kind: 2, endTimeUnixNano: START + 250n * MS, attributes: [s('http.route', '/api/orders/{id}'), s('http.request.method', 'GET'), i('http.response.status_code', '200')] });
  const r = mapWith(request([sp], [s('service.name', 'orders')]));
  const p = only(r, 'backend_api_latency');
  assert.deepEqual(tagsOf(p), { endpoint: '/api/orders/{id}', http_method: 'GET', service_name: 'orders', status_code: '200', tenant_id: 'acme' });
  assertInteger(fieldsOf(p).latency_ms, 250n, 'latency_ms');
  assert.deepEqual(fieldsOf(p).trace_id, { type: 'string', value: TRACE_ID });
  assert.deepEqual(fieldsOf(p).span_id, { type: 'string', value: sp.spanId });
  assert.equal(p.timestamp, START);
});

test('backend fallbacks: span name for endpoint, old semconv for method and status', () => {
  const cases: Array<{ name: string; attrs: Attribute[]; endpoint: string; method?: string; status?: string }> = [
    { name: 'no http.route', attrs: [], endpoint: 'GET /api/orders/{id}' },
    { name: 'http.method only', attrs: [s('http.method', 'POST')], endpoint: 'GET /api/orders/{id}', method: 'POST' },
    { name: 'new method wins, after old', attrs: [s('http.method', 'POST'), s('http.request.method', 'PUT')], endpoint: 'GET /api/orders/{id}', method: 'PUT' },
    { name: 'new method wins, before old', attrs: [s('http.request.method', 'PUT'), s('http.method', 'POST')], endpoint: 'GET /api/orders/{id}', method: 'PUT' },
    { name: 'http.status_code only', attrs: [i('http.status_code', '404')], endpoint: 'GET /api/orders/{id}', status: '404' },
    { name: 'new status wins, before old', attrs: [i('http.response.status_code', '503'), i('http.status_code', '200')], endpoint: 'GET /api/orders/{id}', status: '503' },
    { name: 'new status wins, after old', attrs: [i('http.status_code', '200'), i('http.response.status_code', '503')], endpoint: 'GET /api/orders/{id}', status: '503' },
    { name: 'route', attrs: [s('http.route', '/health')], endpoint: '/health' },
  ];
  for (const c of cases) {
    const p = only(mapWith(request([span({ kind: 2, attributes: c.attrs })])), 'backend_api_latency');
    const t = tagsOf(p);
    assert.equal(t.endpoint, c.endpoint, c.name);
    assert.equal(t.http_method, c.method ?? '', c.name);
    assert.equal(t.status_code, c.status ?? '', c.name);
  }
});

test('only SERVER spans become backend_api_latency', () => {
  for (const kind of [0, 1, 3, 4, 5, 9]) {
    const r = mapWith(request([span({ kind, attributes: [s('http.route', '/x')] })]));
    assert.deepEqual(measurements(r), ['spans'], `kind ${kind}`);
  }
  assert.deepEqual(measurements(mapWith(request([span({ kind: 2 })]))), ['backend_api_latency', 'spans']);
});

// ---------------------------------------------------------------------------------------------
// spans

test('every span → spans with ids, name, kind, duration, status and typed attribute fields', () => {
  const sp = span({
    kind: 3,
    parentSpanId: '00f067aa0ba902b7',
    statusCode: 2,
    endTimeUnixNano: START + 1234n,
    attributes: [i('retries', '3'), d('ratio', 0.25), b('cached', true), s('db.system', 'postgresql'), j('tags', '["a","b"]'), i('big', '9007199254740993')],
  });
  const r = mapWith(request([sp], [s('service.name', 'orders')], 'my-scope'));
  const p = only(r, 'spans');
  assert.deepEqual(tagsOf(p), { service_name: 'orders', span_kind: 'client', tenant_id: 'acme' });
  const f = fieldsOf(p);
  assert.deepEqual(f.trace_id, { type: 'string', value: TRACE_ID });
  assert.deepEqual(f.span_id, { type: 'string', value: sp.spanId });
  assert.deepEqual(f.parent_span_id, { type: 'string', value: '00f067aa0ba902b7' });
  assert.deepEqual(f.name, { type: 'string', value: 'GET /api/orders/{id}' });
  assertInteger(f.duration_ns, 1234n, 'duration_ns');
  assertInteger(f.status_code, 2n, 'status_code');
  assert.deepEqual(f.scope_name, { type: 'string', value: 'my-scope' });
  assert.deepEqual(f.gateway_instance, { type: 'string', value: 'gw-1' });
  // int and double are both floats (the OTel JS SDK sends 13.0 as an int); the rest keep their type.
  assert.deepEqual(f.retries, { type: 'float', value: 3 });
  assert.deepEqual(f.ratio, { type: 'float', value: 0.25 });
  assert.deepEqual(f.cached, { type: 'boolean', value: true });
  assert.deepEqual(f['db.system'], { type: 'string', value: 'postgresql' });
  assert.deepEqual(f.tags, { type: 'string', value: '["a","b"]' });
  assert.equal(f.big?.type, 'float');
  assert.equal(p.timestamp, START);
});

test('span kinds are named', () => {
  const names = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
  names.forEach((name, kind) => assert.equal(tagsOf(only(mapWith(request([span({ kind })])), 'spans')).span_kind, name));
  assert.equal(tagsOf(only(mapWith(request([span({ kind: 42 })])), 'spans')).span_kind, 'unspecified');
});

test('attributes named like a built-in field are stored as attr_<name>', () => {
  const reserved = ['name', 'time', 'trace_id', 'span_id', 'parent_span_id', 'duration_ns', 'status_code', 'gateway_instance', 'scope_name'];
  const r = mapWith(request([span({ name: 'real-name', attributes: reserved.map((k) => s(k, `attr-${k}`)) })]));
  const f = fieldsOf(only(r, 'spans'));
  for (const k of reserved) assert.deepEqual(f[`attr_${k}`], { type: 'string', value: `attr-${k}` }, k);
  assert.deepEqual(f.name, { type: 'string', value: 'real-name' }, 'the span name is not overwritten');
  assert.equal(f.time, undefined, 'InfluxDB 1.x refuses a field named time');
  assert.deepEqual(f.trace_id, { type: 'string', value: TRACE_ID });
});

test('a conflicting attribute type goes to <key>__<type> across spans', () => {
  const types = new FieldTypeRegistry();
  const mapper = createSpanMapper(DEFAULT_RULES, types);
  const first = mapper.map(request([span({ attributes: [i('http.status_code', '200')] })]), CTX);
  const second = mapper.map(request([span({ attributes: [s('http.status_code', 'OK')] })]), CTX);
  assert.deepEqual(fieldsOf(only(first, 'spans'))['http.status_code'], { type: 'float', value: 200 });
  assert.deepEqual(fieldsOf(only(second, 'spans'))['http.status_code__string'], { type: 'string', value: 'OK' });
  assert.equal(types.conflicts, 1);
});

// ---------------------------------------------------------------------------------------------
// tenant

test('the tenant comes from ctx only; tenant_id / tenant.id attributes never appear anywhere', () => {
  const evil = [s('tenant_id', 'evil-1'), s('tenant.id', 'evil-2')];
  const sp = span({ kind: 2, attributes: [...evil, s('view_name', '/v')] });
  const r = mapWith(request([sp], [s('tenant_id', 'evil-3'), s('tenant.id', 'evil-4')]), DEFAULT_RULES, { tenantId: 'acme', instanceName: 'gw' });
  assert.deepEqual(measurements(r), ['backend_api_latency', 'frontend_performance', 'spans']);
  for (const { point } of r.points) {
    assert.equal(tagsOf(point).tenant_id, 'acme', point.measurement);
    assert.deepEqual(
      point.tags.filter(([k]) => k === 'tenant_id'),
      [['tenant_id', 'acme']],
      `${point.measurement}: one tenant tag`,
    );
    for (const [k] of point.fields) assert.doesNotMatch(k, /tenant/, `${point.measurement} field ${k}`);
    const line = encodeLine(point) ?? '';
    assert.doesNotMatch(line, /evil/, line);
  }
  // A different credential, a different tenant; same payload.
  const other = mapWith(request([sp]), DEFAULT_RULES, { tenantId: 'globex', instanceName: 'gw' });
  for (const { point } of other.points) assert.equal(tagsOf(point).tenant_id, 'globex');
});

// ---------------------------------------------------------------------------------------------
// invalid spans

test('invalid spans are counted with their reason and produce no points', () => {
  const cases: Array<{ name: string; span: Partial<SpanRecord>; reason: string }> = [
    { name: 'short trace id', span: { traceId: 'abc' }, reason: 'invalid trace_id (must be 16 bytes, not all zero)' },
    { name: 'upper-case trace id', span: { traceId: TRACE_ID.toUpperCase() }, reason: 'invalid trace_id (must be 16 bytes, not all zero)' },
    { name: 'all-zero trace id', span: { traceId: '0'.repeat(32) }, reason: 'invalid trace_id (must be 16 bytes, not all zero)' },
    { name: 'non-hex span id', span: { spanId: 'zzzzzzzzzzzzzzzz' }, reason: 'invalid span_id (must be 8 bytes, not all zero)' },
    { name: 'all-zero span id', span: { spanId: '0'.repeat(16) }, reason: 'invalid span_id (must be 8 bytes, not all zero)' },
    { name: 'short span id', span: { spanId: 'abcd' }, reason: 'invalid span_id (must be 8 bytes, not all zero)' },
    { name: 'bad parent id', span: { parentSpanId: 'xyz' }, reason: 'invalid parent_span_id (must be 8 bytes or empty)' },
    { name: 'zero start', span: { startTimeUnixNano: 0n, endTimeUnixNano: 5n }, reason: 'missing start_time_unix_nano' },
    { name: 'end before start', span: { endTimeUnixNano: START - 1n }, reason: 'end_time_unix_nano before start_time_unix_nano' },
    { name: 'end past 2262', span: { endTimeUnixNano: 9_223_372_036_854_775_807n }, reason: 'timestamp out of range (InfluxDB stores up to 2262-04-11T23:47:16.854775806Z)' },
    { name: 'start and end past 2262 (fixed64 max)', span: { startTimeUnixNano: 2n ** 64n - 2n, endTimeUnixNano: 2n ** 64n - 1n }, reason: 'timestamp out of range (InfluxDB stores up to 2262-04-11T23:47:16.854775806Z)' },
  ];
  for (const c of cases) {
    const bad = span({ ...c.span, attributes: [s('view_name', '/v')], kind: 2 });
    const good = span();
    const r = mapWith(request([bad, good]));
    assert.equal(r.rejectedSpans, 1, c.name);
    assert.equal(r.acceptedSpans, 1, c.name);
    assert.deepEqual([...r.rejections], [[c.reason, 1]], c.name);
    assert.deepEqual(
      r.points.map((p) => p.spanId),
      [good.spanId],
      `${c.name}: only the valid span is mapped`,
    );
  }
});

test('a span whose tags would pass InfluxDB\'s 64 KiB series key is refused alone, with no point at all', () => {
  // 20 000 emoji: 40 000 UTF-16 units, 80 000 UTF-8 bytes in frontend_performance's session_id tag.
  const long = span({ attributes: [s('view_name', '/v'), s('session.id', '😀'.repeat(20_000))], kind: 2 });
  // Just under: 15 000 emoji are 60 000 bytes, and no other tag is long.
  const under = span({ spanId: 'b'.repeat(16), attributes: [s('view_name', '/v'), s('session.id', '😀'.repeat(15_000))] });
  const good = span({ spanId: 'c'.repeat(16) });
  const r = mapWith(request([long, under, good]));
  assert.deepEqual([...r.rejections], [["tags too long (series key over InfluxDB's 64 KiB limit)", 1]]);
  assert.equal(r.acceptedSpans, 2);
  assert.deepEqual([...new Set(r.points.map((p) => p.spanId))], [under.spanId, good.spanId], 'none of the long span\'s three points');
});

test('rejections are counted per reason across resources and scopes', () => {
  const req: TraceRequest = {
    resourceSpans: [
      { resource: [], scopes: [{ scopeName: 'a', scopeVersion: '', spans: [span({ traceId: 'x' }), span(), span({ spanId: 'y' })] }] },
      {
        resource: [],
        scopes: [
          { scopeName: 'b', scopeVersion: '', spans: [span({ traceId: 'z' })] },
          { scopeName: 'c', scopeVersion: '', spans: [span(), span({ startTimeUnixNano: 0n })] },
        ],
      },
    ],
  };
  const r = mapWith(req);
  assert.equal(r.acceptedSpans, 2);
  assert.equal(r.rejectedSpans, 4);
  assert.deepEqual(Object.fromEntries(r.rejections), { 'invalid trace_id (must be 16 bytes, not all zero)': 2, 'invalid span_id (must be 8 bytes, not all zero)': 1, 'missing start_time_unix_nano': 1 });
  assert.equal(r.points.length, 2, 'one spans point per valid span');
  assert.deepEqual(
    r.points.map((p) => (fieldsOf(p.point).scope_name as { value: string }).value),
    ['a', 'c'],
  );
});

test(
  'spans whose times do not fit InfluxDB’s signed 64-bit nanoseconds are rejected, not mapped',
  () => {
    const maxNs = 9_223_372_036_854_775_806n; // influxd: "time outside range -9223372036854775806 - 9223372036854775806"
    const cases: Array<Partial<SpanRecord>> = [
      { startTimeUnixNano: maxNs + 1n, endTimeUnixNano: maxNs + 2n },
      { startTimeUnixNano: 2n ** 64n - 2n, endTimeUnixNano: 2n ** 64n - 1n },
      { startTimeUnixNano: START, endTimeUnixNano: 2n ** 64n - 1n },
    ];
    for (const c of cases) {
      const r = mapWith(request([span(c)]));
      assert.equal(r.rejectedSpans, 1, JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
      assert.deepEqual(r.points, []);
    }
  },
);

// ---------------------------------------------------------------------------------------------
// resource vs span attributes

test('span attributes override resource attributes of the same key', () => {
  const resource = [s('service.name', 'res-svc'), s('deployment.environment', 'prod'), s('host.name', 'web-1'), s('view_name', '/from-resource')];
  const sp = span({ kind: 2, attributes: [s('service.name', 'span-svc'), s('deployment.environment', 'canary'), s('view.name', '/from-span')] });
  const r = mapWith(request([sp], resource));
  for (const { point } of r.points) assert.equal(tagsOf(point).service_name, 'span-svc', point.measurement);
  const f = fieldsOf(only(r, 'spans'));
  assert.deepEqual(f['deployment.environment'], { type: 'string', value: 'canary' });
  assert.deepEqual(f['host.name'], { type: 'string', value: 'web-1' }, 'resource-only attributes are kept');
  assert.deepEqual(f.view_name, { type: 'string', value: '/from-span' }, 'an alias of the span overrides the resource key');
  assert.equal(tagsOf(only(r, 'frontend_performance')).view_name, '/from-span');
  // And a resource attribute alone still counts.
  const alone = mapWith(request([span()], resource));
  assert.equal(tagsOf(only(alone, 'spans')).service_name, 'res-svc');
  assert.equal(tagsOf(only(alone, 'frontend_performance')).view_name, '/from-resource');
});

// ---------------------------------------------------------------------------------------------
// invariants every point must keep for InfluxDB to accept the line

function assertWritable(r: MapResult, what: string): void {
  for (const { point } of r.points) {
    const keys = point.tags.map(([k]) => k);
    assert.equal(new Set(keys).size, keys.length, `${what}: ${point.measurement} has duplicate tag keys ${keys.join(',')}`);
    const fieldKeys = point.fields.map(([k]) => k);
    assert.equal(new Set(fieldKeys).size, fieldKeys.length, `${what}: ${point.measurement} has duplicate field keys ${fieldKeys.join(',')}`);
    for (const [k, v] of point.fields) {
      if (v.type === 'integer') {
        const n = BigInt(v.value);
        assert.ok(n >= -(2n ** 63n) && n < 2n ** 63n, `${what}: ${point.measurement}.${k} = ${n} does not fit int64`);
      }
    }
  }
}

test('ordinary spans give points with unique tag and field keys and in-range integers', () => {
  const sp = span({ kind: 2, attributes: [s('view_name', '/v'), s('session.id', 'x'), s('session_id', 'y'), s('view.name', '/w'), i('n', '9223372036854775807')] });
  assertWritable(mapWith(request([sp], [s('service.name', 'svc')])), 'ordinary');
});

test(
  'an attribute literally named attr_<reserved> does not collide with the renamed one',
  () => {
    const r = mapWith(request([span({ attributes: [s('name', 'from-name'), s('attr_name', 'from-attr_name')] })]));
    assertWritable(r, 'attr_name');
    const values = only(r, 'spans')
      .fields.map(([, v]) => v)
      .filter((v) => v.type === 'string')
      .map((v) => v.value);
    assert.ok(values.includes('from-name') && values.includes('from-attr_name'), 'both values are kept');
  },
);

test(
  'element_count from a huge double never becomes an out-of-range integer',
  () => {
    for (const value of [1e20, -1e20, 1e300]) {
      assertWritable(mapWith(request([span({ attributes: [s('view_name', '/v'), d('element_count', value)] })])), `element_count ${value}`);
    }
  },
);

// ---------------------------------------------------------------------------------------------
// parseMappingRules

test('parseMappingRules: {} gives the defaults', () => {
  const rules = parseMappingRules({});
  assert.deepEqual(rules, DEFAULT_RULES);
  assert.ok(Object.isFrozen(rules));
});

test('parseMappingRules: rename a measurement, disable one, add extra tags and aliases', () => {
  const rules = parseMappingRules({
    aliases: { 'app.screen': 'view_name', 'k8s.ns': 'namespace' },
    measurements: {
      frontend: { name: 'web_perf' },
      backend: { enabled: false },
      spans: { extraTags: ['namespace', 'deployment.environment'] },
    },
  });
  const sp = span({ kind: 2, attributes: [s('app.screen', '/cart'), s('k8s.ns', 'shop'), s('deployment.environment', 'prod')] });
  const r = mapWith(request([sp]), rules);
  assert.deepEqual(measurements(r), ['spans', 'web_perf'], 'frontend renamed, backend off');
  assert.equal(tagsOf(only(r, 'web_perf')).view_name, '/cart', 'custom alias feeds the view name');
  const spans = only(r, 'spans');
  assert.deepEqual(tagsOf(spans), { 'deployment.environment': 'prod', namespace: 'shop', service_name: '', span_kind: 'server', tenant_id: 'acme' });
  assert.deepEqual(
    spans.tags.map(([k]) => k),
    ['deployment.environment', 'namespace', 'service_name', 'span_kind', 'tenant_id'],
    'extra tags are sorted in',
  );
  // The default aliases stay.
  assert.equal(rules.aliases['session.id'], 'session_id');
  // An extra tag without a value is simply absent.
  const bare = mapWith(request([span()]), rules);
  assert.equal(tagsOf(only(bare, 'spans')).namespace, undefined);
});

test('parseMappingRules: an alias cannot smuggle the client tenant in', () => {
  const rules = parseMappingRules({ aliases: { customer: 'tenant_id' } });
  const r = mapWith(request([span({ attributes: [s('customer', 'evil')] })]), rules);
  for (const { point } of r.points) assert.doesNotMatch(encodeLine(point) ?? '', /evil/);
});

test('parseMappingRules: errors name the file and the JSON path', () => {
  const cases: Array<{ name: string; json: unknown; path: string; says: RegExp }> = [
    { name: 'not an object', json: [], path: '$', says: /JSON object/ },
    { name: 'null', json: null, path: '$', says: /JSON object/ },
    { name: 'unknown root key', json: { measurement: {} }, path: '$.measurement', says: /not a known setting/ },
    { name: 'aliases not an object', json: { aliases: ['a'] }, path: '$.aliases', says: /object/ },
    { name: 'alias to a number', json: { aliases: { 'a.b': 5 } }, path: '$.aliases["a.b"]', says: /attribute name/ },
    { name: 'alias to a bad name', json: { aliases: { 'a.b': 'has space' } }, path: '$.aliases["a.b"]', says: /attribute name/ },
    { name: 'measurements not an object', json: { measurements: 'x' }, path: '$.measurements', says: /object/ },
    { name: 'unknown measurement', json: { measurements: { metrics: {} } }, path: '$.measurements.metrics', says: /frontend, backend, spans/ },
    { name: 'measurement not an object', json: { measurements: { frontend: true } }, path: '$.measurements.frontend', says: /object/ },
    { name: 'unknown measurement key', json: { measurements: { frontend: { tags: [] } } }, path: '$.measurements.frontend.tags', says: /not a known setting/ },
    { name: 'enabled not boolean', json: { measurements: { backend: { enabled: 'no' } } }, path: '$.measurements.backend.enabled', says: /true or false/ },
    { name: 'name not a string', json: { measurements: { spans: { name: 7 } } }, path: '$.measurements.spans.name', says: /measurement name/ },
    { name: 'name with a space', json: { measurements: { spans: { name: 'my spans' } } }, path: '$.measurements.spans.name', says: /measurement name/ },
    { name: 'extraTags not an array', json: { measurements: { spans: { extraTags: 'env' } } }, path: '$.measurements.spans.extraTags', says: /array/ },
    { name: 'extraTags with a number', json: { measurements: { spans: { extraTags: [1] } } }, path: '$.measurements.spans.extraTags', says: /array/ },
    { name: 'forbidden tag trace_id', json: { measurements: { spans: { extraTags: ['trace_id'] } } }, path: '$.measurements.spans.extraTags', says: /"trace_id"/ },
    { name: 'forbidden tag span_id', json: { measurements: { backend: { extraTags: ['env', 'span_id'] } } }, path: '$.measurements.backend.extraTags', says: /"span_id"/ },
    { name: 'forbidden tag tenant_id', json: { measurements: { frontend: { extraTags: ['tenant_id'] } } }, path: '$.measurements.frontend.extraTags', says: /"tenant_id"/ },
    { name: 'duplicate names', json: { measurements: { frontend: { name: 'spans' } } }, path: '$.measurements', says: /same name/ },
    { name: 'duplicate renamed names', json: { measurements: { frontend: { name: 'x' }, backend: { name: 'x' } } }, path: '$.measurements', says: /same name/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseMappingRules(c.json, '/etc/tenantlens/mapping.json'),
      (err: unknown) => {
        assert.ok(err instanceof MappingFileError, `${c.name}: ${String(err)}`);
        assert.ok(err.message.startsWith(`MAPPING_FILE /etc/tenantlens/mapping.json: ${c.path} `), `${c.name}: ${err.message}`);
        assert.match(err.message, c.says, c.name);
        return true;
      },
      c.name,
    );
  }
});

test(
  'parseMappingRules: an extra tag cannot duplicate a built-in tag',
  () => {
    const cases: Array<[which: string, tag: string, attrs: Attribute[], kind: number]> = [
      ['frontend', 'view_name', [s('view_name', '/v')], 1],
      ['backend', 'endpoint', [s('endpoint', 'e')], 2],
      ['spans', 'span_kind', [s('span_kind', 'custom')], 1],
      ['spans', 'service_name', [s('service_name', 'x')], 1],
    ];
    for (const [which, tag, attributes, kind] of cases) {
      let rules: MappingRules;
      try {
        rules = parseMappingRules({ measurements: { [which]: { extraTags: [tag] } } });
      } catch (err) {
        assert.ok(err instanceof MappingFileError, String(err)); // refusing the file is a fine fix
        continue;
      }
      assertWritable(mapWith(request([span({ kind, attributes })]), rules), `${which}.extraTags [${tag}]`);
    }
  },
);

test('parseMappingRules: names reserved for logs and metrics are refused', () => {
  for (const name of ['logs', 'otel_metrics']) {
    assert.throws(
      () => parseMappingRules({ measurements: { spans: { name } } }, 'm.json'),
      (err: unknown) => err instanceof MappingFileError && err.message.includes(`"${name}"`) && err.message.includes('$.measurements'),
      name,
    );
  }
});
