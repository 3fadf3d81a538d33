import type { DuckDBValue } from '@duckdb/node-api';
import type { CpSpan, CpTrace, RootRow } from './critical-path.ts';
import type { BucketRow, DrillDown, ErrorCounts, Side, TimeRange, TimeseriesQuery } from './model.ts';
import { STATUS_ERROR, viewKey } from './timeseries.ts';

type Row = Record<string, DuckDBValue>;
export type Rows = (sql: string, params: DuckDBValue[]) => Promise<Row[]>;

export type EmbeddedConsoleQueries = Pick<DrillDown, 'timeseries' | 'rootOperations' | 'rootSpans' | 'traceSpans'> & {
  errorCounts(range: TimeRange, tenant: string | undefined): Promise<ErrorCounts>;
};

/** Bound parameters per `IN (…)` list. */
const TRACE_CHUNK = 1000;

const num = (v: DuckDBValue | undefined): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v ?? 0));
const text = (v: DuckDBValue | undefined): string => (v === null || v === undefined ? '' : String(v));

/** `spans` attributes live in `extra` (JSON); the same fields InfluxDB stores as `spans` fields. */
export const attr = (key: string): string => `coalesce(json_extract_string(extra, '$."${key}"'), '')`;
/** Frontend spans carry a view_name (frontend_performance rows); backend ones are server spans. */
export const SIDE_FILTER: Readonly<Record<Side, string>> = { frontend: `${attr('view_name')} <> ''`, backend: `span_kind = 'server'` };

/**
 * The console's queries in DuckDB SQL, the twin of query/influx-console.ts: same rows, same
 * nearest-rank percentiles, same buckets (aligned on the range's start), every user value bound.
 */
