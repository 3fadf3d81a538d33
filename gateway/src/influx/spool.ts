import { closeSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePayload, encodeRecord, HEADER_BYTES, lock, readAck, recoverSegments, segmentFile, type Segment, type SpoolRecord, type TruncationEvents } from './spool-format.ts';

/**
 * The on-disk spool (`SPOOL_DIR`): every accepted request's lines are appended as one record and
 * fdatasync'ed before the gateway answers 200, replayed on start, and deleted segment by segment
 * once InfluxDB has taken them.
 *
 * No library fit: the well-kept embedded logs for Node are either native modules (install scripts,
 * which npm here refuses) or key-value stores that do not fsync per commit. The format is kept
 * small enough to check by eye:
 *
 *   segment file  `<16-digit number>.seg`, a sequence of records
 *   record        u32 payload bytes · u32 line count · u32 crc32(header[0..8] ‖ payload) · payload
 *   payload       u32 byte length of each line, then the lines' UTF-8 back to back (string field
 *                 values may hold raw newlines, so '\n' cannot separate lines)
 *   `ack`         "<segment> <offset>": everything before it is in InfluxDB (best effort: a stale
 *                 ack only replays lines InfluxDB already has, which overwrite themselves)
 *
 * A record whose header or checksum does not hold is a torn write from a crash: that segment is
 * truncated there on recovery (and counted). Appends are group-committed: the requests that
 * arrive while one write+fdatasync runs share the next one.
 */
export interface SpoolConfig {
  /** `SPOOL_DIR`. */
  readonly dir: string;
  /** `SPOOL_MAX_BYTES`: past this, appends are refused (the gateway answers 503 + Retry-After). */
  readonly maxBytes: number;
  /** Segment size at which a new file is started; whole acknowledged segments are deleted. */
  readonly segmentBytes: number;
  /**
   * The largest record accepted: the writer's memory buffer must be able to hold any one record,
   * or the feed would stall behind it.
   */
  readonly maxRecordBytes: number;
}

export interface SpoolEvents extends TruncationEvents {
  /** Recovery found records from a previous run (not yet acknowledged by InfluxDB). */
  recovered(records: number, lines: number, bytes: number): void;
  /** A write or fdatasync failed: the spool refuses further appends. */
  diskError(err: Error): void;
}

/** Refused appends say why, so the 503 can tell the operator. */
export type AppendResult = { readonly ok: true } | { readonly ok: false; readonly reason: 'full' | 'too-large' | 'disk-error' };

export interface Spool {
  /** Appends one record (all the lines or none). The record is durable once `synced()` resolves. */
  append(lines: readonly string[]): AppendResult;
  /** Resolves once every record appended before the call is on disk; rejects if the disk failed. */
  synced(): Promise<void>;
  /** The lines of the oldest record not yet handed to the writer, or undefined. */
  peek(): readonly string[] | undefined;
  /** Marks the record `peek()` returned as handed to the writer. */
  handOut(): void;
  /** The writer is done with the next `lines` lines (written, or refused by InfluxDB), in order. */
  release(lines: number): void;
  /** Bytes on disk, acknowledged segments excluded. */
  readonly bytes: number;
  /** Lines spooled and not yet released by the writer. */
  readonly lines: number;
  /** Lines spooled but not yet handed to the writer. */
  readonly waitingLines: number;
  readonly isFull: boolean;
  readonly failed: Error | undefined;
  /** Persists the ack position and closes the files; records left are replayed at the next start. */
  close(): Promise<void>;
}

/** How often the ack position is rewritten at most: it only saves replay work. */
const ACK_EVERY_MILLIS = 250;

/**
 * Opens (and recovers) the spool synchronously: it runs once, before the server listens.
 * Over 120 lines on purpose: one closure over the append sequence, the fdatasync waiters, the
 * records handed out and the ack position, which every operation updates together (the format and
 * recovery are in spool-format.ts). Each operation is its own inner function.
 */
