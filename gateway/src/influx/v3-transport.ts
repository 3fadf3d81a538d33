import type { InfluxConfig } from '../config.ts';
import { parseRetryAfter } from '../delivery/retry-after.ts';
import { createHttpPoster, type PostAnswer } from './http-post.ts';
import { splitLines } from './line-split.ts';
import { refusalReason } from './refusal-reasons.ts';
import { isRetryableStatus, type RefusedLines, type WriteOutcome, type WriteTransport } from './transport.ts';
import { describe, v1AuthHeaders } from './v1-transport.ts';

/**
 * An error body lists at most this many refused lines ("up to 100 points",
 * https://docs.influxdata.com/influxdb3/core/write-data/troubleshoot/).
 */
export const MAX_LISTED_LINES = 100;

/** Reasons the transport gives itself, for refusals InfluxDB did not spell out line by line. */
export const UNLISTED_REASON = 'not listed by InfluxDB (an error body names at most 100 lines)';
export const TOO_LARGE_REASON = 'a single line over the server request size limit (413)';

/** One entry of the `data` array in a write_lp error body. */
interface LineError {
  readonly original_line: string;
  readonly line_number: number;
  readonly error_message: string;
}

function isLineError(v: unknown): v is LineError {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e.original_line === 'string' && typeof e.line_number === 'number' && typeof e.error_message === 'string';
}

/** Refused lines of one batch, grouped by reason, in the order the reasons first appear. */
function groupByReason(errors: readonly LineError[]): RefusedLines[] {
  const by = new Map<string, { reason: string; lines: number; firstLine: string; message: string }>();
  for (const e of errors) {
    const reason = refusalReason(e.error_message);
    const g = by.get(reason);
    if (g === undefined) by.set(reason, { reason, lines: 1, firstLine: e.original_line, message: e.error_message });
    else g.lines++;
  }
  return [...by.values()];
}

/**
 * A write_lp refusal as an outcome. With `accept_partial=true`, a 400 whose `error` is "partial
 * write of line protocol occurred" stored every line but those in `data`; "write of line protocol
 * failed" stored none. Bodies documented at
 * https://docs.influxdata.com/influxdb3/core/write-data/http-api/v3-write-lp/#partial-writes.
 */
