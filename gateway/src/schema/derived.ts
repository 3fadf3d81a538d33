import { KNOWN_ATTRIBUTES } from './attributes.ts';
import { ALERT_STATE } from './alert-state.ts';
import { BACKEND, COLUMN_CLAIMS, FRONTEND, FRONTEND_ERRORS, LATENCY_ROLLUP, LOGS, METRIC_NAME_COLUMN, METRICS, OVERFLOW_FIELD, ROLLUP, SPANS, TIME, WEB_VITALS, type MeasurementSpec } from './measurements.ts';
import { SESSION_INDEX, TRACE_INDEX } from './trace-index.ts';

/**
 * What the rest of the gateway reads from the declarations in measurements.ts and attributes.ts,
 * computed once at load. Checked here too: a declaration that names a column it does not have
 * fails at start-up, not in a query.
 */

/** A table of the embedded store: the identity column, text, integer and float columns, then `extra`. */
export interface TableSpec {
  readonly name: string;
  /** The column holding the point's identity (`MappedPoint.spanId`), part of the dedupe key (tenant, id, time). */
  readonly idColumn: string;
  readonly text: readonly string[];
  readonly integers: readonly string[];
  readonly floats: readonly string[];
  /** Text columns that also have a key column (`keyColumn`): the ids the lookups match. */
  readonly keyed: readonly string[];
}

/**
 * The key column of a keyed id column (`trace_id` → `trace_key`): a UBIGINT that `idKeySql` computes from the id, so a
 * lookup compares 8-byte integers over every row and reads the (FSST-compressed) text only where
 * the key matches (docs/performance.md). A key never decides alone: the lookup still compares the id.
 */
export function keyColumn(column: string): string {
  return `${column.replace(/_id$/, '')}_key`;
}

/**
 * The key of an id, as DuckDB SQL over `expr`: the low 64 bits of its MD5. MD5, not `hash()`,
 * because the keys are stored: DuckDB does not promise that `hash()` stays the same across
 * versions, and a changed key would hide rows. Computed in SQL on write, on open (rows written
 * before the column existed) and on the looked-up value, so it is defined here alone.
 */
export function idKeySql(expr: string): string {
  return `md5_number_lower(${expr})`;
}

export interface TableSpecs {
  readonly frontend: TableSpec;
  readonly backend: TableSpec;
  readonly spans: TableSpec;
  readonly logs: TableSpec;
  readonly webVitals: TableSpec;
  readonly frontendErrors: TableSpec;
  /** The per-minute duration sketches (LATENCY_ROLLUP). */
  readonly latencyRollup: TableSpec;
  /** Every metric measurement in one generic table: the measurement name, the tenant, the rest as JSON in `extra`. */
  readonly metrics: TableSpec;
}

/** The measurement names MAPPING_FILE may change (rules.ts `MappingRules`). */
export interface MeasurementNames {
  readonly frontend: { readonly name: string };
  readonly backend: { readonly name: string };
  readonly spans: { readonly name: string };
}

function tableSpec(m: MeasurementSpec, name: string): TableSpec {
  const text: string[] = [];
  const integers: string[] = [];
  const floats: string[] = [];
  for (const c of m.table.columns) {
    const field = m.fields.find((x) => x.name === c);
    if (m.tags.includes(c) || (m === METRICS && c === METRIC_NAME_COLUMN) || field?.type === 'string') text.push(c);
    else if (field?.type === 'integer') integers.push(c);
    else if (field?.type === 'float') floats.push(c);
    else throw new Error(`schema: ${m.name}.${c} is a column but neither a tag nor a string, integer or float field`);
  }
  // Text, then integer, then float columns on disk: the declared order must say so, or the appender writes by the wrong position.
  if (m.table.columns.join() !== [...text, ...integers, ...floats].join()) throw new Error(`schema: ${m.name}'s columns must be text, then integer, then float`);
  const keyed = m.table.keyed ?? [];
  for (const c of keyed) if (!text.includes(c)) throw new Error(`schema: ${m.name}.${c} is keyed but not a text column`);
  return { name, idColumn: m.table.idColumn, text, integers, floats, keyed };
}

/** The embedded store's tables, under the measurement names the mapping uses. */
export function tableSpecs(names: MeasurementNames): TableSpecs {
  return {
    frontend: tableSpec(FRONTEND, names.frontend.name),
    backend: tableSpec(BACKEND, names.backend.name),
    spans: tableSpec(SPANS, names.spans.name),
    logs: tableSpec(LOGS, LOGS.name),
    webVitals: tableSpec(WEB_VITALS, WEB_VITALS.name),
    frontendErrors: tableSpec(FRONTEND_ERRORS, FRONTEND_ERRORS.name),
    latencyRollup: tableSpec(LATENCY_ROLLUP, LATENCY_ROLLUP.name),
    metrics: tableSpec(METRICS, METRICS.name),
  };
}

