import { action } from 'mobx';
import { spanNameFor } from './names.ts';
import { runInSpan } from './spans.ts';

/**
 * A drop-in for MobX `action(name, fn)` that makes a span per call: named after the action, with
 * `action_name`, `view_name` and `mobx.kind=action`. Nested traced actions become child spans.
 *
 * The span is opened *outside* the MobX action, so when this is the outermost action its span
 * also covers the reactions MobX runs when the batch ends: the UI cost the user feels.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the same signature as MobX's action()
export function tracedAction<F extends (...args: any[]) => any>(name: string, fn: F): F {
  const spanName = spanNameFor('action', name);
  const act = action(spanName, fn);
  const traced = function (this: unknown, ...args: Parameters<F>): ReturnType<F> {
    return runInSpan(spanName, 'action', () => act.apply(this, args) as ReturnType<F>);
  };
  // MobX's isAction() contract. makeAutoObservable/observable() leave such a function alone
  // instead of wrapping it in autoAction, which would end our span before the reactions run.
  Object.defineProperty(traced, 'isMobxAction', { value: true });
  Object.defineProperty(traced, 'name', { value: spanName });
  return traced as F;
}
