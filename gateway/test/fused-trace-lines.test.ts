import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildFixtures, buildShapedFixtures } from '../../harness/fixtures.ts';
import { createProtoTraceLineEncoder, type ProtoTraceLineEncoder } from '../src/ingest/proto-trace-lines.ts';
import { createJsonTraceLineEncoder } from '../src/ingest/json-trace-lines.ts';
import { encodePoints, TimestampSlots } from '../src/influx/point-identity.ts';
import { u64Decimal } from '../src/influx/timestamps.ts';
import { LineBuffer } from '../src/ingest/trace-lines/line-buffer.ts';
import type { ColumnBudget } from '../src/mapping/column-budget.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';
import { decodeOverflow } from '../src/mapping/overflow-json.ts';
import { createSpanMapper } from '../src/mapping/map-spans.ts';
import { DEFAULT_RULES, parseMappingRules, type MappingRules } from '../src/mapping/rules.ts';
import { decodeTraceRequest } from '../src/otlp/decode.ts';
import { DEFAULT_ATTRIBUTE_LIMITS, limitTraceRequest, type AttributeLimits } from '../src/otlp/limits.ts';
import type { Attribute, TraceRequest } from '../src/otlp/model.ts';
import { KNOWN_BY_KEY } from '../src/schema/attributes.ts';
import { SPANS_RESERVED } from '../src/schema/derived.ts';
import { ExportTraceServiceRequest } from '../src/otlp/proto.ts';
import { applyByteOps, byteOp, envCount } from '../../test/support/fuzz.ts';
import { createInProcessIngest } from '../../test/support/memory-store.ts';
import { fixedBudget } from './support/fixed-budget.ts';
import { fixed64, GROUP, len, str as text, varint } from './support/protobuf.ts';
import { observePoints, type SpanObservation } from '../src/rollup/observation.ts';

/**
 * The fused encoder (protobuf → line protocol) against the reference path it short-cuts
 * (decode → limits → map → encodePoints). For every body, the fused side runs what ingest.ts
 * runs: the fused encoder, or the reference path when it hands the request back. Its lines must be
 * byte-identical to the reference path's, request after request (the slot index and the field
 * type registry evolve on both sides), and whatever the fused encoder accepts must be something
 * the reference path takes whole: no span refused, no attribute dropped or truncated. The other
 * way round too: every request the reference path takes whole, bar the few the fused encoder
 * leaves to it on purpose (`fusedShouldTake`), the fused encoder must take, or the hot path
 * could quietly stop being the hot path.
 */

interface Side {
  run(body: Buffer, tenant?: string): { lines: string[]; fused: boolean };
  readonly registry: FieldTypeRegistry;
}

function referenceLines(body: Buffer, tenant: string, rules: MappingRules, registry: FieldTypeRegistry, slots: TimestampSlots, limits: AttributeLimits, traceIndex = false): { lines: string[]; rejected: number; cut: number } {
  const tally = { dropped: 0, truncated: 0 };
  const req = limitTraceRequest(decodeTraceRequest(body, 'protobuf'), limits, tally);
  const mapped = createSpanMapper(rules, registry, { traceIndex }).map(req, { tenantId: tenant, instanceName: 'gw-1' });
  return { lines: encodePoints(mapped.points, slots), rejected: mapped.rejectedSpans, cut: tally.dropped + tally.truncated };
}

/**
 * Whether the fused encoder must take `body` (not hand it back): everything the reference path
 * takes whole, except the few things the fused encoder leaves to it on purpose. A silent hand-back
 * costs no correctness, only speed, so without this check nothing would notice one.
 */
