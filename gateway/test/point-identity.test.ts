import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MappedPoint, Point } from '../src/schema/point.ts';
import { encodePoints, TimestampSlots } from '../src/influx/point-identity.ts';
import { nanosDecimal, spreadTimestamp } from '../src/influx/timestamps.ts';
import { ownerOfBytes, ownerOfId } from '../src/influx/slot-owner.ts';
import { LineBuffer } from '../src/ingest/trace-lines/line-buffer.ts';

const T0 = 1700000000123456789n;

function point(spanId: string, timestamp: bigint, tags: Point['tags'] = [['tenant_id', 'acme']], measurement = 'spans'): MappedPoint {
  return { spanId, point: { measurement, tags, fields: [['span_id', { type: 'string', value: spanId }]], timestamp } };
}

/** The timestamp each line was written with (its last token), as a bigint. */
function timestamps(lines: readonly string[]): bigint[] {
  return lines.map((l) => BigInt(l.slice(l.lastIndexOf(' ') + 1)));
}

test('two distinct spans in the same series and nanosecond get ts and ts+1', () => {
  const slots = new TimestampSlots();
  const lines = encodePoints([point('aaaaaaaaaaaaaaaa', T0), point('bbbbbbbbbbbbbbbb', T0), point('cccccccccccccccc', T0)], slots);
  assert.deepEqual(timestamps(lines), [T0, T0 + 1n, T0 + 2n]);
  // Everything but the timestamp is untouched.
  assert.equal(lines[1], `spans,tenant_id=acme span_id="bbbbbbbbbbbbbbbb" ${T0 + 1n}`);
});

test('replaying a span lands on the slot it had (idempotent), also after a collision', () => {
  const slots = new TimestampSlots();
  const a = point('aaaaaaaaaaaaaaaa', T0);
  const b = point('bbbbbbbbbbbbbbbb', T0);
  const first = encodePoints([a, b], slots);
  assert.deepEqual(timestamps(first), [T0, T0 + 1n]);
  // The exporter retries the same request, or only B, or B before A: every span keeps its slot.
  assert.deepEqual(encodePoints([a, b], slots), first, 'same request again');
  assert.deepEqual(timestamps(encodePoints([b], slots)), [T0 + 1n], 'B alone keeps ts+1');
  assert.deepEqual(timestamps(encodePoints([b, a], slots)), [T0 + 1n, T0], 'order does not matter');
  assert.equal(slots.size, 2, 'replays take no new slots');
});

test('a later third span probes past both occupied slots', () => {
  const slots = new TimestampSlots();
  encodePoints([point('aaaaaaaaaaaaaaaa', T0), point('bbbbbbbbbbbbbbbb', T0 + 1n)], slots);
  // C starts at T0 (taken by A), T0+1 is B's own start: C goes to T0+2.
  assert.deepEqual(timestamps(encodePoints([point('cccccccccccccccc', T0)], slots)), [T0 + 2n]);
  assert.deepEqual(timestamps(encodePoints([point('bbbbbbbbbbbbbbbb', T0 + 1n)], slots)), [T0 + 1n]);
});

test('a nanosecond of a measurement belongs to one span: a distinct span moves up in any series, the same span keeps it everywhere', () => {
  const slots = new TimestampSlots();
  const lines = encodePoints(
    [
      point('aaaaaaaaaaaaaaaa', T0, [['tenant_id', 'acme']]),
      point('aaaaaaaaaaaaaaaa', T0, [['tenant_id', 'acme']], 'frontend_performance'),
      point('bbbbbbbbbbbbbbbb', T0, [['tenant_id', 'globex']]),
      point('cccccccccccccccc', T0, [['tenant_id', 'acme'], ['view_name', 'home']]),
    ],
    slots,
  );
  assert.deepEqual(timestamps(lines), [T0, T0, T0 + 1n, T0 + 2n]);
  // The microsecond, all the query API reads, is unchanged.
  for (const t of timestamps(lines)) assert.equal(t / 1000n, T0 / 1000n);
  // Measurements stay apart: a distinct span's point in another measurement keeps the nanosecond.
  assert.deepEqual(timestamps(encodePoints([point('dddddddddddddddd', T0, [['tenant_id', 'acme']], 'logs')], slots)), [T0]);
});

test('one span’s points in different measurements share its start time', () => {
  const slots = new TimestampSlots();
  const lines = encodePoints([point('aaaaaaaaaaaaaaaa', T0, undefined, 'spans'), point('aaaaaaaaaaaaaaaa', T0, undefined, 'backend_api_latency')], slots);
  assert.deepEqual(timestamps(lines), [T0, T0]);
});

