import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The dashboard. `npm run dev:client` serves it on :5173 and forwards /graphql (HTTP and
 * WebSocket) to the API on :4000 (`API_URL` to point elsewhere); `npm run build:client`
 * writes it to client/dashboard/dist. It imports `@realtime-events/client` as any app does;
 * here the name resolves to the package's sources (as `paths` does in client/tsconfig.json),
 * so the dashboard needs no build of the package first, and the published package names
 * only the files it ships.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./dashboard', import.meta.url)),
  plugins: [react()],
  resolve: { alias: { '@realtime-events/client': fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  build: { outDir: fileURLToPath(new URL('./dashboard/dist', import.meta.url)), emptyOutDir: true },
  server: {
    port: 5173,
    proxy: { '/graphql': { target: process.env.API_URL ?? 'http://127.0.0.1:4000', ws: true, changeOrigin: true } },
  },
});
