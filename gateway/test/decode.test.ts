import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { context, SpanKind, SpanStatusCode, trace, type HrTime } from '@opentelemetry/api';
import type * as SdkTraceBase from '../../node_modules/@opentelemetry/sdk-trace-base/build/src/index-shim.js';
import type * as Resources from '../../node_modules/@opentelemetry/resources/build/src/index.js';
import { GatewayError } from '../src/errors.ts';
import type { AttrValue, SpanRecord, TraceRequest } from '../src/otlp/model.ts';
import { decodeTraceRequest } from '../src/otlp/decode.ts';
import { ExportTraceServiceRequest } from '../src/otlp/proto.ts';

// Resolved from the repository root, not from here: gateway/node_modules holds the 1.x SDK that
// the pinned otlp-transformer 0.57.2 (the gateway's decoder) depends on; the tests use the 2.x SDK.
const rootRequire = createRequire(new URL('../../package.json', import.meta.url));
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = rootRequire('@opentelemetry/sdk-trace-base') as typeof SdkTraceBase;
const { resourceFromAttributes } = rootRequire('@opentelemetry/resources') as typeof Resources;
type ReadableSpan = SdkTraceBase.ReadableSpan;
type BasicTracerProvider = InstanceType<typeof BasicTracerProvider>;

// The serializers the official OTLP/HTTP exporters use: the otlp-transformer that
// @opentelemetry/exporter-trace-otlp-proto itself depends on (0.2xx), wherever npm placed it.
const exporterRequire = createRequire(rootRequire.resolve('@opentelemetry/exporter-trace-otlp-proto'));
interface Serializer {
  serializeRequest(spans: ReadableSpan[]): Uint8Array | undefined;
}
const transformer = exporterRequire('@opentelemetry/otlp-transformer') as {
  ProtobufTraceSerializer: Serializer;
  JsonTraceSerializer: Serializer;
};
const transformerVersion = (exporterRequire('@opentelemetry/otlp-transformer/package.json') as { version: string }).version;

function serialize(serializer: Serializer, spans: ReadableSpan[]): Uint8Array {
  const bytes = serializer.serializeRequest(spans);
  assert.ok(bytes !== undefined && bytes.length > 0, 'the serializer produced nothing');
  return bytes;
}

/** hrTime [s, ns] → exact ns, without the float math hrTimeToNanoseconds would do. */
function ns(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** Runs `fn` with a fresh SDK and returns the finished spans in end order. */
async function recordSpans(fn: (provider: BasicTracerProvider) => void): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'deployment.environment': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  try {
    fn(provider);
    await provider.forceFlush();
    return exporter.getFinishedSpans();
  } finally {
    await provider.shutdown();
  }
}

function attrs(span: SpanRecord): Record<string, AttrValue> {
  return Object.fromEntries(span.attributes.map((a) => [a.key, a.value]));
}

function allSpans(req: TraceRequest): SpanRecord[] {
  return req.resourceSpans.flatMap((rs) => rs.scopes.flatMap((s) => s.spans));
}

function malformed(body: string | Uint8Array, encoding: 'json' | 'protobuf', message: RegExp): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  assert.throws(
    () => decodeTraceRequest(bytes, encoding),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'TL_MALFORMED_BODY');
      assert.match(err.message, message);
      return true;
    },
  );
}

// ---------------------------------------------------------------- official serializers

test('the serializers come from the 0.2xx otlp-transformer the exporters use, not the gateway\'s 0.57.2', () => {
  assert.match(transformerVersion, /^0\.2\d\d\./);
});

