import { defineConfig } from 'vite';

// The server serves dist/index.html at /join/{summit_id} and everything else in dist/ at the same
// path under /, with COOP same-origin and COEP require-corp on every response (davey's wasm needs
// SharedArrayBuffer). `npm run dev` does the same, and proxies the API to a local Parley server.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  worker: {
    format: 'es',
  },
  server: {
    headers: isolation,
    proxy: {
      '/api': { target: 'http://127.0.0.1:8470', ws: true },
    },
  },
  preview: {
    headers: isolation,
  },
});
