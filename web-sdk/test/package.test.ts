/**
 * The package as published: the build emits ESM + declarations for every `exports` entry, the
 * entries export exactly the public API, and the import graph keeps MobX in `./mobx` and the
 * OpenTelemetry SDK out of `./mobx` and `./react`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { SDK_NAME, SDK_VERSION } from '../src/version.ts';
import { WEB_SDK_DIR } from '../tools/esbuild-plugins.ts';

interface PackageJson {
  name: string;
  version: string;
  type: string;
  sideEffects: boolean;
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}

const pkg = JSON.parse(await readFile(join(WEB_SDK_DIR, 'package.json'), 'utf8')) as PackageJson;
const OUT = join(WEB_SDK_DIR, '.tmp', `package-${process.pid}`);

const PUBLIC_API: Record<string, string[]> = {
  '.': [
    'ATTR_ACTION_NAME',
    'ATTR_BLOCKED_MS',
    'ATTR_ELEMENT_COUNT',
    'ATTR_LONG_TASKS',
    'ATTR_MOBX_KIND',
    'ATTR_MOBX_REACTION_COUNT',
    'ATTR_SESSION_ID',
    'ATTR_VIEW_NAME',
    'SESSION_STORAGE_KEY',
    'enterView',
    'getViewName',
    'reportError',
    'startNavigation',
    'startTenantlens',
  ],
  './mobx': ['instrumentMobx', 'isMobxDevelopmentBuild', 'trackTransition', 'tracedAction', 'tracedAutorun', 'tracedFlow', 'tracedReaction'],
  './react': ['TenantlensView', 'useTrackedTransition', 'useViewName'],
};

before(async () => {
  await mkdir(OUT, { recursive: true });
  const tsc = join(WEB_SDK_DIR, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(WEB_SDK_DIR, 'tsconfig.build.json'), '--outDir', join(OUT, 'dist')]);
});
after(() => rm(OUT, { recursive: true, force: true }));

test('package.json: ESM, no side effects, optional peers, version in step with the code', () => {
  assert.equal(pkg.name, SDK_NAME);
  assert.equal(pkg.version, SDK_VERSION);
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.sideEffects, false);
  assert.deepEqual(Object.keys(pkg.exports).sort(), ['.', './mobx', './package.json', './react']);
  for (const peer of ['mobx', 'react', 'mobx-react-lite']) assert.equal(pkg.peerDependenciesMeta[peer]?.optional, true, peer);
  assert.equal(pkg.peerDependenciesMeta['@opentelemetry/api'], undefined, 'the API is a required peer');
  assert.match(pkg.peerDependencies.mobx ?? '', /\^6.*\^7/);
  assert.match(pkg.peerDependencies.react ?? '', /\^18.*\^19/);
  for (const d of ['mobx', 'react', 'mobx-react-lite', 'react-dom']) assert.equal(pkg.dependencies[d], undefined, `${d} must stay a peer`);
});

test('the build emits JavaScript and declarations for every exports entry, exporting exactly the public API', async () => {
  for (const [entry, expected] of Object.entries(PUBLIC_API)) {
    const target = pkg.exports[entry];
    assert.ok(target !== undefined && typeof target === 'object', entry);
    const js = join(OUT, target.default);
    const dts = join(OUT, target.types);
    await access(js);
    await access(dts);
    const mod = (await import(pathToFileURL(js).href)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mod).sort(), [...expected].sort(), entry);
    const declarations = await readFile(dts, 'utf8');
    for (const name of expected) assert.match(declarations, new RegExp(`\\b${name}\\b`), `${entry} declares ${name}`);
  }
});

/** Bare imports (packages) reached from one entry, with the source file that imports each. */
async function packageImports(entry: string): Promise<Map<string, string[]>> {
  const result = await build({
    entryPoints: [join(WEB_SDK_DIR, 'src', entry)],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    packages: 'external',
    absWorkingDir: WEB_SDK_DIR, // metafile paths relative to the package: src/…
    logLevel: 'silent',
  });
  const found = new Map<string, string[]>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imp of input.imports) {
      if (!imp.external) continue;
      const name = imp.path.startsWith('@') ? imp.path.split('/').slice(0, 2).join('/') : (imp.path.split('/')[0] ?? imp.path);
      found.set(name, [...(found.get(name) ?? []), file]);
    }
  }
  return found;
}

test('import graph: mobx only from src/mobx; ./mobx and ./react carry no OpenTelemetry SDK; . carries no MobX or React', async () => {
  const root = await packageImports('index.ts');
  const mobx = await packageImports('mobx/index.ts');
  const react = await packageImports('react/index.ts');
  assert.deepEqual([...root.keys()].sort(), [
    '@opentelemetry/api',
    '@opentelemetry/core',
    '@opentelemetry/exporter-logs-otlp-http',
    '@opentelemetry/exporter-trace-otlp-http',
    '@opentelemetry/instrumentation-fetch',
    '@opentelemetry/resources',
    '@opentelemetry/sdk-trace-web',
    'web-vitals',
  ]);
  // web-vitals is reached only through the lazily imported module (its own chunk in an app).
  assert.deepEqual(root.get('web-vitals'), ['src/events/vitals-observe.ts']);
  assert.deepEqual([...mobx.keys()].sort(), ['@opentelemetry/api', 'mobx']);
  assert.deepEqual([...react.keys()].sort(), ['@opentelemetry/api', 'mobx', 'react']);
  for (const graph of [mobx, react]) {
    for (const file of graph.get('mobx') ?? []) assert.match(file, /^src\/mobx\//, `${file} imports mobx`);
  }
});
