import { gzipSync } from 'node:zlib';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { GatewayError } from '../../gateway/src/errors.ts';
import type { Ingest } from '../../gateway/src/ingest/ingest.ts';
import type { OtlpEncoding } from '../../gateway/src/otlp/decode.ts';
import type { MemoryStore } from './memory-store.ts';

/**
 * Hostile-input fuzzing (issue #7): real OTLP bodies from the official OpenTelemetry JS SDKs and
 * serializers, mutated by fast-check. Mutations are plain data (positions are taken modulo the
 * body length when applied), so fast-check can shrink a failing case to a small one and its seed
 * and path reproduce it exactly.
 */

export type Signal = 'traces' | 'metrics' | 'logs';

export interface Seed {
  readonly signal: Signal;
  readonly encoding: OtlpEncoding;
  readonly body: Uint8Array;
}

export const PATHS: Readonly<Record<Signal, string>> = { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' };

class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A few requests per signal and encoding, as the official exporters would send them. */
export async function buildSeedCorpus(): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const add = (signal: Signal, proto: Uint8Array | undefined, json: Uint8Array | undefined): void => {
    if (proto === undefined || json === undefined) throw new Error(`the ${signal} serializer produced nothing`);
    seeds.push({ signal, encoding: 'protobuf', body: proto });
    seeds.push({ signal, encoding: 'json', body: json });
  };
  const resource = resourceFromAttributes({ 'service.name': 'fuzz-app', 'service.version': '1.2.3', 'deployment.environment': 'prod', 'host.cores': 8 });

  // Traces: browser (view_name), server and client spans, every attribute type, a parent chain.
  const spans = new InMemorySpanExporter();
  const tracers = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(spans)] });
  const tracer = tracers.getTracer('fuzz-scope', '0.1.0');
  for (let r = 0; r < 3; r++) {
    spans.reset();
    for (let i = 0; i <= r; i++) {
      const server = tracer.startSpan('GET /api/orders/:id', {
        kind: SpanKind.SERVER,
        attributes: { 'http.route': '/api/orders/:id', 'http.request.method': 'GET', 'http.response.status_code': 200 + i, 'session.id': `s-${r}`, 'db.rows': i, 'cache.hit': i % 2 === 0, ratio: 0.25 },
      });
      const ctx = trace.setSpan(context.active(), server);
      const ui = tracer.startSpan('mobx.action loadOrders', { attributes: { view_name: 'OrdersPage', action_name: 'loadOrders', element_count: 120 + i, 'session.id': `s-${r}`, tags: ['a', 'b'], nums: [1, 2.5] } }, ctx);
      ui.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      ui.end();
      tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM "orders" WHERE id = $1' } }, ctx).end();
      server.end();
    }
    add('traces', ProtobufTraceSerializer.serializeRequest(spans.getFinishedSpans()), JsonTraceSerializer.serializeRequest(spans.getFinishedSpans()));
  }
  await tracers.shutdown();

  // Metrics: counter, up-down counter, gauge, explicit and exponential histograms.
  for (let r = 0; r < 2; r++) {
    const reader = new CollectingReader();
    const meters = new MeterProvider({
      resource,
      readers: [reader],
      views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const meter = meters.getMeter('fuzz-meter', '1.0.0');
    meter.createCounter('orders.placed').add(3 + r, { region: 'eu', tier: 'gold' });
    meter.createUpDownCounter('queue.depth').add(-2, { queue: 'q1' });
    meter.createGauge('cpu.temp', { unit: 'Cel' }).record(61.5, { core: '0' });
    const duration = meter.createHistogram('http.server.request.duration', { unit: 's' });
    for (const v of [0.002, 0.04, 0.3, 1.7]) duration.record(v * (r + 1), { 'http.route': '/api/orders/:id', 'http.request.method': 'GET', 'http.response.status_code': 200 });
    const size = meter.createHistogram('payload.size', { unit: 'By' });
    for (const v of [1, 10, 100, 1000, 12345]) size.record(v, { kind: 'json' });
    const { resourceMetrics } = await reader.collect();
    add('metrics', ProtobufMetricsSerializer.serializeRequest(resourceMetrics), JsonMetricsSerializer.serializeRequest(resourceMetrics));
    await meters.shutdown();
  }

  // Logs: string and map bodies, attributes, trace context.
  const logs = new InMemoryLogRecordExporter();
  const loggers = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: logs })] });
  const logger = loggers.getLogger('fuzz-logger', '1.0.0');
  for (let r = 0; r < 2; r++) {
    logs.reset();
    const span = tracer.startSpan('with-logs');
    const ctx = trace.setSpan(context.active(), span);
    logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: `order ${r} placed`, attributes: { 'order.id': r, 'user.vip': true }, context: ctx });
    logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: { error: 'timeout', retries: [1, 2], nested: { ok: false } }, attributes: { 'exception.type': 'Timeout' } });
    span.end();
    add('logs', ProtobufLogsSerializer.serializeRequest(logs.getFinishedLogRecords()), JsonLogsSerializer.serializeRequest(logs.getFinishedLogRecords()));
  }
  await loggers.shutdown();
  return seeds;
}

