import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The spool's on-disk format and its recovery (the format is described in spool.ts): records
 * encoded and decoded, the directory lock, the ack file, and torn tails cut off at start-up.
 */

/** What recovery reports (spool.ts's SpoolEvents has it). */
export interface TruncationEvents {
  /** Recovery cut a torn or corrupt tail off a segment. */
  truncated(segment: string, bytes: number, why: string): void;
}

export const HEADER_BYTES = 12;
export const SEGMENT_NAME = /^(\d{16})\.seg$/;

export interface SpoolRecord {
  readonly segment: number;
  readonly offset: number;
  readonly size: number;
  readonly lineCount: number;
  /** Kept until the record is readable from disk (and for good after a disk error). */
  lines: readonly string[] | undefined;
  durable: boolean;
  /** Lines of this record the writer still holds (after hand-out). */
  unreleased: number;
}

export interface Segment {
  readonly number: number;
  bytes: number;
}

export const segmentFile = (dir: string, n: number): string => join(dir, `${String(n).padStart(16, '0')}.seg`);

export function encodeRecord(lines: readonly string[]): Buffer {
  const text = lines.join('');
  const textBytes = Buffer.byteLength(text);
  const payloadBytes = 4 * lines.length + textBytes;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  buf.writeUInt32LE(payloadBytes, 0);
  buf.writeUInt32LE(lines.length, 4);
  let at = HEADER_BYTES;
  for (const line of lines) at = buf.writeUInt32LE(Buffer.byteLength(line), at);
  buf.write(text, at, 'utf8');
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES), crc32(buf.subarray(0, 8))), 8);
  return buf;
}

export function decodePayload(payload: Buffer, lineCount: number): string[] {
  const lines = new Array<string>(lineCount);
  let at = 4 * lineCount;
  for (let i = 0; i < lineCount; i++) {
    const end = at + payload.readUInt32LE(4 * i);
    lines[i] = payload.toString('utf8', at, end);
    at = end;
  }
  return lines;
}

/**
 * When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22), or undefined
 * where /proc is not readable. A pid alone is not an identity: a restarted container numbers its
 * processes from 1 again, so the old owner's pid may well be a live sibling.
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, started: string | undefined): boolean {
  if (started !== undefined) {
    const now = startTime(pid);
    if (now !== undefined || existsSync('/proc/self/stat')) return now === started;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Only one process may own a spool: two would replay each other's records and delete them. */
export function lock(dir: string): void {
  const file = join(dir, 'lock');
  try {
    const [pidText, started] = readFileSync(file, 'utf8').trim().split(' ');
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid, started)) {
      throw new Error(`the spool in ${dir} is in use by process ${pid}; give each gateway its own SPOOL_DIR`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // A stale lock (a crashed or killed gateway, or one from before a container restart) is taken over.
  const me = startTime(process.pid);
  writeFileSync(file, me === undefined ? String(process.pid) : `${process.pid} ${me}`);
}

export function readAck(dir: string): { segment: number; offset: number } {
  try {
    const m = /^(\d+) (\d+)$/.exec(readFileSync(join(dir, 'ack'), 'utf8').trim());
    if (m !== null) return { segment: Number(m[1]), offset: Number(m[2]) };
  } catch {
    // No ack file: nothing was acknowledged yet, replay everything.
  }
  return { segment: 0, offset: 0 };
}

/** Scans one segment; returns its valid records and truncates a torn tail. */
export function recoverSegment(dir: string, n: number, events: TruncationEvents): { records: SpoolRecord[]; bytes: number } {
  const path = segmentFile(dir, n);
  const fd = openSync(path, 'r+');
  try {
    const size = statSync(path).size;
    const records: SpoolRecord[] = [];
    const header = Buffer.alloc(HEADER_BYTES);
    let offset = 0;
    let why = '';
    while (offset < size) {
      if (size - offset < HEADER_BYTES || readSync(fd, header, 0, HEADER_BYTES, offset) !== HEADER_BYTES) {
        why = 'incomplete record header';
        break;
      }
      const length = header.readUInt32LE(0);
      const lineCount = header.readUInt32LE(4);
      if (length > size - offset - HEADER_BYTES) {
        why = 'record longer than the file';
        break;
      }
      const payload = Buffer.alloc(length);
      readSync(fd, payload, 0, length, offset + HEADER_BYTES);
      if (crc32(payload, crc32(header.subarray(0, 8))) !== header.readUInt32LE(8)) {
        why = 'checksum mismatch';
        break;
      }
      records.push({ segment: n, offset, size: HEADER_BYTES + length, lineCount, lines: undefined, durable: true, unreleased: 0 });
      offset += HEADER_BYTES + length;
    }
    if (offset < size) {
      ftruncateSync(fd, offset);
      fsyncSync(fd);
      events.truncated(path, size - offset, why);
    }
    return { records, bytes: offset };
  } finally {
    closeSync(fd);
  }
}

/**
 * Every segment in `dir`, oldest first, each recovered (a torn tail truncated and reported), and
 * the records at or after the ack position: the ones to replay.
 */
export function recoverSegments(dir: string, ack: { segment: number; offset: number }, events: TruncationEvents): { segments: Segment[]; records: SpoolRecord[] } {
  const numbers = readdirSync(dir)
    .map((f) => SEGMENT_NAME.exec(f)?.[1])
    .filter((m): m is string => m !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  const segments: Segment[] = [];
  const records: SpoolRecord[] = [];
  for (const n of numbers) {
    const { records: found, bytes } = recoverSegment(dir, n, events);
    segments.push({ number: n, bytes });
    for (const r of found) if (r.segment > ack.segment || (r.segment === ack.segment && r.offset >= ack.offset)) records.push(r);
  }
  return { segments, records };
}