function fusedShouldTake(body: Buffer, rules: MappingRules, limits: AttributeLimits): boolean {
  let req: TraceRequest;
  try {
    req = decodeTraceRequest(body, 'protobuf');
  } catch {
    return false;
  }
  const tally = { dropped: 0, truncated: 0 };
  const mapped = createSpanMapper(rules, new FieldTypeRegistry()).map(limitTraceRequest(req, limits, tally), { tenantId: 'acme', instanceName: 'gw-1' });
  if (mapped.rejectedSpans > 0 || tally.dropped + tally.truncated > 0) return false;
  const aliases = new Map(Object.entries(rules.aliases));
  // The fused encoder counts bytes where the limits count characters, and measures JSON text as a whole.
  const handedBack = (a: Attribute): boolean => {
    const key = aliases.get(a.key) ?? a.key;
    if (Buffer.byteLength(a.key) > 1024) return true;
    if (a.value.type === 'string' && Buffer.byteLength(a.value.value) > limits.valueLengthLimit) return true;
    if (a.value.type === 'json' && a.value.value.length > limits.valueLengthLimit) return true;
    // Renamed to attr_<name> per span: the reference path's job.
    const k = KNOWN_BY_KEY.get(key);
    return ((k === undefined || k.alsoField) && SPANS_RESERVED.has(key)) || (k?.handBack ?? false);
  };
  for (const rs of req.resourceSpans) {
    if (rs.resource.some(handedBack)) return false;
    for (const ss of rs.scopes) {
      for (const span of ss.spans) {
        if (span.attributes.some(handedBack)) return false;
        // Durations past 2^50 ns: the reference path's BigInt.
        if ((span.endTimeUnixNano >> 32n) - (span.startTimeUnixNano >> 32n) >= 0x40000n) return false;
      }
    }
  }
  return true;
}

function sides(rules: MappingRules = DEFAULT_RULES, limits: AttributeLimits = DEFAULT_ATTRIBUTE_LIMITS, budget?: () => ColumnBudget, traceIndex = false): { fused: Side; reference: Side; encoder: ProtoTraceLineEncoder; shouldTake(body: Buffer): boolean } {
  const registry = (): FieldTypeRegistry => (budget === undefined ? new FieldTypeRegistry() : new FieldTypeRegistry(undefined, undefined, budget(), (_, n) => (overflowed.n += n)));
  const overflowed = { n: 0 };
  const fusedRegistry = registry();
  const fusedSlots = new TimestampSlots();
  const encoder = createProtoTraceLineEncoder({ rules, fieldTypes: fusedRegistry, slots: fusedSlots, instanceName: 'gw-1', limits, traceIndex });
  assert.ok(encoder !== undefined);
  const refRegistry = registry();
  const refSlots = new TimestampSlots();
  return {
    encoder,
    shouldTake: (body) => fusedShouldTake(body, rules, limits),
    fused: {
      registry: fusedRegistry,
      run(body, tenant = 'acme') {
        const r = encoder.encode(body, tenant);
        if (r === undefined) return { lines: referenceLines(body, tenant, rules, fusedRegistry, fusedSlots, limits, traceIndex).lines, fused: false };
        // What it took, the reference path must take whole.
        const check = referenceLines(body, tenant, rules, new FieldTypeRegistry(), new TimestampSlots(), limits);
        assert.equal(check.rejected, 0, 'the fused encoder accepted a request with a span the reference path refuses');
        assert.equal(check.cut, 0, 'the fused encoder accepted a request the attribute limits would cut');
        const lines = r.lines();
        assert.equal(r.count, lines.length);
        assert.equal(r.body.toString('utf8'), lines.join('\n'));
        return { lines, fused: true };
      },
    },
    reference: {
      registry: refRegistry,
      run(body, tenant = 'acme') {
        return { lines: referenceLines(body, tenant, rules, refRegistry, refSlots, limits, traceIndex).lines, fused: false };
      },
    },
  };
}

/** Runs both sides over `bodies` in order; returns how many the fused encoder took. */
function compare(bodies: readonly Buffer[], s = sides(), tenant = 'acme'): number {
  let fused = 0;
  for (const [i, body] of bodies.entries()) {
    let want: string[] | Error;
    try {
      want = s.reference.run(body, tenant).lines;
    } catch (err) {
      want = err as Error;
    }
    if (want instanceof Error) {
      assert.equal(s.encoder.encode(body, tenant), undefined, `body ${i}: the reference path refused it (${want.message}), the fused encoder must hand it back`);
      continue;
    }
    const got = s.fused.run(body, tenant);
    if (got.fused) fused++;
    assert.deepEqual(got.lines, want, `body ${i}`);
    assert.equal(got.fused, s.shouldTake(body), `body ${i}: ${got.fused ? 'taken by' : 'handed back by'} the fused encoder`);
  }
  assert.equal(s.fused.registry.conflicts, s.reference.registry.conflicts, 'field type conflicts are counted once, as the reference path counts them');
  return fused;
}

const T = '1700000000123456789';
const id = (n: number, bytes: number): Buffer => Buffer.from(n.toString(16).padStart(bytes * 2, '0'), 'hex');
type Attr = { key: string; value: Record<string, unknown> };
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number | string): Attr => ({ key, value: { intValue: v } });
const dbl = (key: string, v: number): Attr => ({ key, value: { doubleValue: v } });
const bool = (key: string, v: boolean): Attr => ({ key, value: { boolValue: v } });

