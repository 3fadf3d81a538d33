/**
 * The Tenantlens data model, declared once: every measurement the gateway writes, its tags, its
 * fields and their types, the names an attribute may not take, and the embedded store's columns.
 * The mappers, the fused trace encoder, the embedded store's tables and the drill-down queries
 * read their lists from here (schema/derived.ts); gateway/test/schema.test.ts holds what the mappers
 * write to these declarations.
 *
 * This module imports nothing from the gateway outside schema/: every other folder may depend on it, so it can
 * never be part of an import cycle.
 */
import { SESSION_INDEX, TRACE_INDEX } from './trace-index.ts';

/** A field's InfluxDB type (the same four as line-protocol.ts `FieldType`). */
export type ColumnType = 'string' | 'integer' | 'float' | 'boolean';

export interface FieldSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** Written only when it has a value (element_count, the rollup's latencies). */
  readonly optional?: boolean;
}

/** Which measurement: the keys MAPPING_FILE uses (`measurements.frontend`…), plus the fixed ones. */
export type MeasurementKey = 'frontend' | 'backend' | 'spans' | 'logs' | 'rollup' | 'latencyRollup' | 'metrics' | 'webVitals' | 'frontendErrors';

export interface MeasurementSpec {
  readonly key: MeasurementKey;
  /** The measurement name; MAPPING_FILE may rename frontend, backend and spans. */
  readonly name: string;
  /** Tags in the embedded table's column order (lines write them sorted by key). */
  readonly tags: readonly string[];
  /** Fields in the order a line writes them. */
  readonly fields: readonly FieldSpec[];
  /**
   * Attribute names that are not stored as a field of that name: the measurement's own tags and
   * fields, `time` and the overflow field. An attribute named so is stored as `attr_<name>`
   * (RENAME_PREFIX, repeated until the name is free; metric tags likewise). A tag and a field may
   * not share a name on InfluxDB 3, and on 1.x InfluxQL cannot tell them apart.
   */
  readonly reserved: readonly string[];
  /**
   * The embedded store's table: the identity column (part of the dedupe key, holding
   * `MappedPoint.spanId`), then these tags and fields as columns, in this order. Existing database
   * files depend on the order (the appender writes by position). Everything else goes to `extra`,
   * which the drill-down lists as attributes. `keyed` columns (ids a lookup matches one value of)
   * also get a 64-bit key column (derived.ts `keyColumn`), which the lookups filter on first.
   */
  readonly table: { readonly name: string; readonly idColumn: string; readonly columns: readonly string[]; readonly keyed?: readonly string[] };
}

/** InfluxQL reserves `time`; InfluxDB 1.x refuses a field with that name. */
export const TIME = 'time';
/**
 * The one string field holding, as a JSON object, the attributes a measurement has no column
 * budget left for (SPAN_ATTRIBUTE_FIELDS_MAX; mapping/column-budget.ts). Reserved everywhere.
 */
export const OVERFLOW_FIELD = 'attributes';
/** What an attribute named like a reserved name gets in front of it (repeated until the name is free). */
export const RENAME_PREFIX = 'attr_';
export const TENANT_TAG = 'tenant_id';
/** The generic metrics table's column holding the metric's measurement name. */
export const METRIC_NAME_COLUMN = 'measurement';

const s = (name: string): FieldSpec => ({ name, type: 'string' });
const i = (name: string, optional = false): FieldSpec => ({ name, type: 'integer', ...(optional ? { optional } : {}) });
const f = (name: string): FieldSpec => ({ name, type: 'float', optional: true });

/** One frontend action or view (a span with a `view_name`): what the console's frontend side reads. */
export const FRONTEND: MeasurementSpec = {
  key: 'frontend',
  name: 'frontend_performance',
  tags: ['tenant_id', 'session_id', 'view_name', 'action_name', 'service_name'],
  // blocked_ms / long_tasks: the web SDK's long-task charge (a MobX action that blocked the main thread).
  fields: [i('duration_ms'), i('element_count', true), i('blocked_ms', true), i('long_tasks', true), s('trace_id'), s('span_id'), s('gateway_instance')],
  reserved: [],
  table: { name: 'frontend_performance', idColumn: 'span_id', columns: ['tenant_id', 'session_id', 'view_name', 'action_name', 'service_name', 'trace_id', 'duration_ms', 'element_count'] },
};

