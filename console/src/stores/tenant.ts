import { action, computed, makeObservable, observable } from 'mobx';
import type { ApiClient } from '../api/client.ts';
import type { AlertView, Comparison, Range, SessionSummary, TimeSeries, TraceSummary } from '../api/types.ts';
import { BrowserStore } from './browser.ts';
import { Loadable } from './loadable.ts';
import { pageCount, pageOf, sortBy } from './paging.ts';
import { chartRange } from './range.ts';

export const SESSION_PAGE = 50;
/** The API's most sessions per request; the list is paged on screen. */
export const SESSION_FETCH = 1000;
export type SessionSort = 'p99Ms' | 'maxMs' | 'spanCount' | 'firstSeenMicros' | 'lastSeenMicros' | 'sessionId';

const TRACE_ID = /^[0-9a-f]{32}$/i;

/** One tenant: P99 over time with its alerts, endpoint and view·action tables, sessions. */
export class TenantStore {
  tenant = '';
  readonly frontendP99 = new Loadable<TimeSeries>('loadTenantFrontendP99');
  readonly backendP99 = new Loadable<TimeSeries>('loadTenantBackendP99');
  readonly alerts = new Loadable<AlertView[]>('loadAlerts');
  readonly stats = new Loadable<Comparison>('loadTenantStats');
  readonly endpointTrend = new Loadable<TimeSeries>('loadEndpointTrend');
  readonly viewTrend = new Loadable<TimeSeries>('loadViewTrend');
  readonly sessions = new Loadable<SessionSummary[]>('loadSessions');
  readonly sessionTraces = new Loadable<TraceSummary[]>('loadSessionTraces');
  /** Web vitals and errors, shown beside the latency. */
  readonly browser: BrowserStore;
  session: string | undefined = undefined;
  sort: SessionSort = 'p99Ms';
  descending = true;
  minDurationMs = 0;
  search = '';
  page = 0;

  constructor(private readonly api: ApiClient) {
    this.browser = new BrowserStore(api);
    makeObservable(this, {
      tenant: observable,
      session: observable,
      sort: observable,
      descending: observable,
      minDurationMs: observable,
      search: observable,
      page: observable,
      tenantAlerts: computed,
      sessionRows: computed,
      pages: computed,
      pageRows: computed,
      searchedTraceId: computed,
      sortBy: action,
      setMinDuration: action,
      setSearch: action,
      setPage: action,
      setTenant: action,
    });
  }

  setTenant(tenant: string, session: string | undefined): void {
    if (tenant !== this.tenant) {
      for (const l of [this.frontendP99, this.backendP99, this.stats, this.endpointTrend, this.viewTrend, this.sessions, this.sessionTraces]) l.reset();
      this.browser.reset();
      this.page = 0;
      this.search = '';
      this.minDurationMs = 0;
    }
    this.tenant = tenant;
    this.session = session;
  }

  load(range: Range): Promise<void> {
    const tenant = this.tenant;
    const k = `${tenant}/${range.from}/${range.to}`;
    const series = (group: 'tenant' | 'endpoint' | 'view', side: 'frontend' | 'backend') => () => this.api.timeseries({ metric: 'p99', group, side, tenant, range: chartRange(range, Date.now()) });
    const loads = [
      this.frontendP99.load(k, series('tenant', 'frontend')),
      this.backendP99.load(k, series('tenant', 'backend')),
      // alerts may be off on this gateway (404): the chart then just has no band.
      this.alerts.load('alerts', () => this.api.alerts()),
      // compare(t, t) is the per-endpoint and per-view latency of one tenant (both sides the same).
      this.stats.load(k, () => this.api.compare(tenant, tenant, range)),
      this.endpointTrend.load(k, series('endpoint', 'backend')),
      this.viewTrend.load(k, series('view', 'frontend')),
      this.sessions.load(k, () => this.api.sessions(tenant, range, SESSION_FETCH)),
      this.browser.load(tenant, range),
    ];
    const session = this.session;
    if (session !== undefined) loads.push(this.sessionTraces.load(`${k}/${session}`, () => this.api.traces(tenant, range, 200, session)));
    else this.sessionTraces.reset();
    return Promise.all(loads).then(() => undefined);
  }

  get tenantAlerts(): AlertView[] {
    return (this.alerts.value ?? []).filter((a) => a.tenant === this.tenant);
  }

  /** The search box holds a trace id: offer to open it (sessions are not searchable by it). */
  get searchedTraceId(): string | undefined {
    const s = this.search.trim().toLowerCase();
    return TRACE_ID.test(s) ? s : undefined;
  }

  get sessionRows(): SessionSummary[] {
    const q = this.search.trim().toLowerCase();
    const rows = (this.sessions.value ?? []).filter(
      (s) => (s.maxMs ?? 0) >= this.minDurationMs && (q === '' || this.searchedTraceId !== undefined || s.sessionId.toLowerCase().includes(q)),
    );
    const k = this.sort;
    return sortBy(rows, (x) => x[k] ?? -1, (x) => x.sessionId, this.descending);
  }

  get pages(): number {
    return pageCount(this.sessionRows.length, SESSION_PAGE);
  }

  get pageRows(): SessionSummary[] {
    return pageOf(this.sessionRows, this.page, SESSION_PAGE);
  }

  sortBy(key: SessionSort): void {
    if (this.sort === key) this.descending = !this.descending;
    else {
      this.sort = key;
      this.descending = key !== 'sessionId';
    }
    this.page = 0;
  }

  setMinDuration(ms: number): void {
    this.minDurationMs = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.page = 0;
  }

  setSearch(s: string): void {
    this.search = s;
    this.page = 0;
  }

  setPage(p: number): void {
    this.page = Math.max(0, Math.min(p, this.pages - 1));
  }
}
