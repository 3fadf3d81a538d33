import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildFixtures, buildShapedFixtures } from '../../harness/fixtures.ts';
import { createJsonTraceLineEncoder } from '../src/ingest/json-trace-lines.ts';
import type { ColumnBudget } from '../src/mapping/column-budget.ts';
import { fixedBudget } from './support/fixed-budget.ts';
import { jsonDouble, timeHalves } from '../src/ingest/trace-lines/json-values.ts';
import type { TraceLineEncoder } from '../src/ingest/trace-lines/encoder-core.ts';
import { encodePoints, TimestampSlots } from '../src/influx/point-identity.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';
import { createSpanMapper } from '../src/mapping/map-spans.ts';
import { DEFAULT_RULES, parseMappingRules, type MappingRules } from '../src/mapping/rules.ts';
import { decodeTraceRequest } from '../src/otlp/decode.ts';
import { DEFAULT_ATTRIBUTE_LIMITS, limitTraceRequest, type AttributeLimits } from '../src/otlp/limits.ts';
import { applyByteOps, applyJsonOps, buildSeedCorpus, byteOp, envCount, jsonOp } from '../../test/support/fuzz.ts';
import { createInProcessIngest } from '../../test/support/memory-store.ts';
import { createOtelClient, hrAt, SpanKind } from '../../test/support/otel.ts';

/**
 * The OTLP/JSON front end of the fused encoder (json-trace-lines.ts) against the reference path it
 * short-cuts (decodeJson → limits → map → encodePoints), as gateway/test/fused-trace-lines.test.ts
 * holds the protobuf front end: for every body the fused side runs what ingest.ts runs (the fused
 * encoder, or the reference path when it hands the request back), and its lines must be
 * byte-identical to the reference path's, request after request; what it takes, the reference path
 * must take whole (no span refused, no attribute cut); a body the reference path refuses, it must
 * hand back (so the error answer is the reference path's). And the other way round: each table
 * below says how many bodies the fused encoder must take, so a silent hand-back fails a test.
 * (Past 400 lines: one table per kind of input, as fused-trace-lines.test.ts has them.)
 */

interface Sides {
  readonly encoder: TraceLineEncoder;
  /** What ingest.ts does: fused, or the reference path on a hand-back. */
  fused(body: Buffer, tenant: string): { lines: string[]; fused: boolean };
  reference(body: Buffer, tenant: string): string[];
  readonly registries: readonly [FieldTypeRegistry, FieldTypeRegistry];
}

function referenceLines(body: Buffer, tenant: string, rules: MappingRules, registry: FieldTypeRegistry, slots: TimestampSlots, limits: AttributeLimits, traceIndex = false): { lines: string[]; rejected: number; cut: number } {
  const tally = { dropped: 0, truncated: 0 };
  const req = limitTraceRequest(decodeTraceRequest(body, 'json'), limits, tally);
  const mapped = createSpanMapper(rules, registry, { traceIndex }).map(req, { tenantId: tenant, instanceName: 'gw-1' });
  return { lines: encodePoints(mapped.points, slots), rejected: mapped.rejectedSpans, cut: tally.dropped + tally.truncated };
}

function sides(rules: MappingRules = DEFAULT_RULES, limits: AttributeLimits = DEFAULT_ATTRIBUTE_LIMITS, traceIndex = false, budget?: () => ColumnBudget): Sides {
  const registry = (): FieldTypeRegistry => (budget === undefined ? new FieldTypeRegistry() : new FieldTypeRegistry(undefined, undefined, budget()));
  const fusedRegistry = registry();
  const fusedSlots = new TimestampSlots();
  const encoder = createJsonTraceLineEncoder({ rules, fieldTypes: fusedRegistry, slots: fusedSlots, instanceName: 'gw-1', limits, traceIndex });
  assert.ok(encoder !== undefined);
  const refRegistry = registry();
  const refSlots = new TimestampSlots();
  return {
    encoder,
    registries: [fusedRegistry, refRegistry],
    fused(body, tenant) {
      const r = encoder.encode(body, tenant);
      if (r === undefined) return { lines: referenceLines(body, tenant, rules, fusedRegistry, fusedSlots, limits, traceIndex).lines, fused: false };
      const check = referenceLines(body, tenant, rules, new FieldTypeRegistry(), new TimestampSlots(), limits, traceIndex);
      assert.equal(check.rejected, 0, 'the fused encoder took a request with a span the reference path refuses');
      assert.equal(check.cut, 0, 'the fused encoder took a request the attribute limits would cut');
      const lines = r.lines();
      assert.equal(r.count, lines.length);
      assert.equal(r.body.toString('utf8'), lines.join('\n'));
      return { lines, fused: true };
    },
    reference: (body, tenant) => referenceLines(body, tenant, rules, refRegistry, refSlots, limits, traceIndex).lines,
  };
}

