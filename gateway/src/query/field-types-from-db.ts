import type { InfluxConfig } from '../config.ts';
import type { FieldType } from '../schema/point.ts';
import { runInfluxQL } from './influxql-http.ts';

const TYPES: Record<string, FieldType> = { float: 'float', integer: 'integer', string: 'string', boolean: 'boolean' };

/** Where the types go: the mapping's field type registry (mapping/field-types.ts); any `seed` will do. */
export interface FieldTypeSeed {
  seed(measurement: string, key: string, type: FieldType): void;
}

/**
 * Seeds the registry with the field types InfluxDB already has (InfluxQL `SHOW FIELD KEYS`), so a
 * restarted gateway keeps writing each attribute at the type the database fixed for it.
 * `measurements`: the ones with dynamic attribute fields (spans and logs; main.ts names them).
 */
export async function seedFieldTypes(config: InfluxConfig, measurements: readonly string[], registry: FieldTypeSeed): Promise<number> {
  const q = measurements.map((m) => `SHOW FIELD KEYS FROM "${m.replace(/["\\]/g, '\\$&')}"`).join('; ');
  // runInfluxQL: one request on 1.x/2.x, one per statement on InfluxDB 3 (which takes one at a time).
  // runInfluxQL waits 3 × timeoutMillis: about 5 s, start-up must not hang on a slow database.
  const results = await runInfluxQL<{ values?: Array<[string, string]> }>({ ...config, timeoutMillis: 1700 }, q);
  let n = 0;
  measurements.forEach((measurement, i) => {
    const r = results[i];
    // A measurement not written yet has no field keys.
    if (r?.error !== undefined && !/not found/.test(r.error)) throw new Error(`SHOW FIELD KEYS failed: ${r.error}`);
    for (const s of r?.series ?? []) {
      for (const [key, type] of s.values ?? []) {
        const t = TYPES[type];
        if (t !== undefined) {
          registry.seed(measurement, key, t);
          n++;
        }
      }
    }
  });
  return n;
}
