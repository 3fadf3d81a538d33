/**
 * `Retry-After` (RFC 9110 §10.2.3) in milliseconds from `nowMillis`, or undefined when the header
 * is absent or unreadable, so that the caller falls back to its own backoff.
 *
 * - delta-seconds (`120`) → 120 000.
 * - A decimal fraction (`1.5`) is not delta-seconds by the RFC, but its sender plainly means a
 *   delay, so it is read as seconds and rounded up to the next millisecond (1 500). V8's
 *   `Date.parse('1.5')` returns a date in 2001: the alert notifier's old copy of this parser read
 *   it that way and retried at once.
 * - An HTTP date (IMF-fixdate, RFC 850, asctime) → the time until then, never negative (a date in
 *   the past means now). Every form starts with a day name; anything else that `Date.parse`
 *   happens to accept (`-1`, `x 1`, `1e3`) is nonsense.
 * - Nonsense (`soon`, `5s`, `-1`, an empty value, a number too big to be a delay) → undefined.
 */
export function parseRetryAfter(value: string | null | undefined, nowMillis: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) {
    const millis = Math.ceil(Number(v) * 1000);
    return Number.isSafeInteger(millis) ? millis : undefined;
  }
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMillis);
}
