import type express from 'express';
import type { Request } from 'express';
import { GatewayError } from '../errors.ts';
import { criticalPathComparison } from '../query/critical-path-compare.ts';
import type { DrillDown, SeriesGroup, SeriesMetric, Side } from '../query/model.ts';
import { parseLimit, parseRange } from '../query/range.ts';
import { GROUPS, METRICS, SIDES, buildSeries, checkBuckets, defaultStepMs, parseStep } from '../query/timeseries.ts';
import { TENANT, type Viewer } from './viewer.ts';

export interface ConsoleRouteDeps {
  readonly queries: DrillDown;
  readonly viewer: (req: Request) => Promise<Viewer>;
  readonly consoleTenant: string;
  /** INFRA_TENANT when infrastructure spans are on: the console hides it like its own tenant. */
  readonly infraTenant?: string | undefined;
}

/** Longest root span name accepted as `operation` (a name is a field; this only bounds the query). */
const MAX_OPERATION = 1024;

type Query = Request['query'];

/** One string parameter, or undefined; a repeated one is a 400 naming it. */
function one(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new GatewayError('BAD_REQUEST', `${name}: give it once`);
  return v;
}

function choice<T extends string>(query: Query, name: string, allowed: readonly T[], def: T): T {
  const v = one(query, name);
  if (v === undefined) return def;
  if (!(allowed as readonly string[]).includes(v)) throw new GatewayError('BAD_REQUEST', `${name}: expected one of ${allowed.join(', ')}; got "${v}"`);
  return v as T;
}

function tenantId(query: Query, name: string, required: boolean): string | undefined {
  const v = one(query, name);
  if (v === undefined) {
    if (required) throw new GatewayError('BAD_REQUEST', `${name}: required, a tenant id`);
    return undefined;
  }
  if (!TENANT.test(v)) throw new GatewayError('BAD_REQUEST', `${name}: "${v}" is not a valid tenant id`);
  return v;
}

/** A tenant credential may name only itself. */
function allowed(v: Viewer, tenant: string, name: string): void {
  if (!v.admin && v.tenant !== tenant) throw new GatewayError('FORBIDDEN', `${name}: your credential is for tenant "${v.tenant}", not "${tenant}"`);
}

/** frontend for group=tenant|view, backend for group=endpoint; endpoints are backend-only, views frontend-only. */
function sideFor(query: Query, group: SeriesGroup): Side {
  const side = choice<Side>(query, 'side', SIDES, group === 'endpoint' ? 'backend' : 'frontend');
  if (group === 'endpoint' && side === 'frontend') throw new GatewayError('BAD_REQUEST', 'side: group=endpoint is backend only (endpoints are server spans)');
  if (group === 'view' && side === 'backend') throw new GatewayError('BAD_REQUEST', 'side: group=view is frontend only (views are browser spans)');
  return side;
}

/** The console's routes on the drill-down router (same credentials, same error bodies). */
export function mountConsoleRoutes(router: express.Router, deps: ConsoleRouteDeps): void {
  router.get('/whoami', async (req, res) => {
    const v = await deps.viewer(req);
    const own = { consoleTenant: deps.consoleTenant, ...(deps.infraTenant === undefined ? {} : { infraTenant: deps.infraTenant }) };
    res.json(v.admin ? { admin: true, ...own } : { admin: false, tenant: v.tenant, ...own });
  });

  router.get('/timeseries', async (req, res) => {
    const v = await deps.viewer(req);
    const metric = choice<SeriesMetric>(req.query, 'metric', METRICS, 'p99');
    const group = choice<SeriesGroup>(req.query, 'group', GROUPS, 'tenant');
    const side = sideFor(req.query, group);
    const named = tenantId(req.query, 'tenant', false);
    if (named !== undefined) allowed(v, named, 'tenant');
    const tenant = named ?? (v.admin ? undefined : v.tenant);
    const range = parseRange(req.query);
    const rangeMs = Number((range.toNs - range.fromNs) / 1_000_000n);
    const rawStep = req.query.step;
    const stepMs = rawStep === undefined ? defaultStepMs(rangeMs) : parseStep(rawStep);
    checkBuckets(range, stepMs);
    const stepNs = BigInt(stepMs) * 1_000_000n;
    const rows = await deps.queries.timeseries({ metric, group, side, tenant, range, stepNs });
    res.json({
      metric,
      group,
      side,
      stepMs,
      fromMicros: Number(range.fromNs / 1000n),
      toMicros: Number(range.toNs / 1000n),
      series: buildSeries(rows, metric, range, stepNs),
    });
  });

  router.get('/operations', async (req, res) => {
    const v = await deps.viewer(req);
    const a = tenantId(req.query, 'a', true) as string;
    const b = tenantId(req.query, 'b', false);
    allowed(v, a, 'a');
    if (b !== undefined) allowed(v, b, 'b');
    const counts = await deps.queries.rootOperations(parseRange(req.query), b === undefined || b === a ? [a] : [a, b]);
    const by = new Map<string, { operation: string; a: number; b: number }>();
    for (const c of counts) {
      const e = by.get(c.operation) ?? { operation: c.operation, a: 0, b: 0 };
      if (c.tenant === a) e.a = c.traces;
      if (c.tenant === b) e.b = c.traces;
      by.set(c.operation, e);
    }
    const operations = [...by.values()].sort((x, y) => y.a + y.b - (x.a + x.b) || (x.operation < y.operation ? -1 : x.operation > y.operation ? 1 : 0));
    res.json({ operations });
  });

  router.get('/compare/critical-path', async (req, res) => {
    const v = await deps.viewer(req);
    const a = tenantId(req.query, 'a', true) as string;
    const b = tenantId(req.query, 'b', true) as string;
    allowed(v, a, 'a');
    allowed(v, b, 'b');
    const operation = one(req.query, 'operation');
    if (operation === undefined || operation === '' || operation.length > MAX_OPERATION) {
      throw new GatewayError('BAD_REQUEST', `operation: required, a root span name of 1 to ${MAX_OPERATION} characters (see /api/v1/operations)`);
    }
    const range = parseRange(req.query);
    const limit = parseLimit(req.query, 500, 5000);
    res.json(await criticalPathComparison(deps.queries, a, b, operation, range, limit));
  });
}
