import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { BufferConfig } from '../src/config.ts';
import type { WriteOutcome, WriteTransport } from '../src/influx/transport.ts';
import { rejectedLines } from '../src/influx/v1-transport.ts';
import { createLineWriter, type LineWriter } from '../src/influx/writer.ts';
import { recordWriterEvents } from '../../test/support/writer-events.ts';

// ---------------------------------------------------------------- helpers

interface Call {
  readonly body: string;
  readonly lines: string[];
  readonly count: number;
  readonly at: number; // Date.now() (the fake clock) when the transport was called
}

type Responder = (call: Call, index: number) => WriteOutcome | Promise<WriteOutcome>;

const ok: WriteOutcome = { kind: 'success' };

function fakeTransport(respond: Responder = () => ok) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const transport: WriteTransport = {
    async write(body, count) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const text = body.toString('utf8');
      const call: Call = { body: text, lines: text.split('\n'), count, at: Date.now() };
      calls.push(call);
      try {
        return await respond(call, calls.length - 1);
      } finally {
        inFlight--;
      }
    },
    async ping() {
      return true;
    },
    async close() {},
  };
  return {
    transport,
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
  };
}


/** Defaults that never trigger on their own: tests turn on the one bound they are about. */
function bufferConfig(overrides: Partial<BufferConfig> = {}): BufferConfig {
  return {
    batchMaxLines: 1000,
    batchMaxBytes: 1 << 20,
    flushIntervalMillis: 60_000,
    maxBytes: 64 << 20,
    retryMaxDelayMillis: 30_000,
    ...overrides,
  };
}

/** setImmediate is left real: it runs once every pending promise callback has, so the writer's async steps settle between ticks. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs the test on node:test's mock clock: setTimeout (the writer's flush and retry timers,
 * drain's waits) and Date.now(). The clock moves only when the test moves it, one millisecond at
 * a time with promises settled in between, so a 400 ms Retry-After takes no real time and a gap
 * between two writes is exact.
 */
function fakeClock(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
  const clock = {
    /** Moves the clock `ms` forward. */
    async advance(ms: number): Promise<void> {
      for (let i = 0; i < ms; i++) {
        await settle();
        t.mock.timers.tick(1);
      }
      await settle();
    },
    /** Moves the clock until `cond` holds; fails after `maxMillis` of fake time. */
    async until(what: string, cond: () => boolean, maxMillis = 60_000): Promise<void> {
      for (let waited = 0; ; waited++) {
        await settle();
        if (cond()) return;
        if (waited > maxMillis) throw new Error(`no ${what} within ${maxMillis} ms of fake time`);
        t.mock.timers.tick(1);
      }
    },
    /** Awaits `p` while moving the clock (drain() waits on timers). */
    async run<T>(p: Promise<T>, maxMillis = 60_000): Promise<T> {
      let done = false;
      p.then(
        () => (done = true),
        () => (done = true),
      );
      await clock.until('settlement', () => done, maxMillis);
      return p;
    },
  };
  return clock;
}

/** A fake-clock delay (setTimeout is mocked while a test runs). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise the test settles by hand: lets a fake write hang while the test looks at the writer. */
function gate<T>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

function lines(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

function withWriter(w: LineWriter, fn: () => Promise<void>): Promise<void> {
  return fn().finally(() => w.close());
}

// ---------------------------------------------------------------- batching

test('batches are bounded by batchMaxLines', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport();
  const { events, log } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 3 }), events });
  await withWriter(w, async () => {
    const input = lines('m v=', 7);
    assert.equal(w.offer(input), true);
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(
      fake.calls.map((c) => c.count),
      [3, 3, 1],
    );
    assert.deepEqual(
      fake.calls.map((c) => c.lines),
      [input.slice(0, 3), input.slice(3, 6), input.slice(6)],
    );
    for (const c of fake.calls) assert.equal(c.lines.length, c.count, 'lineCount must match the body');
    assert.deepEqual(log.written, [3, 3, 1]);
  });
});

test('batches are bounded by batchMaxBytes (each line costs its UTF-8 bytes + 1 newline)', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport();
  const { events } = recordWriterEvents();
  // 9 chars + newline = 10 bytes a line; 35 bytes hold 3 lines, not 4.
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxBytes: 35 }), events });
  await withWriter(w, async () => {
    const input = lines('m,t=a v=', 8).map((l) => l.padEnd(9, '0'));
    for (const l of input) assert.equal(Buffer.byteLength(l), 9);
    assert.equal(w.offer(input), true);
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(
      fake.calls.map((c) => c.count),
      [3, 3, 2],
    );
    assert.deepEqual(fake.calls.flatMap((c) => c.lines), input);
    for (const c of fake.calls) assert.ok(Buffer.byteLength(c.body) + 1 <= 35, `body of ${Buffer.byteLength(c.body)} bytes over the bound`);
  });
});

