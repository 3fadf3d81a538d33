import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { GatewayError, isGatewayError } from './errors.ts';
import { sendExportBody, sendOtlpError } from './http/otlp-response.ts';
import { discardUnreadBody } from './http/unread-body.ts';
import { readCompressedBody } from './http/gzip-body.ts';
import { createExportIntake, shuttingDown, type ExportIntake, type ExportRequest } from './ingest/export.ts';
import { bodyTooLarge } from './ingest/inflate.ts';
import type { Ingest } from './ingest/ingest.ts';
import { SIGNALS, TRACES, type SignalDescriptor } from './ingest/signal-table.ts';
import type { OtlpEncoding } from './otlp/decode.ts';
import type { GatewayMetrics } from './ops/metrics.ts';
import type { TenantResolver } from './tenancy/resolve-tenant.ts';
import type { HealthProbe, WriteAdmission } from './store/store.ts';
import type { BrowserQueries } from './query/browser-model.ts';
import type { DrillDown } from './query/model.ts';
import { createQueryRouter, type AlertsSource } from './http/query-routes.ts';
import { createConsoleStatic } from './http/console-static.ts';
import { createViewerResolver } from './http/viewer.ts';

export interface AppDeps {
  readonly config: Config;
  readonly ingest: Ingest;
  /** Tenant credentials: the drill-down API, and ingest unless `ingestTenants` is given. */
  readonly tenants: TenantResolver;
  /** OTLP ingest's resolver when it takes more than tenant credentials (the infrastructure token). */
  readonly ingestTenants?: TenantResolver | undefined;
  /** Room for a request before its body is read, and with a spool, the disk before the answer. */
  readonly sink: WriteAdmission;
  /** The store's part of /readyz. */
  readonly health: HealthProbe;
  /** The drill-down API. */
  readonly queries: DrillDown;
  /** `GET /api/v1/vitals` and `/errors`; not mounted without. */
  readonly browser?: BrowserQueries | undefined;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** The `/metrics` text; default: this process's registry (a cluster worker asks the primary for the sum). */
  readonly metricsText?: (() => Promise<string>) | undefined;
  /** Where GET /api/v1/alerts answers from. Default: not evaluated here. */
  readonly alerts?: AlertsSource;
  /** The write side shared with the gRPC receiver; default: one over `ingest` and `sink`. */
  readonly intake?: ExportIntake | undefined;
}

type TenantOf = (req: Request) => Promise<string>;

export interface GatewayApp {
  readonly app: express.Express;
  /** Refuse new data with 503 (SIGTERM) on every transport: in-flight requests finish, the writer drains. */
  startDraining(): void;
}

const ENCODINGS: Readonly<Record<string, OtlpEncoding>> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Exactly `Content-Encoding: gzip` (any other encoding, or a list, stays with body-parser). */
function isGzip(req: Request): boolean {
  return req.headers['content-encoding']?.trim().toLowerCase() === 'gzip';
}

/** What the client sent, for encoding the error body; JSON when it cannot be told. */
function responseEncoding(req: Request): OtlpEncoding {
  return ENCODINGS[mediaType(req)] ?? 'json';
}

function bodyParserError(err: { type?: string; status?: number; message?: string }, limit: number): GatewayError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return bodyTooLarge(limit);
    case 'encoding.unsupported':
      return new GatewayError('UNSUPPORTED_MEDIA_TYPE', `${err.message ?? 'unsupported content encoding'}; use gzip (or deflate, br) or none`);
    case 'charset.unsupported':
      return new GatewayError('UNSUPPORTED_MEDIA_TYPE', err.message ?? 'unsupported charset');
    case 'request.aborted':
    case 'request.size.invalid':
      return new GatewayError('MALFORMED_BODY', err.message ?? 'request body incomplete');
  }
  // zlib errors (a corrupt gzip stream) surface as 400s without a body-parser type.
  if (err.status === 400) return new GatewayError('MALFORMED_BODY', `cannot decompress body: ${err.message ?? 'invalid data'}`);
  return undefined;
}

