import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Point } from '../src/schema/point.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';
import { createLogsMapper, createMetricsMapper } from '../src/mapping/map-signals.ts';
import { createSpanMapper } from '../src/mapping/map-spans.ts';
import { DEFAULT_RULES, parseMappingRules } from '../src/mapping/rules.ts';
import { decodeLogsRequest, decodeMetricsRequest } from '../src/otlp/decode-signals.ts';
import type { Attribute } from '../src/otlp/model.ts';
import { LOG_COLUMNS, SPAN_COLUMNS } from '../src/query/model.ts';
import { DEFAULT_ALIASES, KNOWN_ATTRIBUTES, SLOT_COUNT } from '../src/schema/attributes.ts';
import { tableSpecs } from '../src/schema/derived.ts';
import { BACKEND, FRONTEND, LOGS, MEASUREMENTS, METRICS, OVERFLOW_FIELD, ROLLUP, SPANS, type MeasurementSpec } from '../src/schema/measurements.ts';

/**
 * The schema (gateway/src/schema) is the one declaration of the data model. The derived lists are
 * read from it; what the mappers write is held to it here, measurement by measurement, so a field
 * added to a mapper without the schema (or the other way round) fails this test.
 */

const CTX = { tenantId: 'acme', instanceName: 'gw-1' };
const T = 1_700_000_000_123_456_789n;
const s = (key: string, value: string): Attribute => ({ key, value: { type: 'string', value } });

/** The point's tags (sorted, as written) and fields (in order) against the declaration. */
function holdsTo(point: Point, spec: MeasurementSpec): void {
  assert.deepEqual(
    point.tags.map(([k]) => k),
    [...spec.tags].sort(),
    `${spec.key}: the tags written`,
  );
  assert.deepEqual(
    point.fields.map(([k]) => k),
    spec.fields.map((f) => f.name),
    `${spec.key}: the fields written, in order`,
  );
  for (const [k, v] of point.fields) assert.equal(v.type, spec.fields.find((f) => f.name === k)?.type, `${spec.key}.${k}: its declared type`);
}

test('spans map to frontend_performance, backend_api_latency and spans exactly as declared', () => {
  const known = [s('session.id', 's1'), s('service.name', 'shop'), s('view.name', 'Home'), s('action.name', 'click'), { key: 'element.count', value: { type: 'int', value: '3' } }, { key: 'blocked_ms', value: { type: 'int', value: '210' } }, { key: 'long_tasks', value: { type: 'int', value: '1' } }, s('http.route', '/x'), s('http.request.method', 'GET'), s('http.response.status_code', '200')] satisfies Attribute[];
  const span = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), parentSpanId: 'ef'.repeat(8), name: 'op', kind: 2, startTimeUnixNano: T, endTimeUnixNano: T + 5n, statusCode: 1, attributes: known };
  const r = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry()).map({ resourceSpans: [{ resource: [], scopes: [{ scopeName: 'sc', scopeVersion: '', spans: [span] }] }] }, CTX);
  const by = new Map(r.points.map((p) => [p.point.measurement, p.point]));
  holdsTo(by.get(FRONTEND.name) as Point, FRONTEND);
  holdsTo(by.get(BACKEND.name) as Point, BACKEND);
  // `spans` also writes every attribute kept as a field (the known ones that say so), after its own.
  const spans = by.get(SPANS.name) as Point;
  holdsTo({ ...spans, fields: spans.fields.slice(0, SPANS.fields.length) }, SPANS);
  assert.deepEqual(
    spans.fields.slice(SPANS.fields.length).map(([k]) => k),
    KNOWN_ATTRIBUTES.filter((a) => a.alsoField && !a.fallback).map((a) => a.key),
  );
});

test('logs and the backend_api_latency rollup map exactly as declared; metric points stay within the declared fields', () => {
  const kv = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const logs = { resourceLogs: [{ resource: { attributes: [kv('service.name', 'api')] }, scopeLogs: [{ logRecords: [{ timeUnixNano: String(T), severityText: 'INFO', severityNumber: 9, body: { stringValue: 'hi' }, traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) }] }] }] };
  const log = createLogsMapper(DEFAULT_RULES, new FieldTypeRegistry()).map(decodeLogsRequest(Buffer.from(JSON.stringify(logs)), 'json'), CTX).points[0]?.point;
  holdsTo(log as Point, LOGS);

  const hist = { timeUnixNano: String(T), count: '2', sum: 0.3, min: 0.1, max: 0.2, explicitBounds: [0.1], bucketCounts: ['1', '1'], attributes: [kv('http.route', '/u'), kv('http.request.method', 'GET'), kv('http.response.status_code', '200')] };
  const gauge = { timeUnixNano: String(T), asDouble: 1, attributes: [kv('region', 'eu')] };
  const metrics = {
    resourceMetrics: [
      {
        resource: { attributes: [kv('service.name', 'api')] },
        scopeMetrics: [{ metrics: [{ name: 'http.server.request.duration', unit: 's', histogram: { aggregationTemporality: 2, dataPoints: [hist] } }, { name: 'g', gauge: { dataPoints: [gauge] } }] }],
      },
    ],
  };
  const points = createMetricsMapper(DEFAULT_RULES).map(decodeMetricsRequest(Buffer.from(JSON.stringify(metrics)), 'json'), CTX).points.map((p) => p.point);
  holdsTo(points.find((p) => p.measurement === ROLLUP.name) as Point, ROLLUP);
  const declared = new Set(METRICS.fields.map((f) => f.name));
  for (const p of points.filter((x) => x.measurement !== ROLLUP.name)) {
    for (const [k] of p.fields) assert.ok(declared.has(k), `metric field ${k} is declared`);
    for (const t of METRICS.tags) assert.ok(p.tags.some(([k]) => k === t), `metric tag ${t} is written`);
  }
});

