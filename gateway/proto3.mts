import { DuckDBInstance } from '@duckdb/node-api';
const i = await DuckDBInstance.create('/tmp/eh/p.duckdb'); const c = await i.connect();
const now = BigInt(Date.now()) * 1_000_000n;
const from = now - 48n * 3_600_000_000_000n, to = now + 3_600_000_000_000n;
const base = 'time_ns >= $1 AND time_ns < $2 AND tenant_id = $3';
const cols = `trace_id, parent_span_id, name, time_ns // 1000 AS start_us, duration_ns`;
const ids = (await c.runAndReadAll(`SELECT DISTINCT trace_key FROM spans WHERE tenant_id='globex' AND session_id = 'globex-1199'`)).getRowObjects().map((r) => String(r.trace_key));
for (const n of [1, 2, 5, 20, 50, 100, 556]) {
  const sql = `SELECT ${cols} FROM spans WHERE ${base} AND trace_key IN (${ids.slice(0, n).join(',')})`;
  for (let k = 0; k < 2; k++) { const t = performance.now(); const r = (await c.runAndReadAll(sql, [from, to, 'globex'])).getRowObjects(); if (k) console.log(n, (performance.now() - t).toFixed(0), 'ms', r.length); }
  const ex = String((await c.runAndReadAll('EXPLAIN ' + sql, [from, to, 'globex'])).getRowObjects()[0]?.explain_value);
  console.log(ex.includes('optional') ? 'optional' : 'pushed');
}