// Over 120 lines on purpose: the whole HTTP surface in registration order, which Express makes
// meaningful (metrics timer and CORS first, then the routes, the 404, the error middleware last),
// over one `draining` flag and one body reader. The per-signal route bodies give way to the signal
// descriptor table (issue 16 §2), which shortens it.
export function createApp(deps: AppDeps): GatewayApp {
  const { config, metrics, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  let draining = false;

  const intake = deps.intake ?? createExportIntake({ ingest: deps.ingest, admission: deps.sink, metrics, logger, maxBodyBytes: config.maxBodyBytes });
  const rawBody = express.raw({ type: () => true, limit: config.maxBodyBytes, inflate: true });
  const readRawBody = (req: Request, res: Response): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      rawBody(req, res, (err?: unknown) => {
        if (err !== undefined && err !== null) {
          reject(bodyParserError(err as { type?: string }, config.maxBodyBytes) ?? err);
          return;
        }
        resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
      });
    });

  app.use((req, res, next) => {
    const end = metrics.requestDuration.startTimer();
    res.on('finish', () => end({ route: req.route?.path ?? 'other', status: String(res.statusCode) }));
    next();
  });

  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    app.use(
      ['/v1', '/api', '/console/v1'],
      cors({
        origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin) ? origin : false),
        credentials: true,
        methods: ['GET', 'POST', 'OPTIONS'],
        allowedHeaders: ['Content-Type', 'Content-Encoding', 'Authorization', 'traceparent', 'tracestate', config.tenancy.header],
        // Browsers hide response headers from cross-origin scripts unless exposed; the SDK needs
        // Retry-After to honour the gateway's backoff on 429/503.
        exposedHeaders: ['Retry-After'],
        maxAge: 600,
      }),
    );
  }

  /**
   * Order matters: cheap refusals (draining, media type, credential, a full buffer) before reading
   * the body. Under overload most requests end at the full-buffer check: a body read, inflated,
   * decoded and mapped only for the offer to fail cost ~130 ms per refusal in the overload bench,
   * against ~12 ms now, and made garbage the buffer's own lines had to share the heap with.
   */
  async function admit(req: Request, res: Response, signal: SignalDescriptor, tenantOf: TenantOf): Promise<ExportRequest> {
    if (draining) throw shuttingDown();
    const type = mediaType(req);
    const encoding = ENCODINGS[type];
    if (encoding === undefined || !signal.encodings.includes(encoding)) {
      const want = signal.encodings.includes('protobuf') ? 'application/x-protobuf or application/json' : 'application/json';
      throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Type "${type || '(none)'}"; send ${want}`);
    }
    const tenant = await tenantOf(req);
    const refused = intake.refusal();
    if (refused !== undefined) throw refused;
    const gzip = isGzip(req);
    const body = gzip ? await readCompressedBody(req, config.maxBodyBytes) : await readRawBody(req, res);
    return { signal, body, encoding, gzip, tenant };
  }

  /** One POST route per signal descriptor: the same admission, intake and answer for all of them. */
  function exportRoute(path: string, signal: SignalDescriptor, tenantOf: TenantOf = (r) => (deps.ingestTenants ?? deps.tenants).resolve(r.headers)): void {
    app.post(path, async (req, res) => {
      const request = await admit(req, res, signal, tenantOf);
      const outcome = await intake.export(request);
      // The error middleware writes refusals, as it does for the ones thrown before the body.
      if (outcome.kind !== 'success') throw outcome.error;
      sendExportBody(res, request.encoding, signal.response(outcome.result, request.encoding));
    });
  }

  // The evaluator Deployment (ALERTS_ONLY=1) shares the image, not the job: it registers no ingest
  // route, so data sent to it is refused (404, with the reason) rather than lost.
  if (!config.alerts.only) for (const signal of SIGNALS) exportRoute(signal.path, signal);

  if (config.console.enabled) {
    // The console's own spans: any drill-down credential may send them, and they are always
    // stored under CONSOLE_TENANT, so a tenant's console use never lands in its own data.
    const viewer = createViewerResolver({ tenants: deps.tenants, adminToken: config.adminToken });
    const consoleTenant = async (req: Request): Promise<string> => {
      await viewer(req.headers);
      return config.console.tenant;
    };
    if (!config.alerts.only) exportRoute('/console/v1/traces', TRACES, consoleTenant);
    app.get('/console', (req, res, next) => {
      // Relative asset URLs need the trailing slash; the query (an alert's drill-down link) is kept.
      // (Express matches '/console/' here too: non-strict routing.)
      const q = req.originalUrl.indexOf('?');
      const path = q === -1 ? req.originalUrl : req.originalUrl.slice(0, q);
      if (path !== '/console') {
        next();
        return;
      }
      res.redirect(301, `/console/${q === -1 ? '' : req.originalUrl.slice(q)}`);
    });
    app.use('/console', createConsoleStatic({ dir: config.console.dir, logger }));
  }

  app.use(
    '/api/v1',
    createQueryRouter({ queries: deps.queries, browser: deps.browser, tenants: deps.tenants, adminToken: config.adminToken, alerts: deps.alerts, consoleTenant: config.console.tenant, infraTenant: config.infra?.tenant }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const problems: string[] = [];
    const warnings: string[] = [];
    if (draining) problems.push('shutting down');
    // The store says what is a problem (unready) and what only a warning (degraded).
    const store = await deps.health.check();
    problems.push(...store.problems);
    warnings.push(...store.warnings);
    const status = problems.length > 0 ? 'not ready' : warnings.length > 0 ? 'degraded' : 'ready';
    res.status(problems.length === 0 ? 200 : 503).json({ status, problems, warnings });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await (deps.metricsText ?? (() => metrics.registry.metrics()))());
  });

  app.use((req: Request, _res: Response, next: NextFunction) => {
    const why = config.alerts.only && req.method === 'POST' ? ': this process only evaluates alerts (ALERTS_ONLY=1); send telemetry to the gateway' : '';
    next(new GatewayError('NOT_FOUND', `no route for ${req.method} ${req.path}${why}`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = isGatewayError(err) ? err : bodyParserError(err as { type?: string }, config.maxBodyBytes);
    const gerr = known ?? new GatewayError('INTERNAL', 'internal error');
    if (known === undefined) logger.error({ err, path: req.path }, 'unhandled error');
    else logger.debug({ status: gerr.status, code: gerr.code, why: gerr.message, path: req.path }, 'request refused');
    metrics.requestsRefused.inc({ reason: gerr.code, transport: 'http' });
    if (gerr.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(gerr.retryAfterSeconds));
    if (gerr.status === 401 && config.tenancy.mode === 'jwt') res.setHeader('WWW-Authenticate', 'Bearer');
    if (res.headersSent) return;
    discardUnreadBody(req, res, config.maxBodyBytes);
    if (/^\/(console\/)?v1\//.test(req.path)) sendOtlpError(res, responseEncoding(req), gerr);
    else res.status(gerr.status).json({ error: { code: gerr.code, message: gerr.message } });
  });

  return {
    app,
    startDraining() {
      draining = true;
      intake.startDraining();
    },
  };
}
