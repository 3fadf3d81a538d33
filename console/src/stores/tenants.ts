import { action, computed, makeObservable, observable, observableRef } from 'mobx';
import type { ApiClient } from '../api/client.ts';
import type { Range, Side, TenantSummary, TimeSeries } from '../api/types.ts';
import { Loadable } from './loadable.ts';
import { pageCount, pageOf, sortBy } from './paging.ts';
import { chartRange } from './range.ts';

/** Lines drawn by default in the P99 chart: the slowest few; the rest are one click away. */
export const DEFAULT_SHOWN = 5;
export const PAGE_SIZE = 50;
export const LEGEND_MAX = 24;

export type TenantSort = 'tenant' | 'frontend.p99' | 'backend.p99' | 'frontend.count' | 'backend.count' | 'frontend.errorRate' | 'backend.errorRate';

/** The tenants view: every tenant's latency, and P99 over time per tenant. */
export class TenantsStore {
  readonly tenants = new Loadable<TenantSummary[]>('loadTenants');
  readonly chart = new Loadable<TimeSeries>('loadTenantsP99');
  side: Side = 'frontend';
  showConsoleTenant = false;
  /** Lines the user picked; undefined = the default (slowest few). */
  picked: ReadonlySet<string> | undefined = undefined;
  filter = '';
  sort: TenantSort = 'frontend.p99';
  descending = true;
  page = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly hiddenTenants: () => readonly string[],
  ) {
    makeObservable(this, {
      side: observable,
      showConsoleTenant: observable,
      picked: observableRef,
      filter: observable,
      sort: observable,
      descending: observable,
      page: observable,
      rows: computed,
      pageRows: computed,
      pages: computed,
      chartSeries: computed,
      defaultShown: computed,
      legend: computed,
      shown: computed,
      setSide: action,
      toggleConsoleTenant: action,
      toggleSeries: action,
      setFilter: action,
      sortBy: action,
      setPage: action,
    });
  }

  load(range: Range): Promise<void> {
    return Promise.all([this.tenants.load(`${range.from}/${range.to}`, () => this.api.tenants(range)), this.loadChart(range)]).then(() => undefined);
  }

  loadChart(range: Range): Promise<void> {
    const side = this.side;
    return this.chart.load(`${side}/${range.from}/${range.to}`, () => this.api.timeseries({ metric: 'p99', group: 'tenant', side, range: chartRange(range, Date.now()) }));
  }

  private visible(tenant: string): boolean {
    return this.showConsoleTenant || !this.hiddenTenants().includes(tenant);
  }

  /** Filtered, sorted tenant rows (all pages). */
  get rows(): TenantSummary[] {
    const f = this.filter.trim().toLowerCase();
    const rows = (this.tenants.value ?? []).filter((t) => this.visible(t.tenant) && (f === '' || t.tenant.toLowerCase().includes(f)));
    const [side, stat] = this.sort.split('.') as [Side | 'tenant', keyof TenantSummary['frontend'] | undefined];
    const key = (t: TenantSummary): number | string => (side === 'tenant' || stat === undefined ? t.tenant : (t[side][stat] ?? -1));
    return sortBy(rows, key, (t) => t.tenant, this.descending);
  }

  get pages(): number {
    return pageCount(this.rows.length, PAGE_SIZE);
  }

  get pageRows(): TenantSummary[] {
    return pageOf(this.rows, this.page, PAGE_SIZE);
  }

  /** One series per visible tenant, slowest (highest peak P99) first. */
  get chartSeries(): Array<{ id: string; peak: number; points: ReadonlyArray<{ t: number; value: number }> }> {
    return (this.chart.value?.series ?? [])
      .filter((s) => this.visible(s.tenant))
      .map((s) => ({ id: s.tenant, peak: Math.max(0, ...s.points.map((p) => p.value)), points: s.points }))
      .sort((x, y) => y.peak - x.peak || (x.id < y.id ? -1 : 1));
  }

  /**
   * The legend: the lines drawn, then the slowest others, narrowed by the tenant filter; at most
   * LEGEND_MAX entries, so a thousand tenants do not mean a thousand checkboxes.
   */
  get legend(): TenantsStore['chartSeries'] {
    const f = this.filter.trim().toLowerCase();
    const shown = this.shown;
    const matching = this.chartSeries.filter((x) => shown.has(x.id) || f === '' || x.id.toLowerCase().includes(f));
    return [...matching.filter((x) => shown.has(x.id)), ...matching.filter((x) => !shown.has(x.id))].slice(0, Math.max(LEGEND_MAX, shown.size));
  }

  get defaultShown(): ReadonlySet<string> {
    return new Set(this.chartSeries.slice(0, DEFAULT_SHOWN).map((s) => s.id));
  }

  get shown(): ReadonlySet<string> {
    return this.picked ?? this.defaultShown;
  }

  setSide(side: Side): void {
    this.side = side;
  }

  toggleConsoleTenant(): void {
    this.showConsoleTenant = !this.showConsoleTenant;
  }

  toggleSeries(id: string): void {
    const next = new Set(this.shown);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    this.picked = next;
  }

  setFilter(f: string): void {
    this.filter = f;
    this.page = 0;
  }

  sortBy(key: TenantSort): void {
    if (this.sort === key) this.descending = !this.descending;
    else {
      this.sort = key;
      this.descending = key !== 'tenant';
    }
    this.page = 0;
  }

  setPage(p: number): void {
    this.page = Math.max(0, Math.min(p, this.pages - 1));
  }
}
