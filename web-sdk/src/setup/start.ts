import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  StackContextManager,
  TraceIdRatioBasedSampler,
  WebTracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-web';
import { BRIDGE_SCOPE, setBridgeTracer } from '../core/bridge.ts';
import { reportInternalError, warnOnce } from '../core/report.ts';
import { setDefaultViewName } from '../core/view.ts';
import { createEventEmitter, type EventEmitter } from '../events/emitter.ts';
import { createErrorCapture, type ErrorCapture } from '../events/errors.ts';
import { startVitals } from '../events/vitals.ts';
import { SDK_NAME, SDK_VERSION } from '../version.ts';
import { setHooks } from './api.ts';
import { CountingExporter, createHeadersFactory } from './exporter.ts';
import { observeLongTasks } from './long-tasks.ts';
import { createNavigationTracker } from './navigation.ts';
import { resolveOptions, type ResolvedOptions, type TenantlensOptions } from './options.ts';
import { createSession, type SessionStorageLike } from './session.ts';
import { TenantlensSpanProcessor } from './span-processor.ts';
import { StatsCounters, type TenantlensStats } from './stats.ts';

/** What `startTenantlens()` returns. */
export interface Tenantlens {
  /** Tracer for your own spans; they get `session_id` and `view_name` like all others. */
  readonly tracer: Tracer;
  /** The current session id (it rotates after `sessionIdleMs` idle or `sessionMaxMs`). */
  readonly sessionId: string;
  /** Exports everything queued now and waits for exports in flight. Never rejects. */
  forceFlush(): Promise<void>;
  /** Flushes, then stops tracing and removes every listener and global it installed. Never rejects; idempotent. */
  shutdown(): Promise<void>;
  /** Export counters: what was exported, dropped (and why), or discarded below `minDurationMs`. */
  stats(): TenantlensStats;
}

/** sessionStorage key holding `{ id, startedAt, lastActivity }`. */
export const SESSION_STORAGE_KEY = 'tenantlens.session';

let running: Tenantlens | undefined;

/**
 * Starts browser tracing: an OpenTelemetry `WebTracerProvider` with a batching OTLP/HTTP exporter
 * to the Tenantlens gateway, session and view attributes on every span, and fetch tracing with
 * `traceparent` propagation. Registers the provider, the W3C propagator and a context manager
 * globally, so the MobX and React bindings (and any OpenTelemetry instrumentation) use it.
 *
 * Never throws: a bad option is reported with `console.warn` and replaced by its default; a setup
 * that cannot export at all returns an instance that traces nothing. Calling it again before
 * `shutdown()` returns the running instance.
 */
export function startTenantlens(options: TenantlensOptions): Tenantlens {
  if (running !== undefined) {
    warnOnce('start:twice', 'startTenantlens() was called again before shutdown(); returning the running instance.');
    return running;
  }
  try {
    const resolved = resolveOptions(options, (msg) => warnOnce(`option:${msg}`, msg));
    if (typeof resolved === 'string') {
      warnOnce(`start:${resolved}`, `${resolved}; tracing is off.`);
      return disabledInstance();
    }
    running = start(resolved);
    return running;
  } catch (err) {
    reportInternalError('startTenantlens', err);
    warnOnce('start:failed', `startTenantlens() failed (${String(err)}); tracing is off.`);
    return disabledInstance();
  }
}

