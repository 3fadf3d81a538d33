import type { AlertsConfig } from '../config.ts';

/**
 * The alert rule, decided once from the configuration and frozen: what "slower than usual" means.
 * Fire when a window's P99 exceeds BOTH baseline × ratio and baseline + floorMs (the ratio alone
 * would page on 20 ms → 31 ms; the floor alone on a 2 s endpoint taking 2.2 s), with at
 * least minSamples samples. Resolve below baseline × resolveRatio, a lower bar than firing.
 */
export type AlertRules = Pick<
  AlertsConfig,
  'windowMillis' | 'baselineWindows' | 'baselineMinWindows' | 'ratio' | 'floorMs' | 'minSamples' | 'resolveRatio' | 'fireAfter' | 'resolveAfter'
>;

/** The P99 above which a window breaches: max(baseline × ratio, baseline + floor). */
export function fireThresholdMs(rules: AlertRules, baselineMs: number): number {
  return Math.max(baselineMs * rules.ratio, baselineMs + rules.floorMs);
}

/** The P99 below which a firing alert counts as recovered. */
export function resolveThresholdMs(rules: AlertRules, baselineMs: number): number {
  return baselineMs * rules.resolveRatio;
}
