import type { AlertStateRecord } from '../schema/alert-state.ts';
import type { AlertDimension } from '../query/model.ts';

/**
 * One alert episode as the evaluator holds it across a restart: a firing alert, or a resolved one
 * still listed. The stored record's fields (schema/alert-state.ts, declared once there) with the
 * dimension typed, less what only the store keeps.
 */
export type EpisodeState = Omit<AlertStateRecord, 'kind' | 'notified' | 'updatedMs'> & { readonly kind: AlertDimension };

const KINDS: ReadonlySet<string> = new Set<AlertDimension>(['endpoint', 'view_name']);

/** The stored record's episode; undefined for a dimension this version does not evaluate. */
export function episodeFromRecord(r: AlertStateRecord): EpisodeState | undefined {
  if (!KINDS.has(r.kind)) return undefined;
  const { tenant, value, state, sinceMs, resolvedAtMs, windowStartMs, lastAtMs, baselineMs, thresholdMs, p99Ms, count, firedP99Ms, peakP99Ms, recoveries } = r;
  return { tenant, kind: r.kind as AlertDimension, value, state, sinceMs, ...(resolvedAtMs === undefined ? {} : { resolvedAtMs }), windowStartMs, lastAtMs, baselineMs, thresholdMs, p99Ms, count, firedP99Ms, peakP99Ms, recoveries };
}
