import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../gateway/src/config.ts';
import { encodePoints, TimestampSlots } from '../gateway/src/influx/point-identity.ts';
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import type { Attribute, SpanRecord } from '../gateway/src/otlp/model.ts';
import { createInfluxDrillDown } from '../gateway/src/query/influx.ts';
import type { DrillDown, TimeRange } from '../gateway/src/query/model.ts';
import { SESSION_INDEX, TRACE_INDEX } from '../gateway/src/schema/trace-index.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

/**
 * The trace and session index (schema/trace-index.ts) against Debian's influxd 1.6.7: the rows it
 * writes, that no id becomes a tag, that lookups through it find every span (sessions over several
 * minutes, traces across a minute boundary, backend spans sent apart without a session), that a
 * replay leaves it as it was, and that spans written before the index existed are still found.
 */

const DB = 'tenantlens';
const S = 1_000_000_000n;
let influx: Influxd;
let queries: DrillDown;
const slots = new TimestampSlots();
const indexed = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry(), { traceIndex: true });
const unindexed = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry());

// A minute boundary 20 minutes ago: the spans sit around it.
const MINUTE = (BigInt(Date.now()) / 60_000n - 20n) * 60n * S;
const RANGE: TimeRange = { fromNs: MINUTE - 600n * S, toNs: MINUTE + 600n * S };

const str = (key: string, value: string): Attribute => ({ key, value: { type: 'string', value } });
const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

function span(trace: number, n: number, startNs: bigint, attributes: Attribute[] = [], kind = 1): SpanRecord {
  return {
    traceId: hex(trace, 32),
    spanId: hex(trace, 8) + hex(n, 8),
    parentSpanId: n === 1 ? '' : hex(trace, 8) + hex(1, 8),
    name: `op${n}`,
    kind,
    statusCode: 0,
    startTimeUnixNano: startNs,
    endTimeUnixNano: startNs + 5_000_000n,
    attributes,
  };
}

async function write(spans: SpanRecord[], tenant: string, mapper = indexed): Promise<void> {
  const { points } = mapper.map({ resourceSpans: [{ resource: [str('service.name', 'svc')], scopes: [{ scopeName: 't', scopeVersion: '', spans }] }] }, { tenantId: tenant, instanceName: 'gw' });
  const res = await fetch(`${influx.url}/write?db=${DB}`, { method: 'POST', body: encodePoints(points, slots).join('\n') });
  assert.equal(res.status, 204, await res.text());
}

async function count(measurement: string): Promise<number> {
  const [s] = await influx.query(`SELECT COUNT("trace_ids") FROM "${measurement}"`, DB);
  return Number(s?.values[0]?.[1] ?? 0);
}

const sessionTraces = async (tenant: string, session: string) => (await queries.traces(tenant, RANGE, 1000, session)).map((t) => [t.traceId, t.spanCount]).sort();

before(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  queries = createInfluxDrillDown(loadConfig({ TENANT_AUTH: 'header', INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: DB }).influx!, DEFAULT_RULES);
  // Written before the index existed (an older gateway): ten minutes before the indexed data.
  await write([span(0x900, 1, MINUTE - 500n * S, [str('session.id', 'old-session')]), span(0x900, 2, MINUTE - 499n * S)], 'acme', unindexed);
  // A session over six minutes: browser spans with the session, backend spans in requests of their own without it.
  for (const [i, at] of [-180n, 0n, 180n].entries()) {
    const t = 0x100 + i;
    await write([span(t, 1, MINUTE + at * S, [str('session.id', 'sess-1'), str('view_name', 'Home')])], 'acme');
    // 1.5 s later: in a second the session's rows do not name.
    await write([span(t, 2, MINUTE + at * S + 1_500_000_000n, [str('http.route', '/api')], 2)], 'acme');
  }
  // A trace across a minute boundary (and a second one): 59.9 s, then 60.2 s.
  await write([span(0x200, 1, MINUTE - 100_000_000n, [str('session.id', 'sess-2')]), span(0x200, 2, MINUTE + 200_000_000n)], 'acme');
  // Another tenant's trace and session of the same ids: never mixed in.
  await write([span(0x100, 1, MINUTE, [str('session.id', 'sess-1')]), span(0x100, 3, MINUTE + 1n)], 'globex');
});

after(async () => {
  await influx?.close();
});

test('the index rows: trace_index per (trace, second), session_index per (session, second) of a request, tags shard and tenant_id only', async () => {
  for (const m of [TRACE_INDEX, SESSION_INDEX]) {
    const tags = (await influx.query(`SHOW TAG KEYS FROM "${m.name}"`, DB))[0]?.values.map((v) => v[0]);
    assert.deepEqual(tags, ['shard', 'tenant_id'], m.name);
    const fields = (await influx.query(`SHOW FIELD KEYS FROM "${m.name}"`, DB))[0]?.values.map((v) => v[0]);
    assert.deepEqual(fields, [...m.fields].sort(), m.name);
  }
  // acme: 3 session traces over 2 seconds each + the straddling trace (2 seconds); globex: 1.
  assert.equal(await count(TRACE_INDEX.name), 6 + 2 + 1);
  // Only spans with a session: 3 + 1 for acme (the straddling trace's second span has none), 1 for globex.
  assert.equal(await count(SESSION_INDEX.name), 3 + 1 + 1);
  const [row] = await influx.query(`SELECT * FROM "${SESSION_INDEX.name}" WHERE "tenant_id" = 'acme' AND "session_id" = 'sess-2'`, DB);
  assert.deepEqual(row?.columns, ['time', 'session_id', 'shard', 'tenant_id', 'trace_ids']);
  assert.equal(row?.values[0]?.[4], hex(0x200, 32));
  // In its span's second.
  assert.equal(BigInt(row?.values[0]?.[0] as string) / S, (MINUTE - 100_000_000n) / S);
});

