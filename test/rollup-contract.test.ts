import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig, type InfluxConfig } from '../gateway/src/config.ts';
import { createV1Transport } from '../gateway/src/influx/v1-transport.ts';
import { createLineWriter } from '../gateway/src/influx/writer.ts';
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import type { Attribute, SpanRecord } from '../gateway/src/otlp/model.ts';
import { createInfluxDrillDown } from '../gateway/src/query/influx.ts';
import type { DrillDown, LatencyStats, TimeRange } from '../gateway/src/query/model.ts';
import { NO_LOCAL_ROLLUPS, planRollups } from '../gateway/src/query/rollup-plan.ts';
import { observePoints, type SpanObservation } from '../gateway/src/rollup/observation.ts';
import { nearestRankOf } from '../gateway/src/rollup/rank.ts';
import { createRollupRecorder, MINUTE_NS, type RollupRecorder } from '../gateway/src/rollup/recorder.ts';
import { SKETCH_RELATIVE_ERROR } from '../gateway/src/rollup/sketch.ts';
import type { MappedPoint } from '../gateway/src/schema/point.ts';
import { createEmbeddedStore } from '../gateway/src/store/embedded-store.ts';
import { createInfluxStore } from '../gateway/src/store/influx-store.ts';
import type { StoreParts } from '../gateway/src/store/store.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

/**
 * Rollups against raw points, on a real influxd and on the embedded store: the same skewed spans
 * written by two writers (each with its own rollups, one of them flushing a minute twice for late
 * spans) through each store's own write path; then the percentile answers read from rollups (plus
 * raw points for the partial minutes at both edges of a range that starts and ends mid-minute) must
 * match the exact nearest-rank answers within SKETCH_RELATIVE_ERROR, with exact counts and error rates.
 */
const FIRST_MINUTE = Math.floor(Date.now() / 60_000) - 40;
const MINUTES = 8;
const TENANTS = ['acme', 'globex'];
const VIEWS: Array<[string, string]> = [
  ['Users', 'loadUsers'],
  ['Report', 'compute'],
];
const ENDPOINTS = ['/api/users', '/api/report'];

interface Span {
  readonly tenant: string;
  readonly side: 'frontend' | 'backend';
  readonly key: string;
  readonly timeNs: bigint;
  readonly ms: number;
  readonly error: boolean;
}

const s = (key: string, value: string): Attribute => ({ key, value: { type: 'string', value } });
const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** Deterministic log-normal durations (whole ms): most under 100 ms, a tail into seconds. */
function durationOf(i: number, slow: number): number {
  const u1 = ((i * 7919 + 13) % 10007) / 10007 + 1e-6;
  const u2 = ((i * 104729 + 7) % 10009) / 10009;
  return Math.max(1, Math.round(Math.exp(3.2 + 1.4 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)) * slow));
}

