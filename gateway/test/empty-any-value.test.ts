import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ATTRIBUTE_LIMITS } from '../src/otlp/limits.ts';
import { decodeTraceRequest, decodeTraceRequestWithProtobufjs, type OtlpEncoding } from '../src/otlp/decode.ts';
import { decodeLogsRequest, decodeMetricsRequest } from '../src/otlp/decode-signals.ts';
import { ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest } from '../src/otlp/proto.ts';
import { createProtoTraceLineEncoder } from '../src/ingest/proto-trace-lines.ts';
import { encodePoints, TimestampSlots } from '../src/influx/point-identity.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';
import { createLogsMapper } from '../src/mapping/map-signals.ts';
import { createSpanMapper } from '../src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../src/mapping/rules.ts';

/**
 * Issue 16 §6: an AnyValue with no member set (`{}` in JSON, an empty message in protobuf) is
 * stored as the empty string whatever the encoding, like an absent value; it used to be the text
 * "null" from JSON (and from protobufjs, which decodes metrics and logs) but "" from the protobuf
 * trace reader. Nested in an array or kvlist it stays JSON `null`, as before, from both.
 */

const EMPTY = { type: 'string', value: '' };
const attrs = [
  { key: 'empty', value: {} },
  { key: 'absent' },
  { key: 'nested', value: { arrayValue: { values: [{}, { stringValue: 'x' }] } } },
];
const NESTED = { type: 'json', value: '[null,"x"]' };
const T = '1700000000123456789';
const traceJson = {
  resourceSpans: [{ resource: { attributes: attrs }, scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'op', kind: 1, startTimeUnixNano: T, endTimeUnixNano: T, attributes: attrs }] }] }],
};
const traceProto = (): Uint8Array =>
  ExportTraceServiceRequest.encode({
    resourceSpans: [
      {
        resource: { attributes: attrs },
        scopeSpans: [{ spans: [{ traceId: Buffer.from('ab'.repeat(16), 'hex'), spanId: Buffer.from('cd'.repeat(8), 'hex'), name: 'op', kind: 1, startTimeUnixNano: T, endTimeUnixNano: T, attributes: attrs }] }],
      },
    ],
  } as never).finish();

const bodies: Record<OtlpEncoding, () => Uint8Array> = {
  json: () => Buffer.from(JSON.stringify(traceJson)),
  protobuf: traceProto,
};

test('traces: an empty AnyValue is "" from JSON, from the protobuf reader and from protobufjs', () => {
  for (const encoding of ['json', 'protobuf'] as const) {
    const span = decodeTraceRequest(bodies[encoding](), encoding).resourceSpans[0]?.scopes[0]?.spans[0];
    assert.deepEqual(span?.attributes.map((a) => a.value), [EMPTY, EMPTY, NESTED], encoding);
  }
  const pbjs = decodeTraceRequestWithProtobufjs(traceProto()).resourceSpans[0];
  assert.deepEqual(pbjs?.resource.map((a) => a.value), [EMPTY, EMPTY, NESTED], 'protobufjs');
});

test('traces: the stored lines agree across encodings and paths (`empty=""`)', () => {
  const lines = (encoding: OtlpEncoding): string[] => {
    const mapped = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry()).map(decodeTraceRequest(bodies[encoding](), encoding), { tenantId: 'acme', instanceName: 'gw' });
    return encodePoints(mapped.points, new TimestampSlots());
  };
  const json = lines('json');
  assert.deepEqual(lines('protobuf'), json);
  assert.match(json.join('\n'), /,empty="",absent="",nested="\[null,\\"x\\"\]"/);
  const fused = createProtoTraceLineEncoder({ rules: DEFAULT_RULES, fieldTypes: new FieldTypeRegistry(), slots: new TimestampSlots(), instanceName: 'gw', limits: DEFAULT_ATTRIBUTE_LIMITS });
  assert.deepEqual(fused?.encode(Buffer.from(traceProto()), 'acme')?.lines(), json, 'the fused encoder writes the same');
});

test('metrics and logs: an empty AnyValue attribute is "" and an empty log body is "", from JSON and protobuf', () => {
  const point = { timeUnixNano: T, asDouble: 1, attributes: attrs };
  const metricsMsg = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', gauge: { dataPoints: [point] } }] }] }] };
  const record = { timeUnixNano: T, body: {}, attributes: attrs };
  const logsMsg = { resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] };
  const metrics = {
    json: decodeMetricsRequest(Buffer.from(JSON.stringify(metricsMsg)), 'json'),
    protobuf: decodeMetricsRequest(ExportMetricsServiceRequest.encode(metricsMsg as never).finish(), 'protobuf'),
  };
  const logs = {
    json: decodeLogsRequest(Buffer.from(JSON.stringify(logsMsg)), 'json'),
    protobuf: decodeLogsRequest(ExportLogsServiceRequest.encode(logsMsg as never).finish(), 'protobuf'),
  };
  for (const encoding of ['json', 'protobuf'] as const) {
    const m = metrics[encoding].resourceMetrics[0]?.scopes[0]?.metrics[0]?.data;
    assert.ok(m !== undefined && m.kind === 'gauge');
    assert.deepEqual(m.points[0]?.attributes.map((a) => a.value), [EMPTY, EMPTY, NESTED], `metrics/${encoding}`);
    const r = logs[encoding].resourceLogs[0]?.scopes[0]?.records[0];
    assert.deepEqual(r?.attributes.map((a) => a.value), [EMPTY, EMPTY, NESTED], `logs/${encoding}`);
    assert.equal(r?.body, '', `logs/${encoding}: body`);
  }
  const logLines = (encoding: OtlpEncoding): string[] => encodePoints(createLogsMapper(DEFAULT_RULES, new FieldTypeRegistry()).map(logs[encoding], { tenantId: 'acme', instanceName: 'gw' }).points, new TimestampSlots());
  assert.deepEqual(logLines('protobuf'), logLines('json'));
  assert.match(logLines('json').join('\n'), /body="",.*empty="",absent=""/);
});
