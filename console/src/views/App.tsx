import { observer } from 'mobx-react-lite';
import type { RootStore } from '../stores/root.ts';
import { RangePicker } from './components/RangePicker.tsx';
import { Loading } from './components/States.tsx';
import { CompareView } from './CompareView.tsx';
import { TIME_ZONE } from './format.ts';
import { SignIn } from './SignIn.tsx';
import { TenantsView } from './TenantsView.tsx';
import { TenantView } from './TenantView.tsx';
import { TraceView } from './TraceView.tsx';

const Page = observer(({ root }: { root: RootStore }) => {
  const r = root.route;
  switch (r.name) {
    case 'tenants':
      return <TenantsView root={root} />;
    case 'tenant':
      return <TenantView root={root} tenant={r.tenant} />;
    case 'trace':
      return <TraceView root={root} />;
    case 'compare':
      return <CompareView root={root} />;
    default:
      return (
        <div className="state" data-testid="missing">
          <h1>No such page</h1>
          <p>
            <a href={root.href('/')}>Back to the tenants</a>
          </p>
        </div>
      );
  }
});

export const App = observer(({ root }: { root: RootStore }) => {
  const auth = root.auth;
  if (auth.state === 'checking') return <Loading what="your credential" />;
  if (auth.state === 'signed-out') return <SignIn auth={auth} />;
  const r = root.route.name;
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href={root.href('/')}>Tenantlens</a>
        <nav aria-label="Views">
          <a href={root.href('/')} aria-current={r === 'tenants' ? 'page' : undefined}>
            {auth.isAdmin ? 'Tenants' : 'Overview'}
          </a>
          {auth.ownTenant !== undefined && (
            <a href={root.href(`/tenant/${encodeURIComponent(auth.ownTenant)}`)} aria-current={root.route.name === 'tenant' && root.route.tenant === auth.ownTenant ? 'page' : undefined}>
              {auth.ownTenant}
            </a>
          )}
          {auth.isAdmin && (
            <a href={root.href('/compare')} aria-current={r === 'compare' ? 'page' : undefined} data-testid="nav-compare">
              Compare
            </a>
          )}
        </nav>
        <RangePicker value={root.range} onChange={(c) => root.setRange(c)} />
        <div className="who">
          <span data-testid="who">{auth.isAdmin ? 'operator' : `tenant ${auth.ownTenant ?? ''}`}</span>
          <span className="muted tz" title="Times are shown in this time zone">{TIME_ZONE}</span>
          <button type="button" onClick={() => auth.signOut()} data-testid="signout">
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page root={root} />
      </main>
    </>
  );
});