/** Requests of one writer: traces of a frontend action and its server span. */
function* dataset(): Generator<{ tenant: string; writer: 0 | 1; late: boolean; spans: SpanRecord[]; truth: Span[] }> {
  let i = 0;
  for (let m = 0; m < MINUTES; m++) {
    for (const [t, tenant] of TENANTS.entries()) {
      for (let batch = 0; batch < 4; batch++) {
        const spans: SpanRecord[] = [];
        const truth: Span[] = [];
        for (let k = 0; k < 50; k++, i++) {
          const ts = BigInt(FIRST_MINUTE + m) * MINUTE_NS + BigInt(Math.floor(((k * 4 + batch) / 200) * 60_000_000)) * 1000n + BigInt(t) * 1000n;
          const feMs = durationOf(i, tenant === 'globex' ? 3 : 1);
          const beMs = Math.max(1, Math.round(feMs * 0.8));
          const view = VIEWS[i % 2] as [string, string];
          const endpoint = ENDPOINTS[(i >> 1) % 2] as string;
          const feError = i % 17 === 0;
          const beError = i % 5 === 0;
          const traceId = hex(t + 1, 8) + hex(i, 24);
          const base = { traceId };
          spans.push(
            { ...base, spanId: hex(i, 8) + '000000f1', parentSpanId: '', name: view[1], kind: 1, statusCode: feError ? 2 : 0, startTimeUnixNano: ts, endTimeUnixNano: ts + BigInt(feMs) * 1_000_000n, attributes: [s('view_name', view[0]), s('action_name', view[1])] },
            { ...base, spanId: hex(i, 8) + '000000b2', parentSpanId: hex(i, 8) + '000000f1', name: `GET ${endpoint}`, kind: 2, statusCode: beError ? 2 : 0, startTimeUnixNano: ts + 1000n, endTimeUnixNano: ts + 1000n + BigInt(beMs) * 1_000_000n, attributes: [s('http.route', endpoint)] },
          );
          truth.push({ tenant, side: 'frontend', key: `${view[0]} · ${view[1]}`, timeNs: ts, ms: feMs, error: feError }, { tenant, side: 'backend', key: endpoint, timeNs: ts + 1000n, ms: beMs, error: beError });
        }
        // Batch 3 of minute 2 arrives after that minute's rollup was written: a late flush of the same minute.
        yield { tenant, writer: (batch % 2) as 0 | 1, late: m === 2 && batch === 3, spans, truth };
      }
    }
  }
}

const exact = (values: number[], p: number): number | null => {
  const sorted = [...values].sort((a, b) => a - b);
  const r = nearestRankOf(sorted.length, p);
  return r === undefined ? null : (sorted[r - 1] as number);
};

function assertClose(got: LatencyStats, values: number[], what: string): void {
  assert.equal(got.count, values.length, `${what}: count is exact`);
  for (const p of [50, 95, 99] as const) {
    const want = exact(values, p) as number;
    const est = got[`p${p}`] as number;
    // The stated bound: a percentile from rollups is within 1% of the exact nearest-rank value.
    assert.ok(Math.abs(est - want) <= SKETCH_RELATIVE_ERROR * want + 1e-9, `${what} p${p}: ${est} vs exact ${want}`);
  }
}

/** Writes the dataset through `sink` as the gateway does (raw points) and through two writers' rollups. */
async function load(parts: StoreParts): Promise<{ truth: Span[]; rollupPoints: MappedPoint[] }> {
  const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry());
  const names = { frontend: DEFAULT_RULES.frontend.name, backend: DEFAULT_RULES.backend.name, spans: DEFAULT_RULES.spans.name };
  const rollupPoints: MappedPoint[] = [];
  const target = { offer: (p: readonly MappedPoint[]) => (rollupPoints.push(...p), parts.sink.offer(p)) };
  const writers: RollupRecorder[] = ['writer-a', 'writer-b'].map((writer) => createRollupRecorder({ writer, target, timer: false }));
  const truth: Span[] = [];
  const late: Array<{ writer: RollupRecorder; obs: SpanObservation[]; points: MappedPoint[] }> = [];
  for (const req of dataset()) {
    const { points } = mapper.map({ resourceSpans: [{ resource: [s('service.name', `${req.tenant}-app`)], scopes: [{ scopeName: 't', scopeVersion: '', spans: req.spans }] }] }, { tenantId: req.tenant, instanceName: 'test' });
    const obs: SpanObservation[] = [];
    observePoints(points, names, obs);
    truth.push(...req.truth);
    const writer = writers[req.writer] as RollupRecorder;
    if (req.late) {
      late.push({ writer, obs, points });
      continue;
    }
    assert.equal(parts.sink.offer(points), true);
    writer.record(obs);
  }
  for (const w of writers) assert.equal(w.flushAll(), true);
  for (const l of late) {
    assert.equal(parts.sink.offer(l.points), true);
    l.writer.record(l.obs);
    // A client retry of the same request: counted once.
    l.writer.record(l.obs);
    assert.equal(l.writer.flushAll(), true);
  }
  assert.equal(await parts.sink.drain(Date.now() + 60_000), 0);
  return { truth, rollupPoints };
}

