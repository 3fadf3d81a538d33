import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEvaluator } from '../src/alerts/evaluator.ts';
import { createStateKeeper } from '../src/alerts/state-keeper.ts';
import type { AlertRules } from '../src/alerts/rules.ts';
import { encodePoints, TimestampSlots } from '../src/influx/point-identity.ts';
import type { AlertDimension, TimeRange, WindowP99 } from '../src/query/model.ts';
import {
  ALERT_STATE,
  alertStateColumns,
  alertStateFromRow,
  alertStatePoint,
  episodeId,
  latestAlertStates,
  type AlertStateRecord,
  type AlertStateStore,
  type AlertStateWrite,
} from '../src/schema/alert-state.ts';

const T0 = Date.UTC(2026, 11, 3, 12);
const W = 60_000;

const record = (over: Partial<AlertStateRecord> = {}): AlertStateRecord => ({
  tenant: 'globex',
  kind: 'endpoint',
  value: '/api/report',
  state: 'firing',
  sinceMs: T0,
  windowStartMs: T0 - W,
  lastAtMs: T0 + 2 * W,
  baselineMs: 402.5,
  thresholdMs: 603.75,
  p99Ms: 910,
  count: 48,
  firedP99Ms: 900,
  peakP99Ms: 950.5,
  recoveries: 1,
  notified: true,
  updatedMs: T0 + 2 * W,
  ...over,
});

/** An InfluxQL `SELECT *` row as 1.x answers it: tags and fields by name, integers as JSON numbers. */
function influxRow(r: AlertStateRecord): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [k, v] of alertStatePoint(r).tags) row[k] = v;
  for (const [k, v] of alertStatePoint(r).fields) row[k] = typeof v.value === 'bigint' ? Number(v.value) : v.value;
  return row;
}

describe('alert state encoding', () => {
  const cases: Array<[string, AlertStateRecord]> = [
    ['firing', record()],
    ['resolved', record({ state: 'resolved', resolvedAtMs: T0 + 5 * W, recoveries: 2, notified: false })],
    ['a view with no name (empty tag value)', record({ kind: 'view_name', value: '' })],
    ['names that need escaping', record({ tenant: 'acme corp,eu=1', value: '/api/a b,c="d"' })],
  ];
  for (const [name, r] of cases) {
    test(`round trip: ${name}`, () => {
      assert.deepEqual(alertStateFromRow(influxRow(r)), r, 'InfluxQL row');
      // DuckDB returns BIGINT columns as bigint.
      const duck: Record<string, unknown> = { tenant_id: r.tenant, dimension: r.kind, dimension_value: r.value };
      for (const [k, v] of alertStateColumns(r)) duck[k] = v.type === 'integer' ? BigInt(v.value) : v.value;
      assert.deepEqual(alertStateFromRow(duck), r, 'DuckDB row');
    });
  }

  test('the point: declared tags only (sorted, none empty), every declared field typed as declared, at the write time', () => {
    const p = alertStatePoint(record({ kind: 'view_name', value: '' }));
    assert.equal(p.measurement, ALERT_STATE.name);
    assert.deepEqual(p.tags.map(([k]) => k), ['dimension', 'tenant_id']);
    assert.equal(p.timestamp, BigInt(T0 + 2 * W) * 1_000_000n);
    const declared = new Map(ALERT_STATE.fields.map((f) => [f.name, f.type]));
    for (const [k, v] of p.fields) assert.equal(v.type, declared.get(k), k);
    assert.deepEqual(p.fields.map(([k]) => k), ALERT_STATE.fields.map((f) => f.name).filter((n) => n !== 'resolved_at_ms'));
    for (const t of p.tags) assert.ok((ALERT_STATE.tags as readonly string[]).includes(t[0]));
  });

  test('line protocol: ids are never tags, integers carry the i suffix, the boolean is a boolean', () => {
    const [line] = encodePoints([{ point: alertStatePoint(record({ tenant: 'a b' })), spanId: episodeId(record()) }], new TimestampSlots());
    assert.match(line ?? '', /^tenantlens_alert_state,dimension=endpoint,dimension_value=\/api\/report,tenant_id=a\\ b state="firing",since_ms=\d+i,/);
    assert.match(line ?? '', /,notified=true,updated_ms=\d+i \d{19}$/);
    assert.match(line ?? '', /baseline_ms=402\.5,/);
  });

  test('a row that is not a whole record is skipped, not trusted', () => {
    const row = influxRow(record());
    for (const drop of ['state', 'tenant_id', 'since_ms', 'baseline_ms', 'notified']) {
      const { [drop]: _gone, ...rest } = row;
      assert.equal(alertStateFromRow(rest), undefined, drop);
    }
    assert.equal(alertStateFromRow({ ...row, state: 'pending' }), undefined);
    assert.equal(alertStateFromRow({ ...influxRow(record({ state: 'resolved', resolvedAtMs: T0 })), resolved_at_ms: null }), undefined, 'resolved without resolvedAt');
  });
});

