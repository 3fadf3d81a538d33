import { observer } from 'mobx-react-lite';
import { TenantlensView } from '@tenantlens/web-sdk/react';
import { SLOW_FILTER_TENANT, type FilterStore } from '../stores.ts';

/** A live filter; for one tenant its ranking reaction blocks the main thread (see FilterStore). */
export const FilterView = observer(({ store, tenant }: { store: FilterStore; tenant: string }) => (
  <TenantlensView name="FilterView">
    <div className="card">
      <h2>Product filter</h2>
      {tenant === SLOW_FILTER_TENANT && <p className="muted">For {SLOW_FILTER_TENANT} the ranking runs the slow way on purpose: each keystroke blocks the page.</p>}
      <input data-testid="filter" placeholder="product-1" value={store.query} onChange={(e) => store.setFilter(e.target.value)} />
      <ul data-testid="filter-results">
        {store.ranked.map((p) => (
          <li key={p}>{p}</li>
        ))}
      </ul>
    </div>
  </TenantlensView>
));