/** A range that starts and ends mid-minute: its first and last minutes come from raw points. */
const RANGE: TimeRange = { fromNs: BigInt(FIRST_MINUTE) * MINUTE_NS + 17_000_000_000n, toNs: BigInt(FIRST_MINUTE + MINUTES - 1) * MINUTE_NS + 41_000_000_000n };
const inRange = (x: Span, r: TimeRange = RANGE): boolean => x.timeNs >= r.fromNs && x.timeNs < r.toNs;

async function checkAnswers(q: DrillDown, truth: Span[]): Promise<void> {
  const plan = planRollups(RANGE, RANGE.toNs - RANGE.fromNs, Date.now(), NO_LOCAL_ROLLUPS, FIRST_MINUTE - 1);
  assert.equal(plan.covered.size, MINUTES - 2, 'every whole minute from rollups');
  assert.equal(plan.raw.length, 2, 'the two partial minutes from raw points');

  const tenants = await q.tenants(RANGE, undefined);
  assert.deepEqual(tenants.map((t) => t.tenant), TENANTS);
  for (const t of tenants) {
    for (const side of ['frontend', 'backend'] as const) {
      const rows = truth.filter((x) => x.tenant === t.tenant && x.side === side && inRange(x));
      assertClose(t[side], rows.map((x) => x.ms), `/tenants ${t.tenant} ${side}`);
      assert.equal(t[side].errorRate, rows.filter((x) => x.error).length / rows.length, `/tenants ${t.tenant} ${side} errorRate is exact`);
    }
  }

  const cmp = await q.compare('acme', 'globex', RANGE);
  assert.equal(cmp.endpoints.length, ENDPOINTS.length);
  assert.equal(cmp.views.length, VIEWS.length);
  for (const row of [...cmp.endpoints, ...cmp.views]) {
    const key = row.key.endpoint ?? `${row.key.view_name} · ${row.key.action_name}`;
    for (const [tenant, stats] of [['acme', row.a], ['globex', row.b]] as const) {
      assertClose(stats, truth.filter((x) => x.tenant === tenant && x.key === key && inRange(x)).map((x) => x.ms), `/compare ${tenant} ${key}`);
    }
  }

  // The alert evaluator's windows: 3-minute windows from a mid-minute start.
  const bucketNs = 3n * MINUTE_NS;
  const windows = await q.windowP99(RANGE, bucketNs, 'endpoint');
  const wantWindows = new Map<string, number[]>();
  for (const x of truth.filter((y) => y.side === 'backend' && inRange(y))) {
    const id = `${x.tenant} ${x.key} ${(x.timeNs - RANGE.fromNs) / bucketNs}`;
    wantWindows.set(id, [...(wantWindows.get(id) ?? []), x.ms]);
  }
  assert.equal(windows.length, wantWindows.size);
  for (const w of windows) {
    const values = wantWindows.get(`${w.tenant} ${w.value} ${(BigInt(w.startMs) * 1_000_000n - RANGE.fromNs) / bucketNs}`) as number[];
    assertClose({ count: w.count, p50: exact(values, 50), p95: exact(values, 95), p99: w.p99 }, values, `windowP99 ${w.tenant} ${w.value} ${w.startMs}`);
  }

  // /timeseries: 2-minute buckets from a minute boundary, p99 and error rate per endpoint.
  const aligned: TimeRange = { fromNs: BigInt(FIRST_MINUTE) * MINUTE_NS, toNs: BigInt(FIRST_MINUTE + MINUTES) * MINUTE_NS };
  const stepNs = 2n * MINUTE_NS;
  for (const metric of ['p99', 'error_rate'] as const) {
    const rows = await q.timeseries({ metric, group: 'endpoint', side: 'backend', tenant: 'globex', range: aligned, stepNs });
    assert.equal(rows.length, (MINUTES / 2) * ENDPOINTS.length);
    for (const r of rows) {
      const xs = truth.filter((x) => x.tenant === 'globex' && x.side === 'backend' && x.key === r.key && inRange(x, aligned) && Number((x.timeNs - aligned.fromNs) / stepNs) === r.bucket);
      if (metric === 'error_rate') {
        assert.deepEqual([r.count, r.value], [xs.length, xs.filter((x) => x.error).length], `error_rate ${r.key} ${r.bucket}`);
      } else {
        assertClose({ count: r.count, p50: exact(xs.map((x) => x.ms), 50), p95: exact(xs.map((x) => x.ms), 95), p99: r.value }, xs.map((x) => x.ms), `timeseries ${r.key} ${r.bucket}`);
      }
    }
  }
}

