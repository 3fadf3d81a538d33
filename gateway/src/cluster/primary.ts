import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * `WORKERS` > 1: the primary process forks that many gateways sharing the listen port (Node's
 * cluster round-robins connections), replaces a worker that dies, forwards SIGTERM/SIGINT so each
 * drains its own buffer, and answers the workers' `/metrics` requests with the sum over all of
 * them (prom-client's AggregatorRegistry), so a scrape sees the whole process group whichever
 * worker it lands on.
 *
 * Each worker gets a stable slot (TENANTLENS_WORKER_SLOT): a replacement takes over its
 * predecessor's spool directory.
 */
export const WORKER_SLOT_ENV = 'TENANTLENS_WORKER_SLOT';
const METRICS_REQUEST = 'tenantlens:metrics-request';
const METRICS_REPLY = 'tenantlens:metrics-reply';
/** A worker that dies this soon after its start is crash-looping: back off before replacing it. */
const CRASH_LOOP_MILLIS = 5000;

interface MetricsRequest {
  readonly type: typeof METRICS_REQUEST;
  readonly id: number;
}
interface MetricsReply {
  readonly type: typeof METRICS_REPLY;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

export function runPrimary(workers: number, logger: Logger): void {
  const aggregator = new AggregatorRegistry();
  const slots = new Map<Worker, { slot: number; startedAt: number }>();
  let stopping = false;
  let worstExit = 0;

  function fork(slot: number): void {
    const w = cluster.fork({ [WORKER_SLOT_ENV]: String(slot) });
    slots.set(w, { slot, startedAt: Date.now() });
    w.on('message', (msg: MetricsRequest) => {
      if (msg?.type !== METRICS_REQUEST) return;
      aggregator
        .clusterMetrics()
        .then((text) => w.send({ type: METRICS_REPLY, id: msg.id, text } satisfies MetricsReply))
        .catch((err: unknown) => w.send({ type: METRICS_REPLY, id: msg.id, error: (err as Error).message } satisfies MetricsReply));
    });
  }

  cluster.on('exit', (w, code, signal) => {
    const info = slots.get(w);
    slots.delete(w);
    if (code !== 0 && code !== null) worstExit = Math.max(worstExit, code);
    if (stopping) {
      if (slots.size === 0) {
        logger.info({ exitCode: worstExit }, 'all workers stopped');
        process.exit(worstExit);
      }
      return;
    }
    if (info === undefined) return;
    const quick = Date.now() - info.startedAt < CRASH_LOOP_MILLIS;
    logger.error({ slot: info.slot, code, signal }, `worker ${info.slot} died; starting a replacement${quick ? ' in 1 s (it died right after starting)' : ''}`);
    setTimeout(() => fork(info.slot), quick ? 1000 : 0);
  });

  for (let slot = 0; slot < workers; slot++) fork(slot);
  logger.info({ workers }, `primary: ${workers} gateway workers share the port`);

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'primary: stopping the workers (each flushes its own buffer)');
    for (const w of slots.keys()) w.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** In a worker: `/metrics` text summed over every worker, through the primary. */
export function clusterMetricsText(registry: Registry, timeoutMillis = 5000): () => Promise<string> {
  // Constructing it installs prom-client's worker-side listener that reports `registry` to the primary.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries(registry);
  let next = 0;
  const waiting = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (msg: MetricsReply) => {
    if (msg?.type !== METRICS_REPLY) return;
    const w = waiting.get(msg.id);
    if (w === undefined) return;
    waiting.delete(msg.id);
    if (msg.text !== undefined) w.resolve(msg.text);
    else w.reject(new Error(msg.error ?? 'no metrics from the primary'));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the primary did not answer the metrics request'));
      }, timeoutMillis);
      timer.unref();
      waiting.set(id, {
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
}
