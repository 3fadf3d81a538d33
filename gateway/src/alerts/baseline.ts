/**
 * The baseline: the trailing median of window P99s. Pure functions, no I/O.
 *
 * Why this and not "the same hour over the last 7 days": it needs only the last K windows of
 * data (minutes to hours), so a new tenant or a store with short retention gets a baseline the
 * same day; the median ignores a few odd windows (one deploy, one batch job), where a mean or an
 * EWMA is dragged by them; and both stores answer it from one grouped query. The price: a slow
 * drift over many windows becomes the new normal, and daily seasonality is not modelled.
 */

/** A window's sample count and P99 (ms). */
export interface WindowSample {
  readonly count: number;
  readonly p99: number;
}

/** Median (mean of the two middle values for an even count); undefined for no values. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface Baseline {
  readonly baselineMs: number;
  /** How many previous windows it was computed from. */
  readonly windows: number;
}

/**
 * The baseline from the previous windows (not the current one): the median of the P99s of those
 * with at least `minSamples` samples, provided there are at least `minWindows` of them. Windows
 * with too few samples are skipped: their P99 is noise.
 */
export function trailingMedianBaseline(previous: readonly WindowSample[], minSamples: number, minWindows: number): Baseline | undefined {
  const usable = previous.filter((w) => w.count >= minSamples).map((w) => w.p99);
  if (usable.length < minWindows) return undefined;
  const m = median(usable);
  return m === undefined ? undefined : { baselineMs: m, windows: usable.length };
}
