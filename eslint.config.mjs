// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/web-sdk/src/**', '**/demo/**'], message: 'Import a package by its name, not its internals.' }] }],
    },
  },
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
