import { mock } from 'node:test';

/**
 * Fake time for exact durations: node:test's mock `Date` (span start times, sessions) and a stub
 * for `performance.now()` (span durations; mock timers do not cover it). `advance(ms)` moves both.
 * setTimeout stays real: the exporters and the batch processor call back through it.
 */
export interface FakeClock {
  advance(ms: number): void;
  restore(): void;
}

export const EPOCH_MS = 1_700_000_000_000;

export function useFakeClock(): FakeClock {
  mock.timers.enable({ apis: ['Date'], now: EPOCH_MS });
  let perf = 10_000;
  Object.defineProperty(performance, 'now', { value: () => perf, configurable: true, writable: true });
  return {
    advance(ms) {
      perf += ms;
      mock.timers.tick(ms);
    },
    restore() {
      mock.timers.reset();
      delete (performance as { now?: unknown }).now; // back to Performance.prototype.now
    },
  };
}
