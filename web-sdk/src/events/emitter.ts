import type { HrTime, SpanContext } from '@opentelemetry/api';
import { ExportResultCode, hrTime, type ExportResult } from '@opentelemetry/core';
import type { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import type { Resource } from '@opentelemetry/resources';
import { ATTR_SESSION_ID, ATTR_VIEW_NAME } from '../core/attributes.ts';
import { reportInternalError } from '../core/report.ts';
import { getViewName } from '../core/view.ts';
import { SDK_NAME, SDK_VERSION } from '../version.ts';
import type { BeforeSend, EventAttributeValue, TenantlensEvent } from './event.ts';
import { MAX_ATTRIBUTE_CHARS, MAX_MESSAGE_CHARS, MAX_STACK_CHARS, stripUrlQueries, truncate } from './scrub.ts';

/** One OTLP log record, as the OTLP logs exporter reads it. */
export type EventRecord = Parameters<OTLPLogExporter['export']>[0][number];

/** The exporter events go to: the OTLP/HTTP logs exporter, or a test double. */
export interface EventExporter {
  export(records: EventRecord[], done: (result: ExportResult) => void): void;
  forceFlush?(): Promise<void>;
  shutdown(): Promise<void>;
}

/** What happened to events (errors and vitals): part of `tenantlens.stats()`. */
export interface EventCounters {
  exported: number;
  dropped: number;
  droppedByBeforeSend: number;
}

export interface EmitterOptions {
  readonly exporter: EventExporter;
  readonly resource: Resource;
  readonly sessionId: () => string;
  readonly beforeSend: BeforeSend | undefined;
  readonly stripUrlQueries: boolean;
  readonly delayMillis: number;
  readonly maxQueueSize: number;
  readonly isPageHidden: () => boolean;
  readonly counters: EventCounters;
}

export interface EventEmitter {
  /** Queues one event (never throws). `context` links it to a trace. */
  emit(name: TenantlensEvent['name'], attributes: Record<string, EventAttributeValue>, context?: SpanContext, time?: HrTime): void;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Records per request: a batch of errors with stacks stays inside the 64 KiB keepalive budget. */
const MAX_BATCH = 30;

const LIMITS: Readonly<Record<string, number>> = {
  'exception.message': MAX_MESSAGE_CHARS,
  'exception.stacktrace': MAX_STACK_CHARS,
};

/** URLs scrubbed, strings cut to their limit. */
function cleanAttributes(attrs: Record<string, EventAttributeValue>, strip: boolean): Record<string, EventAttributeValue> {
  const out: Record<string, EventAttributeValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v !== 'string') {
      if (typeof v === 'boolean' || Number.isFinite(v)) out[k] = v;
      continue;
    }
    out[k] = truncate(strip ? stripUrlQueries(v) : v, LIMITS[k] ?? MAX_ATTRIBUTE_CHARS);
  }
  return out;
}

/** The event after `beforeSend`, or undefined when it was dropped (a throwing hook drops). */
function applyBeforeSend(hook: BeforeSend | undefined, event: TenantlensEvent): TenantlensEvent | undefined {
  if (hook === undefined) return event;
  try {
    const r = hook(event);
    if (r === null || r === false) return undefined;
    return r === undefined ? event : r;
  } catch (err) {
    reportInternalError('the beforeSend option', err);
    return undefined;
  }
}

/**
 * Errors and vitals leave as OTLP log records (events, see the README): a bounded queue, sent in
 * batches after `delayMillis`, at once on `flush()`, and at once when an event arrives while the
 * page is hidden (CLS and INP are reported on `visibilitychange`, possibly after our own flush).
 */
export function createEventEmitter(o: EmitterOptions): EventEmitter {
  const scope = { name: SDK_NAME, version: SDK_VERSION };
  let queue: EventRecord[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Array<Promise<void>> = [];
  let stopped = false;

  function send(batch: EventRecord[]): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (r: ExportResult): void => {
        if (r.code === ExportResultCode.SUCCESS) o.counters.exported += batch.length;
        else o.counters.dropped += batch.length;
        resolve();
      };
      try {
        o.exporter.export(batch, done);
      } catch (err) {
        reportInternalError('event export', err);
        done({ code: ExportResultCode.FAILED });
      }
    });
  }

  function drain(): Promise<void> {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    while (queue.length > 0) {
      const p = send(queue.slice(0, MAX_BATCH));
      queue = queue.slice(MAX_BATCH);
      inFlight.push(p);
      void p.then(() => {
        inFlight = inFlight.filter((x) => x !== p);
      });
    }
    return Promise.all(inFlight).then(() => undefined);
  }

  function schedule(): void {
    if (o.isPageHidden()) queueMicrotask(() => void drain());
    else timer ??= setTimeout(() => void drain(), o.delayMillis);
  }

  return {
    emit(name, attributes, context, time) {
      try {
        if (stopped) return;
        const base = { [ATTR_VIEW_NAME]: getViewName(), [ATTR_SESSION_ID]: o.sessionId() };
        const event = applyBeforeSend(o.beforeSend, { name, attributes: cleanAttributes({ ...base, ...attributes }, o.stripUrlQueries) });
        if (event === undefined) {
          o.counters.droppedByBeforeSend++;
          return;
        }
        if (queue.length >= o.maxQueueSize) {
          o.counters.dropped++;
          return;
        }
        const now = time ?? hrTime();
        queue.push({
          hrTime: now,
          hrTimeObserved: now,
          eventName: event.name,
          attributes: event.attributes,
          droppedAttributesCount: 0,
          resource: o.resource,
          instrumentationScope: scope,
          ...(context === undefined ? {} : { spanContext: context }),
        });
        schedule();
      } catch (err) {
        reportInternalError('emitting an event', err);
      }
    },
    flush: () => drain().then(() => o.exporter.forceFlush?.()),
    async shutdown() {
      await drain();
      stopped = true;
      try {
        await o.exporter.shutdown();
      } catch (err) {
        reportInternalError('event exporter shutdown', err);
      }
    },
  };
}
