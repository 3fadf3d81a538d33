import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { loadConfig } from '../gateway/src/config.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import { createInfluxDrillDown } from '../gateway/src/query/influx.ts';
import type { WindowP99 } from '../gateway/src/query/model.ts';
import { createEmbeddedStore } from '../gateway/src/store/embedded-store.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

/**
 * The same dataset through both stores (a real influxd, and the embedded DuckDB store) must give
 * the same answers from the query API, and those answers must be the ones computed here by hand.
 */
const ADMIN = 'operator-token-for-the-contract-test';
const SECRET = 'contract-test-secret-at-least-32-bytes-long';
const BASE_NS = (BigInt(Date.now()) - 20n * 60_000n) * 1_000_000n; // 20 min ago: inside the default -1h range
const MS = 1_000_000n;

let influx: Influxd;
let dataDir: string;
const gws: Record<'influxdb' | 'embedded', Gateway> = {} as Record<'influxdb' | 'embedded', Gateway>;

interface Expected {
  /** tenant → side → [spans, error spans] (OTLP status ERROR). */
  errors: Record<string, { frontend: [number, number]; backend: [number, number] }>;
  /** tenant → key → errors per span, in span order (1 = ERROR). */
  viewErrors: Record<string, Record<string, number[]>>;
  endpointErrors: Record<string, Record<string, number[]>>;
  frontend: Record<string, number[]>; // tenant → durations ms
  backend: Record<string, number[]>;
  sessions: Record<string, Record<string, number[]>>; // tenant → session → durations
  endpoints: Record<string, Record<string, number[]>>; // tenant → endpoint → latencies
}
const expected: Expected = { errors: {}, viewErrors: {}, endpointErrors: {}, frontend: {}, backend: {}, sessions: {}, endpoints: {} };
const traceIds: Record<string, string[]> = {};
/** trace id → start (ns) of its server span, for log records emitted inside it. */
const serverStarts: Record<string, bigint> = {};

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const kv = (key: string, v: string | number) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });

/** Deterministic spans: per tenant, 3 sessions × 6 actions; each action a trace browser → server → db. */
function dataset(tenant: string, tenantIndex: number): string {
  const spans: unknown[] = [];
  const slow = tenant === 'globex' ? 5 : 1;
  for (let s = 0; s < 3; s++) {
    const session = `${tenant}-s${s}`;
    for (let a = 0; a < 6; a++) {
      const i = s * 6 + a;
      const traceId = hex(tenantIndex + 1, 8) + hex(i + 1, 24);
      (traceIds[tenant] ??= []).push(traceId);
      const start = BASE_NS + BigInt(tenantIndex) * 1000n * MS + BigInt(i) * 10n * MS + BigInt(tenantIndex * 7 + 3) * 1000n;
      const feMs = (10 + ((i * 37) % 90)) * slow;
      const beMs = Math.max(1, feMs - 4);
      const endpoint = a % 2 === 0 ? '/api/users' : '/api/report';
      const view = a % 2 === 0 ? ['Users', 'loadUsers'] : ['Report', 'compute'];
      // acme's first action fails in the browser; a third of globex's requests fail on the server.
      const feError = tenant === 'acme' && i === 0;
      const beError = tenant === 'globex' && i % 3 === 0;
      const errs = (expected.errors[tenant] ??= { frontend: [0, 0], backend: [0, 0] });
      errs.frontend[0]++;
      errs.backend[0]++;
      if (feError) errs.frontend[1]++;
      if (beError) errs.backend[1]++;
      ((expected.viewErrors[tenant] ??= {})[`${view[0]} · ${view[1]}`] ??= []).push(feError ? 1 : 0);
      ((expected.endpointErrors[tenant] ??= {})[endpoint] ??= []).push(beError ? 1 : 0);
      (expected.frontend[tenant] ??= []).push(feMs);
      (expected.backend[tenant] ??= []).push(beMs);
      ((expected.sessions[tenant] ??= {})[session] ??= []).push(feMs);
      ((expected.endpoints[tenant] ??= {})[endpoint] ??= []).push(beMs);
      serverStarts[traceId] = start + 2n * MS;
      const root = hex(i + 1, 8) + 'a0a0a0a0';
      const server = hex(i + 1, 8) + 'b0b0b0b0';
      spans.push(
        {
          traceId,
          spanId: root,
          name: `${view[1]} click`,
          kind: 1,
          startTimeUnixNano: String(start),
          endTimeUnixNano: String(start + BigInt(feMs) * MS),
          attributes: [kv('view_name', view[0] as string), kv('action_name', view[1] as string), kv('session.id', session), kv('element_count', 10 + a), kv('tenant_id', 'spoofed')],
          ...(feError ? { status: { code: 2, message: 'click failed' } } : {}),
        },
        {
          traceId,
          spanId: server,
          parentSpanId: root,
          name: `GET ${endpoint}`,
          kind: 2,
          startTimeUnixNano: String(start + 2n * MS),
          endTimeUnixNano: String(start + 2n * MS + BigInt(beMs) * MS),
          attributes: [kv('http.route', endpoint), kv('http.request.method', 'GET'), kv('http.response.status_code', 200)],
          ...(beError ? { status: { code: 2 } } : {}),
        },
        {
          traceId,
          spanId: hex(i + 1, 8) + 'c0c0c0c0',
          parentSpanId: server,
          name: 'SELECT users',
          kind: 3,
          startTimeUnixNano: String(start + 3n * MS),
          endTimeUnixNano: String(start + 3n * MS + BigInt(Math.max(1, beMs - 2)) * MS),
          attributes: [kv('db.system', 'postgresql'), { key: 'db.rows', value: { doubleValue: 12.5 } }, { key: 'cache', value: { boolValue: false } }],
        },
      );
    }
  }
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', `${tenant}-app`)] }, scopeSpans: [{ scope: { name: 'contract' }, spans }] }] });
}

