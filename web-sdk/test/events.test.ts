/**
 * Errors and vitals as events: size limits, URL scrubbing (tables), burst counting, beforeSend,
 * the bounded queue, and the long-task charge on exported MobX spans.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { createEventEmitter, type EventCounters, type EventExporter, type EventRecord, type EmitterOptions } from '../src/events/emitter.ts';
import { createErrorCapture, describeError } from '../src/events/errors.ts';
import { MAX_MESSAGE_CHARS, MAX_STACK_CHARS, stripUrlQueries, truncate } from '../src/events/scrub.ts';

test('stripUrlQueries removes query strings and fragments from every absolute URL, keeping stack positions', () => {
  const table: Array<[string, string]> = [
    ['no url here', 'no url here'],
    ['https://app.example/p?token=abc', 'https://app.example/p'],
    ['https://app.example/p#frag', 'https://app.example/p'],
    ['GET https://api.example/users?email=a@b.c failed', 'GET https://api.example/users failed'],
    ['    at load (https://app.example/app.js?v=3:10:5)', '    at load (https://app.example/app.js:10:5)'],
    ['load@https://app.example/app.js?v=3:10:5', 'load@https://app.example/app.js:10:5'],
    ['    at https://app.example/app.js?v=3:7', '    at https://app.example/app.js:7'],
    ['two: http://a/x?1 and http://b/y?2', 'two: http://a/x and http://b/y'],
    ['http://a/x', 'http://a/x'],
    ['relative /p?q=1 stays', 'relative /p?q=1 stays'],
  ];
  for (const [input, want] of table) assert.equal(stripUrlQueries(input), want, input);
});

test('truncate cuts to the limit with an ellipsis and never splits a surrogate pair', () => {
  assert.equal(truncate('abc', 3), 'abc');
  assert.equal(truncate('abcd', 3), 'ab…');
  assert.equal(truncate('a😀b', 3), 'a…'); // the emoji would be cut in half
  assert.equal(truncate('x'.repeat(5000), MAX_MESSAGE_CHARS).length, MAX_MESSAGE_CHARS);
});

test('describeError: Error, non-Error objects, primitives', () => {
  const e = new RangeError('out');
  assert.deepEqual({ ...describeError(e), stack: '' }, { type: 'RangeError', message: 'out', stack: '' });
  assert.deepEqual(describeError({ code: 7 }), { type: 'object', message: '{"code":7}', stack: '' });
  assert.deepEqual(describeError('plain'), { type: 'string', message: 'plain', stack: '' });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(describeError(cyclic).message, '[object Object]');
});

class MemoryExporter implements EventExporter {
  records: EventRecord[] = [];
  answer: ExportResultCode = ExportResultCode.SUCCESS;
  export(records: EventRecord[], done: (r: ExportResult) => void): void {
    this.records.push(...records);
    done({ code: this.answer });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function emitter(over: Partial<EmitterOptions> = {}): { exporter: MemoryExporter; counters: EventCounters; e: ReturnType<typeof createEventEmitter> } {
  const exporter = new MemoryExporter();
  const counters: EventCounters = { exported: 0, dropped: 0, droppedByBeforeSend: 0 };
  const e = createEventEmitter({
    exporter,
    resource: resourceFromAttributes({ 'service.name': 't' }),
    sessionId: () => 's1',
    beforeSend: undefined,
    stripUrlQueries: true,
    delayMillis: 60_000,
    maxQueueSize: 100,
    isPageHidden: () => false,
    counters,
    ...over,
  });
  return { exporter, counters, e };
}

test('emit: exception attributes are scrubbed and cut to their limits; session and view are added', async () => {
  const { exporter, e } = emitter();
  e.emit('exception', {
    'exception.message': `failed at https://x/p?secret=1 ${'m'.repeat(2 * MAX_MESSAGE_CHARS)}`,
    'exception.stacktrace': 's'.repeat(2 * MAX_STACK_CHARS),
    other: 'o'.repeat(2000),
    n: Number.NaN,
  });
  await e.flush();
  const [r] = exporter.records;
  assert.equal(r?.eventName, 'exception');
  const a = r?.attributes as Record<string, string>;
  assert.ok(a['exception.message']?.startsWith('failed at https://x/p m'));
  assert.equal(a['exception.message']?.length, MAX_MESSAGE_CHARS);
  assert.equal(a['exception.stacktrace']?.length, MAX_STACK_CHARS);
  assert.equal(a.other?.length, 512);
  assert.equal(a.session_id, 's1');
  assert.equal(a.view_name, 'unknown');
  assert.equal('n' in a, false, 'a NaN is not sent');
});

test('emit: stripUrlQueries false keeps queries', async () => {
  const { exporter, e } = emitter({ stripUrlQueries: false });
  e.emit('exception', { 'exception.message': 'https://x/p?q=1' });
  await e.flush();
  assert.equal(exporter.records[0]?.attributes['exception.message'], 'https://x/p?q=1');
});

test('beforeSend drops (null, false, a throw) and scrubs (in place or by returning an event)', async () => {
  let calls = 0;
  const { exporter, counters, e } = emitter({
    beforeSend: (ev) => {
      calls++;
      const m = String(ev.attributes['exception.message']);
      if (m === 'drop-null') return null;
      if (m === 'drop-false') return false;
      if (m === 'throw') throw new Error('hook bug');
      if (m === 'replace') return { name: ev.name, attributes: { 'exception.message': 'replaced' } };
      ev.attributes['exception.message'] = m.replace(/\d/g, '#');
      return undefined;
    },
  });
  for (const m of ['drop-null', 'drop-false', 'throw', 'replace', 'card 4111']) e.emit('exception', { 'exception.message': m });
  await e.flush();
  assert.equal(calls, 5);
  assert.deepEqual(
    exporter.records.map((r) => r.attributes['exception.message']),
    ['replaced', 'card ####'],
  );
  assert.equal(counters.droppedByBeforeSend, 3);
  assert.equal(counters.exported, 2);
});

test('the queue is bounded (drops are counted) and a failed export is counted as dropped', async () => {
  const { exporter, counters, e } = emitter({ maxQueueSize: 3 });
  exporter.answer = ExportResultCode.FAILED;
  for (let i = 0; i < 5; i++) e.emit('exception', { 'exception.message': String(i) });
  await e.flush();
  assert.equal(counters.dropped, 5); // 2 over the bound + 3 whose export failed
  assert.equal(counters.exported, 0);
});

test('an event emitted while the page is hidden is sent at once (CLS and INP arrive after our own flush)', async () => {
  const { exporter, e } = emitter({ isPageHidden: () => true });
  e.emit('browser.web_vital', { 'browser.web_vital.name': 'CLS', 'browser.web_vital.value': 0.1 });
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(exporter.records.length, 1);
});

test('error bursts: identical errors within the window are one event with exception.count; different ones are separate', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { exporter, e } = emitter();
    const capture = createErrorCapture({ emitter: e, burstMillis: 1_000, target: undefined });
    const same = (): Error => new TypeError('same');
    for (let i = 0; i < 50; i++) capture.report(same(), 'uncaught');
    capture.report(new Error('other'), 'reportError', { 'app.step': 'x' });
    assert.equal(exporter.records.length, 0, 'held while the window is open');
    mock.timers.tick(1_000);
    mock.timers.reset();
    await e.flush();
    const byMessage = new Map(exporter.records.map((r) => [r.attributes['exception.message'], r.attributes]));
    assert.equal(exporter.records.length, 2);
    assert.equal(byMessage.get('same')?.['exception.count'], 50);
    assert.equal(byMessage.get('same')?.['exception.type'], 'TypeError');
    assert.equal(byMessage.get('same')?.['exception.source'], 'uncaught');
    assert.equal(byMessage.get('other')?.['exception.count'], 1);
    assert.equal(byMessage.get('other')?.['app.step'], 'x');
    // The next window starts afresh.
    capture.report(same(), 'uncaught');
    capture.flushBursts();
    await e.flush();
    assert.equal(exporter.records.at(-1)?.attributes['exception.count'], 1);
  } finally {
    mock.timers.reset();
  }
});

test('error capture never throws, even for hostile thrown values', () => {
  const { e } = emitter();
  const capture = createErrorCapture({ emitter: e, burstMillis: 1_000, target: undefined });
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
    },
  );
  assert.doesNotThrow(() => capture.report(hostile, 'reportError'));
  capture.stop();
});
