/**
 * The compiled gateway, as the image runs it: `npm run build` (tsc with
 * gateway/tsconfig.build.json) into gateway/dist, then plain `node gateway/dist/main.js`: no
 * TypeScript loader, no writable temporary directory, only the gateway's production dependencies.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GATEWAY_COMPILED, startGateway } from '../harness/gateway.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'gateway/dist');

before(() => {
  // tsc itself, not `npm run build` (which also builds the other workspaces): ~6 s on 2 cores.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'gateway/tsconfig.build.json')], { stdio: 'inherit' });
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

test('the build rewrote every relative import to .js and needs only the production dependencies', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'gateway/package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const allowed = new Set(Object.keys(pkg.dependencies));
  const files = jsFiles(DIST);
  const seen = new Set<string>();
  assert.ok(files.includes(GATEWAY_COMPILED), `${GATEWAY_COMPILED} was not built`);
  // Static imports and re-exports start a line in tsc's output; dynamic imports and require() take a literal.
  const specifiers = /^(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(specifiers)) {
      const s = (m[1] ?? m[2] ?? m[3]) as string;
      seen.add(s);
      if (s.startsWith('.')) {
        assert.ok(s.endsWith('.js'), `${file}: relative import ${s} not rewritten to .js`);
        continue;
      }
      if (isBuiltin(s)) continue;
      const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] as string);
      assert.ok(allowed.has(name), `${file}: imports ${s}, which is not a production dependency of the gateway`);
    }
  }
  // The scan sees each kind of import: static, dynamic (the embedded store) and require() (proto.ts).
  for (const s of ['express', './store/embedded-store.js', '@opentelemetry/otlp-transformer/build/src/generated/root.js']) assert.ok(seen.has(s), `the scan missed ${s}`);
});

test('node gateway/dist/main.js starts without a loader or a writable /tmp, answers /healthz and stops cleanly', async () => {
  const gw = await startGateway(
    // InfluxDB need not answer for the process to serve /healthz; TMPDIR points nowhere writable.
    { INFLUX_URL: 'http://127.0.0.1:9', INFLUX_API_VERSION: '1', INFLUX_BUCKET: 'tenantlens', TENANT_AUTH: 'header', TMPDIR: '/nonexistent', NODE_OPTIONS: '' },
    { compiled: true },
  );
  try {
    const cmdline = readFileSync(`/proc/${gw.proc.pid}/cmdline`, 'utf8').split('\0');
    assert.deepEqual(cmdline.slice(1).filter(Boolean), [GATEWAY_COMPILED], 'plain node on the compiled entry');
    const res = await fetch(`${gw.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
    const exit = gw.waitExit();
    await gw.stop();
    assert.equal(await exit, 0);
  } finally {
    await gw.stop();
  }
});