interface SpanSpec {
  name?: string;
  kind?: number;
  start?: string;
  end?: string;
  attributes?: Attr[];
  parent?: Buffer;
  status?: number;
  n?: number;
}

function body(resource: Attr[], spans: SpanSpec[], scope = 'scope-1'): Buffer {
  return Buffer.from(
    ExportTraceServiceRequest.encode({
      resourceSpans: [
        {
          resource: { attributes: resource },
          scopeSpans: [
            {
              scope: { name: scope },
              spans: spans.map((s, i) => ({
                traceId: id(0xabc + (s.n ?? i), 16),
                spanId: id(0x100 + (s.n ?? i), 8),
                parentSpanId: s.parent,
                name: s.name ?? `op ${i}`,
                kind: s.kind ?? 1,
                startTimeUnixNano: s.start ?? T,
                endTimeUnixNano: s.end ?? '1700000000133456789',
                attributes: s.attributes ?? [],
                status: s.status === undefined ? undefined : { code: s.status },
              })),
            },
          ],
        },
      ],
    } as never).finish(),
  );
}

const SVC = [str('service.name', 'shop')];

test('u64Decimal is exact across the 64-bit range', () => {
  const cases = [0n, 1n, 999_999_999n, 1_000_000_000n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 1_700_000_000_123_456_789n, 9_223_372_036_854_775_806n, 2n ** 64n - 1n];
  for (let i = 0; i < 2000; i++) cases.push(BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(Math.random() * 2 ** 32))));
  for (const n of cases) assert.equal(u64Decimal(Number(n & 0xffffffffn), Number(n >> 32n)), n.toString());
});

test('the benchmark corpus: every request fused, lines identical to the reference path', () => {
  const fx = buildFixtures(20, 100);
  const shaped = buildShapedFixtures({ requests: 4, spansPerRequest: 50, attributes: 20, sessions: 1000 });
  const bodies = [...fx.protobuf, ...shaped.protobuf].map((b) => Buffer.from(b));
  assert.equal(compare(bodies), bodies.length);
});

test('taken lines are views of the line buffer\'s slab: exact across slab changes mid-request, and later requests, hand-backs and a request larger than a slab never write over them', () => {
  const fx = buildFixtures(40, 100);
  const shaped = buildShapedFixtures({ requests: 12, spansPerRequest: 37, attributes: 20, sessions: 1000 });
  const big = buildShapedFixtures({ requests: 1, spansPerRequest: 2000, attributes: 20, sessions: 1000 });
  const bodies = [...fx.protobuf.slice(0, 20), ...shaped.protobuf, ...big.protobuf, ...fx.protobuf.slice(20)].map((b) => Buffer.from(b));
  const s = sides();
  const kept: Array<{ body: Buffer; text: string; want: string }> = [];
  for (const [i, b] of bodies.entries()) {
    const want = s.reference.run(b).lines.join('\n');
    const r = s.encoder.encode(b, 'acme');
    assert.ok(r !== undefined, `body ${i}`);
    kept.push({ body: r.body, text: r.body.toString('latin1'), want });
    // A hand-back between two taken requests: its bytes go where the next request's will.
    assert.equal(s.encoder.encode(Buffer.from([0x0a, 0x05, 0xff]), 'acme'), undefined);
  }
  assert.ok(kept.some((k) => k.body.length > 512 * 1024), 'one request is larger than a slab');
  for (const [i, k] of kept.entries()) {
    assert.equal(k.body.toString('utf8'), k.want, `request ${i}: the reference path's lines`);
    assert.equal(k.body.toString('latin1'), k.text, `request ${i}'s lines changed after later requests`);
  }
});

