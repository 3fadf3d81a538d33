import type { DuckDBValue } from '@duckdb/node-api';
import type { Rows } from './embedded-console.ts';
import { summarizeTraces, type TimeRange, type TraceSummary } from './model.ts';
import { newestTraceSummaries, type NewestRead } from './newest-traces.ts';

/** How far past the estimate a window reaches, so that one read usually holds the rows asked for. */
const MARGIN = 1.5;
/** The narrowest window and the least a window grows when it held too few rows. */
const MIN_WIDTH_NS = 1_000_000_000n;
const MIN_GROWTH = 4;

/** What a read saw, for the next read's window: its rows and the times (ns) of its newest and oldest. */
interface Seen {
  readonly rows: number;
  readonly newestNs: bigint;
  readonly oldestNs: bigint;
}

const big = (v: DuckDBValue | undefined): bigint => (typeof v === 'bigint' ? v : BigInt(Number(v ?? 0)));
const num = (v: DuckDBValue | undefined): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v ?? 0));

/**
 * A tenant's newest `limit` traces on the embedded store: newestTraceSummaries' reads, with two
 * changes to how a read is done and none to what it reads (bench/queries.ts at 10M spans):
 * - DuckDB picks the newest traces of the rows read and hands over only their rows, with the
 *   count and oldest time of the rest: turning 100 000 rows into JavaScript objects took several
 *   times DuckDB's read of them.
 * - After the first read, a read of the newest `n` rows scans a window, `[lo, to)`, that the last
 *   read's density says holds them, widened until it does (or reaches `from`). The newest `n`
 *   rows of a window holding at least `n` are the range's newest `n`; the window lets DuckDB skip
 *   every row group older than `lo` by its min/max `time_ns`, where `ORDER BY time_ns DESC LIMIT n`
 *   alone sorted all the tenant's rows once `n` was large (DuckDB leaves large limits to a full sort).
 */
export function embeddedNewestTraces(rows: Rows, sp: string, tenant: string, range: TimeRange, limit: number): Promise<TraceSummary[]> {
  let last: (NewestRead & Seen) | undefined;

  async function read(lo: bigint, n: number): Promise<NewestRead & Seen> {
    const sql = `WITH r AS (
        SELECT trace_id, parent_span_id, name, time_ns, duration_ns FROM ${sp}
        WHERE time_ns >= $1 AND time_ns < $2 AND tenant_id = $3 ORDER BY time_ns DESC LIMIT ${n}),
      top AS (SELECT trace_id FROM r GROUP BY trace_id ORDER BY min(time_ns // 1000) DESC, trace_id LIMIT ${limit})
      SELECT trace_id, parent_span_id, name, time_ns // 1000 AS start_us, duration_ns,
        (SELECT count(*) FROM r) AS total, (SELECT min(time_ns) FROM r) AS oldest_ns, (SELECT max(time_ns) FROM r) AS newest_ns
      FROM r WHERE trace_id IN (SELECT trace_id FROM top)`;
    const found = await rows(sql, [lo, range.toNs, tenant]);
    const first = found[0];
    if (first === undefined) return { traces: [], rows: 0, oldestMicros: Infinity, newestNs: 0n, oldestNs: 0n };
    const oldestNs = big(first.oldest_ns);
    return {
      traces: summarizeTraces(
        found.map((r) => ({
          traceId: String(r.trace_id),
          parentSpanId: String(r.parent_span_id ?? ''),
          name: String(r.name ?? ''),
          startMicros: num(r.start_us),
          durationNs: num(r.duration_ns),
        })),
      ),
      rows: num(first.total),
      oldestMicros: Number(oldestNs / 1000n),
      newestNs: big(first.newest_ns),
      oldestNs,
    };
  }

  return newestTraceSummaries(limit, async (n) => {
    if (last === undefined || last.rows === 0) {
      last = await read(range.fromNs, n);
      return last;
    }
    // Rows arrive about evenly: n rows take about n / rows of the last read's span.
    const newestNs = last.newestNs;
    let width = (last.newestNs - last.oldestNs) * BigInt(Math.ceil((n / last.rows) * MARGIN));
    for (;;) {
      if (width < MIN_WIDTH_NS) width = MIN_WIDTH_NS;
      const lo = newestNs - width > range.fromNs ? newestNs - width : range.fromNs;
      const got = await read(lo, n);
      if (got.rows >= n || lo === range.fromNs) {
        last = got;
        return got;
      }
      width *= BigInt(Math.max(MIN_GROWTH, Math.ceil((n / Math.max(got.rows, 1)) * MARGIN)));
    }
  });
}
