/**
 * Web SDK benchmark (`npm run bench`, after bench/pipeline.ts):
 *
 * 1. Overhead: a tracedAction against a plain MobX action with the same body, in one process, in
 *    µs per call and as a ratio; sampled out, below minDurationMs, and exported. Runs
 *    web-sdk/bench/overhead.ts in a child with NODE_ENV=production (the MobX build apps ship).
 * 2. Size: each entry (`.`, `./mobx`, `./react`) and all three together, minified with esbuild
 *    and gzipped (level 9), with their OpenTelemetry dependencies bundled and without them
 *    (as if the app already ships OpenTelemetry). MobX and React are peers: never counted.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { oneOpenTelemetryCopy, WEB_SDK_DIR } from '../web-sdk/tools/esbuild-plugins.ts';
import { machineLine } from './support/machine.ts';

const progress = (msg: string): void => void process.stderr.write(`[bench:web-sdk ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

console.log(`\n@tenantlens/web-sdk: tracedAction overhead (MobX production build)`);
console.log(`${machineLine()}\n`);
progress('tracedAction overhead: web-sdk/bench/overhead.ts in a child process');
const child = spawnSync(process.execPath, ['--import', 'tsx', join(WEB_SDK_DIR, 'bench', 'overhead.ts')], {
  env: { ...process.env, NODE_ENV: 'production' },
  encoding: 'utf8',
});
if (child.status !== 0) {
  console.error(child.stdout, child.stderr);
  throw new Error(`web-sdk/bench/overhead.ts exited with ${child.status}`);
}
interface OverheadRow {
  case: string;
  usPerCall: number;
  ratio: number;
  overheadUs: number;
  spansExported?: number;
  spansDropped?: number;
}
const overhead = child.stdout
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as OverheadRow);
console.table(
  overhead.map((r) => ({
    case: r.case,
    'µs/call': r.usPerCall,
    'ratio to plain': r.ratio,
    '+µs': r.overheadUs,
    ...(r.spansExported === undefined ? {} : { exported: r.spansExported, dropped: r.spansDropped }),
  })),
);

const PEERS = ['mobx', 'mobx-react-lite', 'react', 'react-dom'];
const ENTRIES: Record<string, string> = {
  '.': "export * from './src/index.ts';",
  './mobx': "export * from './src/mobx/index.ts';",
  './react': "export * from './src/react/index.ts';",
  'all three': "export * from './src/index.ts'; export * from './src/mobx/index.ts'; export * from './src/react/index.ts';",
};

/**
 * The entry as an app's bundler would split it: `min`/`gzip` are the entry chunk (what loads
 * before the app runs), `lazy` the chunks it imports dynamically (the web-vitals attribution
 * build, fetched after load), gzipped each.
 */
async function size(source: string, withOtel: boolean): Promise<{ min: number; gzip: number; lazyGzip: number }> {
  const result = await build({
    // `export *` keeps every public export alive, as an app importing all of them would.
    stdin: { contents: source, resolveDir: WEB_SDK_DIR, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    write: false,
    splitting: true,
    outdir: join(WEB_SDK_DIR, '.tmp', 'bench-size'),
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"' },
    external: withOtel ? PEERS : [...PEERS, '@opentelemetry/*'],
    plugins: [oneOpenTelemetryCopy()],
    logLevel: 'silent',
  });
  const [entry, ...lazy] = result.outputFiles.sort((a, b) => Number(b.path.endsWith('stdin.js')) - Number(a.path.endsWith('stdin.js')));
  const code = entry?.contents ?? new Uint8Array();
  const lazyGzip = lazy.reduce((n, f) => n + gzipSync(f.contents, { level: 9 }).length, 0);
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length, lazyGzip };
}

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
const sizes = [];
progress('bundle sizes: esbuild, each entry with and without OpenTelemetry');
for (const [entry, source] of Object.entries(ENTRIES)) {
  const [withOtel, without] = await Promise.all([size(source, true), size(source, false)]);
  sizes.push({
    entry,
    'min+gzip, with OpenTelemetry': kb(withOtel.gzip),
    'min+gzip, without': kb(without.gzip),
    'min, with OpenTelemetry': kb(withOtel.min),
    'min, without': kb(without.min),
    'lazy chunks, min+gzip': withOtel.lazyGzip === 0 ? '' : kb(withOtel.lazyGzip),
  });
}
console.log('\n@tenantlens/web-sdk: bundle size (esbuild --minify --splitting, gzip -9; mobx/react are peers, not counted; lazy = web-vitals, loaded after the page)\n');
console.table(sizes);