/** Both sides over `bodies` in order: identical lines, or a refusal handed back. How many were fused. */
function compare(bodies: readonly Buffer[], s = sides(), tenant = 'acme'): number {
  let fused = 0;
  for (const [i, body] of bodies.entries()) {
    let want: string[] | Error;
    try {
      want = s.reference(body, tenant);
    } catch (err) {
      want = err as Error;
    }
    if (want instanceof Error) {
      assert.equal(s.encoder.encode(body, tenant), undefined, `body ${i}: the reference path refused it (${want.message}); the fused encoder must hand it back`);
      continue;
    }
    const got = s.fused(body, tenant);
    if (got.fused) fused++;
    assert.deepEqual(got.lines, want, `body ${i}: ${body.toString('utf8').slice(0, 300)}`);
  }
  assert.equal(s.registries[0].conflicts, s.registries[1].conflicts, 'field type conflicts are counted once, as the reference path counts them');
  return fused;
}

const T = '1700000000123456789';
const hexOf = (n: number, bytes: number): string => n.toString(16).padStart(bytes * 2, '0');
type Attr = { key: unknown; value: unknown };
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number | string): Attr => ({ key, value: { intValue: v } });
const dbl = (key: string, v: number | string): Attr => ({ key, value: { doubleValue: v } });
const bool = (key: string, v: boolean): Attr => ({ key, value: { boolValue: v } });

interface SpanSpec {
  name?: string;
  kind?: number | string;
  start?: string | number;
  end?: string | number;
  attributes?: Attr[];
  parent?: string;
  status?: number | string;
  n?: number;
  extra?: Record<string, unknown>;
}

/** An OTLP/JSON ExportTraceServiceRequest, as the official serializer lays it out. */
function request(resource: Attr[], spans: SpanSpec[], scope = 'scope-1'): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: resource, droppedAttributesCount: 0 },
        scopeSpans: [
          {
            scope: { name: scope, version: '1.0.0' },
            spans: spans.map((s, i) => ({
              traceId: hexOf(0xabc + (s.n ?? i), 16),
              spanId: hexOf(0x100 + (s.n ?? i), 8),
              parentSpanId: s.parent,
              name: s.name ?? `op ${i}`,
              kind: s.kind ?? 1,
              startTimeUnixNano: s.start ?? T,
              endTimeUnixNano: s.end ?? '1700000000133456789',
              attributes: s.attributes ?? [],
              droppedAttributesCount: 0,
              events: [],
              status: s.status === undefined ? { code: 0 } : { code: s.status },
              links: [],
              flags: 257,
              ...s.extra,
            })),
          },
        ],
      },
    ],
  };
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');
const body = (resource: Attr[], spans: SpanSpec[], scope?: string): Buffer => json(request(resource, spans, scope));
const SVC = [str('service.name', 'shop')];

test('timeHalves reads every uint64 decimal exactly (no JS number holds the nanoseconds), and refuses past 2^64 - 1', () => {
  const cases = ['0', '1', '999999999', '1000000000', '4294967295', '4294967296', '999999999999999', '1000000000000000', '1700000000123456789', '9223372036854775806', '18446744073709551615', '00000000000000000001', '18446744073709551616', '99999999999999999999'];
  for (let i = 0; i < 5000; i++) cases.push(BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(Math.random() * 2 ** 32))).toString().slice(0, 1 + (i % 20)));
  const out = { lo: 0, hi: 0 };
  for (const c of cases) {
    const b = Buffer.from(c);
    if (BigInt(c) > 2n ** 64n - 1n) assert.throws(() => timeHalves(b, 0, b.length, 20, out), Error, c);
    else {
      timeHalves(b, 0, b.length, 20, out);
      assert.equal((BigInt(out.hi) << 32n) + BigInt(out.lo), BigInt(c), c);
    }
  }
});

