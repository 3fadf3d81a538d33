import type { RollupCoverage } from '../rollup/recorder.ts';
import { MINUTE_NS } from '../rollup/recorder.ts';
import { byWindow, comparisonRows, withErrorRates, type BucketRow, type DrillDown, type ErrorCounts, type LatencyStats, type Side, type TimeRange, type WindowP99 } from './model.ts';
import { planRollups, type RollupPlan } from './rollup-plan.ts';
import { Groups, minuteOfNs, type CellFilter, type CellKey, type RollupSource } from './rollup-source.ts';
import { viewKey } from './timeseries.ts';

export interface RollupDrillDownOptions {
  readonly source: RollupSource;
  /** This process's recorder (what it holds unwritten), or NO_LOCAL_ROLLUPS. */
  readonly coverage: RollupCoverage;
  /** The store's per-tenant span and error counts of a range (counted by the database): /tenants' raw part needs no rows. */
  readonly errorCounts: (range: TimeRange, tenant: string | undefined) => Promise<ErrorCounts>;
  readonly now?: () => number;
}

/**
 * Time series read from rollups only when they cover at least this share of the range (after the
 * store's first rollup minute: rollup-plan.ts); else the raw
 * query, as before: raw rows carried to the gateway cost more than the database's own percentile
 * (bench:queries measured a half-covered series at twice the raw query's time on influxd).
 */
const MIN_SERIES_SHARE = 0.9;

const EMPTY: LatencyStats = { count: 0, p50: null, p95: null, p99: null };

/**
 * The percentile answers (`/tenants`, `/compare`, `/timeseries`, the alert windows) from the
 * per-minute rollups, merged across writers, plus raw points where rollups do not cover the range
 * (query/rollup-plan.ts). A group answered from raw points alone is exact (nearest rank); one with
 * any rollup minute is a sketch estimate within SKETCH_RELATIVE_ERROR. Everything else is `base`.
 */
