import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createColumnBudget, type ColumnBudget, type ColumnClaim, type ColumnClaimLog } from '../src/mapping/column-budget.ts';
import { createPointBudget } from '../src/mapping/point-budget.ts';
import { appendAttributeFields, FieldTypeRegistry } from '../src/mapping/field-types.ts';
import { createSpanMapper } from '../src/mapping/map-spans.ts';
import { decodeOverflow, encodeOverflow } from '../src/mapping/overflow-json.ts';
import { DEFAULT_RULES, parseMappingRules } from '../src/mapping/rules.ts';
import type { AttrValue } from '../src/otlp/model.ts';
import { declaredFields, SPANS_RESERVED } from '../src/schema/derived.ts';
import type { FieldType, FieldValue, MappedPoint } from '../src/schema/point.ts';
import { fixedBudget } from './support/fixed-budget.ts';

/**
 * The column budget (mapping/column-budget.ts) against an in-memory claim log that keeps the one
 * promise the protocol relies on: a row whose append was acknowledged is in every later read. The
 * log can delay appends and reads at random and make a row visible before its acknowledgement, as a
 * real database may; whatever the interleaving, processes sharing it never admit more than the budget.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface MemoryLog extends ColumnClaimLog {
  readonly rows: ColumnClaim[];
  existingFields: Map<string, Map<string, FieldType>>;
  failing: boolean;
}

function memoryLog(jitterMillis = 0, rand: () => number = Math.random): MemoryLog {
  const rows: ColumnClaim[] = [];
  const delay = (): Promise<void> => (jitterMillis === 0 ? Promise.resolve() : sleep(rand() * jitterMillis));
  const log: MemoryLog = {
    rows,
    existingFields: new Map(),
    failing: false,
    async read() {
      await delay();
      if (log.failing) throw new Error('database unreachable');
      const snapshot = rows.slice();
      await delay();
      return snapshot;
    },
    async append(batch) {
      await delay();
      if (log.failing) throw new Error('database unreachable');
      // Visible now, acknowledged only after a further delay.
      rows.push(...batch);
      await delay();
    },
    async existing(tables) {
      await delay();
      return new Map(tables.map((t) => [t, log.existingFields.get(t) ?? new Map()]));
    },
  };
  return log;
}

const declared = declaredFields(DEFAULT_RULES);

function budget(log: ColumnClaimLog, max: number, extra: { pinned?: string[]; spares?: number; claimant?: string } = {}): ColumnBudget {
  return createColumnBudget({ max, log, declared, seedTables: ['spans', 'logs'], retryMillis: 5, ...extra });
}

/** Asks for `keys` until each is decided (admitted, or refused for good) or the time is up. */
async function askUntilSettled(b: ColumnBudget, table: string, keys: readonly string[], millis = 5000): Promise<Set<string>> {
  const deadline = Date.now() + millis;
  for (;;) {
    const admitted = new Set(keys.filter((k) => b.admits(table, k, 'string')));
    const full = (b.inUse().get(table) ?? 0) >= b.max;
    if (admitted.size === keys.length || full || Date.now() > deadline) {
      await b.settled();
      return new Set(keys.filter((k) => b.admits(table, k, 'string')));
    }
    await sleep(5);
  }
}

/** The distinct columns admitted in the log, per table. */
function admittedInLog(log: MemoryLog, table: string): Set<string> {
  return new Set(log.rows.filter((r) => r.table === table && r.kind === 'column' && r.state === 'admit').map((r) => r.entry));
}

test('one process: exactly the budget is admitted, the rest refused for good, and every admitted column is in the log', async () => {
  const log = memoryLog();
  const b = budget(log, 5);
  await b.ready();
  const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
  const admitted = await askUntilSettled(b, 'spans', keys);
  assert.equal(admitted.size, 5);
  assert.equal(b.inUse().get('spans'), 5);
  assert.deepEqual(admittedInLog(log, 'spans'), admitted);
  // Refused for good: asking again neither admits nor writes anything.
  const rows = log.rows.length;
  for (const k of keys) if (!admitted.has(k)) assert.equal(b.admits('spans', k, 'string'), false);
  await b.settled();
  assert.equal(log.rows.length, rows);
  b.close();
});

test('spare reservations: the first new columns after start-up are admitted at once, on the hot path', async () => {
  const log = memoryLog();
  const b = budget(log, 150);
  await b.ready();
  assert.equal(b.admits('spans', 'http.user_agent', 'string'), true, 'no round trip for the first new column');
  assert.equal(b.admits('logs', 'code', 'float'), true);
  await b.settled();
  assert.deepEqual(admittedInLog(log, 'spans'), new Set(['http.user_agent']));
  // Its reservation was released once the admit row was in: one entry, not two.
  const live = log.rows.filter((r) => r.table === 'spans' && r.kind === 'reservation' && r.state === 'release');
  assert.ok(live.length >= 1);
  b.close();
});