// ---------------------------------------------------------------- byte mutations

export type ByteOp =
  | { readonly kind: 'flip'; readonly pos: number; readonly bit: number }
  | { readonly kind: 'set'; readonly pos: number; readonly byte: number }
  | { readonly kind: 'truncate'; readonly pos: number }
  | { readonly kind: 'insert'; readonly pos: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly pos: number; readonly len: number }
  | { readonly kind: 'splice'; readonly pos: number; readonly other: number; readonly from: number; readonly len: number }
  | { readonly kind: 'repeat'; readonly pos: number; readonly len: number; readonly times: number };

/** Bytes that matter to protobuf and JSON parsers: varint continuation, field tags, quotes, braces. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, 0x22, 0x2a, 0x3a, 0x42, 0x09, 0x11, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0xc0, 0xed];

const byteValue = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...INTERESTING));

export const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), byte: byteValue }),
  fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.array(byteValue, { minLength: 1, maxLength: 10 }).map((a) => Uint8Array.from(a))) }),
  fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('splice' as const), pos: fc.nat(), other: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 256 }) }),
  fc.record({ kind: fc.constant('repeat' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 2, max: 50 }) }),
);

export function applyByteOps(body: Uint8Array, ops: readonly ByteOp[], pool: readonly Uint8Array[]): Buffer {
  let b = Buffer.from(body);
  for (const op of ops) {
    const at = b.length === 0 ? 0 : op.pos % b.length;
    switch (op.kind) {
      case 'flip':
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << op.bit);
        break;
      case 'set':
        if (b.length > 0) b[at] = op.byte;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), op.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + op.len)]);
        break;
      case 'splice': {
        const other = pool[op.other % pool.length] as Uint8Array;
        const from = other.length === 0 ? 0 : op.from % other.length;
        b = Buffer.concat([b.subarray(0, at), other.subarray(from, from + op.len), b.subarray(at)]);
        break;
      }
      case 'repeat': {
        const chunk = b.subarray(at, at + op.len);
        b = Buffer.concat([b.subarray(0, at), ...Array.from({ length: op.times }, () => chunk), b.subarray(at + op.len)]);
        break;
      }
    }
  }
  return b;
}

// ---------------------------------------------------------------- JSON structural mutations

/** Values that break OTLP/JSON decoders in practice: wrong types, huge and odd numbers, odd strings. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 6, arbitrary: fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 1,
    2 ** 64,
    2 ** 63,
    '18446744073709551615',
    '18446744073709551616',
    '9223372036854775807',
    '9223372036854775806',
    '-1',
    '1.5',
    '1e3',
    'NaN',
    'Infinity',
    '',
    ' ',
    '0'.repeat(32),
    'f'.repeat(31),
    'z'.repeat(32),
    'ABCDEF0123456789ABCDEF0123456789',
    'SPAN_KIND_SERVER',
    'STATUS_CODE_ERROR',
    [],
    {},
    { stringValue: 'x' },
    { intValue: '9223372036854775808' },
    { doubleValue: 'NaN' },
    { arrayValue: {} },
    { kvlistValue: { values: [{}] } },
    { bytesValue: '!!!' },
  ) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  // Line-protocol and JSON specials, lone surrogate halves. (An array joined: fc.string with a
  // custom unit spends most of a run building its shrinking tables.)
  { weight: 3, arbitrary: fc.array(fc.constantFrom('\\', '"', ',', '=', ' ', '\n', '\r', '\t', '\u0000', '\ud800', '\udc00', 'é', '😀', 'a'), { maxLength: 12 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => n.toString()) },
  // Over the default 16 384-character value limit, now and then.
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((n) => 'x'.repeat(n)) },
);

export type JsonOp =
  | { readonly kind: 'replace'; readonly pick: number; readonly value: unknown }
  | { readonly kind: 'delete'; readonly pick: number }
  | { readonly kind: 'add'; readonly pick: number; readonly key: string; readonly value: unknown }
  | { readonly kind: 'nest'; readonly pick: number; readonly depth: number; readonly shape: 'array' | 'kvlist' | 'raw' }
  | { readonly kind: 'clone'; readonly pick: number; readonly times: number };

const KNOWN_KEYS = [
  'resourceSpans', 'scopeSpans', 'spans', 'resource', 'attributes', 'key', 'value', 'stringValue', 'intValue', 'doubleValue', 'boolValue', 'arrayValue', 'kvlistValue',
  'bytesValue', 'values', 'traceId', 'spanId', 'parentSpanId', 'name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'status', 'code', 'scope', 'version',
  'resourceMetrics', 'scopeMetrics', 'metrics', 'gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary', 'dataPoints', 'asInt', 'asDouble', 'timeUnixNano',
  'bucketCounts', 'explicitBounds', 'count', 'min', 'max', 'scale', 'zeroCount', 'positive', 'negative', 'offset', 'quantileValues', 'quantile', 'isMonotonic',
  'aggregationTemporality', 'resourceLogs', 'scopeLogs', 'logRecords', 'body', 'severityNumber', 'severityText', 'observedTimeUnixNano', 'trace_id', 'span_id',
  'start_time_unix_nano', '__proto__', 'constructor', 'toString',
];

export const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: hostileJson }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add' as const), pick: fc.nat(), key: fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 8 })), value: hostileJson }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('nest' as const),
      pick: fc.nat(),
      depth: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 60, max: 70 }), fc.integer({ min: 200, max: 1_500 })),
      shape: fc.constantFrom('array' as const, 'kvlist' as const, 'raw' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clone' as const), pick: fc.nat(), times: fc.integer({ min: 2, max: 20 }) }) },
);

type Slot = { readonly parent: Record<string, unknown> | unknown[]; readonly key: string | number };

/** Every (container, key) of the document down to depth 200, iteratively: a mutated document can be 20 000 deep. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (depth > 200 || v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        stack.push([x, depth + 1]);
      });
    } else {
      for (const [k, x] of Object.entries(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        stack.push([x, depth + 1]);
      }
    }
  }
  return out;
}

function nested(depth: number, shape: 'array' | 'kvlist' | 'raw', leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) {
    v = shape === 'array' ? { arrayValue: { values: [v] } } : shape === 'kvlist' ? { kvlistValue: { values: [{ key: 'k', value: v }] } } : [v];
  }
  return v;
}

/** JSON.stringify recurses; bodies nested past what it can print are written by hand. */
function stringifyDeep(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch (err) {
    if (err instanceof RangeError) return '['.repeat(50_000) + ']'.repeat(50_000);
    throw err;
  }
}

