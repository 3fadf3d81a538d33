import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.ts';
import { freePort } from './ports.ts';
import { launch, retryOnPortClash, waitUntilReady, type ServerProcess } from './process.ts';

const INFLUXD = '/usr/bin/influxd';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface Influxd {
  readonly url: string; // http://127.0.0.1:PORT
  readonly port: number;
  readonly dir: string; // temp dir holding config + data
  /** The running influxd's pid (benchmarks read its CPU time), undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM, wait for exit (SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
  /** Starts again on the SAME port with the SAME data dirs (outage tests); resolves once /ping answers 204. */
  restart(): Promise<void>;
  /** stop() + remove the temp dir. */
  close(): Promise<void>;
  /** GET /query?epoch=ns. Throws on any error in the response; returns the first result's series ([] when none). `time` values are decimal strings. */
  query(q: string, db?: string): Promise<InfluxSeries[]>;
  createDatabase(name: string): Promise<void>;
}

interface InfluxResponse {
  error?: string;
  results?: Array<{ statement_id?: number; error?: string; series?: InfluxSeries[] }>;
}

/**
 * JSON.parse turns 19-digit nanosecond timestamps into doubles and silently drops the last
 * digits (1700000000123456789 -> 1700000000123456800). Influx always puts `time` first in a
 * row, so before parsing we quote every integer that opens a row array (`[123,` or `[123]`),
 * tagged with a leading NUL so it can't be confused with a real string. String literals are
 * matched first and copied unchanged, so a tag value such as "[123," is never rewritten.
 * After parsing, a tagged value becomes a decimal string in `time` columns and a number again
 * in any other first column (e.g. SHOW SHARDS ids), so only `time` changes type.
 */
export function parseInfluxJson(text: string): InfluxResponse {
  const tagged = text.replace(/"(?:[^"\\]|\\.)*"|\[(-?\d+)(?=\s*[,\]])/g, (match, int: string | undefined) =>
    int === undefined ? match : `["\\u0000${int}"`,
  );
  const body = JSON.parse(tagged) as InfluxResponse;
  for (const result of body.results ?? []) {
    for (const series of result.series ?? []) {
      const isTime = series.columns[0] === 'time';
      for (const row of series.values ?? []) {
        const first = row[0];
        if (typeof first === 'string' && first.startsWith('\u0000')) row[0] = isTime ? first.slice(1) : Number(first.slice(1));
      }
    }
  }
  return body;
}

// TOML basic strings share JSON's escaping for everything a temp path can contain.
const toml = (s: string): string => JSON.stringify(s);

function config(dir: string, httpPort: number, rpcPort: number): string {
  return `# Written by harness/influxd.ts for one test run.
# Upstream key; Debian's build renamed it to reporting-enabled (default false). influxd 1.6
# ignores unknown keys, so setting both is safe on either build.
reporting-disabled = true
reporting-enabled = false
# RPC (backup/restore) service; the default 127.0.0.1:8088 would clash between parallel runs.
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = ${toml(join(dir, 'meta'))}

[data]
  dir = ${toml(join(dir, 'data'))}
  wal-dir = ${toml(join(dir, 'wal'))}
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false
  auth-enabled = false
  pprof-enabled = false

# Would create an _internal database and write to it every 10 s.
[monitor]
  store-enabled = false

# No listener; runs in-process only, so it is left at its default.
[continuous_queries]
  enabled = true

[logging]
  suppress-logo = true

# graphite, collectd, opentsdb, udp and ifql (the only other listeners) are disabled by default.
`;
}

// influxd 1.x applies INFLUXDB_* env vars on top of the config file; keep them out.
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('INFLUXDB_')));
}

export async function startInfluxd(opts: { database?: string } = {}): Promise<Influxd> {
  requireBinary(INFLUXD, 'influxdb');
  const database = opts.database ?? 'tenantlens';
  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-influxd-'));
  const configPath = join(dir, 'influxdb.conf');

  let port = 0;
  let proc: ServerProcess | undefined;
  const boot = async (): Promise<void> => {
    proc = launch(INFLUXD, ['run', '-config', configPath], cleanEnv());
    await waitUntilReady('influxd', proc, `http://127.0.0.1:${port}/ping`, 204, 20_000);
  };

  await retryOnPortClash(
    async () => {
      port = await freePort();
      let rpcPort = await freePort();
      while (rpcPort === port) rpcPort = await freePort();
      await writeFile(configPath, config(dir, port, rpcPort));
      await boot();
    },
    () => rm(dir, { recursive: true, force: true }),
  );

  const url = `http://127.0.0.1:${port}`;

  async function request(method: 'GET' | 'POST', params: Record<string, string>): Promise<InfluxResponse> {
    const qs = new URLSearchParams(params);
    const res =
      method === 'GET'
        ? await fetch(`${url}/query?${qs}`)
        : await fetch(`${url}/query`, { method, body: qs }); // GET still works for CREATE in 1.6 but only with a deprecation warning
    const text = await res.text();
    let body: InfluxResponse;
    try {
      body = parseInfluxJson(text);
    } catch {
      throw new Error(`influxd /query returned HTTP ${res.status} with a non-JSON body: ${text.slice(0, 500)}`);
    }
    // Errors come either top-level (parse errors, HTTP 400) or per statement (HTTP 200).
    const error = body.error ?? body.results?.find((r) => r.error !== undefined)?.error;
    if (error !== undefined) throw new Error(`influxd query failed: ${error} (q=${params.q})`);
    if (!res.ok) throw new Error(`influxd /query returned HTTP ${res.status}: ${text.slice(0, 500)}`);
    return body;
  }

  const server: Influxd = {
    url,
    port,
    dir,
    get pid() {
      return proc === undefined || proc.exited() ? undefined : proc.child.pid;
    },
    async stop() {
      await proc?.stop();
    },
    async restart() {
      await proc?.stop(); // no-op after stop(); makes restart() also usable on a running server
      await boot();
    },
    async close() {
      await proc?.stop();
      await rm(dir, { recursive: true, force: true });
    },
    async query(q, db = database) {
      const body = await request('GET', { db, q, epoch: 'ns' });
      return body.results?.[0]?.series ?? [];
    },
    async createDatabase(name) {
      await request('POST', { q: `CREATE DATABASE "${name.replace(/["\\]/g, '\\$&')}"` });
    },
  };

  try {
    await server.createDatabase(database);
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

/** Rows as objects keyed by column, with GROUP BY tags merged in. */
export function seriesRows(series: InfluxSeries[]): Array<Record<string, unknown>> {
  return series.flatMap((s) => s.values.map((v) => Object.fromEntries([...Object.entries(s.tags ?? {}), ...s.columns.map((c, i) => [c, v[i]] as const)])));
}

/** Polls until `q` returns at least `n` rows (writers flush asynchronously), then returns them. */
export async function waitForRows(influx: Influxd, q: string, n: number, timeoutMs = 10_000): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = seriesRows(await influx.query(q));
    if (r.length >= n || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}
