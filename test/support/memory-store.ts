import { GatewayError } from '../../gateway/src/errors.ts';
import { createIngest, type Ingest } from '../../gateway/src/ingest/ingest.ts';
import { FieldTypeRegistry } from '../../gateway/src/mapping/field-types.ts';
import { createLogsMapper, createMetricsMapper } from '../../gateway/src/mapping/map-signals.ts';
import { createSpanMapper } from '../../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../../gateway/src/mapping/rules.ts';
import type { AttributeLimits } from '../../gateway/src/otlp/limits.ts';
import type { MappedPoint } from '../../gateway/src/mapping/map-spans.ts';
import type { DrillDown } from '../../gateway/src/query/model.ts';
import type { LineIntake, Store } from '../../gateway/src/store/store.ts';
import { TimestampSlots } from '../../gateway/src/influx/point-identity.ts';

/** A `Store` that keeps offered points (and, with a line intake, lines) in memory, for in-process tests of the ingest path. */
export interface MemoryStore extends Store {
  /** Every point offered, in order. */
  readonly points: MappedPoint[];
  /** Every line offered through the line intake (the fused trace encoder's), in order. */
  readonly encodedLines: string[];
  /** Number of `offer` calls so far (a refused request must make none that add points). */
  readonly offers: number;
  /** Forgets the points and lines (long fuzz runs would otherwise hold them all). */
  clear(): void;
  /** Full: `isFull`, `fullError()` is a 503 and offers are refused, as a real buffer at its bound. */
  setFull(full: boolean): void;
}

const emptyQueries: DrillDown = {
  tenants: async () => [],
  sessions: async () => [],
  traces: async () => [],
  trace: async () => [],
  traceLogs: async () => [],
  compare: async (a, b) => ({ a, b, endpoints: [], views: [] }),
  windowP99: async () => [],
  timeseries: async () => [],
  rootOperations: async () => [],
  rootSpans: async () => [],
  traceSpans: async () => [],
};

export interface MemoryStoreOptions {
  /**
   * Take lines as well as points, like the InfluxDB store: with `fieldTypes` given to createIngest,
   * OTLP/protobuf traces then go through the fused encoder.
   */
  readonly lineIntake?: boolean;
}

export function createMemoryStore(opts: MemoryStoreOptions = {}): MemoryStore {
  const points: MappedPoint[] = [];
  const encodedLines: string[] = [];
  let offers = 0;
  let full = false;
  const refusal = (): GatewayError => new GatewayError('BUFFER_FULL', 'memory store refused', { retryAfterSeconds: 1 });
  const lines: LineIntake | undefined =
    opts.lineIntake === true
      ? {
          slots: new TimestampSlots(),
          offer(batch) {
            offers++;
            if (full) return false;
            for (const l of batch.lines()) encodedLines.push(l);
            return true;
          },
        }
      : undefined;
  return {
    kind: 'embedded',
    points,
    encodedLines,
    lines,
    get offers() {
      return offers;
    },
    offer(batch) {
      offers++;
      if (full) return false;
      for (const p of batch) points.push(p);
      return true;
    },
    persisted: () => undefined,
    refusal,
    fullError: () => (full ? refusal() : undefined),
    durable: false,
    get isFull() {
      return full;
    },
    setFull(v) {
      full = v;
    },
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
      encodedLines.length = 0;
    },
  };
}

/**
 * The ingest path wired as main.ts wires it (default mapping), into a memory store: for in-process
 * tests. `fused`: as main.ts wires it for InfluxDB (a line intake and the field type registry), so
 * OTLP/protobuf traces take the fused encoder; otherwise as for the embedded store.
 */
export function createInProcessIngest(instanceName: string, attributeLimits?: AttributeLimits, opts: { fused?: boolean } = {}): { ingest: Ingest; store: MemoryStore } {
  const store = createMemoryStore({ lineIntake: opts.fused });
  return { ingest: createIngestInto(store, instanceName, attributeLimits), store };
}

/** The ingest path wired as main.ts wires it (default mapping), into any store (the fused encoder when it takes lines). */
export function createIngestInto(store: Store, instanceName: string, attributeLimits?: AttributeLimits): Ingest {
  const types = new FieldTypeRegistry();
  return createIngest({
    mapper: createSpanMapper(DEFAULT_RULES, types),
    metricsMapper: createMetricsMapper(DEFAULT_RULES),
    logsMapper: createLogsMapper(DEFAULT_RULES, types),
    rules: DEFAULT_RULES,
    store,
    instanceName,
    attributeLimits,
    fieldTypes: types,
  });
}
