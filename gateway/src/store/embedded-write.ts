import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import type { FieldValue, MappedPoint } from '../schema/point.ts';
import { sqlIdent } from '../query/sql.ts';
import { idKeySql, keyColumn, type TableSpec } from '../schema/derived.ts';
import { METRIC_NAME_COLUMN } from '../schema/measurements.ts';

/**
 * The embedded store's write path: tables, one row per point, and one transaction per batch that
 * skips rows already stored. bench/embedded-store.ts measures it against the previous path (a
 * PRIMARY KEY and INSERT OR IGNORE, harness/embedded-reference.ts), and
 * test/embedded-write.test.ts holds it to that path's rows.
 */

/** The columns of a table in the order the appender fills them (the key columns are computed in SQL, after them). */
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

/** The key columns (schema/derived.ts `keyColumn`), last: a file written before them gets them by ALTER TABLE, which appends. */
function keyDefinitions(spec: TableSpec): string[] {
  return spec.keyed.map((c) => `${sqlIdent(keyColumn(c))} UBIGINT`);
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
 * Appends one point as a row: its columns in order, everything else as JSON in `extra`. A field
 * wins over a tag of the same key; a text column takes any value as text, an integer column only
 * an integer field, a float column only a float field (anything else is NULL).
 */
function appendRow(appender: DuckDBAppender, plan: RowPlan, row: Array<string | FieldValue | undefined>, p: MappedPoint): void {
  row.fill(undefined);
  for (const [k, v] of p.point.tags) {
    const i = plan.slot.get(k);
    if (i !== undefined) row[i] = v;
  }
  for (const [k, v] of p.point.fields) {
    const i = plan.slot.get(k);
    if (i !== undefined) row[i] = v;
  }
  appender.appendBigInt(p.point.timestamp);
  appender.appendVarchar(p.spanId);
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    const kind = plan.kinds[i];
    if (v === undefined) appender.appendNull();
    else if (typeof v === 'string') {
      if (kind === TEXT) appender.appendVarchar(v);
      else appender.appendNull();
    } else if (kind === TEXT) appender.appendVarchar(String(v.value));
    else if (kind === INTEGER && v.type === 'integer') appender.appendBigInt(BigInt(v.value));
    else if (kind === FLOAT && v.type === 'float') appender.appendDouble(v.value);
    else appender.appendNull();
  }
  appender.appendVarchar(extraJson(plan, p));
  appender.endRow();
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
 * (docs/performance.md). Each table has a TEMP staging twin the appender fills, without the key
 * columns. A file written before has the key: its table is rebuilt once without it (DuckDB cannot
 * drop a key in place). A file written before the key columns gets them, then `fillKeys`.
 */
export async function createTables(conn: DuckDBConnection, tables: readonly TableSpec[]): Promise<void> {
  for (const spec of tables) {
    const table = sqlIdent(spec.name);
    const definitions = [...columnDefinitions(spec), ...keyDefinitions(spec)].join(', ');
    await conn.run(`CREATE TABLE IF NOT EXISTS ${table} (${definitions})`);
    if (await hasPrimaryKey(conn, spec.name)) {
      const rebuilt = sqlIdent(`${spec.name}__unindexed`);
      await conn.run('BEGIN TRANSACTION');
      try {
        await conn.run(`CREATE TABLE ${rebuilt} (${definitions})`);
        await conn.run(`INSERT INTO ${rebuilt} BY NAME SELECT * FROM ${table} ORDER BY time_ns`);
        await conn.run(`DROP TABLE ${table}`);
        await conn.run(`ALTER TABLE ${rebuilt} RENAME TO ${table}`);
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    for (const c of spec.keyed) await conn.run(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${sqlIdent(keyColumn(c))} UBIGINT`);
    await fillKeys(conn, spec);
    const staged = tableColumns(spec).map(sqlIdent).join(', ');
    await conn.run(`CREATE TEMP TABLE IF NOT EXISTS ${sqlIdent(`stage_${spec.name}`)} AS SELECT ${staged} FROM ${table} LIMIT 0`);
  }
}

/**
 * Computes the keys a row lacks: rows written before the key columns existed. The lookups then
 * need no `OR key IS NULL`, which DuckDB cannot push into the scan (it read every id again: slower
 * than no key at all). Once per file in practice: on a file whose keys are all set, DuckDB skips
 * every row group by its null statistics. docs/performance.md has what it costs.
 */
async function fillKeys(conn: DuckDBConnection, spec: TableSpec): Promise<void> {
  for (const c of spec.keyed) {
    const [id, key] = [sqlIdent(c), sqlIdent(keyColumn(c))];
    await conn.run(`UPDATE ${sqlIdent(spec.name)} SET ${key} = ${idKeySql(id)} WHERE ${key} IS NULL AND ${id} IS NOT NULL`);
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
  const plans = new Map<TableSpec, RowPlan>();
  const planOf = (spec: TableSpec): RowPlan => {
    let plan = plans.get(spec);
    if (plan === undefined) plans.set(spec, (plan = rowPlan(spec)));
    return plan;
  };
  return async (batch) => {
    const groups = route(batch);
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const [spec, points] of groups) {
        const plan = planOf(spec);
        const row = new Array<string | FieldValue | undefined>(plan.kinds.length);
        const appender = await conn.createAppender(`stage_${spec.name}`, 'main', 'temp');
        let lo: bigint | undefined;
        let hi: bigint | undefined;
        for (const p of points) {
          appendRow(appender, plan, row, p);
          const t = p.point.timestamp;
          if (lo === undefined || t < lo) lo = t;
          if (hi === undefined || t > hi) hi = t;
        }
        appender.closeSync();
        await conn.run(insertNewRows(spec, lo ?? 0n, hi ?? 0n));
        await conn.run(`DELETE FROM ${sqlIdent(`stage_${spec.name}`)}`);
      }
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  };
}

/** Staged rows into the table, with their keys, once per (tenant, identity, time) within the batch and against the table. */
function insertNewRows(spec: TableSpec, lo: bigint, hi: bigint): string {
  const cols = tableColumns(spec).map(sqlIdent).join(', ');
  const keys = spec.keyed.map((c) => `, ${sqlIdent(keyColumn(c))}`).join('');
  const keyValues = spec.keyed.map((c) => `, ${idKeySql(sqlIdent(c))}`).join('');
  const id = sqlIdent(spec.idColumn);
  const table = sqlIdent(spec.name);
  return `INSERT INTO ${table} (${cols}${keys})
    SELECT ${cols}${keyValues} FROM (SELECT DISTINCT ON (tenant_id, ${id}, time_ns) * FROM ${sqlIdent(`stage_${spec.name}`)}) s
    WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.time_ns BETWEEN ${lo} AND ${hi} AND t.tenant_id = s.tenant_id AND t.${id} = s.${id} AND t.time_ns = s.time_ns)`;
}
