import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { GatewayError } from '../src/errors.ts';
import { encodeFieldValue } from '../src/influx/line-protocol.ts';
import { decodeTraceRequest } from '../src/otlp/decode.ts';
import { decodeLogsRequest } from '../src/otlp/decode-signals.ts';
import { limitAttributes, MAX_ANY_VALUE_DEPTH, truncateString, type AttributeLimits } from '../src/otlp/limits.ts';
import type { Attribute, SpanRecord } from '../src/otlp/model.ts';
import { ExportLogsServiceRequest, ExportTraceServiceRequest } from '../src/otlp/proto.ts';
import { createInProcessIngest, type MemoryStore } from '../../test/support/memory-store.ts';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';
const START = 1_700_000_000_000_000_000n;

const ingestWith = (limits?: AttributeLimits): ReturnType<typeof createInProcessIngest> => createInProcessIngest('gw-test', limits);

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function jsonSpan(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { traceId: TRACE_ID, spanId: SPAN_ID, name: 's', kind: 1, startTimeUnixNano: String(START), endTimeUnixNano: String(START + 1000n), ...over };
}

function jsonTraces(spans: Array<Record<string, unknown>>, resource: unknown[] = []): Buffer {
  return Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ spans }] }] }));
}

function spansOf(store: MemoryStore): Array<Record<string, unknown>> {
  return store.points.filter((p) => p.point.measurement === 'spans').map((p) => Object.fromEntries(p.point.fields.map(([k, v]) => [k, v.value])));
}

function malformed(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GatewayError, String(err));
    assert.equal(err.status, 400);
    assert.match(err.message, message);
    return true;
  });
}

// ---------------------------------------------------------------- attribute count and value length

test('ATTRIBUTE_COUNT_LIMIT: the first 128 attributes are kept, the rest dropped, counted and reported', () => {
  const { ingest, store } = ingestWith();
  const attrs = Array.from({ length: 200 }, (_, i) => str(`a${String(i).padStart(3, '0')}`, 'v'));
  const r = ingest.traces(jsonTraces([jsonSpan({ attributes: attrs })], [str('service.name', 'svc'), ...attrs.slice(0, 130)]), 'json', 'acme');
  assert.equal(r.accepted, 1);
  assert.equal(r.rejected, 0);
  assert.equal(r.attributesDropped, 72 + 3, '200 - 128 on the span, 131 - 128 on the resource');
  assert.match(r.message, /^75 attribute\(s\) dropped \(over ATTRIBUTE_COUNT_LIMIT=128/);
  const fields = spansOf(store)[0]!;
  assert.equal(fields.a127, 'v');
  assert.equal(fields.a128, undefined, 'the 129th span attribute is dropped');
  assert.equal(store.points.find((p) => p.point.measurement === 'spans')?.point.tags.find(([k]) => k === 'service_name')?.[1], 'svc', 'the first resource attribute survives');
});

test('ATTRIBUTE_VALUE_LENGTH_LIMIT: strings, and strings inside arrays and maps, are truncated and counted', () => {
  const { ingest, store } = ingestWith({ countLimit: 128, valueLengthLimit: 10 });
  const r = ingest.traces(
    jsonTraces([
      jsonSpan({
        attributes: [
          str('short', '0123456789'),
          str('long', '0123456789abcdef'),
          str('emoji', '012345678😀'), // the pair straddles the limit: cut before it, not in half
          { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'x'.repeat(20) }, { intValue: '12345678901234' }] } } },
          { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'y'.repeat(30) } }] } } },
          { key: 'n', value: { doubleValue: 1.5 } },
        ],
      }),
    ]),
    'json',
    'acme',
  );
  assert.equal(r.valuesTruncated, 4);
  assert.equal(r.attributesDropped, 0);
  assert.equal(r.rejected, 0);
  assert.match(r.message, /^4 attribute value\(s\) truncated to ATTRIBUTE_VALUE_LENGTH_LIMIT=10 characters$/);
  const f = spansOf(store)[0]!;
  assert.equal(f.short, '0123456789');
  assert.equal(f.long, '0123456789');
  assert.equal(f.emoji, '012345678');
  assert.equal(f.arr, JSON.stringify(['x'.repeat(10), 12345678901234]));
  assert.equal(f.map, JSON.stringify({ k: 'y'.repeat(10) }));
  assert.equal(f.n, 1.5);
});

