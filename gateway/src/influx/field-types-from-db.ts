import type { InfluxConfig } from '../config.ts';
import type { FieldType } from '../schema/point.ts';
import { v1AuthHeaders } from './v1-transport.ts';

const TYPES: Record<string, FieldType> = { float: 'float', integer: 'integer', string: 'string', boolean: 'boolean' };

/** Where the types go: the mapping's field type registry (mapping/field-types.ts), which this folder does not import. */
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
  const params = new URLSearchParams({ db: config.bucket, q });
  if (config.retentionPolicy !== undefined) params.set('rp', config.retentionPolicy);
  const res = await fetch(`${config.url}/query?${params.toString()}`, { headers: v1AuthHeaders(config), signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`SHOW FIELD KEYS answered HTTP ${res.status}`);
  const body = (await res.json()) as { results?: Array<{ series?: Array<{ values?: Array<[string, string]> }> }> };
  let n = 0;
  measurements.forEach((measurement, i) => {
    for (const s of body.results?.[i]?.series ?? []) {
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