/**
 * The columns of a measurement that are not attributes: `time`, the identity, the tags and the
 * fields with a column of their own. The drill-down lists everything else as attributes, on both
 * stores alike (`gateway_instance` and `scope_name` have no column, so both list them).
 */
function nonAttributeColumns(m: MeasurementSpec): ReadonlySet<string> {
  const ids = m.table.idColumn === 'span_id' ? ['span_id'] : [];
  return new Set([TIME, ...ids, ...m.table.columns]);
}

export const SPAN_COLUMN_SET: ReadonlySet<string> = nonAttributeColumns(SPANS);
export const LOG_COLUMN_SET: ReadonlySet<string> = nonAttributeColumns(LOGS);

export const SPANS_RESERVED: ReadonlySet<string> = new Set(SPANS.reserved);
export const LOGS_RESERVED: ReadonlySet<string> = new Set(LOGS.reserved);
export const METRIC_RESERVED: ReadonlySet<string> = new Set(METRICS.reserved);

/** Attributes never stored from the payload. */
export const DROPPED_ATTRIBUTES: ReadonlySet<string> = new Set(KNOWN_ATTRIBUTES.filter((a) => a.role === 'dropped').map((a) => a.key));

/** The tags each MAPPING_FILE measurement always writes: an extra tag of the same name would be a duplicate tag (a 400). */
export const BUILT_IN_TAGS: Readonly<Record<'frontend' | 'backend' | 'spans', readonly string[]>> = {
  frontend: FRONTEND.tags,
  backend: BACKEND.tags,
  spans: SPANS.tags,
};

/** The fields each MAPPING_FILE measurement always writes: an extra tag of the same name would be a tag and a field of one name. */
export const BUILT_IN_FIELDS: Readonly<Record<'frontend' | 'backend' | 'spans', readonly string[]>> = {
  frontend: FRONTEND.fields.map((f) => f.name),
  backend: BACKEND.fields.map((f) => f.name),
  spans: SPANS.fields.map((f) => f.name),
};

/** Tag keys no extra tag may take: `time`, the overflow field, ids (series cardinality), the tenant and the session (built in). */
export const FORBIDDEN_TAGS: ReadonlySet<string> = new Set(['trace_id', 'span_id', 'parent_span_id', TIME, OVERFLOW_FIELD, ...KNOWN_ATTRIBUTES.filter((a) => a.role === 'id' || a.role === 'dropped').map((a) => a.key)]);

/**
 * What the gateway writes of its own beside the mapped data: rollups, the trace and session index,
 * alert state, the column claim log. Fixed names and fields; a count of delivered data (the
 * benches' drain check) leaves their lines out.
 */
export const OWN_MEASUREMENTS: ReadonlyArray<{ readonly name: string; readonly fields: ReadonlyArray<string | { readonly name: string }> }> = [
  LATENCY_ROLLUP,
  ALERT_STATE,
  COLUMN_CLAIMS,
  TRACE_INDEX,
  SESSION_INDEX,
];

/** Measurement names (after MAPPING_FILE) → the fields the gateway declares for them; see `declaredFields`. */
export interface DeclaredFields {
  /** The fields `measurement` writes itself (never counted against a column budget); any OTLP metric's for a name not listed. */
  of(measurement: string): ReadonlySet<string>;
}

/**
 * Every field name the schema declares per measurement, under the names the mapping uses, plus
 * OVERFLOW_FIELD. A column budget (mapping/column-budget.ts) counts every other field: attributes,
 * their `<key>__<type>` and `<tag>__demoted` fields, a beacon's metrics, a summary's quantiles.
 */
export function declaredFields(names: MeasurementNames): DeclaredFields {
  const set = (...specs: MeasurementSpec[]): ReadonlySet<string> => new Set([OVERFLOW_FIELD, ...specs.flatMap((m) => m.fields.map((f) => f.name))]);
  const known = new Map<string, ReadonlySet<string>>([
    [names.frontend.name, set(FRONTEND)],
    // The metric rollup writes backend_api_latency too.
    [names.backend.name, set(BACKEND, ROLLUP)],
    [names.spans.name, set(SPANS)],
    [LOGS.name, set(LOGS)],
    [WEB_VITALS.name, set(WEB_VITALS)],
    [FRONTEND_ERRORS.name, set(FRONTEND_ERRORS)],
    // The gateway's own measurements: their fields are fixed, so a budget never moves them.
    ...OWN_MEASUREMENTS.map((m): [string, ReadonlySet<string>] => [m.name, new Set(m.fields.map((f) => (typeof f === 'string' ? f : f.name)))]),
  ]);
  const metrics = set(METRICS);
  return { of: (measurement) => known.get(measurement) ?? metrics };
}
