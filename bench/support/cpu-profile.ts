import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds of the monotonic clock (the one process.hrtime reads, in any process on the machine). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  readonly fn: string;
  readonly where: string;
  readonly millis: number;
  /** Share of all sampled time. */
  readonly share: number;
  /** Share of the time the thread was not idle ((idle) excluded), which is what load costs. */
  readonly busyShare: number;
}

/** A span of the monotonic clock, in microseconds: `monotonicMicros()` in the process that watched it. */
export interface ProfileWindow {
  readonly fromMicros: number;
  readonly toMicros: number;
}

/** Now on the clock V8 stamps profile samples with (CLOCK_MONOTONIC), in microseconds. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Where a function lives, coarsely: a folder of gateway/src, an npm package, a group of Node's
 * own modules, or a named native frame (GC, socket writes). Sums of these say which layer costs.
 */
function areaOf(fn: string, file: string): string {
  if (file === '') return fn.startsWith('(') ? fn : `native ${fn}`;
  const src = /gateway\/src\/([^/]+)/.exec(file);
  if (src !== null) return `gateway/src/${src[1] as string}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg !== null) return `npm ${pkg[1] as string}`;
  if (file.startsWith('node:')) {
    if (/^node:_http|^node:http/.test(file)) return 'node:http';
    if (/^node:(net|stream|buffer|internal\/streams|internal\/stream_base)/.test(file)) return 'node:net, streams, buffers';
    if (/^node:zlib/.test(file)) return 'node:zlib';
    return 'node (other)';
  }
  return file;
}

export interface ProfileSummary {
  /** Milliseconds sampled (in the window). */
  readonly total: number;
  /** Of which not idle. */
  readonly busy: number;
  /** The top functions by self time. */
  readonly rows: SelfTime[];
  /** Self time summed by area (`areaOf`), every area, biggest first; `where` is empty. */
  readonly areas: SelfTime[];
}

/**
 * Self time per function (name + file + line) of a V8 `.cpuprofile` (`node --cpu-prof`), biggest
 * first, and per area. With `window`, only the samples taken within it (e.g. one load phase,
 * without start-up).
 *
 * The profiler samples wall time: a thread preempted inside a system call (common on a loaded
 * machine: waking the peer of a loopback socket can preempt the writer) is charged to that call.
 * Read a large `writev` against the process's stime before believing it.
 */
export function topSelfTime(file: string, top = 10, root = process.cwd(), window?: ProfileWindow): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const micros = new Map<string, { fn: string; where: string; us: number }>();
  const byArea = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (window !== undefined && (at < window.fromMicros || at > window.toMicros)) return;
    total += dt;
    const cf = byId.get(id)?.callFrame;
    if (cf === undefined) return;
    const url = cf.url.replace(/^file:\/\//, '');
    // tsx strips whitespace when it compiles TypeScript, so a .ts line number is meaningless: file only.
    const file = url.startsWith('/') ? relative(root, url) : url;
    const where = url === '' ? '' : /\.[cm]?tsx?$/.test(url) ? file : `${file}:${cf.lineNumber + 1}`;
    const fn = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const key = `${fn}\u0000${where}`;
    const row = micros.get(key) ?? { fn, where, us: 0 };
    row.us += dt;
    micros.set(key, row);
    if (fn === '(idle)') return;
    const area = areaOf(fn, file);
    const a = byArea.get(area) ?? { fn: area, where: '', us: 0 };
    a.us += dt;
    byArea.set(area, a);
  });
  const idle = [...micros.values()].filter((r) => r.fn === '(idle)').reduce((n, r) => n + r.us, 0);
  const busy = total - idle;
  const ranked = (list: Iterable<{ fn: string; where: string; us: number }>): SelfTime[] =>
    [...list]
      .filter((r) => r.fn !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .map((r) => ({ fn: r.fn, where: r.where, millis: r.us / 1000, share: total === 0 ? 0 : r.us / total, busyShare: busy === 0 ? 0 : r.us / busy }));
  return { total: total / 1000, busy: busy / 1000, rows: ranked(micros.values()).slice(0, top), areas: ranked(byArea.values()) };
}
