import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../harness/binaries.ts';
import { freePort } from '../../harness/ports.ts';
import { launch, retryOnPortClash, waitUntilReady, type ServerProcess } from '../../harness/process.ts';

const VICTORIA_METRICS = '/usr/bin/victoria-metrics';

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[]; // milliseconds: VictoriaMetrics truncates ns line-protocol timestamps to ms
}

/**
 * A throwaway single-node VictoriaMetrics. It accepts InfluxDB line protocol on /write and
 * /api/v2/write and stores `measurement,tag=v field=1` as metric `measurement_field{tag="v"}`.
 */
export interface VictoriaMetrics {
  readonly url: string; // http://127.0.0.1:PORT
  readonly port: number;
  readonly dir: string; // temp dir holding the storage
  /** Stop the process (SIGTERM, SIGKILL after 5 s) and remove the temp dir. */
  close(): Promise<void>;
  /** GET /internal/force_flush: makes just-ingested samples visible to queries and exports. */
  forceFlush(): Promise<void>;
  /** GET /api/v1/export?match[]=<match>; the body is newline-delimited JSON, one series per line. */
  exportSeries(match: string): Promise<ExportedSeries[]>;
}

export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  requireBinary(VICTORIA_METRICS, 'victoria-metrics');
  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-vm-'));

  let port = 0;
  let proc: ServerProcess | undefined;
  await retryOnPortClash(
    async () => {
      port = await freePort();
      proc = launch(VICTORIA_METRICS, [
        `-httpListenAddr=127.0.0.1:${port}`, // the only listener on by default (graphite/influx/opentsdb listeners are off unless given an address)
        `-storageDataPath=${dir}`,
        '-retentionPeriod=100y', // default is 1 month: older samples would be silently dropped
        '-search.latencyOffset=0s', // default 30s hides just-written samples from /api/v1/query
      ]);
      await waitUntilReady('victoria-metrics', proc, `http://127.0.0.1:${port}/health`, 200, 20_000);
    },
    () => rm(dir, { recursive: true, force: true }),
  );

  const url = `http://127.0.0.1:${port}`;
  const get = async (path: string): Promise<string> => {
    const res = await fetch(`${url}${path}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`victoria-metrics GET ${path} returned HTTP ${res.status}: ${text.slice(0, 500)}`);
    return text;
  };

  return {
    url,
    port,
    dir,
    async close() {
      await proc?.stop();
      await rm(dir, { recursive: true, force: true });
    },
    async forceFlush() {
      await get('/internal/force_flush');
    },
    async exportSeries(match) {
      // Without `end`, export stops at VM's clock truncated to whole seconds, so a sample stamped
      // "now" stays invisible for up to 1 s even after force_flush. VM refuses samples more than
      // 2 days in the future, so an end 2 days ahead covers everything it can hold.
      const end = String(Math.ceil(Date.now() / 1000) + 2 * 86_400);
      const text = await get(`/api/v1/export?${new URLSearchParams({ 'match[]': match, end })}`);
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ExportedSeries);
    },
  };
}
