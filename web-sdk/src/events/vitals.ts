import { ATTR_VIEW_NAME } from '../core/attributes.ts';
import { reportInternalError } from '../core/report.ts';
import { viewAt } from '../core/view.ts';
import type { EventEmitter } from './emitter.ts';
import { EVENT_WEB_VITAL } from './event.ts';

/**
 * Core Web Vitals through the `web-vitals` attribution build, imported lazily: the library is
 * 5.5 KB min+gzip on its own, more than the main entry's whole budget for this feature, and
 * nothing needs it before the page has painted. Its observers read buffered entries.
 */
export function startVitals(emitter: EventEmitter, isStopped: () => boolean): void {
  import('./vitals-observe.ts')
    .then((m) => {
      if (isStopped()) return;
      m.observeVitals((attributes, at) => {
        // web-vitals cannot be unsubscribed; after shutdown its reports are ignored.
        if (!isStopped()) emitter.emit(EVENT_WEB_VITAL, { ...attributes, [ATTR_VIEW_NAME]: viewAt(at) });
      });
    })
    .catch((err: unknown) => reportInternalError('loading web-vitals', err));
}
