import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { SpanStatusCode, type SpanKind } from '@opentelemetry/api';
import type * as SdkTraceBase from '../../node_modules/@opentelemetry/sdk-trace-base/build/src/index-shim.js';
import type * as Resources from '../../node_modules/@opentelemetry/resources/build/src/index.js';
import { decodeTraceRequestWithProtobufjs } from '../src/otlp/decode.ts';
import { ExportTraceServiceRequest } from '../src/otlp/proto.ts';
import { readTraceRequest } from '../src/otlp/proto-traces.ts';
import { ProtoError } from '../src/otlp/wire.ts';
import { GROUP, len, str } from './support/protobuf.ts';

/**
 * The hand-written protobuf reader against the generated protobufjs decoder (the reference), on
 * what the official serializer writes, plus the corners the serializer never produces.
 */
// The 2.x SDK and the exporters' serializer, from the repository root (see decode.test.ts).
const rootRequire = createRequire(new URL('../../package.json', import.meta.url));
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = rootRequire('@opentelemetry/sdk-trace-base') as typeof SdkTraceBase;
const { resourceFromAttributes } = rootRequire('@opentelemetry/resources') as typeof Resources;
const exporterRequire = createRequire(rootRequire.resolve('@opentelemetry/exporter-trace-otlp-proto'));
const { ProtobufTraceSerializer } = exporterRequire('@opentelemetry/otlp-transformer') as { ProtobufTraceSerializer: { serializeRequest(spans: unknown[]): Uint8Array } };

function serializerCorpus(): Uint8Array[] {
  const bodies: Uint8Array[] = [];
  const values: Array<Record<string, unknown>> = [
    { s: 'plain', i: 42, neg: -7, big: 2 ** 53 + 2, d: 3.25, nan: NaN, inf: -Infinity, b: true, f: false },
    { empty: '', unicode: 'ünïcødé 🚀 中文', arr: ['a', 'b'], nums: [1, 2.5, -3], bools: [true, false], mixed: [] },
    { 'session.id': 'sess-1', 'http.route': '/api/:id', 'http.response.status_code': 200, view_name: 'Home', element_count: 12 },
  ];
  for (let round = 0; round < 20; round++) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': `svc-${round}`, 'service.version': '1.0', 'host.cores': round }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer(`scope-${round % 3}`, round % 2 === 0 ? '2.0.1' : undefined);
    for (let i = 0; i < 1 + (round % 7); i++) {
      const span = tracer.startSpan(i % 4 === 0 ? '' : `op ${i}`, {
        kind: (i % 6) as SpanKind,
        attributes: values[(round + i) % values.length] as Record<string, string>,
        startTime: [1_700_000_000 + round, i * 1000 + 123],
      });
      if (i % 3 === 1) span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      if (i % 3 === 2) span.setStatus({ code: SpanStatusCode.OK });
      span.addEvent('ev', { k: 'v' });
      span.end([1_700_000_001 + round, 5]);
    }
    bodies.push(ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans()));
  }
  return bodies;
}

test('equals the protobufjs decoder on the official serializer output (20 requests, every attribute type)', () => {
  const corpus = serializerCorpus();
  let spans = 0;
  for (const body of corpus) {
    const ours = readTraceRequest(body);
    assert.deepEqual(ours, decodeTraceRequestWithProtobufjs(body));
    for (const rs of ours.resourceSpans) for (const ss of rs.scopes) spans += ss.spans.length;
  }
  assert.ok(spans > 50, `${spans} spans compared`);
});

test('equals the protobufjs decoder on hand-built messages: nested values, bytes, int64 extremes, absent fields', () => {
  const msg = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'x' } }] },
        scopeSpans: [
          {
            scope: { name: 'lib', version: '' },
            spans: [
              {
                traceId: Buffer.alloc(16, 0xab),
                spanId: Buffer.alloc(8, 0xcd),
                parentSpanId: Buffer.alloc(0),
                name: 'n',
                kind: 3,
                startTimeUnixNano: { low: 0xffffffff, high: 0x7fffffff, unsigned: true },
                endTimeUnixNano: { low: 0, high: 0x80000000, unsigned: true },
                attributes: [
                  { key: 'min', value: { intValue: { low: 0, high: 0x80000000, unsigned: false } } },
                  { key: 'max', value: { intValue: { low: 0xffffffff, high: 0x7fffffff, unsigned: false } } },
                  { key: 'minus1', value: { intValue: -1 } },
                  { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 250]) } },
                  { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ intValue: 1 }, { stringValue: 's' }, { kvlistValue: { values: [] } }] } } }, { key: 'none' }] } } },
                  { key: 'novalue' },
                  { key: '', value: { doubleValue: 0 } },
                ],
                status: { code: 2, message: 'm' },
              },
              { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), startTimeUnixNano: 5, endTimeUnixNano: 6 },
            ],
          },
        ],
      },
      {},
    ],
  };
  const body = ExportTraceServiceRequest.encode(msg as never).finish();
  assert.deepEqual(readTraceRequest(body), decodeTraceRequestWithProtobufjs(body));
  const span = readTraceRequest(body).resourceSpans[0]?.scopes[0]?.spans[0];
  assert.equal(span?.startTimeUnixNano, 0x7fffffffffffffffn);
  assert.equal(span?.endTimeUnixNano, 0x8000000000000000n);
  assert.deepEqual(span?.attributes.slice(0, 3).map((a) => a.value), [
    { type: 'int', value: '-9223372036854775808' },
    { type: 'int', value: '9223372036854775807' },
    { type: 'int', value: '-1' },
  ]);
});