/** `seed` is the JSON text: parsing it afresh is the cheapest deep copy. */
export function applyJsonOps(seed: Uint8Array, ops: readonly JsonOp[]): Buffer {
  const root = JSON.parse(Buffer.from(seed).toString('utf8')) as Record<string, unknown>;
  // fast-check hands out the same constant objects on every run; edits must not reach them.
  const fresh = (v: unknown): unknown => (v !== null && typeof v === 'object' ? structuredClone(v) : v);
  for (const op of ops) {
    const all = slots(root);
    if (all.length === 0) break;
    const s = all[op.pick % all.length] as Slot;
    const get = (): unknown => (Array.isArray(s.parent) ? s.parent[s.key as number] : s.parent[s.key as string]);
    const set = (v: unknown): void => {
      if (Array.isArray(s.parent)) s.parent[s.key as number] = v;
      else s.parent[s.key as string] = v;
    };
    switch (op.kind) {
      case 'replace':
        set(fresh(op.value));
        break;
      case 'delete':
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else delete s.parent[s.key as string];
        break;
      case 'add': {
        const target = get();
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, unknown>)[op.key] = fresh(op.value);
        else if (Array.isArray(target)) target.push(fresh(op.value));
        else set({ [op.key]: fresh(op.value) });
        break;
      }
      case 'nest':
        set(nested(op.depth, op.shape, get()));
        break;
      case 'clone': {
        // A copy, not the same object: a later edit inside one copy must not make a cycle.
        const text = stringifyDeep(get());
        const v = text.length > 1_000_000 ? null : (JSON.parse(text) as unknown);
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 0, ...Array.from({ length: op.times }, () => v));
        else set(Array.from({ length: op.times }, () => v));
        break;
      }
    }
  }
  return Buffer.from(stringifyDeep(root));
}

