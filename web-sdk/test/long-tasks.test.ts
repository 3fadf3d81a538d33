/**
 * Long tasks charged to MobX spans at export: a fake PerformanceObserver feeds entries (Node has
 * no long tasks); spans are plain ReadableSpan-shaped objects with epoch HrTimes.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { millisToHrTime } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-web';
import { observeLongTasks } from '../src/setup/long-tasks.ts';

interface FakeEntry {
  entryType: string;
  startTime: number;
  duration: number;
  scripts?: Array<{ duration: number; invoker?: string; sourceFunctionName?: string }>;
}

const observers: FakeObserver[] = [];
class FakeObserver {
  static supportedEntryTypes = ['longtask', 'long-animation-frame'];
  type = '';
  queued: FakeEntry[] = [];
  disconnected = false;
  constructor(readonly cb: (list: { getEntries(): FakeEntry[] }) => void) {
    observers.push(this);
  }
  observe(o: { type: string }): void {
    this.type = o.type;
  }
  takeRecords(): FakeEntry[] {
    const q = this.queued;
    this.queued = [];
    return q;
  }
  disconnect(): void {
    this.disconnected = true;
  }
}

const realObserver = globalThis.PerformanceObserver;
afterEach(() => {
  globalThis.PerformanceObserver = realObserver;
  observers.length = 0;
});

/** A span from `start` to `end` ms (performance time), MobX or not. */
function span(name: string, start: number, end: number, mobx = true): ReadableSpan {
  const origin = performance.timeOrigin;
  return {
    name,
    attributes: mobx ? { 'mobx.kind': 'action', action_name: name } : { 'http.url': '/x' },
    startTime: millisToHrTime(origin + start),
    endTime: millisToHrTime(origin + end),
    spanContext: () => ({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }),
  } as unknown as ReadableSpan;
}

test('a long task overlapping a MobX span is charged whole (blocked_ms, long_tasks); others are not; non-MobX spans are untouched', () => {
  globalThis.PerformanceObserver = FakeObserver as unknown as typeof PerformanceObserver;
  const log = observeLongTasks();
  assert.ok(log);
  const tasks = observers.find((o) => o.type === 'longtask') as FakeObserver;
  const frames = observers.find((o) => o.type === 'long-animation-frame') as FakeObserver;
  // Delivered through the callback: a 300 ms task that starts before the action (the click handler).
  tasks.cb({ getEntries: () => [{ entryType: 'longtask', startTime: 1000, duration: 300 }] });
  // Still queued in the observer at export time: taken by charge().
  tasks.queued.push({ entryType: 'longtask', startTime: 1400, duration: 80 }, { entryType: 'longtask', startTime: 5000, duration: 60 });
  frames.queued.push({ entryType: 'long-animation-frame', startTime: 990, duration: 320, scripts: [{ duration: 20, invoker: 'small' }, { duration: 290, invoker: 'BUTTON#go.onclick', sourceFunctionName: 'applyFilter' }] });

  const [action, later, idle, fetchSpan] = log.charge([span('applyFilter', 1250, 1260), span('reaction', 1390, 1500), span('idle', 2000, 2100), span('GET /x', 1000, 1300, false)]);
  assert.equal(action?.attributes.blocked_ms, 300);
  assert.equal(action?.attributes.long_tasks, 1);
  assert.equal(action?.attributes['blocked.script'], 'applyFilter (BUTTON#go.onclick)');
  assert.equal(action?.attributes.action_name, 'applyFilter', 'the other attributes are kept');
  assert.equal(action?.spanContext().spanId, 'b'.repeat(16), 'the charged span still reads as the span');
  assert.equal(later?.attributes.blocked_ms, 80);
  assert.equal(idle?.attributes.blocked_ms, undefined);
  assert.equal(fetchSpan?.attributes.blocked_ms, undefined);
  log.stop();
  assert.ok(tasks.disconnected && frames.disconnected);
});

test('without long-task support there is nothing to observe', () => {
  class NoLongTasks extends FakeObserver {
    static override supportedEntryTypes = ['mark'];
  }
  globalThis.PerformanceObserver = NoLongTasks as unknown as typeof PerformanceObserver;
  assert.equal(observeLongTasks(), undefined);
});