test('both bounds together: whichever is hit first closes the batch; an oversized line goes alone', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport();
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 4, batchMaxBytes: 30 }), events });
  await withWriter(w, async () => {
    const short = lines('s', 5); // 3 bytes each with the newline
    const long = ['x'.repeat(13), 'y'.repeat(13), 'z'.repeat(13)]; // 14 bytes each
    const huge = 'h'.repeat(100); // alone over batchMaxBytes: must still be sent, by itself
    const input = [...short, ...long, 'tail', huge, 'after'];
    assert.equal(w.offer(input), true);
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(
      fake.calls.map((c) => c.lines),
      [
        ['s0', 's1', 's2', 's3'], // line bound (12 bytes)
        ['s4', long[0]], // 3 + 14 = 17; + 14 = 31 > 30
        [long[1], long[2]], // 28; + 'tail' (5) = 33 > 30
        ['tail'], // + 101 > 30
        [huge],
        ['after'],
      ],
    );
  });
});

test('a partial batch is flushed by the timer after flushIntervalMillis', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport();
  const { events, log } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 100, flushIntervalMillis: 150 }), events });
  await withWriter(w, async () => {
    const t0 = Date.now();
    assert.equal(w.offer(['a v=1', 'b v=2']), true);
    await clock.advance(60);
    assert.equal(fake.calls.length, 0, 'a partial batch must wait for the timer');
    assert.equal(w.offer(['c v=3']), true); // a second offer must not restart (or duplicate) the timer
    await clock.until('the timer flush', () => fake.calls.length === 1);
    const waited = (fake.calls[0] as Call).at - t0;
    assert.equal(waited, 150, 'flushed flushIntervalMillis after the first offer');
    assert.deepEqual(fake.calls[0]?.lines, ['a v=1', 'b v=2', 'c v=3']);
    await clock.until('the written event', () => log.written.length === 1);
    assert.equal(w.bufferedLines, 0);
    assert.equal(w.bufferedBytes, 0);
    await clock.advance(200);
    assert.equal(fake.calls.length, 1, 'nothing left to send');
  });
});

test('one write in flight at a time, even with full batches waiting and drain() called meanwhile', async (t) => {
  const clock = fakeClock(t);
  const gates: Array<ReturnType<typeof gate<WriteOutcome>>> = [];
  const fake = fakeTransport(() => {
    const g = gate<WriteOutcome>();
    gates.push(g);
    return g.promise;
  });
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 2 }), events });
  await withWriter(w, async () => {
    assert.equal(w.offer(lines('a', 6)), true); // three full batches
    await clock.advance(30);
    assert.equal(fake.calls.length, 1);
    const draining = w.drain(Date.now() + 5_000);
    assert.equal(w.offer(lines('b', 2)), true);
    await clock.advance(30);
    assert.equal(fake.calls.length, 1, 'a second write started while the first was in flight');
    for (let i = 0; i < 4; i++) {
      await clock.until(`write ${i + 1}`, () => gates.length === i + 1);
      await clock.advance(10);
      assert.equal(fake.calls.length, i + 1, 'a write started before the previous one answered');
      gates[i]?.open(ok);
    }
    assert.equal(await draining, 0);
    assert.equal(fake.maxInFlight, 1);
    assert.deepEqual(fake.calls.flatMap((c) => c.lines), [...lines('a', 6), ...lines('b', 2)]);
  });
});

// ---------------------------------------------------------------- buffer accounting

