import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

// Every server child still alive; one 'exit' hook (not one per child) kills them all, so a
// crashed or forgetful test never leaves influxd/victoria-metrics running on the machine.
// This covers normal exit and uncaught exceptions, not the test process itself being SIGKILLed.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

const TAIL_LINES = 40;
const STOP_GRACE_MS = 5_000;

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Last lines the server printed (stdout + stderr), for error messages. */
  tail(): string;
  /** True once the child has exited (for any reason). */
  exited(): boolean;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the child is gone. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spawns a server binary. The child and its pipes are unref'd so that a test that forgets
 * close() does not hang the node:test run; the 'exit' hook above then kills the child.
 */
export function launch(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): ServerProcess {
  // Ring buffer of output lines: enough to explain a failed start, bounded for chatty servers.
  const lines: string[] = [];
  let partial = '';
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(child);
  const gone = new Promise<void>((resolve) => {
    // 'close' (not 'exit') so the last stderr lines, e.g. the fatal error, are already in `lines`.
    child.once('close', () => {
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

  const collect = (chunk: Buffer): void => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', collect);
    (stream as Socket | null)?.unref();
  }
  child.unref();

  const exited = (): boolean => !live.has(child);
  return {
    child,
    exited,
    tail: () => [...lines, partial].filter((l) => l !== '').join('\n'),
    async stop() {
      if (exited()) return;
      // The kill timer is a ref'd handle, so the event loop stays alive while we wait for 'close'.
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      child.kill('SIGTERM');
      await gone;
      clearTimeout(killer);
    },
  };
}

/**
 * Polls `url` until it answers `status`, the child dies, or `timeoutMs` passes. On failure
 * the child is stopped and the error carries the server's last output lines.
 */
export async function waitUntilReady(
  name: string,
  server: ServerProcess,
  url: string,
  status: number,
  timeoutMs: number,
): Promise<void> {
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
