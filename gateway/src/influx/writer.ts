import type { BufferConfig } from '../config.ts';
import { retryDelayMillis, type BackoffPolicy } from '../delivery/backoff.ts';
import type { RefusedLines, WriteOutcome, WriteTransport } from './transport.ts';

/** What the writer reports; `ops/metrics.ts` turns these into Prometheus series. */
export interface WriterEvents {
  written(lines: number): void;
  retry(reason: string, status: number | undefined): void;
  /** `refused`: the refused lines per reason when the database named them (InfluxDB 3), else empty. */
  failed(reason: string, status: number | undefined, rejectedLines: number, sample: readonly string[], refused: readonly RefusedLines[]): void;
}

export interface LineWriter {
  /**
   * Takes all lines or none. False means the buffer is full: the caller must refuse the request
   * (503 + Retry-After) rather than accept data it would have to drop.
   */
  offer(lines: readonly string[]): boolean;
  /**
   * `offer` for `count` lines already encoded and joined by newlines (no trailing one). The fused
   * encoder builds a request's lines as one buffer: nothing is split, re-joined or re-encoded.
   */
  offerBytes(body: Buffer, count: number): boolean;
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

/**
 * Backoff from 250 ms, doubling up to `retryMaxDelayMillis`. Any Retry-After is honoured (the
 * writer holds the data, so waiting as long as InfluxDB asks costs nothing but buffer), and no
 * wait is under 100 ms: `Retry-After: 0`, a date in the past or a zero jitter draw must not turn
 * into a hot loop against a struggling database.
 */
const RETRY_POLICY = { initialMillis: 250, minMillis: 100 } as const;
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

export interface WriterOptions {
  readonly transport: WriteTransport;
  readonly buffer: BufferConfig;
  readonly events: WriterEvents;
  readonly random?: () => number;
  /** The writer is done with the oldest `lines` lines (written, or refused as invalid): the spool may forget them. */
  readonly onReleased?: (lines: number) => void;
}

/** A batch handed to the transport: its lines left the queue, their bytes stay counted until it completes. */
interface Batch {
  readonly body: Buffer;
  readonly count: number;
  readonly size: number;
  done: boolean;
}

/**
 * A bounded FIFO of lines, flushed in batches bounded by lines and bytes, by size or by timer,
 * with up to `writeConcurrency` writes in flight: one write at a time could not keep up while the
 * event loop was busy taking requests (each answer waited its turn behind them), and InfluxDB
 * ingests concurrent writes well. Batches complete in any order but are released (`onReleased`,
 * the spool's acknowledgement) strictly in the order they were taken.
 *
 * A retryable failure keeps its batch and pauses new writes: after the wait (Retry-After or
 * backoff) the failed batches are resent one at a time until one succeeds, then concurrency
 * resumes. A permanent failure (InfluxDB refused the lines as invalid) completes only that batch,
 * after the events hook has logged and counted it.
 *
 * Over 120 lines on purpose: the hot path (every accepted request's lines pass `offer`) and one
 * closure over the buffer, the batches in flight and the pause state, which flush, complete and
 * retry all change together; closures over local `let`s are also what V8 optimizes best here.
 */
export function createLineWriter(opts: WriterOptions): LineWriter {
  const { transport, buffer: cfg, events } = opts;
  const random = opts.random ?? Math.random;
  const policy: BackoffPolicy = { ...RETRY_POLICY, maxMillis: cfg.retryMaxDelayMillis };
  const concurrency = Math.max(1, cfg.writeConcurrency ?? 1);
  /**
   * Not yet in a batch, from `head`: chunks of newline-joined lines, UTF-8 (one line each from
   * `offer`, a request's from `offerBytes`), their line counts and their bytes (+1 for the newline
   * that joins a chunk to the next one in a batch body). Buffers, not strings: they live off the V8
   * heap while they wait, and go to the socket as they are.
   */
  let chunks: Buffer[] = [];
  let chunkLines: number[] = [];
  let sizes: number[] = [];
  let head = 0;
  let queuedLines = 0;
  /** Bytes of every line not yet released: queued or in a batch. */
  let bytes = 0;
  /** Lines and bytes in batches not yet released. */
  let batchedLines = 0;
  let batchedBytes = 0;
  /** Taken batches, oldest first, until released. */
  const batches: Batch[] = [];
  /** Failed retryably, oldest first: resent before any new batch. */
  const retries: Batch[] = [];
  const writes = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let lastOk = true;
  let lastRetryAfterMillis = 0;
  let closed = false;
  let flushDue = false;

  const queued = () => queuedLines;
  const pending = () => queuedLines + batchedLines;

  function compact(): void {
    if (head > 1024 && head * 2 > chunks.length) {
      chunks = chunks.slice(head);
      chunkLines = chunkLines.slice(head);
      sizes = sizes.slice(head);
      head = 0;
    }
  }

  /** Whole chunks up to the line and byte bounds; a chunk over them on its own goes alone. */
  function takeBatch(): Batch | undefined {
    let taken = 0;
    let count = 0;
    let size = 0;
    const end = chunks.length;
    while (head + taken < end) {
      const n = chunkLines[head + taken] as number;
      const s = sizes[head + taken] as number;
      if (taken > 0 && (count + n > cfg.batchMaxLines || size + s > cfg.batchMaxBytes)) break;
      count += n;
      size += s;
      taken++;
    }
    if (taken === 0) return undefined;
    const body = taken === 1 ? (chunks[head] as Buffer) : joinChunks(chunks, head, taken, size - 1);
    for (let i = head; i < head + taken; i++) chunks[i] = EMPTY;
    head += taken;
    queuedLines -= count;
    compact();
    batchedLines += count;
    batchedBytes += size;
    const b: Batch = { body, count, size, done: false };
    batches.push(b);
    return b;
  }

  /** Releases completed batches from the front, in order. */
  function releaseDone(): void {
    while (batches.length > 0 && (batches[0] as Batch).done) {
      const b = batches.shift() as Batch;
      batchedLines -= b.count;
      batchedBytes -= b.size;
      bytes -= b.size;
      opts.onReleased?.(b.count);
    }
  }

  function fullBatchWaiting(): boolean {
    return queued() >= cfg.batchMaxLines || bytes - batchedBytes >= cfg.batchMaxBytes;
  }

  function start(b: Batch): void {
    const p: Promise<void> = sendOne(b).finally(() => {
      writes.delete(p);
      schedule();
    });
    writes.add(p);
  }

  function schedule(): void {
    if (closed || retryTimer !== undefined) return;
    // While InfluxDB is failing, one probe at a time.
    const limit = attempt > 0 ? 1 : concurrency;
    while (writes.size < limit) {
      const retry = retries.shift();
      if (retry !== undefined) {
        start(retry);
        continue;
      }
      if (queued() === 0 || !(flushDue || fullBatchWaiting())) break;
      const b = takeBatch();
      if (b === undefined) break;
      if (queued() === 0) flushDue = false;
      start(b);
    }
    if (queued() > 0 && timer === undefined && !fullBatchWaiting()) {
      timer = setTimeout(() => {
        timer = undefined;
        flushDue = true;
        schedule();
      }, cfg.flushIntervalMillis);
      timer.unref();
    }
  }

  async function sendOne(batch: Batch): Promise<void> {
    const outcome: WriteOutcome = await transport.write(batch.body, batch.count);
    switch (outcome.kind) {
      case 'success':
        attempt = 0;
        lastOk = true;
        lastRetryAfterMillis = 0;
        batch.done = true;
        events.written(batch.count);
        releaseDone();
        return;
      case 'failure': {
        attempt = 0;
        lastOk = true; // the database answered; it just refused these lines
        const sample = sampleLines(batch.body);
        batch.done = true;
        events.failed(outcome.reason, outcome.status, outcome.rejectedLines, sample, outcome.refused ?? []);
        if (outcome.rejectedLines < batch.count) events.written(batch.count - outcome.rejectedLines);
        releaseDone();
        return;
      }
      case 'retryable': {
        lastOk = false;
        events.retry(outcome.reason, outcome.status);
        retries.push(batch);
        // Oldest first: concurrent writes may fail in any order.
        retries.sort((a, b) => batches.indexOf(a) - batches.indexOf(b));
        if (retryTimer !== undefined) return;
        const delay = retryDelayMillis(outcome.retryAfterMillis, attempt, policy, random);
        attempt++;
        lastRetryAfterMillis = delay;
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          schedule();
        }, Math.min(delay, MAX_TIMER_MILLIS));
        retryTimer.unref();
        return;
      }
    }
  }

  return {
    offer(newLines) {
      if (closed) return false;
      const encoded = newLines.map((l) => Buffer.from(l, 'utf8'));
      // +1 per line for the newline that joins it to the next line in a batch body.
      let add = 0;
      for (const b of encoded) add += b.length + 1;
      if (bytes + add > cfg.maxBytes) return false;
      for (const b of encoded) {
        chunks.push(b);
        chunkLines.push(1);
        sizes.push(b.length + 1);
      }
      queuedLines += newLines.length;
      bytes += add;
      schedule();
      return true;
    },
    offerBytes(body, count) {
      if (closed) return false;
      if (count === 0) return true;
      const add = body.length + 1;
      if (bytes + add > cfg.maxBytes) return false;
      chunks.push(body);
      chunkLines.push(count);
      sizes.push(add);
      queuedLines += count;
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
      flushDue = true;
      while (pending() > 0 && Date.now() < deadline) {
        schedule();
        if (writes.size > 0) {
          await untilDeadline(Promise.race(writes), deadline);
          continue;
        }
        // Waiting out a retry delay (its timer schedules the resend).
        await new Promise((r) => setTimeout(r, 20));
      }
      return pending();
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      timer = undefined;
      retryTimer = undefined;
    },
  };
}

const EMPTY = Buffer.alloc(0);

/** `taken` chunks from `from`, joined by newlines into one buffer of `length` bytes. */
function joinChunks(chunks: readonly Buffer[], from: number, taken: number, length: number): Buffer {
  const body = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (let i = from; i < from + taken; i++) {
    if (at > 0) body[at++] = 0x0a;
    at += (chunks[i] as Buffer).copy(body, at);
  }
  return body;
}

/** Up to three lines of a batch body for the log, cut at line boundaries (string fields may hold raw newlines: a sample is a sample). */
function sampleLines(bytes: Buffer): string[] {
  const body = bytes.toString('utf8', 0, Math.min(bytes.length, 64 * 1024));
  const out: string[] = [];
  let at = 0;
  while (out.length < 3 && at <= body.length) {
    const nl = body.indexOf('\n', at);
    out.push(body.slice(at, nl === -1 ? body.length : nl));
    if (nl === -1) break;
    at = nl + 1;
  }
  return out;
}