test('jsonDouble is what JSON.parse makes of a number', () => {
  const cases = ['0', '-0', '1', '-1.5', '0.1', '0.3', '3.25', '16.7', '123456789012345', '1234567890123456789', '0.1234567890123456789', '1e3', '-2.5E-3', '5e-324', '1.7976931348623157e308', '1e400', '0.000001', '9007199254740993'];
  for (let i = 0; i < 5000; i++) cases.push(String((Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 30 - 10)));
  for (const c of cases) {
    const b = Buffer.from(c);
    assert.ok(Object.is(jsonDouble(b, 0, b.length), JSON.parse(c) as number), c);
  }
});

test('the benchmark corpus (official OTel JSON serializer): every request fused, lines identical to the reference path', () => {
  const fx = buildFixtures(20, 100);
  const shaped = buildShapedFixtures({ requests: 4, spansPerRequest: 50, attributes: 20, sessions: 1000 });
  const bodies = [...fx.json, ...shaped.json].map((b) => Buffer.from(b));
  assert.equal(compare(bodies), bodies.length);
});

test('the fuzz seed corpus (every attribute type, status, parents; the SDK serializer): every trace body fused', async () => {
  const seeds = (await buildSeedCorpus()).filter((s) => s.signal === 'traces' && s.encoding === 'json').map((s) => Buffer.from(s.body));
  assert.ok(seeds.length >= 3);
  assert.equal(compare(seeds), seeds.length);
});

