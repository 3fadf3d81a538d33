import { byStartDesc, summarizeTraces, type TraceSummary } from './model.ts';

/** A span row as a trace list reads it. */
export interface TraceRow {
  readonly traceId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly startMicros: number;
  readonly durationNs: number;
}

/** Rows read at most for a trace list (the newest are kept), as before this adaptive read. */
export const MAX_TRACE_ROWS = 100_000;
/** A trace whose first span read starts this close to the oldest row read may have older spans not read. */
const UNSURE_MICROS = 60_000_000;
const FIRST_READ = 1000;
const GROWTH = 8;

/** The newest `n` span rows of a range, summarised where they are (a store may do it in its database). */
export interface NewestRead {
  /** At least the newest `limit` traces (by start) among the rows read, each from all its rows read. */
  readonly traces: TraceSummary[];
  /** How many span rows were read (fewer than `n`: the range was read whole). */
  readonly rows: number;
  /** The earliest start among the rows read (µs). */
  readonly oldestMicros: number;
}

/**
 * A tenant's newest `limit` traces (`/tenants/:t/traces` without a session), on both stores:
 * rather than summarising the newest 100 000 spans of the range (a second on either store over a
 * million spans), read the newest few rows, and more only if needed. A trace that starts more than
 * a minute after the oldest row read has every span read (its spans all start after it), so its
 * summary is exact; once `limit` of them are in, no trace that was not read, or was read in part,
 * can rank above them (unless it lasts over a minute). `readNewest(n)` gives the range's newest `n`
 * span rows; fewer than `n` means the range is read whole.
 */
export async function newestTraces(limit: number, readNewest: (n: number) => Promise<TraceRow[]>): Promise<TraceSummary[]> {
  return newestTraceSummaries(limit, async (n) => {
    const rows = await readNewest(n);
    let oldest = Infinity;
    for (const r of rows) if (r.startMicros < oldest) oldest = r.startMicros;
    return { traces: summarizeTraces(rows), rows: rows.length, oldestMicros: oldest };
  });
}

/**
 * `newestTraces` over reads that come summarised: the embedded store picks the newest traces of
 * the rows read in SQL and hands over only their rows, since turning 100 000 rows into JavaScript
 * objects cost far more than DuckDB's read of them.
 */
export async function newestTraceSummaries(limit: number, readNewest: (n: number) => Promise<NewestRead>): Promise<TraceSummary[]> {
  for (let n = Math.max(FIRST_READ, limit * 20); ; n *= GROWTH) {
    const take = Math.min(n, MAX_TRACE_ROWS);
    const read = await readNewest(take);
    const traces = [...read.traces].sort(byStartDesc);
    if (read.rows < take || take === MAX_TRACE_ROWS) return traces.slice(0, limit);
    const sure = traces.filter((t) => t.startMicros > read.oldestMicros + UNSURE_MICROS);
    if (sure.length >= limit) return sure.slice(0, limit);
  }
}
