/**
 * Runs the MobX and React unit tests again in child processes, against the production builds of
 * MobX and React (NODE_ENV=production: `spy` is a no-op there) and against the oldest supported
 * peers (MobX 6, mobx-react-lite 4, React 18). The test files are bundled with esbuild so the
 * peers can be swapped per run; each run asserts which build and major it really got.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { build } from 'esbuild';
import { legacyPeers, WEB_SDK_DIR } from '../tools/esbuild-plugins.ts';

// Inside the package, so the externals (OpenTelemetry, happy-dom) resolve from its node_modules.
const OUT = join(WEB_SDK_DIR, '.tmp', `modes-${process.pid}`);
const FILES = ['mobx-bridge.test.ts', 'react.test.ts'];

after(() => rm(OUT, { recursive: true, force: true }));

async function bundle(name: string, legacy: boolean): Promise<string[]> {
  const outdir = join(OUT, name);
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: FILES.map((f) => join(WEB_SDK_DIR, 'test', f)),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    // Bundled: the SDK, MobX, React and friends (so they can be swapped). Left to Node: the
    // OpenTelemetry packages and happy-dom, resolved exactly as in the direct run.
    external: ['@opentelemetry/*', 'happy-dom'],
    plugins: legacy ? [legacyPeers()] : [],
    logLevel: 'silent',
  });
  return FILES.map((f) => join(outdir, f.replace(/\.ts$/, '.mjs')));
}

interface Run {
  code: number | null;
  out: string;
}

function runTests(files: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    // NODE_TEST_CONTEXT (set by the parent runner) would make the child report in the runner's
    // internal protocol instead of TAP.
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', ...files], {
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, out }));
  });
}

const count = (out: string, key: string): number => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(out)?.[1] ?? NaN);

const MODES = [
  { name: 'MobX 7 + React 19, production builds', legacy: false, env: { NODE_ENV: 'production', TENANTLENS_EXPECT_MOBX_MAJOR: '7', TENANTLENS_EXPECT_REACT_MAJOR: '19' } },
  { name: 'MobX 6 + React 18, development builds', legacy: true, env: { NODE_ENV: 'development', TENANTLENS_EXPECT_MOBX_MAJOR: '6', TENANTLENS_EXPECT_REACT_MAJOR: '18' } },
  { name: 'MobX 6 + React 18, production builds', legacy: true, env: { NODE_ENV: 'production', TENANTLENS_EXPECT_MOBX_MAJOR: '6', TENANTLENS_EXPECT_REACT_MAJOR: '18' } },
] as const;

for (const mode of MODES) {
  test(`unit tests pass against ${mode.name}`, { timeout: 120_000 }, async () => {
    const files = await bundle(mode.name.replace(/\W+/g, '-'), mode.legacy);
    const run = await runTests(files, mode.env);
    const failed = run.out
      .split('\n')
      .filter((l) => /^\s*not ok/.test(l))
      .join('\n');
    assert.equal(run.code, 0, `child failed:\n${failed}\n${run.out.slice(-3000)}`);
    assert.equal(count(run.out, 'fail'), 0);
    assert.equal(count(run.out, 'cancelled'), 0);
    // Both files ran, including the checks that this run got the build and majors asked for.
    assert.ok(count(run.out, 'pass') >= 25, `only ${count(run.out, 'pass')} passed`);
    assert.match(run.out, /^ok \d+ - build under test matches NODE_ENV/m);
    assert.match(run.out, /^ok \d+ - React major matches the expectation of this run/m);
  });
}
