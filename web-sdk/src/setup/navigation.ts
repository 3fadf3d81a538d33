import type { Span, Tracer } from '@opentelemetry/api';
import { ATTR_ACTION_NAME, ATTR_VIEW_NAME } from '../core/attributes.ts';
import { reportInternalError } from '../core/report.ts';
import { getViewName, onViewChange } from '../core/view.ts';

/** `push` (history.pushState), `pop` (back/forward) or `explicit` (`startNavigation()`). */
export type NavigationTrigger = 'push' | 'pop' | 'explicit';

export const ATTR_NAVIGATION_TRIGGER = 'navigation.trigger';
/** `navigation` on every navigation span: its `action_name` in `frontend_performance`. */
export const NAVIGATION_ACTION = 'navigation';

export interface NavigationTracker {
  start(trigger: NavigationTrigger): void;
  stop(): void;
}

export interface NavigationOptions {
  readonly tracer: Tracer;
  /** Patch `history.pushState` and listen to `popstate`. */
  readonly history: boolean;
  /** A navigation whose view never changes ends after this long, named after the current view. */
  readonly timeoutMillis: number;
}

/** After the next frame is painted: rAF runs before paint, a task queued from it runs after. */
function afterNextPaint(fn: () => void): void {
  if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible') requestAnimationFrame(() => setTimeout(fn, 0));
  else setTimeout(fn, 0);
}

/**
 * A router-agnostic navigation span: from a History API change (or an explicit call) to the
 * first paint after the new view rendered, named after that view. The view is what
 * `<TenantlensView>`/`enterView` set, so any router works: the span ends when the route's view
 * mounts, whatever changed the URL.
 */
export function createNavigationTracker(o: NavigationOptions): NavigationTracker {
  let span: Span | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function end(view: string, viewChanged: boolean): void {
    const s = span;
    span = undefined;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (s === undefined) return;
    try {
      s.updateName(view);
      s.setAttributes({ [ATTR_VIEW_NAME]: view, 'navigation.view_changed': viewChanged });
      s.end();
    } catch (err) {
      reportInternalError('ending a navigation span', err);
    }
  }

  // The view read after the paint, not the one passed here: a route switch first leaves the old
  // view (the default view is current for a moment) and then enters the new one.
  const unsubscribe = onViewChange(() => {
    const s = span;
    if (s !== undefined) afterNextPaint(() => span === s && end(getViewName(), true));
  });

  function start(trigger: NavigationTrigger): void {
    try {
      // A navigation that starts before the last one rendered supersedes it.
      if (span !== undefined) end(getViewName(), false);
      span = o.tracer.startSpan(NAVIGATION_ACTION, {
        attributes: { [ATTR_ACTION_NAME]: NAVIGATION_ACTION, [ATTR_NAVIGATION_TRIGGER]: trigger, 'url.path': location.pathname },
      });
      const s = span;
      timer = setTimeout(() => span === s && end(getViewName(), false), o.timeoutMillis);
    } catch (err) {
      reportInternalError('starting a navigation span', err);
    }
  }

  const onPop = (): void => start('pop');
  const original = o.history && typeof history !== 'undefined' ? history.pushState : undefined;
  const patched = function (this: History, ...args: Parameters<History['pushState']>): void {
    (original as History['pushState']).apply(this, args);
    start('push');
  };
  if (original !== undefined) {
    history.pushState = patched;
    addEventListener('popstate', onPop);
  }

  return {
    start,
    stop() {
      unsubscribe();
      if (original !== undefined) {
        // Only undo our own patch: a later wrapper (another library) keeps working.
        if (history.pushState === patched) history.pushState = original;
        removeEventListener('popstate', onPop);
      }
      end(getViewName(), false);
    },
  };
}
