import type { Attributes } from '@opentelemetry/api';
import type { PropagateTraceHeaderCorsUrls, SpanExporter } from '@opentelemetry/sdk-trace-web';
import type { EventExporter } from '../events/emitter.ts';
import type { BeforeSend } from '../events/event.ts';
import type { HeadersOption } from './exporter.ts';

/** Options of `startTenantlens()`. Every field is optional except `serviceName` and `url`. */
export interface TenantlensOptions {
  /**
   * The gateway's base URL, e.g. `https://telemetry.example.com`; spans go to `<url>/v1/traces`,
   * errors and web vitals (OTLP log events) to `<url>/v1/logs`.
   * Required unless `spanExporter` is given.
   */
  url?: string;
  /** `service.name` of the resource, e.g. `web-app`. Required. */
  serviceName: string;
  /** `service.version` of the resource. */
  serviceVersion?: string;
  /** Extra resource attributes (`deployment.environment`, …). */
  resourceAttributes?: Attributes;
  /**
   * Headers for every export request, e.g. `{ Authorization: 'Bearer …' }`, or a function
   * (possibly async) returning them so a token can refresh. A function that throws or rejects
   * does not fail the export; the last good headers are used. Any custom header makes the
   * browser send a CORS preflight, which the gateway answers when `CORS_ORIGINS` lists the page.
   */
  headers?: HeadersOption;
  /**
   * Cross-origin URLs whose fetches get a `traceparent` header (same-origin fetches always do).
   * The backend must allow the header in its CORS configuration. Default: none.
   */
  propagateTraceHeaderCorsUrls?: PropagateTraceHeaderCorsUrls;
  /** Fetch URLs never traced, in addition to the gateway itself. Default: none. */
  ignoreUrls?: Array<string | RegExp>;
  /** Trace `fetch()` calls and inject `traceparent`. Default `true`. */
  instrumentFetch?: boolean;
  /**
   * MobX spans (actions, flows, transitions, reactions) shorter than this are discarded before the
   * export queue, unless another span started under them. Default `0` (keep all).
   */
  minDurationMs?: number;
  /** Fraction of traces kept, 0…1, decided at the root span and inherited by its children. Default `1`. */
  sampleRate?: number;
  /** A session ends after this long without spans. Default 15 minutes. */
  sessionIdleMs?: number;
  /** A session ends this long after it started, active or not. Default 4 hours. */
  sessionMaxMs?: number;
  /** `view_name` while no view is entered. Default `unknown`. */
  defaultViewName?: string;
  /** A partial batch waits at most this long before export. Default 5000. */
  scheduledDelayMillis?: number;
  /**
   * Spans per export request. Default 50: about 45 KB of OTLP/JSON for fetch spans, so a batch fits the
   * browser's 64 KiB keepalive budget and survives the page being closed.
   */
  maxExportBatchSize?: number;
  /** Spans waiting for export; past it new spans are dropped and counted. Default 2048. */
  maxQueueSize?: number;
  /** One export, retries included, gives up after this long. Default 10000. */
  exportTimeoutMillis?: number;
  /** Replaces the OTLP/HTTP exporter (tests, or a custom transport). `url` is then optional. */
  spanExporter?: SpanExporter;
  /** Core Web Vitals (LCP, INP, CLS, FCP, TTFB) as `browser.web_vital` events. Default `true`. */
  webVitals?: boolean;
  /** Uncaught errors and unhandled rejections as `exception` events. Default `true` (`reportError()` works either way). */
  captureErrors?: boolean;
  /** Charge long tasks to the MobX spans they overlap (`blocked_ms`, `long_tasks`). Default `true`. */
  longTasks?: boolean;
  /** A `navigation` span per `history.pushState`/`popstate`, ending at the new view's first paint. Default `true`. */
  trackNavigation?: boolean;
  /** Drops (return `null`/`false`) or scrubs (change `attributes`) an error or vital before it is queued. */
  beforeSend?: BeforeSend;
  /** Remove query strings and fragments from URLs in errors and vitals. Default `true`. */
  stripUrlQueries?: boolean;
  /** Identical errors within this many ms of the first are sent once, with a count. Default 1000. */
  errorBurstMillis?: number;
  /** Replaces the OTLP/HTTP logs exporter that carries errors and vitals (tests). */
  eventExporter?: EventExporter;
}

export interface ResolvedOptions {
  readonly traceUrl: string | undefined;
  readonly serviceName: string;
  readonly serviceVersion: string | undefined;
  readonly resourceAttributes: Attributes;
  readonly headers: HeadersOption | undefined;
  readonly propagateTraceHeaderCorsUrls: PropagateTraceHeaderCorsUrls;
  readonly ignoreUrls: ReadonlyArray<string | RegExp>;
  readonly instrumentFetch: boolean;
  readonly minDurationMs: number;
  readonly sampleRate: number;
  readonly sessionIdleMs: number;
  readonly sessionMaxMs: number;
  readonly defaultViewName: string | undefined;
  readonly scheduledDelayMillis: number;
  readonly maxExportBatchSize: number;
  readonly maxQueueSize: number;
  readonly exportTimeoutMillis: number;
  readonly spanExporter: SpanExporter | undefined;
  readonly logUrl: string | undefined;
  readonly webVitals: boolean;
  readonly captureErrors: boolean;
  readonly longTasks: boolean;
  readonly trackNavigation: boolean;
  readonly beforeSend: BeforeSend | undefined;
  readonly stripUrlQueries: boolean;
  readonly errorBurstMillis: number;
  readonly eventExporter: EventExporter | undefined;
}