test('a span without timestamps decodes to 0n (refused later as "missing start_time_unix_nano"), not a crash', () => {
  // The protobufjs path threw a TypeError here (null Long): a 500 instead of a partial success.
  const body = ExportTraceServiceRequest.encode({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2) }] }] }] } as never).finish();
  const span = readTraceRequest(body).resourceSpans[0]?.scopes[0]?.spans[0];
  assert.equal(span?.startTimeUnixNano, 0n);
  assert.equal(span?.endTimeUnixNano, 0n);
});

const request = (span: number[]): Uint8Array => Uint8Array.from(len(1, len(2, len(2, span))));

test('unknown fields of every wire type are skipped; a repeated oneof keeps its last member', () => {
  const attr = len(9, [...str(1, 'k'), ...len(2, [...str(1, 'first'), 0x18, 0x05])]); // string, then int 5
  const unknown = [0xa8, 0x06, 0x01, 0xb1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xbd, 0x06, 1, 2, 3, 4, ...str(103, 'future field')];
  const span = [...str(5, 'name'), ...unknown, ...attr];
  const got = readTraceRequest(request(span)).resourceSpans[0]?.scopes[0]?.spans[0];
  assert.equal(got?.name, 'name');
  assert.deepEqual(got?.attributes, [{ key: 'k', value: { type: 'int', value: '5' } }]);
});

test('unknown groups (wire types 3/4) are skipped wherever they are, as protobufjs skips them (issue 16)', () => {
  const attr = len(9, [...str(1, 'k'), ...GROUP, ...len(2, [...GROUP, ...str(1, 'v')])]);
  const span = [...str(5, 'name'), ...GROUP, ...attr, ...GROUP];
  const body = Uint8Array.from([...GROUP, ...len(1, [...GROUP, ...len(2, [...GROUP, ...len(2, span)])])]);
  const got = readTraceRequest(body);
  assert.deepEqual(got, decodeTraceRequestWithProtobufjs(body));
  assert.equal(got.resourceSpans[0]?.scopes[0]?.spans[0]?.name, 'name');
  assert.deepEqual(got.resourceSpans[0]?.scopes[0]?.spans[0]?.attributes, [{ key: 'k', value: { type: 'string', value: 'v' } }]);
});

test('invalid UTF-8 in a string becomes U+FFFD, never a crash or a lone surrogate', () => {
  const span = [...len(5, [0x61, 0xff, 0xfe, 0x62, 0xed, 0xa0, 0x80])];
  const name = readTraceRequest(request(span)).resourceSpans[0]?.scopes[0]?.spans[0]?.name ?? '';
  assert.ok(name.startsWith('a\ufffd'), JSON.stringify(name));
  assert.ok(name.includes('b'));
  assert.equal(/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), false, 'no lone surrogates');
});

test('malformed input is refused with where it broke: truncation, overlong lengths and varints, groups, deep nesting', () => {
  const refuse = (bytes: number[] | Uint8Array, why: RegExp): void => {
    assert.throws(() => readTraceRequest(Uint8Array.from(bytes)), (err: unknown) => err instanceof ProtoError && why.test(err.message));
  };
  refuse([0x0a, 0x05, 0x01], /length 5 runs past the end/);
  refuse([0x0a], /truncated varint/);
  refuse([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /varint longer than 10 bytes/);
  refuse([0x0c], /invalid wire type 4/); // an end-group tag with no group open
  refuse([0x0b, 0x08, 0x01], /truncated varint/); // a group never closed
  refuse([0x0b, 0x0f], /invalid wire type 7/); // inside a group, bytes are still checked
  refuse(request([0x39, 1, 2, 3]), /truncated fixed64/);
  // A sub-message's length may not claim bytes of its parent's next field.
  refuse(Uint8Array.from([...len(1, [...len(2, [0x12, 0x10])]), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /runs past the end/);
  // AnyValue arrays nested 200 deep: refused before the stack is.
  let v: number[] = str(1, 'leaf');
  for (let i = 0; i < 200; i++) v = len(5, len(1, v));
  refuse(request(len(9, [...str(1, 'deep'), ...len(2, v)])), /nested deeper than 64 levels/);
  // 64 levels are fine, 65 are not: the same rule as OTLP/JSON.
  const nest = (levels: number): number[] => {
    let x: number[] = str(1, 'leaf');
    for (let i = 0; i < levels; i++) x = len(5, len(1, x));
    return request(len(9, [...str(1, 'k'), ...len(2, x)])) as unknown as number[];
  };
  assert.equal(readTraceRequest(Uint8Array.from(nest(64))).resourceSpans[0]?.scopes[0]?.spans[0]?.attributes[0]?.value.type, 'json');
  refuse(Uint8Array.from(nest(65)), /nested deeper than 64 levels/);
});
