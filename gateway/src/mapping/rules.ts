import { readFileSync } from 'node:fs';
import { DEFAULT_ALIASES } from '../schema/attributes.ts';
import { BUILT_IN_FIELDS, BUILT_IN_TAGS, FORBIDDEN_TAGS } from '../schema/derived.ts';
import { BACKEND, FIXED_NAMES, FRONTEND, SPANS } from '../schema/measurements.ts';

/**
 * What a span becomes. The defaults are the Tenantlens data model; `MAPPING_FILE` (JSON) may rename
 * measurements, switch one off, add tags taken from attributes, and add attribute aliases.
 */
export interface MappingRules {
  /** Attribute key → our key, applied to span and resource attributes before anything else. */
  readonly aliases: Readonly<Record<string, string>>;
  readonly frontend: MeasurementRule;
  readonly backend: MeasurementRule;
  readonly spans: MeasurementRule;
  /**
   * Field names that always get their own field, whatever the column budget
   * (SPAN_ATTRIBUTE_FIELDS_MAX) says: they count against it, but are never sent to the overflow field.
   */
  readonly pinnedFields: readonly string[];
}

export interface MeasurementRule {
  readonly enabled: boolean;
  readonly name: string;
  /** Extra attribute keys (after aliasing) promoted to tags. Keep them low-cardinality. */
  readonly extraTags: readonly string[];
}

export const DEFAULT_RULES: MappingRules = Object.freeze({
  aliases: DEFAULT_ALIASES,
  frontend: Object.freeze({ enabled: true, name: FRONTEND.name, extraTags: Object.freeze([]) }),
  backend: Object.freeze({ enabled: true, name: BACKEND.name, extraTags: Object.freeze([]) }),
  spans: Object.freeze({ enabled: true, name: SPANS.name, extraTags: Object.freeze([]) }),
  pinnedFields: Object.freeze([]),
});

/** At most this many pinned fields: each may take a column past the budget. */
export const MAX_PINNED_FIELDS = 100;

export class MappingFileError extends Error {
  constructor(file: string, path: string, message: string) {
    super(`MAPPING_FILE ${file}: ${path} ${message}`);
    this.name = 'MappingFileError';
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

export function parseMappingRules(json: unknown, file = '<inline>'): MappingRules {
  const err = (path: string, msg: string): never => {
    throw new MappingFileError(file, path, msg);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return err('$', 'must be a JSON object');
  const root = json as Record<string, unknown>;
  for (const k of Object.keys(root)) if (!['aliases', 'measurements', 'pinnedFields'].includes(k)) err(`$.${k}`, 'is not a known setting (aliases, measurements, pinnedFields)');
  const pinned = root.pinnedFields ?? [];
  if (!Array.isArray(pinned) || pinned.length > MAX_PINNED_FIELDS || pinned.some((t) => typeof t !== 'string' || !NAME.test(t))) err('$.pinnedFields', `must be an array of at most ${MAX_PINNED_FIELDS} attribute names`);

  const aliases: Record<string, string> = { ...DEFAULT_RULES.aliases };
  if (root.aliases !== undefined) {
    if (root.aliases === null || typeof root.aliases !== 'object' || Array.isArray(root.aliases)) err('$.aliases', 'must be an object of "from": "to"');
    for (const [from, to] of Object.entries(root.aliases as Record<string, unknown>)) {
      if (typeof to !== 'string' || !NAME.test(to)) err(`$.aliases["${from}"]`, 'must be an attribute name');
      aliases[from] = to as string;
    }
  }

  const rules = { frontend: DEFAULT_RULES.frontend, backend: DEFAULT_RULES.backend, spans: DEFAULT_RULES.spans };
  if (root.measurements !== undefined) {
    if (root.measurements === null || typeof root.measurements !== 'object') err('$.measurements', 'must be an object');
    for (const [which, raw] of Object.entries(root.measurements as Record<string, unknown>)) {
      const p = `$.measurements.${which}`;
      if (!(which in rules)) err(p, 'is not one of frontend, backend, spans');
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) err(p, 'must be an object');
      const r = raw as Record<string, unknown>;
      const base = rules[which as keyof typeof rules];
      for (const k of Object.keys(r)) if (!['enabled', 'name', 'extraTags'].includes(k)) err(`${p}.${k}`, 'is not a known setting (enabled, name, extraTags)');
      if (r.enabled !== undefined && typeof r.enabled !== 'boolean') err(`${p}.enabled`, 'must be true or false');
      if (r.name !== undefined && (typeof r.name !== 'string' || !NAME.test(r.name))) err(`${p}.name`, 'must be a measurement name');
      if (r.extraTags !== undefined && (!Array.isArray(r.extraTags) || r.extraTags.some((t) => typeof t !== 'string' || !NAME.test(t)))) {
        err(`${p}.extraTags`, 'must be an array of attribute names');
      }
      const extraTags = (r.extraTags as string[] | undefined) ?? base.extraTags;
      for (const t of extraTags) {
        if (FORBIDDEN_TAGS.has(t)) err(`${p}.extraTags`, `may not contain "${t}" (ids never become tags; tenant/session are built in)`);
        if (BUILT_IN_TAGS[which as keyof typeof BUILT_IN_TAGS].includes(t)) err(`${p}.extraTags`, `may not contain "${t}": it is already a tag of this measurement`);
        if (BUILT_IN_FIELDS[which as keyof typeof BUILT_IN_FIELDS].includes(t)) err(`${p}.extraTags`, `may not contain "${t}": it is a field of this measurement (a tag and a field may not share a name)`);
      }
      rules[which as keyof typeof rules] = Object.freeze({
        enabled: (r.enabled as boolean | undefined) ?? base.enabled,
        name: (r.name as string | undefined) ?? base.name,
        extraTags: Object.freeze([...extraTags]),
      });
    }
  }
  const names = [rules.frontend.name, rules.backend.name, rules.spans.name];
  if (new Set(names).size !== names.length) err('$.measurements', 'gives two measurements the same name');
  // Taken by the logs measurement and the embedded store's generic metrics table.
  for (const taken of FIXED_NAMES) if (names.includes(taken)) err('$.measurements', `may not use the name "${taken}": it is reserved for OTLP logs and metrics`);
  return Object.freeze({ aliases: Object.freeze(aliases), ...rules, pinnedFields: Object.freeze([...new Set(pinned as string[])]) });
}

export function loadMappingFile(file: string): MappingRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MappingFileError(file, '', `cannot be read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MappingFileError(file, '', `is not valid JSON: ${(e as Error).message}`);
  }
  return parseMappingRules(json, file);
}
