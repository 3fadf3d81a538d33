import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../gateway/src/config.ts';
import { encodePoints, TimestampSlots } from '../gateway/src/influx/point-identity.ts';
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import type { Attribute, SpanRecord } from '../gateway/src/otlp/model.ts';
import { createInfluxDrillDown } from '../gateway/src/query/influx.ts';
import { summarizeTraces, type DrillDown, type TimeRange, type TraceSummary } from '../gateway/src/query/model.ts';
import type { MappedPoint } from '../gateway/src/schema/point.ts';
import { TRACE_INDEX } from '../gateway/src/schema/trace-index.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

/**
 * A session's trace list from the parts `trace_index` rows carry (schema/trace-index.ts
 * `TracePart`, query/trace-parts.ts) against the answer read from the spans, on Debian's influxd
 * 1.6.7. The same requests go to two databases: `parts` as the gateway writes them, `legacy` with
 * the rows' `trace_summaries` taken out (as written before the parts existed: the lookup reads the
 * spans of the seconds the index names, as it did). A third answer is summarizeTraces over every
 * span of the range. Traces span several requests and seconds, roots arrive after their children,
 * requests are replayed as they were and in another batching, names hold the parts' separators, a
 * trace has more spans than a part holds, and ranges cut seconds.
 */

const PARTS = 'parts';
const LEGACY = 'legacy';
const S = 1_000_000_000n;
let influx: Influxd;
const drill: Record<string, DrillDown> = {};
const slots: Record<string, TimestampSlots> = {};
const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry(), { traceIndex: true });

const BASE = (BigInt(Date.now()) / 1000n - 1800n) * S;
const RANGE: TimeRange = { fromNs: BASE - 600n * S, toNs: BASE + 600n * S };

const str = (key: string, value: string): Attribute => ({ key, value: { type: 'string', value } });
const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** A seeded generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Names with every character the parts escape, and ties. */
const NAMES = ['GET /a', 'GET /a', 'a,b', 'x;y', '100%', 'say "hi"', 'back\\slash', 'two\nlines', 'http://h:1/p', 'ünï', ''];

interface Session {
  readonly tenant: string;
  readonly id: string;
}

/** Random traces of a few sessions; returns the spans, each tagged with its session or none. */
function traces(rnd: () => number, sessions: readonly Session[], count: number, firstTrace: number): Array<{ tenant: string; span: SpanRecord }> {
  const out: Array<{ tenant: string; span: SpanRecord }> = [];
  for (let t = firstTrace; t < firstTrace + count; t++) {
    const session = sessions[Math.floor(rnd() * sessions.length)] as Session;
    const traceId = hex(t, 32);
    const at = BASE + BigInt(Math.floor(rnd() * 400)) * S + BigInt(Math.floor(rnd() * 1e9));
    const n = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < n; i++) {
      // Starts over up to 3 s, in whole µs (a browser's clock) or with nanosecond digits; children may start before the root.
      const micros = rnd() < 0.5;
      let start = at + BigInt(Math.floor(rnd() * 3e9));
      if (micros) start -= start % 1000n;
      // Ties on the start µs. In whole µs, so the span id spreads their nanoseconds (data-model.md, "No silent overwrites"):
      // spans tied to the nanosecond in one series can land on each other's slot when a retry reaches another process.
      if (rnd() < 0.2) start = at - (at % 1000n);
      const root = i === 0 || rnd() < 0.1;
      out.push({
        tenant: session.tenant,
        span: {
          traceId,
          spanId: hex(t, 8) + hex(i + 1, 8),
          parentSpanId: root ? '' : hex(t, 8) + hex(1, 8),
          name: NAMES[Math.floor(rnd() * NAMES.length)] as string,
          kind: 1 + Math.floor(rnd() * 3),
          statusCode: 0,
          startTimeUnixNano: start,
          endTimeUnixNano: start + BigInt(Math.floor(rnd() * 5e9)),
          // The browser's spans carry the session; a backend's (sent apart) do not.
          attributes: i === 0 || rnd() < 0.4 ? [str('session.id', session.id)] : [],
        },
      });
    }
  }
  return out;
}

