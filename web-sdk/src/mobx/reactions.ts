import { autorun, reaction, type IAutorunOptions, type IReactionDisposer, type IReactionOptions, type IReactionPublic } from 'mobx';
import { spanNameFor } from './names.ts';
import { perfNow, runInSpan } from './spans.ts';

/**
 * MobX `reaction` with a span (`mobx.kind=reaction`) per effect run, from the start of the
 * expression evaluation that triggered it to the end of the effect. Runs whose value did not
 * change make no span. Reactions run when the batch that changed their inputs ends, so the span
 * is a child of the traced action or flow that caused it.
 */
export function tracedReaction<T, FireImmediately extends boolean = false>(
  name: string,
  expression: (r: IReactionPublic) => T,
  effect: (value: T, previous: FireImmediately extends true ? T | undefined : T, r: IReactionPublic) => void,
  opts: IReactionOptions<T, FireImmediately> = {},
): IReactionDisposer {
  const spanName = spanNameFor('reaction', name);
  // With a delay or a custom scheduler the effect runs later; timing from the expression would
  // then count the wait, so such spans cover the effect only.
  const fromExpression = opts.delay === undefined && opts.scheduler === undefined;
  let startedAt: number | undefined;
  return reaction(
    (r) => {
      startedAt = perfNow();
      return expression(r);
    },
    (value, previous, r) => runInSpan(spanName, 'reaction', () => effect(value, previous, r), fromExpression ? startedAt : undefined),
    { ...opts, name: spanName },
  );
}

/** MobX `autorun` with a span (`mobx.kind=reaction`) per run, the first one included. */
export function tracedAutorun(name: string, fn: (r: IReactionPublic) => unknown, opts: IAutorunOptions = {}): IReactionDisposer {
  const spanName = spanNameFor('reaction', name);
  return autorun((r) => runInSpan(spanName, 'reaction', () => fn(r)), { ...opts, name: spanName });
}
