import { DuckDBInstance } from '@duckdb/node-api';
const i = await DuckDBInstance.create('/tmp/eh/p.duckdb'); const c = await i.connect();
const now = BigInt(Date.now()) * 1_000_000n;
const from = now - 48n * 3_600_000_000_000n, to = now + 3_600_000_000_000n;
const base = 'time_ns >= $1 AND time_ns < $2 AND tenant_id = $3';
const cols = `trace_id, parent_span_id, name, time_ns // 1000 AS start_us, duration_ns`;
const ids = (await c.runAndReadAll(`SELECT DISTINCT trace_key FROM spans WHERE tenant_id='globex' AND session_id = 'globex-1199'`)).getRowObjects().map((r) => BigInt(String(r.trace_key)));
const t = async (label: string, sql: string, p: any[], ex = false) => { let r: any[] = []; for (let k = 0; k < 2; k++) { const t0 = performance.now(); r = (await c.runAndReadAll(sql, p)).getRowObjects(); if (k) console.log(label, (performance.now() - t0).toFixed(0), 'ms', r.length); } if (ex) console.log(String((await c.runAndReadAll('EXPLAIN ANALYZE ' + sql, p)).getRowObjects()[0]?.explain_value).split('\n').filter((l) => /SCAN|rows|Filters|s\)|\d\.\d\ds|JOIN/.test(l)).join('\n')); return r; };
for (const bits of [4096, 16384, 65536]) {
  const b = new Array(bits).fill('0'); for (const k of ids) b[Number(k % BigInt(bits))] = '1';
  const bs = b.join('');
  await t(`bitmap ${bits} literal`, `SELECT ${cols} FROM spans WHERE ${base} AND get_bit('${bs}'::BIT, (trace_key % ${bits})::INTEGER) = 1 AND trace_key IN (${ids.join(',')})`, [from, to, 'globex'], bits === 16384);
  await t(`bitmap ${bits} param`, `SELECT ${cols} FROM spans WHERE ${base} AND get_bit($4::BIT, (trace_key % ${bits})::INTEGER) = 1 AND trace_key IN (${ids.join(',')})`, [from, to, 'globex', bs], bits === 16384);
}
