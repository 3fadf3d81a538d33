import { computed, makeObservable, observable, observableRef, runInAction } from 'mobx';
import { tracedAction, tracedFlow, trackTransition, tracedReaction } from '@tenantlens/web-sdk/mobx';
import { demoApi } from './api.ts';

export interface User { id: number; name: string; email: string }

/** The classic loading cycle: isLoading true → false, timed by trackTransition with element_count. */
export class UserStore {
  users: User[] = [];
  isLoading = false;
  error: string | undefined = undefined;

  constructor(private readonly token: () => string) {
    makeObservable(this, { users: observableRef, isLoading: observable, error: observable });
    trackTransition(() => this.isLoading, { action: 'fetchUsers', view: 'UserListView', attributes: () => ({ element_count: this.users.length }) });
  }

  fetchUsers = tracedFlow('loadUsers', function* (this: UserStore) {
    this.isLoading = true;
    this.error = undefined;
    try {
      const body = (yield demoApi<{ users: User[] }>('users', this.token())) as { users: User[] };
      this.users = body.users;
    } catch (err) {
      this.error = (err as Error).message;
    } finally {
      this.isLoading = false;
    }
  });
}

/**
 * A report whose computed statistics are genuinely expensive (sorting and bucketing tens of
 * thousands of values): the UI cost shows up as MobX action and reaction spans.
 */
export class ReportStore {
  values: number[] = [];
  buckets = 40;
  isLoading = false;
  summary = '';

  constructor(private readonly token: () => string) {
    makeObservable(this, { values: observableRef, buckets: observable, isLoading: observable, summary: observable, stats: computed });
    // Recomputing the summary text is the reaction users wait for after changing the bucket count.
    tracedReaction(
      'renderReportSummary',
      () => this.stats,
      (s) => runInAction(() => (this.summary = `${s.count} orders · p50 ${s.p50.toFixed(1)} · p99 ${s.p99.toFixed(1)} · ${s.histogram.length} buckets`)),
    );
  }

  get stats(): { count: number; p50: number; p99: number; histogram: number[] } {
    const sorted = [...this.values].sort((a, b) => a - b);
    const histogram = new Array<number>(this.buckets).fill(0);
    const max = sorted[sorted.length - 1] ?? 1;
    for (const v of sorted) histogram[Math.min(this.buckets - 1, Math.floor((v / max) * this.buckets))]! += 1;
    return { count: sorted.length, p50: sorted[Math.floor(sorted.length / 2)] ?? 0, p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0, histogram };
  }

  load = tracedFlow('loadReport', function* (this: ReportStore) {
    this.isLoading = true;
    try {
      const body = (yield demoApi<{ values: number[] }>('report?size=60000', this.token())) as { values: number[] };
      this.values = body.values;
    } finally {
      this.isLoading = false;
    }
  });

  setBuckets = tracedAction('changeBuckets', (n: number) => {
    this.buckets = n;
  });
}

/** The tenant whose filter reaction blocks the main thread on purpose (issue 19's demo). */
export const SLOW_FILTER_TENANT = 'initech';

/**
 * A live product filter. Changing the query is a traced action; a traced reaction re-ranks the
 * catalogue. For one tenant the ranking is done the naive way on purpose (a quadratic re-scan
 * of the whole catalogue): the seed's "MobX state change freezing the UI". The long task it
 * causes is charged to `setFilter` (`blocked_ms`, `long_tasks` in `frontend_performance`, and on
 * the span in the trace waterfall).
 */
export class FilterStore {
  query = '';
  ranked: string[] = [];
  readonly catalogue: string[] = Array.from({ length: 3_000 }, (_, i) => `product-${(i * 7919) % 3_000}`);

  constructor(tenant: string) {
    makeObservable(this, { query: observable, ranked: observableRef });
    const naive = tenant === SLOW_FILTER_TENANT;
    tracedReaction(
      'rankProducts',
      () => this.query,
      (q) => runInAction(() => (this.ranked = naive ? rankNaively(this.catalogue, q) : rank(this.catalogue, q))),
    );
  }

  setFilter = tracedAction('setFilter', (q: string) => {
    this.query = q;
  });
}

function rank(items: readonly string[], q: string): string[] {
  return items.filter((p) => p.includes(q)).sort().slice(0, 20);
}

/** The same answer as `rank`, found by comparing every item with every other (9 M comparisons). */
function rankNaively(items: readonly string[], q: string): string[] {
  const position = items.map((p) => items.reduce((n, o) => n + (o < p ? 1 : 0), 0));
  return items
    .map((p, i) => [p, position[i] ?? 0] as const)
    .filter(([p]) => p.includes(q))
    .sort((a, b) => a[1] - b[1])
    .slice(0, 20)
    .map(([p]) => p);
}