test('offerBytes: the lines of a request stay whole in one batch, joined to their neighbours by newlines, within the bounds', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport();
  const { events, log } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 4 }), events });
  await withWriter(w, async () => {
    const a = lines('a v=', 3);
    const b = lines('b v=', 2);
    const big = lines('c v=', 6);
    // String fields may hold raw newlines: the count comes from the caller, not from the bytes.
    const raw = 'd s="x\ny"';
    assert.equal(w.offerBytes(Buffer.from(a.join('\n')), 3), true);
    assert.equal(w.offer(['z v=1']), true);
    assert.equal(w.offerBytes(Buffer.from(b.join('\n')), 2), true);
    assert.equal(w.offerBytes(Buffer.from(big.join('\n')), 6), true);
    assert.equal(w.offerBytes(Buffer.from(raw), 1), true);
    assert.equal(w.offerBytes(Buffer.alloc(0), 0), true, 'nothing to take is not a refusal');
    assert.equal(w.bufferedLines, 13);
    assert.equal(w.bufferedBytes, [...a, 'z v=1', ...b, ...big, raw].reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    // 3 + 1 fill the first batch; b (2) fits no more beside them; the 6-line request alone passes
    // batchMaxLines (sent alone, never split); the last one follows on its own.
    assert.deepEqual(
      fake.calls.map((c) => c.body),
      [[...a, 'z v=1'].join('\n'), b.join('\n'), big.join('\n'), raw],
    );
    assert.deepEqual(log.written, [4, 2, 6, 1]);
    assert.equal(w.bufferedBytes, 0);
  });
});

test('offerBytes is all-or-nothing past maxBytes', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport();
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ maxBytes: 50, batchMaxBytes: 1_000 }), events });
  await withWriter(w, async () => {
    assert.equal(w.offerBytes(Buffer.alloc(39, 0x61), 1), true, '39 bytes + newline');
    assert.equal(w.offerBytes(Buffer.alloc(10, 0x62), 1), false, '40 + 11 > 50');
    assert.equal(w.bufferedBytes, 40);
    assert.equal(w.bufferedLines, 1);
    assert.equal(w.offerBytes(Buffer.alloc(9, 0x63), 1), true, 'exactly maxBytes fits');
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(fake.calls.map((c) => c.body), ['a'.repeat(39) + '\n' + 'c'.repeat(9)]);
  });
});

test('offer is all-or-nothing and refuses past maxBytes', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport();
  const { events } = recordWriterEvents();
  // batchMaxBytes above maxBytes: nothing is sent, so the buffer only grows.
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ maxBytes: 100, batchMaxBytes: 1_000 }), events });
  await withWriter(w, async () => {
    const ten = (s: string) => s.padEnd(9, '.'); // 9 bytes + newline
    assert.equal(w.offer(lines('a', 9).map(ten)), true);
    assert.equal(w.bufferedBytes, 90);
    assert.equal(w.bufferedLines, 9);

    assert.equal(w.offer([ten('b0'), ten('b1')]), false, '110 bytes > maxBytes');
    assert.equal(w.bufferedBytes, 90, 'a refused offer must buffer nothing');
    assert.equal(w.bufferedLines, 9);

    assert.equal(w.offer([ten('c0')]), true, 'exactly maxBytes fits');
    assert.equal(w.bufferedBytes, 100);
    assert.equal(w.offer(['d']), false);
    assert.equal(w.offer([]), true, 'an empty offer takes nothing and is not refused');
    assert.equal(w.bufferedLines, 10);

    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(
      fake.calls.flatMap((c) => c.lines),
      [...lines('a', 9).map(ten), ten('c0')],
      'refused lines must never reach the transport',
    );
  });
});

test('bufferedLines/bufferedBytes count UTF-8 bytes; isFull leaves room for one more batch', async (t) => {
  const clock = fakeClock(t);
  const blocked = gate<WriteOutcome>();
  const fake = fakeTransport(() => blocked.promise);
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ maxBytes: 100, batchMaxBytes: 40 }), events });
  await withWriter(w, async () => {
    assert.equal(w.isFull, false);
    assert.equal(w.offer(['ü']), true); // 2 bytes + newline
    assert.equal(w.bufferedBytes, 3);
    assert.equal(w.offer(['m,t=grüße v="€"', '😀']), true); // 19 + 1, 4 + 1
    assert.equal(Buffer.byteLength('m,t=grüße v="€"'), 19);
    assert.equal(w.bufferedBytes, 3 + 20 + 5);
    assert.equal(w.bufferedLines, 3);
    assert.equal(w.isFull, false, '28 + 40 <= 100');

    assert.equal(w.offer(['x'.repeat(31)]), true); // 60 bytes: reaches batchMaxBytes, a write starts and hangs
    await clock.until('the write to start', () => fake.calls.length === 1);
    assert.equal(w.bufferedBytes, 60, 'lines in flight still count');
    assert.equal(w.bufferedLines, 4);
    assert.equal(w.isFull, false, '60 + 40 = 100 is not over');
    assert.equal(w.offer(['y']), true);
    assert.equal(w.bufferedBytes, 62);
    assert.equal(w.isFull, true, '62 + 40 > 100');

    blocked.open(ok);
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.equal(w.bufferedBytes, 0);
    assert.equal(w.bufferedLines, 0);
    assert.equal(w.isFull, false);
  });
});

