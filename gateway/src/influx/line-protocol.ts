/**
 * InfluxDB line protocol: `measurement,tag=v field=1i,f2="s" 1700000000000000000`.
 * Escapers are built once and return their input untouched when nothing needs escaping, because
 * almost nothing does (influxdb-client-js does the same in src/util/escape.ts).
 */

import type { FieldValue, Point } from '../schema/point.ts';

function createEscaper(specials: Record<string, string>): (s: string) => string {
  const chars = Object.keys(specials)
    .map((c) => c.replace(/[\\\]^-]/g, '\\$&'))
    .join('');
  const test = new RegExp(`[${chars}]`);
  const all = new RegExp(`[${chars}]`, 'g');
  return (s) => (test.test(s) ? s.replace(all, (c) => specials[c] ?? c) : s);
}

const CONTROL = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escapeMeasurementRaw = createEscaper({ ',': '\\,', ' ': '\\ ', ...CONTROL });
const escapeTagRaw = createEscaper({ ',': '\\,', '=': '\\=', ' ': '\\ ', ...CONTROL });

/**
 * influxd 1.x reads a backslash two ways: its line splitter and its field scanner take `\\` as an
 * escaped backslash, its tag scanner and unescaper only ask whether the previous byte is `\`. So a raw
 * `a\ b`, escaped to `a\\ b`, is one tag value to the tag scanner but an unescaped space to the line
 * splitter, which then miscounts quotes: a newline inside a string field split the line (400), or the
 * newline ending it was swallowed and the next line, possibly another tenant's, was refused with it.
 * In field keys the same `\\,`, `\\=` or `\\ ` is a 400 ("invalid field format") on its own.
 * An odd run of backslashes directly before such a character therefore loses one backslash (raw `a\ b`
 * is stored as `a b`), so every scanner reads the escape the same way. Lossy, like trailing
 * backslashes below; tags need it only before a space (nothing counts `,` or `=` before the fields),
 * so a tag value `a\,b` still round-trips exactly.
 */
function evenBackslashesBefore(chars: string): (s: string) => string {
  const runs = new RegExp(`\\\\+(?=[${chars}])`, 'g');
  return (s) => (s.includes('\\') ? s.replace(runs, (run) => (run.length % 2 === 1 ? run.slice(1) : run)) : s);
}
const evenBeforeSpace = evenBackslashesBefore(' ');
const evenBeforeSeparator = evenBackslashesBefore(' ,=');

/**
 * A trailing backslash would escape the separator after it, and InfluxDB 1.x refuses every spelling
 * of one ("invalid tag format"), so trailing backslashes are dropped: a lossy edge, but the only one
 * that keeps the line valid.
 */
function dropTrailingBackslashes(e: string): string {
  return e.endsWith('\\') ? e.replace(/\\+$/, '') : e;
}

/**
 * Measurement names: commas and spaces end the name; raw newlines would end the line. A trailing
 * backslash escaped the comma before the tags, so influxd stored `m\,tenant_id=a` as a measurement
 * named `m,tenant_id=a` without tags; it is dropped like in keys.
 */
/** Nothing any of the key escapers changes: the common case, answered with one scan. */
const KEY_SPECIALS = /[,= \n\r\t\\"]/;

export function escapeMeasurement(s: string): string {
  if (!KEY_SPECIALS.test(s)) return s;
  return dropTrailingBackslashes(escapeMeasurementRaw(evenBeforeSeparator(s)));
}

/** Tag keys and tag values (see the two rules above). */
export function escapeKey(s: string): string {
  if (!KEY_SPECIALS.test(s)) return s;
  return dropTrailingBackslashes(escapeTagRaw(evenBeforeSpace(s)));
}

/**
 * Field keys: like tag keys, but the field scanner also pairs backslashes before `,` and `=`. And
 * influxd unescapes `\"` in a field key to `"` (not in tags), so a backslash before `"` gets one more.
 */
export function escapeFieldKey(s: string): string {
  if (!KEY_SPECIALS.test(s)) return s;
  const even = evenBeforeSeparator(s);
  return dropTrailingBackslashes(escapeTagRaw(even.includes('\\"') ? even.replace(/\\(?=")/g, '\\\\') : even));
}

/** String field values are double-quoted; only `"` and `\` need escaping inside. */
export const escapeStringValue = createEscaper({ '"': '\\"', '\\': '\\\\' });

/** `measurement,k=v,k2=v2`: the series key, also used to detect timestamp collisions. */
export function encodeSeriesKey(measurement: string, tags: Point['tags']): string {
  let out = escapeMeasurement(measurement);
  for (const [k, v] of tags) {
    if (v === '') continue;
    // Checked after escaping too: a value of only backslashes escapes to '' and `k=` is a 400.
    const ek = escapeKey(k);
    const ev = escapeKey(v);
    if (ek === '' || ev === '') continue;
    out += ',' + ek + '=' + ev;
  }
  return out;
}

/**
 * influxd refuses a line whose series key plus one field key passes 65 535 bytes ("max key length
 * exceeded"), after the gateway has answered 200. Attribute keys are capped at 1024 characters
 * (≤ 3 KiB), so series keys are held under 64 KiB minus room for the longest field key.
 */
export const MAX_SERIES_KEY_BYTES = 65_535 - 4 * 1024;

/**
 * True when the point's series key is over MAX_SERIES_KEY_BYTES. A UTF-16 unit is at most 3 UTF-8
 * bytes, escaped or not, so short tag sets (all of them, in practice) skip the exact encoding.
 */
export function seriesKeyTooLong(point: Point): boolean {
  let units = point.measurement.length;
  for (const [k, v] of point.tags) units += k.length + v.length + 2;
  if (units * 3 <= MAX_SERIES_KEY_BYTES) return false;
  return Buffer.byteLength(encodeSeriesKey(point.measurement, point.tags)) > MAX_SERIES_KEY_BYTES;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Returns the encoded field value, or undefined when line protocol cannot carry it (NaN, ±Infinity,
 * an integer outside int64, which influxd refuses with the whole line). Mapping refuses such values
 * first; this keeps an oversight from costing the rest of the point.
 */
export function encodeFieldValue(f: FieldValue): string | undefined {
  switch (f.type) {
    case 'integer':
      if (typeof f.value === 'bigint') return f.value >= INT64_MIN && f.value <= INT64_MAX ? `${f.value}i` : undefined;
      return Number.isSafeInteger(f.value) ? `${f.value}i` : undefined;
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
    // An empty key (an attribute named '' or only backslashes) is a 400 ("missing field key").
    const ek = escapeFieldKey(k);
    if (enc === undefined || ek === '') continue;
    out += (out === '' ? '' : ',') + ek + '=' + enc;
  }
  return out;
}

/** One line without the trailing newline, or undefined for a point with no encodable field. */
export function encodeLine(point: Point, timestamp: bigint = point.timestamp): string | undefined {
  const fields = encodeFields(point.fields);
  if (fields === '') return undefined;
  return `${encodeSeriesKey(point.measurement, point.tags)} ${fields} ${timestamp}`;
}
