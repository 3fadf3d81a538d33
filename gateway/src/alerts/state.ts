import type { AlertDimension } from '../query/model.ts';

/** What an alert is about: one tenant and one endpoint or view. */
export interface AlertKey {
  readonly tenant: string;
  readonly kind: AlertDimension;
  readonly value: string;
}

export function keyOf(k: AlertKey): string {
  return `${k.tenant}\u0000${k.kind}\u0000${k.value}`;
}

/** One alert as the API, the webhook and the dashboard see it. Times are ISO-8601. */
export interface AlertView {
  readonly tenant: string;
  readonly dimension: { readonly kind: AlertDimension; readonly value: string };
  readonly state: 'firing' | 'resolved';
  /** When it fired (the evaluation that crossed the threshold). */
  readonly since: string;
  readonly resolvedAt?: string;
  /** The latest evaluated window's P99 and sample count. */
  readonly p99Ms: number;
  readonly count: number;
  /** The P99 at which it fired (the worst seen while firing is `peakP99Ms`). */
  readonly firedP99Ms: number;
  readonly peakP99Ms: number;
  /** The baseline it fired against (frozen while it fires). */
  readonly baselineMs: number;
  /** max(baseline × ALERT_RATIO, baseline + ALERT_FLOOR_MS). */
  readonly thresholdMs: number;
  /** The time window to look at: from the start of the window that fired to the resolution (or now). */
  readonly drilldown: { readonly from: string; readonly to: string; readonly url: string };
}

/** Resolved alerts stay listed this long, then are forgotten. */
export const RESOLVED_RETENTION_MILLIS = 24 * 3_600_000;
/** And at most this many, oldest forgotten first. */
export const RESOLVED_MAX = 500;

/** The drill-down link: the dashboard when ALERT_DASHBOARD_URL is set, else the sessions API path. */
export function drilldownUrl(dashboardUrl: string | undefined, tenant: string, fromMs: number, toMs: number): string {
  const q = new URLSearchParams({ tenant, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() });
  if (dashboardUrl !== undefined) return `${dashboardUrl}${dashboardUrl.includes('?') ? '&' : '?'}${q}`;
  const api = new URLSearchParams({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() });
  return `/api/v1/tenants/${encodeURIComponent(tenant)}/sessions?${api}`;
}