/** A trace whose only data is a log record (the spans may come later, or never). */
const LOGS_ONLY_TRACE = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee';

/**
 * Log records for globex's trace 4: two inside its server span at the same instant (ties order by
 * severity), one at trace level without a span, plus one in a logs-only trace and one without any trace.
 */
function logsDataset(): { body: string; traceId: string; serverSpan: string; t1: bigint; t2: bigint } {
  const traceId = traceIds.globex?.[4] as string;
  const serverSpan = hex(5, 8) + 'b0b0b0b0';
  const t1 = (serverStarts[traceId] as bigint) + MS;
  const t2 = t1 + MS / 2n;
  const records = [
    {
      timeUnixNano: String(t1),
      severityNumber: 17,
      severityText: 'ERROR',
      body: { kvlistValue: { values: [kv('code', 42)] } },
      traceId,
      spanId: serverSpan,
    },
    {
      timeUnixNano: String(t1),
      severityNumber: 9,
      severityText: 'INFO',
      body: { stringValue: 'loading users' },
      traceId,
      spanId: serverSpan,
      attributes: [kv('rows', 3), { key: 'ratio', value: { doubleValue: 0.5 } }, { key: 'cached', value: { boolValue: true } }, kv('body', 'dup'), kv('tenant_id', 'spoofed')],
    },
    { timeUnixNano: String(t2), severityNumber: 13, severityText: 'WARN', body: { stringValue: 'slow' }, traceId },
    { timeUnixNano: String(t2), severityNumber: 9, severityText: 'INFO', body: { stringValue: 'orphan' }, traceId: LOGS_ONLY_TRACE },
    { timeUnixNano: String(t2), severityNumber: 9, severityText: 'INFO', body: { stringValue: 'no trace' } },
  ];
  const body = JSON.stringify({ resourceLogs: [{ resource: { attributes: [kv('service.name', 'globex-app')] }, scopeLogs: [{ scope: { name: 'contract' }, logRecords: records }] }] });
  return { body, traceId, serverSpan, t1, t2 };
}

/** InfluxQL PERCENTILE, written independently of the code under test: nearest rank. */
function pct(values: number[], p: number): number | null {
  const sorted = [...values].sort((x, y) => x - y);
  const i = Math.floor((sorted.length * p) / 100 + 0.5) - 1;
  return i >= 0 && i < sorted.length ? (sorted[i] as number) : null;
}

