import type { NotifyTransport } from './transport.ts';

export type NotifyOutcome = 'success' | 'failure' | 'retry' | 'dropped';

export interface NotifyQueue {
  /** Queues a payload; never blocks, never throws. */
  push(body: string): void;
  /** Resolves when nothing is queued or in flight (tests, shutdown). */
  idle(): Promise<void>;
  readonly pending: number;
}

/**
 * One receiver's outbox: one delivery in flight (a slow receiver never piles up connections),
 * a bounded queue that drops the oldest payload and counts it, and every outcome reported to
 * `onOutcome` instead of thrown: a broken receiver must not take the evaluator down with it.
 */
export function createNotifyQueue(opts: {
  readonly transport: NotifyTransport;
  readonly maxQueued?: number;
  readonly onOutcome: (outcome: Exclude<NotifyOutcome, 'retry'>, error?: string) => void;
}): NotifyQueue {
  const max = opts.maxQueued ?? 100;
  const queue: string[] = [];
  let running = false;
  let waiters: Array<() => void> = [];

  const settle = (): void => {
    if (running || queue.length > 0) return;
    const w = waiters;
    waiters = [];
    for (const r of w) r();
  };

  async function run(): Promise<void> {
    running = true;
    try {
      for (let body = queue.shift(); body !== undefined; body = queue.shift()) {
        try {
          const r = await opts.transport.send(body);
          if (r.kind === 'success') opts.onOutcome('success');
          else opts.onOutcome('failure', r.reason);
        } catch (err) {
          opts.onOutcome('failure', (err as Error).message);
        }
      }
    } finally {
      running = false;
      settle();
    }
  }

  return {
    push(body) {
      if (queue.length >= max) {
        queue.shift();
        opts.onOutcome('dropped');
      }
      queue.push(body);
      if (!running) void run();
    },
    idle() {
      return new Promise((r) => {
        waiters.push(r);
        settle();
      });
    },
    get pending() {
      return queue.length + (running ? 1 : 0);
    },
  };
}
