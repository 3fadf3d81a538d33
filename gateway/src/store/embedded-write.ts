import type { DuckDBConnection } from '@duckdb/node-api';
import type { FieldValue, MappedPoint } from '../schema/point.ts';
import { sqlIdent } from '../query/sql.ts';
import type { TableSpec } from '../schema/derived.ts';
import { METRIC_NAME_COLUMN } from '../schema/measurements.ts';

/**
 * The embedded store's write path: tables, one row per point, and one transaction per batch that
 * skips rows already stored. bench/embedded-store.ts measures it against the previous path (a
 * PRIMARY KEY and INSERT OR IGNORE, harness/embedded-reference.ts), and
 * test/embedded-write.test.ts holds it to that path's rows.
 */

/** The columns of a table in their order on disk (and in the write path's parameters). */
export function tableColumns(spec: TableSpec): string[] {
  return ['time_ns', spec.idColumn, ...spec.text, ...spec.integers, ...spec.floats, 'extra'];
}

/** The CREATE TABLE column list; `tenant_id`, the identity and the time are never null. */
export function columnDefinitions(spec: TableSpec): string[] {
  return [
    'time_ns BIGINT NOT NULL',
    `${sqlIdent(spec.idColumn)} VARCHAR NOT NULL`,
    ...spec.text.map((c) => `${sqlIdent(c)} VARCHAR${c === 'tenant_id' ? ' NOT NULL' : ''}`),
    ...spec.integers.map((c) => `${sqlIdent(c)} BIGINT`),
    ...spec.floats.map((c) => `${sqlIdent(c)} DOUBLE`),
    'extra VARCHAR',
  ];
}

const TEXT = 0;
const INTEGER = 1;
const FLOAT = 2;

/** Where each key of a point goes in one table: computed once per table, not per row. */
interface RowPlan {
  /** Column position (after time and identity) and kind, by key. */
  readonly slot: ReadonlyMap<string, number>;
  readonly kinds: readonly number[];
  /** Keys kept out of `extra`: the columns, and in span tables the span id (it is the identity). */
  readonly notExtra: ReadonlySet<string>;
}

function rowPlan(spec: TableSpec): RowPlan {
  const names = [...spec.text, ...spec.integers, ...spec.floats];
  const kinds = [...spec.text.map(() => TEXT), ...spec.integers.map(() => INTEGER), ...spec.floats.map(() => FLOAT)];
  const notExtra = new Set(names);
  if (spec.idColumn === 'span_id') notExtra.add('span_id');
  return { slot: new Map(names.map((n, i) => [n, i])), kinds, notExtra };
}

function jsValue(v: FieldValue): string | number | boolean {
  return v.type === 'integer' ? Number(v.value) : v.value;
}

/**
 * The JSON of the keys a point has beyond the table's columns: fields, then non-empty tags (like
 * InfluxDB, which omits empty tag values: a gauge has no `temporality`). An object and
 * JSON.stringify: building the text by hand measured no faster.
 */
function extraJson(plan: RowPlan, p: MappedPoint): string {
  const extra: Record<string, string | number | boolean> = {};
  for (const [k, v] of p.point.fields) if (!plan.notExtra.has(k)) extra[k] = jsValue(v);
  for (const [k, v] of p.point.tags) if (v !== '' && !plan.notExtra.has(k)) extra[k] = v;
  return JSON.stringify(extra);
}

/**
 * Each column of a batch travels to DuckDB as one text value, its rows' values joined by SEPARATOR
 * (a NULL as NULL_TEXT), and DuckDB splits it back (`string_split`, native). A value at a time
 * through the appender was a call into DuckDB per value, 12 per span row, and half the main
 * thread's time; one string per column is 2.7× less CPU for the same rows (docs/performance.md).
 * A batch holding either character where it would be ambiguous goes as JSON arrays instead.
 */
const SEPARATOR = '\x1e';
const NULL_TEXT = '\x1f';

/** A value as its column's text (`nullText` for none), as the previous appender wrote it. */
function columnText(kind: number, v: string | FieldValue | undefined, nullText: string | null): string | null {
  if (v === undefined) return nullText;
  if (typeof v === 'string') return kind === TEXT ? v : nullText;
  if (kind === TEXT) return String(v.value);
  if (kind === INTEGER && v.type === 'integer') return typeof v.value === 'bigint' ? v.value.toString() : BigInt(v.value).toString();
  // String(x) is the shortest text that reads back as the same double; only the sign of zero needs help.
  if (kind === FLOAT && v.type === 'float') return Object.is(v.value, -0) ? '-0' : String(v.value);
  return nullText;
}