test('LineBuffer: every writer is exact when its bytes cross the end of the slab (the request moves to a new one)', () => {
  const src = Buffer.from('abc"d\\e,f=g h\u00e9tail\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007', 'utf8');
  const writers: Array<[string, (out: LineBuffer) => void, string]> = [
    ['put', (out) => out.put(Buffer.from(',key=')), ',key='],
    ['putAscii', (out) => out.putAscii('12345i'), '12345i'],
    ['putUtf8', (out) => out.putUtf8('h\u00e9\u00e9'), 'h\u00e9\u00e9'],
    ['putHex', (out) => out.putHex(0, 4), '61626322'],
    ['tagRange', (out) => out.tagRange(Buffer.from(',t='), 0, 3), ',t=abc'],
    ['stringRange', (out) => out.stringRange(0, 8), '"abc\\"d\\\\e,"'],
    ['stringText', (out) => out.stringText('a"b'), '"a\\"b"'],
  ];
  for (const [name, write, text] of writers) {
    for (let left = 0; left < 24; left++) {
      const out = new LineBuffer();
      // A first request taken: the second starts past the slab's start, and moves when it grows.
      out.start(src);
      out.putAscii('first');
      out.endLine('1');
      assert.equal(out.finish().toString('utf8'), 'first 1');
      out.start(src);
      const filler = 'x'.repeat(out.out.length - out.o - left);
      out.putAscii(filler);
      write(out);
      out.endLineAt(1, 5);
      out.putAscii('m');
      out.endLine('7');
      assert.equal(out.finish().toString('utf8'), `${filler}${text} 1000000005\nm 7`, `${name}, ${left} bytes left in the slab`);
    }
  }
});

test('through createIngest wired for InfluxDB: the fused path takes each corpus request (IngestResult.path) and offers the reference lines', () => {
  const fx = buildFixtures(5, 40);
  const fusedIngest = createInProcessIngest('gw-1', undefined, { fused: true });
  const referenceIngest = createInProcessIngest('gw-1');
  const slots = new TimestampSlots();
  for (const [i, b] of fx.protobuf.entries()) {
    fusedIngest.store.clear();
    referenceIngest.store.clear();
    const got = fusedIngest.ingest.traces(b, 'protobuf', 'acme');
    const want = referenceIngest.ingest.traces(b, 'protobuf', 'acme');
    assert.equal(got.path, 'fused', `request ${i} was taken by the fused encoder`);
    assert.equal(want.path, 'reference');
    assert.equal(fusedIngest.store.points.length, 0, 'the fused path offers lines, not points');
    assert.deepEqual({ ...got, path: 'reference' }, want, `request ${i}: the same answer`);
    assert.deepEqual(fusedIngest.store.encodedLines, encodePoints(referenceIngest.store.points, slots), `request ${i}: the same lines`);
  }
  // JSON takes its own fused front end (gateway/test/json-trace-lines.test.ts); wired for the embedded store, neither.
  assert.equal(fusedIngest.ingest.traces(fx.json[0] as Uint8Array, 'json', 'acme').path, 'fused');
  assert.equal(createInProcessIngest('gw-1').ingest.traces(fx.json[0] as Uint8Array, 'json', 'acme').path, 'reference');
});

test('mapping corners: aliases, duplicates, known-attribute precedence, every value type', () => {
  const bodies = [
    // A span attribute beats the resource's; the first position of a key is kept.
    body([...SVC, str('session.id', 'res-session'), str('region', 'eu')], [{ attributes: [str('region', 'us'), str('session_id', 'span-session'), str('view.name', 'Home'), str('view_name', 'Home2')] }]),
    // http.method only counts while http.request.method is empty; in either order.
    body(SVC, [
      { kind: 2, attributes: [str('http.method', 'POST'), str('http.request.method', 'GET'), int('http.status_code', 500), int('http.response.status_code', 201)] },
      { kind: 2, attributes: [str('http.request.method', ''), str('http.method', 'PUT'), str('http.route', '')] },
      { kind: 2, name: 'GET /x', attributes: [bool('http.request.method', false), dbl('http.response.status_code', 404.5)] },
    ]),
    // element_count in each type; tenant_id from the payload is dropped.
    body(SVC, [
      { attributes: [str('view_name', 'V'), int('element_count', 12), str('tenant_id', 'evil'), str('tenant.id', 'evil2')] },
      { attributes: [str('view_name', 'V'), dbl('element_count', 12.6)] },
      { attributes: [str('view_name', 'V'), str('element_count', '-42')] },
      { attributes: [str('view_name', 'V'), str('element_count', 'many')] },
      { attributes: [str('view_name', 'V'), bool('element_count', true)] },
      { attributes: [str('view_name', 'V'), dbl('element_count', 1e30)] },
    ]),
    // Value types as fields: ints become floats, NaN and ±Infinity are skipped, arrays and maps are JSON.
    body(SVC, [
      {
        attributes: [
          int('i', 42),
          int('neg', -7),
          int('big', '9223372036854775807'),
          int('min', '-9223372036854775808'),
          dbl('d', 3.25),
          dbl('nan', Number.NaN),
          dbl('inf', Number.POSITIVE_INFINITY),
          bool('b', true),
          { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } } },
          { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
          { key: 'bytes', value: { bytesValue: Buffer.from([1, 2, 3]) } },
          { key: 'none', value: {} },
        ],
      },
    ]),
    // A type conflict with the first request's registration goes to `<key>__<type>`, counted once.
    body(SVC, [{ attributes: [str('i', 'now a string'), bool('d', false)] }]),
    // Kinds, status, parent, empty name and scope.
    body(SVC, [{ kind: 0 }, { kind: 3, status: 2, parent: id(7, 8) }, { kind: 9, name: '' }, { kind: 2, name: 'GET /orders' }], ''),
    // Whole microseconds are spread below the microsecond by span id; other times are kept.
    body(SVC, ['1700000000123456000', '1700000000000000000', '5000', '999', '1000', '4294967296000', '1700000000123456001'].map((start) => ({ start, end: String(BigInt(start) + 2_500_000n) }))),
    // No resource at all, no service name.
    body([], [{ attributes: [str('view_name', 'Bare')] }]),
  ];
  assert.equal(compare(bodies), bodies.length);
});

