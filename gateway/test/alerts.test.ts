import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { median, trailingMedianBaseline } from '../src/alerts/baseline.ts';
import { createEvaluator } from '../src/alerts/evaluator.ts';
import { alertmanagerPayload } from '../src/alerts/alertmanager-payload.ts';
import { createNotifyQueue } from '../src/alerts/notify/queue.ts';
import { createRetryingTransport } from '../src/alerts/notify/transport.ts';
import type { DeliveryOutcome } from '../src/delivery/outcome.ts';
import { webhookPayload } from '../src/alerts/webhook-payload.ts';
import { fireThresholdMs, type AlertRules } from '../src/alerts/rules.ts';
import type { AlertView } from '../src/alerts/state.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { AlertDimension, TimeRange, WindowP99 } from '../src/query/model.ts';

const BASE_ENV = { TENANT_AUTH: 'header' };
const W = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12);

describe('baseline', () => {
  test('median: odd, even, empty', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), undefined);
  });

  test('trailing median skips windows under minSamples and needs minWindows of them', () => {
    const w = (p99: number, count = 50) => ({ p99, count });
    assert.deepEqual(trailingMedianBaseline([w(100), w(110), w(900, 3), w(120)], 20, 3), { baselineMs: 110, windows: 3 });
    assert.equal(trailingMedianBaseline([w(100), w(900, 3)], 20, 2), undefined, 'one usable window is not a baseline');
    // One outlier window does not move a median.
    assert.equal(trailingMedianBaseline([w(100), w(100), w(5000), w(100), w(100)], 1, 1)?.baselineMs, 100);
  });
});

describe('config', () => {
  test('defaults: on, 1 min interval, 5 min window, +50 % and +200 ms, 20 samples, resolve at 1.2×', () => {
    const a = loadConfig(BASE_ENV).alerts;
    assert.deepEqual(
      [a.enabled, a.only, a.intervalMillis, a.windowMillis, a.baselineWindows, a.ratio, a.floorMs, a.minSamples, a.resolveRatio, a.webhookUrl],
      [true, false, 60_000, 300_000, 12, 1.5, 200, 20, 1.2, undefined],
    );
    const b = loadConfig({ ...BASE_ENV, ALERTS_ONLY: '1', ALERT_INTERVAL: '5s', ALERT_WINDOW: '30', ALERTMANAGER_URL: 'http://am:9093/' }).alerts;
    assert.deepEqual([b.enabled, b.only, b.intervalMillis, b.windowMillis, b.alertmanagerUrl], [true, true, 5000, 30_000, 'http://am:9093']);
    assert.equal(loadConfig({ ...BASE_ENV, ALERTS: 'off' }).alerts.enabled, false);
  });

  test('bad values name the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ ALERT_INTERVAL: '1 minute' }, /^ALERT_INTERVAL: must be a duration/],
      [{ ALERT_RATIO: 'x' }, /^ALERT_RATIO:/],
      [{ ALERT_RATIO: '1.5', ALERT_RESOLVE_RATIO: '2' }, /^ALERT_RESOLVE_RATIO: must not exceed ALERT_RATIO/],
      [{ ALERTS: 'maybe' }, /^ALERTS:/],
      [{ ALERTS: 'off', ALERTS_ONLY: '1' }, /^ALERTS: cannot be off with ALERTS_ONLY=1/],
      [{ ALERT_WEBHOOK_URL: 'ftp://x' }, /^ALERT_WEBHOOK_URL: must be an http\(s\) URL/],
      [{ ALERT_BASELINE_WINDOWS: '2', ALERT_BASELINE_MIN_WINDOWS: '3' }, /^ALERT_BASELINE_MIN_WINDOWS/],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => loadConfig({ ...BASE_ENV, ...env }), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(env));
    }
  });
});

