import { computed, makeObservable, reaction, type IReactionDisposer } from 'mobx';
import { createApiClient, type ApiClient } from '../api/client.ts';
import type { Range } from '../api/types.ts';
import { AuthStore } from './auth.ts';
import { CompareStore } from './compare.ts';
import { apiRange, rangeFromQuery, rangeKey, rangeToQuery, type RangeChoice } from './range.ts';
import { hrefFor, RouterStore, type Route } from './router.ts';
import { TenantStore } from './tenant.ts';
import { TenantsStore } from './tenants.ts';
import { TraceStore } from './trace.ts';

/** A relative range (the last hour, …) refreshes this often while the page is visible. */
export const REFRESH_MILLIS = 10_000;

/** Wires the stores: the route and the range decide what loads; a 401 anywhere signs out. */
export class RootStore {
  readonly api: ApiClient;
  readonly auth: AuthStore;
  readonly router = new RouterStore();
  readonly tenants: TenantsStore;
  readonly tenant: TenantStore;
  readonly trace: TraceStore;
  readonly compare: CompareStore;
  private readonly disposers: IReactionDisposer[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(baseUrl = '') {
    this.auth = new AuthStore(() => this.api);
    this.api = createApiClient({ baseUrl, token: () => this.auth.token(), onUnauthorized: (reason) => this.auth.unauthorized(reason) });
    this.tenants = new TenantsStore(this.api, () => this.auth.hiddenTenants);
    this.tenant = new TenantStore(this.api);
    this.trace = new TraceStore(this.api);
    this.compare = new CompareStore(this.api);
    makeObservable(this, { range: computed, apiRange: computed, route: computed, loadKey: computed });
  }

  get route(): Route {
    return this.router.route;
  }

  get range(): RangeChoice {
    return rangeFromQuery(this.router.query);
  }

  get apiRange(): Range {
    return apiRange(this.range);
  }

  /** Everything that decides what the current view shows; a change reloads it. */
  get loadKey(): string {
    const q = this.router.query;
    return JSON.stringify([this.auth.state, this.route, rangeKey(this.range), q.get('session'), q.get('a'), q.get('b'), q.get('operation')]);
  }

  start(): void {
    this.disposers.push(reaction(() => this.loadKey, () => void this.reload(), { fireImmediately: true, name: 'loadCurrentView' }));
    this.timer = setInterval(() => {
      if (document.visibilityState === 'visible' && this.range.kind === 'preset') void this.reload();
    }, REFRESH_MILLIS);
  }

  stop(): void {
    for (const d of this.disposers.splice(0)) d();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.router.dispose();
  }

  /** Loads what the current route shows, unless this credential may not see it. */
  reload(): Promise<void> {
    if (this.auth.state !== 'signed-in') return Promise.resolve();
    const route = this.route;
    const range = this.apiRange;
    const q = this.router.query;
    switch (route.name) {
      case 'tenants':
        return this.tenants.load(range);
      case 'tenant':
        if (!this.auth.canSee(route.tenant)) return Promise.resolve();
        this.tenant.setTenant(route.tenant, q.get('session') ?? undefined);
        return this.tenant.load(range);
      case 'trace':
        this.trace.setTrace(route.traceId);
        return this.trace.load();
      case 'compare': {
        if (!this.auth.isAdmin) return Promise.resolve();
        this.compare.setParams(q.get('a') ?? '', q.get('b') ?? '', q.get('operation') ?? '');
        return this.compare.load(range).then(() => this.fillComparePair());
      }
      default:
        return Promise.resolve();
    }
  }

  /** /compare without a and b: pick the fastest and the slowest tenant once the list is in. */
  private fillComparePair(): void {
    if (this.compare.a !== '' && this.compare.b !== '') return;
    const pair = CompareStore.pickPair((this.compare.tenants.value ?? []).filter((t) => !this.auth.hiddenTenants.includes(t.tenant)));
    if (pair !== undefined) this.go('/compare', { a: pair[0], b: pair[1] }, true);
  }

  /** An href to `path` that keeps the shared range. */
  href(path: string, params: Record<string, string | undefined> = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
    rangeToQuery(this.range, q);
    return hrefFor(path, q);
  }

  go(path: string, params: Record<string, string | undefined> = {}, replace = false): void {
    this.router.go(this.href(path, params), replace);
  }

  /** Changes the range of the current view (kept in its URL). */
  setRange(choice: RangeChoice): void {
    const { route, query } = this.router.parsed;
    const q = new URLSearchParams(query);
    rangeToQuery(choice, q);
    this.router.go(hrefFor(pathOf(route), q));
  }

  /** Changes one query parameter of the current view without a history entry. */
  setParam(key: string, value: string | undefined): void {
    const { route, query } = this.router.parsed;
    const q = new URLSearchParams(query);
    if (value === undefined || value === '') q.delete(key);
    else q.set(key, value);
    this.router.go(hrefFor(pathOf(route), q), true);
  }
}

export function pathOf(route: Route): string {
  switch (route.name) {
    case 'tenants':
      return '/';
    case 'tenant':
      return `/tenant/${encodeURIComponent(route.tenant)}`;
    case 'trace':
      return `/trace/${encodeURIComponent(route.traceId)}`;
    case 'compare':
      return '/compare';
    default:
      return `/${route.path.replace(/^\//, '')}`;
  }
}