export const DEFAULTS = Object.freeze({
  minDurationMs: 0,
  sampleRate: 1,
  sessionIdleMs: 15 * 60_000,
  sessionMaxMs: 4 * 60 * 60_000,
  scheduledDelayMillis: 5_000,
  maxExportBatchSize: 50,
  maxQueueSize: 2_048,
  exportTimeoutMillis: 10_000,
  errorBurstMillis: 1_000,
});

/**
 * Validates once and freezes. `startTenantlens` must never throw into the app, so a bad value is
 * reported with `console.warn` naming the option and replaced by its default; only a setup that
 * cannot export at all (no `url`, no `spanExporter`) returns a problem instead.
 */
export function resolveOptions(o: TenantlensOptions, warn: (msg: string) => void): ResolvedOptions | string {
  if (o === null || typeof o !== 'object') return 'startTenantlens(options) needs an options object';
  const num = (name: keyof typeof DEFAULTS, min: number, max: number, integer = false): number => {
    const v = o[name];
    if (v === undefined) return DEFAULTS[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      warn(`option ${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${String(v)}; using ${DEFAULTS[name]}`);
      return DEFAULTS[name];
    }
    return v;
  };

  let traceUrl: string | undefined;
  let logUrl: string | undefined;
  if (o.url !== undefined) {
    try {
      const base = (globalThis as { location?: { href?: string } }).location?.href;
      const u = new URL(o.url, base);
      const path = u.pathname.replace(/\/+$/, '');
      u.pathname = `${path}/v1/traces`;
      traceUrl = u.href;
      u.pathname = `${path}/v1/logs`;
      logUrl = u.href;
    } catch {
      return `option url "${String(o.url)}" is not a URL`;
    }
  }
  if (traceUrl === undefined && o.spanExporter === undefined) return 'option url is required (the gateway, e.g. https://telemetry.example.com)';

  let serviceName = o.serviceName;
  if (typeof serviceName !== 'string' || serviceName.trim() === '') {
    warn('option serviceName is required; using "unknown_service:web"');
    serviceName = 'unknown_service:web';
  }

  const sessionIdleMs = num('sessionIdleMs', 1_000, 7 * 24 * 3_600_000);
  let sessionMaxMs = num('sessionMaxMs', 1_000, 30 * 24 * 3_600_000);
  if (sessionMaxMs < sessionIdleMs) {
    warn(`option sessionMaxMs (${sessionMaxMs}) is below sessionIdleMs (${sessionIdleMs}); using sessionIdleMs for both`);
    sessionMaxMs = sessionIdleMs;
  }
  const maxQueueSize = num('maxQueueSize', 1, 100_000, true);
  let maxExportBatchSize = num('maxExportBatchSize', 1, 100_000, true);
  if (maxExportBatchSize > maxQueueSize) maxExportBatchSize = maxQueueSize;

  const headers = o.headers;
  const headersOk = headers === undefined || typeof headers === 'function' || (typeof headers === 'object' && headers !== null);
  if (!headersOk) warn('option headers must be an object or a function; ignored');

  return Object.freeze({
    traceUrl,
    serviceName,
    serviceVersion: typeof o.serviceVersion === 'string' ? o.serviceVersion : undefined,
    resourceAttributes: Object.freeze({ ...(o.resourceAttributes ?? {}) }),
    headers: headersOk ? headers : undefined,
    propagateTraceHeaderCorsUrls: o.propagateTraceHeaderCorsUrls ?? [],
    ignoreUrls: Object.freeze([...(o.ignoreUrls ?? [])]),
    instrumentFetch: o.instrumentFetch !== false,
    minDurationMs: num('minDurationMs', 0, 3_600_000),
    sampleRate: num('sampleRate', 0, 1),
    sessionIdleMs,
    sessionMaxMs,
    defaultViewName: typeof o.defaultViewName === 'string' ? o.defaultViewName : undefined,
    scheduledDelayMillis: num('scheduledDelayMillis', 0, 3_600_000),
    maxExportBatchSize,
    maxQueueSize,
    exportTimeoutMillis: num('exportTimeoutMillis', 100, 600_000),
    spanExporter: o.spanExporter,
    logUrl,
    webVitals: o.webVitals !== false,
    captureErrors: o.captureErrors !== false,
    longTasks: o.longTasks !== false,
    trackNavigation: o.trackNavigation !== false,
    beforeSend: typeof o.beforeSend === 'function' ? o.beforeSend : undefined,
    stripUrlQueries: o.stripUrlQueries !== false,
    errorBurstMillis: num('errorBurstMillis', 0, 60_000),
    eventExporter: o.eventExporter,
  });
}