test('real SDK spans: protobuf and JSON from the official serializers decode to the same exact SpanRecords', async () => {
  const spans = await recordSpans((provider) => {
    const tracer = provider.getTracer('shop-instrumentation', '1.2.3');
    const server = tracer.startSpan('GET /checkout', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.route': '/checkout',
        'http.status_code': 500,
        'cart.total': 12.75,
        'cart.discount': -0.5,
        'user.anonymous': false,
        'feature.flags': ['new-ui', 'fast-pay'],
        'retry.counts': [1, 2, 3],
        'weight.kg': 13.0, // a whole-number double: a JS number cannot say it was a double
        'negative.int': -42,
        'empty.string': '',
        'ünïcode': 'grüße €',
      },
    });
    const child = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(context.active(), server));
    child.setAttribute('ok', true);
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
    child.end();
    server.setStatus({ code: SpanStatusCode.OK });
    server.end();
    const other = provider.getTracer('other-scope');
    other.startSpan('background').end();
  });
  assert.equal(spans.length, 3);

  const fromProto = decodeTraceRequest(serialize(transformer.ProtobufTraceSerializer, spans), 'protobuf');
  const fromJson = decodeTraceRequest(serialize(transformer.JsonTraceSerializer, spans), 'json');
  assert.deepEqual(fromJson, fromProto, 'the two encodings must decode identically');

  assert.equal(fromProto.resourceSpans.length, 1);
  const rs = fromProto.resourceSpans[0]!;
  const resource = Object.fromEntries(rs.resource.map((a) => [a.key, a.value]));
  assert.deepEqual(resource['service.name'], { type: 'string', value: 'checkout' });
  assert.deepEqual(resource['deployment.environment'], { type: 'string', value: 'test' });
  assert.deepEqual(
    rs.scopes.map((s) => [s.scopeName, s.scopeVersion, s.spans.length]),
    [
      ['shop-instrumentation', '1.2.3', 2],
      ['other-scope', '', 1],
    ],
  );

  const byName = new Map(allSpans(fromProto).map((s) => [s.name, s]));
  for (const sdk of spans) {
    const got = byName.get(sdk.name);
    assert.ok(got !== undefined, `span ${sdk.name} missing`);
    assert.equal(got.traceId, sdk.spanContext().traceId);
    assert.equal(got.spanId, sdk.spanContext().spanId);
    assert.match(got.traceId, /^[0-9a-f]{32}$/);
    assert.match(got.spanId, /^[0-9a-f]{16}$/);
    assert.equal(got.parentSpanId, sdk.parentSpanContext?.spanId ?? '');
    assert.equal(got.startTimeUnixNano, ns(sdk.startTime), `${sdk.name} start`);
    assert.equal(got.endTimeUnixNano, ns(sdk.endTime), `${sdk.name} end`);
    assert.equal(got.kind, sdk.kind + 1, 'OTLP kinds are the API kinds + 1');
    assert.equal(got.statusCode, sdk.status.code);
  }

  const server = byName.get('GET /checkout')!;
  const child = byName.get('SELECT orders')!;
  const background = byName.get('background')!;
  assert.equal(server.kind, 2);
  assert.equal(child.kind, 3);
  assert.equal(background.kind, 1);
  assert.equal(server.parentSpanId, '');
  assert.equal(child.parentSpanId, server.spanId);
  assert.equal(child.traceId, server.traceId);
  assert.notEqual(background.traceId, server.traceId);
  assert.equal(server.statusCode, 1);
  assert.equal(child.statusCode, 2);
  assert.equal(background.statusCode, 0);
  assert.ok(server.endTimeUnixNano >= child.endTimeUnixNano);

  assert.deepEqual(attrs(server), {
    'http.route': { type: 'string', value: '/checkout' },
    'http.status_code': { type: 'int', value: '500' },
    'cart.total': { type: 'double', value: 12.75 },
    'cart.discount': { type: 'double', value: -0.5 },
    'user.anonymous': { type: 'bool', value: false },
    'feature.flags': { type: 'json', value: '["new-ui","fast-pay"]' },
    'retry.counts': { type: 'json', value: '[1,2,3]' },
    // What arrives: the SDK encodes 13.0 as intValue in both encodings.
    'weight.kg': { type: 'int', value: '13' },
    'negative.int': { type: 'int', value: '-42' },
    'empty.string': { type: 'string', value: '' },
    'ünïcode': { type: 'string', value: 'grüße €' },
  });
  assert.deepEqual(Object.keys(attrs(server)), Object.keys(spans.find((s) => s.name === 'GET /checkout')!.attributes), 'attribute order kept');
  assert.deepEqual(attrs(child), { 'db.system': { type: 'string', value: 'postgresql' }, ok: { type: 'bool', value: true } });
});

