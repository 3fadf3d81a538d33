import { observer } from 'mobx-react-lite';
import { useEffect } from 'react';
import { TenantlensView } from '@tenantlens/web-sdk/react';
import type { UserStore } from '../stores.ts';

export const UsersView = observer(({ store }: { store: UserStore }) => {
  useEffect(() => {
    void store.fetchUsers();
  }, [store]);
  return (
    <TenantlensView name="UserListView">
      <div className="card">
        <h2>
          Users <button className="primary" data-testid="reload-users" onClick={() => void store.fetchUsers()} disabled={store.isLoading}>Reload</button>
        </h2>
        {store.error !== undefined && <p className="slow">{store.error}</p>}
        {store.isLoading && <p className="loading">Loading users…</p>}
        {!store.isLoading && store.users.length === 0 && store.error === undefined && <p className="muted">No users.</p>}
        <table data-testid="users">
          <tbody>
            {store.users.map((u) => (
              <tr key={u.id}><td>{u.id}</td><td>{u.name}</td><td className="muted">{u.email}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </TenantlensView>
  );
});