test('what @opentelemetry/exporter-trace-otlp-http sends over HTTP (captured): fused, identical lines', async () => {
  const captured: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = createOtelClient({ encoding: 'json', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, serviceName: 'exporter-app', resource: { 'deployment.environment': 'prod', 'host.cores': 8 } });
    const root = client.span('GET /api/orders/:id', { kind: SpanKind.SERVER, start: hrAt(1_700_000_000, 0), end: hrAt(1_700_000_000, 12_345_678), attributes: { 'http.route': '/api/orders/:id', 'http.request.method': 'GET', 'http.response.status_code': 200, 'session.id': 's-1' } });
    client.span('render "orders" ✓', {
      start: hrAt(1_700_000_000, 1_000),
      end: hrAt(1_700_000_000, 2_000_000),
      parent: root,
      attributes: { view_name: 'Orders\tPage', action_name: 'load\\orders', element_count: 12, ratio: 0.1, big: 2 ** 60, ok: true, tags: ['a', 'b"c', 'ü'], nums: [1, 2.5, -3], emoji: '🚀 \u2028 end', quote: 'say "hi"\n' },
    });
    await client.flush();
    await client.shutdown();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  assert.ok(captured.length > 0, 'the exporter sent its requests');
  assert.match(captured.map((b) => b.toString('utf8')).join(''), /\\"/, 'the captured bodies carry escapes');
  assert.equal(compare(captured), captured.length);
});

test('mapping corners: aliases, duplicates, known-attribute precedence, every value type', () => {
  const bodies = [
    body([...SVC, str('session.id', 'res-session'), str('region', 'eu')], [{ attributes: [str('region', 'us'), str('session_id', 'span-session'), str('view.name', 'Home'), str('view_name', 'Home2')] }]),
    body(SVC, [
      { kind: 2, attributes: [str('http.method', 'POST'), str('http.request.method', 'GET'), int('http.status_code', 500), int('http.response.status_code', 201)] },
      { kind: 2, attributes: [str('http.request.method', ''), str('http.method', 'PUT'), str('http.route', '')] },
      { kind: 2, name: 'GET /x', attributes: [bool('http.request.method', false), dbl('http.response.status_code', 404.5)] },
    ]),
    body(SVC, [
      { attributes: [str('view_name', 'V'), int('element_count', 12), str('tenant_id', 'evil'), str('tenant.id', 'evil2')] },
      { attributes: [str('view_name', 'V'), int('element_count', '12')] },
      { attributes: [str('view_name', 'V'), dbl('element_count', 12.6)] },
      { attributes: [str('view_name', 'V'), str('element_count', '-42')] },
      { attributes: [str('view_name', 'V'), str('element_count', 'many')] },
      { attributes: [str('view_name', 'V'), bool('element_count', true)] },
      { attributes: [str('view_name', 'V'), dbl('element_count', 1e30)] },
    ]),
    // Value types as fields: int64 as string or number, doubles as JSON numbers, arrays and maps as JSON text.
    body(SVC, [
      {
        attributes: [
          int('i', 42),
          int('neg', -7),
          int('s', '123456789012345678'),
          int('zero', '0'),
          int('num15', 999_999_999_999_999),
          int('num-big', 2 ** 60),
          int('num-neg-big', -(2 ** 62)),
          int('max', '9223372036854775807'),
          int('min', '-9223372036854775808'),
          dbl('d', 3.25),
          dbl('tiny', 5e-324),
          dbl('long', 0.12345678901234568),
          dbl('exp', 1.5e300),
          dbl('inf', 1.7976931348623157e308),
          dbl('negzero', -0.0),
          dbl('whole', 7),
          bool('b', true),
          { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }, { intValue: '3' }, { doubleValue: 2.5 }, { boolValue: false }, {}] } } },
          { key: 'arr-empty', value: { arrayValue: {} } },
          { key: 'arr-nested', value: { arrayValue: { values: [{ arrayValue: { values: [{ stringValue: 'x' }] } }, { kvlistValue: { values: [{ key: 'k', value: { intValue: '9007199254740993' } }] } }] } } },
          { key: 'arr-escaped', value: { arrayValue: { values: [{ stringValue: 'a"b\\c\n' }, { stringValue: 'ünï 🚀' }] } } },
          { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }, { key: '2', value: { stringValue: 'two' } }, { key: 'k', value: { intValue: 1 } }] } } },
          { key: 'bytes', value: { bytesValue: 'AQID' } },
          { key: 'none', value: {} },
          { key: 'null-value', value: null },
          { key: 'null-string', value: { stringValue: null } },
        ],
      },
    ]),
    // A type conflict with the first request's registration goes to `<key>__<type>`, counted once.
    body(SVC, [{ attributes: [str('i', 'now a string'), bool('d', false)] }]),
    // Kinds (numbers and names), status (numbers and names), parents, empty name and scope.
    body(SVC, [{ kind: 0 }, { kind: 3, status: 2, parent: hexOf(7, 8) }, { kind: 9, name: '' }, { kind: 'SPAN_KIND_SERVER', name: 'GET /orders', status: 'STATUS_CODE_ERROR' }, { kind: -1, status: -5 }, { parent: '' }], ''),
    // Times as strings and as exact JSON numbers; whole microseconds are spread below the microsecond.
    body(SVC, ['1700000000123456000', '1700000000000000000', '5000', '999', '1000', '4294967296000', '1700000000123456001', '00000001700000000123456001'.slice(6)].map((start) => ({ start, end: String(BigInt(start) + 2_500_000n) }))),
    body(SVC, [{ start: 1_000_000, end: 3_500_000 }, { start: 999_999_999_999_999, end: '1000000002499999' }]),
    // Upper-case hex ids are lower-cased.
    json({ resourceSpans: [{ resource: { attributes: SVC }, scopeSpans: [{ spans: [{ traceId: 'ABCDEF0123456789ABCDEF0123456789', spanId: 'ABCDEF0123456789', parentSpanId: 'FEDCBA9876543210', name: 'upper', startTimeUnixNano: T, endTimeUnixNano: T }] }] }] }),
    // No resource, no scope, no service name; empty and null containers.
    body([], [{ attributes: [str('view_name', 'Bare')] }]),
    json({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: hexOf(1, 16), spanId: hexOf(1, 8), name: 'bare', startTimeUnixNano: T, endTimeUnixNano: T, attributes: null, status: null, kind: null }] }] }] }),
    json({ resourceSpans: [{ resource: null, scopeSpans: [{ scope: null, spans: [] }, { spans: null }] }, { scopeSpans: [] }, {}] }),
    // A JSON number past the double range is Infinity, not a field (JSON.stringify cannot write one).
    Buffer.from(JSON.stringify(request(SVC, [{ attributes: [dbl('inf', 1.5), dbl('ninf', -1.5), str('view_name', 'V')] }])).replace('1.5', '1e400').replace('-1.5', '-1e999')),
    json({}),
    json({ resourceSpans: [] }),
    json({ resourceSpans: null }),
  ];
  assert.equal(compare(bodies), bodies.length);
});

