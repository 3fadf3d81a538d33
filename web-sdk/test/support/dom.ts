import { Window } from 'happy-dom';

/**
 * A happy-dom window whose document, storage and location are installed as Node globals, the way
 * the SDK finds them in a browser. Only the names the SDK and React DOM read are installed, so
 * Node's own fetch, timers and performance stay in place.
 */
export interface TestDom {
  readonly window: Window;
  /** Sets `document.visibilityState` and fires `visibilitychange` at the document. */
  setVisibility(state: 'visible' | 'hidden'): void;
  /** Fires `pagehide` at the window (where browsers fire it). */
  pageHide(): void;
  close(): Promise<void>;
}

const NAMES = [
  'window',
  'document',
  'sessionStorage',
  'localStorage',
  'location',
  'navigator',
  'HTMLElement',
  'HTMLIFrameElement',
  'Element',
  'Node',
  'Text',
  'MutationObserver',
] as const;

export function installDom(url = 'https://app.example.com/users'): TestDom {
  const window = new Window({ url });
  const g = globalThis as Record<string, unknown>;
  const saved = new Map<string, PropertyDescriptor | undefined>();
  for (const name of NAMES) {
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, {
      value: name === 'window' ? window : (window as unknown as Record<string, unknown>)[name],
      configurable: true,
      writable: true,
    });
  }
  let visibility: 'visible' | 'hidden' = 'visible';
  Object.defineProperty(window.document, 'visibilityState', { get: () => visibility, configurable: true });
  return {
    window,
    setVisibility(state) {
      visibility = state;
      window.document.dispatchEvent(new window.Event('visibilitychange'));
    },
    pageHide() {
      window.dispatchEvent(new window.Event('pagehide'));
    },
    async close() {
      for (const [name, desc] of saved) {
        if (desc === undefined) delete g[name];
        else Object.defineProperty(globalThis, name, desc);
      }
      await window.happyDOM.close();
    },
  };
}
