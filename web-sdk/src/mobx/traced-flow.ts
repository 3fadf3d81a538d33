import { context } from '@opentelemetry/api';
import { flow, isFlowCancellationError, type CancellablePromise } from 'mobx';
import { ATTR_MOBX_CANCELLED } from '../core/attributes.ts';
import { spanNameFor } from './names.ts';
import { ensureScheduler, setFlushParent } from './scheduler.ts';
import { endMobxSpan, startMobxSpan } from './spans.ts';

/**
 * A drop-in for MobX `flow(generator)`: one span (`mobx.kind=flow`) from the call until the
 * returned promise settles, awaits included. Each step of the generator runs with the flow span
 * active, so fetches, traced actions and reactions inside the flow become its children (the
 * browser has no async context propagation; this is how the flow carries it across `yield`).
 * A cancelled flow (`promise.cancel()`) ends its span with `mobx.cancelled=true`.
 */
export function tracedFlow<R, Args extends unknown[]>(
  name: string,
  generator: (...args: Args) => Generator<unknown, R, unknown>,
): (...args: Args) => CancellablePromise<R> {
  const spanName = spanNameFor('flow', name);
  ensureScheduler();

  function* stepped(this: unknown, ...args: Args): Generator<unknown, R, unknown> {
    // MobX runs the first step synchronously inside the traced call below: capture its context.
    const ctx = context.active();
    const it = generator.apply(this, args);
    let input: unknown;
    let throwIn = false;
    let first = true;
    let userDone = false; // the app's generator returned or threw
    try {
      for (;;) {
        if (!first) setFlushParent(ctx);
        first = false;
        let step: IteratorResult<unknown, R>;
        try {
          step = context.with(ctx, () => (throwIn ? it.throw(input) : it.next(input)));
        } catch (err) {
          userDone = true;
          throw err;
        }
        if (step.done === true) {
          userDone = true;
          return step.value;
        }
        try {
          input = yield step.value;
          throwIn = false;
        } catch (err) {
          input = err;
          throwIn = true;
        }
      }
    } finally {
      // Cancellation returns from our `yield`: forward it so the app's finally blocks run.
      if (!userDone) context.with(ctx, () => it.return(undefined as R));
    }
  }
  Object.defineProperty(stepped, 'name', { value: spanName }); // MobX names the steps after it

  const run = flow(stepped) as (...args: Args) => CancellablePromise<R>;
  const traced = function (this: unknown, ...args: Args): CancellablePromise<R> {
    const started = startMobxSpan(spanName, 'flow');
    if (started === undefined) return run.apply(this, args);
    let promise: CancellablePromise<R>;
    try {
      promise = context.with(started.ctx, () => run.apply(this, args));
    } catch (err) {
      endMobxSpan(started.span, err);
      throw err;
    }
    // Ending on settle (a microtask after the last step) includes the reactions of the last step.
    promise.then(
      () => endMobxSpan(started.span),
      (err: unknown) =>
        err instanceof Error && isFlowCancellationError(err)
          ? endMobxSpan(started.span, undefined, undefined, { [ATTR_MOBX_CANCELLED]: true })
          : endMobxSpan(started.span, err),
    );
    return promise;
  };
  // MobX's isFlow() contract: makeAutoObservable/observable() keep it as it is.
  Object.defineProperty(traced, 'isMobXFlow', { value: true });
  Object.defineProperty(traced, 'name', { value: spanName });
  return traced;
}
