import type { AlertView } from './state.ts';

export const ALERT_NAME = 'TenantP99Regression';

/** One element of the JSON array Alertmanager's `POST /api/v2/alerts` takes (postableAlert). */
export interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
}

const ms = (v: number): string => `${Math.round(v)} ms`;

/**
 * Alertmanager payload. Labels identify the alert (Alertmanager groups and deduplicates on
 * them), so only stable values go there; the numbers go to annotations. A firing alert gets an
 * `endsAt` a few evaluation intervals ahead, as Prometheus does: it is re-sent each evaluation,
 * and if the evaluator dies, Alertmanager resolves it by itself instead of keeping it forever.
 */
export function alertmanagerPayload(alerts: readonly AlertView[], opts: { readonly nowMs: number; readonly validForMillis: number }): AlertmanagerAlert[] {
  return alerts.map((a) => {
    const where = `${a.dimension.kind === 'endpoint' ? 'endpoint' : 'view'} ${a.dimension.value || '(none)'}`;
    const generatorURL = /^https?:\/\//.test(a.drilldown.url) ? a.drilldown.url : undefined;
    return {
      labels: { alertname: ALERT_NAME, tenant_id: a.tenant, [a.dimension.kind]: a.dimension.value, severity: 'warning' },
      annotations: {
        summary: `${a.tenant}: P99 of ${where} is ${ms(a.p99Ms)}, baseline ${ms(a.baselineMs)}`,
        description:
          `Tenant ${a.tenant}, ${where}: P99 ${ms(a.firedP99Ms)} when it fired (peak ${ms(a.peakP99Ms)}, latest ${ms(a.p99Ms)} over ${a.count} samples) ` +
          `against a baseline of ${ms(a.baselineMs)}; threshold ${ms(a.thresholdMs)}.`,
        drilldown_url: a.drilldown.url,
        p99_ms: String(a.p99Ms),
        baseline_ms: String(a.baselineMs),
        threshold_ms: String(a.thresholdMs),
      },
      startsAt: a.since,
      endsAt: a.resolvedAt ?? new Date(opts.nowMs + opts.validForMillis).toISOString(),
      ...(generatorURL === undefined ? {} : { generatorURL }),
    };
  });
}
