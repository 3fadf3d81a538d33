import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from '../../harness/binaries.ts';
import { freePort } from '../../harness/ports.ts';
import { isPortClash, launch, waitUntilReady, type ServerProcess } from '../../harness/process.ts';

const run = promisify(execFile);

/** Debian's caddy (2.6.2 on bookworm), installed by .ci/run. */
export const CADDY = '/usr/bin/caddy';

export interface CaddyPorts {
  http: number;
  https: number;
  metrics: number;
  admin: number;
}

export interface Caddy {
  readonly ports: CaddyPorts;
  /** http://127.0.0.1:<http port> */
  readonly url: string;
  /** http://127.0.0.1:<metrics port>/metrics */
  readonly metricsUrl: string;
  readonly caddyfile: string;
  readonly proc: ServerProcess;
  /** Access-log lines so far (Caddy writes them as JSON to stdout), parsed. */
  accessLogs(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Caddy keeps state under $HOME, $XDG_DATA_HOME (certificates, local CA) and $XDG_CONFIG_HOME
 * (autosave.json): all three point into the run's temp dir, so nothing of the machine is read
 * or written.
 */
function caddyEnv(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
}

/** `caddy version`, e.g. "2.6.2". */
export async function caddyVersion(): Promise<string> {
  requireBinary(CADDY, 'caddy');
  const { stdout } = await run(CADDY, ['version']);
  return stdout.trim();
}

/** Runs a caddy subcommand on a Caddyfile in a private temp dir; resolves with exit code and output. */
async function caddyOnFile(args: (file: string) => string[], caddyfile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  requireBinary(CADDY, 'caddy');
  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-caddy-'));
  try {
    const file = join(dir, 'Caddyfile');
    await writeFile(file, caddyfile);
    try {
      const { stdout, stderr } = await run(CADDY, args(file), { env: caddyEnv(dir), maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string };
      if (typeof e.code !== 'number') throw err;
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `caddy adapt`: the Caddyfile → Caddy's JSON config, exactly as `caddy run` would load it. */
export async function caddyAdapt(caddyfile: string): Promise<{ code: number; json: unknown; stderr: string }> {
  const res = await caddyOnFile((file) => ['adapt', '--config', file, '--adapter', 'caddyfile'], caddyfile);
  return { code: res.code, json: res.code === 0 ? (JSON.parse(res.stdout) as unknown) : undefined, stderr: res.stderr };
}

/** `caddy fmt`: the canonical formatting of a Caddyfile. */
export async function caddyFmt(caddyfile: string): Promise<string> {
  const res = await caddyOnFile((file) => ['fmt', file], caddyfile);
  if (res.code !== 0) throw new Error(`caddy fmt failed: ${res.stderr}`);
  return res.stdout;
}

/**
 * Starts the real caddy with a Caddyfile rendered for the given ports (all on 127.0.0.1, picked
 * free), waiting until the metrics listener answers /healthz. A lost race for a port (another
 * process bound it between freePort() and caddy's bind) re-renders with new ports.
 */
export async function startCaddy(render: (ports: CaddyPorts) => Promise<string>): Promise<Caddy> {
  requireBinary(CADDY, 'caddy');
  const dir = await mkdtemp(join(tmpdir(), 'tenantlens-caddy-run-'));
  const file = join(dir, 'Caddyfile');
  for (let attempt = 1; ; attempt++) {
    const ports: CaddyPorts = { http: await freePort(), https: await freePort(), metrics: await freePort(), admin: await freePort() };
    if (new Set(Object.values(ports)).size !== 4) continue;
    const caddyfile = await render(ports);
    await writeFile(file, caddyfile);
    const stdout: string[] = [];
    const proc = launch(CADDY, ['run', '--config', file, '--adapter', 'caddyfile'], caddyEnv(dir));
    proc.child.stdout?.on('data', (c: Buffer) => stdout.push(...c.toString('utf8').split('\n').filter(Boolean)));
    try {
      await waitUntilReady('caddy', proc, `http://127.0.0.1:${ports.metrics}/healthz`, 200, 15_000);
    } catch (err) {
      await proc.stop();
      if (attempt < 3 && (isPortClash(err) || /address already in use/.test(proc.tail()))) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      ports,
      url: `http://127.0.0.1:${ports.http}`,
      metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
      caddyfile,
      proc,
      accessLogs: () =>
        stdout.flatMap((line) => {
          try {
            const parsed = JSON.parse(line) as Record<string, unknown>;
            return typeof parsed.logger === 'string' && parsed.logger.startsWith('http.log.access') ? [parsed] : [];
          } catch {
            return [];
          }
        }),
      async close() {
        await proc.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