function start(o: ResolvedOptions): Tenantlens {
  const stats = new StatsCounters();
  const doc = typeof document === 'undefined' ? undefined : document;
  const win = typeof window === 'undefined' ? undefined : window;
  let pageHidden = false;
  const isPageHidden = (): boolean => pageHidden || doc?.visibilityState === 'hidden';

  const session = createSession({
    idleMs: o.sessionIdleMs,
    maxMs: o.sessionMaxMs,
    storage: sessionStorageOrUndefined(),
    key: SESSION_STORAGE_KEY,
    now: () => Date.now(),
  });

  const headers = createHeadersFactory(o.headers, stats, isPageHidden);
  const exporter: SpanExporter =
    o.spanExporter ??
    new OTLPTraceExporter({
      url: o.traceUrl,
      headers,
      timeoutMillis: o.exportTimeoutMillis,
    });
  const longTasks = o.longTasks ? observeLongTasks() : undefined;
  const batcher = new BatchSpanProcessor(new CountingExporter(exporter, stats, longTasks?.charge), {
    maxQueueSize: o.maxQueueSize,
    maxExportBatchSize: o.maxExportBatchSize,
    scheduledDelayMillis: o.scheduledDelayMillis,
    // Slightly above the exporter's own deadline, so the exporter (which retries) decides.
    exportTimeoutMillis: o.exportTimeoutMillis + 1_000,
    // We own the page-hide flush below (it also persists the session and switches the headers
    // to their cached value). The processor's own listener waits for `pagehide` on `document`,
    // where it never arrives: browsers fire it at `window`.
    disableAutoFlushOnDocumentHide: true,
  });
  const processor = new TenantlensSpanProcessor({
    next: batcher,
    session,
    stats,
    minDurationMs: o.minDurationMs,
    maxQueueSize: o.maxQueueSize,
  });
  const resource = resourceFromAttributes({
    ...o.resourceAttributes,
    'service.name': o.serviceName,
    ...(o.serviceVersion === undefined ? {} : { 'service.version': o.serviceVersion }),
    'telemetry.distro.name': SDK_NAME,
    'telemetry.distro.version': SDK_VERSION,
  });
  const provider = new WebTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(o.sampleRate) }),
    spanProcessors: [processor],
  });

  // Globals: only undo on shutdown what we managed to set (an app may have registered its own).
  const contextManager = new StackContextManager();
  contextManager.enable();
  const ownsTrace = trace.setGlobalTracerProvider(provider);
  const ownsPropagation = propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const ownsContext = context.setGlobalContextManager(contextManager);

  setBridgeTracer(provider.getTracer(BRIDGE_SCOPE, SDK_VERSION));
  setDefaultViewName(o.defaultViewName);

  let fetchInstrumentation: FetchInstrumentation | undefined;
  if (o.instrumentFetch && typeof fetch === 'function') {
    try {
      fetchInstrumentation = new FetchInstrumentation({
        enabled: false, // enabled below, once it has our provider
        propagateTraceHeaderCorsUrls: o.propagateTraceHeaderCorsUrls,
        // The exporter bypasses the wrapper already; ignoring the gateway is belt and braces
        // against an export → fetch span → export loop.
        ignoreUrls: o.traceUrl === undefined ? [...o.ignoreUrls] : [o.traceUrl, ...o.ignoreUrls],
      });
      fetchInstrumentation.setTracerProvider(provider);
      fetchInstrumentation.enable();
    } catch (err) {
      // e.g. a third-party script froze window.fetch: trace without it rather than not at all
      reportInternalError('fetch instrumentation', err);
    }
  }

  const events = startEvents(o, { resource, headers, stats, isPageHidden, sessionId: () => session.id() });
  let stopped = false;
  if (events !== undefined && o.webVitals && doc !== undefined) startVitals(events.emitter, () => stopped);
  const tracer = provider.getTracer(SDK_NAME, SDK_VERSION);
  const navigation = o.trackNavigation && win !== undefined ? createNavigationTracker({ tracer, history: true, timeoutMillis: 10_000 }) : undefined;
  setHooks({
    reportError: (error, attributes) => events?.errors.report(error, 'reportError', attributes),
    startNavigation: () => navigation?.start('explicit'),
  });

  // The processor's flush waits for the batches it sends; the exporter's for requests already in
  // flight (a scheduled batch, a retry), so after flush() the stats are final for what had ended.
  const flush = (): Promise<void> => {
    events?.errors.flushBursts();
    return Promise.all([provider.forceFlush().then(() => exporter.forceFlush?.()), events?.emitter.flush()])
      .then(() => undefined)
      .catch((err: unknown) => {
        reportInternalError('flush', err);
      });
  };

  // Page lifecycle: flush while the page can still send. `visibilitychange`→hidden is the last
  // event reliably fired on mobile; `pagehide` covers navigations and desktop Safari. The
  // exporter uses fetch keepalive, so a request started here outlives the page.
  const onHidden = (): void => {
    session.persist();
    void flush(); // also sends the error bursts still being counted
  };
  const onVisibility = (): void => {
    if (doc?.visibilityState === 'hidden') onHidden();
  };
  const onPageHide = (): void => {
    pageHidden = true;
    onHidden();
  };
  const onPageShow = (): void => {
    pageHidden = false; // back from the bfcache
  };
  doc?.addEventListener('visibilitychange', onVisibility);
  win?.addEventListener('pagehide', onPageHide);
  win?.addEventListener('pageshow', onPageShow);

  let stopping: Promise<void> | undefined;
  const instance: Tenantlens = {
    tracer,
    get sessionId() {
      return session.peek();
    },
    forceFlush: flush,
    stats: () => stats.snapshot(),
    shutdown() {
      stopping ??= (async () => {
        doc?.removeEventListener('visibilitychange', onVisibility);
        win?.removeEventListener('pagehide', onPageHide);
        win?.removeEventListener('pageshow', onPageShow);
        try {
          fetchInstrumentation?.disable();
        } catch (err) {
          reportInternalError('fetch instrumentation disable', err);
        }
        stopped = true;
        setHooks(undefined);
        navigation?.stop();
        longTasks?.stop();
        events?.errors.stop();
        setBridgeTracer(undefined);
        setDefaultViewName(undefined);
        if (ownsTrace) trace.disable();
        if (ownsPropagation) propagation.disable();
        if (ownsContext) context.disable();
        try {
          await Promise.all([provider.shutdown(), events?.emitter.shutdown()]);
        } catch (err) {
          reportInternalError('shutdown', err);
        }
        if (running === instance) running = undefined;
      })();
      return stopping;
    },
  };
  return instance;
}

