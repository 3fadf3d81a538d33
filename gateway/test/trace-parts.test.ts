import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceIndexRows } from '../src/mapping/trace-index-rows.ts';
import type { IndexedPart } from '../src/query/influx-trace-index.ts';
import { summarizeTraces } from '../src/query/model.ts';
import { summariseParts } from '../src/query/trace-parts.ts';
import { decodeTracePart, encodeTracePart, UNSUMMARISED, type TracePart } from '../src/schema/trace-index.ts';

/**
 * The parts `trace_index` rows carry (schema/trace-index.ts) in process: their text round-trips,
 * and parts gathered request by request merge into what summarizeTraces gives for the same spans.
 * test/trace-summaries-influxd.test.ts holds the same on a real influxd.
 */

const part = (p: Partial<TracePart>): TracePart => ({ startUs: 5, endNs: 9000, firstName: 'GET /a', rootUs: undefined, rootName: '', spanIds: 'a'.repeat(16), ...p });

test('a part round-trips, with every character its names escape', () => {
  for (const p of [
    part({}),
    part({ rootUs: 5, rootName: 'GET /a' }),
    part({ rootUs: 7, rootName: 'a,b;c%d"e\\f\ng\rh:i ü' }),
    part({ firstName: '%2c,;', rootUs: 5, rootName: '' }),
    part({ firstName: '', spanIds: 'ab'.repeat(8) + 'cd'.repeat(8), endNs: -3 }),
  ]) {
    const text = encodeTracePart(p);
    assert.doesNotMatch(text, /[,"\\\n\r]/, 'no list separator, quote, backslash or line end');
    assert.deepEqual(decodeTracePart(text), p);
  }
  assert.equal(encodeTracePart(part({ rootUs: 5, rootName: 'GET /a' })), '5;9000;=;GET /a;' + 'a'.repeat(16), 'a root that is the first span is not written twice');
  assert.equal(encodeTracePart(part({ spanIds: 'a'.repeat(16 * 257) })), UNSUMMARISED);
  assert.equal(encodeTracePart(part({ firstName: 'x'.repeat(300) })), UNSUMMARISED);
  for (const bad of [UNSUMMARISED, '', '1;2;3', 'x;2;;n;' + 'a'.repeat(16), '1;2;;n;abc', '1;2;q:n;' + 'a'.repeat(16)]) assert.equal(decodeTracePart(bad), undefined, bad);
});

interface Span {
  trace: string;
  id: string;
  parent: string;
  name: string;
  startNs: bigint;
  durationNs: number;
}

const S = 1_000_000_000n;
const T0 = 1_796_000_000n * S;

/** The parts of `requests` as rows carry them, by trace id. */
function partsOf(requests: Span[][]): Map<string, IndexedPart[]> {
  const rows = new TraceIndexRows();
  const out = new Map<string, IndexedPart[]>();
  for (const req of requests) {
    rows.start();
    for (const s of req) {
      rows.add(Number(s.startNs / S), s.trace, '');
      const us = Number((s.startNs % S) / 1000n);
      rows.span(s.id, us, us * 1000 + s.durationNs, s.parent === '', s.name);
    }
    for (const r of rows.rows()) {
      if (r.summaries === '') continue;
      const entries = r.summaries.split(',');
      r.ids.split(',').forEach((id, i) => out.set(id, [...(out.get(id) ?? []), { second: r.second, part: decodeTracePart(entries[i] as string) }]));
    }
  }
  return out;
}

const fromSpans = (spans: Span[]) =>
  summarizeTraces(spans.map((s) => ({ traceId: s.trace, parentSpanId: s.parent, name: s.name, startMicros: Number(s.startNs / 1000n), durationNs: s.durationNs })));
const byId = <T extends { traceId: string }>(xs: T[]): T[] => [...xs].sort((a, b) => (a.traceId < b.traceId ? -1 : 1));

test('parts of several requests merge into the spans summary: late roots, ties, seconds, a span sent twice', () => {
  const a = 'a'.repeat(32);
  const b = 'b'.repeat(32);
  const sp = (trace: string, n: number, parent: string, name: string, startNs: bigint, durationNs: number): Span => ({ trace, id: trace.slice(0, 8) + n.toString(16).padStart(8, '0'), parent, name, startNs, durationNs });
  const spans = [
    sp(a, 2, 'p', 'child', T0 + 1_000n, 4_000_000_000), // ends 4 s later
    sp(a, 3, 'p', 'zeta', T0 + 2n * S + 7_000n, 10),
    sp(a, 1, '', 'root', T0 + 1_000n, 5), // the root, later, tied with a child on its start
    sp(a, 4, '', 'another root', T0 + 1_999n, 1),
    sp(b, 1, 'p', 'only children', T0 + 999_999_999n, 123_456_789),
    sp(b, 2, 'p', 'a', T0 + 999_999_999n, 0),
  ];
  const requests = [[spans[0], spans[4]], [spans[1], spans[2]], [spans[3], spans[5]], [spans[1], spans[0]]] as Span[][];
  const { traces, unsummarised } = summariseParts(partsOf(requests), { fromNs: T0 - 10n * S, toNs: T0 + 10n * S });
  assert.equal(unsummarised.size, 0);
  assert.deepEqual(byId(traces), byId(fromSpans(spans)));
  assert.deepEqual(
    byId(traces).map((t) => [t.rootName, t.spanCount]),
    [
      ['another root', 4], // tied with 'root' on the µs: the least name
      ['a', 2],
    ],
  );
  // A range that cuts the first second: trace a's spans there must be read.
  const cut = summariseParts(partsOf(requests), { fromNs: T0 + S / 2n, toNs: T0 + 10n * S });
  assert.deepEqual([...cut.unsummarised.keys()].sort(), [a, b]);
  assert.deepEqual(cut.traces, []);
});
