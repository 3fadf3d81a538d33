import { trace, type Attributes, type SpanContext } from '@opentelemetry/api';
import { ATTR_ACTION_NAME } from '../core/attributes.ts';
import { failureOf } from '../core/failures.ts';
import { reportInternalError } from '../core/report.ts';
import type { EventEmitter } from './emitter.ts';
import { EVENT_EXCEPTION, type EventAttributeValue } from './event.ts';

/** OpenTelemetry exception conventions (`exception.*`), plus ours for the burst count. */
export const ATTR_EXCEPTION_TYPE = 'exception.type';
export const ATTR_EXCEPTION_MESSAGE = 'exception.message';
export const ATTR_EXCEPTION_STACKTRACE = 'exception.stacktrace';
/** How many identical errors this one event stands for (a burst is sent once). */
export const ATTR_EXCEPTION_COUNT = 'exception.count';
/** `uncaught`, `unhandledrejection` or `reportError`. */
export const ATTR_EXCEPTION_SOURCE = 'exception.source';

export type ErrorSource = 'uncaught' | 'unhandledrejection' | 'reportError';

export interface ErrorCaptureOptions {
  readonly emitter: EventEmitter;
  /** Identical errors within this window after the first are counted into one event. */
  readonly burstMillis: number;
  /** Where `error` and `unhandledrejection` are listened to; undefined: `reportError` only. */
  readonly target: Pick<Window, 'addEventListener' | 'removeEventListener'> | undefined;
}

export interface ErrorCapture {
  report(error: unknown, source: ErrorSource, attributes?: Attributes): void;
  /** Sends the bursts still being counted (page hidden, flush, shutdown). */
  flushBursts(): void;
  stop(): void;
}

interface Burst {
  readonly attributes: Record<string, EventAttributeValue>;
  readonly context: SpanContext | undefined;
  count: number;
}

/** Distinct errors counted at once; past it an error is sent alone rather than held. */
const MAX_BURSTS = 32;

/** `exception.type`, `.message` and `.stacktrace` of anything thrown. */
export function describeError(error: unknown): { type: string; message: string; stack: string } {
  if (error instanceof Error) {
    return { type: error.name || error.constructor?.name || 'Error', message: error.message, stack: typeof error.stack === 'string' ? error.stack : '' };
  }
  if (typeof error === 'object' && error !== null) {
    let text: string;
    try {
      text = JSON.stringify(error);
    } catch {
      text = Object.prototype.toString.call(error);
    }
    return { type: 'object', message: text, stack: '' };
  }
  return { type: typeof error, message: String(error), stack: '' };
}

/** An `ErrorEvent` without an error object (a cross-origin script): its message and location. */
function fromErrorEvent(e: ErrorEvent): unknown {
  if (e.error !== undefined && e.error !== null) return e.error;
  const err = new Error(e.message || 'Script error.');
  err.stack = `${err.message}\n    at ${e.filename || '<anonymous>'}:${e.lineno}:${e.colno}`;
  return err;
}

/** The traced action an error belongs to: the one it escaped from, else the active span. */
function linkOf(error: unknown): { context: SpanContext | undefined; actionName: string } {
  const failed = failureOf(error);
  if (failed !== undefined) return { context: failed.context, actionName: failed.actionName };
  const span = trace.getActiveSpan();
  if (span === undefined || !span.isRecording()) return { context: undefined, actionName: '' };
  const name = (span as { attributes?: Attributes }).attributes?.[ATTR_ACTION_NAME];
  return { context: span.spanContext(), actionName: typeof name === 'string' ? name : '' };
}

function burstKey(a: Record<string, EventAttributeValue>): string {
  const stack = String(a[ATTR_EXCEPTION_STACKTRACE] ?? '');
  // The first frame, not the whole stack: the same throw reached through two callers is one error.
  const frame = stack.split('\n').find((l) => /^\s+at\s|@/.test(l)) ?? '';
  return `${String(a[ATTR_EXCEPTION_TYPE])}\n${String(a[ATTR_EXCEPTION_MESSAGE])}\n${frame}`;
}

/**
 * Uncaught errors, unhandled rejections and `reportError()`, as `exception` events. Identical
 * errors (type, message, first frame) within `burstMillis` of the first become one event with
 * `exception.count`, sent when the window closes: a render loop that throws 50 times a second is
 * one row, not 50.
 */
export function createErrorCapture(o: ErrorCaptureOptions): ErrorCapture {
  const bursts = new Map<string, Burst>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  function send(b: Burst): void {
    o.emitter.emit(EVENT_EXCEPTION, { ...b.attributes, [ATTR_EXCEPTION_COUNT]: b.count }, b.context);
  }

  function flushBursts(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const all = [...bursts.values()];
    bursts.clear();
    for (const b of all) send(b);
  }

  function report(error: unknown, source: ErrorSource, extra?: Attributes): void {
    try {
      const { type, message, stack } = describeError(error);
      const { context, actionName } = linkOf(error);
      const attributes: Record<string, EventAttributeValue> = {};
      for (const [k, v] of Object.entries(extra ?? {})) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
      Object.assign(attributes, {
        [ATTR_EXCEPTION_TYPE]: type,
        [ATTR_EXCEPTION_MESSAGE]: message,
        [ATTR_EXCEPTION_STACKTRACE]: stack,
        [ATTR_EXCEPTION_SOURCE]: source,
      });
      if (actionName !== '') attributes[ATTR_ACTION_NAME] = actionName;
      const key = burstKey(attributes);
      const held = bursts.get(key);
      if (held !== undefined) {
        held.count++;
        return;
      }
      const burst: Burst = { attributes, context, count: 1 };
      if (bursts.size >= MAX_BURSTS) return send(burst);
      bursts.set(key, burst);
      timer ??= setTimeout(flushBursts, o.burstMillis);
    } catch (err) {
      reportInternalError('error capture', err);
    }
  }

  const onError = (e: Event): void => report(fromErrorEvent(e as ErrorEvent), 'uncaught');
  const onRejection = (e: Event): void => report((e as PromiseRejectionEvent).reason, 'unhandledrejection');
  o.target?.addEventListener('error', onError);
  o.target?.addEventListener('unhandledrejection', onRejection);

  return {
    report,
    flushBursts,
    stop() {
      o.target?.removeEventListener('error', onError);
      o.target?.removeEventListener('unhandledrejection', onRejection);
      flushBursts();
    },
  };
}