export function refusalOutcome(status: number, text: string, lineCount: number): WriteOutcome {
  let body: { error?: unknown; data?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  const error = typeof body?.error === 'string' ? body.error : text.trim().slice(0, 2000) || `HTTP ${status}`;
  // `data` is an array with accept_partial=true and a single object with accept_partial=false.
  const data = body?.data;
  const listed = (Array.isArray(data) ? data : data === undefined || data === null ? [] : [data]).filter(isLineError);
  if (status !== 400 || listed.length === 0) {
    // Nothing names the lines: the whole batch was refused for one reason.
    return { kind: 'failure', reason: error, status, rejectedLines: lineCount, refused: [{ reason: refusalReason(error), lines: lineCount, firstLine: '', message: error }] };
  }
  const refused = groupByReason(listed);
  const partial = /partial write/i.test(error);
  let rejected = listed.length;
  let unlisted = 0;
  if (!partial) {
    unlisted = lineCount - listed.length;
  } else if (listed.length >= MAX_LISTED_LINES) {
    // The list stopped at its cap: lines after the last one listed may have been refused too.
    // Counted as refused (an upper bound), never as written: a loss must not hide.
    const last = Math.max(...listed.map((e) => e.line_number));
    unlisted = Math.max(0, lineCount - last);
  }
  if (unlisted > 0) {
    refused.push({ reason: UNLISTED_REASON, lines: unlisted, firstLine: '', message: error });
    rejected += unlisted;
  }
  return { kind: 'failure', reason: error, status, rejectedLines: Math.min(lineCount, rejected), refused };
}

/** What one POST came to, or `too-large` (413): the caller splits the batch. */
type Attempt = WriteOutcome | { readonly kind: 'too-large' };

/** A batch split after a 413, resumed where it stopped when the writer sends it again. */
interface SplitProgress {
  readonly lines: string[];
  next: number;
  rejected: number;
  refused: RefusedLines[];
  reason: string;
}

/**
 * InfluxDB 3's native write endpoint, `POST /api/v3/write_lp`
 * (https://docs.influxdata.com/influxdb3/core/api/v3/#operation/PostWriteLP):
 * - `precision=nanosecond`: our timestamps are nanoseconds, and the endpoint's default, `auto`,
 *   guesses the unit from the magnitude.
 * - `accept_partial=true` (the default, spelled out): one bad line must not cost its batch.
 * - `no_sync` stays false: the spool releases lines once InfluxDB acknowledged them, so the
 *   acknowledgement must mean "in the WAL".
 * - `Authorization: Bearer <token>`.
 *
 * Statuses: 204 written; 400 refused lines, named in the body (a failure: they are never sent
 * again, the rest of the batch is stored); 413 the request is over the server's size limit: the
 * batch is split in halves until the parts fit, a single line that still does not is refused;
 * 401/403/404, 408, 429 and 5xx retryable with Retry-After (transport.ts); anything else (422)
 * refuses the batch.
 */
export function createV3Transport(config: InfluxConfig, maxSockets = 8): WriteTransport {
  const params = new URLSearchParams({ db: config.bucket, precision: 'nanosecond', accept_partial: 'true' });
  const writeUrl = new URL(`${config.url}/api/v3/write_lp?${params.toString()}`);
  const headers = { 'content-type': 'text/plain; charset=utf-8', accept: 'application/json', ...v1AuthHeaders(config) };
  const poster = createHttpPoster(maxSockets);
  /** Keyed by the batch body: the writer resends the same Buffer after a retryable outcome. */
  const splits = new WeakMap<Buffer, SplitProgress>();

  async function attempt(body: Buffer, lineCount: number): Promise<Attempt> {
    let res: PostAnswer;
    try {
      res = await poster.post(writeUrl, headers, body, config.timeoutMillis);
    } catch (err) {
      return { kind: 'retryable', reason: `network: ${describe(err)}`, retryAfterMillis: undefined };
    }
    if (res.status === 204 || res.status === 200) return { kind: 'success' };
    if (res.status === 413) return { kind: 'too-large' };
    if (isRetryableStatus(res.status)) {
      let reason = `HTTP ${res.status}`;
      try {
        const j = JSON.parse(res.text) as { error?: unknown };
        if (typeof j.error === 'string') reason = j.error;
      } catch {
        if (res.text.trim() !== '') reason = res.text.trim().slice(0, 2000);
      }
      return { kind: 'retryable', reason, status: res.status, retryAfterMillis: parseRetryAfter(res.retryAfter) };
    }
    return refusalOutcome(res.status, res.text, lineCount);
  }

  /** Sends `lines` in order, halving on 413; stops at the first retryable outcome and returns it. */
  async function sendPart(lines: string[], p: SplitProgress): Promise<WriteOutcome | undefined> {
    const out = await attempt(Buffer.from(lines.join('\n'), 'utf8'), lines.length);
    if (out.kind === 'too-large') {
      if (lines.length === 1) {
        p.rejected++;
        p.refused.push({ reason: TOO_LARGE_REASON, lines: 1, firstLine: (lines[0] as string).slice(0, 300), message: 'HTTP 413' });
        p.reason = TOO_LARGE_REASON;
        p.next++;
        return undefined;
      }
      const mid = Math.ceil(lines.length / 2);
      const first = await sendPart(lines.slice(0, mid), p);
      return first ?? sendPart(lines.slice(mid), p);
    }
    if (out.kind === 'retryable') return out;
    if (out.kind === 'failure') {
      p.rejected += out.rejectedLines;
      p.refused.push(...(out.refused ?? []));
      p.reason = out.reason;
    }
    p.next += lines.length;
    return undefined;
  }

  return {
    async write(body, lineCount): Promise<WriteOutcome> {
      let p = splits.get(body);
      if (p === undefined) {
        const out = await attempt(body, lineCount);
        if (out.kind !== 'too-large') return out;
        p = { lines: splitLines(body.toString('utf8')), next: 0, rejected: 0, refused: [], reason: '' };
        splits.set(body, p);
      }
      // Resumes after the parts already stored or refused: refused lines are never sent twice.
      const retry = await sendPart(p.lines.slice(p.next), p);
      if (retry !== undefined) return retry;
      splits.delete(body);
      if (p.rejected === 0) return { kind: 'success' };
      return { kind: 'failure', reason: p.reason, status: 400, rejectedLines: Math.min(lineCount, p.rejected), refused: p.refused };
    },
    async ping() {
      // `/health` answers 200 when the server runs (it may want the token: /ping and /health
      // are authenticated unless the server exempts them).
      try {
        const res = await fetch(`${config.url}/health`, { headers: v1AuthHeaders(config), signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    },
    async close() {
      poster.close();
    },
  };
}
