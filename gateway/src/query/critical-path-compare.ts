import { criticalPath, type CpTrace, type RootRow } from './critical-path.ts';
import { nearestRank, type DrillDown, type TimeRange } from './model.ts';

export interface CriticalPathStats {
  /** Nearest-rank median and p90 of the operation's self time on the critical path (ms); null without traces. */
  readonly median: number | null;
  readonly p90: number | null;
}

export interface CriticalPathRow {
  readonly service: string;
  readonly name: string;
  readonly a: CriticalPathStats;
  readonly b: CriticalPathStats;
  /** b.median − a.median (ms); null when a side has no traces. */
  readonly gapMs: number | null;
}

export interface CriticalPathComparison {
  readonly a: string;
  readonly b: string;
  readonly operation: string;
  readonly traces: { readonly a: number; readonly b: number };
  readonly rows: readonly CriticalPathRow[];
}

/**
 * The `limit` most recent traces among root spans, newest first (ties by trace id), one per trace.
 * Stores fetch the newest `limit` roots plus every root sharing the last one's microsecond, so
 * both pick the same traces whatever order they list ties in.
 */
export function pickTraces(roots: readonly RootRow[], limit: number): RootRow[] {
  const sorted = [...roots].sort((x, y) => y.startMicros - x.startMicros || (x.traceId < y.traceId ? -1 : x.traceId > y.traceId ? 1 : 0));
  const seen = new Set<string>();
  const out: RootRow[] = [];
  for (const r of sorted) {
    if (out.length >= limit) break;
    if (seen.has(r.traceId)) continue;
    seen.add(r.traceId);
    out.push(r);
  }
  return out;
}

const NS_PER_MS = 1e6;

/** Differences of ms with ns fractions: rounded to the ns so 0.1 − 0.2 does not print 17 digits. */
const roundNs = (ms: number): number => Math.round(ms * NS_PER_MS) / NS_PER_MS;

/** Per trace: (service, name) → critical self time in ms. Traces without that root are skipped. */
function perTrace(traces: readonly CpTrace[], operation: string): Array<Map<string, number>> {
  const out: Array<Map<string, number>> = [];
  for (const t of traces) {
    const path = criticalPath(t.spans, operation);
    if (path === undefined) continue;
    out.push(new Map(path.byOperation.map((o) => [JSON.stringify([o.service, o.name]), Number(o.selfNs) / NS_PER_MS])));
  }
  return out;
}

function stats(side: ReadonlyArray<Map<string, number>>, key: string): CriticalPathStats {
  // A trace whose critical path does not pass through the operation counts 0 ms.
  const values = side.map((m) => m.get(key) ?? 0).sort((x, y) => x - y);
  const at = (p: number): number | null => {
    const r = nearestRank(values.length, p);
    return r === undefined ? null : (values[r - 1] as number);
  };
  return { median: at(50), p90: at(90) };
}

/** The ranked table of `GET /api/v1/compare/critical-path`: biggest b − a median gap first. */
export function compareCriticalPaths(a: string, b: string, operation: string, aTraces: readonly CpTrace[], bTraces: readonly CpTrace[]): CriticalPathComparison {
  const sa = perTrace(aTraces, operation);
  const sb = perTrace(bTraces, operation);
  const keys = new Set<string>();
  for (const m of [...sa, ...sb]) for (const k of m.keys()) keys.add(k);
  const rows: CriticalPathRow[] = [...keys].map((k) => {
    const [service, name] = JSON.parse(k) as [string, string];
    const ra = stats(sa, k);
    const rb = stats(sb, k);
    return { service, name, a: ra, b: rb, gapMs: ra.median === null || rb.median === null ? null : roundNs(rb.median - ra.median) };
  });
  rows.sort((x, y) => {
    const gx = x.gapMs ?? -Infinity;
    const gy = y.gapMs ?? -Infinity;
    if (gx !== gy) return gy - gx;
    return x.service < y.service ? -1 : x.service > y.service ? 1 : x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
  });
  return { a, b, operation, traces: { a: sa.length, b: sb.length }, rows };
}

/** Spans of a chosen trace may start this long before the oldest chosen root or after the range (skew, long tails). */
export const SPAN_WINDOW_SLACK_NS = 5n * 60n * 1_000_000_000n;

/** One side's traces: the newest `limit` roots named `operation`, and their spans. */
async function sideTraces(queries: DrillDown, tenant: string, operation: string, range: TimeRange, limit: number): Promise<CpTrace[]> {
  const picked = pickTraces(await queries.rootSpans(tenant, operation, range, limit), limit);
  if (picked.length === 0) return [];
  const oldest = picked.reduce((m, r) => Math.min(m, r.startMicros), Infinity);
  const window = { fromNs: BigInt(oldest) * 1000n - SPAN_WINDOW_SLACK_NS, toNs: range.toNs + SPAN_WINDOW_SLACK_NS };
  return queries.traceSpans(tenant, picked.map((r) => r.traceId), window);
}

/** `GET /api/v1/compare/critical-path`, on any store. */
export async function criticalPathComparison(queries: DrillDown, a: string, b: string, operation: string, range: TimeRange, limit: number): Promise<CriticalPathComparison> {
  const [ta, tb] = await Promise.all([sideTraces(queries, a, operation, range, limit), sideTraces(queries, b, operation, range, limit)]);
  return compareCriticalPaths(a, b, operation, ta, tb);
}
