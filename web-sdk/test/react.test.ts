/**
 * The React bindings rendered by react-dom into a happy-dom document, with mobx-react-lite
 * `observer` components. No `act()`: production builds of React do not have it, and this file
 * also runs against them (modes.test.ts). `flushSync` commits synchronously, effects included.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { observable, runInAction } from 'mobx';
import { observer } from 'mobx-react-lite';
import { createElement as h, useEffect, useLayoutEffect, version as reactVersion, type ReactNode } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import { getViewName } from '../src/index.ts';
import { tracedAction } from '../src/mobx/index.ts';
import { TenantlensView, useTrackedTransition, useViewName } from '../src/react/index.ts';
import { installDom, type TestDom } from './support/dom.ts';
import { startTestTracing, type TestTracing } from './support/tracing.ts';

let dom: TestDom;
let t: TestTracing;
let root: Root;
let container: HTMLElement;

// One document for the whole file: React DOM (development) still touches `window` from scheduled
// work after a root is unmounted.
before(() => {
  dom = installDom();
});
after(async () => {
  await new Promise((r) => setTimeout(r, 50));
  await dom.close();
});

beforeEach(() => {
  t = startTestTracing();
  container = document.createElement('div');
  document.body.appendChild(container);
  root = createRoot(container);
});

afterEach(async () => {
  root.unmount();
  container.remove();
  await t.shutdown();
});

const render = (node: ReactNode): void => flushSync(() => root.render(node));

/** Lets React run the re-render a MobX change scheduled (a microtask or a macrotask). */
const rerendered = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

test('React major matches the expectation of this run (when given)', () => {
  const major = process.env.TENANTLENS_EXPECT_REACT_MAJOR;
  if (major !== undefined) assert.equal(reactVersion.split('.')[0], major);
  assert.match(reactVersion, /^(18|19)\./);
});

test('<TenantlensView> sets view_name while mounted', () => {
  render(h(TenantlensView, { name: 'UserListView' }, h('p', null, 'users')));
  assert.equal(container.textContent, 'users');
  assert.equal(getViewName(), 'UserListView');
  render(h('p', null, 'gone'));
  assert.equal(getViewName(), 'unknown');
});

test('nested views: the inner one wins while mounted, whatever order React mounts them in', () => {
  const tree = (dialog: boolean): ReactNode =>
    h(TenantlensView, { name: 'UserListView' }, h('main', null, dialog ? h(TenantlensView, { name: 'EditUserDialog' }, 'dialog') : 'list'));
  render(tree(true));
  assert.equal(getViewName(), 'EditUserDialog');
  render(tree(false));
  assert.equal(getViewName(), 'UserListView');
});

test("a child's mount effects (layout and passive) already see the enclosing view", async () => {
  const onLayout = tracedAction('measureOnMount', () => {});
  const onMount = tracedAction('loadOnMount', () => {});
  function Child(): ReactNode {
    useLayoutEffect(() => onLayout(), []);
    useEffect(() => onMount(), []);
    return 'child';
  }
  render(h(TenantlensView, { name: 'UserListView' }, h(Child)));
  const spans = await t.spans();
  assert.deepEqual(
    spans.map((s) => [s.name, s.attributes.view_name]),
    [
      ['measureOnMount', 'UserListView'],
      ['loadOnMount', 'UserListView'],
    ],
  );
});

test('useViewName(name) in a component', () => {
  function Settings(): ReactNode {
    useViewName('SettingsView');
    return 'settings';
  }
  render(h(Settings));
  assert.equal(getViewName(), 'SettingsView');
  root.unmount();
  root = createRoot(container);
  assert.equal(getViewName(), 'unknown');
});

test('an observer component: a click runs a traced action with the view, and re-renders', async () => {
  const store = observable({ count: 0 });
  const increment = tracedAction('increment', () => {
    store.count++;
  });
  const Counter = observer(function Counter(): ReactNode {
    return h('button', { onClick: () => increment() }, `count ${store.count}`);
  });
  render(h(TenantlensView, { name: 'CounterView' }, h(Counter)));
  const button = container.querySelector('button');
  assert.ok(button);
  button.click();
  await rerendered();
  assert.equal(button.textContent, 'count 1');
  const span = await t.one('increment');
  assert.equal(span.attributes.view_name, 'CounterView');
  assert.equal(span.attributes.session_id, t.tl.sessionId);
});

test('useTrackedTransition: a span per loading cycle with the enclosing view and attributes, disposed on unmount', async () => {
  const store = observable({ loading: false, users: [] as string[] });
  const UserList = observer(function UserList(): ReactNode {
    useTrackedTransition(() => store.loading, { action: 'fetchUsers', attributes: () => ({ element_count: store.users.length }) });
    return h('ul', null, store.users.map((u) => h('li', { key: u }, u)));
  });
  render(h(TenantlensView, { name: 'UserListView' }, h(UserList)));
  runInAction(() => {
    store.loading = true;
  });
  runInAction(() => {
    store.loading = false;
    store.users = ['ada', 'grace'];
  });
  await rerendered();
  assert.equal(container.querySelectorAll('li').length, 2);
  render(h('p', null, 'elsewhere'));
  runInAction(() => {
    store.loading = true;
  });
  runInAction(() => {
    store.loading = false;
  });
  await rerendered();
  const spans = (await t.spans()).filter((s) => s.name === 'fetchUsers');
  assert.equal(spans.length, 1, 'no span after unmount');
  assert.equal(spans[0]?.attributes.view_name, 'UserListView');
  assert.equal(spans[0]?.attributes.element_count, 2);
  assert.equal(spans[0]?.attributes['mobx.kind'], 'transition');
});
