import { defineConfig } from 'vite';

/**
 * Served by the gateway at /console/ under a strict CSP (script-src 'self'; style-src 'self'):
 * no inline scripts or styles, so the CSS is a file and the module-preload polyfill (an inline
 * helper in some setups) is off. Asset names carry a content hash; the gateway caches them forever.
 */
export default defineConfig({
  root: import.meta.dirname,
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
