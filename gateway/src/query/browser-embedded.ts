import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { TableSpecs } from '../schema/derived.ts';
import { sqlIdent } from './sql.ts';
import { byErrorCount, byNewest, vitalsGroups, type BrowserQueries, type MetricRow } from './browser-model.ts';

type Row = Record<string, DuckDBValue>;

const num = (v: DuckDBValue | undefined): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);
const str = (v: DuckDBValue | undefined): string => (v === null || v === undefined ? '' : String(v));

/**
 * `GET /api/v1/vitals` and `/errors` in DuckDB SQL; every user value a bound parameter. p75 is
 * InfluxQL's nearest rank (the value at rank floor(n·75/100 + 0.5)), so both stores agree.
 */
export function createEmbeddedBrowserQueries(conn: DuckDBConnection, specs: TableSpecs): BrowserQueries {
  const wv = sqlIdent(specs.webVitals.name);
  const fe = sqlIdent(specs.frontendErrors.name);

  async function rows(sql: string, params: DuckDBValue[]): Promise<Row[]> {
    return (await conn.runAndReadAll(sql, params)).getRowObjects();
  }

  /** `time_ns` range, then the optional tenant and view, as SQL and its parameters. */
  function where(fromNs: bigint, toNs: bigint, tenant: string | undefined, view?: string): { sql: string; params: DuckDBValue[] } {
    const params: DuckDBValue[] = [fromNs, toNs];
    let sql = 'time_ns >= $1 AND time_ns < $2';
    if (tenant !== undefined) sql += ` AND tenant_id = $${params.push(tenant)}`;
    if (view !== undefined) sql += ` AND view_name = $${params.push(view)}`;
    return { sql, params };
  }

  return {
    async vitals({ tenant, view, by, range }) {
      const w = where(range.fromNs, range.toNs, tenant, view);
      const g = by === 'view' ? 'tenant_id, view_name, metric' : 'tenant_id, metric';
      const found = await rows(
        `WITH r AS (
          SELECT ${g}, value AS v, rating,
            row_number() OVER (PARTITION BY ${g} ORDER BY value) AS rn,
            count(*) OVER (PARTITION BY ${g}) AS cnt
          FROM ${wv} WHERE ${w.sql} AND value IS NOT NULL)
        SELECT ${g}, max(cnt) AS count, max(v) FILTER (WHERE rn = floor(cnt::DOUBLE * 75 / 100 + 0.5)) AS p75,
          count(*) FILTER (WHERE rating = 'good') AS good,
          count(*) FILTER (WHERE rating = 'needs-improvement') AS ni,
          count(*) FILTER (WHERE rating = 'poor') AS poor
        FROM r GROUP BY ${g}`,
        w.params,
      );
      const metricRows: MetricRow[] = found.map((r) => ({
        tenant: str(r.tenant_id),
        view: by === 'view' ? str(r.view_name) : null,
        metric: str(r.metric),
        count: num(r.count),
        p75: r.p75 === null || r.p75 === undefined ? null : num(r.p75),
        ratings: new Map(
          [
            ['good', num(r.good)],
            ['needs-improvement', num(r.ni)],
            ['poor', num(r.poor)],
          ].filter(([, n]) => (n as number) > 0) as Array<[string, number]>,
        ),
      }));
      return vitalsGroups(metricRows);
    },

    async errors({ tenant, range, limit }) {
      const w = where(range.fromNs, range.toNs, tenant);
      const [counts, recent] = await Promise.all([
        rows(`SELECT tenant_id, error_type, view_name, sum("count") AS n FROM ${fe} WHERE ${w.sql} GROUP BY tenant_id, error_type, view_name`, w.params),
        rows(`SELECT *, time_ns // 1000 AS time_us FROM ${fe} WHERE ${w.sql} ORDER BY time_ns DESC LIMIT ${limit}`, w.params),
      ]);
      return {
        counts: counts
          .map((r) => ({ tenant: str(r.tenant_id), errorType: str(r.error_type), view: str(r.view_name), count: num(r.n) }))
          .filter((c) => c.count > 0)
          .sort(byErrorCount),
        recent: recent
          .map((r) => ({
            tenant: str(r.tenant_id),
            timeMicros: num(r.time_us),
            errorType: str(r.error_type),
            view: str(r.view_name),
            message: str(r.message),
            stack: str(r.stack),
            count: num(r.count),
            sessionId: str(r.session_id),
            traceId: str(r.trace_id),
            spanId: str(r.span_id),
            actionName: str(r.action_name),
          }))
          .sort(byNewest),
      };
    },
  };
}
