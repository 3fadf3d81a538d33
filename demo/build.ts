import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Builds the web SDK, the console (served by the gateway at /console/) and the demo web app,
 * each only when its sources are newer than its build. Returns the demo web app's directory.
 */
export async function buildDemo(log: (msg: string) => void = console.log): Promise<string> {
  const sdkDist = join(root, 'web-sdk', 'dist');
  if (!existsSync(sdkDist) || newest(join(root, 'web-sdk', 'src')) > newest(sdkDist)) {
    log('building @tenantlens/web-sdk …');
    execFileSync('npm', ['run', '--silent', 'build', '-w', '@tenantlens/web-sdk'], { cwd: root, stdio: 'inherit' });
  }
  const consoleDir = join(root, 'console');
  const consoleDist = join(consoleDir, 'dist');
  const consoleSources = Math.max(newest(join(consoleDir, 'src')), statSync(join(consoleDir, 'index.html')).mtimeMs, statSync(join(consoleDir, 'vite.config.ts')).mtimeMs, newest(sdkDist));
  if (!existsSync(join(consoleDist, 'index.html')) || consoleSources > newest(consoleDist)) {
    log('building the console …');
    const { buildConsole } = await import('../console/build.ts');
    await buildConsole(log);
  }
  const webDist = join(root, 'demo', 'web', 'dist');
  const sources = Math.max(newest(join(root, 'demo', 'web', 'src')), statSync(join(root, 'demo', 'web', 'index.html')).mtimeMs, newest(sdkDist));
  if (!existsSync(webDist) || sources > newest(webDist)) {
    log('building the demo web app …');
    const { build } = await import('vite');
    await build({ configFile: join(root, 'demo', 'web', 'vite.config.ts') });
  }
  return webDist;
}
