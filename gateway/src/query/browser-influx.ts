import type { InfluxConfig } from '../config.ts';
import { FRONTEND_ERRORS_MEASUREMENT, WEB_VITALS_MEASUREMENT } from '../mapping/map-browser-events.ts';
import { byErrorCount, byNewest, vitalsGroups, type BrowserQueries, type ErrorExample, type MetricRow } from './browser-model.ts';
import { InfluxQueryError, runInfluxQL } from './influxql-http.ts';
import { ident, literal, timeRange } from './influxql.ts';

interface Series {
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** One InfluxQL statement over `/query` (`epoch=u`); a measurement not written yet is no data. */
async function query(config: InfluxConfig, q: string): Promise<Series[]> {
  const [r] = await runInfluxQL<Series>(config, q);
  const error = r?.error;
  if (error !== undefined && !/not found/.test(error)) throw new InfluxQueryError(`InfluxDB query failed: ${error}`);
  return r?.series ?? [];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** `GET /api/v1/vitals` and `/errors` in InfluxQL (1.x, 2.x via DBRP, 3.x). */
export function createInfluxBrowserQueries(config: InfluxConfig): BrowserQueries {
  const wv = ident(WEB_VITALS_MEASUREMENT);
  const fe = ident(FRONTEND_ERRORS_MEASUREMENT);
  const filter = (tenant: string | undefined, view?: string): string =>
    (tenant === undefined ? '' : ` AND "tenant_id" = ${literal(tenant)}`) + (view === undefined ? '' : ` AND "view_name" = ${literal(view)}`);

  return {
    async vitals({ tenant, view, by, range }) {
      const where = `WHERE ${timeRange(range.fromNs, range.toNs)}${filter(tenant, view)}`;
      const groups = by === 'view' ? '"tenant_id", "view_name", "metric"' : '"tenant_id", "metric"';
      const [stats, ratings] = await Promise.all([
        query(config, `SELECT COUNT("value") AS "count", PERCENTILE("value", 75) AS "p75" FROM ${wv} ${where} GROUP BY ${groups}`),
        query(config, `SELECT COUNT("value") AS "count" FROM ${wv} ${where} GROUP BY ${groups}, "rating"`),
      ]);
      const key = (t: Record<string, string>): string => `${t.tenant_id ?? ''}\n${t.view_name ?? ''}\n${t.metric ?? ''}`;
      const perRating = new Map<string, Map<string, number>>();
      for (const s of ratings) {
        const m = perRating.get(key(s.tags ?? {})) ?? new Map<string, number>();
        m.set(s.tags?.rating ?? '', num(s.values[0]?.[s.columns.indexOf('count')]));
        perRating.set(key(s.tags ?? {}), m);
      }
      const rows: MetricRow[] = stats.map((s) => {
        const t = s.tags ?? {};
        const row = s.values[0] ?? [];
        const p75 = row[s.columns.indexOf('p75')];
        return {
          tenant: t.tenant_id ?? '',
          view: by === 'view' ? (t.view_name ?? '') : null,
          metric: t.metric ?? '',
          count: num(row[s.columns.indexOf('count')]),
          p75: typeof p75 === 'number' ? p75 : null,
          ratings: perRating.get(key(t)) ?? new Map(),
        };
      });
      return vitalsGroups(rows.filter((r) => r.count > 0));
    },

    async errors({ tenant, range, limit }) {
      const where = `WHERE ${timeRange(range.fromNs, range.toNs)}${filter(tenant)}`;
      const [counts, recent] = await Promise.all([
        query(config, `SELECT SUM("count") AS "count" FROM ${fe} ${where} GROUP BY "tenant_id", "error_type", "view_name"`),
        query(config, `SELECT * FROM ${fe} ${where} ORDER BY time DESC LIMIT ${limit}`),
      ]);
      const examples: ErrorExample[] = recent.flatMap((s) =>
        s.values.map((v) => {
          const get = (c: string): unknown => v[s.columns.indexOf(c)];
          return {
            tenant: str(get('tenant_id')),
            timeMicros: num(get('time')),
            errorType: str(get('error_type')),
            view: str(get('view_name')),
            message: str(get('message')),
            stack: str(get('stack')),
            count: num(get('count')),
            sessionId: str(get('session_id')),
            traceId: str(get('trace_id')),
            spanId: str(get('span_id')),
            actionName: str(get('action_name')),
          };
        }),
      );
      return {
        counts: counts
          .map((s) => ({ tenant: s.tags?.tenant_id ?? '', errorType: s.tags?.error_type ?? '', view: s.tags?.view_name ?? '', count: num(s.values[0]?.[s.columns.indexOf('count')]) }))
          .filter((c) => c.count > 0)
          .sort(byErrorCount),
        recent: examples.sort(byNewest),
      };
    },
  };
}
