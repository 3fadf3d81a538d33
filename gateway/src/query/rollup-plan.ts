import { COVERAGE_LAG_MILLIS, MINUTE_NS, type RollupCoverage } from '../rollup/recorder.ts';
import type { TimeRange } from './model.ts';

/** Which parts of a range are read from rollups and which from raw points. */
export interface RollupPlan {
  /** Whole minutes (index since the epoch) read from rollups. */
  readonly covered: ReadonlySet<number>;
  /** The covered minutes as ranges, for the rollup query. */
  readonly coveredRanges: readonly TimeRange[];
  /** Everything else in the range: read from raw points. */
  readonly raw: readonly TimeRange[];
  /**
   * The share read from rollups (0..1) of the range's time after the store's first rollup minute:
   * the time before it is raw in any plan (no rollups exist for it), so it does not count against one.
   */
  readonly coveredShare: number;
}

const MINUTE_MS = 60_000;

/**
 * A minute is read from rollups when (1) it lies wholly inside the range and inside one of the
 * answer's buckets (`stepNs`; the whole range for /tenants and /compare), (2) it ended at least
 * `coverage.lagMillis` ago, by when every writer has closed and written it (rollup/recorder.ts), and
 * (3) this process holds nothing of it unwritten (`coverage.pending`: durations that arrived late,
 * or a flush the store has not had time to make readable), and (4) it comes after the minute of the
 * store's first rollup point (that one may be partial: rollups began during it; data from before
 * rollups existed has none). Everything else comes from raw points:
 * the partial minutes at the range's edges and at bucket edges, and the last minute or so.
 */
export function planRollups(range: TimeRange, stepNs: bigint, nowMs: number, coverage: RollupCoverage, firstMinute: number): RollupPlan {
  const covered = new Set<number>();
  const coveredRanges: TimeRange[] = [];
  const raw: TimeRange[] = [];
  const first = Number((range.fromNs + MINUTE_NS - 1n) / MINUTE_NS);
  const last = Number(range.toNs / MINUTE_NS); // exclusive
  let cursor = range.fromNs;
  const bucketOf = (ns: bigint): bigint => (ns - range.fromNs) / stepNs;
  for (let m = first; m < last; m++) {
    const start = BigInt(m) * MINUTE_NS;
    const end = start + MINUTE_NS;
    const ok = m > firstMinute && (m + 1) * MINUTE_MS + coverage.lagMillis <= nowMs && !coverage.pending(m, nowMs) && bucketOf(start) === bucketOf(end - 1n);
    if (!ok) continue;
    covered.add(m);
    if (start > cursor) raw.push({ fromNs: cursor, toNs: start });
    const prev = coveredRanges[coveredRanges.length - 1];
    if (prev !== undefined && prev.toNs === start) coveredRanges[coveredRanges.length - 1] = { fromNs: prev.fromNs, toNs: end };
    else coveredRanges.push({ fromNs: start, toNs: end });
    cursor = end;
  }
  if (cursor < range.toNs) raw.push({ fromNs: cursor, toNs: range.toNs });
  const since = BigInt(firstMinute + 1) * MINUTE_NS;
  const total = Number(range.toNs - (range.fromNs > since ? range.fromNs : since));
  return { covered, coveredRanges, raw, coveredShare: total <= 0 ? 0 : (covered.size * Number(MINUTE_NS)) / total };
}

/** No process-local knowledge (a process that records nothing, or a test): the time rule alone. */
export const NO_LOCAL_ROLLUPS: RollupCoverage = { lagMillis: COVERAGE_LAG_MILLIS, pending: () => false };
