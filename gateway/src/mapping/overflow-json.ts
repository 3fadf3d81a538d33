import type { FieldValue } from '../schema/point.ts';

/**
 * The `attributes` field (schema OVERFLOW_FIELD): the attributes a measurement has no column budget
 * left for, as one JSON object. Keys in code-unit order, so the same attributes always give the
 * same text (both trace paths write it, and gateway/test/fused-trace-lines.test.ts holds them to
 * the same bytes). Each value is typed as its field would have been (field-types.ts rules 1 and 2):
 * a number, a boolean, or a string (arrays, maps and bytes stay the JSON text the mapping makes).
 */

function byKey(a: readonly [string, FieldValue], b: readonly [string, FieldValue]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** The JSON object of `entries` (sorted here; keys must be distinct). */
export function encodeOverflow(entries: Array<readonly [string, FieldValue]>): string {
  entries.sort(byKey);
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    const [key, v] = entries[i] as readonly [string, FieldValue];
    if (i > 0) out += ',';
    // JSON.stringify escapes quotes, backslashes, control characters and lone surrogates.
    out += JSON.stringify(key) + ':' + (v.type === 'string' ? JSON.stringify(v.value) : String(v.value));
  }
  return out + '}';
}

/** An `attributes` field's attributes, or undefined when the text is not a JSON object of scalars. */
export function decodeOverflow(text: string): Record<string, string | number | boolean> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else return undefined;
  }
  return out;
}