/** True when a text value would split wrongly or read back as NULL. */
function ambiguous(v: string): boolean {
  return v === NULL_TEXT || v.includes(SEPARATOR);
}

/** One table's share of a batch, column by column (time, identity, the plan's columns, extra). */
interface Columns {
  readonly values: Array<Array<string | null>>;
  /** No value is ambiguous: the columns may be joined by SEPARATOR. */
  readonly plain: boolean;
  readonly lo: bigint;
  readonly hi: bigint;
}

function toColumns(plan: RowPlan, points: readonly MappedPoint[], nullText: string | null): Columns {
  const n = points.length;
  const width = plan.kinds.length;
  const values = Array.from({ length: width + 3 }, () => new Array<string | null>(n));
  const time = values[0] as Array<string | null>;
  const ids = values[1] as Array<string | null>;
  const extra = values[width + 2] as Array<string | null>;
  const row = new Array<string | FieldValue | undefined>(width);
  let plain = true;
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  for (let r = 0; r < n; r++) {
    const p = points[r] as MappedPoint;
    row.fill(undefined);
    for (const [k, v] of p.point.tags) {
      const i = plan.slot.get(k);
      if (i !== undefined) row[i] = v;
    }
    for (const [k, v] of p.point.fields) {
      const i = plan.slot.get(k);
      if (i !== undefined) row[i] = v;
    }
    const t = p.point.timestamp;
    if (lo === undefined || t < lo) lo = t;
    if (hi === undefined || t > hi) hi = t;
    time[r] = t.toString();
    ids[r] = p.spanId;
    if (plain && ambiguous(p.spanId)) plain = false;
    for (let i = 0; i < width; i++) {
      const kind = plan.kinds[i] as number;
      const text = columnText(kind, row[i], nullText);
      (values[i + 2] as Array<string | null>)[r] = text;
      if (plain && kind === TEXT && text !== nullText && ambiguous(text as string)) plain = false;
    }
    const json = extraJson(plan, p);
    extra[r] = json;
    if (plain && ambiguous(json)) plain = false;
  }
  return { values, plain, lo: lo ?? 0n, hi: hi ?? 0n };
}

/** Replaces lone surrogates (DuckDB's JSON reader refuses them) as the appender's UTF-8 conversion did. */
function wellFormed(v: string | null): string | null {
  return v === null ? null : (v as string & { toWellFormed(): string }).toWellFormed();
}

/** The batch's columns as the statement's parameters: joined text, or JSON arrays when a value is ambiguous. */
function encode(plan: RowPlan, points: readonly MappedPoint[]): { params: Array<string | bigint>; plain: boolean } {
  const joined = toColumns(plan, points, NULL_TEXT);
  const cols = joined.plain ? joined : toColumns(plan, points, null);
  const texts = joined.plain ? cols.values.map((c) => c.join(SEPARATOR)) : cols.values.map((c) => JSON.stringify(c.map(wellFormed)));
  return { params: [...texts, BigInt(points.length), cols.lo, cols.hi], plain: joined.plain };
}

/** The table a point goes to, and the point as that table takes it. */
export function createTableRouter(byMeasurement: ReadonlyMap<string, TableSpec>, metrics: TableSpec): (batch: readonly MappedPoint[]) => Map<TableSpec, MappedPoint[]> {
  return (batch) => {
    const groups = new Map<TableSpec, MappedPoint[]>();
    for (const p of batch) {
      let spec = byMeasurement.get(p.point.measurement);
      let point = p;
      if (spec === undefined) {
        // Any other measurement is a metric: its name becomes a column of the generic table.
        spec = metrics;
        point = { spanId: p.spanId, point: { ...p.point, tags: [...p.point.tags, [METRIC_NAME_COLUMN, p.point.measurement]] } };
      }
      const g = groups.get(spec);
      if (g === undefined) groups.set(spec, [point]);
      else g.push(point);
    }
    return groups;
  };
}

/**
 * One table per measurement (from the schema), and the generic metrics table, with no index: every
 * insert maintained a PRIMARY KEY's ART index, which no query reads and which made the file 2.3× larger
 * (docs/performance.md). A file written before has the key: its table is rebuilt once without it
 * (DuckDB cannot drop a key in place).
 */