function withoutParts(points: readonly MappedPoint[]): MappedPoint[] {
  return points.map((p) => (p.point.measurement === TRACE_INDEX.name ? { ...p, point: { ...p.point, fields: p.point.fields.filter(([k]) => k !== 'trace_summaries') } } : p));
}

/** One request of one tenant to both databases, as a gateway process with `process`'s slots writes it. */
async function write(tenant: string, spans: SpanRecord[], fresh = false): Promise<void> {
  const { points } = mapper.map({ resourceSpans: [{ resource: [str('service.name', 'svc')], scopes: [{ scopeName: 't', scopeVersion: '', spans }] }] }, { tenantId: tenant, instanceName: 'gw' });
  for (const [db, pts] of [
    [PARTS, points],
    [LEGACY, withoutParts(points)],
  ] as const) {
    // Another process (a replica, a restart) has slots of its own.
    const res = await fetch(`${influx.url}/write?db=${db}`, { method: 'POST', body: encodePoints(pts, fresh ? new TimestampSlots() : (slots[db] as TimestampSlots)).join('\n') });
    assert.equal(res.status, 204, await res.text());
  }
}

/** Spans in random requests (each of one tenant, mixing traces, sessions and seconds), some sent again as they were or batched anew. */
async function send(rnd: () => number, spans: ReadonlyArray<{ tenant: string; span: SpanRecord }>): Promise<void> {
  const byTenant = new Map<string, SpanRecord[]>();
  for (const { tenant, span } of spans) byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), span]);
  for (const [tenant, all] of byTenant) {
    // Shuffled: a root often arrives in a later request than its children.
    const order = all.map((s) => [rnd(), s] as const).sort((a, b) => a[0] - b[0]).map(([, s]) => s);
    const sent: SpanRecord[][] = [];
    for (let i = 0; i < order.length; ) {
      const n = 1 + Math.floor(rnd() * 12);
      sent.push(order.slice(i, i + n));
      i += n;
    }
    for (const req of sent) await write(tenant, req);
    for (const req of sent) if (rnd() < 0.3) await write(tenant, req, rnd() < 0.5); // a retry, on this process or another
    // Another batching of spans already sent (a client that re-batches its retries).
    const again = order.filter(() => rnd() < 0.2);
    for (let i = 0; i < again.length; i += 5) await write(tenant, again.slice(i, i + 5));
  }
}

const byId = (list: readonly TraceSummary[]): TraceSummary[] => [...list].sort((a, b) => (a.traceId < b.traceId ? -1 : 1));

/** summarizeTraces over every span, in the range, of the traces with a span of the session in the range: the answer without any index. */
async function scanned(tenant: string, session: string, range: TimeRange): Promise<TraceSummary[]> {
  const where = `WHERE time >= ${range.fromNs} AND time < ${range.toNs} AND "tenant_id" = '${tenant}'`;
  const [hits] = await influx.query(`SELECT "trace_id" FROM "spans" ${where} AND "session_id" = '${session}'`, PARTS);
  const ids = new Set((hits?.values ?? []).map((v) => String(v[1])));
  const [all] = await influx.query(`SELECT "trace_id", "parent_span_id", "name", "duration_ns" FROM "spans" ${where}`, PARTS);
  const rows = (all?.values ?? [])
    .filter((v) => ids.has(String(v[1])))
    .map((v) => ({ traceId: String(v[1]), parentSpanId: String(v[2] ?? ''), name: String(v[3] ?? ''), startMicros: Number(BigInt(v[0] as string) / 1000n), durationNs: Number(v[4]) }));
  return byId(summarizeTraces(rows));
}

const SESSIONS: Session[] = [
  { tenant: 'acme', id: 's-1' },
  { tenant: 'acme', id: 's-2' },
  { tenant: 'acme', id: 's-3' },
  { tenant: 'globex', id: 's-1' },
  { tenant: 'globex', id: 'g-2' },
];

