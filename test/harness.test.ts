import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireBinary } from '../harness/binaries.ts';
import { parseInfluxJson, startInfluxd } from '../harness/influxd.ts';
import { freePort } from '../harness/ports.ts';
import { parsePrometheusText, sumSamples } from '../harness/prometheus.ts';
import { startVictoriaMetrics } from './support/victoria-metrics.ts';

test('freePort returns a bindable TCP port', async () => {
  const port = await freePort();
  assert.ok(Number.isInteger(port) && port > 0 && port < 65536);
});

test('requireBinary explains how to install a missing binary', () => {
  assert.throws(() => requireBinary('/nonexistent/influxd', 'influxdb'), {
    message: 'influxd not found at /nonexistent/influxd. Install it with: sudo apt-get update && sudo apt-get install -y influxdb',
  });
  requireBinary('/usr/bin/influxd', 'influxdb');
});

test('parseInfluxJson keeps 19-digit times exact and leaves everything else alone', () => {
  // 1700000000123456789 and ...790 collapse to the same double under a plain JSON.parse.
  assert.equal(JSON.parse('[1700000000123456789]')[0], JSON.parse('[1700000000123456790]')[0]);
  const raw =
    '{"results":[{"statement_id":0,"series":[' +
    '{"name":"m","columns":["time","tag","v"],"values":[[1700000000123456789,"[1234567890123456789,",12345678901234567],[-5,"x",1.5],[7]]},' +
    '{"name":"shards","columns":["id","database"],"values":[[42,"db"],[9007199254740993,"db"]]},' +
    '{"name":"s","columns":["key"],"values":[["42"]]}]}]}';
  const series = parseInfluxJson(raw).results?.[0]?.series;
  assert.deepEqual(series?.[0]?.values, [
    // eslint-disable-next-line no-loss-of-precision -- the parser must give the same (lossy) number JSON.parse would
    ['1700000000123456789', '[1234567890123456789,', 12345678901234567],
    ['-5', 'x', 1.5],
    ['7'],
  ]);
  // eslint-disable-next-line no-loss-of-precision -- as above
  assert.deepEqual(series?.[1]?.values, [[42, 'db'], [9007199254740993, 'db']]); // non-time first column: numbers as usual
  assert.deepEqual(series?.[2]?.values, [['42']]); // a real string stays a string
  assert.deepEqual(parseInfluxJson('{"error":"boom"}'), { error: 'boom' });
});

test('influxd: exact ns timestamps, outage and restart keep the data', async () => {
  const influx = await startInfluxd();
  try {
    const write = await fetch(`${influx.url}/write?db=tenantlens&precision=ns`, {
      method: 'POST',
      body: 'cpu,tenant_id=acme value=1 1700000000123456789\ncpu,tenant_id=acme value=2 1700000000123456790\n',
    });
    assert.equal(write.status, 204, await write.text());

    const expected = [
      { name: 'cpu', columns: ['time', 'tenant_id', 'value'], values: [['1700000000123456789', 'acme', 1], ['1700000000123456790', 'acme', 2]] },
    ];
    assert.deepEqual(await influx.query('SELECT * FROM cpu'), expected);
    assert.deepEqual(await influx.query('SELECT * FROM nothing_here'), []);
    await assert.rejects(influx.query('SELEC oops'), /influxd query failed: error parsing query/);
    await assert.rejects(influx.query('SELECT * FROM cpu', 'no_such_db'), /database not found: no_such_db/);

    await influx.stop();
    await influx.stop(); // idempotent
    await assert.rejects(fetch(`${influx.url}/ping`), TypeError);

    await influx.restart();
    assert.deepEqual(await influx.query('SELECT * FROM cpu'), expected);
  } finally {
    await influx.close();
  }
});

test('victoria-metrics: line protocol in, labelled series out', async () => {
  const vm = await startVictoriaMetrics();
  try {
    const ms = Date.now(); // must be inside the retention window and not in the future
    const ns = BigInt(ms) * 1_000_000n + 123_456n;
    const write = await fetch(`${vm.url}/api/v2/write?bucket=x&org=y`, { method: 'POST', body: `m,tenant_id=acme f=3 ${ns}\n` });
    assert.equal(write.status, 204, await write.text());

    await vm.forceFlush();
    assert.deepEqual(await vm.exportSeries('{__name__="m_f"}'), [
      { metric: { __name__: 'm_f', tenant_id: 'acme' }, values: [3], timestamps: [ms] },
    ]);
    assert.deepEqual(await vm.exportSeries('{__name__="absent"}'), []);
  } finally {
    await vm.close();
  }
});

test('parsePrometheusText/sumSamples: escapes, special values, timestamps; sums by label subset', () => {
  const text = [
    '# HELP tenantlens_spans_received_total Spans received.',
    '# TYPE tenantlens_spans_received_total counter',
    'tenantlens_spans_received_total{signal="traces"} 12',
    'tenantlens_spans_received_total{signal="beacon"} 3 1700000000000',
    'odd{path="a\\"b\\\\c\\nd",le="+Inf"} +Inf',
    'nan_gauge NaN',
    'neg{x="1"} -2.5e-3',
    '',
  ].join('\n');
  const { types, samples } = parsePrometheusText(text);
  assert.equal(types.get('tenantlens_spans_received_total'), 'counter');
  assert.equal(sumSamples(samples, 'tenantlens_spans_received_total'), 15);
  assert.equal(sumSamples(samples, 'tenantlens_spans_received_total', { signal: 'beacon' }), 3);
  assert.equal(sumSamples(samples, 'tenantlens_spans_received_total', { signal: 'logs' }), 0);
  assert.deepEqual(samples[2], { name: 'odd', labels: { path: 'a"b\\c\nd', le: '+Inf' }, value: Infinity });
  assert.ok(Number.isNaN(samples[3]?.value));
  assert.equal(samples[4]?.value, -0.0025);
  assert.throws(() => parsePrometheusText('not a sample line at all'), /unparsable metrics line/);
});
