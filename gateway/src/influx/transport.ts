import { isRetryableHttpStatus, type DeliveryOutcome } from '../delivery/outcome.ts';

/**
 * Lines InfluxDB refused for one reason. InfluxDB 3 names every refused line (up to 100 a
 * response) with its own error message; `reason` is that message with the names and values taken
 * out (refusal-reasons.ts), so it can be a metric label.
 */
export interface RefusedLines {
  readonly reason: string;
  readonly lines: number;
  /** The first refused line for this reason, as InfluxDB echoed it, for the log. */
  readonly firstLine: string;
  /** InfluxDB's own message for that line. */
  readonly message: string;
}

/**
 * A transport sends one batch of line protocol and reports the outcome as a value, never by
 * throwing. Retrying is the writer's job. A `failure` is InfluxDB refusing the lines for good
 * (400, partial write): `rejectedLines` of them were dropped, and `refused` says why, per
 * reason, where the server says (InfluxDB 3); v1/v2 only give one message for the batch.
 */
export type WriteOutcome = DeliveryOutcome<{ readonly rejectedLines: number; readonly refused?: readonly RefusedLines[] }>;

export interface WriteTransport {
  /** `body` is newline-joined line protocol (UTF-8) holding `lineCount` lines. */
  write(body: Buffer, lineCount: number): Promise<WriteOutcome>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** InfluxDB statuses worth retrying: throttling, server errors, and those an operator can fix live. */
export function isRetryableStatus(status: number): boolean {
  // 401/403: a rotated token; 404: the database or bucket not created yet. Dropping the data
  // would be worse than holding it and answering 503 once the buffer fills.
  return status === 401 || status === 403 || status === 404 || isRetryableHttpStatus(status);
}

/** `partial write: ... dropped=3` → 3. InfluxDB 1.x and 2.x both report the count this way. */
export function droppedCount(message: string, lineCount: number): number {
  const m = /dropped=(\d+)/.exec(message);
  return m === null ? lineCount : Math.min(Number(m[1]), lineCount);
}