test('the embedded tables keep their on-disk column order (existing database files depend on it)', () => {
  const specs = tableSpecs(DEFAULT_RULES);
  // Pinned on purpose: the appender writes by position into tables created by earlier versions; key columns come after (added by ALTER TABLE).
  assert.deepEqual(specs.frontend, { name: 'frontend_performance', idColumn: 'span_id', text: ['tenant_id', 'session_id', 'view_name', 'action_name', 'service_name', 'trace_id'], integers: ['duration_ms', 'element_count'], floats: [], keyed: [] });
  assert.deepEqual(specs.backend, { name: 'backend_api_latency', idColumn: 'span_id', text: ['tenant_id', 'endpoint', 'http_method', 'status_code', 'service_name', 'trace_id'], integers: ['latency_ms'], floats: [], keyed: [] });
  assert.deepEqual(specs.spans, { name: 'spans', idColumn: 'span_id', text: ['tenant_id', 'service_name', 'span_kind', 'trace_id', 'parent_span_id', 'name', 'session_id'], integers: ['duration_ns', 'status_code'], floats: [], keyed: ['trace_id', 'session_id'] });
  assert.deepEqual(specs.logs, { name: 'logs', idColumn: 'record_id', text: ['tenant_id', 'service_name', 'severity_text', 'trace_id', 'span_id', 'body'], integers: ['severity_number'], floats: [], keyed: ['trace_id'] });
  assert.deepEqual(specs.metrics, { name: 'otel_metrics', idColumn: 'point_id', text: ['tenant_id', 'measurement'], integers: [], floats: [], keyed: [] });
  assert.deepEqual(specs.webVitals, { name: 'web_vitals', idColumn: 'event_id', text: ['tenant_id', 'service_name', 'view_name', 'metric', 'rating', 'session_id', 'navigation_type', 'attribution', 'trace_id'], integers: [], floats: ['value'], keyed: [] });
  assert.deepEqual(specs.frontendErrors, { name: 'frontend_errors', idColumn: 'event_id', text: ['tenant_id', 'service_name', 'view_name', 'error_type', 'message', 'stack', 'session_id', 'trace_id', 'span_id', 'action_name'], integers: ['count'], floats: [], keyed: [] });
  // Renamed measurements keep their columns.
  assert.equal(tableSpecs(parseMappingRules({ measurements: { spans: { name: 'sp' } } })).spans.name, 'sp');
});

test('the drill-down lists as attributes exactly what has no column of its own, on both stores', () => {
  assert.deepEqual([...SPAN_COLUMNS].sort(), ['duration_ns', 'name', 'parent_span_id', 'service_name', 'session_id', 'span_id', 'span_kind', 'status_code', 'tenant_id', 'time', 'trace_id']);
  assert.deepEqual([...LOG_COLUMNS].sort(), ['body', 'service_name', 'severity_number', 'severity_text', 'span_id', 'tenant_id', 'time', 'trace_id']);
  // Written but without a column: both stores show these among a span's attributes.
  for (const f of ['scope_name', 'gateway_instance']) assert.equal(SPAN_COLUMNS.has(f), false, f);
});

test('declarations are consistent: reserved names, aliases and slots', () => {
  for (const m of MEASUREMENTS) {
    const names = [...m.tags, ...m.fields.map((f) => f.name)];
    assert.equal(new Set(names).size, names.length, `${m.key}: no name twice`);
  }
  // An attribute may not take a name `spans` writes as a field, nor `time`.
  for (const n of [...SPANS.tags, ...SPANS.fields.map((f) => f.name), OVERFLOW_FIELD]) assert.ok(SPANS.reserved.includes(n), `spans reserves ${n}`);
  for (const n of [...LOGS.tags, ...LOGS.fields.map((f) => f.name), OVERFLOW_FIELD]) assert.ok(LOGS.reserved.includes(n), `logs reserves ${n}`);
  assert.deepEqual(DEFAULT_RULES.aliases, DEFAULT_ALIASES);
  assert.deepEqual(DEFAULT_ALIASES, { 'session.id': 'session_id', 'tenant.id': 'tenant_id', 'view.name': 'view_name', 'action.name': 'action_name', 'element.count': 'element_count' });
  // Every slot has exactly one primary attribute; fallbacks only back a slot that has one.
  for (let slot = 0; slot < SLOT_COUNT; slot++) assert.equal(KNOWN_ATTRIBUTES.filter((a) => a.slot === slot && !a.fallback).length, 1, `slot ${slot}`);
  for (const a of KNOWN_ATTRIBUTES) assert.equal(a.slot === -1, a.role === 'dropped', a.key);
});
