import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { openSpool, type Spool, type SpoolConfig, type SpoolEvents } from '../src/influx/spool.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tl-spool-'));
  dirs.push(d);
  return d;
}

interface Recorded {
  recovered: Array<{ records: number; lines: number }>;
  truncated: Array<{ bytes: number; why: string }>;
  diskErrors: Error[];
}

function open(dir: string, over: Partial<SpoolConfig> = {}): { spool: Spool; events: Recorded } {
  const events: Recorded = { recovered: [], truncated: [], diskErrors: [] };
  const hooks: SpoolEvents = {
    recovered: (records, lines) => events.recovered.push({ records, lines }),
    truncated: (_segment, bytes, why) => events.truncated.push({ bytes, why }),
    diskError: (err) => events.diskErrors.push(err),
  };
  return { spool: openSpool({ dir, maxBytes: 1 << 20, segmentBytes: 4096, maxRecordBytes: 64 * 1024, ...over }, hooks), events };
}

const batch = (tag: string, n: number): string[] => Array.from({ length: n }, (_, i) => `m,t=${tag} v=${i}i ${1_700_000_000_000_000_000n + BigInt(i)}`);

/** Everything a fresh process would replay, in order: peek + handOut until empty. */
function replay(spool: Spool): string[] {
  const out: string[] = [];
  for (let lines = spool.peek(); lines !== undefined; lines = spool.peek()) {
    out.push(...lines);
    spool.handOut();
  }
  return out;
}

const segments = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

test('records survive a restart in order, byte for byte, including escaped newlines and UTF-8', async () => {
  const dir = tempDir();
  const { spool } = open(dir);
  // A string field may hold a raw newline: lines are framed by length, not by '\n'.
  const odd = ['m,t=a\\ b s="line\nbreak \\"quoted\\" ünïcødé 🚀" 1', 'm,t=x v=1i 2', 'm s="\n\n" 3'];
  assert.deepEqual(spool.append(batch('a', 3)), { ok: true });
  assert.deepEqual(spool.append(odd), { ok: true });
  await spool.synced();
  // Simulates kill -9: no close(), so no ack file and the lock still names this (live) pid.
  const { spool: again, events } = open(dir);
  assert.deepEqual(events.recovered, [{ records: 2, lines: 6 }]);
  assert.equal(again.lines, 6);
  assert.deepEqual(replay(again), [...batch('a', 3), ...odd]);
});

test('released records are acknowledged: their segments are deleted and a restart does not replay them', async () => {
  const dir = tempDir();
  const { spool } = open(dir, { segmentBytes: 300 });
  for (let i = 0; i < 10; i++) assert.equal(spool.append(batch(`r${i}`, 4)).ok, true);
  await spool.synced();
  assert.ok(segments(dir).length >= 4, `several segments (${segments(dir).length})`);
  const bytesBefore = spool.bytes;
  const handed = replay(spool);
  assert.equal(handed.length, 40);
  spool.release(26); // six and a half records
  assert.ok(spool.bytes < bytesBefore, 'acknowledged segments were deleted');
  assert.equal(spool.lines, 14);
  await spool.close();

  const { spool: again, events } = open(dir, { segmentBytes: 300 });
  const replayed = replay(again);
  // The half-released record comes back whole: InfluxDB overwrites the lines it already has.
  assert.deepEqual(events.recovered, [{ records: 4, lines: 16 }]);
  assert.deepEqual(replayed, handed.slice(24));
  again.release(16);
  await again.close();
  const { spool: third, events: none } = open(dir, { segmentBytes: 300 });
  assert.deepEqual(none.recovered, []);
  assert.equal(third.peek(), undefined);
  assert.equal(third.bytes, 0, 'nothing left on disk');
});

test('a torn tail (crash mid-write) is cut off and counted; the records before it survive', async () => {
  const dir = tempDir();
  const { spool } = open(dir);
  spool.append(batch('a', 2));
  spool.append(batch('b', 2));
  await spool.synced();
  const seg = join(dir, segments(dir)[0] as string);
  const good = statSync(seg).size;
  // Half a record: a length prefix promising more than was written.
  const torn = Buffer.alloc(20);
  torn.writeUInt32LE(500, 0);
  torn.writeUInt32LE(3, 4);
  appendFileSync(seg, torn);

  const { spool: again, events } = open(dir);
  assert.deepEqual(events.truncated, [{ bytes: 20, why: 'record longer than the file' }]);
  assert.equal(statSync(seg).size, good, 'the segment was truncated to its last whole record');
  assert.deepEqual(replay(again), [...batch('a', 2), ...batch('b', 2)]);
  // New records go to a new segment and come back after the old ones.
  again.append(batch('c', 1));
  await again.synced();
  const { spool: third } = open(dir);
  assert.deepEqual(replay(third), [...batch('a', 2), ...batch('b', 2), ...batch('c', 1)]);
});

