import { observer } from 'mobx-react-lite';
import { useState } from 'react';
import type { AuthStore } from '../stores/auth.ts';

/** The operator token (every tenant) or a tenant credential (that tenant only). */
export const SignIn = observer(({ auth }: { auth: AuthStore }) => {
  const [token, setToken] = useState('');
  return (
    <main className="signin" id="main">
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          void auth.signIn(token);
        }}
        data-testid="signin"
      >
        <h1>Tenantlens console</h1>
        {auth.reason !== undefined && (
          <p className="state error" role="alert" data-testid="signin-reason">
            Signed out: {auth.reason}
          </p>
        )}
        <label htmlFor="token">Token</label>
        <input id="token" type="password" autoComplete="off" autoFocus value={token} onChange={(e) => setToken(e.target.value)} data-testid="signin-token" />
        <p className="muted">
          The gateway's operator token (<code>ADMIN_TOKEN</code>) shows every tenant; a tenant's credential (its JWT) shows that tenant only. The token stays in this tab (sessionStorage) until you sign out.
        </p>
        <button type="submit" className="primary" disabled={auth.state === 'checking'} data-testid="signin-submit">
          {auth.state === 'checking' ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
});
