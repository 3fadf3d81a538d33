import { useContext, useInsertionEffect, useRef, type DependencyList } from 'react';
import { trackTransition, type TransitionOptions } from '../mobx/transition.ts';
import { ViewContext } from './view.ts';

/**
 * `trackTransition` bound to the component's lifetime: started on mount, disposed on unmount or
 * when `action`, `view` or `deps` change. `view` defaults to the enclosing `<TenantlensView>`.
 * `attributes` may be a new function on every render; the latest one is used.
 */
export function useTrackedTransition(expression: () => unknown, options: TransitionOptions, deps: DependencyList = []): void {
  const enclosing = useContext(ViewContext).name;
  const view = options.view ?? enclosing;
  const attributes = useRef(options.attributes);
  const latest = useRef(expression);
  // Updated in an effect rather than during render, so an abandoned concurrent render cannot leak in.
  useInsertionEffect(() => {
    attributes.current = options.attributes;
    latest.current = expression;
  });
  useInsertionEffect(
    () =>
      trackTransition(() => latest.current(), {
        action: options.action,
        ...(view === undefined ? {} : { view }),
        attributes: () => attributes.current?.() ?? {},
      }),
    [options.action, view, ...deps],
  );
}
