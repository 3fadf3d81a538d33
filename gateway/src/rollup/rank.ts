/** InfluxQL's PERCENTILE: the nearest-rank index floor(n·p/100 + 0.5), 1-based; none outside 1..n. */
export function nearestRankOf(n: number, percentile: number): number | undefined {
  const rank = Math.floor((n * percentile) / 100 + 0.5);
  return rank >= 1 && rank <= n ? rank : undefined;
}
