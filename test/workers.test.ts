import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, request } from 'node:http';
import { assertExactlyOnce, storedSpanIds, waitDrained } from './support/delivery.ts';
import { startGateway } from '../harness/gateway.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';

let influx: Influxd;
const dirs: string[] = [];
before(async () => {
  influx = await startInfluxd();
});
after(async () => {
  await influx?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function post(url: string, service: string, n: number, agent: Agent): Promise<string[]> {
  // Microsecond clock readings, like every JavaScript SDK's: two workers must not let spans from
  // different requests overwrite each other when their microseconds coincide.
  const micros = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
  const spans = Array.from({ length: n }, () => ({
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    name: 'op',
    kind: 2,
    startTimeUnixNano: String(micros()),
    endTimeUnixNano: String(micros() + 1_000_000n),
  }));
  const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] });
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${url}/v1/traces`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-tenant-id': 'acme' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(status, 200);
  return spans.map((s) => s.spanId);
}

test('WORKERS=2: two gateways share the port, /metrics sums both, a killed worker is replaced, SIGTERM drains every worker', async () => {
  const spool = mkdtempSync(join(tmpdir(), 'tl-workers-spool-'));
  dirs.push(spool);
  const gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', WORKERS: '2', SPOOL_DIR: spool });
  const service = `workers-${randomBytes(2).toString('hex')}`;
  // Many connections, so the primary's round-robin hands some to each worker.
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const acked: string[] = [];
  try {
    const deadline = Date.now() + 10_000;
    while (gw.logs().filter((l) => typeof l.msg === 'string' && l.msg.includes('listening')).length < 2) {
      assert.ok(Date.now() < deadline, 'both workers listen');
      await new Promise((r) => setTimeout(r, 50));
    }
    const workers = new Set(gw.logs().filter((l) => typeof l.msg === 'string' && l.msg.includes('listening')).map((l) => l.worker));
    assert.deepEqual([...workers].sort(), [0, 1]);

    for (let round = 0; round < 5; round++) (await Promise.all(Array.from({ length: 16 }, () => post(gw.url, service, 10, agent)))).forEach((ids) => acked.push(...ids));
    await waitDrained(gw);
    // Summed over both workers, whichever one answers the scrape.
    for (let i = 0; i < 4; i++) assert.equal(await gw.metric('tenantlens_spans_accepted_total', { signal: 'traces' }), acked.length);
    assert.deepEqual(readdirSync(spool).sort(), ['worker-0', 'worker-1'], 'one spool per worker');

    const pid = gw.logs().find((l) => l.worker === 1 && typeof l.msg === 'string' && l.msg.includes('listening'))?.pid as number;
    process.kill(pid, 'SIGKILL');
    const until = Date.now() + 15_000;
    while (gw.logs().filter((l) => l.worker === 1 && typeof l.msg === 'string' && l.msg.includes('listening')).length < 2) {
      assert.ok(Date.now() < until, 'the killed worker is replaced');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(gw.logs().some((l) => typeof l.msg === 'string' && l.msg.startsWith('worker 1 died')));
    for (let round = 0; round < 3; round++) (await Promise.all(Array.from({ length: 16 }, () => post(gw.url, service, 10, agent)))).forEach((ids) => acked.push(...ids));
  } finally {
    agent.destroy();
  }
  gw.proc.child.kill('SIGTERM');
  assert.equal(await gw.waitExit(), 0, 'the primary exits 0 once every worker drained');
  const stored = await storedSpanIds(influx, service);
  assertExactlyOnce(stored, acked, 'workers');
  assert.equal(stored.length, acked.length);
});
