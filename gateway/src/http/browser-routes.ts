import type express from 'express';
import type { Request } from 'express';
import { GatewayError } from '../errors.ts';
import type { BrowserQueries } from '../query/browser-model.ts';
import { parseLimit, parseRange } from '../query/range.ts';
import { TENANT, type Viewer } from './viewer.ts';


function oneString(req: Request, name: string, max: number): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new GatewayError('BAD_REQUEST', `${name}: expected one non-empty string of at most ${max} characters`);
  return v;
}

/**
 * `?tenant=`: a tenant credential sees its own tenant (the default) and nothing else; the operator
 * sees one tenant, or all without it.
 */
function scopedTenant(req: Request, v: Viewer): string | undefined {
  const t = oneString(req, 'tenant', 64);
  if (t !== undefined && !TENANT.test(t)) throw new GatewayError('BAD_REQUEST', `"${t}" is not a valid tenant id`);
  if (v.admin) return t;
  if (t !== undefined && t !== v.tenant) throw new GatewayError('FORBIDDEN', `your credential is for tenant "${v.tenant}", not "${t}"`);
  return v.tenant;
}

/**
 * `GET /vitals?tenant=&view=&by=tenant|view&from=&to=`: p75 and rating shares per metric, per
 * tenant (default) or per view. `GET /errors?tenant=&from=&to=&limit=`: error counts per type and
 * view, and the most recent errors (default 20).
 */
export function registerBrowserRoutes(router: express.Router, queries: BrowserQueries, viewer: (req: Request) => Promise<Viewer>): void {
  router.get('/vitals', async (req, res) => {
    const tenant = scopedTenant(req, await viewer(req));
    const view = oneString(req, 'view', 256);
    const by = oneString(req, 'by', 16) ?? 'tenant';
    if (by !== 'tenant' && by !== 'view') throw new GatewayError('BAD_REQUEST', 'by: expected "tenant" or "view"');
    const range = parseRange(req.query);
    res.json({ tenant: tenant ?? null, view: view ?? null, by, groups: await queries.vitals({ tenant, view, by, range }) });
  });

  router.get('/errors', async (req, res) => {
    const tenant = scopedTenant(req, await viewer(req));
    const range = parseRange(req.query);
    res.json({ tenant: tenant ?? null, ...(await queries.errors({ tenant, range, limit: parseLimit(req.query, 20, 200) })) });
  });
}