test('limitAttributes: nothing over a limit returns the same array; keys over 1024 characters are dropped', () => {
  const tally = { dropped: 0, truncated: 0 };
  const attrs: Attribute[] = [{ key: 'a', value: { type: 'string', value: 'x' } }];
  assert.equal(limitAttributes(attrs, { countLimit: 128, valueLengthLimit: 10 }, tally), attrs);
  const withLongKey: Attribute[] = [attrs[0]!, { key: 'k'.repeat(1025), value: { type: 'int', value: '1' } }, { key: 'k'.repeat(1024), value: { type: 'int', value: '2' } }];
  assert.deepEqual(limitAttributes(withLongKey, { countLimit: 128, valueLengthLimit: 10 }, tally).map((a) => a.key.length), [1, 1024]);
  assert.deepEqual(tally, { dropped: 1, truncated: 0 });
  assert.deepEqual(limitAttributes(attrs, { countLimit: 0, valueLengthLimit: 10 }, tally), [], 'a count limit of 0 drops every attribute');
  assert.equal(truncateString('ab😀', 3), 'ab');
  assert.equal(truncateString('ab😀', 4), 'ab😀');
});

test('config: ATTRIBUTE_COUNT_LIMIT and ATTRIBUTE_VALUE_LENGTH_LIMIT default, parse and are validated', () => {
  assert.deepEqual(loadConfig({ TENANT_AUTH: 'header' }).attributeLimits, { countLimit: 128, valueLengthLimit: 16_384 });
  assert.deepEqual(loadConfig({ TENANT_AUTH: 'header', ATTRIBUTE_COUNT_LIMIT: '32', ATTRIBUTE_VALUE_LENGTH_LIMIT: '256' }).attributeLimits, { countLimit: 32, valueLengthLimit: 256 });
  for (const [name, bad] of [
    ['ATTRIBUTE_COUNT_LIMIT', '-1'],
    ['ATTRIBUTE_COUNT_LIMIT', 'lots'],
    ['ATTRIBUTE_VALUE_LENGTH_LIMIT', '0'],
    ['ATTRIBUTE_VALUE_LENGTH_LIMIT', '1.5'],
  ] as const) {
    assert.throws(() => loadConfig({ TENANT_AUTH: 'header', [name]: bad }), (e: unknown) => e instanceof ConfigError && e.variable === name, `${name}=${bad}`);
  }
});

// ---------------------------------------------------------------- nesting

function nestedJsonValue(depth: number, kind: 'array' | 'kvlist'): string {
  const open = kind === 'array' ? '{"arrayValue":{"values":[' : '{"kvlistValue":{"values":[{"key":"k","value":';
  const close = kind === 'array' ? ']}}' : '}]}}';
  return open.repeat(depth) + '{"stringValue":"leaf"}' + close.repeat(depth);
}

test(`JSON: AnyValue nested ${MAX_ANY_VALUE_DEPTH} deep is kept, deeper (up to 100 000) is a clear 400, for spans and log bodies`, () => {
  for (const kind of ['array', 'kvlist'] as const) {
    const at = (depth: number): Buffer =>
      Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[${JSON.stringify(jsonSpan())
        .slice(0, -1)},"attributes":[{"key":"deep","value":${nestedJsonValue(depth, kind)}}]}]}]}]}`);
    const ok = decodeTraceRequest(at(MAX_ANY_VALUE_DEPTH), 'json');
    assert.equal(ok.resourceSpans[0]?.scopes[0]?.spans[0]?.attributes[0]?.value.type, 'json');
    for (const depth of [MAX_ANY_VALUE_DEPTH + 1, 100_000]) {
      malformed(() => decodeTraceRequest(at(depth), 'json'), new RegExp(`attributes\\[0\\]\\.value.*nested at most ${MAX_ANY_VALUE_DEPTH} levels deep`));
    }
    const log = Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"${START}","body":${nestedJsonValue(100_000, kind)}}]}]}]}`);
    malformed(() => decodeLogsRequest(log, 'json'), /body.*nested at most 64 levels deep/);
  }
  // Deep JSON where OTLP has no AnyValue: a shape error, not a stack overflow.
  malformed(() => decodeTraceRequest(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)), 'json'), /expected an object/);
  malformed(() => decodeTraceRequest(Buffer.from('{"resourceSpans":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'), 'json'), /resourceSpans\[0\].*expected an object/);
});

