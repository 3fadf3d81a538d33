import { defineConfig } from 'vite';

// JSX through esbuild's automatic runtime: no React plugin needed (and none to keep in sync).
export default defineConfig({
  root: import.meta.dirname,
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  logLevel: 'warn',
});
