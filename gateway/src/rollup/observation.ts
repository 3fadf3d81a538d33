import type { MappedPoint } from '../schema/point.ts';

/** Which latency a duration is: a frontend action or view, or a backend endpoint. */
export type RollupSide = 'frontend' | 'backend';

/**
 * One duration the rollups count: what a `frontend_performance` or `backend_api_latency` row holds,
 * plus the span's OTLP status when the span also makes a `spans` row (the side's error rate counts
 * those; a beacon has none). Both trace paths produce these: the reference path from its mapped
 * points (`observePoints`), the fused encoder as it writes the lines (trace-lines/span-lines.ts).
 */
export interface SpanObservation {
  readonly tenant: string;
  readonly side: RollupSide;
  /** frontend: the view name; backend: the endpoint. */
  readonly k1: string;
  /** frontend: the action name; backend: ''. */
  readonly k2: string;
  readonly durationMs: number;
  /** OTLP status code; undefined when the item made no `spans` row. */
  readonly status: number | undefined;
  /** The span id (or beacon id): a second observation with the same id in the same minute is a retry. */
  readonly id: string;
  /** Start, ns since the epoch. */
  readonly timeNs: bigint;
}

export interface MeasurementNames {
  readonly frontend: string;
  readonly backend: string;
  readonly spans: string;
}

const tagOf = (p: MappedPoint, key: string): string => p.point.tags.find((t) => t[0] === key)?.[1] ?? '';

function integerField(p: MappedPoint, key: string): number | undefined {
  const f = p.point.fields.find((x) => x[0] === key)?.[1];
  return f?.type === 'integer' ? Number(f.value) : undefined;
}

/**
 * The durations among mapped points. The span mapper writes a span's frontend, backend and spans
 * points one after the other, so the span's status is found in the next two points.
 */
export function observePoints(points: readonly MappedPoint[], names: MeasurementNames, out: SpanObservation[]): void {
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as MappedPoint;
    const m = p.point.measurement;
    const side: RollupSide | undefined = m === names.frontend ? 'frontend' : m === names.backend ? 'backend' : undefined;
    if (side === undefined) continue;
    const durationMs = integerField(p, side === 'frontend' ? 'duration_ms' : 'latency_ms');
    if (durationMs === undefined) continue;
    let status: number | undefined;
    for (let j = i + 1; j <= i + 2 && j < points.length; j++) {
      const q = points[j] as MappedPoint;
      if (q.spanId === p.spanId && q.point.measurement === names.spans) status = integerField(q, 'status_code');
    }
    out.push({
      tenant: tagOf(p, 'tenant_id'),
      side,
      k1: tagOf(p, side === 'frontend' ? 'view_name' : 'endpoint'),
      k2: side === 'frontend' ? tagOf(p, 'action_name') : '',
      durationMs,
      status,
      id: p.spanId,
      timeNs: p.point.timestamp,
    });
  }
}
