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

/**
 * The statements of a `;`-separated InfluxQL query, split outside string literals and quoted
 * identifiers (both escape with `\`, see `literal` and `ident`). InfluxDB 3 runs one statement per
 * request (its `query_influxql_inner` refuses more with "InfluxQL query must contain a single
 * statement"), where 1.x and 2.x answer `results[i]` for statement i of one request.
 */
export function splitStatements(q: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quote: string | undefined;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote !== undefined) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === ';') {
      out.push(q.slice(start, i));
      start = i + 1;
    }
  }
  out.push(q.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}
