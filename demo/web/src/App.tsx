import { observer } from 'mobx-react-lite';
import { useState } from 'react';
import { consoleHref } from './api.ts';
import type { ReportStore, UserStore } from './stores.ts';
import { ReportView } from './views/Report.tsx';
import { UsersView } from './views/Users.tsx';

export interface AppProps {
  tenant: string;
  /** This tenant's JWT: the console link signs in with it. */
  token: string;
  users: UserStore;
  report: ReportStore;
  onSwitchTenant(): void;
}

type Tab = 'users' | 'report';

export const App = observer(({ tenant, token, users, report, onSwitchTenant }: AppProps) => {
  const [tab, setTab] = useState<Tab>(() => (location.hash.slice(1) === 'report' ? 'report' : 'users'));
  const go = (t: Tab) => {
    location.hash = t;
    setTab(t);
  };
  return (
    <>
      <header>
        <h1>Tenantlens demo</h1>
        <nav>
          {(['users', 'report'] as const).map((t) => (
            <button key={t} data-testid={`tab-${t}`} className={tab === t ? 'active' : ''} onClick={() => go(t)}>
              {t === 'users' ? 'Users' : 'Report'}
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
      </main>
    </>
  );
});
