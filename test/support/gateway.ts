import { fileURLToPath } from 'node:url';
import { launch, type ServerProcess } from './process.ts';

const MAIN = fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Gateway {
  readonly url: string;
  readonly port: number;
  /** The OTLP/gRPC port (GRPC_PORT=0 here: a free one), undefined with GRPC=off. */
  readonly grpcPort: number | undefined;
  readonly proc: ServerProcess;
  /** Resolves with the exit code (null when killed by a signal); keeps the test alive until then. */
  waitExit(): Promise<number | null>;
  /** Every log line so far, parsed (pino JSON); non-JSON lines are skipped. */
  logs(): Array<Record<string, unknown>>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Runs the real gateway (`gateway/src/main.ts`) as a child process on 127.0.0.1 with a random
 * port, exactly as `npm run gateway` would, and waits for its "listening" log line.
 */
export async function startGateway(env: Record<string, string>, timeoutMs = 20_000): Promise<Gateway> {
  const all: string[] = [];
  const proc = launch(process.execPath, ['--import', 'tsx', MAIN], {
    ...process.env,
    PORT: '0',
    // Never the real 4317: gateways of parallel tests (and a developer's own) would clash.
    GRPC_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    FLUSH_INTERVAL_MILLIS: '50',
    ...env,
  });
  proc.child.stdout?.on('data', (c: Buffer) => all.push(...c.toString('utf8').split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
  const parsed = (): Array<Record<string, unknown>> =>
    all.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const deadline = Date.now() + timeoutMs;
  let port: number | undefined;
  let grpcPort: number | undefined;
  while (port === undefined) {
    const line = parsed().find((l) => typeof l.port === 'number' && typeof l.msg === 'string' && l.msg.includes('listening'));
    if (line !== undefined) {
      port = line.port as number;
      grpcPort = typeof line.grpcPort === 'number' ? line.grpcPort : undefined;
    }
    else if (proc.exited()) throw new Error(`gateway exited during start-up (cwd ${ROOT}):\n${proc.tail()}`);
    else if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`gateway did not start within ${timeoutMs} ms:\n${proc.tail()}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    grpcPort,
    proc,
    waitExit() {
      // The child is unref'd (see launch()); waiting on it must hold the event loop open.
      proc.child.ref();
      return exited;
    },
    logs: parsed,
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
        if (m === null || m[1] !== name) continue;
        const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
      }
      return sum;
    },
    stop: () => proc.stop(),
  };
}