/** One server span (kind 2): backend latency per endpoint. */
export const BACKEND: MeasurementSpec = {
  key: 'backend',
  name: 'backend_api_latency',
  tags: ['tenant_id', 'endpoint', 'http_method', 'status_code', 'service_name'],
  fields: [i('latency_ms'), s('trace_id'), s('span_id'), s('gateway_instance')],
  reserved: [],
  table: { name: 'backend_api_latency', idColumn: 'span_id', columns: ['tenant_id', 'endpoint', 'http_method', 'status_code', 'service_name', 'trace_id', 'latency_ms'] },
};

/**
 * The same measurement as BACKEND, written from the `http.server.request.duration` histogram for
 * backends that send metrics rather than spans (map-signals.ts `rollup`). It shares BACKEND's table.
 */
export const ROLLUP: MeasurementSpec = {
  key: 'rollup',
  name: BACKEND.name,
  tags: ['tenant_id', 'endpoint', 'http_method', 'status_code', 'service_name', 'temporality'],
  fields: [i('request_count'), f('latency_sum_ms'), f('latency_min_ms'), f('latency_max_ms'), s('gateway_instance')],
  reserved: [],
  table: BACKEND.table,
};

/**
 * One closed minute of one writer's durations per (tenant, side, endpoint or view · action): a
 * mergeable sketch (rollup/sketch.ts, base64 in `sketch`), the duration count, and the spans and
 * error spans the side's error rate counts (status ERROR). Written by the gateway beside the raw
 * points (rollup/recorder.ts); the drill-down merges the writers' rows (query/rollup-drilldown.ts).
 * `writer` is a tag so two gateway processes never overwrite each other's series and timestamp.
 */
export const LATENCY_ROLLUP: MeasurementSpec = {
  key: 'latencyRollup',
  name: 'latency_rollup',
  tags: ['tenant_id', 'side', 'endpoint', 'view_name', 'action_name', 'writer'],
  fields: [s('sketch'), i('count'), i('span_count'), i('error_count')],
  reserved: [],
  table: { name: 'latency_rollup', idColumn: 'rollup_id', columns: ['tenant_id', 'side', 'endpoint', 'view_name', 'action_name', 'writer', 'sketch', 'count', 'span_count', 'error_count'] },
};

/** Every span; its attributes become typed fields (mapping/field-types.ts). */
export const SPANS: MeasurementSpec = {
  key: 'spans',
  name: 'spans',
  tags: ['tenant_id', 'service_name', 'span_kind'],
  fields: [s('trace_id'), s('span_id'), s('parent_span_id'), s('name'), i('duration_ns'), i('status_code'), s('session_id'), s('scope_name'), s('gateway_instance')],
  // The tags too: until 2026-12 an attribute named `service_name` or `span_kind` became a field of a tag's name, which InfluxDB 3 refuses.
  reserved: ['trace_id', 'span_id', 'parent_span_id', 'name', 'duration_ns', 'status_code', 'session_id', 'gateway_instance', 'scope_name', TIME, 'tenant_id', 'service_name', 'span_kind', OVERFLOW_FIELD],
  table: { name: 'spans', idColumn: 'span_id', columns: ['tenant_id', 'service_name', 'span_kind', 'trace_id', 'parent_span_id', 'name', 'session_id', 'duration_ns', 'status_code'], keyed: ['trace_id', 'session_id'] },
};

/** Every log record; its attributes become typed fields. */
export const LOGS: MeasurementSpec = {
  key: 'logs',
  name: 'logs',
  tags: ['tenant_id', 'service_name', 'severity_text'],
  fields: [s('body'), i('severity_number'), s('trace_id'), s('span_id'), s('gateway_instance')],
  reserved: ['body', 'severity_number', 'trace_id', 'span_id', 'gateway_instance', TIME, 'service_name', 'severity_text', 'tenant_id', OVERFLOW_FIELD],
  // Logs keep the record's own span_id as data, so their identity has a column of its own.
  table: { name: 'logs', idColumn: 'record_id', columns: ['tenant_id', 'service_name', 'severity_text', 'trace_id', 'span_id', 'body', 'severity_number'], keyed: ['trace_id'] },
};

