import type { RefusedLines } from './transport.ts';

/** Distinct reason labels per process; past this, `other`. A label set must stay bounded whatever the database says. */
export const MAX_REASONS = 32;
const MAX_REASON_LENGTH = 120;

/**
 * A refusal message as a metric label: quoted names and values become `'?'` and numbers `N`, so
 * "invalid column type for column 'temp', expected …float, got …string" is one reason for every
 * column, and the label set does not grow with the data.
 */
export function refusalReason(message: string): string {
  const r = message
    .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`/g, "'?'")
    .replace(/\d+/g, 'N')
    .replace(/\s+/g, ' ')
    .trim();
  if (r === '') return 'unknown';
  return r.length > MAX_REASON_LENGTH ? `${r.slice(0, MAX_REASON_LENGTH - 1)}…` : r;
}

export interface RefusalSink {
  /** Adds `lines` to the refused-lines counter under `reason`. */
  count(reason: string, lines: number): void;
  /** Called once per reason per process: the first line refused for it, and the database's message. */
  firstOfReason(reason: string, line: string, message: string): void;
}

export interface RefusalLog {
  /**
   * Counts one refused batch. `refused` is the per-reason split when the database gave one
   * (InfluxDB 3): the first line of each new reason is logged. Otherwise (v1/v2: one message per
   * batch, no line named) all `rejected` lines count under the batch's `message`, and the caller
   * logs the batch with a sample as before.
   */
  record(message: string, rejected: number, refused: readonly RefusedLines[]): void;
}

/**
 * Counts refused lines per reason and logs the first line of each reason once: a mapping bug
 * that makes every span invalid would otherwise log a line per batch, thousands a minute, while
 * the counter alone already says how many and why.
 */
export function createRefusalLog(sink: RefusalSink, maxReasons = MAX_REASONS): RefusalLog {
  const seen = new Set<string>();
  function label(reason: string): string {
    if (seen.has(reason) || seen.size < maxReasons) return reason;
    return 'other';
  }
  function one(reason: string, lines: number, named: { line: string; message: string } | undefined): void {
    if (lines <= 0) return;
    const l = label(reason);
    sink.count(l, lines);
    if (!seen.has(l)) {
      seen.add(l);
      if (named !== undefined) sink.firstOfReason(l, named.line, named.message);
    }
  }
  return {
    record(message, rejected, refused) {
      if (refused.length === 0) {
        one(refusalReason(message), rejected, undefined);
        return;
      }
      for (const r of refused) one(r.reason, r.lines, { line: r.firstLine, message: r.message });
    },
  };
}
