import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadConfig } from '../gateway/src/config.ts';
import { createV3Transport } from '../gateway/src/influx/v3-transport.ts';
import { createLineWriter } from '../gateway/src/influx/writer.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import { ALERT_STATE, type AlertStateRecord } from '../gateway/src/schema/alert-state.ts';
import { createInfluxStore } from '../gateway/src/store/influx-store.ts';
import { startInfluxDB3Standin, type InfluxDB3Standin } from './support/influxdb3-standin.ts';
import { recordWriterEvents } from './support/writer-events.ts';

/**
 * The alert state on InfluxDB 3, against the stand-in built from its documented API (there is no
 * InfluxDB 3 server here; test/alert-restart.test.ts runs the same path on a real influxd 1.6.7):
 * written through the store's own writer to /api/v3/write_lp, the table's column types and tag set
 * as declared, and the start-up read sent as one InfluxQL statement per request on /query.
 */
const TOKEN = 'v3-alert-state-token';
const DB = 'tenantlens';
const T0 = Date.UTC(2026, 11, 3, 12);
const standins: InfluxDB3Standin[] = [];
after(async () => {
  await Promise.all(standins.map((s) => s.close()));
});

const record = (over: Partial<AlertStateRecord>): AlertStateRecord => ({
  tenant: 'globex',
  kind: 'endpoint',
  value: '/api/report',
  state: 'firing',
  sinceMs: T0,
  windowStartMs: T0 - 60_000,
  lastAtMs: T0,
  baselineMs: 400,
  thresholdMs: 600,
  p99Ms: 900,
  count: 50,
  firedP99Ms: 900,
  peakP99Ms: 900,
  recoveries: 0,
  notified: false,
  updatedMs: T0,
  ...over,
});

test('InfluxDB 3 (stand-in): the state is written through the writer with the declared types and a fixed tag set; the start-up read is one statement', async () => {
  // fixedTagSet: the compatibility endpoints' rule, the strictest; the state's tags never change.
  const s = await startInfluxDB3Standin({ token: TOKEN, fixedTagSet: true });
  standins.push(s);
  const config = loadConfig({ INFLUX_URL: s.url, INFLUX_API_VERSION: '3', INFLUX_TOKEN: TOKEN, INFLUX_BUCKET: DB, TENANT_AUTH: 'header', FLUSH_INTERVAL_MILLIS: '20' });
  const influx = config.influx!;
  const transport = createV3Transport(influx);
  const { events, log } = recordWriterEvents();
  const writer = createLineWriter({ transport, buffer: config.buffer, events });
  const store = createInfluxStore({ config: influx, rules: DEFAULT_RULES, writer, transport });

  const written = [
    record({}),
    record({ tenant: 'acme', kind: 'view_name', value: '', state: 'resolved', resolvedAtMs: T0 + 120_000, recoveries: 2, notified: true, updatedMs: T0 + 120_000 }),
  ];
  assert.deepEqual(await store.alertState.save(written), { kind: 'success' });
  assert.equal(await store.sink.drain(Date.now() + 5000), 0);
  assert.deepEqual(log.failed, [], 'no line refused');

  const rows = s.rows(DB).filter((r) => r.table === ALERT_STATE.name);
  assert.deepEqual(rows.map((r) => [r.tags.tenant_id, r.tags.dimension, r.tags.dimension_value, r.fields.state]), [
    ['globex', 'endpoint', '/api/report', 'firing'],
    ['acme', 'view_name', undefined, 'resolved'],
  ]);
  const columns = s.columns(DB, ALERT_STATE.name);
  for (const t of ALERT_STATE.tags) assert.equal(columns.get(t), 'tag', t);
  for (const f of ALERT_STATE.fields) assert.equal(columns.get(f.name), f.type, f.name);
  assert.equal(columns.size, ALERT_STATE.tags.length + ALERT_STATE.fields.length, 'no other column');

  // The start-up read: the stand-in answers an empty result (it stores but does not evaluate InfluxQL).
  assert.deepEqual(await store.alertState.load(T0 - 3_600_000), []);
  const q = s.queries.at(-1);
  assert.equal(q?.method, 'GET');
  assert.equal(q?.url.pathname, '/query');
  assert.equal(q?.url.searchParams.get('db'), DB);
  assert.equal(q?.url.searchParams.get('q'), `SELECT * FROM "${ALERT_STATE.name}" WHERE time >= ${BigInt(T0 - 3_600_000) * 1_000_000n}`);
  await store.sink.close();
});