test('escaping: tag and field values with every special character, non-ASCII text and tenants', () => {
  const nasty = ['a,b', 'a b', 'a=b', 'a\\b', 'a\\ b', 'trail\\', '\\\\', 'q"uote', 'new\nline', 'tab\tx', 'ünïcødé 🚀', '中文,空格 ', ' lead', '"', '\\"'];
  const bodies = nasty.map((v) =>
    body(
      [...SVC, str('service.name', v)],
      [
        { attributes: [str('view_name', v), str('action_name', v), str('session.id', v), str(v, v), str(`k${v}`, 'x')] },
        { kind: 2, name: v, attributes: [str('http.request.method', v), str('http.response.status_code', v)] },
      ],
      v,
    ),
  );
  assert.equal(compare(bodies), bodies.length);
  for (const tenant of ['acme', 'a b,c=d', 'ünï', '\\']) assert.equal(compare([body(SVC, [{ attributes: [str('view_name', 'V')] }])], sides(), tenant), 1);
});

test('invalid UTF-8 becomes U+FFFD, as in the reference path', () => {
  const marker = 'XXMARKXX';
  const plain = body([...SVC, str('session.id', marker)], [{ attributes: [str('view_name', marker), str(marker, marker), str('f', `x${marker}y`)] }]);
  const bad = Buffer.from(plain);
  for (let at = bad.indexOf(marker); at !== -1; at = bad.indexOf(marker, at + 1)) bad.set([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xe2, 0x82], at);
  assert.equal(compare([bad]), 1);
  assert.match(sides().fused.run(bad).lines.join('\n'), /\uFFFD/);
});

test('unknown groups (wire types 3/4) are skipped on the fused path too, not handed back or refused (issue 16)', () => {
  const attr = (k: string, v: string): number[] => len(9, [...text(1, k), ...GROUP, ...len(2, [...GROUP, ...text(1, v)])]);
  const span = [
    ...len(1, [...id(0xabc, 16)]),
    ...GROUP,
    ...len(2, [...id(0x101, 8)]),
    ...text(5, 'GET /groups'),
    ...varint((6 << 3) | 0),
    2,
    ...fixed64(7, 1_700_000_000_123_456_000n),
    ...GROUP,
    ...fixed64(8, 1_700_000_000_133_456_000n),
    ...attr('view_name', 'V'),
    ...attr('http.route', '/groups/:id'),
    ...len(15, [...GROUP, 0x18, 0x02]),
    ...GROUP,
  ];
  const resource = len(1, [...GROUP, ...len(1, [...text(1, 'service.name'), ...len(2, text(1, 'shop'))])]);
  const scope = len(1, [...GROUP, ...text(1, 'scope-g')]);
  const grouped = Buffer.from([...GROUP, ...len(1, [...resource, ...GROUP, ...len(2, [...scope, ...GROUP, ...len(2, span)])])]);
  const s = sides();
  const lines = s.reference.run(grouped).lines;
  assert.equal(lines.length, 3, 'frontend, backend and spans lines from the reference path');
  assert.match(lines.join('\n'), /endpoint=\/groups\/:id.*status_code=2i/s);
  assert.equal(compare([grouped]), 1, 'and the fused encoder takes it, with the same lines');
  // Through createIngest, wired for InfluxDB and for the embedded store: accepted, not a 400.
  for (const fused of [true, false]) {
    const r = createInProcessIngest('gw-1', undefined, { fused }).ingest.traces(grouped, 'protobuf', 'acme');
    assert.deepEqual([r.accepted, r.rejected, r.path], [1, 0, fused ? 'fused' : 'reference']);
  }
});

