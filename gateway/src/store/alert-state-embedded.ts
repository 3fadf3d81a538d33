import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { sqlIdent } from '../query/sql.ts';
import { ALERT_STATE, alertStateColumns, alertStateFromRow, type AlertStateRecord, type AlertStateStore } from '../schema/alert-state.ts';
import type { ColumnType } from '../schema/measurements.ts';

const SQL_TYPES: Readonly<Record<ColumnType, string>> = { string: 'VARCHAR', integer: 'BIGINT', float: 'DOUBLE', boolean: 'BOOLEAN' };
const COLUMNS: readonly string[] = [...ALERT_STATE.tags, ...ALERT_STATE.fields.map((f) => f.name)];
const TABLE = sqlIdent(ALERT_STATE.table.name);

/**
 * The alert state in the embedded store: one row per episode (the primary key), replaced on each
 * write, in one transaction on a connection of its own (the data's writer holds its own
 * transactions on the other). A write is committed before the evaluator notifies anyone.
 */
export async function createEmbeddedAlertState(conn: DuckDBConnection): Promise<AlertStateStore> {
  const defs = [
    ...ALERT_STATE.tags.map((t) => `${sqlIdent(t)} VARCHAR NOT NULL`),
    ...ALERT_STATE.fields.map((f) => `${sqlIdent(f.name)} ${SQL_TYPES[f.type]}${'optional' in f ? '' : ' NOT NULL'}`),
  ];
  await conn.run(`CREATE TABLE IF NOT EXISTS ${TABLE} (${defs.join(', ')}, PRIMARY KEY (${ALERT_STATE.table.primaryKey.map(sqlIdent).join(', ')}))`);
  const insert = `INSERT OR REPLACE INTO ${TABLE} (${COLUMNS.map(sqlIdent).join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;

  function row(r: AlertStateRecord): DuckDBValue[] {
    const fields = alertStateColumns(r);
    const tags: Record<string, string> = { tenant_id: r.tenant, dimension: r.kind, dimension_value: r.value };
    return COLUMNS.map((c) => {
      const v = fields.get(c);
      if (v === undefined) return tags[c] ?? null;
      return v.type === 'integer' ? BigInt(v.value) : v.value;
    });
  }

  return {
    async save(records) {
      await conn.run('BEGIN TRANSACTION');
      try {
        for (const r of records) await conn.run(insert, row(r));
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        return { kind: 'retryable', reason: (err as Error).message };
      }
      return { kind: 'success' };
    },
    async load(sinceMs) {
      // What the start-up read would skip is gone for good: resolved episodes past their listing.
      await conn.run(`DELETE FROM ${TABLE} WHERE state = 'resolved' AND updated_ms < $1`, [BigInt(Math.floor(sinceMs))]);
      const reader = await conn.runAndReadAll(`SELECT * FROM ${TABLE} WHERE state = 'firing' OR updated_ms >= $1`, [BigInt(Math.floor(sinceMs))]);
      return reader.getRowObjects().flatMap((r) => alertStateFromRow(r) ?? []);
    },
  };
}