export function createEmbeddedConsoleQueries(rows: Rows, tables: { fe: string; be: string; sp: string }): EmbeddedConsoleQueries {
  const { fe, be, sp } = tables;
  const tenantClause = (tenant: string | undefined, n: number): { sql: string; params: DuckDBValue[] } =>
    tenant === undefined ? { sql: '', params: [] } : { sql: ` AND tenant_id = $${n}`, params: [tenant] };

  async function latencySeries(q: TimeseriesQuery): Promise<BucketRow[]> {
    const [table, value] = q.side === 'frontend' ? [fe, 'duration_ms'] : [be, 'latency_ms'];
    const keys = q.group === 'tenant' ? [] : q.group === 'endpoint' ? ['endpoint'] : ['view_name', 'action_name'];
    const keyCols = keys.map((k, i) => `, coalesce("${k}", '') AS k${i}`).join('');
    const part = ['tenant_id', ...keys.map((_, i) => `k${i}`), 'bucket'].join(', ');
    const t = tenantClause(q.tenant, 4);
    const agg = q.metric === 'count' ? 'count(*) AS value' : `max(v) FILTER (WHERE rn = floor(cnt::DOUBLE * ${q.metric.slice(1)} / 100 + 0.5)) AS value`;
    const sql = `WITH w AS (
        SELECT tenant_id${keyCols}, (time_ns - $1) // $3 AS bucket, "${value}" AS v
        FROM ${table} WHERE time_ns >= $1 AND time_ns < $2${t.sql} AND "${value}" IS NOT NULL),
      r AS (SELECT *, row_number() OVER (PARTITION BY ${part} ORDER BY v) AS rn, count(*) OVER (PARTITION BY ${part}) AS cnt FROM w)
      SELECT ${part}, max(cnt) AS count, ${agg} FROM r GROUP BY ${part}`;
    return (await rows(sql, [q.range.fromNs, q.range.toNs, q.stepNs, ...t.params])).flatMap((r): BucketRow[] => {
      if (r.value === null || r.value === undefined) return [];
      const key = q.group === 'tenant' ? '' : q.group === 'endpoint' ? text(r.k0) : viewKey(text(r.k0), text(r.k1));
      return [{ tenant: text(r.tenant_id), key, bucket: num(r.bucket), value: num(r.value), count: num(r.count) }];
    });
  }

  async function errorSeries(q: TimeseriesQuery): Promise<BucketRow[]> {
    // The endpoint as backend_api_latency has it: http.route, else the span name.
    const keyCols = q.group === 'view' ? `, ${attr('view_name')} AS k0, ${attr('action_name')} AS k1` : q.group === 'endpoint' ? `, coalesce(nullif(${attr('http.route')}, ''), name, '') AS k0` : '';
    const t = tenantClause(q.tenant, 4);
    const sql = `SELECT tenant_id${keyCols}, (time_ns - $1) // $3 AS bucket, count(*) AS n, count(*) FILTER (WHERE status_code = ${STATUS_ERROR}) AS e
      FROM ${sp} WHERE time_ns >= $1 AND time_ns < $2${t.sql} AND ${SIDE_FILTER[q.side]} GROUP BY ALL`;
    return (await rows(sql, [q.range.fromNs, q.range.toNs, q.stepNs, ...t.params])).map((r) => ({
      tenant: text(r.tenant_id),
      key: q.group === 'tenant' ? '' : q.group === 'endpoint' ? text(r.k0) : viewKey(text(r.k0), text(r.k1)),
      bucket: num(r.bucket),
      value: num(r.e),
      count: num(r.n),
    }));
  }

  return {
    async errorCounts(range, tenant) {
      const t = tenantClause(tenant, 3);
      const count = (side: Side, errors: boolean): string => `count(*) FILTER (WHERE ${SIDE_FILTER[side]}${errors ? ` AND status_code = ${STATUS_ERROR}` : ''})`;
      const sql = `SELECT tenant_id, ${count('frontend', false)} AS fe_n, ${count('frontend', true)} AS fe_e, ${count('backend', false)} AS be_n, ${count('backend', true)} AS be_e
        FROM ${sp} WHERE time_ns >= $1 AND time_ns < $2${t.sql} GROUP BY tenant_id`;
      const out = new Map<string, Record<Side, readonly [number, number]>>();
      for (const r of await rows(sql, [range.fromNs, range.toNs, ...t.params])) {
        out.set(text(r.tenant_id), { frontend: [num(r.fe_n), num(r.fe_e)], backend: [num(r.be_n), num(r.be_e)] });
      }
      return out;
    },

    timeseries(q) {
      return q.metric === 'error_rate' ? errorSeries(q) : latencySeries(q);
    },

    async rootOperations(range, tenants) {
      const list = tenants.map((_, i) => `$${i + 3}`).join(', ');
      const sql = `SELECT tenant_id, coalesce(name, '') AS name, count(DISTINCT trace_id) AS n FROM ${sp}
        WHERE time_ns >= $1 AND time_ns < $2 AND tenant_id IN (${list}) AND parent_span_id = '' GROUP BY ALL`;
      return (await rows(sql, [range.fromNs, range.toNs, ...tenants])).map((r) => ({ tenant: text(r.tenant_id), operation: text(r.name), traces: num(r.n) }));
    },

    async rootSpans(tenant, operation, range, limit) {
      // The newest `limit` roots and every root in the same microsecond as the last of them, as on InfluxDB.
      const sql = `WITH roots AS (
          SELECT trace_id, time_ns // 1000 AS us, time_ns FROM ${sp}
          WHERE time_ns >= $1 AND time_ns < $2 AND tenant_id = $3 AND parent_span_id = '' AND name = $4),
        newest AS (SELECT us FROM roots ORDER BY time_ns DESC LIMIT ${Math.trunc(limit)})
        SELECT trace_id, us FROM roots WHERE us >= (SELECT min(us) FROM newest)`;
      return (await rows(sql, [range.fromNs, range.toNs, tenant, operation])).map((r): RootRow => ({ traceId: text(r.trace_id), startMicros: num(r.us) }));
    },

    async traceSpans(tenant, traceIds, window) {
      const byTrace = new Map<string, CpSpan[]>();
      for (let i = 0; i < traceIds.length; i += TRACE_CHUNK) {
        const chunk = traceIds.slice(i, i + TRACE_CHUNK);
        const sql = `SELECT trace_id, span_id, parent_span_id, service_name, name, time_ns // 1000 AS start_us, duration_ns FROM ${sp}
          WHERE tenant_id = $1 AND time_ns >= $2 AND time_ns < $3 AND trace_id IN (${chunk.map((_, j) => `$${j + 4}`).join(', ')})`;
        for (const r of await rows(sql, [tenant, window.fromNs, window.toNs, ...chunk])) {
          const span: CpSpan = {
            spanId: text(r.span_id),
            parentSpanId: text(r.parent_span_id),
            service: text(r.service_name),
            name: text(r.name),
            startNs: BigInt(num(r.start_us)) * 1000n,
            durationNs: BigInt(num(r.duration_ns)),
          };
          const list = byTrace.get(text(r.trace_id));
          if (list === undefined) byTrace.set(text(r.trace_id), [span]);
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
