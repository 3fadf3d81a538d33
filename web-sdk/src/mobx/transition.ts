import type { Attributes, Span } from '@opentelemetry/api';
import { reaction } from 'mobx';
import { reportInternalError } from '../core/report.ts';
import { spanNameFor } from './names.ts';
import { endMobxSpan, startMobxSpan } from './spans.ts';

export interface TransitionOptions {
  /** Span name and `action_name`, e.g. `fetchUsers`. */
  action: string;
  /** `view_name` of the span; default: the current view when the transition starts. */
  view?: string;
  /** Read when the transition ends, e.g. `() => ({ element_count: store.users.length })`. */
  attributes?: () => Attributes;
}

/**
 * The loading-cycle pattern: a span (`mobx.kind=transition`) starts when `expression` turns true
 * and ends when it turns false, e.g. `trackTransition(() => store.isLoading, { action: 'fetchUsers' })`.
 * Returns a disposer. A transition still open when disposed (the view went away mid-load) is
 * not exported: it has no end, so its duration would be invented.
 *
 * The end is taken one microtask after the expression turns false, so the span also covers the
 * other reactions of that flush (the re-render the user waits for). `attributes()` is read when
 * it turns false, inside MobX's reaction, so it sees the state that ended the transition.
 */
export function trackTransition(expression: () => unknown, options: TransitionOptions): () => void {
  const opts: Partial<TransitionOptions> = options ?? {}; // plain-JS callers may omit it: warn, don't throw
  const name = spanNameFor('transition', opts.action);
  let open: Span | undefined;
  let dispose: (() => void) | undefined;
  try {
    dispose = reaction(
      () => Boolean(expression()),
      (on) => {
        if (on) {
          open ??= startMobxSpan(name, 'transition', { view: opts.view })?.span;
          return;
        }
        const span = open;
        if (span === undefined) return;
        open = undefined;
        let attributes: Attributes | undefined;
        try {
          attributes = opts.attributes?.();
        } catch (err) {
          reportInternalError(`trackTransition "${name}" attributes()`, err);
        }
        queueMicrotask(() => endMobxSpan(span, undefined, undefined, attributes));
      },
      { fireImmediately: true, name: `tenantlens.transition ${name}` },
    );
  } catch (err) {
    reportInternalError(`trackTransition "${name}"`, err);
  }
  return () => {
    open = undefined;
    dispose?.();
    dispose = undefined;
  };
}
