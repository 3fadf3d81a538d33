import { observer } from 'mobx-react-lite';
import { useState } from 'react';
import { Dashboard } from './dashboard/Dashboard.tsx';
import type { FilterStore, ReportStore, UserStore } from './stores.ts';
import { FilterView } from './views/Filter.tsx';
import { ReportView } from './views/Report.tsx';
import { UsersView } from './views/Users.tsx';

export interface AppProps {
  tenant: string;
  users: UserStore;
  report: ReportStore;
  filter: FilterStore;
  onSwitchTenant(): void;
}

type Tab = 'users' | 'report' | 'filter' | 'dashboard';

export const App = observer(({ tenant, users, report, filter, onSwitchTenant }: AppProps) => {
  // `#dashboard?tenant=…&from=…&to=…` is an alert's drill-down link: the tab is before the `?`.
  const [tab, setTab] = useState<Tab>(() => (location.hash.slice(1).split('?')[0] as Tab) || 'users');
  const go = (t: Tab) => {
    location.hash = t;
    setTab(t);
  };
  return (
    <>
      <header>
        <h1>Tenantlens demo</h1>
        <nav>
          {(['users', 'report', 'filter', 'dashboard'] as const).map((t) => (
            <button key={t} data-testid={`tab-${t}`} className={tab === t ? 'active' : ''} onClick={() => go(t)}>
              {t === 'users' ? 'Users' : t === 'report' ? 'Report' : t === 'filter' ? 'Filter' : 'Observability dashboard'}
            </button>
          ))}
        </nav>
        <div className="tenant">
          <span>tenant <strong data-testid="current-tenant">{tenant}</strong></span>
          <button className="link" style={{ color: '#cfd6e6' }} onClick={onSwitchTenant}>switch</button>
        </div>
      </header>
      <main>
        {tab === 'users' && <UsersView store={users} />}
        {tab === 'report' && <ReportView store={report} />}
        {tab === 'filter' && <FilterView store={filter} tenant={tenant} />}
        {tab === 'dashboard' && <Dashboard />}
      </main>
    </>
  );
});
