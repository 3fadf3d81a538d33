/**
 * The column budget (SPAN_ATTRIBUTE_FIELDS_MAX, docs/data-model.md "A column budget") with the real
 * gateway process: against a real influxd 1.6.7 (fields per measurement, the trace view, a restart,
 * two replicas at once) and against the InfluxDB 3 stand-in (its column limit is never reached,
 * whatever attribute names, types and demotions arrive).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { seriesRows, startInfluxd, type Influxd } from '../harness/influxd.ts';
import { decodeOverflow } from '../gateway/src/mapping/overflow-json.ts';
import { SPANS } from '../gateway/src/schema/measurements.ts';
import { startInfluxDB3Standin } from './support/influxdb3-standin.ts';

const ADMIN = 'column-budget-admin-token';
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The fields of `spans` that are not attributes. */
const OWN = new Set([...SPANS.fields.map((f) => f.name), 'attributes']);

type Value = string | number | boolean;
type Attr = { key: string; value: Record<string, unknown> };

function otlpValue(v: Value): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

interface SentSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Key → value as the gateway keeps it (the last value of a key wins). */
  readonly attributes: Map<string, Value>;
}

function spansBody(spans: SentSpan[]): string {
  const start = BigInt(Date.now() - 60_000) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'wide' } }] },
        scopeSpans: [
          {
            spans: spans.map((s, i) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              name: 'wide-op',
              kind: 1,
              startTimeUnixNano: String(start + BigInt(i) * 1000n),
              endTimeUnixNano: String(start + BigInt(i) * 1000n + 2_000_000n),
              attributes: [...s.attributes].map(([key, v]): Attr => ({ key, value: otlpValue(v) })),
            })),
          },
        ],
      },
    ],
  });
}

async function post(gw: Gateway, body: string, tenant = 'acme'): Promise<void> {
  const res = await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body });
  assert.equal(res.status, 200, await res.text());
}

/** Every value a stored row holds for attributes: its attribute fields and its `attributes` JSON. */
function storedValues(fields: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || v === undefined) continue;
    if (k === 'attributes') out.push(...Object.values(decodeOverflow(String(v)) ?? {}).map((x) => JSON.stringify(x)));
    else if (!OWN.has(k)) out.push(JSON.stringify(v));
  }
  return out.sort();
}

const sentValues = (s: SentSpan): string[] => [...s.attributes.values()].map((v) => JSON.stringify(v)).sort();

// ---------------------------------------------------------------- the InfluxDB 3 stand-in