describe('rollups answer like raw points within the sketch error, on both stores', () => {
  let influxd: Influxd;
  let dir: string;
  before(async () => {
    influxd = await startInfluxd();
    dir = await mkdtemp(join(tmpdir(), 'tl-rollups-'));
  });
  after(async () => {
    await influxd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('influxd 1.6.7: rollups (two writers, a late flush, a retry) against the raw queries and the exact answers; a replay changes nothing', async () => {
    const influx = loadConfig({ INFLUX_URL: influxd.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header' }).influx as InfluxConfig;
    const transport = createV1Transport(influx);
    const writer = createLineWriter({ transport, buffer: loadConfig({ TENANT_AUTH: 'header' }).buffer, events: { written() {}, retry() {}, failed(r) { throw new Error(r); } } });
    const store = createInfluxStore({ config: influx, rules: DEFAULT_RULES, writer, transport, rollups: NO_LOCAL_ROLLUPS });
    const { truth, rollupPoints } = await load(store);
    await checkAnswers(store.queries, truth);
    // The raw queries (no rollups) give the exact answers; the rollups differ from them only within the error.
    const raw = createInfluxDrillDown(influx, DEFAULT_RULES);
    const [fromRaw, fromRollups] = [await raw.tenants(RANGE, undefined), await store.queries.tenants(RANGE, undefined)];
    assert.notDeepEqual(fromRollups, fromRaw, 'the rollups were read (estimates, not the exact values)');
    for (const [i, t] of fromRaw.entries()) {
      for (const side of ['frontend', 'backend'] as const) assert.equal(fromRollups[i]?.[side].count, t[side].count);
    }
    // Spool replay writes the same lines again: InfluxDB overwrites each rollup point with itself.
    assert.equal(store.sink.offer(rollupPoints), true);
    assert.equal(await store.sink.drain(Date.now() + 30_000), 0);
    assert.deepEqual(await store.queries.tenants(RANGE, undefined), fromRollups);
    const [series] = await influxd.query('SELECT COUNT("count") FROM "latency_rollup"', 'tenantlens');
    assert.equal(Number(series?.values[0]?.[1]), rollupPoints.length, 'one stored point per rollup point written, replay included');
    await store.sink.close();
  });

  test('embedded store: the same answers within the error; the table ignores a replayed rollup', async () => {
    const parts = await createEmbeddedStore({ dataDir: dir, rules: DEFAULT_RULES, buffer: loadConfig({ TENANT_AUTH: 'header' }).buffer, events: { written() {}, retry() {} }, rollups: NO_LOCAL_ROLLUPS });
    try {
      const { truth, rollupPoints } = await load(parts);
      await checkAnswers(parts.queries, truth);
      const before = await parts.queries.tenants(RANGE, undefined);
      assert.equal(parts.sink.offer(rollupPoints), true);
      assert.equal(await parts.sink.drain(Date.now() + 30_000), 0);
      assert.deepEqual(await parts.queries.tenants(RANGE, undefined), before);
    } finally {
      await parts.sink.close();
    }
  });
});
