/**
 * A transport sends one batch of line protocol and reports the outcome as a value, never by
 * throwing (the opentelemetry-js `ExportResponse` shape). Retrying is the writer's job.
 */
export type WriteOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'retryable'; readonly reason: string; readonly retryAfterMillis: number | undefined; readonly status?: number }
  /** The server refused the lines for good (400, partial write). `rejectedLines` of them were dropped. */
  | { readonly kind: 'failure'; readonly reason: string; readonly status?: number; readonly rejectedLines: number };

export interface WriteTransport {
  /** `body` is newline-joined line protocol (UTF-8) holding `lineCount` lines. */
  write(body: Buffer, lineCount: number): Promise<WriteOutcome>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3). Returns milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with a day name. V8's Date.parse
  // also reads "1.5", "-1" or "x 1" as dates in 2001, which turned garbage into "retry now" (0)
  // instead of undefined (back off).
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i.test(v)) return undefined;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** InfluxDB statuses worth retrying: throttling, server errors, and those an operator can fix live. */
export function isRetryableStatus(status: number): boolean {
  // 401/403: a rotated token; 404: the database or bucket not created yet. Dropping the data
  // would be worse than holding it and answering 503 once the buffer fills.
  return status === 401 || status === 403 || status === 404 || status === 408 || status === 429 || status >= 500;
}

/** `partial write: ... dropped=3` → 3. InfluxDB 1.x and 2.x both report the count this way. */
export function droppedCount(message: string, lineCount: number): number {
  const m = /dropped=(\d+)/.exec(message);
  return m === null ? lineCount : Math.min(Number(m[1]), lineCount);
}
