import type { InfluxConfig } from '../config.ts';
import type { MappingRules } from '../mapping/rules.ts';
import { ident, literal, timeRange } from './influxql.ts';
import { InfluxQueryError, runInfluxQL } from './influxql-http.ts';
import { LOGS_MEASUREMENT } from '../mapping/map-signals.ts';
import { createInfluxConsoleQueries, type InfluxSeries } from './influx-console.ts';
import type { RollupCoverage } from '../rollup/recorder.ts';
import { withRollups } from './rollup-drilldown.ts';
import { createInfluxRollupSource } from './rollup-influx.ts';
import { ALL_TIME, createIndexedTraceLookups, IDS_PER_STATEMENT, inWindowOf, intersect, secondWindows } from './influx-trace-index.ts';
import { MAX_TRACE_ROWS, newestTraces, type TraceRow } from './newest-traces.ts';
import { summariseParts } from './trace-parts.ts';
import {
  attributeList,
  byLogOrder,
  byStartDesc,
  LOG_COLUMNS,
  type TraceLog,
  bySlowest,
  comparisonRows,
  SPAN_COLUMNS,
  summarizeTraces,
  withErrorRates,
  type Comparison,
  type DrillDown,
  type LatencyStats,
  type SessionSummary,
  type TimeRange,
  type TraceSpan,
  type TraceSummary,
  byWindow,
  type WindowP99,
} from './model.ts';

type Series = InfluxSeries;

/** What a trace list reads of each span (newest-traces.ts `TraceRow`, with the time first). */
const TRACE_COLUMNS = `"trace_id", "parent_span_id", "name", "duration_ns"`;

export { InfluxQueryError };

/**
 * The drill-down queries in InfluxQL over `/query`: it works on 1.x, on 2.x through the DBRP
 * compatibility API and on 3.x, where Flux does not (3.x: one request per statement, see
 * influxql-http.ts; why InfluxQL rather than SQL there: docs/influxdb3.md). Times come back as `epoch=u`: exact in a JS
 * number, where nanoseconds would not survive JSON.parse.
 *
 * Over 120 lines on purpose: the body is the DrillDown object, one method per query (each short),
 * sharing the `/query` client and the measurement names; the console's queries are already apart
 * (influx-console.ts).
 */
