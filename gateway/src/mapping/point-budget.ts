import type { DeclaredFields } from '../schema/derived.ts';
import { OVERFLOW_FIELD } from '../schema/measurements.ts';
import type { FieldValue, MappedPoint } from '../schema/point.ts';
import type { ColumnBudget } from './column-budget.ts';
import { decodeOverflow, encodeOverflow } from './overflow-json.ts';

/**
 * The budget over whole points, for fields no attribute mapping decided: `<tag>__demoted` fields
 * (cardinality-guard.ts), a beacon's metrics, a summary's quantiles. A field the schema does not
 * declare for its measurement and the budget has no place for moves into the overflow field,
 * under its own name. Attribute fields were decided when they were mapped and pass unchanged.
 */
export function createPointBudget(budget: ColumnBudget, declared: DeclaredFields, onOverflow: (measurement: string, fields: number) => void = () => undefined): (points: readonly MappedPoint[]) => readonly MappedPoint[] {
  return (points) => {
    let out: MappedPoint[] | undefined;
    for (let i = 0; i < points.length; i++) {
      const mp = points[i] as MappedPoint;
      const { measurement, fields } = mp.point;
      const own = declared.of(measurement);
      let moved: Array<readonly [string, FieldValue]> | undefined;
      for (const [key, v] of fields) if (!own.has(key) && !budget.admits(measurement, key, v.type)) (moved ??= []).push([key, v]);
      if (moved === undefined) continue;
      // The rare path: copy the point only when something moved.
      onOverflow(measurement, moved.length);
      const gone = new Set(moved.map(([k]) => k));
      const kept = fields.filter(([k]) => !gone.has(k) && k !== OVERFLOW_FIELD);
      const before = fields.find(([k]) => k === OVERFLOW_FIELD)?.[1];
      const merged: Array<readonly [string, FieldValue]> = before?.type === 'string' ? Object.entries(decodeOverflow(before.value) ?? {}).map(([k, x]) => [k, scalar(x)]) : [];
      for (const [k, v] of moved) if (!merged.some(([m]) => m === k)) merged.push([k, v]);
      kept.push([OVERFLOW_FIELD, { type: 'string', value: encodeOverflow(merged) }]);
      out ??= points.slice();
      out[i] = { spanId: mp.spanId, point: { ...mp.point, fields: kept } };
    }
    return out ?? points;
  };
}

function scalar(x: string | number | boolean): FieldValue {
  return typeof x === 'string' ? { type: 'string', value: x } : typeof x === 'number' ? { type: 'float', value: x } : { type: 'boolean', value: x };
}