/** A store stand-in: p99/count per (tenant, dimension, value) as a function of the window start. */
type Series = (startMs: number) => { count: number; p99: number } | undefined;
function fakeStore(series: Record<string, Series>): { windowP99(range: TimeRange, bucketNs: bigint, dim: AlertDimension): Promise<WindowP99[]> } {
  return {
    async windowP99(range, bucketNs, dim) {
      const from = Number(range.fromNs / 1_000_000n);
      const to = Number(range.toNs / 1_000_000n);
      const w = Number(bucketNs / 1_000_000n);
      const out: WindowP99[] = [];
      for (const [id, f] of Object.entries(series)) {
        const [tenant, kind, value] = id.split('|') as [string, AlertDimension, string];
        if (kind !== dim) continue;
        for (let s = from; s < to; s += w) {
          const v = f(s);
          if (v !== undefined && v.count > 0) out.push({ tenant, value, startMs: s, ...v });
        }
      }
      return out;
    },
  };
}

const rules: AlertRules = {
  windowMillis: W,
  baselineWindows: 6,
  baselineMinWindows: 3,
  ratio: 1.5,
  floorMs: 200,
  minSamples: 10,
  resolveRatio: 1.2,
  fireAfter: 1,
  resolveAfter: 2,
};

describe('evaluator state machine', () => {
  test('fires for the regressed tenant and dimension only, holds between thresholds, resolves after two recovered windows', async () => {
    // globex /api/report: 400 ms normally; 900 ms from T0 to T0+3W; 560 ms (between 1.2× and the fire threshold) to T0+5W; then normal.
    const report: Series = (s) => ({ count: 50, p99: s >= T0 && s < T0 + 3 * W ? 900 : s >= T0 + 3 * W && s < T0 + 5 * W ? 560 : 400 });
    const store = fakeStore({
      'globex|endpoint|/api/report': report,
      'globex|endpoint|/api/users': () => ({ count: 50, p99: 120 }),
      'acme|endpoint|/api/report': () => ({ count: 50, p99: 300 }),
      'acme|view_name|Report': () => ({ count: 50, p99: 500 }),
      // initech: a handful of very slow requests: under minSamples, no verdict.
      'initech|endpoint|/api/report': (s) => ({ count: s >= T0 ? 4 : 40, p99: s >= T0 ? 9000 : 100 }),
    });
    const ev = createEvaluator({ queries: store, rules, dashboardUrl: 'http://dash/#dashboard' });
    assert.equal(fireThresholdMs(rules, 400), 600, 'max(400 × 1.5, 400 + 200)');
    // Evaluating at T0 + W: the current window is [T0, T0 + W).
    const first = await ev.evaluate(T0 + W);
    assert.deepEqual(first.fired.map((a) => [a.tenant, a.dimension.kind, a.dimension.value]), [['globex', 'endpoint', '/api/report']]);
    const a = first.fired[0] as AlertView;
    assert.deepEqual([a.state, a.p99Ms, a.baselineMs, a.thresholdMs, a.count, a.since], ['firing', 900, 400, 600, 50, new Date(T0 + W).toISOString()]);
    assert.deepEqual(a.drilldown, {
      from: new Date(T0).toISOString(),
      to: new Date(T0 + W).toISOString(),
      url: `http://dash/#dashboard?tenant=globex&from=${encodeURIComponent(new Date(T0).toISOString())}&to=${encodeURIComponent(new Date(T0 + W).toISOString())}`,
    });
    // Still regressed: no new transition, still firing, baseline frozen though the trailing median now includes 900s.
    for (const k of [2, 3]) {
      const r = await ev.evaluate(T0 + k * W);
      assert.deepEqual([r.fired.length, r.resolved.length, r.firing.length, r.firing[0]?.baselineMs], [0, 0, 1, 400]);
    }
    // 560 ms: below the fire threshold but above 1.2 × 400 = 480: hysteresis keeps it firing.
    for (const k of [4, 5]) assert.equal((await ev.evaluate(T0 + k * W)).firing.length, 1, `at +${k}W`);
    assert.equal(ev.firingCount, 1);
    // Recovered: the first recovered window counts, the second resolves.
    const r6 = await ev.evaluate(T0 + 6 * W);
    assert.deepEqual([r6.resolved.length, r6.firing.length], [0, 1]);
    const r7 = await ev.evaluate(T0 + 7 * W);
    assert.equal(r7.resolved.length, 1);
    assert.deepEqual([r7.resolved[0]?.state, r7.resolved[0]?.resolvedAt, r7.resolved[0]?.peakP99Ms, r7.resolved[0]?.p99Ms], ['resolved', new Date(T0 + 7 * W).toISOString(), 900, 400]);
    assert.equal(ev.firingCount, 0);
    assert.deepEqual(ev.alerts().map((x) => [x.tenant, x.state]), [['globex', 'resolved']]);
  });

  test('no verdict without a baseline, and fireAfter needs consecutive breaches', async () => {
    const young = createEvaluator({ queries: fakeStore({ 't|endpoint|/x': (s) => (s >= T0 - 2 * W ? { count: 50, p99: s >= T0 ? 5000 : 100 } : undefined) }), rules });
    assert.equal((await young.evaluate(T0 + W)).fired.length, 0, 'two baseline windows < ALERT_BASELINE_MIN_WINDOWS');
    const twice = createEvaluator({ queries: fakeStore({ 't|endpoint|/x': (s) => ({ count: 50, p99: s === T0 || s === T0 + 2 * W || s === T0 + 3 * W ? 5000 : 100 }) }), rules: { ...rules, fireAfter: 2 } });
    assert.equal((await twice.evaluate(T0 + W)).fired.length, 0, 'one breach');
    assert.equal((await twice.evaluate(T0 + 2 * W)).fired.length, 0, 'the breach was not consecutive');
    assert.equal((await twice.evaluate(T0 + 3 * W)).fired.length, 0, 'one breach again');
    assert.equal((await twice.evaluate(T0 + 4 * W)).fired.length, 1, 'two in a row');
  });

  test('a store error rejects that evaluation only', async () => {
    let fail = true;
    const ev = createEvaluator({
      queries: {
        async windowP99() {
          if (fail) throw new Error('influx down');
          return [];
        },
      },
      rules,
    });
    await assert.rejects(ev.evaluate(T0), /influx down/);
    fail = false;
    assert.deepEqual((await ev.evaluate(T0 + W)).firing, []);
  });
});

