import { context, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { ATTR_ACTION_NAME, ATTR_MOBX_KIND, ATTR_VIEW_NAME, type MobxKind } from '../core/attributes.ts';
import { bridgeTracer } from '../core/bridge.ts';
import { noteFailure } from '../core/failures.ts';
import { reportInternalError } from '../core/report.ts';
import { getViewName } from '../core/view.ts';

export interface StartedSpan {
  readonly span: Span;
  /** The parent context with this span active: run the traced code in it. */
  readonly ctx: Context;
}

/** A performance.now() timestamp; OpenTelemetry reads small numbers as performance time. */
export function perfNow(): number {
  return performance.now();
}

/**
 * Starts a MobX span with the attributes every one of them carries. Returns `undefined` when the
 * tracer fails, and the caller then runs the code untraced: telemetry never stops the app.
 */
export function startMobxSpan(
  name: string,
  kind: MobxKind,
  opts: { view?: string | undefined; startTime?: number | undefined; attributes?: Attributes | undefined } = {},
): StartedSpan | undefined {
  try {
    const parent = context.active();
    const span = bridgeTracer().startSpan(
      name,
      {
        attributes: { ...opts.attributes, [ATTR_ACTION_NAME]: name, [ATTR_VIEW_NAME]: opts.view ?? getViewName(), [ATTR_MOBX_KIND]: kind },
        ...(opts.startTime === undefined ? {} : { startTime: opts.startTime }),
      },
      parent,
    );
    return { span, ctx: trace.setSpan(parent, span) };
  } catch (err) {
    reportInternalError(`starting the ${kind} span "${name}"`, err);
    return undefined;
  }
}

function actionNameOf(span: Span): string {
  const attrs = (span as { attributes?: Attributes }).attributes;
  const name = attrs?.[ATTR_ACTION_NAME];
  return typeof name === 'string' ? name : '';
}

/** Ends a span, recording `error` if given. Never throws. */
export function endMobxSpan(span: Span, error?: unknown, endTime?: number, attributes?: Attributes): void {
  try {
    if (attributes !== undefined) span.setAttributes(attributes);
    if (error !== undefined) {
      // For the error capture: an uncaught error is linked to the action it escaped from.
      noteFailure(error, { context: span.spanContext(), actionName: actionNameOf(span) });
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
    span.end(endTime);
  } catch (err) {
    reportInternalError('ending a span', err);
  }
}

/**
 * Runs `run` inside a span. The app's own exception is recorded and rethrown unchanged; the span
 * ends in every case. With `startTime` (performance time) the end is taken from the same clock,
 * because OpenTelemetry ends a span that had an explicit start with Date.now() (milliseconds).
 */
export function runInSpan<T>(name: string, kind: MobxKind, run: () => T, startTime?: number): T {
  const started = startMobxSpan(name, kind, { startTime });
  if (started === undefined) return run();
  let failure: unknown;
  let failed = false;
  try {
    return context.with(started.ctx, run);
  } catch (err) {
    failed = true;
    failure = err;
    throw err;
  } finally {
    endMobxSpan(started.span, failed ? (failure ?? 'thrown value') : undefined, startTime === undefined ? undefined : perfNow());
  }
}
