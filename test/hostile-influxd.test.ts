import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../gateway/src/otlp/proto.ts';
import { startGateway, type Gateway } from '../harness/gateway.ts';
import { seriesRows, startInfluxd, waitForRows, type Influxd } from '../harness/influxd.ts';
import { decodeOverflow } from '../gateway/src/mapping/overflow-json.ts';
import { storedFieldKey, storedTag } from './support/stored-escaping.ts';

/**
 * An attribute of a stored `spans` row: its field, or, past the column budget (new keys whose
 * reservation had not come back yet: docs/data-model.md "A column budget"), the `attributes` JSON.
 */
function attribute(row: Record<string, unknown> | undefined, key: string): unknown {
  const field = row?.[storedFieldKey(key)];
  if (field !== undefined && field !== null) return field;
  const json = typeof row?.attributes === 'string' ? decodeOverflow(row.attributes) : undefined;
  return json?.[key];
}

/**
 * Issue #7, hostile input, against a real gateway process and a real influxd 1.6: line-protocol
 * injection through every tag and field the mapping writes, timestamps at and past InfluxDB's
 * range, attribute limits, non-UTF-8 strings and absurd nesting. Each test reads back what influxd
 * stored, so "accepted" means "stored as documented", never just "answered 200".
 */

const BS = '\\';
const BASE_NS = BigInt(Math.floor(Date.now() / 1000) - 900) * 1_000_000_000n;
/** InfluxDB's last nanosecond: 2262-04-11T23:47:16.854775806Z. */
const MAX_NS = 9_223_372_036_854_775_806n;

let influx: Influxd;
let gw: Gateway;

before(async () => {
  influx = await startInfluxd();
  gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', INSTANCE_NAME: 'gw-hostile', MAX_BODY_BYTES: String(8 * 1024 * 1024) });
});

after(async () => {
  await gw?.stop();
  await influx?.close();
});

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });

function traces(spans: Array<Record<string, unknown>>, resource: unknown[] = [kv('service.name', 'hostile')]): string {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ scope: { name: 'hostile' }, spans }] }] });
}

function span(start: bigint, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { traceId: hex(16), spanId: hex(8), name: 'op', kind: 2, startTimeUnixNano: start.toString(), endTimeUnixNano: (start + 2_000_000n).toString(), ...extra };
}

async function post(tenant: string, body: string | Uint8Array, type = 'application/json', path = '/v1/traces'): Promise<Response> {
  return fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': type, 'x-tenant-id': tenant }, body, signal: AbortSignal.timeout(30_000) });
}

async function tenants(): Promise<string[]> {
  // One series per measurement: the same tenant comes back once for each.
  return [...new Set(seriesRows(await influx.query('SHOW TAG VALUES WITH KEY = "tenant_id"')).map((r) => String(r.value)))].sort();
}


