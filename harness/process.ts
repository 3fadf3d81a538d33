import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * The one process launcher of test/ and bench/: servers (influxd, caddy, the gateway) and node
 * children (load generators).
 */

// Every child still alive; one 'exit' hook (not one per child) kills them all, so a crashed or
// forgetful test or benchmark never leaves influxd or a gateway running on the machine. This
// covers normal exit and uncaught exceptions, not this process itself being SIGKILLed.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

const TAIL_LINES = 40;

export interface LaunchOptions {
  /** Also copy the child's stderr to ours (a load generator's progress). */
  readonly echoStderr?: boolean;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 5 s. */
  readonly stopGraceMillis?: number;
  /** Sees every stdout line from the first (the gateway's log, kept whole for tests). */
  readonly onStdoutLine?: (line: string) => void;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Last lines the child printed (stdout + stderr), for error messages. */
  tail(): string;
  /** True once the child has exited (for any reason). */
  exited(): boolean;
  /** Resolves with the first value `match` returns for a stdout line (rejects on exit or timeout). */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMillis: number): Promise<T>;
  /** SIGTERM, then SIGKILL after the grace period; resolves when the child is gone. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal) once the child has exited; keeps this process alive until then. */
  done(): Promise<number | null>;
}

/**
 * Spawns `bin`. The child and its pipes are unref'd so that a test that forgets stop() does not
 * hang the node:test run; the 'exit' hook above then kills the child.
 */
export function launch(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: LaunchOptions = {}): ServerProcess {
  // Ring buffer of output lines: enough to explain a failed start, bounded for chatty servers.
  const lines: string[] = [];
  const partial = { out: '', err: '' };
  const waiters = new Set<(line: string) => void>();
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(child);
  let code: number | null = null;
  const gone = new Promise<void>((resolve) => {
    // 'close' (not 'exit') so the last stderr lines, e.g. the fatal error, are already in `lines`.
    child.once('close', (c) => {
      code = c;
      live.delete(child);
      resolve();
    });
    // A failed spawn (ENOENT, EACCES) emits 'error' and may never emit 'exit'.
    child.once('error', (err) => {
      lines.push(`spawn error: ${err.message}`);
      live.delete(child);
      resolve();
    });
  });

  const collect = (which: 'out' | 'err', chunk: Buffer): void => {
    const parts = (partial[which] + chunk.toString('utf8')).split('\n');
    partial[which] = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (which !== 'out') continue;
      opts.onStdoutLine?.(line);
      for (const w of waiters) w(line);
    }
    if (lines.length > TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
  };
  child.stdout?.on('data', (c: Buffer) => collect('out', c));
  child.stderr?.on('data', (c: Buffer) => {
    if (opts.echoStderr === true) process.stderr.write(c);
    collect('err', c);
  });
  const streams = [child.stdout, child.stderr] as Array<Socket | null>;
  for (const s of streams) s?.unref();
  child.unref();

  const exited = (): boolean => !live.has(child);
  const tail = (): string => [...lines, partial.out, partial.err].filter((l) => l !== '').join('\n');
  const grace = opts.stopGraceMillis ?? 5_000;
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    tail,
    waitForLine<T>(match: (line: string) => T | undefined, timeoutMillis: number): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const finish = (): void => {
          waiters.delete(onLine);
          clearTimeout(timer);
          clearInterval(poll);
        };
        const onLine = (line: string): void => {
          const v = match(line);
          if (v === undefined) return;
          finish();
          resolve(v);
        };
        // Ref'd timers: they keep this process alive while it waits on an unref'd child.
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no expected output within ${timeoutMillis} ms; last output:\n${tail()}`));
        }, timeoutMillis);
        const poll = setInterval(() => {
          if (!exited()) return;
          finish();
          reject(new Error(`process exited (code ${code}); last output:\n${tail()}`));
        }, 50);
        waiters.add(onLine);
      });
    },
    async stop() {
      if (exited()) return;
      // Waiting must hold the event loop open until 'close', including after SIGKILL when the kill
      // timer has fired: with only the unref'd child left, node:test would cancel the test.
      child.ref();
      for (const s of streams) s?.ref();
      const killer = setTimeout(() => child.kill('SIGKILL'), grace);
      child.kill('SIGTERM');
      await gone;
      clearTimeout(killer);
    },
    async done() {
      // Waiting on the child must hold the event loop open: ref it and its pipes ('close' waits for them).
      child.ref();
      for (const s of streams) s?.ref();
      await gone;
      return code;
    },
  };
}

/** `node <args>`: benchmarks' gateways and load generators. SIGKILL comes 10 s after SIGTERM: a loaded gateway drains its buffer first. */
export function spawnNode(args: readonly string[], env: NodeJS.ProcessEnv, opts: LaunchOptions = {}): ServerProcess {
  return launch(process.execPath, args, env, { stopGraceMillis: 10_000, ...opts });
}

/**
 * Polls `url` until it answers `status`, the child dies, or `timeoutMs` passes. On failure
 * the child is stopped and the error carries the server's last output lines.
 */
export async function waitUntilReady(name: string, server: ServerProcess, url: string, status: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no response yet';
  while (Date.now() < deadline) {
    if (server.exited()) {
      const { exitCode, signalCode } = server.child;
      throw new Error(`${name} exited (code ${exitCode}, signal ${signalCode}) before ${url} answered ${status}. Last output:\n${server.tail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.status === status) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`${name} did not answer ${status} on ${url} within ${timeoutMs} ms (last: ${last}). Last output:\n${server.tail()}`);
}

/** True when a failed start was a lost race for a port picked by freePort(). */
export function isPortClash(err: unknown): boolean {
  return err instanceof Error && /address already in use/.test(err.message);
}

/**
 * Runs `start`, which picks its ports with freePort(), again when it lost the race for one of them
 * to another process (up to 3 attempts); on any other failure, or the last, runs `giveUp` (remove
 * the data directory) and throws.
 */
export async function retryOnPortClash(start: () => Promise<void>, giveUp: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      return;
    } catch (err) {
      if (attempt < 3 && isPortClash(err)) continue;
      await giveUp();
      throw err;
    }
  }
}
