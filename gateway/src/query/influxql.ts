/**
 * InfluxQL quoting. User input reaches a query only through these two functions (and numbers we
 * produced ourselves), so a value can never end its literal and add a clause.
 */

/** A string literal: single quotes, with `\` and `'` escaped (InfluxQL's scanner unescapes both). */
export function literal(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}'`;
}

/** An identifier (measurement, tag or field name): double quotes, with `\` and `"` escaped. */
export function ident(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

/** `time >= … AND time < …` with integer nanosecond literals. */
export function timeRange(fromNs: bigint, toNs: bigint): string {
  return `time >= ${fromNs} AND time < ${toNs}`;
}
