import type { NotifyTransport } from './transport.ts';

export type NotifyOutcome = 'success' | 'failure' | 'retry' | 'dropped';

export interface NotifyQueue {
  /** Queues a payload; never blocks, never throws. `settled` is called once it is delivered, given up or dropped. */
  push(body: string, settled?: (outcome: Exclude<NotifyOutcome, 'retry'>) => void): void;
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
  const queue: Array<{ readonly body: string; readonly settled?: ((outcome: Exclude<NotifyOutcome, 'retry'>) => void) | undefined }> = [];
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
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        let outcome: 'success' | 'failure' = 'failure';
        try {
          const r = await opts.transport.send(item.body);
          outcome = r.kind === 'success' ? 'success' : 'failure';
          if (r.kind === 'success') opts.onOutcome('success');
          else opts.onOutcome('failure', r.reason);
        } catch (err) {
          opts.onOutcome('failure', (err as Error).message);
        }
        item.settled?.(outcome);
      }
    } finally {
      running = false;
      settle();
    }
  }

  return {
    push(body, settled) {
      if (queue.length >= max) {
        queue.shift()?.settled?.('dropped');
        opts.onOutcome('dropped');
      }
      queue.push({ body, settled });
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