const ALERT: AlertView = {
  tenant: 'globex',
  dimension: { kind: 'endpoint', value: '/api/report' },
  state: 'firing',
  since: '2026-01-01T12:01:00.000Z',
  p99Ms: 900,
  count: 50,
  firedP99Ms: 900,
  peakP99Ms: 900,
  baselineMs: 400,
  thresholdMs: 600,
  drilldown: { from: '2026-01-01T12:00:00.000Z', to: '2026-01-01T12:01:00.000Z', url: 'http://dash/#dashboard?tenant=globex' },
};

describe('notification payloads', () => {
  test('Alertmanager: postableAlerts with identifying labels, numbers in annotations, endsAt ahead while firing', () => {
    const now = Date.parse('2026-01-01T12:01:00.000Z');
    const [firing, resolved] = alertmanagerPayload([ALERT, { ...ALERT, tenant: 'acme', dimension: { kind: 'view_name', value: 'Report' }, state: 'resolved', resolvedAt: '2026-01-01T12:05:00.000Z', drilldown: { ...ALERT.drilldown, url: '/api/v1/x' } }], {
      nowMs: now,
      validForMillis: 240_000,
    });
    assert.deepEqual(firing?.labels, { alertname: 'TenantP99Regression', tenant_id: 'globex', endpoint: '/api/report', severity: 'warning' });
    assert.equal(firing?.startsAt, ALERT.since);
    assert.equal(firing?.endsAt, '2026-01-01T12:05:00.000Z');
    assert.equal(firing?.generatorURL, ALERT.drilldown.url);
    assert.deepEqual(Object.keys(firing?.annotations ?? {}).sort(), ['baseline_ms', 'description', 'drilldown_url', 'p99_ms', 'summary', 'threshold_ms']);
    assert.equal(firing?.annotations.summary, 'globex: P99 of endpoint /api/report is 900 ms, baseline 400 ms');
    assert.deepEqual(resolved?.labels, { alertname: 'TenantP99Regression', tenant_id: 'acme', view_name: 'Report', severity: 'warning' });
    assert.equal(resolved?.endsAt, '2026-01-01T12:05:00.000Z');
    assert.equal(resolved?.generatorURL, undefined, 'a relative link is not a generatorURL');
  });

  test('webhook: version, source, evaluation time and the alerts as the API shows them', () => {
    assert.deepEqual(webhookPayload([ALERT], Date.parse('2026-01-01T12:01:00.000Z')), { version: 1, source: 'tenantlens', evaluatedAt: '2026-01-01T12:01:00.000Z', alerts: [ALERT] });
  });
});