test('a whole number beyond 2^53 from the official JSON serializer (a JSON number) decodes like its protobuf', async () => {
  const spans = await recordSpans((provider) => {
    provider.getTracer('t').startSpan('big', { attributes: { 'bytes.total': 2 ** 60, 'bytes.negative': -(2 ** 55) } }).end();
  });
  const json = serialize(transformer.JsonTraceSerializer, spans);
  // The exporter writes the number as JSON.stringify does: 1152921504606847000, not a string.
  assert.match(Buffer.from(json).toString(), /"intValue":1152921504606847000\b/);
  const fromProto = decodeTraceRequest(serialize(transformer.ProtobufTraceSerializer, spans), 'protobuf');
  const fromJson = decodeTraceRequest(json, 'json');
  assert.deepEqual(attrs(allSpans(fromProto)[0]!), {
    'bytes.total': { type: 'int', value: '1152921504606846976' },
    'bytes.negative': { type: 'int', value: '-36028797018963968' },
  });
  assert.deepEqual(fromJson, fromProto);
});

test('timestamps keep nanosecond precision far beyond 2^53 (fixed64 in protobuf, string in JSON)', async () => {
  const start: HrTime = [1_700_000_000, 123_456_789];
  const end: HrTime = [1_700_000_001, 987_654_321];
  const spans = await recordSpans((provider) => {
    provider.getTracer('t').startSpan('timed', { startTime: start }).end(end);
  });
  for (const [serializer, encoding] of [
    [transformer.ProtobufTraceSerializer, 'protobuf'],
    [transformer.JsonTraceSerializer, 'json'],
  ] as const) {
    const span = allSpans(decodeTraceRequest(serialize(serializer, spans), encoding))[0]!;
    assert.equal(span.startTimeUnixNano, 1_700_000_000_123_456_789n, encoding);
    assert.equal(span.endTimeUnixNano, 1_700_000_001_987_654_321n, encoding);
  }
});

test('an empty export request decodes to no spans in both encodings', () => {
  assert.deepEqual(decodeTraceRequest(new Uint8Array(0), 'protobuf'), { resourceSpans: [] });
  assert.deepEqual(decodeTraceRequest(Buffer.from('{}'), 'json'), { resourceSpans: [] });
  assert.deepEqual(decodeTraceRequest(Buffer.from('{"resourceSpans":[]}'), 'json'), { resourceSpans: [] });
});

// ---------------------------------------------------------------- hand-written OTLP/JSON

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const PARENT = 'eee19b7ec3c1b173';

function jsonSpan(span: Record<string, unknown>): string {
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
}

function decodeOne(body: string): SpanRecord {
  const spans = allSpans(decodeTraceRequest(Buffer.from(body), 'json'));
  assert.equal(spans.length, 1);
  return spans[0]!;
}

test('OTLP/JSON: snake_case keys are accepted like lowerCamelCase', () => {
  const body = JSON.stringify({
    resource_spans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scope_spans: [
          {
            scope: { name: 'sc', version: '9' },
            spans: [
              {
                trace_id: TRACE,
                span_id: SPAN,
                parent_span_id: PARENT,
                name: 'snake',
                kind: 3,
                start_time_unix_nano: '1700000000000000001',
                end_time_unix_nano: '1700000000000000002',
              },
            ],
          },
        ],
      },
    ],
  });
  assert.deepEqual(decodeTraceRequest(Buffer.from(body), 'json'), {
    resourceSpans: [
      {
        resource: [{ key: 'service.name', value: { type: 'string', value: 'svc' } }],
        scopes: [
          {
            scopeName: 'sc',
            scopeVersion: '9',
            spans: [
              {
                traceId: TRACE,
                spanId: SPAN,
                parentSpanId: PARENT,
                name: 'snake',
                kind: 3,
                startTimeUnixNano: 1_700_000_000_000_000_001n,
                endTimeUnixNano: 1_700_000_000_000_000_002n,
                statusCode: 0,
                attributes: [],
              },
            ],
          },
        ],
      },
    ],
  });
});