/**
 * OTLP metrics: one measurement per metric name (sanitised), data-point attributes as tags, the
 * value in one of these fields depending on the metric's kind (summaries add `quantile_<q>`). In
 * the embedded store all metrics share one table, the measurement name in a column.
 */
export const METRICS: MeasurementSpec = {
  key: 'metrics',
  name: 'otel_metrics',
  tags: ['tenant_id', 'service_name', 'temporality'],
  fields: [f('gauge'), f('counter'), i('count', true), f('sum'), f('min'), f('max'), i('bucket', true), i('scale', true), i('zero_count', true)],
  // Tag keys a data-point attribute may not take: ours, and the field keys (a tag and a field of one name confuse InfluxQL).
  reserved: ['tenant_id', METRIC_NAME_COLUMN, 'service_name', 'temporality', 'le', TIME, 'gauge', 'counter', 'count', 'sum', 'min', 'max', 'bucket', 'scale', 'zero_count', OVERFLOW_FIELD],
  table: { name: 'otel_metrics', idColumn: 'point_id', columns: ['tenant_id', METRIC_NAME_COLUMN] },
};

/** One Core Web Vital report (a `browser.web_vital` log event from the web SDK). */
export const WEB_VITALS: MeasurementSpec = {
  key: 'webVitals',
  name: 'web_vitals',
  tags: ['tenant_id', 'service_name', 'view_name', 'metric', 'rating'],
  fields: [{ name: 'value', type: 'float' }, s('session_id'), s('navigation_type'), s('attribution'), { name: 'trace_id', type: 'string', optional: true }],
  reserved: [],
  table: { name: 'web_vitals', idColumn: 'event_id', columns: ['tenant_id', 'service_name', 'view_name', 'metric', 'rating', 'session_id', 'navigation_type', 'attribution', 'trace_id', 'value'] },
};

/** One browser error, or a burst of identical ones (an `exception` log event carrying a view). */
export const FRONTEND_ERRORS: MeasurementSpec = {
  key: 'frontendErrors',
  name: 'frontend_errors',
  tags: ['tenant_id', 'service_name', 'view_name', 'error_type'],
  fields: [s('message'), s('stack'), i('count'), s('session_id'), s('trace_id'), s('span_id'), s('action_name')],
  reserved: [],
  table: { name: 'frontend_errors', idColumn: 'event_id', columns: ['tenant_id', 'service_name', 'view_name', 'error_type', 'message', 'stack', 'session_id', 'trace_id', 'span_id', 'action_name', 'count'] },
};

/**
 * InfluxDB only: the column budget's claim log (mapping/column-budget.ts, store/column-claims.ts).
 * One row per step of a claim: `kind` is `column` (entry: the field's name; state `admit`) or
 * `reservation` (entry: its number; state `reserve`, then `release`). A series is one claimant's
 * entry, so its rows are ordered by the claimant's own clock.
 */
export const COLUMN_CLAIMS = {
  name: 'tenantlens_column_claims',
  tags: ['table', 'claimant', 'kind', 'entry'],
  fields: [s('state'), s('type')],
} as const;

/** Every declaration, for checks and docs. */
export const MEASUREMENTS: readonly MeasurementSpec[] = [FRONTEND, BACKEND, ROLLUP, LATENCY_ROLLUP, SPANS, LOGS, METRICS, WEB_VITALS, FRONTEND_ERRORS];

/** Measurement names MAPPING_FILE may not give frontend, backend or spans: the rollups, logs, the metrics table, the browser events, the trace index and the column claim log own them. */
export const FIXED_NAMES: readonly string[] = [LATENCY_ROLLUP.name, LOGS.name, METRICS.name, WEB_VITALS.name, FRONTEND_ERRORS.name, TRACE_INDEX.name, SESSION_INDEX.name, COLUMN_CLAIMS.name];