describe('latestAlertStates', () => {
  test('the newest write of each episode wins', () => {
    const old = record({ recoveries: 0, updatedMs: T0 + W });
    const newer = record({ recoveries: 1, updatedMs: T0 + 2 * W });
    assert.deepEqual(latestAlertStates([newer, old]), [newer]);
  });

  test('a resolution is final: a later "firing" write of the same episode does not undo it', () => {
    const resolved = record({ state: 'resolved', resolvedAtMs: T0 + 3 * W, updatedMs: T0 + 3 * W });
    assert.deepEqual(latestAlertStates([resolved, record({ updatedMs: T0 + 4 * W })]), [resolved]);
  });

  test('an alert fires once: of two firing episodes the newer, and none that a resolution overtook', () => {
    const a = record({ sinceMs: T0, updatedMs: T0 + 9 * W });
    const b = record({ sinceMs: T0 + W, updatedMs: T0 + 2 * W });
    assert.deepEqual(latestAlertStates([a, b]), [b]);
    const resolvedLater = record({ sinceMs: T0 + 2 * W, state: 'resolved', resolvedAtMs: T0 + 4 * W, updatedMs: T0 + 4 * W });
    assert.deepEqual(latestAlertStates([a, resolvedLater]), [resolvedLater]);
    const other = record({ tenant: 'acme' });
    assert.deepEqual(latestAlertStates([a, other]).map((r) => r.tenant).sort(), ['acme', 'globex']);
  });
});

const rules: AlertRules = { windowMillis: W, baselineWindows: 6, baselineMinWindows: 3, ratio: 1.5, floorMs: 200, minSamples: 10, resolveRatio: 1.2, fireAfter: 1, resolveAfter: 2 };

/** globex /api/report: 400 ms, 900 ms from T0 to T0 + `slowFor` windows, then 400 ms again. */
function store(slowFor: number): { windowP99(range: TimeRange, bucketNs: bigint, dim: AlertDimension): Promise<WindowP99[]> } {
  return {
    async windowP99(range, bucketNs, dim) {
      if (dim !== 'endpoint') return [];
      const out: WindowP99[] = [];
      const w = Number(bucketNs / 1_000_000n);
      for (let s = Number(range.fromNs / 1_000_000n); s < Number(range.toNs / 1_000_000n); s += w) {
        out.push({ tenant: 'globex', value: '/api/report', startMs: s, count: 50, p99: s >= T0 && s < T0 + slowFor * W ? 900 : 400 });
      }
      return out;
    },
  };
}

/** An AlertStateStore in memory that keeps every write (as InfluxDB does) and can be told to fail. */
function memoryStore(): AlertStateStore & { rows: AlertStateRecord[]; fail: boolean } {
  const s = {
    rows: [] as AlertStateRecord[],
    fail: false,
    async save(records: readonly AlertStateRecord[]): Promise<AlertStateWrite> {
      if (s.fail) return { kind: 'retryable', reason: 'down' };
      s.rows.push(...records);
      return { kind: 'success' };
    },
    async load(sinceMs: number) {
      return s.rows.filter((r) => r.updatedMs >= sinceMs);
    },
  };
  return s;
}

