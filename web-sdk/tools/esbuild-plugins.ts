/**
 * esbuild plugins shared by the tests and the bench that bundle the SDK (web-sdk/test/modes.test.ts,
 * test/web-sdk-browser.test.ts, bench/web-sdk.ts). Tooling only, never part of the package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

export const WEB_SDK_DIR = fileURLToPath(new URL('..', import.meta.url));
const LEGACY_PEERS_DIR = fileURLToPath(new URL('../../node_modules/@tenantlens/web-sdk-compat-legacy', import.meta.url));

/**
 * Bundles one copy of each OpenTelemetry package version. In this monorepo npm nests several
 * copies of the same release (e.g. @opentelemetry/core@2.12.0 under four packages, because the
 * root's test tooling hoists 2.12.1), which an app installing `@tenantlens/web-sdk` alone would
 * not have; without this the bundle would carry them all and the sizes we report would be wrong.
 * Imports resolve as usual; a package root already seen at the same name and version is reused.
 */
export function oneOpenTelemetryCopy(): Plugin {
  const roots = new Map<string, string>(); // name@version -> package directory
  const rootOf = (file: string): { dir: string; key: string } | undefined => {
    for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (name?.startsWith('@opentelemetry/') && version !== undefined) return { dir, key: `${name}@${version}` };
    }
    return undefined;
  };
  return {
    name: 'one-opentelemetry-copy',
    setup(build) {
      build.onResolve({ filter: /^@opentelemetry\// }, async (args) => {
        if (args.pluginData === 'one-otel') return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'one-otel' });
        if (r.errors.length > 0 || r.external) return r.errors.length > 0 ? { errors: r.errors } : { path: r.path, external: true };
        const pkg = rootOf(r.path);
        if (pkg === undefined) return { path: r.path, sideEffects: r.sideEffects };
        const first = roots.get(pkg.key);
        if (first === undefined) roots.set(pkg.key, pkg.dir);
        const path = first === undefined || first === pkg.dir ? r.path : join(first, relative(pkg.dir, r.path));
        return { path, sideEffects: r.sideEffects };
      });
    },
  };
}

/**
 * Swaps MobX, mobx-react-lite, React and React DOM for the oldest supported majors (MobX 6,
 * mobx-react-lite 4, React 18), installed under @tenantlens/web-sdk-compat-legacy. Imports made
 * inside those packages resolve there too, so React DOM 18 gets React 18.
 */
export function legacyPeers(): Plugin {
  return {
    name: 'legacy-peers',
    setup(build) {
      build.onResolve({ filter: /^(mobx|mobx-react-lite|react|react-dom|scheduler)(\/.*)?$/ }, async (args) => {
        if (args.pluginData === 'legacy') return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: LEGACY_PEERS_DIR, pluginData: 'legacy' });
        return r.errors.length > 0 ? { errors: r.errors } : { path: r.path, external: r.external, sideEffects: r.sideEffects };
      });
    },
  };
}
