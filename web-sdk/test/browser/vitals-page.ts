/**
 * The page test/web-sdk-vitals-browser.test.ts loads in Chromium: a late large image and a
 * layout shift (LCP, CLS), a button whose handler busy-waits 300 ms (INP), errors of every kind,
 * a MobX reaction that blocks the main thread 200 ms, and a pushState navigation to a second
 * view. `?gateway=<url>&tenant=<id>`.
 */
import { makeAutoObservable } from 'mobx';
import { observer } from 'mobx-react-lite';
import { createElement as h, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { reportError, startTenantlens } from '../../src/index.ts';
import { tracedAction, tracedReaction } from '../../src/mobx/index.ts';
import { TenantlensView } from '../../src/react/index.ts';

const params = new URLSearchParams(location.search);
const tenant = params.get('tenant') ?? '';

const tl = startTenantlens({
  url: params.get('gateway') ?? '',
  serviceName: 'vitals-test',
  headers: { 'X-Tenant-ID': tenant },
  scheduledDelayMillis: 600_000,
  beforeSend: (event) => {
    const message = event.attributes['exception.message'];
    if (typeof message !== 'string') return event;
    if (message.includes('secret')) return null;
    event.attributes['exception.message'] = message.replace(/[\w.]+@[\w.]+/g, '[email]');
    return event;
  },
});

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the main thread is blocked on purpose
  }
}

class UiStore {
  route: 'vitals' | 'second' = 'vitals';
  filter = 0;
  constructor() {
    makeAutoObservable(this);
  }
  applyFilter = tracedAction('applyFilter', () => {
    this.filter++;
  });
  go = tracedAction('go', (route: 'vitals' | 'second') => {
    this.route = route;
  });
}
const ui = new UiStore();
// The seed's "MobX state change freezing the UI": a reaction that blocks for 200 ms.
tracedReaction('recomputeTotals', () => ui.filter, () => busyWait(200));

function throwLater(message: string): void {
  setTimeout(() => {
    throw new TypeError(message);
  }, 0);
}

function burst(): void {
  for (let i = 0; i < 50; i++) throwLater('same error every time');
}

const Vitals = observer(function Vitals(): ReactNode {
  return h(
    'main',
    null,
    h('button', { id: 'busy', onClick: () => busyWait(300) }, 'Busy 300 ms'),
    h('button', { id: 'block', onClick: () => ui.applyFilter() }, 'Filter (blocks)'),
    h('button', { id: 'throw', onClick: () => throwLater('boom at https://app.example/p?token=abc#x') }, 'Throw'),
    h('button', { id: 'reject', onClick: () => void Promise.reject(new RangeError('rejected on purpose')) }, 'Reject'),
    h('button', { id: 'burst', onClick: burst }, 'Burst'),
    h('button', { id: 'secret', onClick: () => reportError(new Error('secret token leaked')) }, 'Secret'),
    h('button', { id: 'scrub', onClick: () => reportError(new Error('mail to bob@example.com failed'), { 'app.step': 'send' }) }, 'Scrub'),
    h(
      'button',
      {
        id: 'nav',
        onClick: () => {
          history.pushState({}, '', '/second');
          ui.go('second');
        },
      },
      'Go',
    ),
    h('p', { id: 'content' }, 'Content that a late banner pushes down.'),
  );
});

const App = observer(function App(): ReactNode {
  return ui.route === 'vitals' ? h(TenantlensView, { name: 'VitalsView' }, h(Vitals)) : h(TenantlensView, { name: 'SecondView' }, h('p', { id: 'second' }, 'Second view'));
});

const container = document.getElementById('root');
if (container !== null) createRoot(container).render(h(App));

// A late banner above the content: a layout shift without recent input (CLS).
setTimeout(() => {
  const banner = document.createElement('div');
  banner.style.height = '200px';
  banner.textContent = 'Late banner';
  document.body.insertBefore(banner, document.body.firstChild);
}, 300);

// A late, large, noisy image: the LCP element (Chromium ignores low-entropy images).
setTimeout(() => {
  const img = document.createElement('img');
  img.id = 'hero';
  img.width = 640;
  img.height = 400;
  img.onload = () => Object.assign(window, { heroLoaded: true });
  img.src = '/img/hero.bmp?v=1';
  document.body.appendChild(img);
}, 500);

Object.assign(window, {
  tenantlens: {
    sessionId: () => tl.sessionId,
    flush: () => tl.forceFlush(),
    stats: () => tl.stats(),
  },
});