// ---------------------------------------------------------------- gzip streams

export type GzipMode = 'valid' | 'corrupt' | 'truncated' | 'bomb' | 'double' | 'garbage' | 'trailing';

export const gzipMode: fc.Arbitrary<GzipMode> = fc.constantFrom('valid', 'valid', 'corrupt', 'truncated', 'bomb', 'double', 'garbage', 'trailing');

/** A gzip stream of `body`, then mangled as `mode` says. A bomb inflates past MAX_BODY_BYTES. */
export function gzipBody(body: Uint8Array, mode: GzipMode, pos: number, maxBodyBytes: number): Buffer {
  const z = gzipSync(body);
  switch (mode) {
    case 'valid':
      return z;
    case 'corrupt': {
      const c = Buffer.from(z);
      // Past the 10-byte header, so the deflate data or the CRC/length trailer is hit.
      const at = 10 + (pos % Math.max(1, c.length - 10));
      c[at] = (c[at] as number) ^ 0x5a;
      return c;
    }
    case 'truncated':
      return z.subarray(0, pos % z.length);
    case 'bomb':
      return gzipSync(Buffer.alloc(maxBodyBytes + 1 + (pos % 1024), 0x20));
    case 'double':
      return gzipSync(z);
    case 'garbage':
      return Buffer.from(body);
    case 'trailing':
      return Buffer.concat([z, Buffer.from([0x1f, 0x8b, pos & 0xff])]);
  }
}

// ---------------------------------------------------------------- the in-process oracle

export interface Outcome {
  readonly status: number;
  readonly accepted: number;
  /** Points offered, plus lines when the fused encoder took the request. */
  readonly points: number;
  /** Which path encoded an accepted request (IngestResult.path). */
  readonly path?: 'fused' | 'reference';
}

export class FuzzFailure extends Error {}

/**
 * One body through the real decode → limit → map → buffer path (`createIngest`) with a memory
 * store. A throw that is not a `GatewayError`, a 5xx, a body whose counts do not add up, or a point
 * offered for a refused body is a failure.
 */
export function ingestOnce(ingest: Ingest, store: MemoryStore, signal: Signal, encoding: OtlpEncoding, body: Uint8Array, tenant = 'fuzz'): Outcome & { rejected: number } {
  store.clear();
  const offered = (): number => store.points.length + store.encodedLines.length;
  try {
    const r = ingest[signal](body, encoding, tenant);
    if (r.accepted + r.rejected !== r.received) throw new FuzzFailure(`accepted ${r.accepted} + rejected ${r.rejected} != received ${r.received}`);
    if (r.accepted === 0 && offered() > 0) throw new FuzzFailure(`${offered()} points offered with nothing accepted`);
    if (r.path === 'fused' && store.points.length > 0) throw new FuzzFailure('the fused path offered points, not lines');
    return { status: 200, accepted: r.accepted, rejected: r.rejected, points: offered(), path: r.path };
  } catch (err) {
    if (err instanceof FuzzFailure) throw err;
    if (!(err instanceof GatewayError)) throw new FuzzFailure(`crash: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (err.status >= 500) throw new FuzzFailure(`${err.status} ${err.code} for bad input: ${err.message}`);
    if (offered() > 0) throw new FuzzFailure(`${offered()} points offered for a refused (${err.status}) body`);
    return { status: err.status, accepted: 0, rejected: 0, points: 0 };
  }
}

/** Status → count, plus the slowest body, for the report a fuzz run prints. */
export class FuzzStats {
  readonly statuses = new Map<string, number>();
  bodies = 0;
  slowestMillis = 0;
  private readonly started = performance.now();

  record(kind: string, status: number, millis: number): void {
    this.bodies++;
    const key = `${kind} ${status}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (millis > this.slowestMillis) this.slowestMillis = millis;
  }

  get elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  summary(): string {
    const rows = [...this.statuses].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `  ${k}: ${n}`);
    return `${this.bodies} bodies in ${this.elapsedSeconds.toFixed(1)} s (slowest ${this.slowestMillis.toFixed(1)} ms)\n${rows.join('\n')}`;
  }
}

/** FUZZ_BODIES etc.: whole numbers from the environment, for `npm run fuzz:long`. */
export function envCount(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}