export function createInfluxDrillDown(config: InfluxConfig, rules: MappingRules, rollups?: RollupCoverage): DrillDown {
  const fe = ident(rules.frontend.name);
  const be = ident(rules.backend.name);
  const sp = ident(rules.spans.name);
  const lg = ident(LOGS_MEASUREMENT);

  async function query(q: string): Promise<Series[][]> {
    const results = await runInfluxQL<Series>(config, q);
    return results.map((r) => {
      // A measurement that does not exist yet is "no data", not an error.
      if (r.error !== undefined && !/not found/.test(r.error)) throw new InfluxQueryError(`InfluxDB query failed: ${r.error}`);
      return r.series ?? [];
    });
  }

  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const stats = (cols: string[], row: unknown[]): LatencyStats => {
    const at = (c: string): unknown => row[cols.indexOf(c)];
    return { count: num(at('count')) ?? 0, p50: num(at('p50')), p95: num(at('p95')), p99: num(at('p99')) };
  };
  const statsSelect = (field: string): string =>
    `COUNT(${ident(field)}) AS "count", PERCENTILE(${ident(field)}, 50) AS "p50", PERCENTILE(${ident(field)}, 95) AS "p95", PERCENTILE(${ident(field)}, 99) AS "p99"`;
  const tenantFilter = (tenant: string | undefined): string => (tenant === undefined ? '' : ` AND "tenant_id" = ${literal(tenant)}`);

  function spanRow(cols: string[], row: unknown[]): TraceSpan {
    const get = (c: string): unknown => row[cols.indexOf(c)];
    const attributes = attributeList(cols.map((c, i) => [c, row[i]] as const), SPAN_COLUMNS);
    return {
      traceId: String(get('trace_id') ?? ''),
      spanId: String(get('span_id') ?? ''),
      parentSpanId: String(get('parent_span_id') ?? ''),
      name: String(get('name') ?? ''),
      service: String(get('service_name') ?? ''),
      kind: String(get('span_kind') ?? ''),
      tenant: String(get('tenant_id') ?? ''),
      startMicros: Number(get('time')),
      durationMs: Number(get('duration_ns') ?? 0) / 1e6,
      statusCode: Number(get('status_code') ?? 0),
      sessionId: String(get('session_id') ?? ''),
      attributes,
    };
  }

  const consoleQueries = createInfluxConsoleQueries(query, { fe, be, sp });
  const index = createIndexedTraceLookups(query);

  const traceRows = (results: Series[][]): TraceRow[] =>
    results.flat().flatMap((s) =>
      s.values.map((v) => ({ traceId: String(v[1]), parentSpanId: String(v[2] ?? ''), name: String(v[3] ?? ''), startMicros: Number(v[0]), durationNs: Number(v[4] ?? 0) })),
    );

  /**
   * A session's traces from the index: merged from the parts its `trace_index` rows carry
   * (trace-parts.ts), and for traces a part does not answer, from their spans, read in the
   * seconds the index gives each trace (within `range`).
   */
  async function indexedSessionTraces(tenant: string, ids: readonly string[], range: TimeRange): Promise<TraceSummary[]> {
    const { traces, unsummarised: seconds } = summariseParts(await index.tracesParts(tenant, ids, range), range);
    const statements: string[] = [];
    for (const w of secondWindows([...seconds.values()].flat())) {
      const inRange = intersect(w, range);
      if (inRange === undefined) continue;
      const inWindow = [...seconds].filter(([, list]) => list.some((s) => inWindowOf(s, w))).map(([id]) => id);
      for (let i = 0; i < inWindow.length; i += IDS_PER_STATEMENT) {
        const or = inWindow.slice(i, i + IDS_PER_STATEMENT).map((id) => `"trace_id" = ${literal(id)}`).join(' OR ');
        statements.push(`SELECT ${TRACE_COLUMNS} FROM ${sp} WHERE ${timeRange(inRange.fromNs, inRange.toNs)} AND "tenant_id" = ${literal(tenant)} AND (${or})`);
      }
    }
    return statements.length === 0 ? traces : [...traces, ...summarizeTraces(traceRows(await query(statements.join('; '))))];
  }

  /** Without index rows (data written before the index): session_id is a field, so find its traces by scanning, then all their spans. */
  async function scannedSessionRows(tenant: string, sessionId: string, range: TimeRange | undefined): Promise<TraceRow[]> {
    if (range === undefined) return [];
    const where = `WHERE ${timeRange(range.fromNs, range.toNs)} AND "tenant_id" = ${literal(tenant)}`;
    const [hits = []] = await query(`SELECT "trace_id" FROM ${sp} ${where} AND "session_id" = ${literal(sessionId)} ORDER BY time DESC LIMIT ${MAX_TRACE_ROWS}`);
    const ids = [...new Set(hits.flatMap((s) => s.values.map((v) => String(v[1]))))];
    const statements: string[] = [];
    for (let i = 0; i < ids.length; i += 50) {
      const or = ids.slice(i, i + 50).map((id) => `"trace_id" = ${literal(id)}`).join(' OR ');
      statements.push(`SELECT ${TRACE_COLUMNS} FROM ${sp} ${where} AND (${or})`);
    }
    return statements.length === 0 ? [] : traceRows(await query(statements.join('; ')));
  }

  const raw: DrillDown = {
    ...consoleQueries,

    async tenants(range, tenant) {
      const where = `WHERE ${timeRange(range.fromNs, range.toNs)}${tenantFilter(tenant)}`;
      const [[front = [], back = []], errors] = await Promise.all([
        query(`SELECT ${statsSelect('duration_ms')} FROM ${fe} ${where} GROUP BY "tenant_id"; SELECT ${statsSelect('latency_ms')} FROM ${be} ${where} GROUP BY "tenant_id"`),
        consoleQueries.errorCounts(range, tenant),
      ]);
      const empty: LatencyStats = { count: 0, p50: null, p95: null, p99: null };
      const out = new Map<string, { tenant: string; frontend: LatencyStats; backend: LatencyStats }>();
      for (const [list, side] of [
        [front, 'frontend'],
        [back, 'backend'],
      ] as const) {
        for (const s of list) {
          const t = s.tags?.tenant_id ?? '';
          const entry = out.get(t) ?? { tenant: t, frontend: empty, backend: empty };
          if (s.values[0] !== undefined) entry[side] = stats(s.columns, s.values[0]);
          out.set(t, entry);
        }
      }
      return withErrorRates([...out.values()], errors);
    },

    async sessions(tenant, range, limit) {
      const where = `WHERE ${timeRange(range.fromNs, range.toNs)} AND "tenant_id" = ${literal(tenant)}`;
      const [agg = [], first = [], last = []] = await query(
        [
          `SELECT COUNT("duration_ms") AS "count", PERCENTILE("duration_ms", 99) AS "p99", MAX("duration_ms") AS "max" FROM ${fe} ${where} GROUP BY "session_id"`,
          // Selectors alone return the matching point's own time: first and last seen.
          `SELECT FIRST("duration_ms") FROM ${fe} ${where} GROUP BY "session_id"`,
          `SELECT LAST("duration_ms") FROM ${fe} ${where} GROUP BY "session_id"`,
        ].join('; '),
      );
      const timeOf = (list: Series[]): Map<string, number> => new Map(list.map((s) => [s.tags?.session_id ?? '', Number(s.values[0]?.[0])]));
      const firsts = timeOf(first);
      const lasts = timeOf(last);
      const out: SessionSummary[] = agg.map((s) => {
        const id = s.tags?.session_id ?? '';
        const row = s.values[0] ?? [];
        return {
          sessionId: id,
          spanCount: num(row[s.columns.indexOf('count')]) ?? 0,
          p99Ms: num(row[s.columns.indexOf('p99')]),
          maxMs: num(row[s.columns.indexOf('max')]),
          firstSeenMicros: firsts.get(id) ?? 0,
          lastSeenMicros: lasts.get(id) ?? 0,
        };
      });
      return out.sort(bySlowest).slice(0, limit);
    },

    async traces(tenant, range, limit, sessionId) {
      if (sessionId === undefined) {
        const where = `WHERE ${timeRange(range.fromNs, range.toNs)} AND "tenant_id" = ${literal(tenant)}`;
        return newestTraces(limit, async (n) => traceRows(await query(`SELECT ${TRACE_COLUMNS} FROM ${sp} ${where} ORDER BY time DESC LIMIT ${n}`)));
      }
      const ids = await index.sessionTraces(tenant, sessionId, range, MAX_TRACE_ROWS);
      const traces = ids.length > 0 ? await indexedSessionTraces(tenant, ids, range) : summarizeTraces(await scannedSessionRows(tenant, sessionId, await index.uncovered(range)));
      return traces.sort(byStartDesc).slice(0, limit);
    },

    async trace(traceId, tenant) {
      const seconds = await index.traceSeconds(traceId, tenant);
      let statements: string[];
      if (seconds.length > 0) {
        statements = secondWindows(seconds).map((w) => `SELECT * FROM ${sp} WHERE ${timeRange(w.fromNs, w.toNs)} AND "trace_id" = ${literal(traceId)}${tenantFilter(tenant)}`);
      } else {
        // Not in the index: written before it, or no such trace. Scan where the index does not cover.
        const before = await index.uncovered(ALL_TIME);
        statements = before === undefined ? [] : [`SELECT * FROM ${sp} WHERE time < ${before.toNs} AND "trace_id" = ${literal(traceId)}${tenantFilter(tenant)}`];
      }
      const results = statements.length === 0 ? [] : await query(statements.join('; '));
      return results
        .flat()
        .flatMap((s) => s.values.map((v) => spanRow(s.columns, v)))
        .sort((x, y) => x.startMicros - y.startMicros || (x.spanId < y.spanId ? -1 : 1));
    },

    async traceLogs(traceId, tenant) {
      const [rows = []] = await query(`SELECT * FROM ${lg} WHERE "trace_id" = ${literal(traceId)}${tenantFilter(tenant)}`);
      return rows
        .flatMap((s) =>
          s.values.map((row): TraceLog => {
            const get = (c: string): unknown => row[s.columns.indexOf(c)];
            const attributes = attributeList(s.columns.map((c, i) => [c, row[i]] as const), LOG_COLUMNS);
            return {
              traceId: String(get('trace_id') ?? ''),
              spanId: String(get('span_id') ?? ''),
              service: String(get('service_name') ?? ''),
              tenant: String(get('tenant_id') ?? ''),
              timeMicros: Number(get('time')),
              severityText: String(get('severity_text') ?? ''),
              severityNumber: Number(get('severity_number') ?? 0),
              body: String(get('body') ?? ''),
              attributes,
            };
          }),
        )
        .sort(byLogOrder);
    },

    async compare(a, b, range) {
      const where = `WHERE ${timeRange(range.fromNs, range.toNs)} AND ("tenant_id" = ${literal(a)} OR "tenant_id" = ${literal(b)})`;
      const [back = [], front = []] = await query(
        `SELECT ${statsSelect('latency_ms')} FROM ${be} ${where} GROUP BY "tenant_id", "endpoint"; SELECT ${statsSelect('duration_ms')} FROM ${fe} ${where} GROUP BY "tenant_id", "view_name", "action_name"`,
      );
      const rows = (list: Series[], keys: string[]) =>
        list.flatMap((s) =>
          s.values[0] === undefined ? [] : [{ tenant: s.tags?.tenant_id ?? '', key: Object.fromEntries(keys.map((k) => [k, s.tags?.[k] ?? ''])), stats: stats(s.columns, s.values[0]) }],
        );
      const result: Comparison = {
        a,
        b,
        endpoints: comparisonRows(rows(back, ['endpoint']), a, b),
        views: comparisonRows(rows(front, ['view_name', 'action_name']), a, b),
      };
      return result;
    },

    async windowP99(range, bucketNs, dimension) {
      const [measurement, field] = dimension === 'endpoint' ? [be, 'latency_ms'] : [fe, 'duration_ms'];
      // GROUP BY time() buckets align on the epoch plus the offset: aligning them on range.fromNs
      // makes the first bucket start exactly there, as on the embedded store.
      const offset = ((range.fromNs % bucketNs) + bucketNs) % bucketNs;
      const [series = []] = await query(
        `SELECT COUNT(${ident(field)}) AS "count", PERCENTILE(${ident(field)}, 99) AS "p99" FROM ${measurement} WHERE ${timeRange(range.fromNs, range.toNs)} ` +
          `GROUP BY time(${bucketNs}ns, ${offset}ns), "tenant_id", ${ident(dimension)} fill(none)`,
      );
      const out: WindowP99[] = [];
      for (const s of series) {
        const ci = s.columns.indexOf('count');
        const pi = s.columns.indexOf('p99');
        for (const row of s.values) {
          const count = num(row[ci]) ?? 0;
          const p99 = num(row[pi]);
          if (count === 0 || p99 === null) continue;
          out.push({ tenant: s.tags?.tenant_id ?? '', value: s.tags?.[dimension] ?? '', startMs: Math.round(Number(row[0]) / 1000), count, p99 });
        }
      }
      return out.sort(byWindow);
    },
  };
  // With rollups on (the recorder's coverage given), the percentile answers read them (rollup-drilldown.ts).
  return rollups === undefined ? raw : withRollups(raw, { source: createInfluxRollupSource(query, { fe, be, sp }), coverage: rollups, errorCounts: consoleQueries.errorCounts });
}