test('handed back to the reference path: refused spans, limits, reserved names, extra tags', () => {
  const handedBack = [
    body(SVC, [{ start: '0' }]),
    body(SVC, [{ start: '1700000000133456789', end: '1700000000123456789' }]),
    body(SVC, [{ end: '9223372036854775807' }]),
    body(SVC, [{ parent: Buffer.from([1, 2, 3]) }]),
    body(SVC, [{ attributes: [str('name', 'clash')] }]),
    body(SVC, [{ attributes: [str('x'.repeat(1025), 'long key')] }]),
    body(SVC, [{ attributes: [str('long', 'v'.repeat(16_385))] }]),
    body(SVC, [{ attributes: Array.from({ length: 129 }, (_, i) => str(`a${i}`, 'v')) }]),
    body(SVC, [{ attributes: [str('view_name', 'x'.repeat(70_000))] }]),
  ];
  const s = sides();
  for (const b of handedBack) assert.equal(s.encoder.encode(b, 'acme'), undefined);
  // ...and the lines are still the reference path's.
  assert.equal(compare(handedBack), 0);
  // Smaller limits are honoured.
  const tight = sides(DEFAULT_RULES, { countLimit: 2, valueLengthLimit: 4 });
  assert.equal(tight.encoder.encode(body(SVC, [{ attributes: [str('a', 'abcde')] }]), 'acme'), undefined);
  assert.equal(tight.encoder.encode(body(SVC, [{ attributes: [str('a', 'b'), str('c', 'd'), str('e', 'f')] }]), 'acme'), undefined);
  // MAPPING_FILE extra tags are the reference path's; renamed or disabled measurements are not.
  assert.equal(createProtoTraceLineEncoder({ rules: parseMappingRules({ measurements: { spans: { extraTags: ['region'] } } }), fieldTypes: new FieldTypeRegistry(), slots: new TimestampSlots(), instanceName: 'gw', limits: DEFAULT_ATTRIBUTE_LIMITS }), undefined);
  const renamed = parseMappingRules({ measurements: { frontend: { name: 'fe' }, backend: { enabled: false } }, aliases: { 'user.session': 'session_id' } });
  const b = body(SVC, [{ kind: 2, attributes: [str('view_name', 'V'), str('user.session', 's1')] }]);
  assert.equal(compare([b], sides(renamed)), 1);
});

