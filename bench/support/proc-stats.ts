import { readdirSync, readFileSync } from 'node:fs';

/** What the benchmarks read about their child processes from /proc: trees, RSS, CPU time. */

/** Direct children of `pid`: /proc/PID/task/TID/children, or a scan of /proc/N/stat where that file is missing. */
function childrenOf(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') out.push(...text.split(/\s+/).map(Number));
    }
    return out;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return [];
  }
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/N/stat is the parent pid; the command name (field 2) may hold spaces, so cut after its ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const comm = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/**
 * `pid` and those of its descendants that run the same program (a cluster primary and its
 * workers: all `node`). Helpers of another program are left out: tsx starts an esbuild service
 * child when its compile cache misses, which a built deployment would not have.
 */
export function processTree(pid: number): number[] {
  const program = comm(pid);
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i] as number).filter((c) => comm(c) === program));
  return out;
}

/** kB → bytes of a `VmRSS:` / `VmHWM:` line in /proc/PID/status; undefined once the process is gone. */
export function readStatusBytes(pid: number, key: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Sum of `readStatusBytes` over `processTree(pid)` (for VmHWM: each process's own peak, so an upper bound of the group's). */
export function readTreeStatusBytes(pid: number, key: 'VmRSS' | 'VmHWM'): number | undefined {
  const own = readStatusBytes(pid, key);
  if (own === undefined) return undefined;
  return processTree(pid)
    .slice(1)
    .reduce((sum, p) => sum + (readStatusBytes(p, key) ?? 0), own);
}

export interface RssSampler {
  /** Stops polling; returns the largest VmRSS seen, in bytes. */
  stop(): number;
  /** Every sample so far: [milliseconds since the sampler started, bytes]. */
  readonly series: ReadonlyArray<readonly [number, number]>;
}

/**
 * Polls VmRSS of `pid` every `everyMillis` (100 ms) and keeps the peak. `tree`: the sum over
 * `processTree(pid)` at each poll (a cluster's primary and workers), re-listed every poll.
 */
export function sampleRss(pid: number, everyMillis = 100, opts: { tree?: boolean } = {}): RssSampler {
  const read = (): number | undefined => (opts.tree === true ? readTreeStatusBytes(pid, 'VmRSS') : readStatusBytes(pid, 'VmRSS'));
  const t0 = performance.now();
  const series: Array<[number, number]> = [];
  let peak = 0;
  const poll = (): void => {
    const v = read();
    if (v === undefined) return;
    series.push([performance.now() - t0, v]);
    peak = Math.max(peak, v);
  };
  poll();
  const timer = setInterval(poll, everyMillis);
  // A sampler left running by a failed run must not keep the benchmark alive.
  timer.unref();
  return {
    series,
    stop() {
      clearInterval(timer);
      poll();
      return peak;
    },
  };
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime (fields 14 and 15, in clock ticks: 100 per second on Linux x86-64) of a /proc stat file, in seconds. */
function statCpuSeconds(file: string): number | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) `pid` and its threads have used so far, from /proc/<pid>/stat
 * (threads that have exited included). Undefined once the process is gone.
 */
export function cpuSeconds(pid: number): number | undefined {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** `cpuSeconds` summed over `pid` and its descendants (a cluster's primary and workers). */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) total += cpuSeconds(p) ?? 0;
  return total;
}

/**
 * The main threads' share of `treeCpuSeconds` (/proc/<pid>/task/<pid>/stat, summed over the tree):
 * the JavaScript thread. The rest is V8's helper threads (parallel and concurrent GC, compilers)
 * and libuv's pool (zlib, fs): Node 20 names none of them, so they are counted together.
 */
export function treeMainThreadCpuSeconds(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) total += statCpuSeconds(`/proc/${p}/task/${p}/stat`) ?? 0;
  return total;
}
