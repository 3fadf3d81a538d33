/**
 * The table-driven half of the loader: every row of VARIABLES is read, trimmed, parsed and range-
 * checked here, by its kind, with one message format per kind. ../config.ts only assembles the
 * parsed values and applies the cross-field rules, so a variable cannot be read without a row.
 */
import type { ParsedOf, VariableSpec, ValueOf } from './spec.ts';
import { VARIABLES, type VariableName } from './table.ts';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

type Row = (typeof VARIABLES)[number];
/** Name → parsed value (defaults applied), typed per row. */
export type Values = { readonly [R in Row as R['name']]: ValueOf<R> };

export interface ReadResult {
  readonly values: Values;
  /** Names set to a non-blank value; a default is not "given" (for the "needs X" rule and derived defaults). */
  readonly given: ReadonlySet<VariableName>;
}

const BY_NAME: ReadonlyMap<string, VariableSpec> = new Map(VARIABLES.map((v) => [v.name, v]));

/** The row of `name`; throws for a name that is not in the table (a bug, not a user error). */
export function specOf(name: string): VariableSpec {
  const spec = BY_NAME.get(name);
  if (spec === undefined) throw new Error(`${name} is not in the variable table (gateway/src/config/table.ts)`);
  return spec;
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const FLAG_ON = ['1', 'on', 'true', 'yes'];
const FLAG_OFF = ['0', 'off', 'false', 'no'];

function wholeNumber(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function httpUrl(name: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL: "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

function checked<T>(name: string, value: T, check: ((v: T) => string | undefined) | undefined): T {
  const problem = check?.(value);
  if (problem !== undefined) throw new ConfigError(name, problem);
  return value;
}

/** Parses one non-blank, trimmed value by its row. */
function parse(spec: VariableSpec, raw: string): ParsedOf<VariableSpec> {
  const { name } = spec;
  switch (spec.kind) {
    case 'int':
      return wholeNumber(name, raw, spec.min, spec.max);
    case 'intOrAuto':
      return raw === 'auto' ? 'auto' : wholeNumber(name, raw, spec.min, spec.max);
    case 'decimal': {
      if (!/^\d+(\.\d+)?$/.test(raw)) throw new ConfigError(name, `must be a number like 1.5, got "${raw}"`);
      const n = Number(raw);
      if (n < spec.min || n > spec.max) throw new ConfigError(name, `must be between ${spec.min} and ${spec.max}, got ${n}`);
      return n;
    }
    case 'duration': {
      const m = /^(\d{1,9})(ms|s|m|h)?$/.exec(raw);
      if (m === null) throw new ConfigError(name, `must be a duration like 30s, 5m or 1h (a bare number is seconds), got "${raw}"`);
      const ms = Number(m[1]) * (DURATION_MS[m[2] ?? 's'] as number);
      if (ms < spec.minMillis || ms > spec.maxMillis) throw new ConfigError(name, `must be between ${spec.minMillis} ms and ${spec.maxMillis} ms, got ${ms} ms`);
      return ms;
    }
    case 'flag': {
      const v = raw.toLowerCase();
      if (FLAG_ON.includes(v)) return true;
      if (FLAG_OFF.includes(v)) return false;
      throw new ConfigError(name, `must be on or off (1/0, true/false), got "${v}"`);
    }
    case 'enum':
      if (!spec.allowed.includes(raw)) throw new ConfigError(name, `must be one of ${spec.allowed.join(', ')}, got "${raw}"`);
      return raw;
    case 'url':
      return httpUrl(name, raw);
    case 'header':
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(raw)) throw new ConfigError(name, `is not a valid HTTP header name: "${raw}"`);
      return raw.toLowerCase();
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
      for (const item of items) checked(name, item, spec.check);
      if (spec.nonEmpty !== undefined && items.length === 0) throw new ConfigError(name, spec.nonEmpty);
      return items;
    }
    case 'text':
      return checked(name, spec.normalize === undefined ? raw : spec.normalize(raw), spec.check);
  }
}

/** The value a row has when unset: its default, normalised as a set value would be; undefined if none. */
function fallback(spec: VariableSpec): ParsedOf<VariableSpec> | undefined {
  if (spec.kind === 'enum' && spec.default === undefined) throw new ConfigError(spec.name, `is required: one of ${spec.allowed.join(', ')}`);
  if (spec.kind === 'header') return spec.default.toLowerCase();
  return spec.kind === 'url' ? undefined : spec.default;
}

/**
 * Reads every variable of the table, in table order, and nothing else. Blank means unset. Throws
 * ConfigError naming the first variable whose own value is wrong; a variable is checked even when
 * the rest of the configuration makes it irrelevant, so a typo surfaces at once, not the day the
 * mode changes.
 */
export function readVariables(env: Env): ReadResult {
  const values: Record<string, unknown> = {};
  const given = new Set<VariableName>();
  for (const spec of VARIABLES) {
    const raw = env[spec.name]?.trim();
    if (raw === undefined || raw === '') {
      values[spec.name] = fallback(spec);
      continue;
    }
    given.add(spec.name);
    values[spec.name] = parse(spec, raw);
  }
  for (const spec of VARIABLES as readonly VariableSpec[]) {
    const needed = spec.needs;
    // "Needs X": X unset, 0 or off. Why: a setting that does nothing is a mistake worth hearing about.
    if (needed !== undefined && given.has(spec.name as VariableName) && !values[needed]) throw new ConfigError(spec.name, `needs ${needed}`);
  }
  return { values: values as Values, given };
}
