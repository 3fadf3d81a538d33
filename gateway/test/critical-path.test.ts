import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareCriticalPaths, pickTraces } from '../src/query/critical-path-compare.ts';
import { criticalPath, type CpSpan } from '../src/query/critical-path.ts';

const MS = 1_000_000n;
/** A span from ms offsets: id, parent ('' = root), service, start ms, end ms; name defaults to the id. */
function span(spanId: string, parentSpanId: string, service: string, startMs: number, endMs: number, name = spanId): CpSpan {
  return { spanId, parentSpanId, service, name, startNs: BigInt(startMs) * MS, durationNs: BigInt(endMs - startMs) * MS };
}

/** Self time on the path per span id, in ms (every expected value below is worked out by hand). */
function selfMs(spans: CpSpan[], rootName?: string): Record<string, number> {
  const path = criticalPath(spans, rootName);
  assert.ok(path !== undefined, 'has a root');
  return Object.fromEntries(path.steps.map((s) => [s.spanId, Number(s.selfNs / MS)]));
}

test('sequential children: each is on the path, the gaps are the parent\'s own time', () => {
  // R 0–100; A 10–40 then B 50–90. From 100 back: R 90–100, B 50–90, R 40–50, A 10–40, R 0–10.
  const got = selfMs([span('R', '', 'web', 0, 100), span('A', 'R', 'api', 10, 40), span('B', 'R', 'api', 50, 90)]);
  assert.deepEqual(got, { R: 30, A: 30, B: 40 });
});

test('parallel children: only the last-finishing chain is critical', () => {
  // A 10–60 (with C 20–50 inside) and B 10–90 run together. B ends last: R 90–100, B 10–90, R 0–10.
  // A ends after B's start (10), so neither A nor its child C is on the path.
  const got = selfMs([span('R', '', 'web', 0, 100), span('A', 'R', 'api', 10, 60), span('B', 'R', 'api', 10, 90), span('C', 'A', 'api', 20, 50)]);
  assert.deepEqual(got, { R: 20, B: 80 });
});

test('equal ends: the longer child is taken', () => {
  const got = selfMs([span('R', '', 'web', 0, 100), span('A', 'R', 'api', 50, 90), span('B', 'R', 'api', 20, 90)]);
  assert.deepEqual(got, { R: 30, B: 70 });
});

test('a child that outlives its parent (same service, same clock) is clipped to the parent\'s end', () => {
  // A 50–150 becomes 50–100; its child D 120–140 lies wholly after the clipped window: off the path.
  const got = selfMs([span('R', '', 'web', 0, 100), span('A', 'R', 'web', 50, 150), span('D', 'A', 'web', 120, 140)]);
  assert.deepEqual(got, { R: 50, A: 50 });
});

test('a child from another service with a skewed clock is shifted into its parent, subtree and all', () => {
  // S (api) says 130–190: 60 ms fits in R's 100 ms, so it moves by −90 to 40–100, and its child Q
  // (same clock) from 140–170 to 50–80. Path: S 80–100, Q 50–80, S 40–50, R 0–40.
  const got = selfMs([span('R', '', 'web', 0, 100), span('S', 'R', 'api', 130, 190), span('Q', 'S', 'api', 140, 170)]);
  assert.deepEqual(got, { R: 40, S: 30, Q: 30 });
  // Skewed the other way (starts 30 ms before R): moved +30, to 0–60. Path: R 60–100, S 0–60.
  assert.deepEqual(selfMs([span('R', '', 'web', 0, 100), span('S', 'R', 'api', -30, 30)]), { R: 40, S: 60 });
});

test('a skewed child longer than its parent cannot be shifted in: it is clipped', () => {
  // X −50–150 (200 ms) under R 0–100: clipped to 0–100, the whole path.
  assert.deepEqual(selfMs([span('R', '', 'web', 0, 100), span('X', 'R', 'api', -50, 150)]), { R: 0, X: 100 });
});

