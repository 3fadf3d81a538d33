import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { idKeySql, keyColumn, type TableSpecs } from '../schema/derived.ts';
import { sqlIdent } from './sql.ts';
import { createEmbeddedConsoleQueries } from './embedded-console.ts';
import type { RollupCoverage } from '../rollup/recorder.ts';
import { withRollups } from './rollup-drilldown.ts';
import { createEmbeddedRollupSource } from './rollup-embedded.ts';
import { embeddedNewestTraces } from './embedded-newest.ts';
import { MAX_TRACE_ROWS, type TraceRow } from './newest-traces.ts';
import {
  attributeList,
  byLogOrder,
  byStartDesc,
  LOG_COLUMNS,
  type TraceLog,
  bySlowest,
  comparisonRows,
  summarizeTraces,
  withErrorRates,
  type DrillDown,
  type LatencyStats,
  type TraceSpan,
  byWindow,
  type WindowP99,
} from './model.ts';

/** A span's `extra` holds only what has no column. */
const NO_COLUMNS: ReadonlySet<string> = new Set();

type Row = Record<string, DuckDBValue>;

function n(v: DuckDBValue | undefined): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v);
}

/**
 * The drill-down queries in DuckDB SQL. Every user value is a bound parameter. Percentiles follow
 * InfluxQL's PERCENTILE (nearest rank: the value at rank floor(n·p/100 + 0.5)), computed with
 * window functions, so both stores give the same numbers.
 *
 * Over 120 lines on purpose: the body is the DrillDown object, one short method per query, beside
 * the table names and the row helper they share; each query reads next to its InfluxQL twin's order.
 */