test('v3 stand-in: whatever attributes arrive (fuzzed names, type clashes, demotions), no write passes its column limit and no attribute is lost', async () => {
  // 200 columns: the strictest limit the issue names (Cloud Serverless); the default budget of 150 leaves room for ours.
  const s = await startInfluxDB3Standin({ token: 'v3-token', columnLimit: 200 });
  const gw = await startGateway({ INFLUX_URL: s.url, INFLUX_API_VERSION: '3', INFLUX_TOKEN: 'v3-token', INFLUX_BUCKET: 'budget', TENANT_AUTH: 'header', CARDINALITY_LIMIT: '1', CARDINALITY_TAGS: 'session_id,view_name,endpoint' });
  try {
    // Names with every character line protocol escapes, non-ASCII text, and our own tag and field names.
    const name = fc.oneof(
      fc.stringMatching(/^[a-z][a-z0-9_.]{0,12}$/),
      fc.string({ minLength: 1, maxLength: 12 }).map((x) => `k${x}`),
      fc.constantFrom('service_name', 'span_kind', 'tenant_id', 'attributes', 'name', 'time', 'trace_id', 'attr_name'),
    );
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
    const batches = fc.sample(fc.array(fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 40 }), { minLength: 20, maxLength: 20 }), { numRuns: 12, seed: 318 });
    const sent: SentSpan[] = [];
    let n = 0;
    // Twice: the second time, the keys admitted meanwhile are written as fields, up to the budget.
    for (const [i, batch] of [...batches, ...batches].entries()) {
      if (i === batches.length) await sleep(1000);
      const spans = batch.map((attrs) => ({ traceId: hex(16), spanId: hex(8), attributes: new Map(attrs.map(([k, v]) => [k, Object.is(v, -0) ? 0 : v])) }));
      // Web SDK-like spans too: a new session per span, so the guard demotes session_id into a field.
      const withView = spans.map((sp) => ({ ...sp, attributes: new Map([...sp.attributes, ['view_name', `v${n}`], ['session.id', `s${n++}`]]) }));
      await post(gw, spansBody(withView));
      sent.push(...withView);
    }
    // Several hundred distinct keys arrived.
    const keys = new Set(sent.flatMap((sp) => [...sp.attributes.keys()]));
    assert.ok(keys.size > 300, `${keys.size} distinct keys`);
    const deadline = Date.now() + 20_000;
    while (s.rows('budget').filter((r) => r.table === 'spans').length < sent.length && Date.now() < deadline) await sleep(50);
    assert.equal(await gw.metric('tenantlens_lines_rejected_total'), 0, 'no line refused');
    for (const table of ['spans', 'frontend_performance']) assert.ok(s.columns('budget', table).size <= 200, `${table}: ${s.columns('budget', table).size} columns`);
    const attributeFields = [...s.columns('budget', 'spans').keys()].filter((k) => s.columns('budget', 'spans').get(k) !== 'tag' && !OWN.has(k));
    assert.ok(attributeFields.length <= 150, `${attributeFields.length} attribute fields`);
    assert.ok(attributeFields.length >= 100, `the budget is used, not only the JSON field: ${attributeFields.length} fields`);
    assert.ok((await gw.metric('tenantlens_attributes_overflowed_total', { measurement: 'spans' })) > 0);
    // Admitted (the gauge) is at least what was written: a column admitted after the last span with its key is never created.
    const inUse = await gw.metric('tenantlens_attribute_fields', { measurement: 'spans' });
    assert.ok(inUse >= attributeFields.length && inUse <= 150, `${inUse} admitted`);
    assert.equal(await gw.metric('tenantlens_attribute_fields_budget'), 150);
    // Demoted values count against frontend_performance's budget and arrive (as fields: there is room).
    assert.ok(s.columns('budget', 'frontend_performance').has('session_id__demoted'));
    // Every value of every span is stored, as a field or in the JSON.
    const rows = new Map(s.rows('budget').filter((r) => r.table === 'spans').map((r) => [String(r.fields.span_id), r]));
    for (const sp of sent) {
      const row = rows.get(sp.spanId);
      assert.ok(row !== undefined, `span ${sp.spanId} stored`);
      // tenant_id is never taken from the payload (the credential names the tenant).
      const want = sentValues({ ...sp, attributes: new Map([...sp.attributes].filter(([k]) => k !== 'tenant_id')) }).filter((v) => v !== JSON.stringify(sp.attributes.get('session.id')));
      assert.deepEqual(storedValues(row.fields).filter((v) => v !== JSON.stringify(sp.attributes.get('session.id'))), want, `span ${sp.spanId}`);
    }
  } finally {
    await gw.stop();
    await s.close();
  }
});

// ---------------------------------------------------------------- a real influxd

let influx: Influxd;
before(async () => {
  influx = await startInfluxd();
});
after(async () => {
  await influx?.close();
});

async function attributeFieldsIn(db: string): Promise<string[]> {
  return seriesRows(await influx.query('SHOW FIELD KEYS FROM "spans"', db))
    .map((r) => String(r.fieldKey))
    .filter((k) => !OWN.has(k));
}

function wideSpans(keys: readonly string[], perSpan: number): SentSpan[] {
  const spans: SentSpan[] = [];
  for (let i = 0; i < keys.length; i += perSpan) spans.push({ traceId: hex(16), spanId: hex(8), attributes: new Map(keys.slice(i, i + perSpan).map((k, j) => [k, j % 2 === 0 ? `${k}-value` : i + j])) });
  return spans;
}

async function traceView(gw: Gateway, traceId: string): Promise<Array<{ spanId: string; attributes: Record<string, Value> }>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${gw.url}/api/v1/traces/${traceId}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    if (res.status === 200) return ((await res.json()) as { spans: Array<{ spanId: string; attributes: Record<string, Value> }> }).spans;
    if (Date.now() > deadline) assert.fail(`trace ${traceId}: HTTP ${res.status}`);
    await sleep(50);
  }
}