test('lowerCamelCase and original (snake_case) field names, unknown fields, member order, whitespace', () => {
  const span = { trace_id: hexOf(5, 16), span_id: hexOf(5, 8), parent_span_id: hexOf(6, 8), name: 'snake', kind: 2, start_time_unix_nano: T, end_time_unix_nano: '1700000000999999999', attributes: [str('http.route', '/snake')] };
  const snake = json({ resource_spans: [{ resource: { attributes: SVC }, scope_spans: [{ scope: { name: 's' }, spans: [span] }] }] });
  // Unknown members of every kind and type at every level, ignored like the reference path ignores them.
  const unknown = json({
    extra: { deep: [1, [2, [3, { x: null }]], 'y', true, false, -1.5e-7] },
    resourceSpans: [
      {
        schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
        resource: { attributes: SVC, droppedAttributesCount: 3, entityRefs: [] },
        scopeSpans: [{ scope: { name: 'sc', version: null, attributes: [str('a', 'b')] }, spans: [{ ...span, traceState: 'k=v', events: [{ name: 'e', attributes: [str('x', 'y')] }], links: [{ traceId: 'zz' }], flags: 1, status: { code: 1, message: 'fine' } }], schemaUrl: '' }],
      },
    ],
  });
  // Spans before their scope, scopeSpans before the resource, value before key: the reference path has the whole object.
  const reordered = Buffer.from(
    `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"value":{"stringValue":"V"},"key":"view_name"}],"endTimeUnixNano":"${T}","startTimeUnixNano":"${T}","name":"late","spanId":"${hexOf(9, 8)}","traceId":"${hexOf(9, 16)}"}],"scope":{"name":"late-scope"}}],"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"late-svc"}}]}}]}`,
  );
  const pretty = Buffer.from(JSON.stringify(request(SVC, [{ kind: 2, attributes: [str('http.route', '/p'), int('n', 3), { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }] } } }] }]), null, '\t').replace(/\n/g, '\r\n '));
  assert.equal(compare([snake, unknown, reordered, pretty]), 4);
});

test('remembered attribute layouts (JsonAttributes guesses): more layouts per position than ways, keys that extend or shorten a remembered one, value kinds that change, escaped keys', () => {
  // One encoder for every body, as a gateway keeps it: guesses from earlier bodies meet later ones.
  const layouts: Attr[][] = [
    [str('http.route', '/a'), int('http.response.status_code', 200), str('session.id', 's1')],
    [str('http.route', '/b'), str('http.response.status_code', '201'), dbl('session.id', 1.5)],
    [str('http.rout', '/c'), int('http.response.status_codes', 7), bool('session.id', true)],
    [str('http.routes', '/d'), dbl('http.response.status_code', 404), str('session.i', 'x')],
    [str('view_name', 'v'), str('action_name', 'click'), int('element_count', '12')],
    [str('view_name', 'v'), int('action_name', 3), bool('element_count', false)],
    [str('http.ro"ute', '/e'), str('http.response.status_code', '500'), str('session.id', 's"2')],
    [str('x'.repeat(300), 'long'), str('http.route', '/f'), str('session.id', '')],
  ];
  const bodies: Buffer[] = [];
  for (let round = 0; round < 3; round++) {
    for (const [i, layout] of layouts.entries()) {
      bodies.push(body(SVC, [
        { attributes: layout, n: round * 100 + i, kind: 2 },
        { attributes: layouts[(i + 3) % layouts.length] as Attr[], n: round * 100 + i + 50 },
      ]));
    }
  }
  // The escaped key is JSON text, not a \\u escape: write one the serializer would not.
  bodies.push(Buffer.from(body(SVC, [{ attributes: layouts[0] as Attr[] }]).toString('utf8').replace('"key":"http.route"', '"key":"http.rout\\u0065"')));
  assert.equal(compare(bodies), bodies.length);
});

