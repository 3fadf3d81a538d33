/**
 * `npm run build -w @tenantlens/console`: vite build, then the first-load size: the gzip size of
 * every file index.html loads (entry chunk, its static imports, the CSS), against the 200 KB budget.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
export const BUDGET_BYTES = 200 * 1024;

/** The gzip bytes of what index.html references (scripts, stylesheets, module preloads). */
export function firstLoadGzipBytes(dist: string): { files: Array<{ file: string; gzip: number }>; total: number } {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string);
  const files = [...new Set(refs)].map((file) => ({ file, gzip: gzipSync(readFileSync(join(dist, file)), { level: 9 }).length }));
  return { files, total: files.reduce((s, f) => s + f.gzip, 0) };
}

export async function buildConsole(log: (msg: string) => void = console.log): Promise<string> {
  await build({ configFile: join(here, 'vite.config.ts') });
  const dist = join(here, 'dist');
  const { files, total } = firstLoadGzipBytes(dist);
  for (const f of files) log(`  ${f.file}  ${(f.gzip / 1024).toFixed(1)} KB gzip`);
  const assets = readdirSync(join(dist, 'assets')).length;
  log(`console first load: ${(total / 1024).toFixed(1)} KB gzip (budget ${BUDGET_BYTES / 1024} KB; ${assets} files in dist/assets)`);
  if (total > BUDGET_BYTES) throw new Error(`the console's first load is over budget: ${total} > ${BUDGET_BYTES} bytes gzip`);
  return dist;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildConsole().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
