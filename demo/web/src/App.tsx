import { observer } from 'mobx-react-lite';
import { useState } from 'react';
import { consoleHref } from './api.ts';
import type { FilterStore, ReportStore, UserStore } from './stores.ts';
import { FilterView } from './views/Filter.tsx';
import { ReportView } from './views/Report.tsx';
import { UsersView } from './views/Users.tsx';

export interface AppProps {
  tenant: string;
  /** This tenant's JWT: the console link signs in with it. */
  token: string;
  users: UserStore;
  report: ReportStore;
  filter: FilterStore;
  onSwitchTenant(): void;
}

type Tab = 'users' | 'report' | 'filter';

export const App = observer(({ tenant, token, users, report, filter, onSwitchTenant }: AppProps) => {
  const [tab, setTab] = useState<Tab>(() => {
    const h = location.hash.slice(1);
    return h === 'report' || h === 'filter' ? h : 'users';
  });
  const go = (t: Tab) => {
    location.hash = t;
    setTab(t);
  };
  return (
    <>
      <header>
        <h1>Tenantlens demo</h1>
        <nav>
          {(['users', 'report', 'filter'] as const).map((t) => (
            <button key={t} data-testid={`tab-${t}`} className={tab === t ? 'active' : ''} onClick={() => go(t)}>
              {t === 'users' ? 'Users' : t === 'report' ? 'Report' : 'Filter'}
            </button>
          ))}
          <a className="console-link" href={consoleHref(token)} target="_blank" rel="noopener noreferrer" data-testid="console-link">
            Tenantlens console ↗
          </a>
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
      </main>
    </>
  );
});