export function createEmbeddedDrillDown(conn: DuckDBConnection, specs: TableSpecs, rollups?: RollupCoverage): DrillDown {
  const fe = sqlIdent(specs.frontend.name);
  const be = sqlIdent(specs.backend.name);
  const sp = sqlIdent(specs.spans.name);
  const lg = sqlIdent(specs.logs.name);
  const traceKey = sqlIdent(keyColumn('trace_id'));

  async function rows(sql: string, params: DuckDBValue[]): Promise<Row[]> {
    const reader = await conn.runAndReadAll(sql, params);
    return reader.getRowObjects();
  }

  const consoleQueries = createEmbeddedConsoleQueries(rows, { fe, be, sp });

  const raw: DrillDown = {
    ...consoleQueries,

    async tenants(range, tenant) {
      const where = `time_ns >= $1 AND time_ns < $2${tenant === undefined ? '' : ' AND tenant_id = $3'}`;
      const params: DuckDBValue[] = tenant === undefined ? [range.fromNs, range.toNs] : [range.fromNs, range.toNs, tenant];
      const empty: LatencyStats = { count: 0, p50: null, p95: null, p99: null };
      const out = new Map<string, { tenant: string; frontend: LatencyStats; backend: LatencyStats }>();
      for (const [table, value, side] of [
        [fe, 'duration_ms', 'frontend'],
        [be, 'latency_ms', 'backend'],
      ] as const) {
        for (const r of await rows(stats(table, value, ['tenant_id'], where), params)) {
          const t = String(r.tenant_id);
          const entry = out.get(t) ?? { tenant: t, frontend: empty, backend: empty };
          entry[side] = toStats(r);
          out.set(t, entry);
        }
      }
      return withErrorRates([...out.values()], await consoleQueries.errorCounts(range, tenant));
    },

    async sessions(tenant, range, limit) {
      const sql = stats(fe, "duration_ms", ["session_id"], "time_ns >= $1 AND time_ns < $2 AND tenant_id = $3");
      const found = (await rows(sql, [range.fromNs, range.toNs, tenant])).map((r) => ({
        sessionId: String(r.session_id),
        spanCount: n(r.count) ?? 0,
        p99Ms: n(r.p99),
        maxMs: n(r.max),
        firstSeenMicros: n(r.first_us) ?? 0,
        lastSeenMicros: n(r.last_us) ?? 0,
      }));
      return found.sort(bySlowest).slice(0, limit);
    },

    async traces(tenant, range, limit, sessionId) {
      const base = 'time_ns >= $1 AND time_ns < $2 AND tenant_id = $3';
      const cols = `trace_id, parent_span_id, name, time_ns // 1000 AS start_us, duration_ns`;
      const traceRows = async (sql: string, params: DuckDBValue[]): Promise<TraceRow[]> =>
        (await rows(sql, params)).map((r) => ({
          traceId: String(r.trace_id),
          parentSpanId: String(r.parent_span_id ?? ''),
          name: String(r.name ?? ''),
          startMicros: n(r.start_us) ?? 0,
          durationNs: n(r.duration_ns) ?? 0,
        }));
      if (sessionId === undefined) return embeddedNewestTraces(rows, sp, tenant, range, limit);
      // The session's traces, then their spans by key. Two statements: DuckDB joins a subquery by
      // hash, reading every column of the tenant's rows, but filters a key list in the scan.
      const found = await rows(
        `SELECT DISTINCT trace_id, ${traceKey} AS k FROM (SELECT trace_id, ${traceKey} FROM ${sp}
           WHERE ${base} AND ${keyMatch('session_id', '$4')} ORDER BY time_ns DESC LIMIT ${MAX_TRACE_ROWS})`,
        [range.fromNs, range.toNs, tenant, sessionId],
      );
      if (found.length === 0) return [];
      const ids = new Set(found.map((r) => String(r.trace_id)));
      // Keys are UBIGINTs DuckDB returned, so written as numbers they need no quoting.
      const keys = found.map((r) => String(r.k)).join(', ');
      const sql = `SELECT ${cols} FROM ${sp} WHERE ${base} AND ${traceKey} IN (SELECT unnest([${keys}]::UBIGINT[]))`;
      // A key shared by another trace (a collision) is no match: the id decides.
      const flat = (await traceRows(sql, [range.fromNs, range.toNs, tenant])).filter((r) => ids.has(r.traceId));
      return summarizeTraces(flat).sort(byStartDesc).slice(0, limit);
    },

    async trace(traceId, tenant) {
      const sql = `SELECT *, time_ns // 1000 AS start_us FROM ${sp} WHERE ${keyMatch('trace_id', '$1')}${tenant === undefined ? '' : ' AND tenant_id = $2'}`;
      const found = await rows(sql, tenant === undefined ? [traceId] : [traceId, tenant]);
      return found
        .map(
          (r): TraceSpan => ({
            traceId: String(r.trace_id),
            spanId: String(r.span_id),
            parentSpanId: String(r.parent_span_id ?? ''),
            name: String(r.name ?? ''),
            service: String(r.service_name ?? ''),
            kind: String(r.span_kind ?? ''),
            tenant: String(r.tenant_id),
            startMicros: n(r.start_us) ?? 0,
            durationMs: (n(r.duration_ns) ?? 0) / 1e6,
            statusCode: n(r.status_code) ?? 0,
            sessionId: String(r.session_id ?? ''),
            attributes: attributeList(Object.entries(JSON.parse(String(r.extra ?? '{}')) as Record<string, unknown>), NO_COLUMNS),
          }),
        )
        .sort((x, y) => x.startMicros - y.startMicros || (x.spanId < y.spanId ? -1 : 1));
    },

    async traceLogs(traceId, tenant) {
      const sql = `SELECT *, time_ns // 1000 AS time_us FROM ${lg} WHERE ${keyMatch('trace_id', '$1')}${tenant === undefined ? '' : ' AND tenant_id = $2'}`;
      const found = await rows(sql, tenant === undefined ? [traceId] : [traceId, tenant]);
      return found
        .map((r): TraceLog => {
          const attributes = attributeList(Object.entries(JSON.parse(String(r.extra ?? '{}')) as Record<string, unknown>), LOG_COLUMNS);
          return {
            traceId: String(r.trace_id),
            spanId: String(r.span_id ?? ''),
            service: String(r.service_name ?? ''),
            tenant: String(r.tenant_id),
            timeMicros: n(r.time_us) ?? 0,
            severityText: String(r.severity_text ?? ''),
            severityNumber: n(r.severity_number) ?? 0,
            body: String(r.body ?? ''),
            attributes,
          };
        })
        .sort(byLogOrder);
    },

    async compare(a, b, range) {
      const where = 'time_ns >= $1 AND time_ns < $2 AND (tenant_id = $3 OR tenant_id = $4)';
      const params: DuckDBValue[] = [range.fromNs, range.toNs, a, b];
      const rowsOf = async (table: string, value: string, keys: string[]) =>
        (await rows(stats(table, value, ['tenant_id', ...keys], where), params)).map((r) => ({
          tenant: String(r.tenant_id),
          // InfluxDB omits empty tags, and GROUP BY then reports them as ''.
          key: Object.fromEntries(keys.map((k) => [k, r[k] === null || r[k] === undefined ? '' : String(r[k])])),
          stats: toStats(r),
        }));
      return {
        a,
        b,
        endpoints: comparisonRows(await rowsOf(be, 'latency_ms', ['endpoint']), a, b),
        views: comparisonRows(await rowsOf(fe, 'duration_ms', ['view_name', 'action_name']), a, b),
      };
    },

    async windowP99(range, bucketNs, dimension) {
      const [table, value] = dimension === 'endpoint' ? [be, 'latency_ms'] : [fe, 'duration_ms'];
      const dim = sqlIdent(dimension);
      // Same nearest rank as stats() (InfluxQL PERCENTILE), per (tenant, value, window).
      const sql = `WITH w AS (
          SELECT tenant_id, coalesce(${dim}, '') AS dim, (time_ns - $1) // $3 AS bucket, ${sqlIdent(value)} AS v
          FROM ${table} WHERE time_ns >= $1 AND time_ns < $2 AND ${sqlIdent(value)} IS NOT NULL),
        r AS (
          SELECT *, row_number() OVER (PARTITION BY tenant_id, dim, bucket ORDER BY v) AS rn,
            count(*) OVER (PARTITION BY tenant_id, dim, bucket) AS cnt FROM w)
        SELECT tenant_id, dim, bucket, max(cnt) AS count, max(v) FILTER (WHERE rn = floor(cnt::DOUBLE * 99 / 100 + 0.5)) AS p99
        FROM r GROUP BY tenant_id, dim, bucket`;
      const found = await rows(sql, [range.fromNs, range.toNs, bucketNs]);
      const fromMs = Number(range.fromNs / 1_000_000n);
      const bucketMs = Number(bucketNs / 1_000_000n);
      const out: WindowP99[] = [];
      for (const r of found) {
        const p99 = n(r.p99);
        const count = n(r.count) ?? 0;
        if (p99 === null || count === 0) continue;
        out.push({ tenant: String(r.tenant_id), value: String(r.dim), startMs: fromMs + (n(r.bucket) ?? 0) * bucketMs, count, p99 });
      }
      return out.sort(byWindow);
    },
  };
  // With rollups on (the recorder's coverage given), the percentile answers read them (rollup-drilldown.ts).
  return rollups === undefined ? raw : withRollups(raw, { source: createEmbeddedRollupSource(rows, specs), coverage: rollups, errorCounts: consoleQueries.errorCounts });
}

