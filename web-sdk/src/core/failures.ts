import type { SpanContext } from '@opentelemetry/api';

/**
 * The traced action an error escaped from. By the time an uncaught error reaches `window`'s
 * `error` event the action's span has ended and its context is gone, so the MobX bridge notes
 * the span here when it records the exception. Weak keys: the error object owns the entry.
 */
export interface FailedAction {
  readonly context: SpanContext;
  readonly actionName: string;
}

const failures = new WeakMap<object, FailedAction>();

export function noteFailure(error: unknown, failed: FailedAction): void {
  // Only the innermost action: the error passes through its parents' spans after it.
  if (typeof error === 'object' && error !== null && !failures.has(error)) failures.set(error, failed);
}

export function failureOf(error: unknown): FailedAction | undefined {
  return typeof error === 'object' && error !== null ? failures.get(error) : undefined;
}
