// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A package may not reach into another's internals (style note: explicit public surface). */
const NO_PACKAGE_INTERNALS = { group: ['**/web-sdk/src/**', '**/demo/**'], message: 'Import a package by its name, not its internals.' };

/**
 * gateway/src's folder boundaries: what each folder (or top-level file) may import from the rest
 * of gateway/src; everything else there is refused. They follow the write path of
 * docs/architecture.md, decode → tenant → map → buffer → write, each step importing only the
 * steps and models below it, never one after it:
 * - `schema/` (the data model), `errors.ts`, `delivery/` and `ops/` are leaves;
 * - `otlp/` decodes and knows nothing of mapping or storage; `tenancy/` resolves the tenant;
 * - `mapping/` turns OTLP into points; of `influx/` it reads only the line-protocol limits
 *   (a point whose series key InfluxDB would refuse is refused here, on both stores);
 * - `influx/` writes line protocol and knows nothing of the mapping (points come from schema/);
 * - `query/` reads what was written (it names the mapping's measurements), never the write path;
 * - `store/` assembles a backend (influx/ or DuckDB, and its queries); `ingest/` strings the
 *   write path together; `http/` serves queries and alerts and never touches the database
 *   client; `app.ts` is the HTTP surface and `main.ts` the wiring, which nothing imports.
 * An entry `folder/file.ts` admits that file only. gateway/test/import-graph.test.ts checks that
 * the result has no cycle, between files or folders.
 */
const GATEWAY_LAYERS = {
  'schema': [],
  'rollup': ['schema'],
  'errors.ts': [],
  'delivery': [],
  'ops': [],
  'otlp': ['errors.ts', 'schema'],
  'config': ['errors.ts', 'otlp'],
  'config.ts': ['config', 'errors.ts', 'otlp'],
  'tenancy': ['config.ts', 'errors.ts'],
  'mapping': ['otlp', 'schema', 'influx/line-protocol.ts'],
  'influx': ['config.ts', 'delivery', 'errors.ts', 'otlp', 'schema'],
  'query': ['config.ts', 'errors.ts', 'mapping', 'rollup', 'schema', 'influx/v1-transport.ts'],
  'store': ['config.ts', 'delivery', 'errors.ts', 'influx', 'mapping', 'query', 'rollup', 'schema'],
  'ingest': ['errors.ts', 'influx', 'mapping', 'ops', 'otlp', 'rollup', 'schema', 'store/store.ts', 'tenancy'],
  'alerts': ['config.ts', 'delivery', 'ops', 'query', 'schema'],
  'http': ['alerts', 'errors.ts', 'ingest/inflate.ts', 'otlp', 'query', 'tenancy'],
  'grpc': ['config.ts', 'errors.ts', 'ingest', 'ops', 'otlp', 'tenancy'],
  'cluster': ['config.ts', 'ops'],
  'app.ts': ['config.ts', 'errors.ts', 'http', 'ingest', 'ops', 'otlp', 'query', 'store', 'tenancy'],
  'main.ts': ['alerts', 'app.ts', 'cluster', 'config.ts', 'grpc', 'http', 'influx', 'ingest', 'mapping', 'ops', 'query', 'rollup', 'store', 'tenancy'],
};

