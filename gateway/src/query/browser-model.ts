/**
 * The answers of `GET /api/v1/vitals` and `GET /api/v1/errors`. Both stores compute the same
 * numbers (p75 is InfluxQL's nearest-rank PERCENTILE) and build these shapes with the functions
 * below, so their JSON is identical for the same data (test/browser-query-contract.test.ts).
 * Times are microseconds since the epoch, like the rest of the drill-down API.
 */
import type { TimeRange } from './model.ts';

export type Rating = 'good' | 'needs-improvement' | 'poor';

export interface MetricSummary {
  readonly metric: string;
  readonly count: number;
  /** 75th percentile (the Core Web Vitals convention), ms (CLS unitless); null without data. */
  readonly p75: number | null;
  /** Reports per rating, and their share of `count` (0…1). */
  readonly ratings: Readonly<Record<Rating, { readonly count: number; readonly share: number }>>;
}

export interface VitalsGroup {
  readonly tenant: string;
  /** The view, when grouped by view; null when grouped by tenant. */
  readonly view: string | null;
  readonly metrics: readonly MetricSummary[];
}

export interface VitalsQuery {
  /** undefined: every tenant (operator only). */
  readonly tenant: string | undefined;
  readonly view: string | undefined;
  readonly by: 'tenant' | 'view';
  readonly range: TimeRange;
}

export interface ErrorCount {
  readonly tenant: string;
  readonly errorType: string;
  readonly view: string;
  /** Errors, bursts counted in full (`SUM(count)`). */
  readonly count: number;
}

export interface ErrorExample {
  readonly tenant: string;
  readonly timeMicros: number;
  readonly errorType: string;
  readonly view: string;
  readonly message: string;
  readonly stack: string;
  readonly count: number;
  readonly sessionId: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly actionName: string;
}

export interface ErrorsAnswer {
  readonly counts: readonly ErrorCount[];
  readonly recent: readonly ErrorExample[];
}

export interface ErrorsQuery {
  readonly tenant: string | undefined;
  readonly range: TimeRange;
  readonly limit: number;
}

/** What a store answers for the browser routes. */
export interface BrowserQueries {
  vitals(q: VitalsQuery): Promise<VitalsGroup[]>;
  errors(q: ErrorsQuery): Promise<ErrorsAnswer>;
}

/** One (group, metric) as a store reads it: the sample count, p75 and the count per rating. */
export interface MetricRow {
  readonly tenant: string;
  readonly view: string | null;
  readonly metric: string;
  readonly count: number;
  readonly p75: number | null;
  readonly ratings: ReadonlyMap<string, number>;
}

const METRIC_ORDER = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'];
const RATINGS: readonly Rating[] = ['good', 'needs-improvement', 'poor'];

function metricRank(m: string): number {
  const i = METRIC_ORDER.indexOf(m);
  return i === -1 ? METRIC_ORDER.length : i;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Groups sorted by tenant and view, metrics in the Core Web Vitals order. */
export function vitalsGroups(rows: readonly MetricRow[]): VitalsGroup[] {
  const groups = new Map<string, { tenant: string; view: string | null; metrics: MetricSummary[] }>();
  for (const r of rows) {
    const key = `${r.tenant}\n${r.view ?? ''}`;
    const g = groups.get(key) ?? { tenant: r.tenant, view: r.view, metrics: [] };
    const ratings = Object.fromEntries(
      RATINGS.map((name) => {
        const count = r.ratings.get(name) ?? 0;
        return [name, { count, share: r.count === 0 ? 0 : count / r.count }];
      }),
    ) as Record<Rating, { count: number; share: number }>;
    g.metrics.push({ metric: r.metric, count: r.count, p75: r.p75, ratings });
    groups.set(key, g);
  }
  const out = [...groups.values()];
  for (const g of out) g.metrics.sort((a, b) => metricRank(a.metric) - metricRank(b.metric) || cmp(a.metric, b.metric));
  return out.sort((a, b) => cmp(a.tenant, b.tenant) || cmp(a.view ?? '', b.view ?? ''));
}

/** Most errors first; ties by tenant, type and view, so both stores list them alike. */
export function byErrorCount(a: ErrorCount, b: ErrorCount): number {
  return b.count - a.count || cmp(a.tenant, b.tenant) || cmp(a.errorType, b.errorType) || cmp(a.view, b.view);
}

/** Newest first; ties by tenant and message. */
export function byNewest(a: ErrorExample, b: ErrorExample): number {
  return b.timeMicros - a.timeMicros || cmp(a.tenant, b.tenant) || cmp(a.message, b.message);
}
