import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError, isGatewayError } from '../errors.ts';
import type { TenantResolver } from '../tenancy/resolve-tenant.ts';

/** Who is asking: the operator (every tenant) or one tenant. */
export type Viewer = { readonly admin: true } | { readonly admin: false; readonly tenant: string };

/** Tenant ids as the drill-down API accepts them in paths and parameters. */
export const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The drill-down API's credential check, shared with the console's telemetry route: the operator
 * token (`ADMIN_TOKEN`), else a tenant credential; a 401 says why and mentions the operator token.
 */
export function createViewerResolver(deps: { readonly tenants: TenantResolver; readonly adminToken: string | undefined }): (headers: IncomingHttpHeaders) => Promise<Viewer> {
  return async (headers) => {
    const auth = headers.authorization;
    const bearer = auth === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
    if (deps.adminToken !== undefined && bearer !== undefined && sameSecret(bearer, deps.adminToken)) return { admin: true };
    try {
      return { admin: false, tenant: await deps.tenants.resolve(headers) };
    } catch (err) {
      if (isGatewayError(err) && err.status === 401) {
        throw new GatewayError('UNAUTHENTICATED', `${err.message}${deps.adminToken === undefined ? '' : ' (or the operator token)'}`);
      }
      throw err;
    }
  };
}
