import type { InfluxConfig } from '../config.ts';
import { v1AuthHeaders } from '../influx/v1-transport.ts';
import { splitStatements } from './influxql.ts';

export class InfluxQueryError extends Error {}

/** One statement's part of a `/query` answer. */
export interface StatementResult<S> {
  readonly error?: string;
  readonly series?: S[];
}

/**
 * Past this URL length a v3 query goes in a form body instead: hyper, under InfluxDB 3, refuses
 * URIs over 64 KiB.
 */
const MAX_GET_URL = 60_000;

interface Answer<S> {
  readonly error?: string;
  readonly results?: Array<StatementResult<S>>;
}

async function request<S>(config: InfluxConfig, url: string, init: RequestInit): Promise<Answer<S>> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(config.timeoutMillis * 3) });
  const text = await res.text();
  try {
    return JSON.parse(text) as Answer<S>;
  } catch {
    throw new InfluxQueryError(`InfluxDB /query answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
}

/**
 * Runs an InfluxQL query (one or more `;`-separated statements) on `/query` and returns one
 * result per statement, in order, as 1.x does.
 *
 * 1.x and 2.x (DBRP compatibility API): one POST with a form body, every statement at once.
 *
 * InfluxDB 3 serves the same `/query` (the v1 compatibility API, same JSON shape, `epoch=u`,
 * GROUP BY tags as series `tags`), with two differences, from its API reference
 * (https://docs.influxdata.com/influxdb3/core/api/v3/#operation/GetV1ExecuteQuery) and its
 * server (influxdb3_server/src/http/v1.rs): one statement per request, so statements go out as
 * parallel requests; and parameters in the query string (GET), which every 3.x release reads,
 * where a form body is read only by later ones.
 */
export async function runInfluxQL<S>(config: InfluxConfig, q: string): Promise<Array<StatementResult<S>>> {
  const headers = v1AuthHeaders(config);
  if (config.apiVersion !== 3) {
    const params = new URLSearchParams({ db: config.bucket, q, epoch: 'u' });
    if (config.retentionPolicy !== undefined) params.set('rp', config.retentionPolicy);
    const body = await request<S>(config, `${config.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: params.toString(),
    });
    if (body.error !== undefined) throw new InfluxQueryError(`InfluxDB query failed: ${body.error}`);
    return body.results ?? [];
  }
  const statements = splitStatements(q);
  const answers = await Promise.all(
    statements.map((statement) => {
      const params = new URLSearchParams({ db: config.bucket, q: statement, epoch: 'u' }).toString();
      const url = `${config.url}/query?${params}`;
      if (url.length <= MAX_GET_URL) return request<S>(config, url, { method: 'GET', headers });
      return request<S>(config, `${config.url}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: params,
      });
    }),
  );
  // InfluxDB 3 answers a failed statement with an error status and a top-level `error`; it becomes
  // that statement's error, as 1.x reports it, so a table not written yet stays "no data" to callers.
  return answers.map((a) => (a.error !== undefined ? { error: a.error } : (a.results?.[0] ?? {})));
}