// ---------------------------------------------------------------- retries

test('a retryable outcome keeps the batch and resends the same lines, in order, after Retry-After', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport((_call, i) =>
    i === 0 ? { kind: 'retryable', reason: 'HTTP 503', status: 503, retryAfterMillis: 400 } : ok,
  );
  const { events, log } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 3 }), events });
  await withWriter(w, async () => {
    const input = ['m v=1 1', 'm v=2 2', 'm v=3 3', 'm v=4 4'];
    assert.equal(w.offer(input), true);
    await clock.until('the first write', () => log.retries.length === 1);
    assert.deepEqual(log.retries, [{ reason: 'HTTP 503', status: 503 }]);
    assert.equal(w.lastWriteOk, false);
    assert.equal(w.retryAfterSeconds(), 1, '400 ms rounds up to 1 s');
    assert.equal(w.bufferedLines, 4, 'the failed batch stays buffered');

    await clock.until('the resend', () => fake.calls.length >= 2);
    const [first, second] = fake.calls as [Call, Call];
    assert.deepEqual(second.lines, first.lines, 'the same batch is resent');
    assert.deepEqual(first.lines, input.slice(0, 3));
    const gap = second.at - first.at;
    assert.equal(gap, 400, 'resent after Retry-After, not before');

    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(fake.calls.flatMap((c) => c.lines), [...input.slice(0, 3), ...input], 'each line written once after the retry');
    assert.equal(w.lastWriteOk, true);
    assert.deepEqual(log.written, [3, 1]);
  });
});

test('without Retry-After the writer backs off with full jitter from 250 ms, never under 100 ms', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport((_call, i) => (i < 2 ? { kind: 'retryable', reason: 'network: ECONNREFUSED', retryAfterMillis: undefined } : ok));
  const { events, log } = recordWriterEvents();
  const w = createLineWriter({
    transport: fake.transport,
    buffer: bufferConfig({ batchMaxLines: 1, retryMaxDelayMillis: 10_000 }),
    events,
    random: () => 0.999_999, // the top of the jitter: 250 ms, then 500 ms
  });
  await withWriter(w, async () => {
    assert.equal(w.offer(['only v=1']), true);
    await clock.until('three attempts', () => fake.calls.length === 3);
    const [a, b, c] = fake.calls as [Call, Call, Call];
    assert.equal(b.at - a.at, 250, 'first retry: up to 250 ms');
    assert.equal(c.at - b.at, 500, 'second retry: up to 500 ms');
    assert.deepEqual(log.retries, [
      { reason: 'network: ECONNREFUSED', status: undefined },
      { reason: 'network: ECONNREFUSED', status: undefined },
    ]);
    await clock.until('the written event', () => log.written.length === 1);
    assert.deepEqual(log.written, [1]);
  });
});

test('a zero jitter draw or Retry-After: 0 still waits 100 ms, never a hot loop', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport((_call, i) => (i === 0 ? { kind: 'retryable', reason: 'down', retryAfterMillis: undefined } : i === 1 ? { kind: 'retryable', reason: 'HTTP 429', status: 429, retryAfterMillis: 0 } : ok));
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 1 }), events, random: () => 0 });
  await withWriter(w, async () => {
    assert.equal(w.offer(['m v=1']), true);
    await clock.until('three attempts', () => fake.calls.length === 3);
    const [a, b, c] = fake.calls as [Call, Call, Call];
    assert.deepEqual([b.at - a.at, c.at - b.at], [100, 100]);
  });
});

test('a Retry-After longer than setTimeout can count (2^31-1 ms) still waits, not retries at once', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport(() => ({ kind: 'retryable', reason: 'HTTP 429', status: 429, retryAfterMillis: 3_000_000_000 }));
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 1 }), events });
  // The mock clock does not overflow as Node's timers do (a delay past 2^31-1 fires after 1 ms),
  // so the delays the writer asks for are recorded and checked against that limit.
  const delays: number[] = [];
  const mocked = globalThis.setTimeout;
  t.mock.method(globalThis, 'setTimeout', (fn: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return mocked(fn, ms);
  });
  await withWriter(w, async () => {
    assert.equal(w.offer(['m v=1']), true);
    await clock.until('the first write', () => fake.calls.length === 1);
    await clock.advance(150);
    assert.equal(fake.calls.length, 1, 'an overflowing timer fired after 1 ms and retried immediately');
    assert.ok(delays.includes(2 ** 31 - 1), `the retry timer is clamped to 2^31-1 ms: ${delays.join(', ')}`);
    assert.ok(delays.every((d) => d <= 2 ** 31 - 1), `a delay setTimeout cannot count: ${delays.join(', ')}`);
  });
});