test('a missing parent: the orphan is adopted by the deepest span that encloses it', () => {
  // S's parent (an ingress span) was never exported. R 0–100 and F 10–90 both enclose S 20–80;
  // F is deeper. Path: R 90–100, F 80–90, S 70–80, DB 30–70, S 20–30, F 10–20, R 0–10.
  const spans = [
    span('R', '', 'web', 0, 100, 'click'),
    span('F', 'R', 'web', 10, 90, 'fetch'),
    span('S', 'caddy-span', 'api', 20, 80, 'GET /x'),
    span('DB', 'S', 'api', 30, 70, 'SELECT'),
  ];
  assert.deepEqual(selfMs(spans), { R: 20, F: 20, S: 20, DB: 40 });
  // Enclosed by nothing but the root (it sticks out of F): adopted by the root.
  assert.deepEqual(selfMs([span('R', '', 'web', 0, 100), span('F', 'R', 'web', 10, 50), span('O', 'gone', 'api', 40, 95)]), { R: 45, O: 55 });
});

test('several roots: the earliest (with the asked name) is the root; the others are adopted like orphans', () => {
  const spans = [span('R2', '', 'web', 20, 60, 'late'), span('R', '', 'web', 0, 100, 'click')];
  assert.deepEqual(selfMs(spans), { R: 60, R2: 40 });
  assert.deepEqual(selfMs(spans, 'late'), { R2: 40 }, 'asked for "late": R is not inside it');
  assert.equal(criticalPath(spans, 'nothing'), undefined);
});

test('self time is summed per (service, name) and listed largest first', () => {
  const path = criticalPath([span('R', '', 'web', 0, 100, 'click'), span('A', 'R', 'api', 10, 40, 'q'), span('B', 'R', 'api', 50, 90, 'q')]);
  assert.deepEqual(path?.byOperation.map((o) => [o.service, o.name, Number(o.selfNs / MS)]), [['api', 'q', 70], ['web', 'click', 30]]);
});

test('compareCriticalPaths: median and p90 per side (absent = 0), gap = b − a median, biggest gap first', () => {
  // Side a: 3 traces; the db span takes 10, 20, 30 ms of the path. Side b: 2 traces, 100 ms in one,
  // absent (0) in the other. Nearest rank: a median rank 2 of 3 → 20, p90 rank 3 → 30; b median
  // rank 1 of 2 → 0, p90 rank 2 → 100.
  const trace = (id: string, dbMs: number | undefined) => ({
    traceId: id,
    spans: [span(`${id}r`, '', 'web', 0, 200, 'click'), ...(dbMs === undefined ? [] : [span(`${id}d`, `${id}r`, 'api', 0, dbMs, 'SELECT')])],
  });
  const cmp = compareCriticalPaths('acme', 'globex', 'click', [trace('a1', 10), trace('a2', 20), trace('a3', 30)], [trace('b1', 100), trace('b2', undefined)]);
  assert.deepEqual(cmp.traces, { a: 3, b: 2 });
  const db = cmp.rows.find((r) => r.name === 'SELECT');
  assert.deepEqual(db && [db.a, db.b, db.gapMs], [{ median: 20, p90: 30 }, { median: 0, p90: 100 }, -20]);
  // click's self time: a 190, 180, 170 → median 180; b 100, 200 → median 100 (rank 1): gap −80.
  const click = cmp.rows.find((r) => r.name === 'click');
  assert.deepEqual(click && [click.a.median, click.b.median, click.gapMs], [180, 100, -80]);
  assert.deepEqual(cmp.rows.map((r) => r.name), ['SELECT', 'click'], 'gap −20 ranks above −80');
  const none = compareCriticalPaths('acme', 'globex', 'click', [trace('a1', 10)], []);
  assert.deepEqual(none.rows.map((r) => [r.b.median, r.gapMs]), [[null, null], [null, null]]);
});

test('pickTraces: newest first, ties by trace id, one root per trace, at most limit', () => {
  const rows = [
    { traceId: 'b', startMicros: 5 },
    { traceId: 'a', startMicros: 5 },
    { traceId: 'c', startMicros: 9 },
    { traceId: 'c', startMicros: 1 },
    { traceId: 'd', startMicros: 2 },
  ];
  assert.deepEqual(pickTraces(rows, 3).map((r) => r.traceId), ['c', 'a', 'b']);
  assert.deepEqual(pickTraces(rows, 10).map((r) => r.traceId), ['c', 'a', 'b', 'd']);
});
