import { defineConfig } from 'vite';

/**
 * Served by the gateway at /console/ under a strict CSP (script-src 'self'; style-src 'self'):
 * no inline scripts or styles, so the CSS is a file and the module-preload polyfill (an inline
 * helper in some setups) is off. Asset names carry a content hash; the gateway caches them forever.
 */
export default defineConfig({
  root: import.meta.dirname,
  // `npx vite console` for development: the API and the console's telemetry go to a running gateway.
  server: {
    proxy: Object.fromEntries(['/api', '/console/v1'].map((p) => [p, process.env.TENANTLENS_GATEWAY ?? 'http://127.0.0.1:4318'])),
  },
  base: '/console/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: { output: { entryFileNames: 'assets/[name]-[hash].js', chunkFileNames: 'assets/[name]-[hash].js', assetFileNames: 'assets/[name]-[hash][extname]' } },
  },
  logLevel: 'warn',
});