export async function createTables(conn: DuckDBConnection, tables: readonly TableSpec[]): Promise<void> {
  for (const spec of tables) {
    const table = sqlIdent(spec.name);
    await conn.run(`CREATE TABLE IF NOT EXISTS ${table} (${columnDefinitions(spec).join(', ')})`);
    if (await hasPrimaryKey(conn, spec.name)) {
      const rebuilt = sqlIdent(`${spec.name}__unindexed`);
      await conn.run('BEGIN TRANSACTION');
      try {
        await conn.run(`CREATE TABLE ${rebuilt} (${columnDefinitions(spec).join(', ')})`);
        await conn.run(`INSERT INTO ${rebuilt} BY NAME SELECT * FROM ${table} ORDER BY time_ns`);
        await conn.run(`DROP TABLE ${table}`);
        await conn.run(`ALTER TABLE ${rebuilt} RENAME TO ${table}`);
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  }
}

async function hasPrimaryKey(conn: DuckDBConnection, table: string): Promise<boolean> {
  const reader = await conn.runAndReadAll(`SELECT count(*) AS n FROM duckdb_constraints() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1 AND constraint_type = 'PRIMARY KEY'`, [table]);
  return Number(reader.getRowObjects()[0]?.n ?? 0) > 0;
}

/**
 * Writes one batch in one transaction: all of it or, on an error, none (the caller retries it).
 * A row whose (tenant, identity, time) is already stored, or comes twice in the batch, is written
 * once: replays (spool, client retries) are no-ops, like InfluxDB's idempotent overwrite. The
 * check reads only the target's rows within the batch's time range, which DuckDB's per-row-group
 * min/max on `time_ns` narrows to the newest row groups when data arrives roughly in time order.
 */
export function createBatchWriter(conn: DuckDBConnection, byMeasurement: ReadonlyMap<string, TableSpec>, metrics: TableSpec): (batch: readonly MappedPoint[]) => Promise<void> {
  const route = createTableRouter(byMeasurement, metrics);
  const plans = new Map<TableSpec, { plan: RowPlan; joined: string; json: string }>();
  const planOf = (spec: TableSpec): { plan: RowPlan; joined: string; json: string } => {
    let plan = plans.get(spec);
    if (plan === undefined) plans.set(spec, (plan = { plan: rowPlan(spec), joined: insertNewRows(spec, true), json: insertNewRows(spec, false) }));
    return plan;
  };
  return async (batch) => {
    const groups = route(batch);
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const [spec, points] of groups) {
        const { plan, joined, json } = planOf(spec);
        const { params, plain } = encode(plan, points);
        await conn.run(plain ? joined : json, params);
      }
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  };
}

/**
 * The batch's rows from its column parameters ($1… in tableColumns order, then the row count and
 * the time range) into the table, once per (tenant, identity, time) within the batch and against
 * the table. A column that does not hold one value per row fails the batch rather than shift rows.
 */
function insertNewRows(spec: TableSpec, joined: boolean): string {
  const names = tableColumns(spec);
  const types = ['BIGINT', 'VARCHAR', ...spec.text.map(() => 'VARCHAR'), ...spec.integers.map(() => 'BIGINT'), ...spec.floats.map(() => 'DOUBLE'), 'VARCHAR'];
  const count = `$${names.length + 1}`;
  const lo = `$${names.length + 2}::BIGINT`;
  const hi = `$${names.length + 3}::BIGINT`;
  const lists = names.map((_, i) => (joined ? `string_split($${i + 1}::VARCHAR, chr(30))` : `from_json($${i + 1}::VARCHAR, '["VARCHAR"]')`) + ` AS l${i}`);
  const sameLength = names.map((_, i) => `len(l${i}) = ${count}::BIGINT`).join(' AND ');
  const unnested = names.map((_, i) => `unnest(l${i}) AS c${i}`);
  const typed = names.map((c, i) => {
    const text = joined && i > 1 ? `nullif(c${i}, chr(31))` : `c${i}`;
    return `${types[i] === 'VARCHAR' ? text : `CAST(${text} AS ${types[i]})`} AS ${sqlIdent(c)}`;
  });
  const cols = names.map(sqlIdent).join(', ');
  const id = sqlIdent(spec.idColumn);
  const table = sqlIdent(spec.name);
  return `INSERT INTO ${table} (${cols})
    SELECT ${cols} FROM (SELECT DISTINCT ON (tenant_id, ${id}, time_ns) * FROM (
      SELECT ${typed.join(', ')} FROM (
        SELECT ${unnested.join(', ')} FROM (SELECT ${lists.join(', ')})
        WHERE CASE WHEN ${sameLength} THEN true ELSE error('embedded store: a column of the batch does not hold one value per row') END))) s
    WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.time_ns BETWEEN ${lo} AND ${hi} AND t.tenant_id = s.tenant_id AND t.${id} = s.${id} AND t.time_ns = s.time_ns)`;
}
