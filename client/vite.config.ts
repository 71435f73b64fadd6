import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

/**
 * The dashboard. `npm run dev:client` serves it on :5173 and forwards /graphql (HTTP and
 * WebSocket) to the API on :4000 (`API_URL` to point elsewhere); `npm run build:client`
 * writes it to client/dashboard/dist. It imports `@realtime-events/client` as any app does;
 * the `realtime-events-source` condition points the package at its sources, so the
 * dashboard needs no build of the package first.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./dashboard', import.meta.url)),
  plugins: [react()],
  resolve: { conditions: ['realtime-events-source', ...defaultClientConditions] },
  build: { outDir: fileURLToPath(new URL('./dashboard/dist', import.meta.url)), emptyOutDir: true },
  server: {
    port: 5173,
    proxy: { '/graphql': { target: process.env.API_URL ?? 'http://127.0.0.1:4000', ws: true, changeOrigin: true } },
  },
});
