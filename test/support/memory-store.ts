import { GatewayError } from '../../gateway/src/errors.ts';
import { createIngest, type Ingest, type IngestDeps } from '../../gateway/src/ingest/ingest.ts';
import { FieldTypeRegistry } from '../../gateway/src/mapping/field-types.ts';
import { createLogsMapper, createMetricsMapper } from '../../gateway/src/mapping/map-signals.ts';
import { createSpanMapper } from '../../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../../gateway/src/mapping/rules.ts';
import type { AttributeLimits } from '../../gateway/src/otlp/limits.ts';
import type { MappedPoint } from '../../gateway/src/schema/point.ts';
import type { DrillDown } from '../../gateway/src/query/model.ts';
import type { HealthProbe, LineSink, PointSink, WriteAdmission } from '../../gateway/src/store/store.ts';
import { TimestampSlots } from '../../gateway/src/influx/point-identity.ts';

/**
 * A write sink that keeps offered points (and lines, when the ingest is given it as its line sink)
 * in memory, for in-process tests of the ingest path and the HTTP admission. It is its own health
 * probe: full makes /readyz unready, as a real buffer at its bound does.
 */
export interface MemoryStore extends PointSink, LineSink, WriteAdmission, HealthProbe {
  /** Every point offered, in order. */
  readonly points: MappedPoint[];
  /** Every line offered through `offerLines` (the fused trace encoder's), in order. */
  readonly encodedLines: string[];
  /** Number of offers so far, points or lines (a refused request must make none that add data). */
  readonly offers: number;
  /** Forgets the points and lines (long fuzz runs would otherwise hold them all). */
  clear(): void;
  /** Full: `fullError()` is a 503, offers are refused and /readyz is unready, as a real buffer at its bound. */
  setFull(full: boolean): void;
}

/** A drill-down with nothing stored, for apps under test that never query. */
export const EMPTY_DRILL_DOWN: DrillDown = {
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

export function createMemoryStore(): MemoryStore {
  const points: MappedPoint[] = [];
  const encodedLines: string[] = [];
  let offers = 0;
  let full = false;
  const refusal = (): GatewayError => new GatewayError('BUFFER_FULL', 'memory store refused', { retryAfterSeconds: 1 });
  return {
    points,
    encodedLines,
    get offers() {
      return offers;
    },
    offer(batch) {
      offers++;
      if (full) return false;
      for (const p of batch) points.push(p);
      return true;
    },
    slots: new TimestampSlots(),
    offerLines(batch) {
      offers++;
      if (full) return false;
      for (const l of batch.lines()) encodedLines.push(l);
      return true;
    },
    persisted: () => undefined,
    refusal,
    fullError: () => (full ? refusal() : undefined),
    check: async () => ({ problems: full ? ['write buffer full'] : [], warnings: [] }),
    setFull(v) {
      full = v;
    },
    clear() {
      points.length = 0;
      encodedLines.length = 0;
    },
  };
}

/**
 * The ingest path wired as main.ts wires it (default mapping), into a memory store: for in-process
 * tests. `fused`: as main.ts wires it for InfluxDB (the store as line sink, and the field type
 * registry), so OTLP/protobuf traces take the fused encoder; otherwise as for the embedded store.
 */
export function createInProcessIngest(instanceName: string, attributeLimits?: AttributeLimits, opts: { fused?: boolean; rollups?: IngestDeps['rollups']; traceIndex?: boolean } = {}): { ingest: Ingest; store: MemoryStore } {
  const store = createMemoryStore();
  return { ingest: createIngestInto(store, instanceName, attributeLimits, opts.fused === true ? store : undefined, opts.rollups, opts.traceIndex), store };
}

/** The ingest path wired as main.ts wires it (default mapping), into any sink (the fused encoder when given a line sink). */
export function createIngestInto(sink: PointSink, instanceName: string, attributeLimits?: AttributeLimits, lines?: LineSink, rollups?: IngestDeps['rollups'], traceIndex = false): Ingest {
  const types = new FieldTypeRegistry();
  return createIngest({
    mapper: createSpanMapper(DEFAULT_RULES, types, { traceIndex }),
    metricsMapper: createMetricsMapper(DEFAULT_RULES),
    logsMapper: createLogsMapper(DEFAULT_RULES, types),
    rules: DEFAULT_RULES,
    sink,
    lines,
    instanceName,
    attributeLimits,
    fieldTypes: types,
    rollups,
  });
}
