/**
 * INFLUX_API_VERSION=3 against the InfluxDB 3 stand-in (test/support/influxdb3-standin.ts), which
 * follows the documented API only: no InfluxDB 3 server runs here (docs/influxdb3.md).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, type Config } from '../gateway/src/config.ts';
import { createRefusalLog } from '../gateway/src/influx/refusal-reasons.ts';
import type { WriteTransport } from '../gateway/src/influx/transport.ts';
import { createV3Transport, TOO_LARGE_REASON } from '../gateway/src/influx/v3-transport.ts';
import { createLineWriter, type LineWriter } from '../gateway/src/influx/writer.ts';
import { runInfluxQL } from '../gateway/src/query/influxql-http.ts';
import { startInfluxDB3Standin, type InfluxDB3Standin, type StandinOptions } from './support/influxdb3-standin.ts';
import { recordWriterEvents, type RecordedWriterEvents } from './support/writer-events.ts';

const TOKEN = 'apiv3_standin-token';
const DB = 'tenantlens';
const standins: InfluxDB3Standin[] = [];

after(async () => {
  await Promise.all(standins.map((s) => s.close()));
});

async function standin(opts: StandinOptions = {}): Promise<InfluxDB3Standin> {
  const s = await startInfluxDB3Standin({ token: TOKEN, ...opts });
  standins.push(s);
  return s;
}

function v3Config(url: string, extra: Record<string, string> = {}): Config {
  return loadConfig({ INFLUX_URL: url, INFLUX_API_VERSION: '3', INFLUX_TOKEN: TOKEN, INFLUX_BUCKET: DB, TENANT_AUTH: 'header', FLUSH_INTERVAL_MILLIS: '20', ...extra });
}

/** The gateway's wiring (main.ts): the v3 transport under the writer. */
function pipeline(config: Config): { transport: WriteTransport; writer: LineWriter; log: RecordedWriterEvents } {
  const transport = createV3Transport(config.influx!);
  const { events, log } = recordWriterEvents();
  const writer = createLineWriter({ transport, buffer: config.buffer, events });
  return { transport, writer, log };
}

async function drained(p: { transport: WriteTransport; writer: LineWriter }, deadlineMillis = 10_000): Promise<number> {
  const left = await p.writer.drain(Date.now() + deadlineMillis);
  p.writer.close();
  await p.transport.close();
  return left;
}

const T0 = 1_764_000_000_000_000_000n;
const line = (table: string, tags: string, fields: string, i: number): string => `${table}${tags === '' ? '' : ',' + tags} ${fields} ${T0 + BigInt(i)}`;

test('writes land through /api/v3/write_lp with nanosecond precision, accept_partial and a Bearer token', async () => {
  const s = await standin();
  const p = pipeline(v3Config(s.url));
  assert.equal(await p.transport.ping(), true);
  const input = [
    line('spans', 'tenant_id=acme', 'duration_ns=5i,name="GET /x"', 1),
    line('spans', 'tenant_id=acme', 'duration_ns=7i,name="multi\nline"', 2),
    line('backend_api_latency', 'tenant_id=globex', 'latency_ms=12.5', 3),
  ];
  assert.equal(p.writer.offer(input), true);
  assert.equal(await drained(p), 0);
  assert.deepEqual(p.log.written, [3]);
  assert.deepEqual(p.log.failed, []);
  const w = s.writes[0]!;
  assert.equal(w.url.pathname, '/api/v3/write_lp');
  assert.deepEqual(Object.fromEntries(w.url.searchParams), { db: DB, precision: 'nanosecond', accept_partial: 'true' });
  assert.equal(w.authorization, `Bearer ${TOKEN}`);
  const rows = s.rows(DB);
  assert.equal(rows.length, 3);
  assert.equal(rows[1]!.fields.name, 'multi\nline', 'a raw newline inside a string field stays in its line');
  assert.equal(rows[0]!.time, String(T0 + 1n));
});

