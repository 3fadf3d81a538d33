/**
 * The page test/web-sdk-browser.test.ts loads in Chromium: a React + MobX user list built from
 * the package's three entries. Configured by its query string:
 * `?gateway=<url>&tenant=<id>` (the test starts the gateway and picks the tenant).
 */
import { makeAutoObservable } from 'mobx';
import { observer } from 'mobx-react-lite';
import { createElement as h, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { startTenantlens } from '../../src/index.ts';
import { instrumentMobx, tracedAction, tracedFlow } from '../../src/mobx/index.ts';
import { TenantlensView, useTrackedTransition } from '../../src/react/index.ts';

interface User {
  id: number;
  name: string;
}

const params = new URLSearchParams(location.search);
const tenant = params.get('tenant') ?? '';

const tl = startTenantlens({
  url: params.get('gateway') ?? '',
  serviceName: 'browser-test',
  serviceVersion: '1.0.0',
  // A function, as an app refreshing a token would pass; in header mode the gateway reads the
  // tenant from it (a custom header: the browser sends a CORS preflight first).
  headers: async () => ({ 'X-Tenant-ID': tenant }),
  // Long enough that only forceFlush() or the page being hidden sends anything.
  scheduledDelayMillis: 600_000,
});
instrumentMobx({ minDurationMs: 50 });

class UserStore {
  users: User[] = [];
  isLoading = false;
  selected: number | undefined = undefined;

  constructor() {
    makeAutoObservable(this);
  }

  loadUsers = tracedFlow('loadUsers', function* (this: UserStore) {
    this.isLoading = true;
    const res = (yield fetch('/api/users')) as Response;
    const users = (yield res.json()) as User[];
    this.users = users;
    this.isLoading = false;
  });

  select = tracedAction('selectUser', (id: number) => {
    this.selected = id;
  });
}

const store = new UserStore();

const UserList = observer(function UserList(): ReactNode {
  useTrackedTransition(() => store.isLoading, { action: 'fetchUsers', attributes: () => ({ element_count: store.users.length }) });
  return h(
    'main',
    null,
    h('button', { id: 'load', onClick: () => void store.loadUsers() }, 'Load users'),
    h('button', { id: 'select', onClick: () => store.select(1) }, 'Select first'),
    h('p', { id: 'status' }, store.isLoading ? 'loading' : `${store.users.length} users`),
    h('ul', null, store.users.map((u) => h('li', { key: u.id, className: store.selected === u.id ? 'selected' : '' }, u.name))),
  );
});

const container = document.getElementById('root');
if (container !== null) createRoot(container).render(h(TenantlensView, { name: 'UserListView' }, h(UserList)));

// The test's handle on the SDK (read with page.evaluate).
Object.assign(window, {
  tenantlens: {
    sessionId: () => tl.sessionId,
    flush: () => tl.forceFlush(),
    stats: () => tl.stats(),
  },
});
