import type { InfluxConfig } from '../config.ts';
import type { FieldType } from '../schema/point.ts';
import { ident } from './influxql.ts';
import { runInfluxQL } from './influxql-http.ts';

/** InfluxQL's names of the four field types. */
export const FIELD_TYPE_NAMES: Readonly<Record<string, FieldType>> = { float: 'float', integer: 'integer', string: 'string', boolean: 'boolean' };

/**
 * The fields InfluxDB already has, with their types (InfluxQL `SHOW FIELD KEYS`), per measurement.
 * The column budget reads them at start-up (store/column-claims.ts): they count against it, and a
 * restarted gateway keeps writing each attribute at the type the database fixed for it.
 */
export async function readFieldTypes(config: InfluxConfig, measurements: readonly string[]): Promise<Map<string, Map<string, FieldType>>> {
  const q = measurements.map((m) => `SHOW FIELD KEYS FROM ${ident(m)}`).join('; ');
  // runInfluxQL: one request on 1.x/2.x, one per statement on InfluxDB 3 (which takes one at a time).
  // runInfluxQL waits 3 × timeoutMillis: about 5 s, start-up must not hang on a slow database.
  const results = await runInfluxQL<{ values?: Array<[string, string]> }>({ ...config, timeoutMillis: 1700 }, q);
  const out = new Map<string, Map<string, FieldType>>();
  measurements.forEach((measurement, i) => {
    const r = results[i];
    // A measurement not written yet has no field keys.
    if (r?.error !== undefined && !/not found/.test(r.error)) throw new Error(`SHOW FIELD KEYS failed: ${r.error}`);
    const fields = new Map<string, FieldType>();
    for (const s of r?.series ?? []) {
      for (const [key, type] of s.values ?? []) {
        // A type it does not know (a v3 name, say) is skipped: that conflict is learned when it happens.
        const t = FIELD_TYPE_NAMES[type];
        if (t !== undefined) fields.set(key, t);
      }
    }
    out.set(measurement, fields);
  });
  return out;
}