test('a partial write stores the rest, counts the refused lines per reason, and never sends them again', async () => {
  const s = await standin();
  s.seedTable(DB, 'spans', { tenant_id: 'tag', duration_ns: 'integer', route: 'tag' });
  const p = pipeline(v3Config(s.url));
  const input = [
    line('spans', 'tenant_id=a', 'duration_ns=1i', 1),
    line('spans', 'tenant_id=a', 'duration_ns="slow"', 2), // type conflict
    line('spans', 'tenant_id=a', 'duration_ns=3i', 3),
    line('spans', 'tenant_id=a', 'duration_ns=4i,route="/x"', 4), // a field named like a tag
    line('spans', 'tenant_id=a', 'duration_ns=5.5', 5), // type conflict, another column type
    line('spans', 'tenant_id=a', 'duration_ns=6i', 6),
  ];
  assert.equal(p.writer.offer(input), true);
  assert.equal(await drained(p), 0, 'the writer treats the batch as done');
  assert.equal(s.writes.length, 1, 'no retry of a partial write');
  assert.equal(s.rows(DB).length, 3);
  assert.deepEqual(p.log.written, [3]);
  assert.equal(p.log.retries.length, 0);
  const [f] = p.log.failed;
  assert.equal(f?.rejected, 3);
  assert.equal(f?.status, 400);
  assert.deepEqual(
    f?.refused.map((r) => [r.reason, r.lines, r.firstLine]),
    [
      ["invalid column type for column '?', expected iox::column_type::field::integer, got iox::column_type::field::string", 1, input[1]],
      ["invalid column type for column '?', expected iox::column_type::tag, got iox::column_type::field::string", 1, input[3]],
      ["invalid column type for column '?', expected iox::column_type::field::integer, got iox::column_type::field::float", 1, input[4]],
    ],
  );

  // What main.ts makes of it: a counter per reason, and the first line of each reason logged once.
  const counted = new Map<string, number>();
  const logged: string[] = [];
  const refusals = createRefusalLog({ count: (r, n) => counted.set(r, (counted.get(r) ?? 0) + n), firstOfReason: (_r, l) => logged.push(l) });
  refusals.record(f!.reason, f!.rejected, f!.refused);
  refusals.record(f!.reason, f!.rejected, f!.refused);
  assert.deepEqual([...counted.values()], [2, 2, 2]);
  assert.deepEqual(logged, [input[1], input[3], input[4]], 'once per reason');
});

test('a batch refused whole names every line; the unlisted rest is counted too', async () => {
  const s = await standin();
  const p = pipeline(v3Config(s.url, { BATCH_MAX_LINES: '150' }));
  // 150 lines with no fields at all: all refused, the body lists 100.
  const input = Array.from({ length: 150 }, (_, i) => `spans,tenant_id=a ${T0 + BigInt(i)}`);
  assert.equal(p.writer.offer(input), true);
  assert.equal(await drained(p), 0);
  const [f] = p.log.failed;
  assert.equal(f?.reason, 'write of line protocol failed');
  assert.equal(f?.rejected, 150);
  assert.equal(f?.refused.reduce((n, r) => n + r.lines, 0), 150, 'every refused line is under some reason');
  assert.deepEqual(p.log.written, []);
});

test('the column limit refuses the lines that would pass it, with a reason; the others are stored', async () => {
  const s = await standin({ columnLimit: 6 });
  const p = pipeline(v3Config(s.url));
  // tenant_id + duration_ns + attr_0..attr_7: past 6 columns from the 5th attribute on.
  const input = Array.from({ length: 8 }, (_, i) => line('spans', 'tenant_id=a', `duration_ns=${i}i,attr_${i}="v"`, i));
  assert.equal(p.writer.offer(input), true);
  assert.equal(await drained(p), 0);
  assert.equal(s.columns(DB, 'spans').size, 6);
  assert.equal(s.rows(DB).length, 4);
  const [f] = p.log.failed;
  assert.deepEqual(f?.refused.map((r) => [r.reason, r.lines]), [['Update to schema would exceed number of columns per table limit of N columns', 4]]);
});