/** Protobuf AnyValue nested `depth` arrays deep, built inside out (field 5 array_value, field 1 values). */
function nestedPbValue(depth: number): Uint8Array {
  let v = { stringValue: 'leaf' } as Record<string, unknown>;
  for (let i = 0; i < depth; i++) v = { arrayValue: { values: [v] } };
  return ExportTraceServiceRequest.encode({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.from(TRACE_ID, 'hex'), spanId: Buffer.from(SPAN_ID, 'hex'), startTimeUnixNano: 1, endTimeUnixNano: 2, attributes: [{ key: 'deep', value: v }] }] }] }],
  }).finish();
}

function nestedPbRaw(depth: number): Buffer {
  // Encoding 100 000 levels with protobufjs would recurse too; write the bytes directly.
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 127) {
      out.push((n & 127) | 128);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  let any = Buffer.from([0x0a, 0x01, 0x78]); // AnyValue{string_value: "x"}
  for (let i = 0; i < depth; i++) {
    const arrayValue = Buffer.concat([Buffer.from([0x0a, ...varint(any.length)]), any]);
    any = Buffer.concat([Buffer.from([0x2a, ...varint(arrayValue.length)]), arrayValue]);
  }
  const kv = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12, ...varint(any.length)]), any]);
  const spanBytes = Buffer.concat([Buffer.from([0x0a, 16]), Buffer.from(TRACE_ID, 'hex'), Buffer.from([0x12, 8]), Buffer.from(SPAN_ID, 'hex'), Buffer.from([0x4a, ...varint(kv.length)]), kv]);
  const scope = Buffer.concat([Buffer.from([0x12, ...varint(spanBytes.length)]), spanBytes]);
  const rs = Buffer.concat([Buffer.from([0x12, ...varint(scope.length)]), scope]);
  return Buffer.concat([Buffer.from([0x0a, ...varint(rs.length)]), rs]);
}

test(`protobuf: AnyValue nested ${MAX_ANY_VALUE_DEPTH} deep is kept, deeper is a clear 400, 100 000 deep too (no stack overflow)`, () => {
  assert.equal(decodeTraceRequest(nestedPbValue(MAX_ANY_VALUE_DEPTH - 1), 'protobuf').resourceSpans[0]?.scopes[0]?.spans[0]?.attributes[0]?.value.type, 'json');
  malformed(() => decodeTraceRequest(nestedPbValue(MAX_ANY_VALUE_DEPTH + 1), 'protobuf'), /nested deeper than 64 levels/);
  assert.equal(nestedPbRaw(3).length > 0, true);
  assert.equal(decodeTraceRequest(nestedPbRaw(3), 'protobuf').resourceSpans[0]?.scopes[0]?.spans[0]?.attributes[0]?.value.value, '[[["x"]]]', 'the hand-built bytes decode');
  malformed(() => decodeTraceRequest(nestedPbRaw(100_000), 'protobuf'), /nested/);
});

// ---------------------------------------------------------------- ids, keys, UTF-8