// ---------------------------------------------------------------- permanent failures

test('a failure drops only that batch, reports rejected count and sample, and counts the rest as written', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport((call, i) =>
    i === 0
      ? { kind: 'failure', reason: 'partial write: field type conflict dropped=2', status: 400, rejectedLines: 2 }
      : i === 1
        ? { kind: 'failure', reason: 'unable to parse', status: 400, rejectedLines: call.count }
        : ok,
  );
  const { events, log } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 5 }), events });
  await withWriter(w, async () => {
    const input = lines('l', 12);
    assert.equal(w.offer(input), true);
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(
      fake.calls.map((c) => c.lines),
      [input.slice(0, 5), input.slice(5, 10), input.slice(10)],
      'failed batches are not retried; later batches still go out',
    );
    assert.deepEqual(log.failed, [
      { reason: 'partial write: field type conflict dropped=2', status: 400, rejected: 2, sample: ['l0', 'l1', 'l2'], refused: [] },
      { reason: 'unable to parse', status: 400, rejected: 5, sample: ['l5', 'l6', 'l7'], refused: [] },
    ]);
    assert.deepEqual(log.written, [3, 2], 'partial write: the 3 accepted lines; full rejection: nothing; last batch: 2');
    assert.deepEqual(log.retries, []);
    assert.equal(w.bufferedLines, 0);
    assert.equal(w.bufferedBytes, 0);
    assert.equal(w.lastWriteOk, true, 'the database answered');
    await clock.advance(100);
    assert.equal(fake.calls.length, 3);
  });
});

test('a failure sample holds at most 3 lines, fewer for a short batch', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport((call) => ({ kind: 'failure', reason: 'bad', status: 400, rejectedLines: call.count }));
  const { events, log } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig(), events });
  await withWriter(w, async () => {
    assert.equal(w.offer(['only']), true);
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(log.failed, [{ reason: 'bad', status: 400, rejected: 1, sample: ['only'], refused: [] }]);
    assert.deepEqual(log.written, []);
  });
});

// ---------------------------------------------------------------- drain

test('drain writes everything and resolves 0', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport(async () => {
    await sleep(5); // each write takes 5 ms of fake time
    return ok;
  });
  const { events, log } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 4 }), events });
  await withWriter(w, async () => {
    const input = lines('d', 10);
    assert.equal(w.offer(input), true);
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0);
    assert.deepEqual(fake.calls.flatMap((c) => c.lines), input);
    assert.deepEqual(
      fake.calls.map((c) => c.count),
      [4, 4, 2],
    );
    assert.deepEqual(log.written, [4, 4, 2]);
    assert.equal(w.bufferedLines, 0);
    assert.equal(await clock.run(w.drain(Date.now() + 5_000)), 0, 'an empty buffer drains at once');
    assert.equal(fake.calls.length, 3);
  });
});

test('drain resolves with the lines left when the transport keeps failing past the deadline', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport(() => ({ kind: 'retryable', reason: 'HTTP 503', status: 503, retryAfterMillis: undefined }));
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 2, retryMaxDelayMillis: 50 }), events });
  await withWriter(w, async () => {
    assert.equal(w.offer(lines('r', 5)), true);
    const t0 = Date.now();
    const left = await clock.run(w.drain(t0 + 300));
    const took = Date.now() - t0;
    assert.equal(left, 5);
    assert.equal(took, 300, 'gave up at the deadline, not before or after');
    // Backoff is capped at 50 ms but floored at 100 ms: one attempt every 100 ms.
    assert.ok(fake.calls.length >= 3, `only ${fake.calls.length} attempts in 300 ms with waits of 100 ms`);
    for (const c of fake.calls) assert.deepEqual(c.lines, ['r0', 'r1'], 'the head batch is retried, never skipped');
  });
});

