/** How long to wait before the next attempt, and the bounds around it. */
export interface BackoffPolicy {
  /** The ceiling of the first retry's backoff; it doubles with each attempt. */
  readonly initialMillis: number;
  /** The backoff never exceeds this. */
  readonly maxMillis: number;
  /** No wait is shorter, whatever its source: `Retry-After: 0` or a zero draw must not make a hot loop. */
  readonly minMillis?: number;
  /**
   * Whether a receiver's Retry-After is also capped at `maxMillis`. The InfluxDB writer holds its
   * data and honours any Retry-After; the alert notifier has a deadline and caps it.
   */
  readonly capRetryAfter?: boolean;
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * a uniform draw in [0, min(max, initial × 2^attempt)], attempt 0 being the first retry. Full
 * jitter spreads replicas that failed together the widest, so they do not retry together.
 */
export function backoffMillis(attempt: number, policy: Pick<BackoffPolicy, 'initialMillis' | 'maxMillis'>, random: () => number = Math.random): number {
  // 2^30 is past any cap: a huge attempt count neither overflows to Infinity nor makes NaN.
  const ceiling = Math.min(policy.maxMillis, policy.initialMillis * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(random() * ceiling);
}

/** The wait before retry `attempt` (0 = the first): the receiver's Retry-After when it sent one, else backoff; within the policy's bounds. */
export function retryDelayMillis(retryAfterMillis: number | undefined, attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  let delay: number;
  if (retryAfterMillis === undefined) delay = backoffMillis(attempt, policy, random);
  else delay = policy.capRetryAfter === true ? Math.min(policy.maxMillis, retryAfterMillis) : retryAfterMillis;
  return Math.max(policy.minMillis ?? 0, delay);
}
