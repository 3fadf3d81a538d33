import { timingSafeEqual } from 'node:crypto';
import type { InfrastructureConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { TenantResolver } from './resolve-tenant.ts';

/**
 * Shared infrastructure (an ingress, a mesh proxy) sees every tenant's requests but holds one
 * credential and usually does not know the tenant. Its spans are stored under one reserved tenant
 * (INFRA_TENANT) and shown to tenant T only inside T's own traces (http/query-routes.ts);
 * docs/ingress-spans.md has the threat model.
 */

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Every credential path (ingest and drill-down): a tenant credential that names the reserved
 * tenant is refused, so no JWT claim or trusted header can read or write infrastructure spans as
 * their own.
 */
export function reserveInfrastructureTenant(inner: TenantResolver, infra: InfrastructureConfig): TenantResolver {
  return {
    async resolve(headers) {
      const tenant = await inner.resolve(headers);
      if (tenant === infra.tenant) throw new GatewayError('UNAUTHENTICATED', `tenant "${tenant}" is reserved for infrastructure spans (INFRA_TENANT)`);
      return tenant;
    },
  };
}

/**
 * Ingest only: `Authorization: Bearer <INFRA_TOKEN>` writes under INFRA_TENANT; anything else is
 * a tenant credential. The drill-down never takes this resolver, so the token reads nothing.
 */
export function acceptInfrastructureCredential(tenants: TenantResolver, infra: InfrastructureConfig): TenantResolver {
  return {
    resolve(headers) {
      const auth = headers.authorization;
      const bearer = auth === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
      if (bearer !== undefined && sameSecret(bearer, infra.token)) return Promise.resolve(infra.tenant);
      return tenants.resolve(headers);
    },
  };
}
