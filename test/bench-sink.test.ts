import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InfluxDB } from '@influxdata/influxdb-client';
import { buildFixtures } from '../harness/fixtures.ts';
import { createIdiomaticPipeline } from '../harness/idiomatic-pipeline.ts';
import { countLinesStartingWith, startSink } from '../harness/sink.ts';

/**
 * The bench's loopback sink counts what a gateway delivered: lines, and lines of the `spans`
 * measurement (one per span), on both write APIs, gzipped or not. `bench/e2e.ts` divides the
 * gateway's CPU time by that spans count, so a miscount would skew every CPU-per-span figure.
 */

test('countLinesStartingWith counts lines by measurement prefix, not substrings or partial prefixes', () => {
  const prefix = Buffer.from('spans,');
  const body = Buffer.from('spans,a=1 f=1i 1\nbackend_api_latency,x=spans, f=1i 2\n\nspans,b=2 f=2i 3\nspans f=1i 4\nspan');
  assert.equal(countLinesStartingWith(body, prefix), 2);
  assert.equal(countLinesStartingWith(Buffer.from('spans,'), prefix), 1);
  assert.equal(countLinesStartingWith(Buffer.from('spans'), prefix), 0);
  assert.equal(countLinesStartingWith(Buffer.alloc(0), prefix), 0);
  const either = [Buffer.from('trace_index,'), Buffer.from('latency_rollup,')];
  assert.equal(countLinesStartingWith(Buffer.from('trace_index,s=1 f=1i 1\nspans,a=1 f=1i 1\nlatency_rollup,t=a f=1i 2\ntrace_indexx,s=1 f=1i 1'), either), 2);
});

test('the sink counts lines and spans on /write and /api/v2/write, gzipped or not; the official client writes to it', async () => {
  const sink = await startSink();
  try {
    const lines = 'spans,t=a f=1i 1\nfrontend_performance,t=a f=1i 1\nspans,t=b f=2i 2\ntrace_index,shard=1 trace_ids="x" 3\n';
    const post = async (path: string, body: Buffer, gzip: boolean): Promise<number> => {
      const res = await fetch(`${sink.url}${path}`, { method: 'POST', headers: gzip ? { 'content-encoding': 'gzip' } : {}, body: gzip ? gzipSync(body) : body });
      return res.status;
    };
    assert.equal(await post('/write?db=bench', Buffer.from(lines), false), 204);
    assert.equal(await post('/api/v2/write?org=o&bucket=b', Buffer.from(lines), true), 204);
    assert.deepEqual({ lines: sink.counts().lines, spans: sink.counts().spans, own: sink.counts().own, requests: sink.counts().requests }, { lines: 8, spans: 4, own: 2, requests: 2 });

    // The idiomatic baseline's path: our mapping → the client's Points → WriteApi (gzip on, its default).
    sink.reset();
    const fixture = buildFixtures(2, 100);
    const points = fixture.protobuf.flatMap((body) => createIdiomaticPipeline()(body, 'protobuf', 'acme'));
    const writeApi = new InfluxDB({ url: sink.url, token: 't' }).getWriteApi('o', 'b', 'ns', { batchSize: 150 });
    writeApi.writePoints(points);
    await writeApi.close();
    // close() can resolve while a batch the client retries (a reset connection on a loaded machine) is still on its way.
    for (const deadline = Date.now() + 10_000; sink.counts().lines < points.length && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sink.counts().lines, points.length);
    assert.equal(sink.counts().spans, 200, 'one spans line per span of the 2 × 100-span requests');
    assert.ok(sink.counts().requests >= 2, 'batched into several writes');
    assert.equal(sink.counts().bad, 0);
  } finally {
    await sink.close();
  }
});