test('no id is a tag: span, trace and parent ids are never tag keys of any measurement', async () => {
  const keys = (await influx.query('SHOW TAG KEYS', DB)).flatMap((s) => s.values.map((v) => `${s.name}.${String(v[0])}`));
  assert.ok(keys.length > 0);
  for (const k of keys) assert.doesNotMatch(k, /\.(trace_id|span_id|parent_span_id)$/);
  assert.ok(!keys.includes(`${TRACE_INDEX.name}.session_id`) && !keys.includes(`${SESSION_INDEX.name}.session_id`), 'the index keeps session ids in fields');
});

test('a session over several minutes: every trace, with its backend spans sent apart without the session', async () => {
  assert.deepEqual(await sessionTraces('acme', 'sess-1'), [
    [hex(0x100, 32), 2],
    [hex(0x101, 32), 2],
    [hex(0x102, 32), 2],
  ]);
  assert.deepEqual(await sessionTraces('globex', 'sess-1'), [[hex(0x100, 32), 2]]);
  assert.deepEqual(await sessionTraces('acme', 'no-such-session'), []);
  // The range still bounds the answer: from the middle trace on.
  const later = await queries.traces('acme', { fromNs: MINUTE - S, toNs: RANGE.toNs }, 1000, 'sess-1');
  assert.deepEqual(later.map((t) => t.traceId).sort(), [hex(0x101, 32), hex(0x102, 32)]);
});

test('a trace across a minute boundary: both spans, found through the index', async () => {
  const spans = await queries.trace(hex(0x200, 32), 'acme');
  assert.deepEqual(spans.map((s) => s.name), ['op1', 'op2']);
  assert.equal((await queries.trace(hex(0x200, 32), undefined)).length, 2, 'the operator, without a tenant');
  assert.deepEqual(await queries.trace(hex(0x200, 32), 'globex'), [], 'not another tenant');
  assert.deepEqual(await sessionTraces('acme', 'sess-2'), [[hex(0x200, 32), 2]]);
  // One tenant's trace id under two tenants: each sees its own spans.
  assert.deepEqual((await queries.trace(hex(0x100, 32), 'globex')).map((s) => s.name), ['op1', 'op3']);
});

test('a request with several traces of a session lists them in one row; replaying requests leaves the index as it was', async () => {
  const two = [span(0x300, 1, MINUTE + 300n * S, [str('session.id', 'sess-3')]), span(0x301, 1, MINUTE + 300n * S + 1000n, [str('session.id', 'sess-3')])];
  await write(two, 'acme');
  const [row] = await influx.query(`SELECT "trace_ids" FROM "${SESSION_INDEX.name}" WHERE "session_id" = 'sess-3'`, DB);
  assert.deepEqual(row?.values.map((v) => v[1]), [`${hex(0x300, 32)},${hex(0x301, 32)}`]);
  assert.deepEqual(await sessionTraces('acme', 'sess-3'), [[hex(0x300, 32), 1], [hex(0x301, 32), 1]]);
  // Sent again in two requests (another batching): rows of its own, the same answer.
  for (const one of two) await write([one], 'acme');
  assert.equal((await influx.query(`SELECT "trace_ids" FROM "${SESSION_INDEX.name}" WHERE "session_id" = 'sess-3'`, DB))[0]?.values.length, 3);
  assert.deepEqual(await sessionTraces('acme', 'sess-3'), [[hex(0x300, 32), 1], [hex(0x301, 32), 1]]);

  const before = [await count(TRACE_INDEX.name), await count(SESSION_INDEX.name), await count('spans')];
  // Another process (fresh slots): the same rows, the same nanoseconds.
  for (let i = 0; i < 2; i++) await write([span(0x200, 1, MINUTE - 100_000_000n, [str('session.id', 'sess-2')]), span(0x200, 2, MINUTE + 200_000_000n)], 'acme');
  await write([span(0x101, 1, MINUTE, [str('session.id', 'sess-1'), str('view_name', 'Home')]), span(0x101, 2, MINUTE + 1_500_000_000n, [str('http.route', '/api')], 2)], 'acme');
  assert.deepEqual([await count(TRACE_INDEX.name), await count(SESSION_INDEX.name), await count('spans')], before);
});

test('spans written before the index existed are still found (by the scan the index replaces)', async () => {
  assert.deepEqual((await queries.trace(hex(0x900, 32), 'acme')).map((s) => s.name), ['op1', 'op2']);
  assert.deepEqual(await sessionTraces('acme', 'old-session'), [[hex(0x900, 32), 2]]);
  assert.deepEqual(await queries.trace(hex(0x901, 32), 'acme'), [], 'an unknown id: nothing');
});
