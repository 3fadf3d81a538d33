/**
 * Per-tenant rate limit on spans (`TENANT_RATE_LIMIT` spans/s): one token bucket per tenant, so a
 * tenant that floods the gateway gets 429 + Retry-After and every other tenant is untouched.
 *
 * A request is admitted while its tenant's bucket is positive and then takes all its spans, even
 * into debt: a single request larger than the burst still gets through once the bucket has
 * refilled, and the debt makes the long-run rate exact.
 */
export interface TenantRateLimiter {
  /** Takes `spans` tokens, or says how long to wait (whole seconds, at least 1). */
  take(tenant: string, spans: number): { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };
}

export interface RateLimitOptions {
  readonly spansPerSecond: number;
  /** Bucket size; default one second's worth. */
  readonly burst?: number;
  readonly now?: () => number;
  /** Tenants tracked at most; the longest idle is forgotten first (a full bucket again). */
  readonly maxTenants?: number;
}

export function createTenantRateLimiter(opts: RateLimitOptions): TenantRateLimiter {
  const rate = opts.spansPerSecond;
  const burst = opts.burst ?? rate;
  const now = opts.now ?? (() => performance.now());
  const maxTenants = opts.maxTenants ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  return {
    take(tenant, spans) {
      const t = now();
      let b = buckets.get(tenant);
      if (b === undefined) {
        if (buckets.size >= maxTenants) {
          const oldest = buckets.keys().next();
          if (oldest.done !== true) buckets.delete(oldest.value);
        }
        b = { tokens: burst, at: t };
      } else {
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
        b.at = t;
        // Re-insert: Map order then runs from least to most recently used.
        buckets.delete(tenant);
      }
      buckets.set(tenant, b);
      if (b.tokens <= 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / rate)) };
      b.tokens -= spans;
      return { ok: true };
    },
  };
}
