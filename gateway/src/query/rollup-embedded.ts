import type { DuckDBValue } from '@duckdb/node-api';
import type { TableSpecs } from '../schema/derived.ts';
import { attr, SIDE_FILTER, type Rows } from './embedded-console.ts';
import type { Side, TimeRange } from './model.ts';
import type { CellFilter, RawLatency, RawStatus, RollupRow, RollupSource } from './rollup-source.ts';
import { sqlIdent } from './sql.ts';
import { STATUS_ERROR } from './timeseries.ts';

const text = (v: DuckDBValue | undefined): string => (v === null || v === undefined ? '' : String(v));
const num = (v: DuckDBValue | undefined): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v ?? 0));
const ns = (v: DuckDBValue | undefined): bigint => (typeof v === 'bigint' ? v : BigInt(num(v)));

/**
 * The rollup source in DuckDB SQL: the `latency_rollup` table and the raw rows. The time bounds are
 * the planner's own bigints (inlined); tenants and sides are bound.
 */
export function createEmbeddedRollupSource(rows: Rows, specs: TableSpecs): RollupSource {
  const fe = sqlIdent(specs.frontend.name);
  const be = sqlIdent(specs.backend.name);
  const sp = sqlIdent(specs.spans.name);
  const ru = sqlIdent(specs.latencyRollup.name);
  const within = (r: TimeRange): string => `time_ns >= ${r.fromNs} AND time_ns < ${r.toNs}`;
  /** One SELECT per range, UNION ALL: a single range lets DuckDB skip row groups by their time zone maps, an OR of ranges did not. */
  const perRange = (ranges: readonly TimeRange[], select: (where: string) => string): string => ranges.map((r) => select(within(r))).join(' UNION ALL ');
  const tenantClause = (f: CellFilter, params: DuckDBValue[]): string => {
    if (f.tenants === undefined) return '';
    const list = f.tenants.map((t) => {
      params.push(t);
      return `$${params.length}`;
    });
    return ` AND tenant_id IN (${list.join(', ')})`;
  };
  const sides = (f: CellFilter): Side[] => (f.side === undefined ? ['frontend', 'backend'] : [f.side]);

  return {
    async firstRollupNs() {
      const [r] = await rows(`SELECT min(time_ns) AS t FROM ${ru}`, []);
      return r?.t === null || r?.t === undefined ? undefined : ns(r.t);
    },

    async rollups(range, f) {
      const params: DuckDBValue[] = [];
      const tenants = tenantClause(f, params);
      const side = f.side === undefined ? '' : ` AND side = '${f.side === 'backend' ? 'backend' : 'frontend'}'`;
      const found = await rows(
        `SELECT tenant_id, side, endpoint, view_name, action_name, time_ns, sketch, span_count, error_count FROM ${ru} WHERE ${within(range)}${tenants}${side}`,
        params,
      );
      return found.map((r): RollupRow => {
        const s: Side = r.side === 'backend' ? 'backend' : 'frontend';
        return {
          tenant: text(r.tenant_id),
          side: s,
          k1: text(s === 'backend' ? r.endpoint : r.view_name),
          k2: s === 'backend' ? '' : text(r.action_name),
          timeNs: ns(r.time_ns),
          sketch: text(r.sketch),
          spans: num(r.span_count),
          errors: num(r.error_count),
        };
      });
    },

    async rawLatencies(ranges, f) {
      const out: RawLatency[] = [];
      for (const side of sides(f)) {
        const params: DuckDBValue[] = [];
        const tenants = tenantClause(f, params);
        const sql = perRange(ranges, (w) =>
          side === 'frontend'
            ? `SELECT tenant_id, view_name AS k1, action_name AS k2, time_ns, duration_ms AS v FROM ${fe} WHERE ${w}${tenants} AND duration_ms IS NOT NULL`
            : `SELECT tenant_id, endpoint AS k1, '' AS k2, time_ns, latency_ms AS v FROM ${be} WHERE ${w}${tenants} AND latency_ms IS NOT NULL`,
        );
        for (const r of await rows(sql, params)) out.push({ tenant: text(r.tenant_id), side, k1: text(r.k1), k2: text(r.k2), timeNs: ns(r.time_ns), value: num(r.v) });
      }
      return out;
    },

    async rawStatuses(ranges, f) {
      const out: RawStatus[] = [];
      for (const side of sides(f)) {
        const params: DuckDBValue[] = [];
        const tenants = tenantClause(f, params);
        // The side's spans as embedded-console.ts counts them, keyed like the latency rows.
        const sql = perRange(ranges, (w) =>
          side === 'frontend'
            ? `SELECT tenant_id, ${attr('view_name')} AS k1, ${attr('action_name')} AS k2, time_ns, status_code FROM ${sp} WHERE ${w}${tenants} AND ${SIDE_FILTER.frontend}`
            : `SELECT tenant_id, coalesce(nullif(${attr('http.route')}, ''), name, '') AS k1, '' AS k2, time_ns, status_code FROM ${sp} WHERE ${w}${tenants} AND ${SIDE_FILTER.backend}`,
        );
        for (const r of await rows(sql, params)) out.push({ tenant: text(r.tenant_id), side, k1: text(r.k1), k2: text(r.k2), timeNs: ns(r.time_ns), error: num(r.status_code) === STATUS_ERROR });
      }
      return out;
    },
  };
}