export function openSpool(cfg: SpoolConfig, events: SpoolEvents): Spool {
  mkdirSync(cfg.dir, { recursive: true });
  lock(cfg.dir);
  const ack = readAck(cfg.dir);

  const segments: Segment[] = [];
  /** Every record not yet released by the writer, oldest first; `next` is the first not handed out. */
  let records: SpoolRecord[] = [];
  let first = 0;
  let next = 0;
  let totalBytes = 0;
  let unreleasedLines = 0;
  let waitingLines = 0;

  const recovered = recoverSegments(cfg.dir, ack, events);
  segments.push(...recovered.segments);
  for (const seg of recovered.segments) totalBytes += seg.bytes;
  records.push(...recovered.records);
  for (const r of recovered.records) {
    unreleasedLines += r.lineCount;
    waitingLines += r.lineCount;
  }
  const replayRecords = recovered.records.length;
  // New records always go to a fresh segment: the last one may end in a truncated tail.
  let active: Segment = { number: (recovered.segments.at(-1)?.number ?? 0) + 1, bytes: 0 };
  segments.push(active);
  let activeHandle: Promise<FileHandle> | undefined;
  let activeHandleNumber = -1;

  let pending: Array<{ segment: number; buf: Buffer; record: SpoolRecord }> = [];
  let appendedSeq = 0;
  let durableSeq = 0;
  let flushing = false;
  let failed: Error | undefined;
  // Whole segments behind the ack position hold nothing the database lacks.
  dropAcknowledgedSegments();
  if (replayRecords > 0) events.recovered(replayRecords, waitingLines, totalBytes);

  const waiters: Array<{ seq: number; resolve: () => void; reject: (e: Error) => void }> = [];
  let ackTimer: NodeJS.Timeout | undefined;
  let ackPosition = `${ack.segment} ${ack.offset}`;

  function handleFor(n: number): Promise<FileHandle> {
    if (activeHandle !== undefined && activeHandleNumber === n) return activeHandle;
    const previous = activeHandle;
    activeHandleNumber = n;
    activeHandle = (async () => {
      if (previous !== undefined) await (await previous).close().catch(() => undefined);
      const fh = await open(segmentFile(cfg.dir, n), 'a');
      // The new file's directory entry must survive a crash too.
      const dirHandle = await open(cfg.dir, 'r');
      try {
        await dirHandle.sync();
      } finally {
        await dirHandle.close();
      }
      return fh;
    })();
    return activeHandle;
  }

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (pending.length > 0 && failed === undefined) {
        const batch = pending;
        pending = [];
        const lastSeq = appendedSeq;
        // Group by segment: a batch may straddle a roll-over.
        let i = 0;
        while (i < batch.length) {
          const seg = (batch[i] as (typeof batch)[number]).segment;
          let j = i;
          while (j < batch.length && (batch[j] as (typeof batch)[number]).segment === seg) j++;
          const fh = await handleFor(seg);
          const bufs = batch.slice(i, j).map((p) => p.buf);
          await fh.writev(bufs);
          await fh.datasync();
          i = j;
        }
        // Readable from the file now: waiting records are re-read when their turn comes, and
        // handed-out ones live in the writer's buffer.
        for (const p of batch) {
          p.record.durable = true;
          p.record.lines = undefined;
        }
        durableSeq = lastSeq;
        settle();
      }
    } catch (err) {
      failed = err as Error;
      events.diskError(failed);
      settle();
    } finally {
      flushing = false;
    }
  }

  function settle(): void {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i] as (typeof waiters)[number];
      if (w.seq <= durableSeq) {
        waiters.splice(i, 1);
        w.resolve();
      } else if (failed !== undefined) {
        waiters.splice(i, 1);
        w.reject(failed);
      }
    }
  }

  function readRecord(r: SpoolRecord): string[] {
    const fd = openSync(segmentFile(cfg.dir, r.segment), 'r');
    try {
      const buf = Buffer.allocUnsafe(r.size);
      readSync(fd, buf, 0, r.size, r.offset);
      return decodePayload(buf.subarray(HEADER_BYTES), r.lineCount);
    } finally {
      closeSync(fd);
    }
  }

  function persistAck(sync: boolean): void {
    const r = records[first];
    const position = r === undefined ? `${active.number} ${active.bytes}` : `${r.segment} ${r.offset}`;
    if (position === ackPosition && !sync) return;
    const tmp = join(cfg.dir, 'ack.tmp');
    writeFileSync(tmp, position);
    if (sync) {
      const fd = openSync(tmp, 'r');
      fsyncSync(fd);
      closeSync(fd);
    }
    renameSync(tmp, join(cfg.dir, 'ack'));
    ackPosition = position;
  }

  function scheduleAck(): void {
    if (ackTimer !== undefined) return;
    ackTimer = setTimeout(() => {
      ackTimer = undefined;
      try {
        persistAck(false);
      } catch (err) {
        events.diskError(err as Error);
      }
    }, ACK_EVERY_MILLIS);
    ackTimer.unref();
  }

  function dropAcknowledgedSegments(): void {
    const oldestNeeded = records[first]?.segment ?? active.number;
    while (segments.length > 1 && (segments[0] as Segment).number < oldestNeeded) {
      const s = segments.shift() as Segment;
      totalBytes -= s.bytes;
      try {
        unlinkSync(segmentFile(cfg.dir, s.number));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') events.diskError(err as Error);
      }
    }
  }

  function compact(): void {
    if (first > 1024 && first * 2 > records.length) {
      records = records.slice(first);
      next -= first;
      first = 0;
    }
  }

  return {
    append(lines) {
      if (failed !== undefined) return { ok: false, reason: 'disk-error' };
      if (lines.length === 0) return { ok: true };
      const buf = encodeRecord(lines);
      if (buf.length > cfg.maxRecordBytes) return { ok: false, reason: 'too-large' };
      if (totalBytes + buf.length > cfg.maxBytes) return { ok: false, reason: 'full' };
      if (active.bytes > 0 && active.bytes + buf.length > cfg.segmentBytes) {
        active = { number: active.number + 1, bytes: 0 };
        segments.push(active);
      }
      const record: SpoolRecord = { segment: active.number, offset: active.bytes, size: buf.length, lineCount: lines.length, lines, durable: false, unreleased: 0 };
      active.bytes += buf.length;
      totalBytes += buf.length;
      records.push(record);
      unreleasedLines += lines.length;
      waitingLines += lines.length;
      pending.push({ segment: record.segment, buf, record });
      appendedSeq++;
      if (!flushing) void flush();
      return { ok: true };
    },
    synced() {
      if (failed !== undefined) return Promise.reject(failed);
      if (durableSeq >= appendedSeq) return Promise.resolve();
      return new Promise<void>((resolve, reject) => waiters.push({ seq: appendedSeq, resolve, reject }));
    },
    peek() {
      const r = records[next];
      if (r === undefined) return undefined;
      if (r.lines === undefined) r.lines = readRecord(r);
      return r.lines;
    },
    handOut() {
      const r = records[next];
      if (r === undefined) return;
      r.unreleased = r.lineCount;
      waitingLines -= r.lineCount;
      // Handed-out lines live in the writer's buffer; the spool keeps only their position.
      if (r.durable) r.lines = undefined;
      next++;
    },
    release(n) {
      let left = n;
      while (left > 0 && first < next) {
        const r = records[first] as SpoolRecord;
        const take = Math.min(left, r.unreleased);
        r.unreleased -= take;
        left -= take;
        unreleasedLines -= take;
        if (r.unreleased > 0) break;
        records[first] = undefined as unknown as SpoolRecord;
        first++;
      }
      compact();
      dropAcknowledgedSegments();
      scheduleAck();
    },
    get bytes() {
      return totalBytes;
    },
    get lines() {
      return unreleasedLines;
    },
    get waitingLines() {
      return waitingLines;
    },
    get isFull() {
      // Readiness flips a little before appends bounce, like the memory buffer's.
      return totalBytes > cfg.maxBytes * 0.95;
    },
    get failed() {
      return failed;
    },
    async close() {
      if (ackTimer !== undefined) clearTimeout(ackTimer);
      ackTimer = undefined;
      while (flushing) await new Promise((r) => setTimeout(r, 5));
      try {
        persistAck(true);
      } catch (err) {
        events.diskError(err as Error);
      }
      if (activeHandle !== undefined) await (await activeHandle).close().catch(() => undefined);
      try {
        unlinkSync(join(cfg.dir, 'lock'));
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}