test('a flipped byte fails the checksum: the segment is cut at that record', async () => {
  const dir = tempDir();
  const { spool } = open(dir);
  spool.append(batch('a', 2));
  spool.append(batch('b', 2));
  spool.append(batch('c', 2));
  await spool.synced();
  const seg = join(dir, segments(dir)[0] as string);
  const bytes = readFileSync(seg);
  const second = 12 + bytes.readUInt32LE(0);
  bytes[second + 40] = (bytes[second + 40] as number) ^ 0x20; // inside record b's lines
  writeFileSync(seg, bytes);
  const { spool: again, events } = open(dir);
  assert.equal(events.truncated.length, 1);
  assert.equal(events.truncated[0]?.why, 'checksum mismatch');
  assert.deepEqual(replay(again), batch('a', 2));
});

test('SPOOL_MAX_BYTES: a full spool refuses whole records, and takes them again once InfluxDB catches up', async () => {
  const dir = tempDir();
  const { spool } = open(dir, { maxBytes: 2048, segmentBytes: 512 });
  let accepted = 0;
  let refused: string | undefined;
  for (let i = 0; i < 100 && refused === undefined; i++) {
    const r = spool.append(batch(`f${i}`, 3));
    if (r.ok) accepted++;
    else refused = r.reason;
  }
  assert.equal(refused, 'full');
  assert.ok(spool.bytes <= 2048);
  assert.ok(spool.isFull);
  await spool.synced();
  replay(spool);
  spool.release(accepted * 3);
  assert.equal(spool.isFull, false);
  assert.equal(spool.append(batch('after', 3)).ok, true);
  assert.equal(spool.append(batch('huge', 5000)).ok, false, 'a record larger than maxRecordBytes');
  assert.deepEqual(spool.append(batch('huge', 5000)), { ok: false, reason: 'too-large' });
});

test('records waiting on disk are read back, not kept in memory', async () => {
  const dir = tempDir();
  const { spool } = open(dir);
  spool.append(batch('w', 5));
  await spool.synced();
  // Change the payload on disk behind the spool's back (same length): peek() must see the change,
  // which proves the record was read from the file rather than kept in memory.
  const seg = join(dir, segments(dir)[0] as string);
  const bytes = readFileSync(seg);
  bytes.write('W', 12 + 4 * 5 + 'm,t='.length, 'latin1');
  writeFileSync(seg, bytes);
  const expected = batch('w', 5);
  expected[0] = expected[0]?.replace('t=w', 't=W') as string;
  assert.deepEqual(spool.peek(), expected);
});

test('one spool per process: a live owner is refused, a stale lock (killed gateway) is taken over', async () => {
  const dir = tempDir();
  const child = spawn('sleep', ['30']);
  try {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    writeFileSync(join(dir, 'lock'), `${child.pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`);
    assert.throws(() => open(dir), /in use by process \d+; give each gateway its own SPOOL_DIR/);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  // A pid that is alive but started later than the lock says: a container restart reused it.
  writeFileSync(join(dir, 'lock'), `${process.ppid} 1`);
  const { spool: reused } = open(dir);
  assert.equal(reused.append(batch('r', 1)).ok, true, 'a reused pid does not hold the spool hostage');
  await reused.close();
  // The owner is gone now.

  const { spool } = open(dir);
  assert.equal(spool.append(batch('x', 1)).ok, true);
  await spool.close();
  assert.equal(readdirSync(dir).includes('lock'), false, 'close() releases the lock');
});

test('an ack file pointing past a truncated segment does not lose later records', async () => {
  const dir = tempDir();
  const { spool } = open(dir, { segmentBytes: 300 });
  for (let i = 0; i < 6; i++) spool.append(batch(`k${i}`, 2));
  await spool.synced();
  replay(spool);
  spool.release(4);
  await spool.close();
  // Damage the newest segment's tail only.
  const last = join(dir, segments(dir).at(-1) as string);
  truncateSync(last, statSync(last).size - 3);
  const { spool: again, events } = open(dir, { segmentBytes: 300 });
  assert.equal(events.truncated.length, 1);
  const replayed = replay(again);
  assert.deepEqual(replayed, batch('k2', 2).concat(batch('k3', 2), batch('k4', 2)));
});