test('escaping: every special character, JSON escapes, \\u escapes and surrogate pairs, non-ASCII text and tenants', () => {
  const nasty = ['a,b', 'a b', 'a=b', 'a\\b', 'a\\ b', 'trail\\', '\\\\', 'q"uote', 'new\nline', 'tab\tx', 'ünïcødé 🚀', '中文,空格 ', ' lead', '"', '\\"', '\u0000nul', '\u001f\b\f\r', 'line\u2028sep', '/slash'];
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
  // JSON.stringify writes few escapes: the same bodies with every non-ASCII character and `/` as \u escapes too.
  const escapedText = (b: Buffer): Buffer => Buffer.from(b.toString('utf8').replace(/[^\x20-\x7e]|\//g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`), 'utf8');
  const all = [...bodies, ...bodies.map(escapedText)];
  // Lone surrogates (JSON allows them; UTF-8 cannot carry them): U+FFFD, as the reference path's reviver makes them.
  const lone = ['\\ud800', '\\udfff', 'a\\ud83d', '\\ude80b', '\\ud83d\\ud83d\\ude80', '\\ud83dx\\ude80', '\\uD83D\\uDE80'];
  for (const l of lone) all.push(Buffer.from(JSON.stringify(request(SVC, [{ name: 'LONE', attributes: [str('view_name', 'LONE'), str('LONE', 'vLONE')] }])).replace(/LONE/g, l)));
  assert.equal(compare(all), all.length);
  for (const tenant of ['acme', 'a b,c=d', 'ünï', '\\']) assert.equal(compare([body(SVC, [{ attributes: [str('view_name', 'V')] }])], sides(), tenant), 1);
});

test('invalid UTF-8 inside strings becomes U+FFFD, as in the reference path', () => {
  const marker = 'XXMARKXX';
  const plain = body([...SVC, str('session.id', marker)], [{ name: marker, attributes: [str('view_name', marker), str(marker, marker), str('f', `x${marker}y`), { key: 'arr', value: { arrayValue: { values: [{ stringValue: marker }] } } }] }]);
  const bad = Buffer.from(plain);
  for (let at = bad.indexOf(marker); at !== -1; at = bad.indexOf(marker, at + 1)) bad.set([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xe2, 0x82], at);
  const s = sides();
  assert.equal(compare([bad], s), 1);
  assert.match(s.fused(bad, 'acme').lines.join('\n'), /\uFFFD/);
});

test('handed back: refused spans, limits, reserved names, malformed JSON, and the shapes left to the reference path on purpose', () => {
  const good = body(SVC, [{ attributes: [str('view_name', 'V')] }]);
  const text = good.toString('utf8');
  const handedBack = [
    // The reference path refuses a span (partial success) or cuts an attribute.
    body(SVC, [{ start: '0' }]),
    body(SVC, [{ start: '1700000000133456789', end: '1700000000123456789' }]),
    body(SVC, [{ end: '9223372036854775807' }]),
    body(SVC, [{ parent: 'abcdef' }]),
    json({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'abc', spanId: hexOf(1, 8), startTimeUnixNano: T, endTimeUnixNano: T }] }] }] }),
    body(SVC, [{ attributes: [str('name', 'clash')] }]),
    body(SVC, [{ attributes: [str('x'.repeat(1025), 'long key')] }]),
    body(SVC, [{ attributes: [str('long', 'v'.repeat(16_385))] }]),
    body(SVC, [{ attributes: Array.from({ length: 129 }, (_, i) => str(`a${i}`, 'v')) }]),
    body(SVC, [{ attributes: [str('view_name', 'x'.repeat(70_000))] }]),
    // Shapes the reference path takes that this reader leaves to it: duplicates, both spellings,
    // escaped member names, non-canonical int64, doubles as strings, two AnyValue members.
    Buffer.from(text.replace('"name":"op 0"', '"name":"op 0","name":"again"')),
    Buffer.from(text.replace('"traceId"', `"trace_id":"${hexOf(3, 16)}","traceId"`)),
    Buffer.from(text.replace('"name":"op 0"', '"na\\u006de":"op 0"')),
    body(SVC, [{ attributes: [int('i', '007')] }]),
    body(SVC, [{ attributes: [int('i', '-0')] }]),
    body(SVC, [{ attributes: [int('i', '12345678901234567890')] }]),
    body(SVC, [{ attributes: [dbl('d', 'NaN')] }]),
    body(SVC, [{ attributes: [dbl('d', '1.5')] }]),
    body(SVC, [{ attributes: [{ key: 'two', value: { stringValue: 'a', intValue: 1 } }] }]),
    body(SVC, [{ start: 1.7e18 }]),
    // The reference path answers 400: its error, not ours.
    Buffer.from(text.slice(0, -3)),
    Buffer.from(`${text}x`),
    Buffer.from(`\ufeff${text}`),
    Buffer.from(text.replace('"kind":1', '"kind":01')),
    Buffer.from(text.replace('"kind":1', '"kind":1.5')),
    Buffer.from(text.replace('"kind":1', '"kind":"SPAN_KIND_NOPE"')),
    Buffer.from(text.replace('"kind":1', '"kind":1e20')),
    Buffer.from(text.replace('"flags":257', '"flags":[1,]')),
    Buffer.from(text.replace('"op 0"', '"op\t0"')),
    Buffer.from(text.replace('"op 0"', '"op \\x"')),
    body(SVC, [{ attributes: [int('i', 1.5)] }]),
    body(SVC, [{ attributes: [{ key: 7, value: { stringValue: 'x' } }] }]),
    body(SVC, [{ attributes: [{ key: 'k', value: 'plain' }] }]),
    body(SVC, [{ attributes: [{ key: 'deep', value: JSON.parse('{"arrayValue":{"values":['.repeat(70) + '{}' + ']}}'.repeat(70)) as unknown }] }]),
    json([]),
    Buffer.alloc(0),
  ];
  const s = sides();
  for (const [i, b] of handedBack.entries()) assert.equal(s.encoder.encode(b, 'acme'), undefined, `body ${i}: ${b.toString('utf8').slice(0, 200)}`);
  assert.equal(compare(handedBack), 0);
  // After all those hand-backs the encoder is whole: the next good body is fused.
  assert.equal(compare([good], s), 1);
  // Smaller limits are honoured.
  const tight = sides(DEFAULT_RULES, { countLimit: 2, valueLengthLimit: 4 });
  assert.equal(tight.encoder.encode(body(SVC.slice(0, 0), [{ attributes: [str('a', 'abcde')] }]), 'acme'), undefined);
  assert.equal(tight.encoder.encode(body([], [{ attributes: [str('a', 'b'), str('c', 'd'), str('e', 'f')] }]), 'acme'), undefined);
  assert.equal(tight.encoder.encode(body([], [{ attributes: [{ key: 'arr', value: { arrayValue: { values: [{ stringValue: 'abc' }] } } }] }]), 'acme'), undefined);
  // MAPPING_FILE extra tags are the reference path's; renamed or disabled measurements are not.
  assert.equal(createJsonTraceLineEncoder({ rules: parseMappingRules({ measurements: { spans: { extraTags: ['region'] } } }), fieldTypes: new FieldTypeRegistry(), slots: new TimestampSlots(), instanceName: 'gw', limits: DEFAULT_ATTRIBUTE_LIMITS }), undefined);
  const renamed = parseMappingRules({ measurements: { frontend: { name: 'fe' }, backend: { enabled: false } }, aliases: { 'user.session': 'session_id' } });
  assert.equal(compare([body(SVC, [{ kind: 2, attributes: [str('view_name', 'V'), str('user.session', 's1')] }])], sides(renamed)), 1);
});

