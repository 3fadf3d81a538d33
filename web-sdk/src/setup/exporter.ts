import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-web';
import { reportInternalError } from '../core/report.ts';
import type { StatsCounters } from './stats.ts';

export type HeadersOption = Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);

/**
 * Wraps the `headers` option for the OTLP exporter (which awaits it before every request):
 *
 * - a function that throws or rejects does not fail the export: the last good headers are used
 *   and the failure is counted (the exporter's contract says the factory MUST NOT throw);
 * - while the page is hidden (the flush on `visibilitychange`/`pagehide`) the last good headers
 *   are used without calling the function, because a token refresh over the network would not
 *   finish before the page is gone, and the keepalive request must start right away.
 */
export function createHeadersFactory(
  option: HeadersOption | undefined,
  stats: StatsCounters,
  isPageHidden: () => boolean,
): () => Promise<Record<string, string>> {
  if (option === undefined) return async () => ({});
  if (typeof option !== 'function') {
    const fixed = clean(option);
    return async () => fixed;
  }
  let last: Record<string, string> | undefined;
  return async () => {
    if (last !== undefined && isPageHidden()) return last;
    try {
      last = clean(await option());
    } catch (err) {
      stats.headerFailures++;
      reportInternalError('the headers option', err);
    }
    return last ?? {};
  };
}

/** Keeps string values only: a stray `undefined` header would be sent as the text "undefined". */
function clean(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === null || typeof h !== 'object') return out;
  for (const [k, v] of Object.entries(h as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Counts what the exporter did with each batch. The batch processor hands spans over in
 * `export()`, so this is also where they leave the processor's queue.
 */
export class CountingExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly stats: StatsCounters;
  private readonly prepare: (spans: ReadableSpan[]) => ReadableSpan[];

  /** `prepare` runs on each batch before it is encoded (it charges long tasks to MobX spans). */
  constructor(inner: SpanExporter, stats: StatsCounters, prepare: (spans: ReadableSpan[]) => ReadableSpan[] = (s) => s) {
    this.inner = inner;
    this.stats = stats;
    this.prepare = prepare;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const n = spans.length;
    const { stats } = this;
    stats.queued = Math.max(0, stats.queued - n);
    let settled = false;
    const done = (result: ExportResult): void => {
      if (settled) return; // a misbehaving exporter calling back twice must not double-count
      settled = true;
      if (result.code === ExportResultCode.SUCCESS) {
        stats.exported += n;
        stats.lastExportError = undefined;
      } else {
        stats.exportFailed += n;
        stats.lastExportError = result.error?.message ?? 'export failed';
      }
      resultCallback(result);
    };
    try {
      this.inner.export(this.prepare(spans), done);
    } catch (err) {
      reportInternalError('span export', err);
      done({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