describe('retrying transport', () => {
  const scripted = (results: DeliveryOutcome[]) => {
    const bodies: string[] = [];
    return {
      bodies,
      transport: {
        async send(body: string): Promise<DeliveryOutcome> {
          bodies.push(body);
          return results.shift() ?? { kind: 'success' };
        },
      },
    };
  };

  test('retries retryable outcomes, honours Retry-After, sends the same body', async () => {
    const s = scripted([{ kind: 'retryable', reason: '503', retryAfterMillis: 2000 }, { kind: 'retryable', reason: 'reset' }]);
    const delays: number[] = [];
    const retries: string[] = [];
    const t = createRetryingTransport({ transport: s.transport, initialDelayMillis: 100, sleep: async (ms) => void delays.push(ms), random: () => 1, onRetry: (e) => retries.push(e) });
    assert.deepEqual(await t.send('payload'), { kind: 'success' });
    assert.deepEqual(s.bodies, ['payload', 'payload', 'payload']);
    assert.deepEqual(delays, [2000, 200], 'Retry-After first, then backoff 100 × 2^1 (full jitter at its maximum)');
    assert.deepEqual(retries, ['503', 'reset']);
  });

  test('a failure is not retried; attempts and the deadline are bounded', async () => {
    const f = scripted([{ kind: 'failure', reason: '400' }]);
    assert.equal((await createRetryingTransport({ transport: f.transport, sleep: async () => undefined }).send('x')).kind, 'failure');
    assert.equal(f.bodies.length, 1);
    const r = scripted(Array.from({ length: 10 }, () => ({ kind: 'retryable', reason: '503' }) as DeliveryOutcome));
    assert.equal((await createRetryingTransport({ transport: r.transport, maxAttempts: 3, sleep: async () => undefined }).send('x')).kind, 'retryable');
    assert.equal(r.bodies.length, 3);
    const d = scripted([{ kind: 'retryable', reason: '503', retryAfterMillis: 60_000 }]);
    assert.equal((await createRetryingTransport({ transport: d.transport, deadlineMillis: 30_000, maxDelayMillis: 120_000, sleep: async () => undefined }).send('x')).kind, 'retryable');
    assert.equal(d.bodies.length, 1, 'a Retry-After past the deadline ends it');
  });

  test('the outbox delivers in order, one at a time, drops the oldest when full, and never throws', async () => {
    const outcomes: string[] = [];
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const q = createNotifyQueue({
      maxQueued: 2,
      transport: {
        async send(body) {
          seen.push(body);
          await gate;
          if (body === 'boom') throw new Error('bug in a transport');
          return { kind: 'success' };
        },
      },
      onOutcome: (o) => outcomes.push(o),
    });
    q.push('a'); // in flight
    q.push('b');
    q.push('boom');
    q.push('d'); // queue full: b dropped
    release();
    await q.idle();
    assert.deepEqual(seen, ['a', 'boom', 'd']);
    assert.deepEqual(outcomes, ['dropped', 'success', 'failure', 'success']);
  });
});