test('through createIngest wired for InfluxDB: JSON and protobuf corpus requests are fused (IngestResult.path), same answer and lines', () => {
  const fx = buildFixtures(5, 40);
  const fusedIngest = createInProcessIngest('gw-1', undefined, { fused: true });
  const referenceIngest = createInProcessIngest('gw-1');
  const slots = new TimestampSlots();
  for (const encoding of ['json', 'protobuf'] as const) {
    for (const [i, b] of fx[encoding].entries()) {
      fusedIngest.store.clear();
      referenceIngest.store.clear();
      const got = fusedIngest.ingest.traces(b, encoding, 'acme');
      const want = referenceIngest.ingest.traces(b, encoding, 'acme');
      assert.equal(got.path, 'fused', `${encoding} request ${i} was taken by the fused encoder`);
      assert.equal(want.path, 'reference');
      assert.equal(fusedIngest.store.points.length, 0, 'the fused path offers lines, not points');
      assert.deepEqual({ ...got, path: 'reference' }, want, `${encoding} request ${i}: the same answer`);
      assert.deepEqual(fusedIngest.store.encodedLines, encodePoints(referenceIngest.store.points, slots), `${encoding} request ${i}: the same lines`);
    }
  }
  // A refused body: the same error (status and message) from both.
  const bad = Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"x"}]}]}]}');
  const errorOf = (f: () => unknown): unknown => {
    try {
      f();
    } catch (err) {
      return { status: (err as { status?: number }).status, message: (err as Error).message };
    }
    return undefined;
  };
  const want = errorOf(() => referenceIngest.ingest.traces(bad, 'json', 'acme'));
  assert.ok(want !== undefined);
  assert.deepEqual(errorOf(() => fusedIngest.ingest.traces(bad, 'json', 'acme')), want);
});

