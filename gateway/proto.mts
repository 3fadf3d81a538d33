import { DuckDBInstance } from '@duckdb/node-api';
const i = await DuckDBInstance.create('/tmp/eh/p.duckdb'); const c = await i.connect();
const time = async (label: string, sql: string, p: any[] = []) => { const t = performance.now(); const cu = process.cpuUsage(); const r = (await c.runAndReadAll(sql, p)).getRowObjects(); const d = process.cpuUsage(cu); console.log(label, (performance.now() - t).toFixed(0), 'ms wall', ((d.user + d.system) / 1000).toFixed(0), 'ms cpu', r.length); return r; };
console.log((await c.runAndReadAll('SELECT count(*) n FROM spans')).getRowObjects());
await time('add', 'ALTER TABLE spans ADD COLUMN trace_key UBIGINT');
await time('add', 'ALTER TABLE spans ADD COLUMN session_key UBIGINT');
await time('backfill', 'UPDATE spans SET trace_key = md5_number_lower(trace_id), session_key = md5_number_lower(session_id) WHERE trace_key IS NULL');
await time('checkpoint', 'CHECKPOINT');