test('OTLP/JSON: enum names, int64 strings, upper-case hex and unknown fields', () => {
  const span = decodeOne(
    JSON.stringify({
      resourceSpans: [
        {
          schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
          futureField: { anything: [1, 2] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: TRACE.toUpperCase(),
                  spanId: SPAN.toUpperCase(),
                  name: 'enums',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: '1700000000123456789',
                  endTimeUnixNano: 1700000000, // a safe-integer number is tolerated
                  status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
                  attributes: [
                    { key: 'big', value: { intValue: '9007199254740993' } }, // 2^53 + 1: only a string carries it
                    { key: 'small', value: { intValue: 7 } },
                    { key: 'nan', value: { doubleValue: 'NaN' } },
                    { key: 'inf', value: { doubleValue: '-Infinity' } },
                    { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { intValue: '1' } }, { key: 'b' }] } } },
                    { key: 'bytes', value: { bytesValue: 'AQID' } },
                    { key: 'none' },
                  ],
                  events: [{ timeUnixNano: '1', name: 'ignored' }],
                  links: [],
                  flags: 257,
                  droppedAttributesCount: 0,
                  traceState: 'k=v',
                },
              ],
            },
          ],
        },
      ],
    }),
  );
  assert.equal(span.traceId, TRACE);
  assert.equal(span.spanId, SPAN);
  assert.equal(span.parentSpanId, '');
  assert.equal(span.kind, 2);
  assert.equal(span.statusCode, 2);
  assert.equal(span.startTimeUnixNano, 1_700_000_000_123_456_789n);
  assert.equal(span.endTimeUnixNano, 1_700_000_000n);
  const a = attrs(span);
  assert.deepEqual(a.big, { type: 'int', value: '9007199254740993' });
  assert.deepEqual(a.small, { type: 'int', value: '7' });
  assert.equal(a.nan?.type, 'double');
  assert.ok(a.nan?.type === 'double' && Number.isNaN(a.nan.value));
  assert.deepEqual(a.inf, { type: 'double', value: -Infinity });
  assert.deepEqual(a.kv, { type: 'json', value: '{"a":1,"b":null}' });
  assert.deepEqual(a.bytes, { type: 'json', value: '"AQID"' });
  assert.deepEqual(a.none, { type: 'string', value: '' });
  for (const [name, value] of Object.entries({ SPAN_KIND_INTERNAL: 1, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5, SPAN_KIND_UNSPECIFIED: 0 })) {
    assert.equal(decodeOne(jsonSpan({ traceId: TRACE, spanId: SPAN, kind: name })).kind, value, name);
  }
  assert.equal(decodeOne(jsonSpan({ traceId: TRACE, spanId: SPAN, status: { code: 'STATUS_CODE_OK' } })).statusCode, 1);
});

// ---------------------------------------------------------------- malformed input → 400