describe('line-protocol injection through attribute keys and values', () => {
  // Each would add a point, a tag or another tenant if it reached the line unescaped.
  const NASTY = [
    'x\nfrontend_performance,tenant_id=evil duration_ms=1i 1',
    'x tenant_id=evil',
    'x,tenant_id=evil',
    'x=1,tenant_id=evil',
    'x" ,tenant_id="evil',
    `x${BS}`,
    `x${BS}${BS}`,
    `x${BS} y`,
    `x${BS},y`,
    `x${BS}=y`,
    `x${BS}"y`,
    `x${BS}\ny`,
    'x\r\n\ty',
    "x'; DROP MEASUREMENT spans; --",
    'x "quoted" \'single\'',
    `x ${BS}n not a newline`,
  ];

  test('one point per span per measurement, exactly the mapped tag keys, values stored as documented, no other tenant', async () => {
    const spans = NASTY.map((v, i) =>
      span(BASE_NS + BigInt(i) * 1_000_000n, {
        name: v,
        attributes: [
          kv('view_name', v),
          kv('session.id', v),
          kv('action_name', v),
          kv('http.request.method', v),
          kv('http.response.status_code', v),
          kv('case', String(i)),
          kv(v, v), // the key as a field key of `spans`, the value as a string field
          kv('tenant_id', 'evil'),
        ],
      }),
    );
    const res = await post('inj', traces(spans, [kv('service.name', 'svc x,tenant_id=evil\n')]));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {}, 'nothing refused, nothing cut');

    const n = NASTY.length;
    const fe = await waitForRows(influx, `SELECT * FROM frontend_performance WHERE tenant_id = 'inj'`, n);
    const be = await waitForRows(influx, `SELECT * FROM backend_api_latency WHERE tenant_id = 'inj'`, n);
    const sp = await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'inj'`, n);
    await new Promise((r) => setTimeout(r, 300));
    for (const [m, want] of [
      ['frontend_performance', fe],
      ['backend_api_latency', be],
      ['spans', sp],
    ] as const) {
      const all = seriesRows(await influx.query(`SELECT * FROM ${m}`));
      assert.equal(all.length, n, `${m}: exactly one point per span, and nothing else`);
      assert.equal(want.length, n);
    }
    // The gateway's own per-minute rollups (data-model.md) appear once the spans' minute closes, a few
    // seconds on; the trace and session index (data-model.md) keeps ids in fields there too; and the
    // column budget's claim log.
    const measurements = (await influx.query('SHOW MEASUREMENTS'))[0]?.values.map((v) => v[0]).filter((m) => m !== 'latency_rollup');
    assert.deepEqual(measurements?.sort(), ['backend_api_latency', 'frontend_performance', 'session_index', 'spans', 'tenantlens_column_claims', 'trace_index']);
    assert.deepEqual(await tenants(), ['inj'], 'no value created another tenant');
    const tagKeys = async (m: string): Promise<string[]> => (await influx.query(`SHOW TAG KEYS FROM ${m}`))[0]?.values.map((v) => String(v[0])).sort() ?? [];
    assert.deepEqual(await tagKeys('frontend_performance'), ['action_name', 'service_name', 'session_id', 'tenant_id', 'view_name']);
    assert.deepEqual(await tagKeys('backend_api_latency'), ['endpoint', 'http_method', 'service_name', 'status_code', 'tenant_id']);
    assert.deepEqual(await tagKeys('spans'), ['service_name', 'span_kind', 'tenant_id']);
    for (const m of ['trace_index', 'session_index']) assert.deepEqual(await tagKeys(m), ['shard', 'tenant_id']);

    const svc = storedTag('svc x,tenant_id=evil\n');
    const byId = (rows: Array<Record<string, unknown>>) => new Map(rows.map((r) => [String(r.span_id), r]));
    const [feById, beById, spById] = [byId(fe), byId(be), byId(sp)];
    spans.forEach((s, i) => {
      const raw = NASTY[i] as string;
      const tag = storedTag(raw);
      const what = `case ${i}: ${JSON.stringify(raw)}`;
      const f = feById.get(String(s.spanId));
      assert.deepEqual([f?.view_name, f?.session_id, f?.action_name, f?.service_name, f?.tenant_id], [tag, tag, tag, svc, 'inj'], `frontend tags, ${what}`);
      const b = beById.get(String(s.spanId));
      assert.deepEqual([b?.endpoint, b?.http_method, b?.status_code, b?.service_name], [tag, tag, tag, svc], `backend tags, ${what}`);
      const p = spById.get(String(s.spanId));
      assert.equal(p?.name, raw, `span name field exact, ${what}`);
      assert.equal(attribute(p, raw), raw, `attribute key and string value, ${what}`);
      assert.equal(p?.case, String(i));
      assert.equal(p?.tenant_id, 'inj');
    });
    assert.equal(await gw.metric('tenantlens_lines_rejected_total'), 0);
  });
});

describe('timestamps at and past InfluxDB’s range', () => {
  test('spans: 1970 and the last nanosecond of 2262 are stored exactly; 0, past 2262 and fixed64 max are refused alone', async () => {
    const ok1970 = span(1n);
    const okMax = span(MAX_NS - 5_000_000n, { endTimeUnixNano: MAX_NS.toString() });
    const body = ExportTraceServiceRequest.encode({
      resourceSpans: [
        {
          resource: { attributes: [kv('service.name', 'time')] },
          scopeSpans: [
            {
              spans: [ok1970, okMax, span(0n), span(MAX_NS, { endTimeUnixNano: (MAX_NS + 1n).toString() }), span(MAX_NS + 1n), span(2n ** 64n - 2n, { endTimeUnixNano: (2n ** 64n - 1n).toString() })].map((s) => ({
                traceId: Buffer.from(String(s.traceId), 'hex'),
                spanId: Buffer.from(String(s.spanId), 'hex'),
                name: 'time',
                kind: 1,
                startTimeUnixNano: String(s.startTimeUnixNano),
                endTimeUnixNano: String(s.endTimeUnixNano),
              })),
            },
          ],
        },
      ],
    }).finish();
    const res = await post('clock', body, 'application/x-protobuf');
    assert.equal(res.status, 200);
    const answer = ExportTraceServiceResponse.decode(Buffer.from(await res.arrayBuffer())) as { partialSuccess?: { rejectedSpans: { toString(): string }; errorMessage: string } };
    assert.equal(String(answer.partialSuccess?.rejectedSpans), '4');
    assert.equal(answer.partialSuccess?.errorMessage, '1 span(s): missing start_time_unix_nano; 3 span(s): timestamp out of range (InfluxDB stores up to 2262-04-11T23:47:16.854775806Z)');

    const rows = await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'clock'`, 2);
    await new Promise((r) => setTimeout(r, 300));
    const again = seriesRows(await influx.query(`SELECT * FROM spans WHERE tenant_id = 'clock'`));
    assert.deepEqual(
      again.map((r) => [r.time, r.span_id, r.duration_ns]).sort(),
      [
        ['1', ok1970.spanId, 2_000_000],
        [String(MAX_NS - 5_000_000n), okMax.spanId, 5_000_000],
      ].sort(),
      `exactly the two in-range spans, at their exact times (${rows.length} rows)`,
    );
    assert.equal(await gw.metric('tenantlens_lines_rejected_total'), 0, 'influxd refused nothing');
    assert.ok((await gw.metric('tenantlens_spans_rejected_total', { reason: 'timestamp out of range (InfluxDB stores up to 2262-04-11T23:47:16.854775806Z)' })) >= 3);
  });

  test('metrics and logs: past 2262 refused alone, the last nanosecond stored', async () => {
    const metrics = JSON.stringify({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'clock_gauge',
                  gauge: {
                    dataPoints: [
                      { timeUnixNano: MAX_NS.toString(), asDouble: 1 },
                      { timeUnixNano: (MAX_NS + 1n).toString(), asDouble: 2 },
                      { timeUnixNano: '18446744073709551615', asDouble: 3 },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const m = await post('clock2', metrics, 'application/json', '/v1/metrics');
    assert.deepEqual(await m.json(), { partialSuccess: { rejectedDataPoints: '2', errorMessage: '2 data point(s): timestamp out of range (InfluxDB stores up to 2262-04-11T23:47:16.854775806Z)' } });
    const logs = JSON.stringify({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: MAX_NS.toString(), body: { stringValue: 'last' } }, { observedTimeUnixNano: (MAX_NS + 1n).toString(), body: { stringValue: 'too late' } }] }] }],
    });
    const l = await post('clock2', logs, 'application/json', '/v1/logs');
    assert.deepEqual(await l.json(), { partialSuccess: { rejectedLogRecords: '1', errorMessage: '1 log record(s): timestamp out of range (InfluxDB stores up to 2262-04-11T23:47:16.854775806Z)' } });
    assert.deepEqual((await waitForRows(influx, `SELECT gauge FROM clock_gauge`, 1)).map((r) => [r.time, r.gauge]), [[MAX_NS.toString(), 1]]);
    assert.deepEqual((await waitForRows(influx, `SELECT body FROM logs WHERE tenant_id = 'clock2'`, 1)).map((r) => [r.time, r.body]), [[MAX_NS.toString(), 'last']]);
  });
});

