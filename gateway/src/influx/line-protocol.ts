/**
 * InfluxDB line protocol: `measurement,tag=v field=1i,f2="s" 1700000000000000000`.
 * Escapers are built once and return their input untouched when nothing needs escaping, because
 * almost nothing does (influxdb-client-js does the same in src/util/escape.ts).
 */

export type FieldValue =
  | { readonly type: 'integer'; readonly value: bigint | number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'boolean'; readonly value: boolean };

export type FieldType = FieldValue['type'];

export interface Point {
  readonly measurement: string;
  /** Sorted by key (InfluxDB's recommendation, and what makes the series key canonical); no empty values. */
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly fields: ReadonlyArray<readonly [string, FieldValue]>;
  /** Nanoseconds since the epoch. Never a JS number: 2^53 ns is only ~104 days. */
  readonly timestamp: bigint;
}

function createEscaper(specials: Record<string, string>): (s: string) => string {
  const chars = Object.keys(specials)
    .map((c) => c.replace(/[\\\]^-]/g, '\\$&'))
    .join('');
  const test = new RegExp(`[${chars}]`);
  const all = new RegExp(`[${chars}]`, 'g');
  return (s) => (test.test(s) ? s.replace(all, (c) => specials[c] ?? c) : s);
}

const CONTROL = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Measurement names: commas and spaces end the name; raw newlines would end the line. */
export const escapeMeasurement = createEscaper({ ',': '\\,', ' ': '\\ ', ...CONTROL });
const escapeTagRaw = createEscaper({ ',': '\\,', '=': '\\=', ' ': '\\ ', ...CONTROL });

/**
 * Tag keys, tag values and field keys. A trailing backslash would escape the separator after it,
 * and InfluxDB 1.x refuses every spelling of one ("invalid tag format"), so trailing backslashes
 * are dropped: a lossy edge, but the only one that keeps the line valid.
 */
export function escapeKey(s: string): string {
  const e = escapeTagRaw(s);
  return e.endsWith('\\') ? e.replace(/\\+$/, '') : e;
}

/** String field values are double-quoted; only `"` and `\` need escaping inside. */
export const escapeStringValue = createEscaper({ '"': '\\"', '\\': '\\\\' });

/** `measurement,k=v,k2=v2`: the series key, also used to detect timestamp collisions. */
export function encodeSeriesKey(measurement: string, tags: Point['tags']): string {
  let out = escapeMeasurement(measurement);
  for (const [k, v] of tags) {
    if (v === '') continue;
    out += ',' + escapeKey(k) + '=' + escapeKey(v);
  }
  return out;
}

/** Returns the encoded field value, or undefined when line protocol cannot carry it (NaN, ±Infinity). */
export function encodeFieldValue(f: FieldValue): string | undefined {
  switch (f.type) {
    case 'integer':
      return `${f.value}i`;
    case 'float':
      // JS prints the shortest round-trip form ("13", "1e+21"); InfluxDB parses both as floats.
      return Number.isFinite(f.value) ? String(f.value) : undefined;
    case 'string':
      return '"' + escapeStringValue(f.value) + '"';
    case 'boolean':
      return f.value ? 'true' : 'false';
  }
}

/** `k=1i,k2="v"`, or '' when no field is encodable (such a point must not be written). */
export function encodeFields(fields: Point['fields']): string {
  let out = '';
  for (const [k, v] of fields) {
    const enc = encodeFieldValue(v);
    if (enc === undefined) continue;
    out += (out === '' ? '' : ',') + escapeKey(k) + '=' + enc;
  }
  return out;
}

/** One line without the trailing newline, or undefined for a point with no encodable field. */
export function encodeLine(point: Point, timestamp: bigint = point.timestamp): string | undefined {
  const fields = encodeFields(point.fields);
  if (fields === '') return undefined;
  return `${encodeSeriesKey(point.measurement, point.tags)} ${fields} ${timestamp}`;
}