test('past a column budget: both paths write the same `attributes` JSON field, in the fused encoder too', () => {
  const s = sides(DEFAULT_RULES, DEFAULT_ATTRIBUTE_LIMITS, () => fixedBudget(3));
  const bodies = [
    body(SVC, [{ attributes: [str('a', 'x'), int('n', 1), str('b', 'y')] }]),
    // Past the budget: every value type, a type clash (`a` as a number; `a__float` has no room), and escaping.
    body(SVC, [
      {
        attributes: [str('a', 'again'), int('a', 7), str('z.last', 'q"uo\\te\nnew line'), str('m', 'ünï'), { key: 'ok', value: { boolValue: true } }, { key: 'd', value: { doubleValue: 2.5 } }, { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'p' }] } } }, int('big', '12345678901234567')],
      },
    ]),
  ].map((b) => Buffer.from(b));
  assert.equal(compare(bodies, s), 2, 'both taken by the fused encoder');
  const lines = s.fused.run(bodies[1] as Buffer).lines;
  const spans = lines.find((l) => l.startsWith('spans,')) as string;
  const m = /,attributes="((?:[^"\\]|\\.)*)"/.exec(spans);
  assert.ok(m !== null, spans);
  const json = (m[1] as string).replace(/\\(["\\])/g, '$1');
  assert.deepEqual(Object.keys(JSON.parse(json)), ['a', 'arr', 'big', 'd', 'm', 'ok', 'z.last'], 'keys in code-unit order');
  assert.deepEqual(decodeOverflow(json), { a: 7, arr: '["p"]', big: 12345678901234568, d: 2.5, m: 'ünï', ok: true, 'z.last': 'q"uo\\te\nnew line' });
  // The last value of `a` (a number) clashes with the string field `a`, and `a__float` has no room: only the JSON holds it.
  assert.doesNotMatch(spans, /,a=|,a__float=|,z\.last=/);
  assert.match(s.fused.run(bodies[0] as Buffer).lines.join('\n'), /,a="x",n=1,b="y" /, 'the first span keeps its three fields');
});

test('past the key cache (2048 keys), duplicate keys still collapse as in the reference path', () => {
  const s = sides();
  // 2,100 distinct keys fill the encoder's key cache, 100 per span.
  const filler = Array.from({ length: 21 }, (_, b) => body(SVC, [{ attributes: Array.from({ length: 100 }, (_, i) => str(`k${b}_${i}`, 'v')) }]));
  compare(filler, s);
  // Keys never seen before, each twice (resource and span, and twice in the span): one field each.
  const late = body([...SVC, str('late.a', 'res')], [{ attributes: [str('late.a', 'span'), str('late.b', '1'), str('late.b', '2')] }]);
  compare([late], s);
});

test('fuzzed bodies: whatever the fused encoder takes, it encodes exactly as the reference path', () => {
  const seeds = [...buildFixtures(4, 20).protobuf, body([...SVC, str('session.id', 's')], [{ kind: 2, attributes: [str('view_name', 'V'), int('element_count', 3), str('q', 'a"b\\c')] }])].map((b) => Buffer.from(b));
  const runs = envCount('FUZZ_FUSED_BODIES', 3000);
  // One pair of sides for the run, as a gateway keeps its registry and slot index: a hand-back
  // must leave no field type registered by its abandoned attempt (FieldTypeRegistry.journal).
  const shared = sides();
  let taken = 0;
  let total = 0;
  fc.assert(
    fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(byteOp, { minLength: 1, maxLength: 4 }), (seed, ops) => {
      const mutated = applyByteOps(seeds[seed] as Buffer, ops, seeds);
      total++;
      taken += compare([mutated], shared);
    }),
    { numRuns: runs, seed: 6 },
  );
  // Guards the guard: most mutations break the protobuf, but some must still be fused.
  assert.ok(taken > 0, `no mutated body was fused (of ${total})`);
});

test('rollups: the fused encoder reports the same durations, keys, statuses and ids as the reference path (observePoints)', () => {
  const fx = buildFixtures(5, 60);
  const bodies = [
    ...fx.protobuf.map((b) => Buffer.from(b)),
    // Error statuses, a server span without http.route (the name is its endpoint), a view without an action, a sub-ms span, a span both frontend and backend.
    body(SVC, [
      { name: 'GET /x', kind: 2, status: 2, attributes: [str('http.request.method', 'GET')] },
      { kind: 1, status: 2, attributes: [str('view_name', 'Cart')] },
      { kind: 1, end: '1700000000123856789', attributes: [str('view.name', 'Home'), str('action.name', 'open')] },
      { name: 'both', kind: 2, attributes: [str('view_name', 'Edge'), str('http.route', '/edge/:id')] },
    ]),
  ];
  const names = { frontend: DEFAULT_RULES.frontend.name, backend: DEFAULT_RULES.backend.name, spans: DEFAULT_RULES.spans.name };
  const encoder = createProtoTraceLineEncoder({ rules: DEFAULT_RULES, fieldTypes: new FieldTypeRegistry(), slots: new TimestampSlots(), instanceName: 'gw-1', limits: DEFAULT_ATTRIBUTE_LIMITS, observe: true }) as ProtoTraceLineEncoder;
  let seen = 0;
  for (const b of bodies) {
    const fused = encoder.encode(b, 'acme');
    assert.ok(fused !== undefined, 'fused');
    const mapped = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry()).map(decodeTraceRequest(b, 'protobuf'), { tenantId: 'acme', instanceName: 'gw-1' });
    const reference: SpanObservation[] = [];
    observePoints(mapped.points, names, reference);
    assert.deepEqual(fused.observations, reference);
    seen += reference.length;
  }
  assert.ok(seen > 100, `${seen} observations compared`);
  assert.deepEqual(encoder.encode(bodies[bodies.length - 1] as Buffer, 'acme')?.observations.map((o) => [o.side, o.k1, o.k2, o.status]), [
    ['backend', 'GET /x', '', 2],
    ['frontend', 'Cart', '', 2],
    ['frontend', 'Home', 'open', 0],
    ['frontend', 'Edge', '', 0],
    ['backend', '/edge/:id', '', 0],
  ]);
});