test('fuzzed JSON bodies (bytes and structure: truncation, type changes, escapes, huge numbers, deep nesting): identical lines or a hand-back of what the reference path refuses', async () => {
  const corpus = (await buildSeedCorpus()).filter((s) => s.signal === 'traces' && s.encoding === 'json').map((s) => Buffer.from(s.body));
  const seeds = [
    ...corpus,
    ...buildFixtures(2, 10).json.map((b) => Buffer.from(b)),
    body([...SVC, str('session.id', 's')], [{ kind: 2, attributes: [str('view_name', 'V\u00e9 \ud83d\ude80'), int('element_count', '3'), str('q', 'a"b\\c'), dbl('d', 1.25), { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 1 }] } } }] }]),
  ];
  const runs = envCount('FUZZ_JSON_FUSED_BODIES', 3000);
  // One pair of sides for the whole run, as a gateway keeps its registry and slot index: a hand-back
  // must leave no field type registered by its abandoned attempt (FieldTypeRegistry.journal).
  const s = sides();
  let taken = 0;
  let total = 0;
  fc.assert(
    fc.property(fc.nat({ max: seeds.length - 1 }), fc.boolean(), fc.array(byteOp, { minLength: 1, maxLength: 3 }), fc.array(jsonOp, { minLength: 1, maxLength: 3 }), (seed, bytes, bops, jops) => {
      const base = seeds[seed] as Buffer;
      const mutated = bytes ? applyByteOps(base, bops, seeds) : applyJsonOps(base, jops);
      total++;
      taken += compare([mutated], s);
    }),
    { numRuns: runs, seed: 17 },
  );
  // Guards the guard: many mutations break the JSON or a span, but some must still be fused.
  assert.ok(taken > total / 20, `${taken} of ${total} mutated bodies were fused`);
});

test('with the trace and session index (InfluxDB): the corpus and session corners are fused with the reference lines, index rows included', () => {
  const fx = buildFixtures(10, 60);
  const corpus = fx.json.map((b) => Buffer.from(b));
  const s = sides(DEFAULT_RULES, DEFAULT_ATTRIBUTE_LIMITS, true);
  assert.equal(compare(corpus, s), corpus.length);
  const index = s.fused(corpus[0] as Buffer, 'acme').lines.filter((l) => /^(trace|session)_index,/.test(l));
  assert.ok(index.some((l) => l.startsWith('trace_index,')) && index.some((l) => l.startsWith('session_index,')), 'the corpus writes both index measurements');
  const corners = body([...SVC, str('session.id', 'res "s" \\ ü')], [{ attributes: [int('session_id', 42)] }, { attributes: [bool('session.id', true)] }, { attributes: [str('session.id', '')] }, {}]);
  for (const tenant of ['acme', 'a b,c=d']) assert.equal(compare([corners], sides(DEFAULT_RULES, DEFAULT_ATTRIBUTE_LIMITS, true), tenant), 1, `tenant "${tenant}"`);
});

test('past the column budget: the JSON front end writes the overflow attributes field the reference path writes', () => {
  const s = sides(DEFAULT_RULES, DEFAULT_ATTRIBUTE_LIMITS, false, () => fixedBudget(3));
  const bodies = [
    body(SVC, [{ attributes: [str('a', 'x'), int('n', 1), str('b', 'y')] }]),
    // Past the budget: every value type, a type clash (`a` as a number), escapes in JSON and in the overflow JSON.
    body(SVC, [{ attributes: [str('a', 'again'), int('a', 7), str('z.last', 'q"uo\\te\nnew line \u00fc'), str('m', 'ünï'), bool('ok', true), dbl('d', 2.5), int('big', '12345678901234567')] }]),
  ];
  assert.equal(compare(bodies, s), 2, 'both fused');
  const spans = s.fused(bodies[1] as Buffer, 'acme').lines.find((l) => l.startsWith('spans,')) as string;
  assert.match(spans, /,attributes="\{/, 'the overflow field is written');
  const fx = buildFixtures(5, 60);
  const many = sides(DEFAULT_RULES, DEFAULT_ATTRIBUTE_LIMITS, false, () => fixedBudget(6));
  assert.equal(compare(fx.json.map((b) => Buffer.from(b)), many), fx.json.length, 'the corpus past a budget of 6: every request fused, identical lines');
});