test('points with no encodable field are skipped and take no slot', () => {
  const slots = new TimestampSlots();
  const empty: MappedPoint = { spanId: 'aaaaaaaaaaaaaaaa', point: { measurement: 'spans', tags: [['tenant_id', 'acme']], fields: [['x', { type: 'float', value: Number.NaN }]], timestamp: T0 } };
  const lines = encodePoints([empty, point('bbbbbbbbbbbbbbbb', T0)], slots);
  assert.deepEqual(timestamps(lines), [T0], 'B gets T0, not T0+1');
  assert.equal(slots.size, 1);
});

test('TimestampSlots.assign directly: probe, own slot', () => {
  const slots = new TimestampSlots();
  const at = (ts: bigint, span: string): string => String(slots.assign(ts, span));
  assert.equal(at(10n, 'a'), '10');
  assert.equal(at(10n, 'b'), '11');
  assert.equal(at(10n, 'a'), '10');
  assert.equal(at(10n, 'b'), '11');
  assert.equal(at(11n, 'd'), '12', 'ts 11 belongs to b');
  assert.equal(slots.size, 3);
});

test('capacity: the oldest slots are forgotten first and the index stays bounded', () => {
  const slots = new TimestampSlots(3);
  const at = (ts: bigint, span: string): string => String(slots.assign(ts, span));
  assert.equal(at(1n, 'a'), '1');
  assert.equal(at(2n, 'b'), '2');
  assert.equal(at(3n, 'c'), '3');
  assert.equal(slots.size, 3);
  assert.equal(at(4n, 'd'), '4');
  assert.ok(slots.size <= 3, `size ${slots.size} exceeds the capacity`);
  // Slot 1 (the oldest) was forgotten: a distinct span may take it now (the documented limit)...
  assert.equal(at(1n, 'x'), '1');
  // ...while the newest slots are still known: a distinct span at 4 is moved on.
  assert.equal(at(4n, 'y'), '5');
  assert.equal(at(4n, 'd'), '4', 'd still owns 4');
  assert.ok(slots.size <= 3, `size ${slots.size} exceeds the capacity`);

  // Many more than the capacity: still bounded.
  const big = new TimestampSlots(100);
  for (let i = 0; i < 1000; i++) big.assign(BigInt(i), `span-${i}`);
  assert.ok(big.size <= 100, `size ${big.size} exceeds the capacity`);
});

test('capacity: the index stays bounded when many spans share one timestamp', () => {
  const slots = new TimestampSlots(100);
  // Browser clocks are millisecond-coarse: spans of many sessions start in the same nanosecond.
  for (let i = 0; i < 1000; i++) slots.assign(T0, `span-${i}`);
  assert.ok(slots.size <= 100, `size ${slots.size} exceeds the capacity 100`);
});

test('microsecond timestamps are spread below the microsecond by span id, the same on any process', () => {
  const us = 1700000000123456000n;
  const ids = Array.from({ length: 2000 }, (_, i) => i.toString(16).padStart(16, '0'));
  const spread = ids.map((id) => spreadTimestamp(us, id));
  for (const t of spread) {
    assert.ok(t >= us && t < us + 1000n, 'stays inside its microsecond');
    assert.equal(t / 1000n, us / 1000n, 'the microsecond the query API reads is unchanged');
  }
  // Deterministic: another process (a fresh function call, a fresh index) picks the same offset.
  assert.deepEqual(ids.map((id) => spreadTimestamp(us, id)), spread);
  // Spread: 2000 ids over 1000 offsets use most of them (a constant would use one).
  assert.ok(new Set(spread).size > 800, `${new Set(spread).size} distinct offsets`);
  // Real nanosecond digits are kept exactly; so is a point without an id.
  assert.equal(spreadTimestamp(us + 7n, 'abc'), us + 7n);
  assert.equal(spreadTimestamp(us, ''), us);
});

test('two processes writing distinct spans of one microsecond rarely pick the same slot, and each replays to its own', () => {
  const us = 1700000000123456000n;
  const a = new TimestampSlots();
  const b = new TimestampSlots();
  const fromA = encodePoints([point('1111111111111111', us)], a);
  const fromB = encodePoints([point('2222222222222222', us)], b);
  assert.notEqual(timestamps(fromA)[0], timestamps(fromB)[0], 'different slots without a shared index');
  // A retry of B's request that reaches process A lands where B put it.
  assert.deepEqual(encodePoints([point('2222222222222222', us)], a), fromB);
});