test('rollups: the JSON front end reports the same durations, keys, statuses and ids as the reference path', () => {
  const fx = buildFixtures(5, 60);
  const names = { frontend: DEFAULT_RULES.frontend.name, backend: DEFAULT_RULES.backend.name, spans: DEFAULT_RULES.spans.name };
  const encoder = createJsonTraceLineEncoder({ rules: DEFAULT_RULES, fieldTypes: new FieldTypeRegistry(), slots: new TimestampSlots(), instanceName: 'gw-1', limits: DEFAULT_ATTRIBUTE_LIMITS, observe: true }) as ProtoTraceLineEncoder;
  let seen = 0;
  for (const b of fx.json) {
    const fused = encoder.encode(Buffer.from(b), 'acme');
    assert.ok(fused !== undefined, 'fused');
    const mapped = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry()).map(decodeTraceRequest(b, 'json'), { tenantId: 'acme', instanceName: 'gw-1' });
    const reference: SpanObservation[] = [];
    observePoints(mapped.points, names, reference);
    assert.deepEqual(fused.observations, reference);
    seen += reference.length;
  }
  assert.ok(seen > 100, `${seen} observations compared`);
});

test('with the trace and session index (InfluxDB): corpus, escaping, tenants and fuzzed bodies give the reference lines', () => {
  const fx = buildFixtures(10, 60);
  const shaped = buildShapedFixtures({ requests: 4, spansPerRequest: 50, attributes: 20, sessions: 1000 });
  const s = sides(DEFAULT_RULES, DEFAULT_ATTRIBUTE_LIMITS, undefined, true);
  const corpus = [...fx.protobuf, ...shaped.protobuf].map((b) => Buffer.from(b));
  assert.equal(compare(corpus, s), corpus.length);
  const index = s.fused.run(corpus[0] as Buffer).lines.filter((l) => /^(trace|session)_index,/.test(l));
  assert.ok(index.some((l) => l.startsWith('trace_index,')) && index.some((l) => l.startsWith('session_index,')), 'the corpus writes both index measurements');
  // Sessions of every type and escaping need, two spans of a trace in one second and one in the next.
  const corners = body([...SVC, str('session.id', 'res "s" \\ ü')], [
    { n: 1, attributes: [int('session_id', 42)] },
    { n: 1, start: '1700000000923456789', end: '1700000000933456789', attributes: [bool('session.id', true)] },
    { n: 1, start: '1700000001023456789', end: '1700000001033456789' },
    { n: 2, attributes: [str('session.id', '')] },
  ]);
  for (const tenant of ['acme', 'a b,c=d', '']) assert.equal(compare([corners], sides(DEFAULT_RULES, DEFAULT_ATTRIBUTE_LIMITS, undefined, true), tenant), 1, `tenant "${tenant}"`);
  const seeds = [...buildFixtures(3, 20).protobuf, corners].map((b) => Buffer.from(b));
  fc.assert(
    fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(byteOp, { minLength: 1, maxLength: 4 }), (seed, ops) => {
      compare([applyByteOps(seeds[seed] as Buffer, ops, seeds)], s);
    }),
    { numRuns: envCount('FUZZ_FUSED_BODIES', 3000) / 3, seed: 17 },
  );
});

test('fuzzed bodies past a column budget: the `attributes` field is byte-identical on both paths', () => {
  const seeds = [...buildShapedFixtures({ requests: 2, spansPerRequest: 5, attributes: 12, sessions: 10 }).protobuf, body(SVC, [{ attributes: [str('q', 'a"b\\c\n'), int('n', 3), str('n', 'clash')] }])].map((b) => Buffer.from(b));
  // One pair of sides for the whole run: both budgets fill up in the same order.
  const s = sides(DEFAULT_RULES, DEFAULT_ATTRIBUTE_LIMITS, () => fixedBudget(6));
  let taken = 0;
  fc.assert(
    fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(byteOp, { minLength: 0, maxLength: 3 }), (seed, ops) => {
      taken += compare([applyByteOps(seeds[seed] as Buffer, ops, seeds)], s);
    }),
    { numRuns: envCount('FUZZ_FUSED_BODIES', 3000) / 3, seed: 18 },
  );
  assert.ok(taken > 0);
});