test('ids of the wrong length are refused span by span with a clear reason (protobuf bytes and JSON hex)', () => {
  const { ingest, store } = ingestWith();
  const pb = ExportTraceServiceRequest.encode({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              { traceId: Buffer.alloc(15, 1), spanId: Buffer.alloc(8, 1), startTimeUnixNano: 5, endTimeUnixNano: 6 },
              { traceId: Buffer.alloc(17, 1), spanId: Buffer.alloc(8, 1), startTimeUnixNano: 5, endTimeUnixNano: 6 },
              { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(7, 1), startTimeUnixNano: 5, endTimeUnixNano: 6 },
              { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1), parentSpanId: Buffer.alloc(9, 1), startTimeUnixNano: 5, endTimeUnixNano: 6 },
              { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), startTimeUnixNano: 5, endTimeUnixNano: 6 },
            ],
          },
        ],
      },
    ],
  }).finish();
  const r = ingest.traces(pb, 'protobuf', 'acme');
  assert.equal(r.accepted, 1);
  assert.deepEqual(Object.fromEntries(r.rejections), {
    'invalid trace_id (must be 16 bytes, not all zero)': 2,
    'invalid span_id (must be 8 bytes, not all zero)': 1,
    'invalid parent_span_id (must be 8 bytes or empty)': 1,
  });
  assert.deepEqual(new Set(store.points.map((p) => p.spanId)), new Set(['0202020202020202']));

  const j = ingest.traces(jsonTraces([jsonSpan({ traceId: TRACE_ID.slice(1) }), jsonSpan({ spanId: SPAN_ID + 'ab' }), jsonSpan()]), 'json', 'acme');
  assert.equal(j.accepted, 1);
  assert.equal(j.rejected, 2);
  assert.match(j.message, /1 span\(s\): invalid trace_id \(must be 16 bytes, not all zero\); 1 span\(s\): invalid span_id \(must be 8 bytes/);
});

test('protobuf: a span without start/end times (protobufjs leaves fixed64 null) is refused alone, not a 500', () => {
  const { ingest } = ingestWith();
  const pb = ExportTraceServiceRequest.encode({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1) }, { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), startTimeUnixNano: 5, endTimeUnixNano: 6 }] }] }],
  }).finish();
  const r = ingest.traces(pb, 'protobuf', 'acme');
  assert.equal(r.accepted, 1);
  assert.deepEqual(Object.fromEntries(r.rejections), { 'missing start_time_unix_nano': 1 });
});

test('protobuf: an attribute without a key (protobufjs leaves it null) is stored under "", not a crash', () => {
  const { ingest } = ingestWith();
  const pb = ExportTraceServiceRequest.encode({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1), startTimeUnixNano: 5, endTimeUnixNano: 6, attributes: [{ value: { stringValue: 'v' } }, { key: 'k' }] }] }] }],
  }).finish();
  const req = decodeTraceRequest(pb, 'protobuf');
  assert.deepEqual(req.resourceSpans[0]?.scopes[0]?.spans[0]?.attributes, [
    { key: '', value: { type: 'string', value: 'v' } },
    { key: 'k', value: { type: 'string', value: '' } },
  ]);
  assert.equal(ingest.traces(pb, 'protobuf', 'acme').accepted, 1);
});

