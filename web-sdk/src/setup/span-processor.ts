import { TraceFlags, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-web';
import { ATTR_MOBX_KIND, ATTR_SESSION_ID, ATTR_VIEW_NAME } from '../core/attributes.ts';
import { reportInternalError } from '../core/report.ts';
import { getViewName } from '../core/view.ts';
import type { Session } from './session.ts';
import type { StatsCounters } from './stats.ts';

export interface TenantlensProcessorOptions {
  /** The batching processor that owns the queue and the exporter. */
  readonly next: SpanProcessor;
  readonly session: Session;
  readonly stats: StatsCounters;
  readonly minDurationMs: number;
  readonly maxQueueSize: number;
}

/** Bound on MobX spans we track for `minDurationMs`; a span that never ends must not leak forever. */
const MAX_TRACKED = 10_000;

/**
 * Sits in front of the `BatchSpanProcessor`:
 *
 * - stamps `session_id` and `view_name` on every span at start (a `view_name` already set, e.g.
 *   by `trackTransition({ view })`, is kept);
 * - drops MobX spans shorter than `minDurationMs` before they reach the queue, so a fast action
 *   costs no export work, unless another span started under it (a fetch whose `traceparent`
 *   points at it: dropping the parent would break the browser → backend trace);
 * - bounds the queue itself and counts what it refuses, because the batch processor's own drop
 *   counter is private.
 */
export class TenantlensSpanProcessor implements SpanProcessor {
  private readonly opts: TenantlensProcessorOptions;
  /** Live MobX span id → whether a child span started under it. Only kept when minDurationMs > 0. */
  private readonly live = new Map<string, boolean>();
  private stopped = false;

  constructor(opts: TenantlensProcessorOptions) {
    this.opts = opts;
  }

  onStart(span: Span, parentContext: Context): void {
    try {
      if (span.attributes[ATTR_VIEW_NAME] === undefined) span.setAttribute(ATTR_VIEW_NAME, getViewName());
      span.setAttribute(ATTR_SESSION_ID, this.opts.session.id());
      if (this.opts.minDurationMs > 0) {
        const parentId = span.parentSpanContext?.spanId;
        if (parentId !== undefined && this.live.has(parentId)) this.live.set(parentId, true);
        if (span.attributes[ATTR_MOBX_KIND] !== undefined) {
          if (this.live.size >= MAX_TRACKED) this.live.clear();
          this.live.set(span.spanContext().spanId, false);
        }
      }
    } catch (err) {
      reportInternalError('span start', err);
    }
    this.opts.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    const { stats } = this.opts;
    if (this.stopped) {
      stats.afterShutdown++;
      return;
    }
    if (this.opts.minDurationMs > 0 && span.attributes[ATTR_MOBX_KIND] !== undefined) {
      const id = span.spanContext().spanId;
      const hadChild = this.live.get(id) === true;
      this.live.delete(id);
      const ms = span.duration[0] * 1e3 + span.duration[1] / 1e6;
      if (ms < this.opts.minDurationMs && !hadChild) {
        stats.belowMinDuration++;
        return;
      }
    }
    if (stats.queued >= this.opts.maxQueueSize) {
      stats.queueFull++;
      return;
    }
    stats.queued++;
    this.opts.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.opts.next.forceFlush();
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    this.live.clear();
    return this.opts.next.shutdown();
  }
}
