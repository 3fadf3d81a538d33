import { action, computed, makeObservable, observable } from 'mobx';
import type { ApiClient } from '../api/client.ts';
import type { ErrorsAnswer, MetricSummary, Range, VitalsAnswer, VitalsGroup } from '../api/types.ts';
import { Loadable } from './loadable.ts';

/** Recent error examples asked for: enough to see a pattern, few enough to read. */
export const ERROR_EXAMPLES = 20;

/**
 * One tenant's browser health beside its latency (issue 19 §5): Core Web Vitals per metric, per
 * view only on demand (one more query the page rarely needs), and browser errors. A separate
 * store so the tenant store only has to load and reset it with the rest of the page.
 */
export class BrowserStore {
  readonly vitals = new Loadable<VitalsAnswer>('loadVitals');
  readonly vitalsByView = new Loadable<VitalsAnswer>('loadVitalsByView');
  readonly errors = new Loadable<ErrorsAnswer>('loadErrors');
  perView = false;
  tenant = '';
  /** What the last load asked for: turning "per view" on loads that same tenant and range (not rendered, so not observable). */
  private range: Range | undefined;

  constructor(private readonly api: ApiClient) {
    makeObservable(this, {
      perView: observable,
      tenant: observable,
      metrics: computed,
      viewGroups: computed,
      errorTotal: computed,
      load: action,
      setPerView: action,
      reset: action,
    });
  }

  load(tenant: string, range: Range): Promise<void> {
    this.tenant = tenant;
    this.range = range;
    const k = key(tenant, range);
    const loads = [this.vitals.load(k, () => this.api.vitals(tenant, 'tenant', range)), this.errors.load(k, () => this.api.errors(tenant, range, ERROR_EXAMPLES))];
    if (this.perView) loads.push(this.vitalsByView.load(k, () => this.api.vitals(tenant, 'view', range)));
    return Promise.all(loads).then(() => undefined);
  }

  setPerView(on: boolean): Promise<void> {
    this.perView = on;
    const range = this.range;
    // Off: drop the answer, so turning it on again never shows another range's numbers.
    if (!on || range === undefined) {
      this.vitalsByView.reset();
      return Promise.resolve();
    }
    const tenant = this.tenant;
    return this.vitalsByView.load(key(tenant, range), () => this.api.vitals(tenant, 'view', range));
  }

  /** A new tenant: nothing of the previous one stays on screen. The per-view choice does. */
  reset(): void {
    for (const l of [this.vitals, this.vitalsByView, this.errors]) l.reset();
    this.range = undefined;
  }

  /** This tenant's metrics, LCP first (the operator's answer may name other tenants: ignored). */
  get metrics(): readonly MetricSummary[] | undefined {
    const v = this.vitals.value;
    if (v === undefined) return undefined;
    return v.groups.find((g) => g.tenant === this.tenant)?.metrics ?? [];
  }

  get viewGroups(): readonly VitalsGroup[] | undefined {
    return this.vitalsByView.value?.groups.filter((g) => g.tenant === this.tenant);
  }

  /** Errors in the range, bursts counted in full. */
  get errorTotal(): number {
    return (this.errors.value?.counts ?? []).reduce((s, c) => s + c.count, 0);
  }
}

const key = (tenant: string, range: Range): string => `${tenant}/${range.from}/${range.to}`;