export function withRollups(base: DrillDown, opts: RollupDrillDownOptions): DrillDown {
  const { source, coverage } = opts;
  const now = opts.now ?? Date.now;

  /** Every rollup and raw row of the plan, into groups by `group` (undefined: left out). */
  async function collect<M>(
    range: TimeRange,
    stepNs: bigint,
    plan: RollupPlan,
    filter: CellFilter,
    want: { latency: boolean; status: boolean },
    group: (key: CellKey, bucket: number) => [string, () => M] | undefined,
  ): Promise<Groups<M>> {
    const groups = new Groups<M>();
    const hull = plan.coveredRanges.length === 0 ? undefined : { fromNs: (plan.coveredRanges[0] as TimeRange).fromNs, toNs: (plan.coveredRanges[plan.coveredRanges.length - 1] as TimeRange).toNs };
    const noRaw = plan.raw.length === 0;
    const [rollups, latencies, statuses] = await Promise.all([
      hull === undefined ? [] : source.rollups(hull, filter),
      !want.latency || noRaw ? [] : source.rawLatencies(plan.raw, filter),
      !want.status || noRaw ? [] : source.rawStatuses(plan.raw, filter),
    ]);
    const bucketOf = (ns: bigint): number => Number((ns - range.fromNs) / stepNs);
    const inRaw = (ns: bigint): boolean => ns >= range.fromNs && ns < range.toNs && !plan.covered.has(minuteOfNs(ns));
    for (const r of rollups) {
      const m = minuteOfNs(r.timeNs);
      if (!plan.covered.has(m)) continue;
      const g = group(r, bucketOf(BigInt(m) * MINUTE_NS));
      if (g === undefined) continue;
      const acc = groups.at(g[0], g[1]);
      if (want.latency) acc.addRollup(r.sketch);
      acc.spans += r.spans;
      acc.errors += r.errors;
    }
    for (const r of latencies) {
      if (!inRaw(r.timeNs)) continue;
      const g = group(r, bucketOf(r.timeNs));
      if (g !== undefined) groups.at(g[0], g[1]).addValue(r.value);
    }
    for (const r of statuses) {
      if (!inRaw(r.timeNs)) continue;
      const g = group(r, bucketOf(r.timeNs));
      if (g === undefined) continue;
      const acc = groups.at(g[0], g[1]);
      acc.spans++;
      if (r.error) acc.errors++;
    }
    return groups;
  }

  const whole = (range: TimeRange): bigint => (range.toNs > range.fromNs ? range.toNs - range.fromNs : 1n);
  /** The minute of the first rollup point: found once; while there is none, asked again at most every 5 s. */
  let first: { minute: number | undefined; at: number } = { minute: undefined, at: -Infinity };
  async function firstMinute(): Promise<number | undefined> {
    if (first.minute === undefined && now() - first.at > 5_000) {
      const ns = await source.firstRollupNs();
      first = { minute: ns === undefined ? undefined : minuteOfNs(ns), at: now() };
    }
    return first.minute;
  }
  /** The plan, or undefined when no minute of the range comes from rollups: then the raw queries answer, exactly as before rollups. */
  async function plan(range: TimeRange, stepNs: bigint): Promise<RollupPlan | undefined> {
    const since = await firstMinute();
    if (since === undefined) return undefined;
    const p = planRollups(range, stepNs, now(), coverage, since);
    return p.covered.size === 0 ? undefined : p;
  }

  return {
    ...base,

    async tenants(range, tenant) {
      const step = whole(range);
      const p = await plan(range, step);
      if (p === undefined) return base.tenants(range, tenant);
      const [groups, rawCounts] = await Promise.all([collect(range, step, p, { tenants: tenant === undefined ? undefined : [tenant], side: undefined }, { latency: true, status: false }, (k) => [
        JSON.stringify([k.tenant, k.side]),
        () => ({ tenant: k.tenant, side: k.side }),
      ]), Promise.all(p.raw.map((r) => opts.errorCounts(r, tenant)))]);
      const rows = new Map<string, { tenant: string; frontend: LatencyStats; backend: LatencyStats }>();
      const errors = new Map<string, Record<Side, readonly [number, number]>>();
      for (const { meta, acc } of groups.byId.values()) {
        const e = errors.get(meta.tenant) ?? { frontend: [0, 0], backend: [0, 0] };
        e[meta.side] = [acc.spans, acc.errors];
        errors.set(meta.tenant, e);
        if (acc.count === 0) continue;
        const row = rows.get(meta.tenant) ?? { tenant: meta.tenant, frontend: EMPTY, backend: EMPTY };
        row[meta.side] = acc.stats();
        rows.set(meta.tenant, row);
      }
      for (const counts of rawCounts) {
        for (const [t, sides] of counts) {
          const e = errors.get(t) ?? { frontend: [0, 0], backend: [0, 0] };
          errors.set(t, { frontend: [e.frontend[0] + sides.frontend[0], e.frontend[1] + sides.frontend[1]], backend: [e.backend[0] + sides.backend[0], e.backend[1] + sides.backend[1]] });
        }
      }
      return withErrorRates([...rows.values()], errors);
    },

    async compare(a, b, range) {
      const step = whole(range);
      const p = await plan(range, step);
      if (p === undefined) return base.compare(a, b, range);
      const groups = await collect(range, step, p, { tenants: [a, b], side: undefined }, { latency: true, status: false }, (k) => [JSON.stringify([k.tenant, k.side, k.k1, k.k2]), () => k]);
      const rows = (side: Side): Array<{ tenant: string; key: Record<string, string>; stats: LatencyStats }> =>
        [...groups.byId.values()]
          .filter((g) => g.meta.side === side && g.acc.count > 0)
          .map((g) => ({ tenant: g.meta.tenant, key: (side === 'backend' ? { endpoint: g.meta.k1 } : { view_name: g.meta.k1, action_name: g.meta.k2 }) as Record<string, string>, stats: g.acc.stats() }));
      return { a, b, endpoints: comparisonRows(rows('backend'), a, b), views: comparisonRows(rows('frontend'), a, b) };
    },

    async timeseries(q) {
      // The error rate per endpoint of frontend spans (or per view of server spans) is keyed by
      // `spans` fields the rollups do not keep: the raw query answers those.
      const mismatched = q.metric === 'error_rate' && ((q.side === 'frontend' && q.group === 'endpoint') || (q.side === 'backend' && q.group === 'view'));
      const p = mismatched ? undefined : await plan(q.range, q.stepNs);
      if (p === undefined || p.coveredShare < MIN_SERIES_SHARE) return base.timeseries(q);
      const ratio = q.metric === 'error_rate';
      const keyOf = (k: CellKey): string => (q.group === 'tenant' ? '' : q.group === 'endpoint' ? (k.side === 'backend' ? k.k1 : '') : k.side === 'frontend' ? viewKey(k.k1, k.k2) : '');
      const groups = await collect(q.range, q.stepNs, p, { tenants: q.tenant === undefined ? undefined : [q.tenant], side: q.side }, { latency: !ratio, status: ratio }, (k, bucket) => {
        const key = keyOf(k);
        return [JSON.stringify([k.tenant, key, bucket]), () => ({ tenant: k.tenant, key, bucket })];
      });
      const out: BucketRow[] = [];
      for (const { meta, acc } of groups.byId.values()) {
        const count = ratio ? acc.spans : acc.count;
        const value = ratio ? acc.errors : q.metric === 'count' ? acc.count : acc.percentile(Number(q.metric.slice(1)));
        if (count === 0 || value === null) continue;
        out.push({ ...meta, value, count });
      }
      return out;
    },

    async windowP99(range, bucketNs, dimension) {
      const side: Side = dimension === 'endpoint' ? 'backend' : 'frontend';
      const p = await plan(range, bucketNs);
      if (p === undefined) return base.windowP99(range, bucketNs, dimension);
      const groups = await collect(range, bucketNs, p, { tenants: undefined, side }, { latency: true, status: false }, (k, bucket) => [
        JSON.stringify([k.tenant, k.k1, bucket]),
        () => ({ tenant: k.tenant, value: k.k1, bucket }),
      ]);
      const fromMs = Number(range.fromNs / 1_000_000n);
      const bucketMs = Number(bucketNs / 1_000_000n);
      const out: WindowP99[] = [];
      for (const { meta, acc } of groups.byId.values()) {
        const p99 = acc.percentile(99);
        if (acc.count === 0 || p99 === null) continue;
        out.push({ tenant: meta.tenant, value: meta.value, startMs: fromMs + meta.bucket * bucketMs, count: acc.count, p99 });
      }
      return out.sort(byWindow);
    },
  };
}