describe('attribute limits, over real HTTP', () => {
  test('300 attributes, a 100 000-character value, a 2 000-character key: capped, counted in /metrics, reported, stored capped', async () => {
    const attrs = [kv('view_name', 'Limits'), ...Array.from({ length: 299 }, (_, i) => kv(`a${String(i).padStart(3, '0')}`, `v${i}`))];
    attrs.splice(1, 0, kv('k'.repeat(2000), 'long key'), kv('big', 'é'.repeat(100_000)));
    const s = span(BASE_NS + 900_000_000n, { attributes: attrs, kind: 1 });
    const dropped0 = await gw.metric('tenantlens_attributes_dropped_total', { signal: 'traces' });
    const truncated0 = await gw.metric('tenantlens_attribute_values_truncated_total', { signal: 'traces' });
    const res = await post('limits', traces([s]));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      partialSuccess: {
        rejectedSpans: '0',
        errorMessage: '175 attribute(s) dropped (over ATTRIBUTE_COUNT_LIMIT=128 or a key over 1024 characters); 1 attribute value(s) truncated to ATTRIBUTE_VALUE_LENGTH_LIMIT=16384 characters',
      },
    });
    assert.equal((await gw.metric('tenantlens_attributes_dropped_total', { signal: 'traces' })) - dropped0, 175, '302 - 128 past the limit, plus the long key among the first 128');
    assert.equal((await gw.metric('tenantlens_attribute_values_truncated_total', { signal: 'traces' })) - truncated0, 1);
    const [row] = await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'limits'`, 1);
    assert.ok(row !== undefined);
    assert.equal(attribute(row, 'big'), 'é'.repeat(16_384), 'truncated to the limit, in characters');
    assert.equal(attribute(row, 'a000'), 'v0');
    assert.equal(attribute(row, 'a124'), 'v124', 'the 128th attribute (view_name, the long key, big, a000…a124) is kept');
    assert.equal(attribute(row, 'a125'), undefined, 'the 129th is dropped');
    assert.equal(attribute(row, 'k'.repeat(2000)), undefined);
  });

  test('a tag value that would pass InfluxDB’s 64 KiB series key refuses its span alone, not the batch', async () => {
    // 12 000 '€' are under the 16 384-character value limit but 36 000 UTF-8 bytes: three such tags
    // make a 108 KB series key.
    const euros = '€'.repeat(12_000);
    const long = span(BASE_NS + 901_000_000n, { attributes: [kv('view_name', euros), kv('session.id', euros), kv('action_name', euros)] });
    const fine = span(BASE_NS + 902_000_000n, { attributes: [kv('view_name', 'V')] });
    const res = await post('serieskey', traces([long, fine]));
    assert.deepEqual(await res.json(), { partialSuccess: { rejectedSpans: '1', errorMessage: "1 span(s): tags too long (series key over InfluxDB's 64 KiB limit)" } });
    const rows = await waitForRows(influx, `SELECT * FROM frontend_performance WHERE tenant_id = 'serieskey'`, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(seriesRows(await influx.query(`SELECT span_id FROM spans, frontend_performance, backend_api_latency WHERE tenant_id = 'serieskey'`)).map((r) => r.span_id), [fine.spanId, fine.spanId, fine.spanId]);
    assert.equal(rows.length, 1);
    assert.equal(await gw.metric('tenantlens_lines_rejected_total'), 0);
  });
});

describe('non-UTF-8 strings', () => {
  test('invalid UTF-8 bytes (protobuf, JSON) and lone surrogates (JSON escapes) are stored as U+FFFD in tags and fields', async () => {
    const bad = Buffer.from([0x78, 0xff, 0x79, 0xc3, 0x28]); // x, invalid, y, truncated 2-byte sequence, (
    const want = 'x\uFFFDy\uFFFD(';
    const id = (n: number): Buffer => randomBytes(n);
    const pb = Buffer.from(
      ExportTraceServiceRequest.encode({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: id(16), spanId: Buffer.from('0102030405060708', 'hex'), name: 'PLACE', kind: 1, startTimeUnixNano: String(BASE_NS + 1n), endTimeUnixNano: String(BASE_NS + 2n), attributes: [kv('view_name', 'PLACE'), kv('note', 'PLACE')] }] }] }],
      }).finish(),
    );
    // 'PLACE' and the invalid bytes are both 5 bytes: swap them in place, lengths unchanged.
    let at = pb.indexOf('PLACE');
    while (at !== -1) {
      bad.copy(pb, at);
      at = pb.indexOf('PLACE');
    }
    assert.equal((await post('utf8', pb, 'application/x-protobuf')).status, 200);
    const json = Buffer.concat([
      Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${hex(16)}","spanId":"0a0b0c0d0e0f0102","kind":1,"startTimeUnixNano":"${BASE_NS + 3n}","endTimeUnixNano":"${BASE_NS + 4n}","name":"`),
      bad,
      Buffer.from(String.raw`","attributes":[{"key":"view_name","value":{"stringValue":"a\ud800b\udc00c\ud83d\ude00"}},{"key":"note\udfff","value":{"stringValue":"\ud800"}}]}]}]}]}`),
    ]);
    assert.equal((await post('utf8', json)).status, 200);

    const rows = await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'utf8'`, 2);
    const byId = new Map(rows.map((r) => [r.span_id, r]));
    assert.equal(byId.get('0102030405060708')?.name, want);
    assert.equal(byId.get('0102030405060708')?.note, want);
    assert.equal(byId.get('0a0b0c0d0e0f0102')?.name, want);
    assert.equal(byId.get('0a0b0c0d0e0f0102')?.view_name, 'a\uFFFDb\uFFFDc😀');
    assert.equal(byId.get('0a0b0c0d0e0f0102')?.['note\uFFFD'], '\uFFFD');
    const views = seriesRows(await influx.query(`SHOW TAG VALUES FROM frontend_performance WITH KEY = "view_name" WHERE tenant_id = 'utf8'`)).map((r) => r.value);
    assert.deepEqual(views.sort(), [want, 'a\uFFFDb\uFFFDc😀'].sort(), 'the same replacement in tags');
  });
});

describe('absurd nesting and a process that keeps serving', () => {
  test('100 000-deep AnyValue (JSON kvlist, JSON arrays, protobuf arrays) is a clear 400; nothing written; the gateway still serves', async () => {
    const deepJson = (open: string, close: string): string =>
      traces([span(BASE_NS + 5n, { attributes: [{ key: 'deep', value: JSON.parse('null') as null }] })]).replace('"value":null', `"value":${open.repeat(100_000)}{"stringValue":"x"}${close.repeat(100_000)}`);
    const cases: Array<[string, string | Uint8Array, string, RegExp]> = [
      ['JSON kvlist', deepJson('{"kvlistValue":{"values":[{"key":"k","value":', '}]}}'), 'application/json', /nested at most 64 levels deep/],
      ['JSON arrayValue', deepJson('{"arrayValue":{"values":[', ']}}'), 'application/json', /nested at most 64 levels deep/],
      ['JSON bare arrays', '['.repeat(100_000) + ']'.repeat(100_000), 'application/json', /expected an object/],
    ];
    let any = Buffer.from([0x0a, 0x01, 0x78]);
    const varint = (n: number): number[] => (n < 128 ? [n] : [(n & 127) | 128, ...varint(n >>> 7)]);
    for (let i = 0; i < 100_000; i++) {
      const arr = Buffer.concat([Buffer.from([0x0a, ...varint(any.length)]), any]);
      any = Buffer.concat([Buffer.from([0x2a, ...varint(arr.length)]), arr]);
    }
    const kvBytes = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12, ...varint(any.length)]), any]);
    const spanBytes = Buffer.concat([Buffer.from([0x0a, 16]), randomBytes(16), Buffer.from([0x12, 8]), randomBytes(8), Buffer.from([0x4a, ...varint(kvBytes.length)]), kvBytes]);
    const wrap = (field: number, b: Buffer): Buffer => Buffer.concat([Buffer.from([field, ...varint(b.length)]), b]);
    cases.push(['protobuf arrayValue', wrap(0x0a, wrap(0x12, wrap(0x12, spanBytes))), 'application/x-protobuf', /nested/]);
    for (const [name, body, type, message] of cases) {
      const res = await post('deep', body, type);
      assert.equal(res.status, 400, name);
      const text = type === 'application/json' ? ((await res.json()) as { message: string }).message : Buffer.from(await res.arrayBuffer()).toString('utf8');
      assert.match(text, message, name);
    }
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    const ok = span(BASE_NS + 6n, { attributes: [kv('view_name', 'after')] });
    assert.equal((await post('deep-after', traces([ok]))).status, 200, 'a good request right after is served');
    assert.equal((await waitForRows(influx, `SELECT * FROM spans WHERE tenant_id = 'deep-after'`, 1)).length, 1);
    assert.ok(!(await tenants()).includes('deep'), 'nothing written for the refused requests');
    assert.equal(await gw.metric('tenantlens_requests_refused_total', { reason: 'TL_INTERNAL' }), 0, 'no 500s');
  });
});
