/**
 * What influxd 1.6.7 stores for a raw tag or field key after the gateway's documented escaping
 * transformations (README "Line protocol edge cases"): the expected side of the round-trip tests.
 */

/** Drops one backslash from every odd run directly before one of `chars` (the documented rule). */
function evenRunsBefore(s: string, chars: RegExp): string {
  return s.replace(/\\+/g, (run, offset: number) => (run.length % 2 === 1 && chars.test(s.charAt(offset + run.length)) ? run.slice(1) : run));
}
const controls = (s: string): string => s.replace(/\n/g, String.raw`\n`).replace(/\r/g, String.raw`\r`).replace(/\t/g, String.raw`\t`);
const noTrailing = (s: string): string => s.replace(/\\+$/, '');

export const storedTag = (raw: string): string => noTrailing(controls(evenRunsBefore(raw, /^ $/)));
export const storedFieldKey = (raw: string): string => noTrailing(controls(evenRunsBefore(raw, /^[ ,=]$/)));
