import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-web';
import { ATTR_BLOCKED_MS, ATTR_BLOCKED_SCRIPT, ATTR_LONG_TASKS, ATTR_MOBX_KIND } from '../core/attributes.ts';
import { reportInternalError } from '../core/report.ts';

/** A long task (or a long animation frame's blocking part), in epoch milliseconds. */
interface Blocked {
  readonly start: number;
  readonly end: number;
  /** The longest script of a long animation frame, when the browser attributes it. */
  readonly script: string;
}

/** Recent long tasks kept for charging; spans export within seconds, so a few hundred is plenty. */
const KEEP = 256;

export interface LongTaskLog {
  /** MobX spans with the long tasks they overlap charged to them; other spans unchanged. */
  charge(spans: ReadableSpan[]): ReadableSpan[];
  stop(): void;
}

interface LoafScript {
  readonly duration: number;
  readonly invoker?: string;
  readonly sourceFunctionName?: string;
}

function longestScript(entry: PerformanceEntry): string {
  const scripts = (entry as { scripts?: readonly LoafScript[] }).scripts ?? [];
  let best: LoafScript | undefined;
  for (const s of scripts) if (best === undefined || s.duration > best.duration) best = s;
  if (best === undefined) return '';
  return best.sourceFunctionName ? `${best.sourceFunctionName} (${best.invoker ?? ''})` : (best.invoker ?? '');
}

function observe(type: string, cb: (entries: PerformanceEntry[]) => void): PerformanceObserver | undefined {
  if (!PerformanceObserver.supportedEntryTypes?.includes(type)) return undefined;
  const po = new PerformanceObserver((list) => cb(list.getEntries()));
  po.observe({ type, buffered: true });
  return po;
}

/**
 * Observes long tasks and, where the browser has them, long animation frames, and charges them
 * at export time to the MobX spans they overlap: no work on the app's path, only a passive
 * observer. A task that overlaps a span is charged whole, because the task usually starts before
 * the action it contains (the click handler that calls the action is the task). Entries still
 * queued in the observers are taken at export, so a batch sent right after a task sees it.
 */
export function observeLongTasks(): LongTaskLog | undefined {
  if (typeof PerformanceObserver === 'undefined' || typeof performance === 'undefined') return undefined;
  const origin = performance.timeOrigin;
  const tasks: Blocked[] = [];
  const frames: Blocked[] = [];
  const keep = (into: Blocked[], e: PerformanceEntry, script: string): void => {
    into.push({ start: origin + e.startTime, end: origin + e.startTime + e.duration, script });
    if (into.length > KEEP) into.splice(0, into.length - KEEP);
  };
  const onTasks = (list: PerformanceEntry[]): void => list.forEach((e) => keep(tasks, e, ''));
  const onFrames = (list: PerformanceEntry[]): void => list.forEach((e) => keep(frames, e, longestScript(e)));
  let taskPo: PerformanceObserver | undefined;
  let framePo: PerformanceObserver | undefined;
  try {
    taskPo = observe('longtask', onTasks);
    framePo = observe('long-animation-frame', onFrames);
  } catch (err) {
    reportInternalError('long task observer', err);
  }
  if (taskPo === undefined) return undefined;

  function chargeOne(span: ReadableSpan): ReadableSpan {
    const start = hrTimeToMilliseconds(span.startTime);
    const end = hrTimeToMilliseconds(span.endTime);
    let blocked = 0;
    let count = 0;
    for (const t of tasks) {
      if (t.start < end && t.end > start) {
        blocked += t.end - t.start;
        count++;
      }
    }
    if (count === 0) return span;
    let script = '';
    for (const f of frames) if (f.script !== '' && f.start < end && f.end > start) script = f.script;
    const attributes = { ...span.attributes, [ATTR_BLOCKED_MS]: Math.round(blocked), [ATTR_LONG_TASKS]: count, ...(script === '' ? {} : { [ATTR_BLOCKED_SCRIPT]: script }) };
    // The ended span is read-only; a view of it with the extra attributes is what gets exported.
    return Object.create(span, { attributes: { value: attributes, enumerable: true } }) as ReadableSpan;
  }

  return {
    charge(spans) {
      try {
        if (taskPo !== undefined) onTasks(taskPo.takeRecords());
        if (framePo !== undefined) onFrames(framePo.takeRecords());
        if (tasks.length === 0) return spans;
        return spans.map((s) => (s.attributes[ATTR_MOBX_KIND] === undefined ? s : chargeOne(s)));
      } catch (err) {
        reportInternalError('charging long tasks', err);
        return spans;
      }
    },
    stop() {
      taskPo?.disconnect();
      framePo?.disconnect();
    },
  };
}