test('malformed OTLP/JSON throws a 400 GatewayError naming the JSON path', () => {
  const s = '\\$\\.resourceSpans\\[0\\]\\.scopeSpans\\[0\\]\\.spans\\[0\\]';
  malformed('[]', 'json', /\$: expected an object/);
  malformed('"spans"', 'json', /\$: expected an object/);
  malformed('null', 'json', /\$: expected an object/);
  malformed('{"resourceSpans":{}}', 'json', /\$\.resourceSpans: expected an array/);
  malformed('{"resourceSpans":[7]}', 'json', /\$\.resourceSpans\[0\]: expected an object/);
  malformed('{"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]}', 'json', /\$\.resourceSpans\[0\]\.scopeSpans\[0\]\.spans: expected an array/);
  malformed('{"resourceSpans":[{"scope_spans":[{"spans":"x"}]}]}', 'json', /\$\.resourceSpans\[0\]\.scopeSpans\[0\]\.spans: expected an array/);
  malformed(jsonSpan({ traceId: 'not-hex-at-all!', spanId: SPAN }), 'json', new RegExp(`${s}\\.traceId: expected a hex string`));
  malformed(jsonSpan({ traceId: TRACE, spanId: 12 }), 'json', new RegExp(`${s}\\.spanId: expected a hex string`));
  malformed(jsonSpan({ traceId: TRACE, startTimeUnixNano: 1.5 }), 'json', new RegExp(`${s}\\.startTimeUnixNano: expected an int64`));
  malformed(jsonSpan({ traceId: TRACE, endTimeUnixNano: '12.0' }), 'json', new RegExp(`${s}\\.endTimeUnixNano: expected an int64`));
  malformed(jsonSpan({ traceId: TRACE, startTimeUnixNano: '-1' }), 'json', new RegExp(`${s}\\.startTimeUnixNano: expected an unsigned 64-bit integer`));
  malformed(jsonSpan({ traceId: TRACE, startTimeUnixNano: '18446744073709551616' }), 'json', new RegExp(`${s}\\.startTimeUnixNano: expected an unsigned 64-bit integer`));
  malformed(jsonSpan({ attributes: [{ key: 'n', value: { intValue: 1.5 } }] }), 'json', new RegExp(`${s}\\.attributes\\[0\\]\\.value\\.intValue: expected an int64`));
  malformed(jsonSpan({ attributes: [{ key: 'n', value: { intValue: 1e20 } }] }), 'json', new RegExp(`${s}\\.attributes\\[0\\]\\.value\\.intValue: expected an int64`));
  malformed(jsonSpan({ attributes: [{ key: 'n', value: { intValue: 'twelve' } }] }), 'json', new RegExp(`${s}\\.attributes\\[0\\]\\.value\\.intValue: expected an int64`));
  malformed(jsonSpan({ attributes: [{ key: 'n', value: { boolValue: 'true' } }] }), 'json', new RegExp(`${s}\\.attributes\\[0\\]\\.value\\.boolValue: expected a boolean`));
  malformed(jsonSpan({ attributes: [{ key: 'n', value: { doubleValue: 'fast' } }] }), 'json', new RegExp(`${s}\\.attributes\\[0\\]\\.value\\.doubleValue: expected a number`));
  malformed(jsonSpan({ attributes: {} }), 'json', new RegExp(`${s}\\.attributes: expected an array`));
  malformed(jsonSpan({ kind: 'SERVER' }), 'json', new RegExp(`${s}\\.kind: expected an enum`));
  malformed(jsonSpan({ name: 5 }), 'json', new RegExp(`${s}\\.name: expected a string`));
  malformed(jsonSpan({ status: 'error' }), 'json', new RegExp(`${s}\\.status: expected an object`));
  malformed('{"resourceSpans":[{"resource":{"attributes":[{"key":1}]}}]}', 'json', /\$\.resourceSpans\[0\]\.resource\.attributes\[0\]\.key: expected a string/);
});

test('invalid JSON text and broken protobuf bytes are 400s too', async () => {
  malformed('{"resourceSpans": [', 'json', /invalid JSON/);
  malformed('', 'json', /invalid JSON/);
  malformed('\u00ff\u00fe', 'json', /invalid JSON/);

  const spans = await recordSpans((provider) => {
    provider.getTracer('t').startSpan('x', { attributes: { a: 'b' } }).end();
  });
  const good = serialize(transformer.ProtobufTraceSerializer, spans);
  assert.equal(allSpans(decodeTraceRequest(good, 'protobuf')).length, 1);
  malformed(good.subarray(0, good.length - 3), 'protobuf', /invalid protobuf ExportTraceServiceRequest/);
  malformed(good.subarray(0, 5), 'protobuf', /invalid protobuf ExportTraceServiceRequest/);
  malformed(Uint8Array.from([0x0a, 0x05, 0x01]), 'protobuf', /invalid protobuf ExportTraceServiceRequest/); // length 5, 1 byte present
  malformed(Uint8Array.from([0x17, 0x00]), 'protobuf', /invalid wire type 7/); // field 2, wire type 7: does not exist
  malformed(Buffer.from('{"resourceSpans":[]}'), 'protobuf', /invalid protobuf ExportTraceServiceRequest/); // JSON sent as protobuf
  malformed(Buffer.from('hello world, not protobuf'), 'protobuf', /invalid protobuf ExportTraceServiceRequest/);
  malformed(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'protobuf', /invalid protobuf/); // runaway varint
});

test('protobuf: a span with an empty name and no kind decodes to name "" and kind 0, not null', () => {
  // proto3 omits default values on the wire, and the generated classes then answer null.
  const body = ExportTraceServiceRequest.encode({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000000000001' }] }] }],
  }).finish();
  const span = decodeTraceRequest(body, 'protobuf').resourceSpans[0]?.scopes[0]?.spans[0];
  assert.equal(span?.name, '');
  assert.equal(span?.kind, 0);
});
