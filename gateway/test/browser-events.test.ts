/**
 * Browser events (OTLP log records from @tenantlens/web-sdk) → `web_vitals` and `frontend_errors`,
 * and the long-task charge → `frontend_performance` (reference mapping; the fused encoder hands
 * those spans back).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProtoTraceLineEncoder } from '../src/ingest/proto-trace-lines.ts';
import { encodeLine } from '../src/influx/line-protocol.ts';
import { TimestampSlots } from '../src/influx/point-identity.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';
import { createLogsMapper } from '../src/mapping/map-signals.ts';
import { createSpanMapper } from '../src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../src/mapping/rules.ts';
import { decodeTraceRequest } from '../src/otlp/decode.ts';
import { decodeLogsRequest } from '../src/otlp/decode-signals.ts';
import { DEFAULT_ATTRIBUTE_LIMITS } from '../src/otlp/limits.ts';
import { ExportTraceServiceRequest } from '../src/otlp/proto.ts';

const CTX = { tenantId: 'acme', instanceName: 'gw-1' };
const T = '1700000000123456789';
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const kv = (key: string, v: string | number | boolean) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
});
const logs = (records: unknown[]) =>
  Buffer.from(JSON.stringify({ resourceLogs: [{ resource: { attributes: [kv('service.name', 'web')] }, scopeLogs: [{ scope: { name: '@tenantlens/web-sdk' }, logRecords: records }] }] }));
const mapLogs = (records: unknown[]): string[] =>
  createLogsMapper(DEFAULT_RULES, new FieldTypeRegistry()).map(decodeLogsRequest(logs(records), 'json'), CTX).points.map((p) => encodeLine(p.point) ?? '');

test('a browser.web_vital event is a web_vitals row: metric and rating tags, float value, attribution as JSON', () => {
  const lines = mapLogs([
    {
      timeUnixNano: T,
      eventName: 'browser.web_vital',
      attributes: [
        kv('browser.web_vital.name', 'LCP'),
        kv('browser.web_vital.value', 1234),
        kv('browser.web_vital.rating', 'good'),
        kv('browser.web_vital.delta', 1234),
        kv('browser.web_vital.id', 'v5-1'),
        kv('browser.web_vital.navigation_type', 'navigate'),
        kv('browser.web_vital.attribution.url', 'https://cdn/x.png'),
        kv('browser.web_vital.attribution.target', 'img#hero'),
        kv('view_name', 'Home'),
        kv('session_id', 's1'),
      ],
    },
  ]);
  assert.deepEqual(lines, [
    'web_vitals,metric=LCP,rating=good,service_name=web,tenant_id=acme,view_name=Home value=1234,session_id="s1",navigation_type="navigate",attribution="{\\"target\\":\\"img#hero\\",\\"url\\":\\"https://cdn/x.png\\"}" 1700000000123456789',
  ]);
});

test('CLS keeps a fractional value; a trace id is written when the event has one; event.name works as the attribute spelling', () => {
  const lines = mapLogs([
    {
      timeUnixNano: T,
      traceId: TRACE,
      attributes: [kv('event.name', 'browser.web_vital'), kv('browser.web_vital.name', 'CLS'), kv('browser.web_vital.value', 0.25), kv('browser.web_vital.rating', 'needs-improvement'), kv('view.name', 'Cart')],
    },
  ]);
  assert.deepEqual(lines, [
    `web_vitals,metric=CLS,rating=needs-improvement,service_name=web,tenant_id=acme,view_name=Cart value=0.25,session_id="",navigation_type="",attribution="",trace_id="${TRACE}" 1700000000123456789`,
  ]);
});

test('an exception event from a page is a frontend_errors row with message, stack, count and its trace', () => {
  const lines = mapLogs([
    {
      timeUnixNano: T,
      eventName: 'exception',
      traceId: TRACE,
      spanId: SPAN,
      attributes: [
        kv('exception.type', 'TypeError'),
        kv('exception.message', 'x is undefined'),
        kv('exception.stacktrace', 'TypeError: x is undefined\n    at f (https://app/a.js:1:2)'),
        kv('exception.count', 50),
        kv('view_name', 'Checkout'),
        kv('session_id', 's1'),
        kv('action_name', 'placeOrder'),
      ],
    },
  ]);
  assert.deepEqual(lines, [
    `frontend_errors,error_type=TypeError,service_name=web,tenant_id=acme,view_name=Checkout message="x is undefined",stack="TypeError: x is undefined\n    at f (https://app/a.js:1:2)",count=50i,session_id="s1",trace_id="${TRACE}",span_id="${SPAN}",action_name="placeOrder" 1700000000123456789`,
  ]);
});

test('a count that is missing or nonsense is 1; a backend exception log (no view) stays in logs; a vital without a value stays in logs', () => {
  const lines = mapLogs([
    { timeUnixNano: T, eventName: 'exception', attributes: [kv('exception.type', 'Error'), kv('view_name', 'V'), kv('exception.count', -3)] },
    { timeUnixNano: T, eventName: 'exception', attributes: [kv('exception.type', 'Error')] },
    { timeUnixNano: T, eventName: 'browser.web_vital', attributes: [kv('browser.web_vital.name', 'LCP')] },
  ]);
  assert.match(lines[0] ?? '', /^frontend_errors,error_type=Error,.*count=1i,/);
  assert.match(lines[1] ?? '', /^logs,/);
  assert.match(lines[2] ?? '', /^logs,/);
});

function traceBody(attrs: Array<ReturnType<typeof kv>>): Buffer {
  return Buffer.from(
    ExportTraceServiceRequest.encode({
      resourceSpans: [
        {
          resource: { attributes: [kv('service.name', 'web')] },
          scopeSpans: [
            {
              scope: { name: 's' },
              spans: [
                {
                  traceId: Buffer.from(TRACE, 'hex'),
                  spanId: Buffer.from(SPAN, 'hex'),
                  name: 'loadCart',
                  kind: 1,
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000000250000000',
                  attributes: attrs,
                },
              ],
            },
          ],
        },
      ],
    }).finish(),
  );
}

test('blocked_ms and long_tasks become integer frontend_performance fields; the fused encoder hands those spans back', () => {
  const attrs = [kv('view_name', 'Cart'), kv('action_name', 'loadCart'), kv('mobx.kind', 'action'), kv('blocked_ms', 312), kv('long_tasks', 2)];
  const body = traceBody(attrs);
  const mapped = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry()).map(decodeTraceRequest(body, 'protobuf'), CTX);
  const frontend = mapped.points.map((p) => encodeLine(p.point) ?? '').find((l) => l.startsWith('frontend_performance,'));
  assert.match(frontend ?? '', / duration_ms=250i,blocked_ms=312i,long_tasks=2i,trace_id=/);
  const encoder = createProtoTraceLineEncoder({ rules: DEFAULT_RULES, fieldTypes: new FieldTypeRegistry(), slots: new TimestampSlots(), instanceName: 'gw-1', limits: DEFAULT_ATTRIBUTE_LIMITS });
  assert.ok(encoder);
  assert.equal(encoder.encode(body, 'acme'), undefined, 'a span with blocked_ms goes to the reference path');
  assert.notEqual(encoder.encode(traceBody(attrs.slice(0, 3)), 'acme'), undefined, 'an ordinary span stays on the fused path');
});
