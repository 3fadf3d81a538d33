import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../src/ops/metrics.ts';

/** Sample values of one series, `labels` rendered like `{reason="x"}` (or '' without labels). */
async function samples(metrics: ReturnType<typeof createMetrics>, name: string): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric !== undefined, name);
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    const labels = Object.entries(v.labels).map(([k, l]) => `${k}="${l}"`).join(',');
    out[labels === '' ? '' : `{${labels}}`] = v.value;
  }
  return out;
}

test('each signal counts its own items: tenantlens_spans_* count spans only', async () => {
  const metrics = createMetrics({ bufferLines: () => 0, bufferBytes: () => 0 }, false);
  metrics.countItems('traces', { received: 5, accepted: 4, rejections: new Map([['invalid trace_id', 1]]) });
  metrics.countItems('metrics', { received: 7, accepted: 6, rejections: new Map([['timestamp out of range', 1]]) });
  metrics.countItems('logs', { received: 3, accepted: 3, rejections: new Map() });
  metrics.countItems('beacon', { received: 2, accepted: 2, rejections: new Map() });

  assert.deepEqual(await samples(metrics, 'tenantlens_spans_received_total'), { '{signal="traces"}': 5 }, 'the signal label stays, for queries written before the split');
  assert.deepEqual(await samples(metrics, 'tenantlens_spans_accepted_total'), { '{signal="traces"}': 4 });
  assert.deepEqual(await samples(metrics, 'tenantlens_spans_rejected_total'), { '{reason="invalid trace_id"}': 1 });
  assert.deepEqual(await samples(metrics, 'tenantlens_data_points_received_total'), { '': 7 });
  assert.deepEqual(await samples(metrics, 'tenantlens_data_points_accepted_total'), { '': 6 });
  assert.deepEqual(await samples(metrics, 'tenantlens_data_points_rejected_total'), { '{reason="timestamp out of range"}': 1 });
  assert.deepEqual(await samples(metrics, 'tenantlens_log_records_received_total'), { '': 3 });
  assert.deepEqual(await samples(metrics, 'tenantlens_log_records_accepted_total'), { '': 3 });
  assert.deepEqual(await samples(metrics, 'tenantlens_beacon_records_received_total'), { '': 2 });
  assert.deepEqual(await samples(metrics, 'tenantlens_beacon_records_accepted_total'), { '': 2 });
  assert.equal(metrics.registry.getSingleMetric('tenantlens_beacon_records_rejected_total'), undefined, 'a beacon request is taken or refused whole');
});
