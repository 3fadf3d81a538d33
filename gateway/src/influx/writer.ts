import type { BufferConfig } from '../config.ts';
import type { WriteOutcome, WriteTransport } from './transport.ts';

/** What the writer reports; `ops/metrics.ts` turns these into Prometheus series. */
export interface WriterEvents {
  written(lines: number): void;
  retry(reason: string, status: number | undefined): void;
  failed(reason: string, status: number | undefined, rejectedLines: number, sample: readonly string[]): void;
}

export interface LineWriter {
  /**
   * Takes all lines or none. False means the buffer is full: the caller must refuse the request
   * (503 + Retry-After) rather than accept data it would have to drop.
   */
  offer(lines: readonly string[]): boolean;
  readonly bufferedLines: number;
  readonly bufferedBytes: number;
  readonly isFull: boolean;
  /** True after the last write attempt succeeded (or before any attempt). */
  readonly lastWriteOk: boolean;
  /** Suggested Retry-After, in seconds, for a refused request. */
  retryAfterSeconds(): number;
  /** Writes everything buffered, retrying until `deadline` (epoch ms). Resolves with the lines left unwritten. */
  drain(deadline: number): Promise<number>;
  close(): void;
}

const RETRY_BASE_MILLIS = 250;
const MIN_RETRY_MILLIS = 100;
/** setTimeout's limit: a longer delay (e.g. a far-future Retry-After date) fires after 1 ms instead. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1;

/**
 * Waits for `p`, but no later than `deadline`, on a ref'd timer. The retry wait inside a write is
 * unref'd and may be longer than the time left (Retry-After, backoff up to retryMaxDelayMillis):
 * awaiting it alone made drain() overrun its deadline, and at shutdown, when nothing else keeps
 * the event loop alive, let the process exit mid-drain without reporting the lines it lost.
 */
async function untilDeadline(p: Promise<void>, deadline: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([p, expired]);
  } finally {
    clearTimeout(t);
  }
}

/** Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): spreads retrying replicas. */
export function backoffMillis(attempt: number, maxMillis: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMillis, RETRY_BASE_MILLIS * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface WriterOptions {
  readonly transport: WriteTransport;
  readonly buffer: BufferConfig;
  readonly events: WriterEvents;
  readonly random?: () => number;
  /** The writer is done with the oldest `lines` lines (written, or refused as invalid): the spool may forget them. */
  readonly onReleased?: (lines: number) => void;
}

/**
 * A bounded FIFO of lines, flushed in batches bounded by lines and bytes, by size or by timer,
 * with one write in flight. A retryable failure keeps the batch at the head and waits (honouring
 * Retry-After); a permanent failure (InfluxDB refused the lines as invalid) drops only that batch,
 * after the events hook has logged and counted it.
 */
export function createLineWriter(opts: WriterOptions): LineWriter {
  const { transport, buffer: cfg, events } = opts;
  const random = opts.random ?? Math.random;
  let lines: string[] = [];
  let sizes: number[] = [];
  let head = 0;
  let bytes = 0;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let lastOk = true;
  let lastRetryAfterMillis = 0;
  let closed = false;

  const pending = () => lines.length - head;

  function compact(): void {
    if (head > 1024 && head * 2 > lines.length) {
      lines = lines.slice(head);
      sizes = sizes.slice(head);
      head = 0;
    }
  }

  function takeBatch(): { body: string; count: number; size: number } {
    let count = 0;
    let size = 0;
    const end = lines.length;
    while (head + count < end && count < cfg.batchMaxLines) {
      const s = sizes[head + count] as number;
      if (count > 0 && size + s > cfg.batchMaxBytes) break;
      size += s;
      count++;
    }
    return { body: lines.slice(head, head + count).join('\n'), count, size };
  }

  function release(count: number, size: number): void {
    for (let i = head; i < head + count; i++) lines[i] = '';
    head += count;
    bytes -= size;
    compact();
    opts.onReleased?.(count);
  }

  function schedule(): void {
    if (closed || inFlight !== undefined || retryTimer !== undefined || pending() === 0) return;
    if (pending() >= cfg.batchMaxLines || bytes >= cfg.batchMaxBytes) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      inFlight = sendOne().finally(() => {
        inFlight = undefined;
        schedule();
      });
      return;
    }
    if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        if (inFlight === undefined && retryTimer === undefined && pending() > 0) {
          inFlight = sendOne().finally(() => {
            inFlight = undefined;
            schedule();
          });
        }
      }, cfg.flushIntervalMillis);
      timer.unref();
    }
  }

  async function sendOne(): Promise<void> {
    const batch = takeBatch();
    if (batch.count === 0) return;
    const outcome: WriteOutcome = await transport.write(batch.body, batch.count);
    switch (outcome.kind) {
      case 'success':
        attempt = 0;
        lastOk = true;
        lastRetryAfterMillis = 0;
        release(batch.count, batch.size);
        events.written(batch.count);
        return;
      case 'failure': {
        attempt = 0;
        lastOk = true; // the database answered; it just refused these lines
        const sample = lines.slice(head, head + Math.min(batch.count, 3));
        release(batch.count, batch.size);
        events.failed(outcome.reason, outcome.status, outcome.rejectedLines, sample);
        if (outcome.rejectedLines < batch.count) events.written(batch.count - outcome.rejectedLines);
        return;
      }
      case 'retryable': {
        lastOk = false;
        events.retry(outcome.reason, outcome.status);
        // `Retry-After: 0` (or a date in the past) is honoured, but never as a hot loop.
        const delay = outcome.retryAfterMillis === undefined ? backoffMillis(attempt, cfg.retryMaxDelayMillis, random) : Math.max(outcome.retryAfterMillis, MIN_RETRY_MILLIS);
        attempt++;
        lastRetryAfterMillis = delay;
        await new Promise<void>((resolve) => {
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            resolve();
          }, Math.min(delay, MAX_TIMER_MILLIS));
          retryTimer.unref();
        });
        // The batch stayed at the head; the next schedule() sends it again.
        return;
      }
    }
  }

  return {
    offer(newLines) {
      if (closed) return false;
      let add = 0;
      const newSizes = new Array<number>(newLines.length);
      for (let i = 0; i < newLines.length; i++) {
        // +1 for the newline that joins it to the next line in a batch body.
        const s = Buffer.byteLength(newLines[i] as string) + 1;
        newSizes[i] = s;
        add += s;
      }
      if (bytes + add > cfg.maxBytes) return false;
      for (let i = 0; i < newLines.length; i++) {
        lines.push(newLines[i] as string);
        sizes.push(newSizes[i] as number);
      }
      bytes += add;
      schedule();
      return true;
    },
    get bufferedLines() {
      return pending();
    },
    get bufferedBytes() {
      return bytes;
    },
    get isFull() {
      // "Full" leaves room for one more maximal batch, so readiness flips before requests bounce.
      return bytes + cfg.batchMaxBytes > cfg.maxBytes;
    },
    get lastWriteOk() {
      return lastOk;
    },
    retryAfterSeconds() {
      return Math.max(1, Math.ceil(lastRetryAfterMillis / 1000));
    },
    async drain(deadline) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      while (pending() > 0 && Date.now() < deadline) {
        if (inFlight !== undefined) {
          await untilDeadline(inFlight, deadline);
          continue;
        }
        if (retryTimer !== undefined) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        inFlight = sendOne().finally(() => {
          inFlight = undefined;
        });
        await untilDeadline(inFlight, deadline);
      }
      return pending();
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      timer = undefined;
    },
  };
}
