import { LATENCY_ROLLUP } from '../schema/measurements.ts';
import type { InfluxQuery, InfluxSeries } from './influx-console.ts';
import { ident, literal, timeRange } from './influxql.ts';
import type { Side, TimeRange } from './model.ts';
import type { CellFilter, RawLatency, RawStatus, RollupRow, RollupSource } from './rollup-source.ts';
import { STATUS_ERROR } from './timeseries.ts';

/** Past this many raw ranges, one query over their hull (filtered in rollup-drilldown.ts) beats one statement each. */
const MAX_RAW_STATEMENTS = 8;

const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const micros = (v: unknown): bigint => BigInt(Number(v)) * 1000n;

/** Rows of every series as objects by column (tags selected as columns come back as columns). */
function* rowsOf(list: readonly InfluxSeries[]): Generator<(c: string) => unknown> {
  for (const s of list) {
    const at = new Map(s.columns.map((c, i) => [c, i]));
    for (const v of s.values) yield (c: string) => v[at.get(c) ?? -1];
  }
}

/** The rollup source over InfluxQL (`/query`): the rollup points and the raw rows, one request each. */
export function createInfluxRollupSource(query: InfluxQuery, names: { fe: string; be: string; sp: string }): RollupSource {
  const m = ident(LATENCY_ROLLUP.name);
  const tenantFilter = (f: CellFilter): string => (f.tenants === undefined ? '' : ` AND (${f.tenants.map((t) => `"tenant_id" = ${literal(t)}`).join(' OR ')})`);
  const sides = (f: CellFilter): Side[] => (f.side === undefined ? ['frontend', 'backend'] : [f.side]);
  const windows = (ranges: readonly TimeRange[]): string[] =>
    ranges.length <= MAX_RAW_STATEMENTS ? ranges.map((r) => timeRange(r.fromNs, r.toNs)) : [timeRange((ranges[0] as TimeRange).fromNs, (ranges[ranges.length - 1] as TimeRange).toNs)];

  async function run(statements: string[]): Promise<InfluxSeries[][]> {
    return statements.length === 0 ? [] : query(statements.join('; '));
  }

  return {
    async firstRollupNs() {
      // A selector alone returns its point's own time.
      const [series = []] = await query(`SELECT FIRST("count") FROM ${m}`);
      const t = series[0]?.values[0]?.[0];
      return t === undefined || t === null ? undefined : micros(t);
    },

    async rollups(range, f) {
      const side = f.side === undefined ? '' : ` AND "side" = ${literal(f.side)}`;
      const [series = []] = await query(
        `SELECT "sketch", "span_count", "error_count", "tenant_id", "side", "endpoint", "view_name", "action_name" FROM ${m} WHERE ${timeRange(range.fromNs, range.toNs)}${tenantFilter(f)}${side}`,
      );
      const out: RollupRow[] = [];
      for (const get of rowsOf(series)) {
        const s: Side = get('side') === 'backend' ? 'backend' : 'frontend';
        out.push({
          tenant: text(get('tenant_id')),
          side: s,
          k1: text(get(s === 'backend' ? 'endpoint' : 'view_name')),
          k2: s === 'backend' ? '' : text(get('action_name')),
          timeNs: micros(get('time')),
          sketch: text(get('sketch')),
          spans: Number(get('span_count') ?? 0),
          errors: Number(get('error_count') ?? 0),
        });
      }
      return out;
    },

    async rawLatencies(ranges, f) {
      const plan = sides(f).flatMap((side) =>
        windows(ranges).map((w) => ({
          side,
          q:
            side === 'frontend'
              ? `SELECT "duration_ms" AS "v", "tenant_id", "view_name", "action_name" FROM ${names.fe} WHERE ${w}${tenantFilter(f)}`
              : `SELECT "latency_ms" AS "v", "tenant_id", "endpoint" FROM ${names.be} WHERE ${w}${tenantFilter(f)}`,
        })),
      );
      const results = await run(plan.map((p) => p.q));
      const out: RawLatency[] = [];
      plan.forEach(({ side }, i) => {
        for (const get of rowsOf(results[i] ?? [])) {
          const v = get('v');
          if (typeof v !== 'number') continue;
          out.push({ tenant: text(get('tenant_id')), side, k1: text(get(side === 'backend' ? 'endpoint' : 'view_name')), k2: side === 'backend' ? '' : text(get('action_name')), timeNs: micros(get('time')), value: v });
        }
      });
      return out;
    },

    async rawStatuses(ranges, f) {
      // The side's spans as the error rate counts them (influx-console.ts `sideFilter`), keyed like the latency rows.
      const plan = sides(f).flatMap((side) =>
        windows(ranges).map((w) => ({
          side,
          q:
            side === 'frontend'
              ? `SELECT "status_code", "tenant_id", "view_name", "action_name" FROM ${names.sp} WHERE ${w}${tenantFilter(f)} AND "view_name" <> ''`
              : `SELECT "status_code", "tenant_id", "http.route", "name" FROM ${names.sp} WHERE ${w}${tenantFilter(f)} AND "span_kind" = 'server'`,
        })),
      );
      const results = await run(plan.map((p) => p.q));
      const out: RawStatus[] = [];
      plan.forEach(({ side }, i) => {
        for (const get of rowsOf(results[i] ?? [])) {
          const k1 = side === 'frontend' ? text(get('view_name')) : text(get('http.route')) || text(get('name'));
          out.push({ tenant: text(get('tenant_id')), side, k1, k2: side === 'frontend' ? text(get('action_name')) : '', timeNs: micros(get('time')), error: Number(get('status_code') ?? 0) === STATUS_ERROR });
        }
      });
      return out;
    },
  };
}
