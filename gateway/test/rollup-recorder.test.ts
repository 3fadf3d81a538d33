import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MappedPoint } from '../src/schema/point.ts';
import type { SpanObservation } from '../src/rollup/observation.ts';
import { CLOSE_DELAY_MILLIS, coverageLagMillis, createRollupRecorder, MINUTE_NS } from '../src/rollup/recorder.ts';
import { LogSketch } from '../src/rollup/sketch.ts';
import { buildFixtures } from '../../harness/fixtures.ts';
import { createInProcessIngest } from '../../test/support/memory-store.ts';

const MINUTE = 29_000_000; // a minute index (2025)
const startMs = (MINUTE + 1) * 60_000;

function obs(id: string, durationMs: number, extra: Partial<SpanObservation> = {}): SpanObservation {
  return { tenant: 'acme', side: 'backend', k1: '/api/users', k2: '', durationMs, status: 0, id, timeNs: BigInt(MINUTE) * MINUTE_NS + 5_000_000_000n, ...extra };
}

function setup(accept = true) {
  let clock = startMs;
  const written: MappedPoint[][] = [];
  const events = { flushed: 0, duplicates: 0, refused: 0 };
  let ok = accept;
  const r = createRollupRecorder({
    writer: 'gw-1',
    timer: false,
    now: () => clock,
    target: { offer: (p) => (ok ? (written.push([...p]), true) : false) },
    events: { flushed: (n) => (events.flushed += n), duplicates: (n) => (events.duplicates += n), refused: () => events.refused++ },
  });
  return { r, written, events, advance: (ms: number) => (clock += ms), accept: (v: boolean) => (ok = v) };
}

const field = (p: MappedPoint, k: string): unknown => p.point.fields.find((f) => f[0] === k)?.[1].value;

test('a minute is written once closed, as one point per (tenant, side, key) with the writer tag; the same span twice counts once', () => {
  const { r, written, events, advance } = setup();
  r.record([obs('a', 10), obs('b', 20, { status: 2 }), obs('c', 30, { side: 'frontend', k1: 'Users', k2: 'load' })]);
  // A client retry of the same spans, and one new span.
  r.record([obs('a', 10), obs('b', 20, { status: 2 }), obs('d', 40)]);
  assert.equal(events.duplicates, 2);
  r.tick();
  assert.equal(written.length, 0, 'not before the minute closes');
  assert.equal(r.pending(MINUTE, startMs), true);
  advance(CLOSE_DELAY_MILLIS + 2000);
  r.tick();
  assert.equal(written.length, 1);
  const points = written[0] as MappedPoint[];
  assert.equal(points.length, 2);
  const be = points.find((p) => p.point.tags.some(([k, v]) => k === 'side' && v === 'backend')) as MappedPoint;
  assert.deepEqual(be.point.tags, [['endpoint', '/api/users'], ['side', 'backend'], ['tenant_id', 'acme'], ['writer', 'gw-1']]);
  assert.equal(field(be, 'count'), 3);
  assert.equal(field(be, 'span_count'), 3);
  assert.equal(field(be, 'error_count'), 1);
  assert.equal(LogSketch.decode(field(be, 'sketch') as string).percentile(100), 40);
  assert.equal(be.point.timestamp / MINUTE_NS, BigInt(MINUTE), 'stamped within its minute');
  assert.equal(events.flushed, 2);
  // Settling, then covered.
  assert.equal(r.pending(MINUTE, startMs + CLOSE_DELAY_MILLIS + 2000), true);
  assert.equal(r.pending(MINUTE, startMs + CLOSE_DELAY_MILLIS + 60_000), false);
});

test('a late span goes into a second point of the same minute at another timestamp; a retry after the flush still counts once', () => {
  const { r, written, advance } = setup();
  r.record([obs('a', 10)]);
  advance(CLOSE_DELAY_MILLIS + 2000);
  r.tick();
  r.record([obs('a', 10), obs('late', 50)]);
  advance(3000);
  r.tick();
  assert.equal(written.length, 2);
  const [first, second] = written.map((w) => w[0] as MappedPoint);
  assert.equal(field(second as MappedPoint, 'count'), 1, 'only the late span');
  assert.notEqual((first as MappedPoint).point.timestamp, (second as MappedPoint).point.timestamp, 'adds to the minute, does not overwrite it');
});

test('a refused flush keeps the minute open and is offered again; flushAll writes open minutes at once (drain)', () => {
  const { r, written, events, advance, accept } = setup(false);
  r.record([obs('a', 10)]);
  advance(CLOSE_DELAY_MILLIS + 2000);
  r.tick();
  assert.equal(events.refused, 1);
  assert.equal(r.pending(MINUTE, startMs + 100_000), true);
  accept(true);
  r.record([obs('b', 11, { timeNs: BigInt(MINUTE + 5) * MINUTE_NS })]);
  assert.equal(r.flushAll(), true);
  assert.equal(written.length, 2);
});

test('ingest tells the rollups every accepted duration on both trace paths (fused protobuf, reference JSON), and beacons', () => {
  const fx = buildFixtures(3, 40);
  const seen: Record<'fused' | 'reference', SpanObservation[]> = { fused: [], reference: [] };
  for (const path of ['fused', 'reference'] as const) {
    const { ingest } = createInProcessIngest('gw-1', undefined, { fused: path === 'fused', rollups: { record: (o) => seen[path].push(...o) } });
    for (const [i, b] of fx.protobuf.entries()) {
      const r = path === 'fused' ? ingest.traces(b, 'protobuf', 'acme') : ingest.traces(fx.json[i] as Uint8Array, 'json', 'acme');
      assert.equal(r.path, path);
    }
  }
  assert.ok(seen.fused.length >= 120, `${seen.fused.length} durations`);
  const key = (o: SpanObservation): string => JSON.stringify([o.side, o.tenant, o.k1, o.k2, o.durationMs, o.status, o.id]);
  assert.deepEqual(seen.fused.map(key).sort(), seen.reference.map(key).sort());
  const beacons: SpanObservation[] = [];
  const { ingest } = createInProcessIngest('gw-1', undefined, { rollups: { record: (o) => beacons.push(...o) } });
  ingest.beacon({ sessionId: 's', viewName: 'Home', metrics: { duration_ms: 12 } }, 'acme');
  assert.deepEqual(beacons.map((o) => [o.side, o.k1, o.durationMs, o.status]), [['frontend', 'Home', 12, undefined]]);
});

test('closeDelayMillis (ROLLUP_CLOSE_DELAY_MILLIS): a minute is written that long after its end, and queries wait for it by coverage lag', () => {
  let clock = startMs;
  const written: MappedPoint[][] = [];
  const r = createRollupRecorder({ writer: 'gw-1', timer: false, now: () => clock, closeDelayMillis: 5_000, target: { offer: (p) => (written.push([...p]), true) } });
  r.record([obs('a', 10)]);
  clock += 4_000;
  r.tick();
  assert.equal(written.length, 0, 'not before the close delay');
  clock += 2_000;
  r.tick();
  assert.equal(written.length, 1, 'written after 5 s, not the default 20 s');
  assert.equal(r.lagMillis, coverageLagMillis(5_000));
  assert.ok(r.lagMillis < coverageLagMillis(CLOSE_DELAY_MILLIS));
});
