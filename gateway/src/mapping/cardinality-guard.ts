import type { FieldValue, MappedPoint } from '../schema/point.ts';

/** The tag value that stands in for demoted values, so they still group together in queries. */
export const OVERFLOW_TAG_VALUE = '~overflow';

export interface CardinalityGuardOptions {
  /** Distinct values allowed per (tenant, tag key) within one window. */
  readonly maxValues: number;
  readonly windowMillis: number;
  /** Tag keys to guard (the high-cardinality ones: session_id, endpoint, …). */
  readonly tags: readonly string[];
  readonly now?: () => number;
  /** Called once per demoted value occurrence, for /metrics. */
  readonly onDemoted?: (tag: string) => void;
}

export interface CardinalityGuard {
  /** Returns the points with over-limit tag values demoted: the tag becomes `~overflow`, the value a `<tag>__demoted` field. */
  apply(tenant: string, points: readonly MappedPoint[]): readonly MappedPoint[];
}

/**
 * On InfluxDB 1.x/2.x every distinct tag set is a series; one tenant sending a fresh session id
 * per request could grow the index without bound and slow every tenant down. Within each window
 * the first `maxValues` values of a guarded tag per tenant stay tags; later new values are
 * demoted to a field (nothing is dropped) and counted. Memory is bounded by tenants × tags × maxValues.
 */
export function createCardinalityGuard(opts: CardinalityGuardOptions): CardinalityGuard {
  const guarded = new Set(opts.tags);
  const now = opts.now ?? Date.now;
  let windowStart = now();
  const seen = new Map<string, Set<string>>();

  function allowed(tenant: string, key: string, value: string): boolean {
    const id = `${tenant}\u0000${key}`;
    let values = seen.get(id);
    if (values === undefined) {
      values = new Set();
      seen.set(id, values);
    }
    if (values.has(value)) return true;
    if (values.size >= opts.maxValues) return false;
    values.add(value);
    return true;
  }

  return {
    apply(tenant, points) {
      const t = now();
      if (t - windowStart >= opts.windowMillis) {
        seen.clear();
        windowStart = t;
      }
      let out: MappedPoint[] | undefined;
      for (let i = 0; i < points.length; i++) {
        const mp = points[i] as MappedPoint;
        let demoted: Array<[string, string]> | undefined;
        for (const [k, v] of mp.point.tags) {
          if (v === '' || !guarded.has(k) || allowed(tenant, k, v)) continue;
          (demoted ??= []).push([k, v]);
          opts.onDemoted?.(k);
        }
        if (demoted === undefined) continue;
        // The rare path: copy the point only when something was demoted.
        out ??= points.slice();
        const names = new Set(demoted.map(([k]) => k));
        out[i] = {
          spanId: mp.spanId,
          point: {
            ...mp.point,
            tags: mp.point.tags.map(([k, v]): readonly [string, string] => [k, names.has(k) ? OVERFLOW_TAG_VALUE : v]),
            fields: [...mp.point.fields, ...demoted.map(([k, v]): readonly [string, FieldValue] => [`${k}__demoted`, { type: 'string', value: v }])],
          },
        };
      }
      return out ?? points;
    },
  };
}