test('429 and 503 with Retry-After are honoured; 500 and 401 are retried; the data lands once', async () => {
  const s = await standin();
  s.failNext(429, { retryAfter: '1' });
  s.failNext(503, { retryAfter: '1' });
  s.failNext(500);
  const p = pipeline(v3Config(s.url));
  const started = Date.now();
  assert.equal(p.writer.offer([line('spans', 'tenant_id=a', 'duration_ns=1i', 1)]), true);
  assert.equal(await drained(p), 0);
  assert.ok(Date.now() - started >= 2000, 'two Retry-After: 1 waits');
  assert.deepEqual(p.log.retries.map((r) => r.status), [429, 503, 500]);
  assert.equal(s.rows(DB).length, 1);

  // A rotated token: 401 holds the data until the token works again.
  s.setToken('rotated');
  const q = pipeline(v3Config(s.url));
  assert.equal(q.writer.offer([line('spans', 'tenant_id=a', 'duration_ns=2i', 2)]), true);
  setTimeout(() => s.setToken(TOKEN), 400);
  assert.equal(await drained(q), 0);
  assert.ok(q.log.retries.some((r) => r.status === 401));
  assert.equal(s.rows(DB).length, 2);
});

test('413: the batch is split until the parts fit; a single line over the limit is refused with a reason', async () => {
  const s = await standin({ maxBodyBytes: 200 });
  const p = pipeline(v3Config(s.url));
  const small = Array.from({ length: 10 }, (_, i) => line('spans', 'tenant_id=a', `duration_ns=${i}i`, i));
  const huge = line('spans', 'tenant_id=a', `duration_ns=99i,name="${'x'.repeat(300)}"`, 99);
  assert.equal(p.writer.offer([...small.slice(0, 5), huge, ...small.slice(5)]), true);
  assert.equal(await drained(p), 0);
  assert.equal(s.rows(DB).length, 10, 'every line that fits is stored');
  const [f] = p.log.failed;
  assert.equal(f?.rejected, 1);
  assert.deepEqual(f?.refused.map((r) => [r.reason, r.lines]), [[TOO_LARGE_REASON, 1]]);
});

test('a 413 split that meets a retryable status resumes after the parts already written', async () => {
  const s = await standin({ maxBodyBytes: 120 });
  const p = pipeline(v3Config(s.url));
  const input = Array.from({ length: 6 }, (_, i) => line('spans', 'tenant_id=a', `duration_ns=${i}i`, i));
  // The whole batch (413), its first half (413), its first quarter (ok)... then a 503 mid-way.
  s.failNext(503, { retryAfter: '0', afterWrites: 1 });
  assert.equal(p.writer.offer(input), true);
  assert.equal(await drained(p), 0);
  assert.equal(s.rows(DB).length, 6, 'each line stored once');
  assert.deepEqual(p.log.retries.map((r) => r.status), [503]);
  assert.deepEqual(p.log.failed, []);
});

test('drill-down queries on v3: one statement per GET /query, parameters in the URL, Bearer token', async () => {
  const s = await standin();
  const config = v3Config(s.url).influx!;
  const results = await runInfluxQL(config, `SELECT "a" FROM "spans" WHERE "name" = 'x;y'; SELECT "b" FROM "logs"`);
  assert.equal(results.length, 2);
  assert.deepEqual(
    s.queries.map((q) => [q.method, q.url.searchParams.get('q'), q.url.searchParams.get('db'), q.url.searchParams.get('epoch'), q.authorization]),
    [
      ['GET', `SELECT "a" FROM "spans" WHERE "name" = 'x;y'`, DB, 'u', `Bearer ${TOKEN}`],
      ['GET', 'SELECT "b" FROM "logs"', DB, 'u', `Bearer ${TOKEN}`],
    ],
  );
});
