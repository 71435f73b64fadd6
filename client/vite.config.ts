import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The dashboard. `npm run dev:client` serves it on :5173 and forwards /graphql (HTTP and
 * WebSocket) to the API on :4000 (`API_URL` to point elsewhere); `npm run build:client`
 * writes it to client/dist.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./dashboard', import.meta.url)),
  plugins: [react()],
  build: { outDir: fileURLToPath(new URL('./dist', import.meta.url)), emptyOutDir: true },
  server: {
    port: 5173,
    proxy: { '/graphql': { target: process.env.API_URL ?? 'http://127.0.0.1:4000', ws: true, changeOrigin: true } },
  },
});
