import { fileURLToPath } from 'node:url';
import { launch, type LaunchOptions, type ServerProcess } from './process.ts';
import { scrapeMetric } from './prometheus.ts';

/** The gateway's sources, run under tsx (tests, benchmarks, `npm run dev`). */
export const GATEWAY_SOURCES = fileURLToPath(new URL('../gateway/src/main.ts', import.meta.url));
/** The compiled gateway (`npm run build`), run by plain node as in the image. */
export const GATEWAY_COMPILED = fileURLToPath(new URL('../gateway/dist/main.js', import.meta.url));

/** The port of a JSON log line whose `msg` mentions "listening" (pino, or the naive gateway). */
export function listeningPort(line: string): number | undefined {
  try {
    const l = JSON.parse(line) as Record<string, unknown>;
    return typeof l.port === 'number' && typeof l.msg === 'string' && l.msg.includes('listening') ? l.port : undefined;
  } catch {
    return undefined;
  }
}

/** A server child and its base URL. */
export interface ServerChild extends ServerProcess {
  readonly url: string;
  readonly port: number;
}

export interface StartServerOptions extends LaunchOptions {
  /** Default 30 s. */
  readonly timeoutMillis?: number;
  /**
   * "listening" lines to wait for. A Node cluster logs one per worker, all on the same port:
   * waiting for every one means no worker is still starting when the load begins.
   */
  readonly listeners?: number;
}

/** Starts `node <args>` and waits for its "listening" log line(s); stops it if that never comes. */
export async function startServer(args: readonly string[], env: NodeJS.ProcessEnv, opts: StartServerOptions = {}): Promise<ServerChild> {
  const proc = launch(process.execPath, args, env, { stopGraceMillis: 10_000, ...opts });
  try {
    let seen = 0;
    const port = await proc.waitForLine((line) => {
      const p = listeningPort(line);
      if (p === undefined) return undefined;
      seen++;
      return seen >= (opts.listeners ?? 1) ? p : undefined;
    }, opts.timeoutMillis ?? 30_000);
    return Object.assign(proc, { url: `http://127.0.0.1:${port}`, port });
  } catch (err) {
    await proc.stop();
    throw new Error(`node ${args.join(' ')} did not start listening: ${(err as Error).message}`, { cause: err });
  }
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  /** The OTLP/gRPC port (GRPC_PORT=0 here: a free one), undefined with GRPC=off. */
  readonly grpcPort: number | undefined;
  readonly proc: ServerChild;
  /** Resolves with the exit code (null when killed by a signal); keeps the test alive until then. */
  waitExit(): Promise<number | null>;
  /** Every log line so far, parsed (pino JSON); non-JSON lines are skipped. */
  logs(): Array<Record<string, unknown>>;
  /** The sum of a metric over the series whose labels include `labels`, from a /metrics scrape. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Run `gateway/dist/main.js` with plain node instead of the sources under tsx (build it first). */
  readonly compiled?: boolean;
  /** Node flags before the entry (heap limits, --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /** Default 20 s. */
  readonly timeoutMillis?: number;
  /** See StartServerOptions.listeners (WORKERS > 1). */
  readonly listeners?: number;
  readonly stopGraceMillis?: number;
}

/**
 * Runs the real gateway as a child process on 127.0.0.1 with a random port, exactly as
 * `npm run gateway` (or, `compiled`, the image) would, and waits for its "listening" log line.
 * `env` adds to (and overrides) this process's environment and the defaults below.
 */
export async function startGateway(env: Record<string, string>, opts: GatewayOptions | number = {}): Promise<Gateway> {
  const o: GatewayOptions = typeof opts === 'number' ? { timeoutMillis: opts } : opts;
  const entry = o.compiled === true ? [GATEWAY_COMPILED] : ['--import', 'tsx', GATEWAY_SOURCES];
  const all: string[] = [];
  const proc = await startServer([...(o.nodeArgs ?? []), ...entry], {
    ...process.env,
    PORT: '0',
    // Never the real 4317: gateways of parallel tests (and a developer's own) would clash.
    GRPC_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    FLUSH_INTERVAL_MILLIS: '50',
    ...env,
  }, {
    timeoutMillis: o.timeoutMillis ?? 20_000,
    listeners: o.listeners ?? 1,
    stopGraceMillis: o.stopGraceMillis ?? 5_000,
    onStdoutLine: (line) => {
      if (line !== '') all.push(line);
    },
  });
  const parsed = (): Array<Record<string, unknown>> =>
    all.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const listening = parsed().find((l) => typeof l.port === 'number' && typeof l.msg === 'string' && l.msg.includes('listening'));
  return {
    url: proc.url,
    port: proc.port,
    grpcPort: typeof listening?.grpcPort === 'number' ? listening.grpcPort : undefined,
    proc,
    waitExit: () => proc.done(),
    logs: parsed,
    metric: (name, labels = {}) => scrapeMetric(proc.url, name, labels),
    stop: () => proc.stop(),
  };
}
