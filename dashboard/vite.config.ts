import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';
import { trainingInputPlugin } from './build/training-input-plugin.ts';

const dashboardDir = path.dirname(fileURLToPath(import.meta.url));
// The API the dev server forwards /graphql (HTTP and WebSocket) to.
const apiOrigin = process.env.API_URL ?? `http://localhost:${process.env.PORT ?? 4000}`;

export default defineConfig({
  root: dashboardDir,
  base: '/',
  plugins: [vue(), trainingInputPlugin(path.resolve(dashboardDir, '../schema.graphql'))],
  build: {
    outDir: path.resolve(dashboardDir, 'dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      // Chart.js is shared by the Training and Models pages: one named chunk, loaded with them.
      output: { codeSplitting: { includeDependenciesRecursively: false, groups: [{ name: 'charts', test: /node_modules[\\/](chart\.js|vue-chartjs|@kurkle)/ }] } },
    },
  },
  server: {
    port: 5173,
    proxy: {
      // The API refuses WebSocket upgrades from other origins: the dev page's proxied requests
      // present the API's own origin.
      '/graphql': { target: apiOrigin, ws: true, changeOrigin: true, headers: { origin: apiOrigin } },
      '/healthz': { target: apiOrigin, changeOrigin: true },
      '/readyz': { target: apiOrigin, changeOrigin: true },
    },
  },
  preview: {
    proxy: {
      '/graphql': { target: apiOrigin, ws: true, changeOrigin: true, headers: { origin: apiOrigin } },
    },
  },
});