/** The flat-config entries that enforce GATEWAY_LAYERS with no-restricted-imports (by regex on the relative path). */
function gatewayBoundaries() {
  const names = Object.keys(GATEWAY_LAYERS);
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return names.flatMap((name) => {
    const allowed = GATEWAY_LAYERS[name];
    const isFile = name.endsWith('.ts');
    // A file `depth` folders below gateway/src reaches the top with that many `../` (a top-level file with `./`).
    return (isFile ? [0] : [1, 2, 3]).map((depth) => {
      const up = depth === 0 ? '\\./' : '(?:\\.\\./){' + depth + '}';
      const patterns = names
        .filter((other) => other !== name && !allowed.includes(other))
        .map((other) => {
          const only = allowed.filter((a) => a.startsWith(`${other}/`)).map((a) => a.slice(other.length + 1));
          const rest = only.length === 0 ? '' : `(?!(?:${only.map(escape).join('|')})$)`;
          const target = other.endsWith('.ts') ? `${escape(other)}$` : `${escape(other)}/${rest}`;
          const why = only.length === 0 ? `${name} may not import ${other}` : `of ${other}, ${name} may import ${only.join(', ')} only`;
          return { regex: `^${up}${target}`, message: `${why} (gateway folder boundaries: GATEWAY_LAYERS in eslint.config.mjs).` };
        });
      const files = isFile ? [`gateway/src/${name}`] : [`gateway/src/${name}/${'*/'.repeat(depth - 1)}*.ts`];
      return { files, rules: { 'no-restricted-imports': ['error', { patterns: [NO_PACKAGE_INTERNALS, ...patterns] }] } };
    });
  });
}

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'No export * barrels: name what a module exports.' }],
    },
  },
  {
    // CommonJS on purpose (demo/ingress.cjs: instrumentation patches `require`d modules).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', URL: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // A package may not reach into another's internals (style note: explicit public surface).
    files: ['gateway/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_PACKAGE_INTERNALS] }] },
  },
  // --- gateway/src: folder boundaries (after the rule above, which each entry repeats: a later
  // entry's options replace an earlier one's).
  ...gatewayBoundaries(),
  // --- web-sdk: package boundaries (web-sdk/test/package.test.ts checks the resulting import graph).
  { ignores: ['web-sdk/.tmp/**'] },
  {
    // The `.` entry: the OpenTelemetry SDK, never MobX or React (they are optional peers).
    files: ['web-sdk/src/**/*.ts'],
    ignores: ['web-sdk/src/mobx/**', 'web-sdk/src/react/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['mobx', 'react', 'react-dom', 'mobx-react-lite'].map((name) => ({ name, message: 'Only web-sdk/src/mobx and web-sdk/src/react import the optional peers.' })),
        patterns: [{ group: ['@opentelemetry/*/build/**', '@opentelemetry/*/src/**'], message: 'Import OpenTelemetry packages by their public entry.' }],
      }],
    },
  },
  {
    // `./react` and `./mobx` stay small: the OpenTelemetry API only, no reach into the setup.
    files: ['web-sdk/src/react/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'mobx', message: 'Only web-sdk/src/mobx imports mobx; use its exports.' }],
        patterns: [
          { group: ['@opentelemetry/*', '!@opentelemetry/api'], message: 'Only @opentelemetry/api here; the SDK is wired by startTenantlens (the `.` entry).' },
          { group: ['../setup/*', '../index.ts'], message: 'The bindings reach the tracer through core/bridge.ts, not the setup.' },
        ],
      }],
    },
  },
  {
    files: ['web-sdk/src/mobx/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['react', 'react-dom', 'mobx-react-lite'].map((name) => ({ name, message: 'The MobX bridge does not depend on React.' })),
        patterns: [
          { group: ['@opentelemetry/*', '!@opentelemetry/api'], message: 'Only @opentelemetry/api here; the SDK is wired by startTenantlens (the `.` entry).' },
          { group: ['../setup/*', '../index.ts', '../react/*'], message: 'The bridge reaches the tracer through core/bridge.ts, not the setup.' },
        ],
      }],
    },
  },
  // --- test/ and bench/ share harness/ and never import each other: a benchmark's helper changing
  // must not break a test, and the reverse.
  {
    files: ['test/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/bench/**'], message: 'Shared helpers live in harness/.' }] }] },
  },
  {
    files: ['bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/test/**'], message: 'Shared helpers live in harness/.' }] }] },
  },
  {
    files: ['harness/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/bench/**', '**/test/**'], message: 'harness/ serves test/ and bench/ and imports neither.' }] }] },
  },
  // --- console: api → stores → views, one direction (no cycles, no UI in the stores).
  {
    files: ['console/src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['mobx', 'react', 'react-dom', 'mobx-react-lite', '@tenantlens/web-sdk', '@tenantlens/web-sdk/mobx'].map((name) => ({ name, message: 'console/src/api is the plain HTTP client: no state, no UI.' })),
        patterns: [{ group: ['../stores/*', '../views/*', '../views/**'], message: 'The API client does not know the stores or the views.' }],
      }],
    },
  },
  {
    files: ['console/src/stores/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['react', 'react-dom', 'mobx-react-lite'].map((name) => ({ name, message: 'Stores hold state; React lives in console/src/views.' })),
        patterns: [{ group: ['../views/*', '../views/**'], message: 'Stores do not import views.' }],
      }],
    },
  },
);
