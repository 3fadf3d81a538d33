import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createCardinalityGuard, OVERFLOW_TAG_VALUE } from '../src/mapping/cardinality-guard.ts';
import type { MappedPoint } from '../src/schema/point.ts';

const point = (session: string, endpoint = '/x'): MappedPoint => ({
  spanId: `span-${session}`,
  point: {
    measurement: 'frontend_performance',
    tags: [
      ['endpoint', endpoint],
      ['session_id', session],
      ['tenant_id', 'acme'],
    ],
    fields: [['duration_ms', { type: 'integer', value: 5 }]],
    timestamp: 1n,
  },
});

test('values past the limit are demoted to a <tag>__demoted field, per tenant and window; known values stay tags', () => {
  let t = 0;
  const demoted: string[] = [];
  const guard = createCardinalityGuard({ maxValues: 2, windowMillis: 60_000, tags: ['session_id'], now: () => t, onDemoted: (tag) => demoted.push(tag) });
  const batch = [point('s1'), point('s2'), point('s3'), point('s1')];
  const out = guard.apply('acme', batch);
  const tag = (p: MappedPoint | undefined, k: string) => p?.point.tags.find(([key]) => key === k)?.[1];
  assert.deepEqual(out.map((p) => tag(p, 'session_id')), ['s1', 's2', OVERFLOW_TAG_VALUE, 's1']);
  assert.deepEqual(out[2]?.point.fields.at(-1), ['session_id__demoted', { type: 'string', value: 's3' }], 'the value is kept, as a field');
  assert.equal(tag(out[2], 'endpoint'), '/x', 'unguarded tags are untouched');
  assert.deepEqual(out[2]?.point.tags.map(([k]) => k), ['endpoint', 'session_id', 'tenant_id'], 'tag order (sorted) is kept');
  assert.deepEqual(demoted, ['session_id']);
  assert.equal(batch[2]?.point.tags[1]?.[1], 's3', 'the input is not mutated');

  // Another tenant has its own budget.
  assert.equal(tag(guard.apply('globex', [point('s9')])[0], 'session_id'), 's9');
  // Nothing to demote: the same array comes back (no copy on the hot path).
  const same = [point('s2')];
  assert.equal(guard.apply('acme', same), same);
  // A new window starts afresh.
  t += 60_000;
  assert.equal(tag(guard.apply('acme', [point('s3')])[0], 'session_id'), 's3');
});

test('config: CARDINALITY_LIMIT, _WINDOW_SECONDS and _TAGS', () => {
  assert.equal(loadConfig({ TENANT_AUTH: 'header' }).cardinality, undefined);
  assert.deepEqual(loadConfig({ TENANT_AUTH: 'header', CARDINALITY_LIMIT: '1000' }).cardinality, { maxValues: 1000, windowMillis: 3_600_000, tags: ['session_id', 'endpoint'] });
  assert.deepEqual(loadConfig({ TENANT_AUTH: 'header', CARDINALITY_LIMIT: '5', CARDINALITY_WINDOW_SECONDS: '60', CARDINALITY_TAGS: 'session_id, view_name' }).cardinality, {
    maxValues: 5,
    windowMillis: 60_000,
    tags: ['session_id', 'view_name'],
  });
  for (const [env, variable] of [
    [{ CARDINALITY_TAGS: 'session_id' }, 'CARDINALITY_TAGS'],
    [{ CARDINALITY_LIMIT: '5', CARDINALITY_TAGS: 'tenant_id' }, 'CARDINALITY_TAGS'],
    [{ CARDINALITY_LIMIT: 'many' }, 'CARDINALITY_LIMIT'],
  ] as const) {
    assert.throws(() => loadConfig({ TENANT_AUTH: 'header', ...env }), (e: unknown) => e instanceof ConfigError && e.variable === variable, JSON.stringify(env));
  }
});