interface EventDeps {
  readonly resource: ReturnType<typeof resourceFromAttributes>;
  readonly headers: () => Promise<Record<string, string>>;
  readonly stats: StatsCounters;
  readonly isPageHidden: () => boolean;
  readonly sessionId: () => string;
}

/** Errors and vitals: OTLP log records to `<url>/v1/logs` (or `eventExporter`); undefined without either. */
function startEvents(o: ResolvedOptions, d: EventDeps): { emitter: EventEmitter; errors: ErrorCapture } | undefined {
  const exporter = o.eventExporter ?? (o.logUrl === undefined ? undefined : new OTLPLogExporter({ url: o.logUrl, headers: d.headers, timeoutMillis: o.exportTimeoutMillis }));
  if (exporter === undefined) return undefined;
  const emitter = createEventEmitter({
    exporter,
    resource: d.resource,
    sessionId: d.sessionId,
    beforeSend: o.beforeSend,
    stripUrlQueries: o.stripUrlQueries,
    delayMillis: o.scheduledDelayMillis,
    maxQueueSize: o.maxQueueSize,
    isPageHidden: d.isPageHidden,
    counters: d.stats.events,
  });
  const target = o.captureErrors && typeof window !== 'undefined' ? window : undefined;
  return { emitter, errors: createErrorCapture({ emitter, burstMillis: o.errorBurstMillis, target }) };
}

function sessionStorageOrUndefined(): SessionStorageLike | undefined {
  try {
    // Reading the property itself throws a SecurityError in sandboxed iframes.
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    return undefined;
  }
}

/** What a failed start returns: the API shape, tracing nothing. */
function disabledInstance(): Tenantlens {
  const empty = new StatsCounters();
  return {
    tracer: trace.getTracer(SDK_NAME, SDK_VERSION),
    sessionId: '',
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
    stats: () => empty.snapshot(),
  };
}
