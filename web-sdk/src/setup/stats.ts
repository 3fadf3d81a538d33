import type { EventCounters } from '../events/emitter.ts';

/** What happened to the spans of one `startTenantlens()` instance. Read it with `tenantlens.stats()`. */
export interface TenantlensStats {
  /** Spans handed to the exporter and acknowledged by the gateway. */
  readonly spansExported: number;
  /** Spans lost, all reasons together (`dropped` breaks it down). */
  readonly spansDropped: number;
  readonly dropped: {
    /** The queue held `maxQueueSize` spans waiting for export (the gateway is slow or unreachable). */
    readonly queueFull: number;
    /** The export failed for good: a non-retryable status, or retries ran out of time. */
    readonly exportFailed: number;
    /** The span ended after `shutdown()`. */
    readonly afterShutdown: number;
  };
  /** MobX spans shorter than `minDurationMs`, discarded before the queue on purpose (not drops). */
  readonly spansBelowMinDuration: number;
  /** Calls of the `headers` option that threw or rejected (the last good headers were used). */
  readonly headerFailures: number;
  /** The last export error, for a status line; `undefined` after a success. */
  readonly lastExportError: string | undefined;
  /** Errors and vitals (OTLP log records): acknowledged, lost (queue full, export failed), dropped by `beforeSend`. */
  readonly events: { readonly exported: number; readonly dropped: number; readonly droppedByBeforeSend: number };
}

/** The mutable counters behind a `TenantlensStats` snapshot. */
export class StatsCounters {
  exported = 0;
  queueFull = 0;
  exportFailed = 0;
  afterShutdown = 0;
  belowMinDuration = 0;
  headerFailures = 0;
  lastExportError: string | undefined = undefined;
  readonly events: EventCounters = { exported: 0, dropped: 0, droppedByBeforeSend: 0 };
  /** Spans accepted into the batch queue and not yet handed to the exporter. */
  queued = 0;

  snapshot(): TenantlensStats {
    return Object.freeze({
      spansExported: this.exported,
      spansDropped: this.queueFull + this.exportFailed + this.afterShutdown,
      dropped: Object.freeze({ queueFull: this.queueFull, exportFailed: this.exportFailed, afterShutdown: this.afterShutdown }),
      spansBelowMinDuration: this.belowMinDuration,
      headerFailures: this.headerFailures,
      lastExportError: this.lastExportError,
      events: Object.freeze({ ...this.events }),
    });
  }
}