async function expectTraceView(gw: Gateway, spans: readonly SentSpan[]): Promise<void> {
  for (const sp of spans) {
    const [got] = await traceView(gw, sp.traceId);
    assert.ok(got !== undefined);
    for (const [k, v] of sp.attributes) assert.deepEqual(got.attributes[k], v, `${sp.spanId}: attribute ${k}`);
  }
}

test('influxd: 400 distinct attribute keys leave at most the budget as fields, every value is in the trace view, and a restart keeps the admitted set', async () => {
  await influx.createDatabase('wide');
  const env = { INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'wide', TENANT_AUTH: 'header', ADMIN_TOKEN: ADMIN };
  const keys = Array.from({ length: 400 }, (_, i) => `app.attr_${String(i).padStart(3, '0')}`);
  const spans = wideSpans(keys, 10);
  let gw = await startGateway(env);
  let admitted: string[];
  try {
    // Four requests of ten spans: new keys keep arriving while earlier ones are being admitted.
    for (let i = 0; i < spans.length; i += 10) await post(gw, spansBody(spans.slice(i, i + 10)));
    await expectTraceView(gw, spans);
    admitted = await attributeFieldsIn('wide');
    assert.ok(admitted.length <= 150, `${admitted.length} attribute fields`);
    assert.ok(admitted.length >= 16, 'the spare reservations were used at least');
    // Later spans with the same keys: the budget fills up to exactly 150 (nothing else competes for it).
    const again = wideSpans(keys, 40);
    await post(gw, spansBody(again));
    await sleep(500);
    await post(gw, spansBody(wideSpans(keys, 40)));
    await expectTraceView(gw, again);
    admitted = (await attributeFieldsIn('wide')).sort();
    assert.equal(admitted.length, 150);
    assert.equal(await gw.metric('tenantlens_attribute_fields', { measurement: 'spans' }), 150);
  } finally {
    await gw.stop();
  }
  // Restart on the same database: the same admitted set, no new field for new keys, old keys still fields.
  gw = await startGateway(env);
  try {
    assert.equal(await gw.metric('tenantlens_attribute_fields', { measurement: 'spans' }), 150);
    const fresh = wideSpans(Array.from({ length: 50 }, (_, i) => `after.restart_${i}`), 25);
    const old = { traceId: hex(16), spanId: hex(8), attributes: new Map<string, Value>([[admitted[0] as string, 'still a field']]) };
    await post(gw, spansBody([...fresh, old]));
    await expectTraceView(gw, [...fresh, old]);
    assert.deepEqual((await attributeFieldsIn('wide')).sort(), admitted);
    const rows = seriesRows(await influx.query(`SELECT ${JSON.stringify(admitted[0])} FROM "spans" WHERE "trace_id" = '${old.traceId}'`, 'wide'));
    assert.deepEqual(rows.map((r) => r[admitted[0] as string]), ['still a field']);
  } finally {
    await gw.stop();
  }
});

test('influxd: two replicas writing different new keys at once never exceed the budget together', async () => {
  await influx.createDatabase('replicas');
  const env = { INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'replicas', TENANT_AUTH: 'header', ADMIN_TOKEN: ADMIN, SPAN_ATTRIBUTE_FIELDS_MAX: '30' };
  const [a, b] = await Promise.all([startGateway(env), startGateway(env)]);
  try {
    const send = async (gw: Gateway, prefix: string): Promise<SentSpan[]> => {
      const all: SentSpan[] = [];
      for (let round = 0; round < 8; round++) {
        const spans = wideSpans(Array.from({ length: 20 }, (_, i) => `${prefix}.r${round}_${i}`), 5);
        await post(gw, spansBody(spans));
        all.push(...spans);
      }
      return all;
    };
    const [sentA, sentB] = await Promise.all([send(a as Gateway, 'a'), send(b as Gateway, 'b')]);
    await sleep(1000);
    const fields = await attributeFieldsIn('replicas');
    assert.ok(fields.length <= 30, `${fields.length} attribute fields with a budget of 30`);
    assert.ok(fields.some((f) => f.startsWith('a.')) || fields.some((f) => f.startsWith('b.')), 'some keys got fields');
    // Nothing lost: each replica's spans read back whole through the other one.
    await expectTraceView(b as Gateway, sentA.slice(0, 8));
    await expectTraceView(a as Gateway, sentB.slice(0, 8));
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
  }
});