test('probing never passes the last nanosecond InfluxDB stores: from there it goes down', () => {
  const last = 9_223_372_036_854_775_806n;
  const slots = new TimestampSlots();
  assert.equal(slots.assign(last, 'a'), String(last));
  assert.equal(slots.assign(last, 'b'), String(last - 1n));
  assert.equal(slots.assign(last, 'c'), String(last - 2n));
  assert.equal(slots.assign(last - 1n, 'd'), String(last - 3n), 'last-1 is b’s, last would be past the range after it: down from last-1');
  assert.equal(slots.assign(last, 'b'), String(last - 1n), 'replays keep their slot');
});

test('the index behaves like a map with first-in-first-out eviction, at every capacity and through its growth', () => {
  // A reference model: (measurement, nanosecond) → span, forgetting the oldest slot past capacity.
  let seed = 42;
  const random = (n: number): number => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
  for (const capacity of [1, 3, 7, 1000, 5000]) {
    const slots = new TimestampSlots(capacity);
    const scopes = [slots.scope('a'), slots.scope('b')];
    const model = new Map<string, string>();
    const order: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const scope = random(2);
      const ts = T0 + BigInt(random(3000));
      const span = `s${random(3000)}`;
      let want: string | undefined;
      for (let t = ts; want === undefined; t++) {
        const key = `${scope}:${t}`;
        const owner = model.get(key);
        if (owner === span) want = String(t);
        else if (owner === undefined) {
          while (model.size >= capacity) model.delete(order.shift() as string);
          model.set(key, span);
          order.push(key);
          want = String(t);
        }
      }
      assert.equal(slots.assign(ts, span, scopes[scope]), want, `capacity ${capacity}, operation ${i}`);
    }
    assert.equal(slots.size, model.size);
  }
});

test('slot owners: a span id is its 8 bytes on both paths, other identities are hashed apart', () => {
  const bytes = Buffer.from('00ff10e7a5c3b2d1', 'hex');
  const fromBytes = { hi: 0, lo: 0 };
  const fromHex = { hi: 0, lo: 0 };
  ownerOfBytes(bytes, 0, fromBytes);
  ownerOfId('00ff10e7a5c3b2d1', fromHex);
  assert.deepEqual(fromHex, fromBytes);
  assert.deepEqual(fromBytes, { hi: 0x00ff10e7, lo: 0xa5c3b2d1 | 0 });
  // Not a span id (upper case, 15 or 17 digits, other text): hashed, and distinct identities differ.
  const seen = new Set<string>();
  for (const id of ['00FF10E7A5C3B2D1', '00ff10e7a5c3b2d', '00ff10e7a5c3b2d10', 'log:abc', 'log:abd', 'beacon-1', 'beacon-2', '']) {
    const o = { hi: 0, lo: 0 };
    ownerOfId(id, o);
    seen.add(`${o.hi}/${o.lo}`);
  }
  assert.equal(seen.size, 8);
  assert.ok(!seen.has(`${fromBytes.hi}/${fromBytes.lo}`));
});

test('the slot index keeps a span written by the fused encoder and replayed by the reference path on one slot', () => {
  const slots = new TimestampSlots();
  const scope = slots.scope('spans');
  const t = { top: 1700000000, ns: 123456000 };
  const owner = { hi: 0, lo: 0 };
  ownerOfBytes(Buffer.from('aaaaaaaaaaaaaaaa', 'hex'), 0, owner);
  assert.equal(slots.claim(scope, t, owner.hi, owner.lo), false);
  // Another span at that nanosecond moves up one; the first span, as the reference path sees it, does not.
  assert.equal(slots.assignParts(scope, 1700000000, 123456000, '1700000000123456000', 'bbbbbbbbbbbbbbbb'), '1700000000123456001');
  assert.equal(slots.assignParts(scope, 1700000000, 123456000, '1700000000123456000', 'aaaaaaaaaaaaaaaa'), '1700000000123456000');
  const again = { top: 1700000000, ns: 123456000 };
  ownerOfBytes(Buffer.from('bbbbbbbbbbbbbbbb', 'hex'), 0, owner);
  assert.equal(slots.claim(scope, again, owner.hi, owner.lo), true);
  assert.deepEqual(again, { top: 1700000000, ns: 123456001 });
});

test('LineBuffer.endLineAt writes what nanosDecimal spells', () => {
  const out = new LineBuffer();
  out.start(Buffer.alloc(0));
  const cases: Array<[number, number]> = [[0, 0], [0, 7], [0, 999_999_999], [1, 0], [1, 5], [1700000000, 123456789], [1700000000, 1000], [9223372036, 854775806], [10, 10]];
  for (const [top, ns] of cases) {
    out.putAscii('m f=1');
    out.endLineAt(top, ns);
  }
  const lines = out.finish().toString('latin1').split('\n');
  assert.deepEqual(lines, cases.map(([top, ns]) => `m f=1 ${nanosDecimal(top, ns)}`));
});