async function token(tenant: string): Promise<string> {
  return new SignJWT({ tenant_id: tenant }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

async function api(store: 'influxdb' | 'embedded', path: string, bearer = ADMIN): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gws[store].url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

before(async () => {
  influx = await startInfluxd();
  dataDir = await mkdtemp(join(tmpdir(), 'tenantlens-embedded-'));
  const common = { TENANT_AUTH: 'jwt', JWT_SECRET: SECRET, ADMIN_TOKEN: ADMIN };
  [gws.influxdb, gws.embedded] = await Promise.all([
    startGateway({ ...common, INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens' }),
    startGateway({ ...common, DATA_DIR: dataDir }),
  ]);
  for (const [i, tenant] of ['acme', 'globex'].entries()) {
    const body = dataset(tenant, i);
    for (const gw of Object.values(gws)) {
      const res = await fetch(`${gw.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(tenant)}` }, body });
      assert.equal(res.status, 200);
    }
  }
  const logs = logsDataset();
  for (const gw of Object.values(gws)) {
    const res = await fetch(`${gw.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('globex')}` }, body: logs.body });
    assert.equal(res.status, 200);
  }
  // Both stores write asynchronously: wait until every point is visible.
  for (const store of ['influxdb', 'embedded'] as const) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { body } = await api(store, `/api/v1/traces/${LOGS_ONLY_TRACE}`);
      if (Array.isArray(body.logs) && body.logs.length === 1) break;
      if (Date.now() > deadline) throw new Error(`${store} did not show the logs: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (const store of ['influxdb', 'embedded'] as const) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { body } = await api(store, '/api/v1/tenants');
      const counts = (body.tenants as Array<{ frontend: { count: number }; backend: { count: number } }>).map((t) => t.frontend.count + t.backend.count);
      if (counts.length === 2 && counts.every((c) => c === 36)) break;
      if (Date.now() > deadline) throw new Error(`${store} did not show the dataset: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

after(async () => {
  await Promise.all(Object.values(gws).map((g) => g?.stop()));
  await influx?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

const stores = ['influxdb', 'embedded'] as const;

describe('query API contract: both stores, exact answers', () => {
  test('GET /api/v1/tenants: counts and nearest-rank p50/p95/p99 per tenant', async () => {
    const rate = (t: string, side: 'frontend' | 'backend'): number => (expected.errors[t]![side][1]) / expected.errors[t]![side][0];
    const want = ['acme', 'globex'].map((t) => ({
      tenant: t,
      frontend: { count: 18, p50: pct(expected.frontend[t]!, 50), p95: pct(expected.frontend[t]!, 95), p99: pct(expected.frontend[t]!, 99), errorRate: rate(t, 'frontend') },
      backend: { count: 18, p50: pct(expected.backend[t]!, 50), p95: pct(expected.backend[t]!, 95), p99: pct(expected.backend[t]!, 99), errorRate: rate(t, 'backend') },
    }));
    for (const store of stores) assert.deepEqual((await api(store, '/api/v1/tenants')).body.tenants, want, store);
    assert.ok((want[1]?.frontend.p99 ?? 0) > (want[0]?.frontend.p99 ?? 0), 'globex is the slow one');
    assert.deepEqual(want.map((w) => [w.frontend.errorRate, w.backend.errorRate]), [[1 / 18, 0], [0, 6 / 18]], 'the errors as planted');
  });

  test('GET /api/v1/tenants/:tenant/sessions: slowest first, with counts, p99, max, first/last seen', async () => {
    const answers = await Promise.all(stores.map((s) => api(s, '/api/v1/tenants/globex/sessions')));
    assert.deepEqual(answers[0]?.body, answers[1]?.body, 'same answer from both stores');
    const sessions = answers[0]?.body.sessions as Array<{ sessionId: string; spanCount: number; p99Ms: number; maxMs: number; firstSeenMicros: number; lastSeenMicros: number }>;
    const want = Object.entries(expected.sessions.globex ?? {})
      .map(([id, d]) => ({ id, p99: pct(d, 99), max: Math.max(...d), n: d.length }))
      .sort((x, y) => (y.p99 ?? 0) - (x.p99 ?? 0) || y.max - x.max || (x.id < y.id ? -1 : 1));
    assert.deepEqual(
      sessions.map((s) => [s.sessionId, s.spanCount, s.p99Ms, s.maxMs]),
      want.map((w) => [w.id, w.n, w.p99, w.max]),
    );
    for (const s of sessions) assert.ok(s.firstSeenMicros < s.lastSeenMicros);
    const limited = await api('embedded', '/api/v1/tenants/globex/sessions?limit=1');
    assert.equal((limited.body.sessions as unknown[]).length, 1);
  });

  test('GET /api/v1/tenants/:tenant/traces?session_id=: root name, duration, span count, newest first', async () => {
    const answers = await Promise.all(stores.map((s) => api(s, '/api/v1/tenants/acme/traces?session_id=acme-s1')));
    assert.deepEqual(answers[0]?.body, answers[1]?.body, 'same answer from both stores');
    const traces = answers[0]?.body.traces as Array<{ traceId: string; rootName: string; spanCount: number; durationMs: number; startMicros: number }>;
    assert.equal(traces.length, 6);
    assert.deepEqual(traces.map((t) => t.traceId), (traceIds.acme ?? []).slice(6, 12).reverse(), 'newest first');
    for (const t of traces) {
      assert.equal(t.spanCount, 3, 'browser, server and db spans of the trace, though only the browser span has the session');
      assert.match(t.rootName, / click$/);
    }
    const all = await api('influxdb', '/api/v1/tenants/acme/traces?limit=100');
    assert.equal((all.body.traces as unknown[]).length, 18);
  });

  test('GET /api/v1/traces/:traceId: every span with parents, service, kind, start, duration, attributes', async () => {
    const id = traceIds.globex?.[4] as string;
    const answers = await Promise.all(stores.map((s) => api(s, `/api/v1/traces/${id}`)));
    assert.deepEqual(answers[0]?.body, answers[1]?.body, 'same answer from both stores');
    const spans = answers[0]?.body.spans as Array<{ spanId: string; parentSpanId: string; kind: string; service: string; tenant: string; durationMs: number; attributes: Record<string, unknown> }>;
    assert.deepEqual(spans.map((s) => s.kind), ['internal', 'server', 'client']);
    assert.equal(spans[1]?.parentSpanId, spans[0]?.spanId);
    assert.equal(spans[2]?.parentSpanId, spans[1]?.spanId);
    for (const s of spans) {
      assert.equal(s.tenant, 'globex');
      assert.equal(s.service, 'globex-app');
    }
    assert.equal(spans[0]?.attributes.view_name, 'Users');
    assert.equal(spans[0]?.attributes.element_count, 14);
    assert.equal(spans[0]?.attributes.tenant_id, undefined, 'the spoofed tenant attribute is not stored');
    assert.deepEqual([spans[2]?.attributes['db.system'], spans[2]?.attributes['db.rows'], spans[2]?.attributes.cache], ['postgresql', 12.5, false]);
    assert.equal(spans[0]?.durationMs, expected.frontend.globex?.[4]);
  });

  test('GET /api/v1/traces/:traceId: the log records of the trace, next to their spans, identical on both stores', async () => {
    const { traceId, serverSpan, t1, t2 } = logsDataset();
    const answers = await Promise.all(stores.map((s) => api(s, `/api/v1/traces/${traceId}`)));
    assert.deepEqual(answers[0]?.body, answers[1]?.body, 'same answer from both stores');
    const spans = answers[0]?.body.spans as Array<{ spanId: string; kind: string }>;
    assert.equal(spans.find((s) => s.kind === 'server')?.spanId, serverSpan, 'the span the records were emitted in is in the same answer');
    const logs = answers[0]?.body.logs as Array<Record<string, unknown> & { attributes: Record<string, unknown> }>;
    const common = { traceId, service: 'globex-app', tenant: 'globex' };
    assert.deepEqual(
      logs.map(({ attributes: _a, ...rest }) => rest),
      [
        // Same instant and span: ordered by severity.
        { ...common, spanId: serverSpan, timeMicros: Number(t1 / 1000n), severityText: 'INFO', severityNumber: 9, body: 'loading users' },
        { ...common, spanId: serverSpan, timeMicros: Number(t1 / 1000n), severityText: 'ERROR', severityNumber: 17, body: '{"code":42}' },
        { ...common, spanId: '', timeMicros: Number(t2 / 1000n), severityText: 'WARN', severityNumber: 13, body: 'slow' },
      ],
    );
    const attrs = logs[0]?.attributes ?? {};
    assert.deepEqual([attrs.rows, attrs.ratio, attrs.cached, attrs.attr_body, attrs.tenant_id], [3, 0.5, true, 'dup', undefined]);
    // A trace known only from a log record answers with the record and no spans, on both stores.
    const orphan = await Promise.all(stores.map((s) => api(s, `/api/v1/traces/${LOGS_ONLY_TRACE}`)));
    assert.deepEqual(orphan[0]?.body, orphan[1]?.body);
    assert.deepEqual([(orphan[0]?.body.spans as unknown[]).length, (orphan[0]?.body.logs as Array<{ body: string }>)[0]?.body], [0, 'orphan']);
    // Another tenant sees neither the spans nor the records.
    for (const store of stores) assert.equal((await api(store, `/api/v1/traces/${LOGS_ONLY_TRACE}`, await token('acme'))).status, 404);
  });

  test('GET /api/v1/compare: the p99 gap per endpoint and per view/action', async () => {
    const answers = await Promise.all(stores.map((s) => api(s, '/api/v1/compare?a=acme&b=globex')));
    assert.deepEqual(answers[0]?.body, answers[1]?.body, 'same answer from both stores');
    const body = answers[0]?.body as { endpoints: Array<{ key: { endpoint: string }; a: { p99: number }; b: { p99: number }; p99DiffMs: number }> };
    for (const row of body.endpoints) {
      const e = row.key.endpoint;
      assert.equal(row.a.p99, pct(expected.endpoints.acme?.[e] ?? [], 99));
      assert.equal(row.b.p99, pct(expected.endpoints.globex?.[e] ?? [], 99));
      assert.equal(row.p99DiffMs, row.b.p99 - row.a.p99);
    }
    const diffs = body.endpoints.map((r) => Math.abs(r.p99DiffMs));
    assert.deepEqual(diffs, [...diffs].sort((x, y) => y - x), 'largest gap first');
  });

  test('time ranges: a window before the data is empty; bad ranges are 400', async () => {
    for (const store of stores) {
      assert.deepEqual((await api(store, '/api/v1/tenants?from=-7d&to=-2h')).body.tenants, []);
      assert.equal((await api(store, '/api/v1/tenants?from=yesterday')).status, 400);
      assert.equal((await api(store, '/api/v1/tenants?from=-1h&to=-2h')).status, 400);
      assert.equal((await api(store, '/api/v1/tenants/acme/sessions?limit=0')).status, 400);
    }
  });
});

describe('console API (issue 14): both stores, identical JSON, computed by hand', () => {
  const fromMs = Number(BASE_NS / MS) - 500;
  const range = `from=${new Date(fromMs).toISOString()}&to=${new Date(fromMs + 2000).toISOString()}`;
  const fromMicros = fromMs * 1000;
  const latencies: string[] = [];

  /** Both stores' answers, which must be identical and 200; the route latency on each is noted. */
  async function both(path: string, bearer = ADMIN): Promise<Record<string, unknown>> {
    const answers = await Promise.all(
      stores.map(async (s) => {
        const t0 = performance.now();
        const r = await api(s, path, bearer);
        latencies.push(`${s} ${path.split('?')[0]} ${(performance.now() - t0).toFixed(1)} ms`);
        return r;
      }),
    );
    assert.equal(answers[0]?.status, 200, JSON.stringify(answers[0]?.body));
    assert.deepEqual(answers[0]?.body, answers[1]?.body, `same answer from both stores: ${path}`);
    return answers[0]?.body as Record<string, unknown>;
  }
  after(() => console.log(`console API latencies (this dataset):\n  ${latencies.join('\n  ')}`));

  // acme's spans fall in the first 1 s bucket of the range, globex's (1 s later) in the second.
  const bucketOf = (tenant: string): number => fromMicros + (tenant === 'globex' ? 1_000_000 : 0);
  const series = (byTenant: Record<string, Record<string, number[]>>, value: (v: number[]) => number | null) =>
    ['acme', 'globex'].flatMap((tenant) =>
      Object.keys(byTenant[tenant] ?? {})
        .sort()
        .map((key) => {
          const v = byTenant[tenant]![key]!;
          return { tenant, key, points: [{ t: bucketOf(tenant), value: value(v), count: v.length }] };
        }),
    );
  const share = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

  test('GET /api/v1/timeseries: p99 per tenant (frontend), buckets aligned on from, empty ones left out', async () => {
    const body = await both(`/api/v1/timeseries?metric=p99&group=tenant&step=1s&${range}`);
    assert.deepEqual(body, {
      metric: 'p99',
      group: 'tenant',
      side: 'frontend',
      stepMs: 1000,
      fromMicros,
      toMicros: fromMicros + 2_000_000,
      series: series({ acme: { '': expected.frontend.acme! }, globex: { '': expected.frontend.globex! } }, (v) => pct(v, 99)),
    });
  });

  test('GET /api/v1/timeseries: p50 per endpoint (backend) and count per view · action (frontend)', async () => {
    const endpoints = await both(`/api/v1/timeseries?metric=p50&group=endpoint&step=1s&${range}`);
    assert.equal(endpoints.side, 'backend');
    assert.deepEqual(endpoints.series, series(expected.endpoints, (v) => pct(v, 50)));
    const views = await both(`/api/v1/timeseries?metric=count&group=view&step=1s&${range}`);
    assert.deepEqual(views.series, series(expected.viewErrors, (v) => v.length));
    assert.deepEqual((views.series as Array<{ key: string }>).map((s) => s.key), ['Report · compute', 'Users · loadUsers', 'Report · compute', 'Users · loadUsers']);
  });

  test('GET /api/v1/timeseries: error_rate (OTLP status ERROR) per tenant, view and endpoint', async () => {
    const byTenant = await both(`/api/v1/timeseries?metric=error_rate&step=1s&${range}`);
    assert.deepEqual(byTenant.series, [
      { tenant: 'acme', key: '', points: [{ t: bucketOf('acme'), value: 1 / 18, count: 18 }] },
      { tenant: 'globex', key: '', points: [{ t: bucketOf('globex'), value: 0, count: 18 }] },
    ]);
    assert.deepEqual((await both(`/api/v1/timeseries?metric=error_rate&group=view&step=1s&${range}`)).series, series(expected.viewErrors, share));
    const endpoints = await both(`/api/v1/timeseries?metric=error_rate&group=endpoint&step=1s&${range}`);
    assert.deepEqual(endpoints.series, series(expected.endpointErrors, share));
    assert.deepEqual((endpoints.series as Array<{ points: Array<{ value: number }> }>).map((s) => s.points[0]?.value), [0, 0, 1 / 3, 1 / 3]);
    const backend = await both(`/api/v1/timeseries?metric=error_rate&side=backend&step=1s&${range}`);
    assert.deepEqual((backend.series as Array<{ points: Array<{ value: number }> }>).map((s) => s.points[0]?.value), [0, 6 / 18]);
  });

  test('GET /api/v1/timeseries: the default step is the range / 60 rounded up; a tenant filter; a tenant token sees itself', async () => {
    // Fixed ends: a relative range would differ by a millisecond between the two stores' requests.
    const nowMs = Date.now();
    const last = (hours: number): string => `from=${new Date(nowMs - hours * 3_600_000).toISOString()}&to=${new Date(nowMs).toISOString()}`;
    const body = await both(`/api/v1/timeseries?metric=count&${last(1)}`);
    assert.equal(body.stepMs, 60_000, '1 h / 60 = 1 min');
    assert.equal((await both(`/api/v1/timeseries?metric=count&${last(6)}`)).stepMs, 600_000, '6 h / 60 = 6 min → 10 min');
    const total = (b: Record<string, unknown>, tenant: string) =>
      (b.series as Array<{ tenant: string; points: Array<{ value: number }> }>).filter((s) => s.tenant === tenant).flatMap((s) => s.points).reduce((n, p) => n + p.value, 0);
    assert.deepEqual([total(body, 'acme'), total(body, 'globex')], [18, 18]);
    const globex = await both(`/api/v1/timeseries?metric=count&tenant=globex&${last(1)}`);
    assert.deepEqual((globex.series as Array<{ tenant: string }>).map((s) => s.tenant), ['globex']);
    const acme = await both(`/api/v1/timeseries?metric=count&${last(1)}`, await token('acme'));
    assert.deepEqual((acme.series as Array<{ tenant: string }>).map((s) => s.tenant), ['acme']);
  });

  test('GET /api/v1/operations: root span names with trace counts per side, most traces first', async () => {
    assert.deepEqual(await both('/api/v1/operations?a=acme&b=globex'), {
      operations: [
        { operation: 'compute click', a: 9, b: 9 },
        { operation: 'loadUsers click', a: 9, b: 9 },
      ],
    });
    assert.deepEqual((await both('/api/v1/operations?a=globex')).operations, [
      { operation: 'compute click', a: 9, b: 0 },
      { operation: 'loadUsers click', a: 9, b: 0 },
    ]);
  });

  test('GET /api/v1/compare/critical-path: self time per (service, span) on each trace\'s critical path, ranked by the median gap', async () => {
    const body = await both(`/api/v1/compare/critical-path?a=acme&b=globex&operation=${encodeURIComponent('loadUsers click')}`);
    // Per loadUsers trace (root R, server S from +2 ms to fe−2, db from +3 ms to fe−3, one clock):
    // R owns 0–2 and fe−2–fe (4 ms), S owns 2–3 and fe−3–fe−2 (2 ms), the db span fe−6 ms.
    const fe = (t: string) => expected.frontend[t]!.filter((_, i) => (i % 6) % 2 === 0);
    const own = (t: string): Array<[string, number[]]> => [
      ['SELECT users', fe(t).map((f) => f - 6)],
      ['loadUsers click', fe(t).map(() => 4)],
      ['GET /api/users', fe(t).map(() => 2)],
    ];
    const zero = { median: 0, p90: 0 };
    const rows = ['acme', 'globex'].flatMap((t) =>
      own(t).map(([name, v]) => {
        const s = { median: pct(v, 50), p90: pct(v, 90) };
        return { service: `${t}-app`, name, a: t === 'acme' ? s : zero, b: t === 'acme' ? zero : s, gapMs: t === 'acme' ? -(s.median ?? 0) : (s.median ?? 0) };
      }),
    );
    rows.sort((x, y) => y.gapMs - x.gapMs || (x.service < y.service ? -1 : 1));
    assert.deepEqual(body, { a: 'acme', b: 'globex', operation: 'loadUsers click', traces: { a: 9, b: 9 }, rows });
    assert.deepEqual([rows[0]?.service, rows[0]?.name], ['globex-app', 'SELECT users'], "globex's database time leads");
    const limited = await both(`/api/v1/compare/critical-path?a=acme&b=globex&operation=${encodeURIComponent('loadUsers click')}&limit=3`);
    assert.deepEqual(limited.traces, { a: 3, b: 3 });
    const none = await both('/api/v1/compare/critical-path?a=acme&b=globex&operation=nothing');
    assert.deepEqual([none.traces, none.rows], [{ a: 0, b: 0 }, []]);
  });
});

describe('console API: access and validation', () => {
  for (const store of stores) {
    test(`${store}: a tenant credential may name only itself (403); bad parameters are 400 naming them`, async () => {
      const acme = await token('acme');
      for (const path of ['/api/v1/timeseries?tenant=globex', '/api/v1/operations?a=globex', '/api/v1/operations?a=acme&b=globex', '/api/v1/compare/critical-path?a=acme&b=globex&operation=x']) {
        assert.equal((await api(store, path, acme)).status, 403, path);
      }
      assert.equal((await api(store, '/api/v1/compare/critical-path?a=acme&b=acme&operation=x', acme)).status, 200);
      const bad: Array<[string, string]> = [
        ['/api/v1/timeseries?metric=p42', 'metric'],
        ['/api/v1/timeseries?group=service', 'group'],
        ['/api/v1/timeseries?group=endpoint&side=frontend', 'side'],
        ['/api/v1/timeseries?group=view&side=backend', 'side'],
        ['/api/v1/timeseries?side=middle', 'side'],
        ['/api/v1/timeseries?step=0', 'step'],
        ['/api/v1/timeseries?step=5x', 'step'],
        ['/api/v1/timeseries?step=1s&step=2s', 'step'],
        ['/api/v1/timeseries?tenant=' + encodeURIComponent("acme' OR ''='"), 'tenant'],
        ['/api/v1/timeseries?from=yesterday', 'from'],
        ['/api/v1/operations', 'a'],
        ['/api/v1/operations?a=acme&b=' + encodeURIComponent('x y'), 'b'],
        ['/api/v1/compare/critical-path?a=acme&b=globex', 'operation'],
        ['/api/v1/compare/critical-path?a=acme&operation=x', 'b'],
        ['/api/v1/compare/critical-path?a=acme&b=globex&operation=x&limit=5001', 'limit'],
      ];
      for (const [path, param] of bad) {
        const r = await api(store, path);
        assert.equal(r.status, 400, path);
        assert.match((r.body.error as { message: string }).message, new RegExp(`^${param}\\b`), path);
      }
      const tooMany = await api(store, '/api/v1/timeseries?step=1s&from=-2h');
      assert.equal(tooMany.status, 400);
      assert.match((tooMany.body.error as { message: string }).message, /^step: .*7200 buckets.*limit is 1000 buckets/);
      assert.equal((await api(store, '/api/v1/timeseries?step=4s&from=-1h')).status, 200, '900 buckets');
      // User input reaches no query unquoted: an operation name with quotes matches nothing.
      const inj = await api(store, `/api/v1/compare/critical-path?a=acme&b=globex&operation=${encodeURIComponent(`x' OR "name" =~ /.*/ --`)}`);
      assert.deepEqual([inj.status, inj.body.traces], [200, { a: 0, b: 0 }]);
      assert.equal((await fetch(`${gws[store].url}/api/v1/timeseries`)).status, 401);
      const expired = await new SignJWT({ tenant_id: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(SECRET));
      const who = await api(store, '/api/v1/whoami', expired);
      assert.equal(who.status, 401);
      assert.match((who.body.error as { message: string }).message, /expired/);
      assert.deepEqual((await api(store, '/api/v1/whoami', acme)).body, { admin: false, tenant: 'acme', consoleTenant: 'tenantlens-console' });
    });
  }
});

describe('query API access and injection', () => {
  for (const store of stores) {
    test(`${store}: a tenant token sees only its own tenant; another tenant is 403; no credential is 401`, async () => {
      const acme = await token('acme');
      const mine = await api(store, '/api/v1/tenants', acme);
      assert.deepEqual((mine.body.tenants as Array<{ tenant: string }>).map((t) => t.tenant), ['acme']);
      assert.equal((await api(store, '/api/v1/tenants/globex/sessions', acme)).status, 403);
      assert.equal((await api(store, '/api/v1/tenants/globex/traces', acme)).status, 403);
      assert.equal((await api(store, '/api/v1/compare?a=acme&b=globex', acme)).status, 403);
      // Another tenant's trace does not exist for acme.
      assert.equal((await api(store, `/api/v1/traces/${traceIds.globex?.[0]}`, acme)).status, 404);
      assert.equal((await api(store, `/api/v1/traces/${traceIds.acme?.[0]}`, acme)).status, 200);
      const none = await fetch(`${gws[store].url}/api/v1/tenants`);
      assert.equal(none.status, 401);
      assert.equal((await api(store, '/api/v1/tenants', 'wrong-operator-token-0000000000')).status, 401);
    });

    test(`${store}: user input cannot change a query`, async () => {
      const injections = [`' OR ''='`, `acme-s1' OR session_id =~ /.*/ --`, `"; DROP MEASUREMENT spans; --`, `\\' OR 1=1`, 'x\nSELECT * FROM spans'];
      for (const s of injections) {
        const r = await api(store, `/api/v1/tenants/acme/traces?session_id=${encodeURIComponent(s)}`);
        assert.equal(r.status, 200, s);
        assert.deepEqual(r.body.traces, [], `session_id ${JSON.stringify(s)} matches nothing`);
      }
      // Path parameters are validated before they reach a query.
      assert.equal((await api(store, `/api/v1/tenants/${encodeURIComponent("acme' OR 'a'='a")}/sessions`)).status, 400);
      assert.equal((await api(store, `/api/v1/traces/${encodeURIComponent("x' OR 'a'='a")}`)).status, 400);
      assert.equal((await api(store, `/api/v1/compare?a=${encodeURIComponent("acme' OR ''='")}&b=globex`)).status, 400);
      // And the data is still all there.
      const t = await api(store, '/api/v1/tenants');
      assert.equal((t.body.tenants as unknown[]).length, 2);
    });
  }
});

test('windowP99 (the alert evaluator\'s query): the same windows, counts and nearest-rank P99s on both stores, as computed by hand', async () => {
  const bucketMs = 100;
  // Start the range 50 ms before the data so that windows do not coincide with round numbers.
  const range = { fromNs: BASE_NS - 50n * MS, toNs: BASE_NS + 3000n * MS };
  const want = (dimension: 'endpoint' | 'view_name'): WindowP99[] => {
    const groups = new Map<string, { tenant: string; value: string; startMs: number; values: number[] }>();
    for (const [ti, tenant] of ['acme', 'globex'].entries()) {
      for (let i = 0; i < 18; i++) {
        const a = i % 6;
        const feMs = (10 + ((i * 37) % 90)) * (tenant === 'globex' ? 5 : 1);
        // Offsets from BASE_NS in µs, as dataset() places the browser span and the server span (+2 ms).
        const offsetUs = ti * 1_000_000 + i * 10_000 + (ti * 7 + 3) + (dimension === 'endpoint' ? 2000 : 0);
        const bucket = Math.floor((offsetUs + 50_000) / (bucketMs * 1000));
        const value = dimension === 'endpoint' ? (a % 2 === 0 ? '/api/users' : '/api/report') : a % 2 === 0 ? 'Users' : 'Report';
        const key = `${tenant} ${value} ${bucket}`;
        const g = groups.get(key) ?? { tenant, value, startMs: Number((range.fromNs + BigInt(bucket * bucketMs) * MS) / MS), values: [] };
        g.values.push(dimension === 'endpoint' ? Math.max(1, feMs - 4) : feMs);
        groups.set(key, g);
      }
    }
    return [...groups.values()]
      .map((g) => ({ tenant: g.tenant, value: g.value, startMs: g.startMs, count: g.values.length, p99: pct(g.values, 99) as number }))
      .sort((x, y) => (x.tenant < y.tenant ? -1 : x.tenant > y.tenant ? 1 : x.value < y.value ? -1 : x.value > y.value ? 1 : x.startMs - y.startMs));
  };
  const influxQueries = createInfluxDrillDown(loadConfig({ TENANT_AUTH: 'header', INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens' }).influx!, DEFAULT_RULES);
  // DuckDB allows one process per file: the gateway steps aside (the next test restarts it).
  await gws.embedded.stop();
  const embedded = await createEmbeddedStore({ dataDir, rules: DEFAULT_RULES, buffer: loadConfig({ TENANT_AUTH: 'header' }).buffer, events: { written: () => undefined, retry: () => undefined } });
  try {
    for (const dimension of ['endpoint', 'view_name'] as const) {
      const expected = want(dimension);
      assert.ok(expected.length >= 8, 'several windows per tenant and value');
      assert.deepEqual(await influxQueries.windowP99(range, BigInt(bucketMs) * MS, dimension), expected, `influxdb ${dimension}`);
      assert.deepEqual(await embedded.queries.windowP99(range, BigInt(bucketMs) * MS, dimension), expected, `embedded ${dimension}`);
    }
  } finally {
    await embedded.sink.close();
  }
});

test('the embedded store survives a restart', async () => {
  await gws.embedded.stop();
  gws.embedded = await startGateway({ TENANT_AUTH: 'jwt', JWT_SECRET: SECRET, ADMIN_TOKEN: ADMIN, DATA_DIR: dataDir });
  const { body } = await api('embedded', '/api/v1/tenants');
  assert.deepEqual((body.tenants as Array<{ frontend: { count: number } }>).map((t) => t.frontend.count), [18, 18]);
});
