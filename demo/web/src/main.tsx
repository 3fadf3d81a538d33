import { createRoot } from 'react-dom/client';
import { startTenantlens } from '@tenantlens/web-sdk';
import { instrumentMobx } from '@tenantlens/web-sdk/mobx';
import { login } from './api.ts';
import { App } from './App.tsx';
import { FilterStore, ReportStore, UserStore } from './stores.ts';

const TENANTS = ['acme', 'globex', 'initech'];
const root = createRoot(document.getElementById('root') as HTMLElement);

function showLogin(): void {
  const choose = async (tenant: string): Promise<void> => {
    sessionStorage.setItem('demo.tenant', tenant);
    sessionStorage.setItem('demo.token', await login(tenant));
    boot();
  };
  root.render(
    <div className="login card">
      <h2>Tenantlens demo: log in as a tenant</h2>
      <p className="muted">Each tenant gets a demo JWT; the gateway takes the tenant from it.</p>
      {TENANTS.map((t) => (
        <button key={t} className="primary" data-testid={`login-${t}`} onClick={() => void choose(t)}>{t}</button>
      ))}
    </div>,
  );
}

function boot(): void {
  const tenant = sessionStorage.getItem('demo.tenant');
  const token = sessionStorage.getItem('demo.token');
  if (tenant === null || token === null) {
    showLogin();
    return;
  }
  // Instrumented only through the SDK: OTLP to the same origin, the token as the tenant credential.
  const tl = startTenantlens({
    url: location.origin, // the gateway base URL: the SDK posts to /v1/traces under it
    serviceName: 'demo-web',
    headers: () => ({ Authorization: `Bearer ${sessionStorage.getItem('demo.token') ?? ''}` }),
    propagateTraceHeaderCorsUrls: [new RegExp(`^${location.origin}`)],
    minDurationMs: 0,
  });
  instrumentMobx({ minDurationMs: 16 });
  const auth = (): string => sessionStorage.getItem('demo.token') ?? '';
  const users = new UserStore(auth);
  const report = new ReportStore(auth);
  const filter = new FilterStore(tenant);
  const switchTenant = (): void => {
    void tl.forceFlush().finally(() => {
      sessionStorage.removeItem('demo.tenant');
      sessionStorage.removeItem('demo.token');
      location.hash = '';
      location.reload();
    });
  };
  root.render(<App tenant={tenant} token={token} users={users} report={report} filter={filter} onSwitchTenant={switchTenant} />);
}

boot();