test('drain returns at its deadline even when a Retry-After wait would outlast it', async (t) => {
  const clock = fakeClock(t);
  const fake = fakeTransport(() => ({ kind: 'retryable', reason: 'HTTP 429', status: 429, retryAfterMillis: 3_000 }));
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig(), events });
  await withWriter(w, async () => {
    assert.equal(w.offer(lines('q', 3)), true);
    const t0 = Date.now();
    // SIGTERM gives the gateway a fixed grace period: drain must not sleep through it.
    const left = await clock.run(w.drain(t0 + 300));
    const took = Date.now() - t0;
    assert.equal(left, 3);
    assert.equal(took, 300, `drain took ${took} ms for a 300 ms deadline`);
    assert.equal(fake.calls.length, 1);
  });
});

// ---------------------------------------------------------------- transport helpers (Retry-After, backoff and statuses: delivery.test.ts)

test('rejectedLines counts what InfluxDB 1.6.7 actually reports', () => {
  // One line failed to parse, the other points were written: dropped=0 but one line is lost.
  assert.equal(rejectedLines("partial write: unable to parse 'm,t=a f=bad 2': invalid boolean dropped=0", 3), 1);
  // Parsed fine, refused by the shard: counted by dropped=.
  assert.equal(
    rejectedLines('partial write: field type conflict: input field "f" on measurement "m" is type string, already exists as type float dropped=1', 4),
    1,
  );
  // No point parsed at all: a plain message, one "unable to parse" per line, joined by newlines.
  assert.equal(rejectedLines("unable to parse 'm f=': missing field value", 1), 1);
  assert.equal(rejectedLines("unable to parse 'a': missing fields\nunable to parse 'b': missing fields", 2), 2);
  // Anything else says nothing about which lines: all of them count.
  assert.equal(rejectedLines('database not found: "db"', 5), 5);
  // Never more than were sent.
  assert.equal(rejectedLines('partial write: points beyond retention policy dropped=9', 4), 4);
});

test('writeConcurrency: up to N writes in flight; batches that finish out of order are released in order', async (t) => {
  const clock = fakeClock(t);
  const gates = [gate<WriteOutcome>(), gate<WriteOutcome>(), gate<WriteOutcome>()];
  const fake = fakeTransport((_call, i) => gates[i]?.promise ?? ok);
  const released: number[] = [];
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 2, writeConcurrency: 3 }), events, onReleased: (n) => released.push(n) });
  assert.equal(w.offer(['a', 'b', 'c', 'd', 'e', 'f', 'g']), true);
  await clock.until('three writes in flight', () => fake.calls.length === 3);
  assert.equal(fake.maxInFlight, 3, 'never more than writeConcurrency');
  assert.deepEqual(fake.calls.map((c) => c.lines), [['a', 'b'], ['c', 'd'], ['e', 'f']]);
  // The third and second finish first: nothing is released until the first has.
  gates[2]?.open(ok);
  gates[1]?.open(ok);
  await clock.advance(20);
  assert.deepEqual(released, []);
  assert.equal(w.bufferedLines, 7);
  gates[0]?.open(ok);
  await clock.until('all released', () => released.reduce((a, b) => a + b, 0) === 6);
  assert.deepEqual(released, [2, 2, 2]);
  assert.equal(await clock.run(w.drain(Date.now() + 2000)), 0);
  assert.deepEqual(released, [2, 2, 2, 1]);
  w.close();
});

test('writeConcurrency: a failing database gets one probe at a time, the failed batches resent oldest first', async (t) => {
  const clock = fakeClock(t);
  let failing = true;
  const fake = fakeTransport(() => (failing ? { kind: 'retryable', reason: 'down', status: 503, retryAfterMillis: 100 } : ok));
  const released: number[] = [];
  const { events } = recordWriterEvents();
  const w = createLineWriter({ transport: fake.transport, buffer: bufferConfig({ batchMaxLines: 1, writeConcurrency: 4 }), events, onReleased: (n) => released.push(n) });
  w.offer(['1', '2', '3', '4', '5', '6']);
  await clock.until('first round', () => fake.calls.length >= 4);
  const firstRound = fake.calls.length;
  await clock.advance(350);
  // After the first failures: one write per Retry-After period, not four.
  assert.ok(fake.calls.length - firstRound <= 4, `${fake.calls.length - firstRound} probes in 350 ms`);
  failing = false;
  assert.equal(await clock.run(w.drain(Date.now() + 5000)), 0);
  const sent = fake.calls.filter((_, i) => i >= fake.calls.length - 6).map((c) => c.body);
  assert.deepEqual([...sent].sort(), ['1', '2', '3', '4', '5', '6']);
  assert.deepEqual(released, [1, 1, 1, 1, 1, 1]);
  w.close();
});