describe('evaluator state across a restart', () => {
  test('restored firing alert: same since and baseline, no second firing; a recovery resolves it once', async () => {
    let now = T0 + W;
    const db = memoryStore();
    const writes: string[] = [];
    const first = createEvaluator({ queries: store(10), rules });
    const k1 = createStateKeeper({ store: db, evaluator: first, now: () => now, onWrite: (o) => writes.push(o) });
    await k1.load();
    const fired = (await first.evaluate(now)).fired;
    assert.equal(fired.length, 1);
    k1.pending(fired.map((a) => ({ tenant: a.tenant, kind: a.dimension.kind, value: a.dimension.value, sinceMs: Date.parse(a.since), state: a.state })));
    await k1.persist();
    assert.deepEqual([db.rows.length, db.rows[0]?.state, db.rows[0]?.notified], [1, 'firing', false]);
    // Unchanged: nothing written again.
    now += W;
    await first.evaluate(now);
    await k1.persist();
    assert.equal(db.rows.length, 1);
    k1.notified([{ tenant: 'globex', kind: 'endpoint', value: '/api/report', sinceMs: T0 + W, state: 'firing' }]);
    await k1.persist();
    assert.deepEqual([db.rows.length, db.rows.at(-1)?.notified], [2, true]);

    // "Restart": a new evaluator reads the store.
    const second = createEvaluator({ queries: store(10), rules });
    const k2 = createStateKeeper({ store: db, evaluator: second, now: () => now, onWrite: (o) => writes.push(o) });
    assert.deepEqual(await k2.load(), [], 'delivered before the restart: nothing to send again');
    assert.deepEqual(second.alerts(), first.alerts());
    now += W;
    const r = await second.evaluate(now);
    assert.deepEqual([r.fired.length, r.firing.length, r.firing[0]?.since, r.firing[0]?.baselineMs], [0, 1, new Date(T0 + W).toISOString(), 400]);

    // The latency recovered "while it was down": a third process resolves it, once.
    const third = createEvaluator({ queries: store(3), rules });
    const k3 = createStateKeeper({ store: db, evaluator: third, now: () => now, onWrite: (o) => writes.push(o) });
    await k3.load();
    const resolutions: string[] = [];
    for (let i = 5; i <= 9; i++) for (const a of (await third.evaluate(T0 + i * W)).resolved) resolutions.push(a.resolvedAt ?? '');
    assert.deepEqual(resolutions, [new Date(T0 + 6 * W).toISOString()]);
    await k3.persist();
    assert.equal(db.rows.at(-1)?.state, 'resolved');
    assert.deepEqual(writes.filter((w) => w !== 'success'), []);
  });

  test('a transition not confirmed delivered is handed back at start-up (at-least-once)', async () => {
    const db = memoryStore();
    const ev = createEvaluator({ queries: store(10), rules });
    const k = createStateKeeper({ store: db, evaluator: ev, onWrite: () => undefined });
    await k.load();
    const [a] = (await ev.evaluate(T0 + W)).fired;
    assert.ok(a !== undefined);
    k.pending([{ tenant: a.tenant, kind: a.dimension.kind, value: a.dimension.value, sinceMs: Date.parse(a.since), state: a.state }]);
    await k.persist();
    const again = createStateKeeper({ store: db, evaluator: createEvaluator({ queries: store(10), rules }), onWrite: () => undefined });
    assert.deepEqual((await again.load()).map((e) => [e.state, e.sinceMs]), [['firing', T0 + W]]);
  });

  test('a late confirmation of the firing does not mark the resolution delivered', async () => {
    const db = memoryStore();
    const ev = createEvaluator({ queries: store(1), rules });
    const k = createStateKeeper({ store: db, evaluator: ev, onWrite: () => undefined });
    await k.load();
    const id = { tenant: 'globex', kind: 'endpoint' as const, value: '/api/report', sinceMs: T0 + W };
    assert.equal((await ev.evaluate(T0 + W)).fired.length, 1);
    k.pending([{ ...id, state: 'firing' }]);
    await ev.evaluate(T0 + 3 * W);
    assert.equal((await ev.evaluate(T0 + 4 * W)).resolved.length, 1);
    k.pending([{ ...id, state: 'resolved' }]);
    // The firing webhook, slow to retry, is confirmed only now.
    k.notified([{ ...id, state: 'firing' }]);
    await k.persist();
    assert.deepEqual([db.rows.at(-1)?.state, db.rows.at(-1)?.notified], ['resolved', false]);
    const again = createStateKeeper({ store: db, evaluator: createEvaluator({ queries: store(1), rules }), onWrite: () => undefined });
    assert.deepEqual((await again.load()).map((e) => e.state), ['resolved'], 'the resolution is sent again after a restart');
  });

  test('a failed write is counted and written again at the next persist; the evaluator goes on', async () => {
    const db = memoryStore();
    const outcomes: string[] = [];
    const ev = createEvaluator({ queries: store(10), rules });
    const k = createStateKeeper({ store: db, evaluator: ev, onWrite: (o) => outcomes.push(o) });
    await k.load();
    db.fail = true;
    await ev.evaluate(T0 + W);
    await k.persist();
    assert.deepEqual([outcomes, db.rows.length], [['retryable'], 0]);
    db.fail = false;
    await ev.evaluate(T0 + 2 * W);
    await k.persist();
    assert.deepEqual([outcomes, db.rows.map((r) => r.state)], [['retryable', 'success'], ['firing']]);
  });

  test('a store that throws on load leaves the keeper unloaded (the evaluator must wait)', async () => {
    const k = createStateKeeper({
      store: { load: () => Promise.reject(new Error('connection refused')), save: async () => ({ kind: 'success' }) },
      evaluator: createEvaluator({ queries: store(0), rules }),
      onWrite: () => undefined,
    });
    await assert.rejects(k.load(), /connection refused/);
    assert.equal(k.loaded, false);
  });
});