test('max 0: every attribute overflows, nothing is written to the log', async () => {
  const log = memoryLog();
  const b = budget(log, 0);
  await b.ready();
  assert.equal(b.admits('spans', 'a', 'string'), false);
  await b.settled();
  assert.equal(log.rows.filter((r) => r.state === 'admit').length, 0);
  b.close();
});

test('a restart re-reads the admitted set: the same columns, and no new ones past the budget', async () => {
  const log = memoryLog();
  const first = budget(log, 4);
  await first.ready();
  const before = await askUntilSettled(first, 'spans', ['a', 'b', 'c', 'd', 'e', 'f']);
  first.close();
  const second = budget(log, 4);
  await second.ready();
  assert.deepEqual(new Set([...'abcdef'].filter((k) => second.admits('spans', k, 'string'))), before);
  assert.equal(second.admits('spans', 'g', 'string'), false);
  await second.settled();
  assert.equal(admittedInLog(log, 'spans').size, 4);
  second.close();
});

test('existing fields count against the budget and keep their type; pinned fields are admitted past it', async () => {
  const log = memoryLog();
  // trace_id is declared (not counted); old1/old2 are attribute fields an earlier gateway made.
  log.existingFields.set('spans', new Map<string, FieldType>([['trace_id', 'string'], ['old1', 'float'], ['old2', 'string']]));
  const adopted: string[] = [];
  const b = createColumnBudget({ max: 3, log, declared, seedTables: ['spans'], pinned: ['tenant.plan'], retryMillis: 5, events: { adopted: (t, c, type) => adopted.push(`${t}.${c}:${type}`) } });
  await b.ready();
  assert.ok(adopted.includes('spans.old1:float'), 'the database type reaches the registry');
  assert.equal(b.admits('spans', 'old1', 'float'), true);
  assert.equal(b.admits('spans', 'tenant.plan', 'string'), true, 'pinned');
  const admitted = await askUntilSettled(b, 'spans', ['n1', 'n2', 'n3']);
  // old1, old2, tenant.plan: the budget of 3 is full.
  assert.equal(admitted.size, 0);
  assert.deepEqual(admittedInLog(log, 'spans'), new Set(['old1', 'old2', 'tenant.plan']));
  b.close();
});

test('an unreachable database: pending columns stay out of fields, and are admitted once it answers', async () => {
  const log = memoryLog();
  log.failing = true;
  const problems: string[] = [];
  const b = createColumnBudget({ max: 10, log, declared, seedTables: ['spans'], retryMillis: 5, events: { problem: (what) => problems.push(what) } });
  await b.ready();
  assert.equal(b.admits('spans', 'a', 'string'), false);
  await sleep(30);
  assert.ok(problems.length > 0);
  log.failing = false;
  const admitted = await askUntilSettled(b, 'spans', ['a']);
  assert.deepEqual(admitted, new Set(['a']));
  b.close();
});

test('processes sharing one log never admit more than the budget together, whatever the timing (fuzzed)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 }), async (max, processes, seed) => {
      let s = seed;
      const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s / 2 ** 32);
      const log = memoryLog(4, rand);
      const budgets = Array.from({ length: processes }, (_, i) => budget(log, max, { spares: i % 2 === 0 ? 4 : 0 }));
      await Promise.all(budgets.map((b) => b.ready()));
      // Each process wants its own new keys and some shared ones, at the same time.
      const results = await Promise.all(budgets.map((b, i) => askUntilSettled(b, 'spans', [...Array.from({ length: 3 * max }, (_, k) => `p${i}.${k}`), 'shared.1', 'shared.2'], 3000)));
      const used = new Set(results.flatMap((r) => [...r]));
      for (const b of budgets) b.close();
      assert.ok(used.size <= max, `${used.size} columns used with a budget of ${max}: ${[...used].join(' ')}`);
      assert.ok(admittedInLog(log, 'spans').size <= max, `log: ${[...admittedInLog(log, 'spans')].join(' ')}`);
      // Some progress despite contention.
      assert.ok(used.size > 0, `nothing admitted at all (budget ${max}, ${processes} processes)`);
    }),
    { numRuns: 25, seed: 18, endOnFailure: true, reporter: (r) => { if (r.failed) throw new Error(`${JSON.stringify(r.counterexample)}: ${String(r.errorInstance)}`); } },
  );
});

test('the overflow JSON: deterministic key order, escaping of quotes, backslashes, newlines and control characters, typed values', () => {
  const entries: Array<readonly [string, FieldValue]> = [
    ['z', { type: 'string', value: 'a "quoted" \\ back\\slash\nnew line\ttab\u0001' }],
    ['a.b', { type: 'float', value: 1.5 }],
    ['B', { type: 'boolean', value: false }],
    ['ünï', { type: 'integer', value: 12345678901234567890n }],
    ['k"ey\\', { type: 'string', value: '' }],
  ];
  const text = encodeOverflow([...entries]);
  assert.equal(text, String.raw`{"B":false,"a.b":1.5,"k\"ey\\":"","z":"a \"quoted\" \\ back\\slash\nnew line\ttab\u0001","ünï":12345678901234567890}`);
  assert.equal(encodeOverflow([...entries].reverse()), text, 'the order entries arrive in does not matter');
  assert.ok(!text.includes('\n'), 'a newline never reaches the line raw');
  const back = decodeOverflow(text);
  assert.deepEqual(back, { B: false, 'a.b': 1.5, 'k"ey\\': '', z: 'a "quoted" \\ back\\slash\nnew line\ttab\u0001', ünï: 12345678901234567000 });
  assert.equal(decodeOverflow('not json'), undefined);
  assert.equal(decodeOverflow('[1]'), undefined);
  assert.equal(decodeOverflow('{"a":{"b":1}}'), undefined);
});

