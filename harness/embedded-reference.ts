import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { join } from 'node:path';
import type { FieldValue, MappedPoint } from '../gateway/src/schema/point.ts';
import { sqlIdent } from '../gateway/src/query/sql.ts';
import { tableSpecs, type TableSpec, type TableSpecs } from '../gateway/src/schema/derived.ts';
import type { MappingRules } from '../gateway/src/mapping/rules.ts';
import { columnDefinitions, createTableRouter, tableColumns } from '../gateway/src/store/embedded-write.ts';
import { createEmbeddedSink, type EmbeddedSink, type EmbeddedSinkOptions } from '../gateway/src/store/embedded-store.ts';

/**
 * The embedded store's write path as it was before issue 17 §3, kept as the reference the bench
 * measures against (bench/embedded-store.ts) and the test holds the new path to
 * (test/embedded-write.test.ts): a PRIMARY KEY (tenant, identity, time) on every table, each point
 * appended a value at a time through a `Map`, and `INSERT OR IGNORE` from the staging table, in
 * batches of BATCH_MAX_LINES.
 */

async function createReferenceTables(conn: DuckDBConnection, tables: readonly TableSpec[]): Promise<void> {
  for (const spec of tables) {
    await conn.run(`CREATE TABLE IF NOT EXISTS ${sqlIdent(spec.name)} (${columnDefinitions(spec).join(', ')}, PRIMARY KEY (tenant_id, ${sqlIdent(spec.idColumn)}, time_ns))`);
    await conn.run(`CREATE TEMP TABLE IF NOT EXISTS ${sqlIdent(`stage_${spec.name}`)} AS SELECT * FROM ${sqlIdent(spec.name)} LIMIT 0`);
  }
}

function jsValue(v: FieldValue): string | number | boolean {
  return v.type === 'integer' ? Number(v.value) : v.value;
}

function appendReferenceRow(appender: DuckDBAppender, spec: TableSpec, p: MappedPoint): void {
  const values = new Map<string, string | number | boolean | bigint>();
  for (const [k, v] of p.point.tags) values.set(k, v);
  for (const [k, v] of p.point.fields) values.set(k, v.type === 'integer' ? BigInt(v.value) : v.value);
  appender.appendBigInt(p.point.timestamp);
  appender.appendVarchar(p.spanId);
  for (const c of spec.text) {
    const v = values.get(c);
    if (v === undefined) appender.appendNull();
    else appender.appendVarchar(String(v));
    values.delete(c);
  }
  for (const c of spec.integers) {
    const v = values.get(c);
    if (typeof v === 'bigint') appender.appendBigInt(v);
    else appender.appendNull();
    values.delete(c);
  }
  for (const c of spec.floats) {
    const v = values.get(c);
    if (typeof v === 'number') appender.appendDouble(v);
    else appender.appendNull();
    values.delete(c);
  }
  if (spec.idColumn === 'span_id') values.delete('span_id');
  const extra: Record<string, string | number | boolean> = {};
  for (const [k, v] of p.point.fields) if (values.has(k)) extra[k] = jsValue(v);
  for (const [k, v] of p.point.tags) if (values.has(k) && v !== '') extra[k] = v;
  appender.appendVarchar(JSON.stringify(extra));
  appender.endRow();
}

function createReferenceBatchWriter(conn: DuckDBConnection, specs: TableSpecs): (batch: readonly MappedPoint[]) => Promise<void> {
  const route = createTableRouter(new Map([specs.frontend, specs.backend, specs.spans, specs.logs, specs.webVitals, specs.frontendErrors].map((s) => [s.name, s])), specs.metrics);
  return async (batch) => {
    const groups = route(batch);
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const [spec, points] of groups) {
        const appender = await conn.createAppender(`stage_${spec.name}`, 'main', 'temp');
        for (const p of points) appendReferenceRow(appender, spec, p);
        appender.closeSync();
        const cols = tableColumns(spec).map(sqlIdent).join(', ');
        await conn.run(`INSERT OR IGNORE INTO ${sqlIdent(spec.name)} (${cols}) SELECT ${cols} FROM ${sqlIdent(`stage_${spec.name}`)}`);
        await conn.run(`DELETE FROM ${sqlIdent(`stage_${spec.name}`)}`);
      }
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  };
}

/** The previous write path on `dataDir/tenantlens.duckdb`, behind the same buffer and writer loop as the store's. */
export async function createReferenceEmbeddedSink(dataDir: string, rules: MappingRules, opts: Omit<EmbeddedSinkOptions, 'batchMaxPoints'>): Promise<EmbeddedSink> {
  const instance = await DuckDBInstance.create(join(dataDir, 'tenantlens.duckdb'));
  const conn = await instance.connect();
  const specs = tableSpecs(rules);
  await createReferenceTables(conn, [specs.frontend, specs.backend, specs.spans, specs.logs, specs.webVitals, specs.frontendErrors, specs.metrics]);
  return createEmbeddedSink(createReferenceBatchWriter(conn, specs), { ...opts, batchMaxPoints: opts.buffer.batchMaxLines }, () => {
    conn.closeSync();
    instance.closeSync();
  });
}
