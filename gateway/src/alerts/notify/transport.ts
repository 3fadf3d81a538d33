import { isRetryableHttpStatus, type DeliveryOutcome } from '../../delivery/outcome.ts';
import { retryDelayMillis } from '../../delivery/backoff.ts';
import { parseRetryAfter } from '../../delivery/retry-after.ts';

/**
 * Notification transports. Outcomes are values (`DeliveryOutcome`), not exceptions: `success`,
 * `failure` (do not retry: the receiver refused the payload) or `retryable` (network error, 408,
 * 429, 5xx), optionally with the receiver's `Retry-After`. Retrying is a wrapper around a transport.
 */
export interface NotifyTransport {
  send(body: string): Promise<DeliveryOutcome>;
}

export interface HttpTransportOptions {
  readonly url: string;
  /** Deadline of one attempt. Default 10 s. */
  readonly timeoutMillis?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export function createHttpTransport(opts: HttpTransportOptions): NotifyTransport {
  const timeout = opts.timeoutMillis ?? 10_000;
  const headers = { 'content-type': 'application/json', 'user-agent': 'tenantlens-alerts', ...opts.headers };
  return {
    async send(body) {
      let res: Response;
      try {
        res = await fetch(opts.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeout) });
      } catch (err) {
        return { kind: 'retryable', reason: `POST ${opts.url}: ${(err as Error).message}` };
      }
      // Drain the body so the connection can be reused.
      const text = await res.text().catch(() => '');
      if (res.ok) return { kind: 'success' };
      const reason = `POST ${opts.url}: HTTP ${res.status} ${text.slice(0, 200)}`.trim();
      if (!isRetryableHttpStatus(res.status)) return { kind: 'failure', reason, status: res.status };
      return { kind: 'retryable', reason, status: res.status, retryAfterMillis: parseRetryAfter(res.headers.get('retry-after')) };
    },
  };
}

export interface RetryOptions {
  readonly transport: NotifyTransport;
  /** Attempts in all, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** First backoff; doubles each retry, with full jitter. Default 1 s. */
  readonly initialDelayMillis?: number;
  /** Backoff ceiling, also the ceiling for a receiver's Retry-After. Default 30 s. */
  readonly maxDelayMillis?: number;
  /** No retry starts after this long since the first attempt. Default 2 min. */
  readonly deadlineMillis?: number;
  /** Called before each retry (counted as `retry`). */
  readonly onRetry?: (error: string, delayMillis: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** Retries `retryable` outcomes with exponential backoff, honouring Retry-After, until a deadline. */
export function createRetryingTransport(opts: RetryOptions): NotifyTransport {
  const maxAttempts = opts.maxAttempts ?? 5;
  const initial = opts.initialDelayMillis ?? 1000;
  const ceiling = opts.maxDelayMillis ?? 30_000;
  const deadline = opts.deadlineMillis ?? 120_000;
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  return {
    async send(body) {
      const started = now();
      for (let attempt = 1; ; attempt++) {
        const result = await opts.transport.send(body);
        if (result.kind !== 'retryable' || attempt >= maxAttempts) return result;
        const delay = retryDelayMillis(result.retryAfterMillis, attempt - 1, { initialMillis: initial, maxMillis: ceiling, capRetryAfter: true }, random);
        if (now() + delay - started > deadline) return result;
        opts.onRetry?.(result.reason, delay);
        await sleep(delay);
      }
    },
  };
}
