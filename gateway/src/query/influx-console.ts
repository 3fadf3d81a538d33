import type { CpSpan, CpTrace, RootRow } from './critical-path.ts';
import { ident, literal, timeRange } from './influxql.ts';
import type { BucketRow, DrillDown, ErrorCounts, OperationCount, Side, TimeRange, TimeseriesQuery } from './model.ts';
import { STATUS_ERROR, errorRateBuckets, viewKey } from './timeseries.ts';

/** One series of an InfluxQL `/query` answer. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** Runs `;`-separated statements; one result (list of series) per statement. */
export type InfluxQuery = (q: string) => Promise<InfluxSeries[][]>;

export type ConsoleQueries = Pick<DrillDown, 'timeseries' | 'rootOperations' | 'rootSpans' | 'traceSpans'> & {
  /** Per tenant and side: [spans, error spans] in `spans`, for `errorRate` on /tenants. */
  errorCounts(range: TimeRange, tenant: string | undefined): Promise<ErrorCounts>;
};

const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/**
 * The console's queries in InfluxQL (see query/influx.ts). `view_name`, `http.route` and `name` are
 * fields of `spans`, which InfluxQL cannot GROUP BY: error rates per view or endpoint are counted
 * here from the spans' rows (errorRateBuckets), the same rows the embedded store counts in SQL.
 *
 * About 130 lines on purpose: the body is the returned object, one method per console query,
 * sharing the measurement names and the tenant filter.
 */