test('attributes past the budget: one `attributes` field after the admitted ones, under their own keys, counted', () => {
  let overflowed = 0;
  const registry = new FieldTypeRegistry(undefined, undefined, fixedBudget(2), (_, n) => (overflowed += n));
  const attrs = (pairs: Array<[string, AttrValue]>): Map<string, AttrValue> => new Map(pairs);
  const fields: Array<readonly [string, FieldValue]> = [];
  appendAttributeFields(fields, 'spans', attrs([['a', { type: 'string', value: 'x' }], ['b', { type: 'int', value: '2' }], ['c', { type: 'bool', value: true }], ['name', { type: 'string', value: 'renamed' }]]), SPANS_RESERVED, registry);
  assert.deepEqual(fields, [
    ['a', { type: 'string', value: 'x' }],
    ['b', { type: 'float', value: 2 }],
    ['attributes', { type: 'string', value: '{"attr_name":"renamed","c":true}' }],
  ]);
  assert.equal(overflowed, 2);
  // A type clash whose `<key>__<type>` has no room: the value keeps its key in the JSON, no conflict counted.
  const clash: Array<readonly [string, FieldValue]> = [];
  appendAttributeFields(clash, 'spans', attrs([['a', { type: 'double', value: 3.5 }]]), SPANS_RESERVED, registry);
  assert.deepEqual(clash, [['attributes', { type: 'string', value: '{"a":3.5}' }]]);
  assert.equal(registry.conflicts, 0);
});

test('an attribute named like a tag of its measurement becomes attr_<name>, never a field of a tag\'s name', () => {
  const span = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), parentSpanId: '', name: 'op', kind: 1, startTimeUnixNano: 1n, endTimeUnixNano: 2n, statusCode: 0 };
  const s = (key: string, value: string) => ({ key, value: { type: 'string' as const, value } });
  const req = { resourceSpans: [{ resource: [s('service.name', 'shop')], scopes: [{ scopeName: '', scopeVersion: '', spans: [{ ...span, attributes: [s('service_name', 'x'), s('span_kind', 'y'), s('attributes', 'z'), s('region', 'eu')] }] }] }] };
  const rules = parseMappingRules({ measurements: { spans: { extraTags: ['region'] } } });
  const point = createSpanMapper(rules, new FieldTypeRegistry()).map(req, { tenantId: 't', instanceName: 'gw' }).points[0]?.point;
  assert.ok(point !== undefined);
  const tags = new Set(point.tags.map(([k]) => k));
  assert.deepEqual([...tags].sort(), ['region', 'service_name', 'span_kind', 'tenant_id']);
  for (const [k] of point.fields) assert.equal(tags.has(k), false, `field ${k} shares a tag's name`);
  assert.deepEqual(point.fields.slice(-4).map(([k]) => k), ['attr_service_name', 'attr_span_kind', 'attr_attributes', 'attr_region']);
  // MAPPING_FILE may not make a tag of a field's name, nor of the overflow field.
  assert.throws(() => parseMappingRules({ measurements: { spans: { extraTags: ['name'] } } }), /field of this measurement/);
  assert.throws(() => parseMappingRules({ measurements: { backend: { extraTags: ['attributes'] } } }), /may not contain "attributes"/);
});

test('the point pass: a demoted tag value past the budget joins the `attributes` JSON; declared fields never count', () => {
  const moved: string[] = [];
  const pass = createPointBudget(fixedBudget(0), declared, (m, n) => moved.push(`${m}:${n}`));
  const points: MappedPoint[] = [
    {
      spanId: '1',
      point: {
        measurement: 'spans',
        tags: [['session_id', '~overflow']],
        fields: [['trace_id', { type: 'string', value: 't' }], ['attributes', { type: 'string', value: '{"b":1}' }], ['session_id__demoted', { type: 'string', value: 's-9' }]],
        timestamp: 1n,
      },
    },
    { spanId: '2', point: { measurement: 'frontend_performance', tags: [], fields: [['duration_ms', { type: 'integer', value: 5n }]], timestamp: 1n } },
  ];
  const out = pass(points);
  assert.deepEqual(out[0]?.point.fields, [['trace_id', { type: 'string', value: 't' }], ['attributes', { type: 'string', value: '{"b":1,"session_id__demoted":"s-9"}' }]]);
  assert.equal(out[1], points[1], 'a point with only declared fields is passed through as is');
  assert.deepEqual(moved, ['spans:1']);
});
