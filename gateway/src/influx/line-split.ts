/**
 * Splits a line-protocol body into its lines. Not `split('\n')`: our string field values keep raw
 * newlines (only `"` and `\` are escaped inside them, line-protocol.ts), so a newline ends a line
 * only outside a quoted field value. The scan follows the grammar's three sections: the series key
 * (backslash escapes, ends at the first unescaped space), the fields (`="…"` string values with
 * `\"` and `\\`, ends at the next unescaped space outside a string), and the timestamp.
 */
export function splitLines(body: string): string[] {
  const lines: string[] = [];
  let start = 0;
  let section: 0 | 1 | 2 = 0; // 0 series key, 1 fields, 2 timestamp
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x0a) {
      lines.push(body.slice(start, i));
      start = i + 1;
      section = 0;
      continue;
    }
    if (section === 2) continue;
    if (c === 0x5c) i++;
    else if (c === 0x20) section = section === 0 ? 1 : 2;
    // A string value opens with the `"` right after `=`; a `"` elsewhere is part of a name (field
    // keys keep raw quotes), as influxd's line scanner and InfluxDB 3's parser both read it.
    else if (c === 0x3d && section === 1 && body.charCodeAt(i + 1) === 0x22) {
      inString = true;
      i++;
    }
  }
  if (start < body.length) lines.push(body.slice(start));
  return lines;
}