export function createInfluxConsoleQueries(query: InfluxQuery, names: { fe: string; be: string; sp: string }): ConsoleQueries {
  const { fe, be, sp } = names;
  const tenantFilter = (tenant: string | undefined): string => (tenant === undefined ? '' : ` AND "tenant_id" = ${literal(tenant)}`);
  /** Frontend spans are those with a view_name (frontend_performance rows); backend ones are server spans. */
  const sideFilter = (side: Side): string => (side === 'frontend' ? ` AND "view_name" <> ''` : ` AND "span_kind" = 'server'`);
  const bucketOf = (q: TimeseriesQuery, micros: unknown): number => Number((BigInt(Number(micros)) * 1000n - q.range.fromNs) / q.stepNs);

  async function latencySeries(q: TimeseriesQuery): Promise<BucketRow[]> {
    const [m, field] = q.side === 'frontend' ? [fe, 'duration_ms'] : [be, 'latency_ms'];
    const tags = q.group === 'tenant' ? [] : q.group === 'endpoint' ? ['endpoint'] : ['view_name', 'action_name'];
    const f = ident(field);
    const agg = q.metric === 'count' ? `COUNT(${f}) AS "count"` : `COUNT(${f}) AS "count", PERCENTILE(${f}, ${q.metric.slice(1)}) AS "value"`;
    // Buckets align on the epoch plus the offset: aligned on range.fromNs, as on the embedded store.
    const offset = ((q.range.fromNs % q.stepNs) + q.stepNs) % q.stepNs;
    const [series = []] = await query(
      `SELECT ${agg} FROM ${m} WHERE ${timeRange(q.range.fromNs, q.range.toNs)}${tenantFilter(q.tenant)} ` +
        `GROUP BY time(${q.stepNs}ns, ${offset}ns), "tenant_id"${tags.map((t) => `, ${ident(t)}`).join('')} fill(none)`,
    );
    const out: BucketRow[] = [];
    for (const s of series) {
      const key = q.group === 'tenant' ? '' : q.group === 'endpoint' ? text(s.tags?.endpoint) : viewKey(text(s.tags?.view_name), text(s.tags?.action_name));
      const ci = s.columns.indexOf('count');
      const vi = s.columns.indexOf('value');
      for (const row of s.values) {
        const count = typeof row[ci] === 'number' ? (row[ci] as number) : 0;
        const value = q.metric === 'count' ? count : row[vi];
        if (count === 0 || typeof value !== 'number') continue;
        out.push({ tenant: text(s.tags?.tenant_id), key, bucket: bucketOf(q, row[0]), value, count });
      }
    }
    return out;
  }

  async function errorSeries(q: TimeseriesQuery): Promise<BucketRow[]> {
    const cols = q.group === 'view' ? `, "view_name", "action_name"` : q.group === 'endpoint' ? `, "http.route", "name"` : '';
    const [series = []] = await query(
      `SELECT "status_code"${cols} FROM ${sp} WHERE ${timeRange(q.range.fromNs, q.range.toNs)}${tenantFilter(q.tenant)}${sideFilter(q.side)} GROUP BY "tenant_id"`,
    );
    const rows = series.flatMap((s) =>
      s.values.map((v) => ({
        tenant: text(s.tags?.tenant_id),
        // The endpoint as backend_api_latency has it: http.route, else the span name.
        key: q.group === 'view' ? viewKey(text(v[2]), text(v[3])) : q.group === 'endpoint' ? text(v[2]) || text(v[3]) : '',
        timeNs: BigInt(Number(v[0])) * 1000n,
        statusCode: Number(v[1] ?? 0),
      })),
    );
    return errorRateBuckets(rows, q.range, q.stepNs);
  }

  return {
    async errorCounts(range, tenant) {
      const where = `WHERE ${timeRange(range.fromNs, range.toNs)}${tenantFilter(tenant)}`;
      const sides: Side[] = ['frontend', 'backend'];
      const statements = sides.flatMap((side) => [
        `SELECT COUNT("status_code") AS "n" FROM ${sp} ${where}${sideFilter(side)} GROUP BY "tenant_id"`,
        `SELECT COUNT("status_code") AS "n" FROM ${sp} ${where}${sideFilter(side)} AND "status_code" = ${STATUS_ERROR} GROUP BY "tenant_id"`,
      ]);
      const results = await query(statements.join('; '));
      const out = new Map<string, Record<Side, readonly [number, number]>>();
      sides.forEach((side, i) => {
        const count = (list: InfluxSeries[] | undefined): Map<string, number> => new Map((list ?? []).map((s) => [text(s.tags?.tenant_id), Number(s.values[0]?.[1] ?? 0)]));
        const totals = count(results[2 * i]);
        const errors = count(results[2 * i + 1]);
        for (const [t, n] of totals) {
          const entry = out.get(t) ?? { frontend: [0, 0], backend: [0, 0] };
          entry[side] = [n, errors.get(t) ?? 0];
          out.set(t, entry);
        }
      });
      return out;
    },

    timeseries(q) {
      return q.metric === 'error_rate' ? errorSeries(q) : latencySeries(q);
    },

    async rootOperations(range, tenants) {
      const or = tenants.map((t) => `"tenant_id" = ${literal(t)}`).join(' OR ');
      const [series = []] = await query(`SELECT "name", "trace_id" FROM ${sp} WHERE ${timeRange(range.fromNs, range.toNs)} AND (${or}) AND "parent_span_id" = '' GROUP BY "tenant_id"`);
      const traces = new Map<string, { tenant: string; operation: string; ids: Set<string> }>();
      for (const s of series) {
        const tenant = text(s.tags?.tenant_id);
        for (const v of s.values) {
          const id = JSON.stringify([tenant, text(v[1])]);
          const e = traces.get(id) ?? { tenant, operation: text(v[1]), ids: new Set<string>() };
          e.ids.add(text(v[2]));
          traces.set(id, e);
        }
      }
      return [...traces.values()].map((e): OperationCount => ({ tenant: e.tenant, operation: e.operation, traces: e.ids.size }));
    },

    async rootSpans(tenant, operation, range, limit) {
      const filter = ` AND "tenant_id" = ${literal(tenant)} AND "parent_span_id" = '' AND "name" = ${literal(operation)}`;
      const [newest = []] = await query(`SELECT "trace_id" FROM ${sp} WHERE ${timeRange(range.fromNs, range.toNs)}${filter} ORDER BY time DESC LIMIT ${limit}`);
      const rows: RootRow[] = newest.flatMap((s) => s.values.map((v) => ({ traceId: text(v[1]), startMicros: Number(v[0]) })));
      if (rows.length < limit) return rows;
      // Ties with the last root (same microsecond) are fetched too, so the pick does not depend on the store's order.
      const last = BigInt((rows[rows.length - 1] as RootRow).startMicros);
      const [ties = []] = await query(`SELECT "trace_id" FROM ${sp} WHERE ${timeRange(last * 1000n, last * 1000n + 1000n)}${filter}`);
      return [...rows.filter((r) => BigInt(r.startMicros) > last), ...ties.flatMap((s) => s.values.map((v) => ({ traceId: text(v[1]), startMicros: Number(v[0]) })))];
    },

    async traceSpans(tenant, traceIds, window) {
      // One scan of the tenant's spans in the window, filtered here: trace_id is a field, and
      // InfluxDB rescans the window for every OR-list of ids (500 traces took 4 s in chunks of 100).
      const wanted = new Set(traceIds);
      const byTrace = new Map<string, CpSpan[]>();
      const [series = []] = await query(
        `SELECT "trace_id", "span_id", "parent_span_id", "service_name", "name", "duration_ns" FROM ${sp} WHERE ${timeRange(window.fromNs, window.toNs)} AND "tenant_id" = ${literal(tenant)}`,
      );
      for (const s of series) {
        for (const v of s.values) {
          const traceId = text(v[1]);
          if (!wanted.has(traceId)) continue;
          const span: CpSpan = { spanId: text(v[2]), parentSpanId: text(v[3]), service: text(v[4]), name: text(v[5]), startNs: BigInt(Number(v[0])) * 1000n, durationNs: BigInt(Number(v[6] ?? 0)) };
          const list = byTrace.get(traceId);
          if (list === undefined) byTrace.set(traceId, [span]);
          else list.push(span);
        }
      }
      return traceIds.flatMap((id): CpTrace[] => {
        const spans = byTrace.get(id);
        return spans === undefined ? [] : [{ traceId: id, spans }];
      });
    },
  };
}
