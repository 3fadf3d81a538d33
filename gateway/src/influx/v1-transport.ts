import type { InfluxConfig } from '../config.ts';
import { createHttpPoster } from './http-post.ts';
import { parseRetryAfter } from '../delivery/retry-after.ts';
import { droppedCount, isRetryableStatus, type WriteOutcome, type WriteTransport } from './transport.ts';

/** InfluxDB 1.x `/write` (also served by 2.x/3.x as the v1 compatibility API). */
export function createV1Transport(config: InfluxConfig, maxSockets = 8): WriteTransport {
  const params = new URLSearchParams({ db: config.bucket, precision: 'ns' });
  if (config.retentionPolicy !== undefined) params.set('rp', config.retentionPolicy);
  const writeUrl = new URL(`${config.url}/write?${params.toString()}`);
  const headers = { 'content-type': 'text/plain; charset=utf-8', ...v1AuthHeaders(config) };
  const poster = createHttpPoster(maxSockets);

  return {
    async write(body, lineCount): Promise<WriteOutcome> {
      let res;
      try {
        res = await poster.post(writeUrl, headers, body, config.timeoutMillis);
      } catch (err) {
        return { kind: 'retryable', reason: `network: ${describe(err)}`, retryAfterMillis: undefined };
      }
      if (res.status === 204 || res.status === 200) return { kind: 'success' };
      const reason = errorMessage(res.text) ?? `HTTP ${res.status}`;
      if (isRetryableStatus(res.status)) {
        return { kind: 'retryable', reason, status: res.status, retryAfterMillis: parseRetryAfter(res.retryAfter) };
      }
      return { kind: 'failure', reason, status: res.status, rejectedLines: rejectedLines(reason, lineCount) };
    },
    async ping() {
      try {
        const res = await fetch(`${config.url}/ping`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        return res.status === 204 || res.status === 200;
      } catch {
        return false;
      }
    },
    async close() {
      poster.close();
    },
  };
}

/**
 * Credentials for `/write` and `/query`: basic auth from username/password, else the token. 2.x
 * takes `Token` on its v1 compatibility API; InfluxDB 3 takes `Bearer` on every endpoint, native
 * and compatibility alike (`Token` only on the v1/v2 ones), so v3 sends `Bearer` everywhere.
 */
export function v1AuthHeaders(config: InfluxConfig): Record<string, string> {
  if (config.username !== undefined && config.password !== undefined) {
    return { authorization: 'Basic ' + Buffer.from(`${config.username}:${config.password}`).toString('base64') };
  }
  if (config.token === undefined) return {};
  return { authorization: `${config.apiVersion === 3 ? 'Bearer' : 'Token'} ${config.token}` };
}

function errorMessage(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as { error?: unknown };
    return typeof j.error === 'string' ? j.error : undefined;
  } catch {
    return text.trim() === '' ? undefined : text.trim().slice(0, 2000);
  }
}

/**
 * InfluxDB reports `dropped=N` for points it refused after parsing, but `dropped=0` next to the
 * lines it could not parse at all, so both are counted.
 */
export function rejectedLines(message: string, lineCount: number): number {
  const unparsable = message.split("unable to parse '").length - 1;
  if (!/dropped=\d+/.test(message) && unparsable === 0) return lineCount;
  const dropped = /dropped=\d+/.test(message) ? droppedCount(message, lineCount) : 0;
  return Math.min(lineCount, dropped + unparsable);
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
