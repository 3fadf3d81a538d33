import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadConfig } from '../src/config.ts';
import { FieldTypeRegistry } from '../src/mapping/field-types.ts';
import { createSpanMapper } from '../src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../src/mapping/rules.ts';
import type { Attribute, SpanRecord } from '../src/otlp/model.ts';
import { byStartDesc, summarizeTraces, type TraceSummary } from '../src/query/model.ts';
import { keyColumn, tableSpecs } from '../src/schema/derived.ts';
import { createEmbeddedStore } from '../src/store/embedded-store.ts';
import type { StoreParts } from '../src/store/store.ts';

/**
 * The embedded store's id keys (schema/derived.ts `keyColumn`) on a real DuckDB file: a file
 * written before the key columns existed gets them on open, its rows' keys filled, and the trace
 * and session lookups find a trace's spans across those rows and rows written after. The lookups
 * are held to the queries they replaced (no key), run on the same file.
 */

const buffer = loadConfig({ TENANT_AUTH: 'header' }).buffer;
const events = { written: () => undefined, retry: (reason: string) => assert.fail(`a write was retried: ${reason}`) };
const specs = tableSpecs(DEFAULT_RULES);
const T = 1_790_000_000_000_000_000n;
const MS = 1_000_000n;
const TRACE_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
const TRACE_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
const TRACE_OTHER = 'ccccccccccccccccccccccccccccccc3';
let dir: string;

const attr = (key: string, value: string): Attribute => ({ key, value: { type: 'string', value } });

function span(traceId: string, n: number, parent: number | undefined, startMs: bigint, session?: string): SpanRecord {
  const id = (k: number): string => `${traceId.slice(0, 8)}${k.toString(16).padStart(8, '0')}`;
  return {
    traceId,
    spanId: id(n),
    parentSpanId: parent === undefined ? '' : id(parent),
    name: `op${n}`,
    kind: parent === undefined ? 1 : 3,
    startTimeUnixNano: T + startMs * MS,
    endTimeUnixNano: T + (startMs + 5n) * MS,
    statusCode: 0,
    attributes: session === undefined ? [] : [attr('session.id', session)],
  };
}

/** Writes spans of tenant acme through the store's sink and waits until they are stored. */
async function offer(store: StoreParts, spans: SpanRecord[]): Promise<void> {
  const { points } = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry()).map({ resourceSpans: [{ resource: [attr('service.name', 'app')], scopes: [{ scopeName: 's', scopeVersion: '', spans }] }] }, { tenantId: 'acme', instanceName: 'test' });
  assert.equal(store.sink.offer(points), true);
  assert.equal(await store.sink.drain(Date.now() + 60_000), 0);
}

async function write(spans: SpanRecord[]): Promise<void> {
  const store = await createEmbeddedStore({ dataDir: dir, rules: DEFAULT_RULES, buffer, events });
  await offer(store, spans);
  await store.sink.close();
}

async function sql<T = Record<string, unknown>>(statements: string[]): Promise<T[]> {
  const instance = await DuckDBInstance.create(join(dir, 'tenantlens.duckdb'));
  const conn = await instance.connect();
  try {
    let last: T[] = [];
    for (const s of statements) last = (await conn.runAndReadAll(s)).getRowObjectsJson() as T[];
    return last;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenantlens-embedded-keys-'));
  // Written, then made a file of the version before the keys: the same tables without the key columns.
  await write([span(TRACE_A, 1, undefined, 0n, 's1'), span(TRACE_A, 2, 1, 1n), span(TRACE_OTHER, 1, undefined, 2n, 's2')]);
  await sql([specs.spans, specs.logs].flatMap((t) => t.keyed.map((c) => `ALTER TABLE ${t.name} DROP COLUMN ${keyColumn(c)}`)));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a file without key columns gets them on open, every key set, and lookups find spans across its rows and newer ones', async () => {
  const columns = await sql<{ n: number }>([`SELECT count(*)::INTEGER AS n FROM information_schema.columns WHERE table_name = 'spans' AND column_name LIKE '%_key'`]);
  assert.deepEqual(columns, [{ n: 0 }], 'the old file has no key columns');

  // Trace A's third span and a second trace of session s1 arrive after the upgrade.
  const later = [span(TRACE_A, 3, 2, 3n), span(TRACE_B, 1, undefined, 10n, 's1'), span(TRACE_B, 2, 1, 11n)];
  const store = await createEmbeddedStore({ dataDir: dir, rules: DEFAULT_RULES, buffer, events });
  try {
    await offer(store, later);

    const trace = await store.queries.trace(TRACE_A, 'acme');
    assert.deepEqual(trace.map((s) => s.name), ['op1', 'op2', 'op3'], 'old rows and the new one');
    assert.equal(trace[0]?.sessionId, 's1');
    assert.deepEqual((await store.queries.trace(TRACE_A, 'globex')).length, 0, 'another tenant sees none');

    const range = { fromNs: T, toNs: T + 60_000n * MS };
    const sessions = await store.queries.traces('acme', range, 10, 's1');
    assert.deepEqual(sessions.map((t) => [t.traceId, t.spanCount]), [[TRACE_B, 2], [TRACE_A, 3]]);
  } finally {
    await store.sink.close();
  }

  const nullKeys = await sql<{ n: number }>([`SELECT count(*)::INTEGER AS n FROM spans WHERE (trace_key IS NULL AND trace_id IS NOT NULL) OR (session_key IS NULL AND session_id IS NOT NULL)`]);
  assert.deepEqual(nullKeys, [{ n: 0 }], 'every key filled');
});

test('the id decides, not the key: a row whose key matches another trace is not part of it', async () => {
  // A row with trace A's key but another id: what a key collision would be.
  await sql([`INSERT INTO spans (time_ns, span_id, tenant_id, trace_id, name, session_id, trace_key, session_key)
    SELECT ${T + 4n * MS}, 'collide', 'acme', '${TRACE_OTHER}', 'collision', 's9', trace_key, session_key FROM spans WHERE trace_id = '${TRACE_A}' AND session_id = 's1'`]);
  const store = await createEmbeddedStore({ dataDir: dir, rules: DEFAULT_RULES, buffer, events });
  try {
    const range = { fromNs: T, toNs: T + 60_000n * MS };
    assert.deepEqual((await store.queries.trace(TRACE_A, 'acme')).map((s) => s.name), ['op1', 'op2', 'op3']);
    assert.deepEqual((await store.queries.traces('acme', range, 10, 's9')).map((t) => t.traceId), [], "session s9 by id, not s1's key");
    // The session lookup against the query it replaced (no key), on the same rows.
    const old = await sql<{ trace_id: string; parent_span_id: string | null; name: string; start_us: string; duration_ns: string }>([
      `SELECT trace_id, parent_span_id, name, (time_ns // 1000)::VARCHAR AS start_us, duration_ns::VARCHAR AS duration_ns FROM spans
       WHERE time_ns >= ${range.fromNs} AND time_ns < ${range.toNs} AND tenant_id = 'acme'
         AND trace_id IN (SELECT trace_id FROM spans WHERE time_ns >= ${range.fromNs} AND time_ns < ${range.toNs} AND tenant_id = 'acme' AND session_id = 's1')`,
    ]);
    const want: TraceSummary[] = summarizeTraces(old.map((r) => ({ traceId: r.trace_id, parentSpanId: r.parent_span_id ?? '', name: r.name, startMicros: Number(r.start_us), durationNs: Number(r.duration_ns) }))).sort(byStartDesc);
    assert.deepEqual(await store.queries.traces('acme', range, 10, 's1'), want);
  } finally {
    await store.sink.close();
  }
});
