import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Where `npm run dev` proxies /api to (a running provider or e2e/mock-provider.mjs).
const apiTarget = process.env.PORTICO_API || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  plugins: [svelte()],
  // Under vitest, resolve Svelte's browser build so components can be mounted in jsdom.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': { target: apiTarget, changeOrigin: false } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.js'],
  },
});
