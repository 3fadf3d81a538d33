import { createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { TenancyConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';

/** Turns a request's credential into a tenant id, or throws a 401 `GatewayError`. */
export interface TenantResolver {
  resolve(headers: IncomingHttpHeaders): Promise<string>;
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function checkTenant(id: string, pattern: RegExp, source: string): string {
  if (!pattern.test(id)) throw new GatewayError('UNAUTHENTICATED', `${source} is not a valid tenant id (expected ${pattern.source})`);
  return id;
}

/** `TENANT_AUTH=header`: the ingress authenticated the caller and set the header; we only read it. */
export function createHeaderTenantResolver(cfg: Extract<TenancyConfig, { mode: 'header' }>): TenantResolver {
  return {
    async resolve(headers) {
      const v = single(headers, cfg.header);
      if (v === undefined || v.trim() === '') throw new GatewayError('UNAUTHENTICATED', `missing tenant: the ${cfg.header} header is required`);
      return checkTenant(v.trim(), cfg.tenantPattern, `the ${cfg.header} header`);
    },
  };
}

interface CachedTenant {
  readonly tenant: string;
  readonly expiresAtMillis: number;
}

/**
 * `TENANT_AUTH=jwt`: signature, `exp` and `nbf` checked by `jose`, algorithms pinned. Verified
 * tokens are cached until their `exp` (or for a minute without one), because a browser sends the
 * same token with every batch and verification is the most expensive step of a small request.
 */
export function createJwtTenantResolver(cfg: Extract<TenancyConfig, { mode: 'jwt' }>, maxCached = 10_000): TenantResolver {
  let key: Uint8Array | KeyObject | JWTVerifyGetKey;
  switch (cfg.key.kind) {
    case 'secret':
      key = new TextEncoder().encode(cfg.key.secret);
      break;
    case 'publicKey':
      key = createPublicKey(cfg.key.pem);
      break;
    case 'jwks':
      key = createRemoteJWKSet(new URL(cfg.key.url));
      break;
  }
  const cache = new Map<string, CachedTenant>();
  const options = {
    algorithms: [...cfg.algorithms],
    ...(cfg.issuer === undefined ? {} : { issuer: cfg.issuer }),
    ...(cfg.audience === undefined ? {} : { audience: cfg.audience }),
  };

  return {
    async resolve(headers) {
      const auth = single(headers, 'authorization');
      const m = auth === undefined ? null : /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(auth);
      if (m === null) throw new GatewayError('UNAUTHENTICATED', 'missing credentials: send Authorization: Bearer <token>');
      const token = m[1] as string;
      const now = Date.now();
      const hit = cache.get(token);
      if (hit !== undefined) {
        if (hit.expiresAtMillis > now) return hit.tenant;
        cache.delete(token);
      }
      let payload;
      try {
        // The overloads differ by key type only; the union is safe at runtime.
        ({ payload } = await jwtVerify(token, key as Uint8Array, options));
      } catch (err) {
        // The key set could not be fetched: refused like any token that cannot be verified (401,
        // issue #7), under its own code so an outage of the identity provider is told apart from
        // forged tokens in the body and in tenantlens_requests_refused_total{reason}. Keys jose
        // already holds keep verifying (createRemoteJWKSet caches the set), so only tokens that
        // need a fetch fail during an outage.
        if (cfg.key.kind === 'jwks' && keySetUnavailable(err)) {
          throw new GatewayError('KEYS_UNAVAILABLE', 'token cannot be verified: the signing key set (JWT_JWKS_URL) could not be fetched (TL_KEYS_UNAVAILABLE)', { cause: err });
        }
        const why =
          err instanceof joseErrors.JWTExpired
            ? 'token expired'
            : err instanceof joseErrors.JWTClaimValidationFailed
              ? `token claim "${err.claim}" invalid (${err.reason})`
              : err instanceof joseErrors.JOSEAlgNotAllowed
                ? 'token algorithm not allowed'
                : err instanceof joseErrors.JWSSignatureVerificationFailed
                  ? 'token signature invalid'
                  : err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys
                    ? 'token key id (kid) matches no key in the key set'
                    : 'token invalid';
        throw new GatewayError('UNAUTHENTICATED', why);
      }
      const claim = payload[cfg.claim];
      if (typeof claim !== 'string') throw new GatewayError('UNAUTHENTICATED', `token has no string "${cfg.claim}" claim`);
      const tenant = checkTenant(claim, cfg.tenantPattern, `token claim "${cfg.claim}"`);
      if (cache.size >= maxCached) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      cache.set(token, { tenant, expiresAtMillis: payload.exp === undefined ? now + 60_000 : Math.min(payload.exp * 1000, now + 3_600_000) });
      return tenant;
    },
  };
}

function keySetUnavailable(err: unknown): boolean {
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return true;
  // jose reports a non-200 answer as a generic error; fetch failures are not JOSE errors at all.
  if (err instanceof joseErrors.JOSEError) return err.code === 'ERR_JOSE_GENERIC';
  return err instanceof Error;
}

export function createTenantResolver(cfg: TenancyConfig): TenantResolver {
  return cfg.mode === 'header' ? createHeaderTenantResolver(cfg) : createJwtTenantResolver(cfg);
}
