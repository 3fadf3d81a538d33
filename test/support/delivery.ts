import assert from 'node:assert/strict';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Gateway } from '../../harness/gateway.ts';
import type { Influxd } from '../../harness/influxd.ts';

/**
 * Accounting for the delivery tests (outage, faults, crash, soak): which spans the gateway
 * acknowledged, which InfluxDB holds, and whether each is there exactly once.
 */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every stored span_id of one service, duplicates included (two points for one span show up twice). */
export async function storedSpanIds(influx: Influxd, service: string): Promise<string[]> {
  const series = await influx.query(`SELECT span_id FROM spans WHERE service_name = '${service.replace(/['\\]/g, '\\$&')}'`);
  return series.flatMap((s) => s.values.map((v) => v[1] as string));
}

/** Waits until the gateway has nothing left to write (memory buffer and spool). */
export async function waitDrained(gw: Gateway, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await gw.metric('tenantlens_buffer_lines');
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error(`gateway buffer did not drain (${left} lines left)`);
    await sleep(100);
  }
}

/** Wraps the real OTLP exporter and records which spans the gateway acknowledged (HTTP 200). */
export function ackingExporter(inner: SpanExporter, acked: Set<string>, failed: { n: number }): SpanExporter {
  return {
    export(spans: ReadableSpan[], cb: (r: ExportResult) => void) {
      inner.export(spans, (r) => {
        if (r.code === ExportResultCode.SUCCESS) for (const s of spans) acked.add(s.spanContext().spanId);
        else failed.n += spans.length;
        cb(r);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

/** Every acknowledged span is stored, and no span is stored twice. */
export function assertExactlyOnce(stored: readonly string[], acked: Iterable<string>, what: string): void {
  const set = new Set(stored);
  assert.equal(stored.length, set.size, `${what}: no span stored twice`);
  const missing = [...acked].filter((id) => !set.has(id));
  assert.deepEqual(missing.slice(0, 5), [], `${what}: ${missing.length} acknowledged spans missing`);
}

/** An order-independent checksum of ids, for "same set" assertions that print well. */
export function idChecksum(ids: Iterable<string>): string {
  const all = [...ids];
  return `${all.length}:${all.reduce((x, id) => x ^ parseInt(id.slice(0, 8), 16), 0)}`;
}
