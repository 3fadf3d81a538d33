import { HttpError, InfluxDB, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import type { InfluxConfig } from '../config.ts';
import { parseRetryAfter } from '../delivery/retry-after.ts';
import { isRetryableStatus, type WriteOutcome, type WriteTransport } from './transport.ts';
import { describe, rejectedLines } from './v1-transport.ts';

/**
 * InfluxDB 2.x/3.x through the official client's write API.
 *
 * The client's own retry layer is switched off (`maxRetries: 0`): its retry buffer lives only in
 * memory, drops the oldest lines when full, and reads `Retry-After` seconds as milliseconds. The
 * writer owns retries, so one policy covers v1 and v2.
 */
export function createV2Transport(config: InfluxConfig, maxBatchLines: number): WriteTransport {
  const client = new InfluxDB({ url: config.url, token: config.token, timeout: config.timeoutMillis });
  // The client logs every failed write to the console; the writer already logs and counts them.
  setLogger({ error() {}, warn() {} });
  const writeApi: WriteApi = client.getWriteApi(config.org ?? '', config.bucket, 'ns', {
    // Never auto-flush: the writer hands over exactly one batch and then calls flush().
    batchSize: maxBatchLines + 1,
    // No byte limit here: the writer sends a line that alone exceeds its batchMaxBytes, and when
    // the client's limit tripped, writeRecord() started a background flush whose error it swallows,
    // so our flush() found an empty buffer and reported success for a write that failed.
    maxBatchBytes: Number.MAX_SAFE_INTEGER,
    flushInterval: 0,
    maxRetries: 0,
    gzipThreshold: 1000,
  });

  return {
    async write(body, lineCount): Promise<WriteOutcome> {
      try {
        // The client takes text (and gzips it past gzipThreshold).
        writeApi.writeRecord(body.toString('utf8'));
        await writeApi.flush();
        return { kind: 'success' };
      } catch (err) {
        if (err instanceof HttpError) {
          const reason = (typeof err.json?.message === 'string' ? err.json.message : err.body) || `HTTP ${err.statusCode}`;
          if (isRetryableStatus(err.statusCode)) {
            const header = err.headers?.['retry-after'];
            return {
              kind: 'retryable',
              reason,
              status: err.statusCode,
              retryAfterMillis: parseRetryAfter(Array.isArray(header) ? header[0] : header),
            };
          }
          return { kind: 'failure', reason, status: err.statusCode, rejectedLines: rejectedLines(reason, lineCount) };
        }
        return { kind: 'retryable', reason: `network: ${describe(err)}`, retryAfterMillis: undefined };
      }
    },
    async ping() {
      for (const path of ['/ping', '/health']) {
        try {
          const res = await fetch(`${config.url}${path}`, { signal: AbortSignal.timeout(2000) });
          await res.body?.cancel();
          if (res.ok) return true;
        } catch {
          return false;
        }
      }
      return false;
    },
    async close() {
      await writeApi.close().catch(() => undefined);
    },
  };
}