/**
 * `column` equals the parameter `param`, its key compared first: DuckDB filters the key in the scan
 * and reads the id only where the key matches (store/embedded-write.ts keeps every key set).
 */
function keyMatch(column: string, param: string): string {
  return `${sqlIdent(keyColumn(column))} = ${idKeySql(param)} AND ${sqlIdent(column)} = ${param}`;
}

function toStats(r: Row): LatencyStats {
  return { count: n(r.count) ?? 0, p50: n(r.p50), p95: n(r.p95), p99: n(r.p99) };
}

/** count, nearest-rank p50/p95/p99, max, first/last time (µs) of `value` per group. */
function stats(table: string, value: string, groups: readonly string[], where: string): string {
  const g = groups.map(sqlIdent).join(', ');
  const pct = (p: number): string => `max(v) FILTER (WHERE rn = floor(cnt::DOUBLE * ${p} / 100 + 0.5)) AS p${p}`;
  return `WITH r AS (
      SELECT ${g}, ${sqlIdent(value)} AS v, time_ns,
        row_number() OVER (PARTITION BY ${g} ORDER BY ${sqlIdent(value)}) AS rn,
        count(*) OVER (PARTITION BY ${g}) AS cnt
      FROM ${table} WHERE ${where} AND ${sqlIdent(value)} IS NOT NULL)
    SELECT ${g}, max(cnt) AS count, ${pct(50)}, ${pct(95)}, ${pct(99)}, max(v) AS max,
      min(time_ns) // 1000 AS first_us, max(time_ns) // 1000 AS last_us
    FROM r GROUP BY ${g}`;
}
