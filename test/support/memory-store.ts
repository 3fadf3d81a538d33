import { GatewayError } from '../../gateway/src/errors.ts';
import type { MappedPoint } from '../../gateway/src/mapping/map-spans.ts';
import type { DrillDown } from '../../gateway/src/query/model.ts';
import type { Store } from '../../gateway/src/store/store.ts';

/** A `Store` that keeps offered points in memory, for in-process tests of the ingest path. */
export interface MemoryStore extends Store {
  /** Every point offered, in order. */
  readonly points: MappedPoint[];
  /** Number of `offer` calls so far (a refused request must make none that add points). */
  readonly offers: number;
  /** Forgets the points (long fuzz runs would otherwise hold them all). */
  clear(): void;
}

const emptyQueries: DrillDown = {
  tenants: async () => [],
  sessions: async () => [],
  traces: async () => [],
  trace: async () => [],
  traceLogs: async () => [],
  compare: async (a, b) => ({ a, b, endpoints: [], views: [] }),
  windowP99: async () => [],
};

export function createMemoryStore(): MemoryStore {
  const points: MappedPoint[] = [];
  let offers = 0;
  return {
    kind: 'embedded',
    points,
    get offers() {
      return offers;
    },
    offer(batch) {
      offers++;
      for (const p of batch) points.push(p);
      return true;
    },
    persisted: () => undefined,
    refusal: () => new GatewayError('BUFFER_FULL', 'memory store refused', { retryAfterSeconds: 1 }),
    durable: false,
    retryAfterSeconds: () => 1,
    isFull: false,
    get bufferedPoints() {
      return points.length;
    },
    bufferedBytes: 0,
    reachable: async () => true,
    drain: async () => 0,
    close: async () => undefined,
    queries: emptyQueries,
    clear() {
      points.length = 0;
    },
  };
}