test('non-UTF-8: invalid bytes (protobuf and JSON) and escaped lone surrogates (JSON) become U+FFFD, deterministically', () => {
  const bad = Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x63]); // a, invalid, b, bad 2-byte, CESU surrogate, c
  const expected = Buffer.from(bad).toString('utf8');
  assert.match(expected, /^a\uFFFDb\uFFFD\(\uFFFD+c$/);
  const pb = ExportTraceServiceRequest.encode({
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1), startTimeUnixNano: 5, endTimeUnixNano: 6, attributes: [{ key: 'k', value: { stringValue: 'PLACEHOLDER' } }] }] }] }],
  }).finish();
  // The invalid bytes replace the placeholder padded to its length, so no length prefix changes.
  const at = Buffer.from(pb).indexOf('PLACEHOLDER');
  const body = Buffer.concat([Buffer.from(pb).subarray(0, at), bad, Buffer.alloc(11 - bad.length, 0x20), Buffer.from(pb).subarray(at + 11)]);
  const viaBuffer = decodeTraceRequest(body, 'protobuf').resourceSpans[0]?.scopes[0]?.spans[0]?.attributes[0]?.value.value;
  const viaUint8 = decodeTraceRequest(new Uint8Array(body), 'protobuf').resourceSpans[0]?.scopes[0]?.spans[0]?.attributes[0]?.value.value;
  assert.equal(viaBuffer, expected + '  ');
  assert.equal(viaUint8, viaBuffer, 'a plain Uint8Array decodes the same');

  const json = Buffer.concat([Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"'), bad, Buffer.from(String.raw`|\ud800|\udc00x|\ud83d\ude00|","attributes":[{"key":"\udfff","value":{"stringValue":"\ud800"}}]}]}]}]}`)]);
  const span = decodeTraceRequest(json, 'json').resourceSpans[0]?.scopes[0]?.spans[0] as SpanRecord;
  assert.equal(span.name, `${expected}|\uFFFD|\uFFFDx|😀|`, 'a valid escaped pair survives, lone halves do not');
  assert.deepEqual(span.attributes, [{ key: '\uFFFD', value: { type: 'string', value: '\uFFFD' } }]);
});

test('log records: ids of the wrong length and times past 2262 are refused alone', () => {
  const { ingest, store } = ingestWith();
  const body = ExportLogsServiceRequest.encode({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              { timeUnixNano: 5, traceId: Buffer.alloc(15, 1), body: { stringValue: 'a' } },
              { timeUnixNano: 5, spanId: Buffer.alloc(9, 1), body: { stringValue: 'b' } },
              { timeUnixNano: '9223372036854775807', body: { stringValue: 'c' } },
              { timeUnixNano: '9223372036854775806', body: { stringValue: 'd' } },
            ],
          },
        ],
      },
    ],
  }).finish();
  const r = ingest.logs(body, 'protobuf', 'acme');
  assert.equal(r.accepted, 1);
  assert.deepEqual(Object.fromEntries(r.rejections), {
    'invalid trace_id (must be 16 bytes, not all zero)': 1,
    'invalid span_id (must be 8 bytes, not all zero)': 1,
    'timestamp out of range (InfluxDB stores up to 2262-04-11T23:47:16.854775806Z)': 1,
  });
  assert.deepEqual(store.points.map((p) => [p.point.timestamp, p.point.fields.find(([k]) => k === 'body')?.[1].value]), [[9_223_372_036_854_775_806n, 'd']]);
});

// ---------------------------------------------------------------- integers InfluxDB cannot hold (found by test/fuzz.test.ts)

test('uint64 counts over int64 refuse their data point alone (influxd refused the line after a 200)', () => {
  const { ingest, store } = ingestWith();
  const hist = (count: string, buckets: string[]) => ({
    name: 'h',
    histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: String(START), count, explicitBounds: [1], bucketCounts: buckets }] },
  });
  const body = Buffer.from(
    JSON.stringify({
      resourceMetrics: [{ scopeMetrics: [{ metrics: [hist('18446744073709551615', ['1', '18446744073709551614']), hist('9223372036854775807', ['9223372036854775807', '1']), hist('3', ['1', '2'])] }] }],
    }),
  );
  const r = ingest.metrics(body, 'json', 'acme');
  assert.deepEqual(Object.fromEntries(r.rejections), { 'count out of range (InfluxDB integers are signed 64-bit)': 2 }, 'the second overflows in its cumulative +Inf bucket');
  assert.equal(r.accepted, 1);
  assert.deepEqual(store.points.map((p) => p.point.fields.map(([k, v]) => `${k}=${v.value}`).join()), ['count=3', 'bucket=1', 'bucket=3']);
});

test('OTLP/JSON enums and sint32 fields outside 32 bits are a 400, not an integer field InfluxDB refuses', () => {
  malformed(() => decodeTraceRequest(jsonTraces([jsonSpan({ status: { code: 1e20 } })]), 'json'), /status\.code: expected an enum integer/);
  malformed(() => decodeTraceRequest(jsonTraces([jsonSpan({ kind: 2 ** 31 })]), 'json'), /kind: expected an enum integer/);
  const exp = Buffer.from(JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'e', exponentialHistogram: { dataPoints: [{ timeUnixNano: '1', scale: 1e12 }] } }] }] }] }));
  malformed(() => ingestWith().ingest.metrics(exp, 'json', 'acme'), /scale: expected a 32-bit integer/);
});

test('encodeFieldValue: integers outside int64 are not encodable (safety net under the mapping checks)', () => {
  assert.equal(encodeFieldValue({ type: 'integer', value: 2n ** 63n - 1n }), '9223372036854775807i');
  assert.equal(encodeFieldValue({ type: 'integer', value: 2n ** 63n }), undefined);
  assert.equal(encodeFieldValue({ type: 'integer', value: -(2n ** 63n) - 1n }), undefined);
  assert.equal(encodeFieldValue({ type: 'integer', value: 1e20 }), undefined);
  assert.equal(encodeFieldValue({ type: 'integer', value: -42 }), '-42i');
});
