/**
 * Wording and units of the tenant page's "Web vitals" and "Errors" panels: pure, so the unit test
 * (console/test/vitals.test.ts) covers them without a browser.
 */
import type { MetricSummary, Rating } from '../api/types.ts';
import { fmtMs, fmtPct } from './format.ts';

/** The metrics in the Core Web Vitals order (the API's order too), with what the letters mean. */
export const VITALS: ReadonlyArray<{ readonly metric: string; readonly name: string }> = [
  { metric: 'LCP', name: 'Largest Contentful Paint' },
  { metric: 'INP', name: 'Interaction to Next Paint' },
  { metric: 'CLS', name: 'Cumulative Layout Shift' },
  { metric: 'FCP', name: 'First Contentful Paint' },
  { metric: 'TTFB', name: 'Time to First Byte' },
];

export const RATINGS: readonly Rating[] = ['good', 'needs-improvement', 'poor'];

/** web-vitals' thresholds (good ≤ first, poor > second): how a p75 is judged, as Google does. */
const THRESHOLDS: Readonly<Record<string, readonly [number, number]>> = {
  LCP: [2500, 4000],
  INP: [200, 500],
  CLS: [0.1, 0.25],
  FCP: [1800, 3000],
  TTFB: [800, 1800],
};

// CLS is a small unitless score (0.1 is the "good" limit): two decimals at least, three at most.
const score = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 3 });

/** A vital's value with its unit: ms for the time metrics, unitless for CLS. */
export function fmtVital(metric: string, v: number | null | undefined): string {
  if (metric !== 'CLS') return fmtMs(v);
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : score.format(v);
}

/** The rating a p75 earns (the page passes a Core Web Vital when its p75 is good); undefined when unknown. */
export function p75Rating(metric: string, p75: number | null): Rating | undefined {
  const t = THRESHOLDS[metric];
  if (t === undefined || p75 === null) return undefined;
  return p75 <= t[0] ? 'good' : p75 <= t[1] ? 'needs-improvement' : 'poor';
}

export const ratingLabel = (r: Rating): string => (r === 'needs-improvement' ? 'needs improvement' : r);

/** ["good 50.0 %", "needs improvement 25.0 %", "poor 25.0 %"]: the bar's text (its only text for screen readers). */
export function ratingParts(m: Pick<MetricSummary, 'ratings'>): string[] {
  return RATINGS.map((r) => `${ratingLabel(r)} ${fmtPct(m.ratings[r].share)}`);
}

export const ratingShares = (m: Pick<MetricSummary, 'ratings'>): string => ratingParts(m).join(' · ');

/** Colours of the stacked bar, ≥ 3:1 on white (graphics), the same hues as fast/slow elsewhere. */
export const RATING_COLOR: Readonly<Record<Rating, string>> = { good: '#1b7a3d', 'needs-improvement': '#9a4a00', poor: '#b3261e' };

/**
 * The bar's segments in percent of its width. Shares come from counts, so they sum to 1 up to
 * rounding; the last non-empty segment takes the rest so the bar always ends flush.
 */
export function barSegments(m: Pick<MetricSummary, 'ratings'>): Array<{ rating: Rating; percent: number }> {
  const parts = RATINGS.map((rating) => ({ rating, percent: Math.max(0, m.ratings[rating].share * 100) })).filter((p) => p.percent > 0);
  const last = parts[parts.length - 1];
  if (last !== undefined) last.percent = Math.max(0, 100 - parts.slice(0, -1).reduce((s, p) => s + p.percent, 0));
  return parts;
}

/** An error message on one line, cut for a table cell (the full text is in the row's title and stack). */
export function shortMessage(message: string, max = 160): string {
  const one = message.replace(/\s+/g, ' ').trim();
  if (one === '') return '(no message)';
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}