before(async () => {
  influx = await startInfluxd();
  for (const db of [PARTS, LEGACY]) {
    await influx.createDatabase(db);
    slots[db] = new TimestampSlots();
    drill[db] = createInfluxDrillDown(loadConfig({ TENANT_AUTH: 'header', INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: db }).influx!, DEFAULT_RULES);
  }
  const rnd = random(17);
  await send(rnd, traces(rnd, SESSIONS, 120, 0x1000));
  // A trace with more spans in one second than a part holds: its part is left out, its spans are read.
  const big: SpanRecord[] = [];
  for (let i = 0; i < 300; i++) {
    const start = BASE + 500n * S + BigInt(i) * 1000n;
    big.push({ traceId: hex(0x9000, 32), spanId: hex(0x9000, 8) + hex(i + 1, 8), parentSpanId: i === 0 ? '' : hex(0x9000, 8) + hex(1, 8), name: `op${i % 7}`, kind: 1, statusCode: 0, startTimeUnixNano: start, endTimeUnixNano: start + 1_000_000n, attributes: i === 0 ? [str('session.id', 's-big')] : [] });
  }
  await write('acme', big.slice(0, 280));
  await write('acme', big.slice(150));
});

after(async () => {
  await influx?.close();
});

test('the parts give every session the same traces as the spans: counts, starts, durations and root names', async () => {
  let traced = 0;
  for (const { tenant, id } of [...SESSIONS, { tenant: 'acme', id: 's-big' }]) {
    const fromParts = byId(await (drill[PARTS] as DrillDown).traces(tenant, RANGE, 1000, id));
    const fromSpans = byId(await (drill[LEGACY] as DrillDown).traces(tenant, RANGE, 1000, id));
    assert.ok(fromParts.length > 0, `${tenant}/${id} has traces`);
    assert.deepEqual(fromParts, fromSpans, `${tenant}/${id}: parts against the spans the index names`);
    assert.deepEqual(fromParts, await scanned(tenant, id, RANGE), `${tenant}/${id}: parts against a scan of every span`);
    traced += fromParts.length;
  }
  assert.equal(traced, 121);
  const big = await (drill[PARTS] as DrillDown).traces('acme', RANGE, 10, 's-big');
  assert.equal(big[0]?.spanCount, 300, 'spans sent twice in another batching count once');
});

test('parts are on the rows, and the spans were sent more than once (so the test could double-count)', async () => {
  const [rows] = await influx.query(`SELECT "trace_summaries" FROM "${TRACE_INDEX.name}"`, PARTS);
  const entries = (rows?.values ?? []).flatMap((v) => String(v[1]).split(','));
  assert.ok(entries.includes('?'), 'the 300-span trace has an unsummarised part');
  assert.ok(entries.filter((e) => e !== '?').length > 100);
  const [legacy] = await influx.query(`SELECT COUNT("trace_summaries") FROM "${TRACE_INDEX.name}"`, LEGACY);
  assert.equal(legacy, undefined, 'the legacy database has no parts');
  const [spans] = await influx.query(`SELECT COUNT("trace_id") FROM "spans"`, PARTS);
  const [indexRows] = await influx.query(`SELECT COUNT("trace_ids") FROM "${TRACE_INDEX.name}"`, PARTS);
  assert.ok(Number(indexRows?.values[0]?.[1]) > 0 && Number(spans?.values[0]?.[1]) > 0);
});

test('ranges that cut seconds: the traces there are read from their spans, the answer is the same', async () => {
  const rnd = random(5);
  for (let i = 0; i < 12; i++) {
    const from = BASE + BigInt(Math.floor(rnd() * 300)) * S + BigInt(Math.floor(rnd() * 1e9));
    const range: TimeRange = { fromNs: from, toNs: from + BigInt(Math.floor(rnd() * 200)) * S + BigInt(Math.floor(rnd() * 1e9)) };
    for (const { tenant, id } of SESSIONS) {
      const fromParts = byId(await (drill[PARTS] as DrillDown).traces(tenant, range, 1000, id));
      assert.deepEqual(fromParts, byId(await (drill[LEGACY] as DrillDown).traces(tenant, range, 1000, id)), `${tenant}/${id} in ${range.fromNs}..${range.toNs}`);
    }
  }
});
