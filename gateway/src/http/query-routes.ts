import express, { type Request } from 'express';
import { GatewayError } from '../errors.ts';
import type { AlertView } from '../alerts/state.ts';
import type { BrowserQueries } from '../query/browser-model.ts';
import { registerBrowserRoutes } from './browser-routes.ts';
import type { DrillDown, TraceSpan } from '../query/model.ts';
import { parseLimit, parseRange } from '../query/range.ts';
import type { TenantResolver } from '../tenancy/resolve-tenant.ts';
import { mountConsoleRoutes } from './console-routes.ts';
import { createViewerResolver, TENANT, type Viewer } from './viewer.ts';

const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * Where `GET /api/v1/alerts` gets its answer: this process's evaluator, the evaluator process
 * (`ALERTS_API_URL`, when this one runs with `ALERTS=off`), or nowhere.
 */
export type AlertsSource =
  | { readonly kind: 'local'; list(): AlertView[] }
  | { readonly kind: 'remote'; readonly url: string; readonly forwardHeaders: readonly string[] }
  | { readonly kind: 'off' };

export interface QueryRouterDeps {
  readonly queries: DrillDown;
  readonly tenants: TenantResolver;
  readonly adminToken: string | undefined;
  readonly alerts?: AlertsSource;
  /** `CONSOLE_TENANT`: where the console's own spans go; `/whoami` tells the console. */
  readonly consoleTenant: string;
  readonly browser?: BrowserQueries | undefined;
  /** `INFRA_TENANT` when infrastructure spans are on: joined into a tenant's own traces only. */
  readonly infraTenant?: string | undefined;
}

/** The drill-down API (JSON). Tenant credentials see their own tenant only; others are 403. */
export function createQueryRouter(deps: QueryRouterDeps): express.Router {
  const router = express.Router();

  const resolveViewer = createViewerResolver(deps);
  const viewer = (req: Request): Promise<Viewer> => resolveViewer(req.headers);
  mountConsoleRoutes(router, { queries: deps.queries, viewer, consoleTenant: deps.consoleTenant, infraTenant: deps.infraTenant });

  function tenantParam(req: Request, v: Viewer): string {
    const t = String(req.params.tenant ?? '');
    if (!TENANT.test(t)) throw new GatewayError('BAD_REQUEST', `"${t}" is not a valid tenant id`);
    if (!v.admin && v.tenant !== t) throw new GatewayError('FORBIDDEN', `your credential is for tenant "${v.tenant}", not "${t}"`);
    return t;
  }

  router.get('/tenants', async (req, res) => {
    const v = await viewer(req);
    const range = parseRange(req.query);
    res.json({ tenants: await deps.queries.tenants(range, v.admin ? undefined : v.tenant) });
  });

  router.get('/tenants/:tenant/sessions', async (req, res) => {
    const v = await viewer(req);
    const tenant = tenantParam(req, v);
    res.json({ tenant, sessions: await deps.queries.sessions(tenant, parseRange(req.query), parseLimit(req.query)) });
  });

  router.get('/tenants/:tenant/traces', async (req, res) => {
    const v = await viewer(req);
    const tenant = tenantParam(req, v);
    const session = req.query.session_id;
    if (session !== undefined && (typeof session !== 'string' || session.length > 256)) throw new GatewayError('BAD_REQUEST', 'session_id: expected one string of at most 256 characters');
    res.json({ tenant, traces: await deps.queries.traces(tenant, parseRange(req.query), parseLimit(req.query), session) });
  });

  router.get('/traces/:traceId', async (req, res) => {
    const v = await viewer(req);
    const id = String(req.params.traceId ?? '').toLowerCase();
    if (!TRACE_ID.test(id)) throw new GatewayError('BAD_REQUEST', 'traceId: expected 32 hex characters');
    // A tenant asking for another tenant's trace learns nothing, not even that it exists.
    const tenant = v.admin ? undefined : v.tenant;
    const [own, logs] = await Promise.all([deps.queries.trace(id, tenant), deps.queries.traceLogs(id, tenant)]);
    if (own.length === 0 && logs.length === 0) throw new GatewayError('NOT_FOUND', `no trace ${id}`);
    const spans = tenant === undefined ? own : await withInfrastructureSpans(id, own);
    // Log records emitted inside the trace's spans (their spanId links each to its span).
    res.json({ traceId: id, spans, logs });
  });

  /**
   * The ingress's spans of a trace in which the tenant has spans of its own: a trace id alone never
   * opens them (a tenant that guesses another tenant's trace id has no span there, so gets 404 above).
   */
  async function withInfrastructureSpans(traceId: string, own: readonly TraceSpan[]): Promise<TraceSpan[]> {
    if (deps.infraTenant === undefined || own.length === 0) return [...own];
    const infra = await deps.queries.trace(traceId, deps.infraTenant);
    return [...own, ...infra].sort((x, y) => x.startMicros - y.startMicros || (x.spanId < y.spanId ? -1 : 1));
  }

  router.get('/compare', async (req, res) => {
    const v = await viewer(req);
    const a = req.query.a;
    const b = req.query.b;
    if (typeof a !== 'string' || typeof b !== 'string' || !TENANT.test(a) || !TENANT.test(b)) {
      throw new GatewayError('BAD_REQUEST', 'a and b: expected two tenant ids, e.g. ?a=acme&b=globex');
    }
    if (!v.admin && (a !== v.tenant || b !== v.tenant)) throw new GatewayError('FORBIDDEN', 'comparing tenants needs the operator token');
    res.json(await deps.queries.compare(a, b, parseRange(req.query)));
  });

  router.get('/alerts', async (req, res) => {
    const source = deps.alerts ?? { kind: 'off' };
    if (source.kind === 'remote') {
      // The evaluator process checks the same credentials itself; only they are forwarded.
      const headers: Record<string, string> = {};
      for (const h of source.forwardHeaders) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      let upstream: Response;
      try {
        upstream = await fetch(`${source.url}/api/v1/alerts`, { headers, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        throw new GatewayError('UNAVAILABLE', `the alert evaluator at ALERTS_API_URL is unreachable: ${(err as Error).message}`, { retryAfterSeconds: 5 });
      }
      res.status(upstream.status).type('application/json').send(await upstream.text());
      return;
    }
    const v = await viewer(req);
    if (source.kind === 'off') throw new GatewayError('NOT_FOUND', 'alerts are not evaluated by this process (ALERTS=off and no ALERTS_API_URL)');
    const all = source.list();
    res.json({ alerts: v.admin ? all : all.filter((a) => a.tenant === v.tenant) });
  });

  if (deps.browser !== undefined) registerBrowserRoutes(router, deps.browser, viewer);

  return router;
}
