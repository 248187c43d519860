import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev:admin` serves the console with hot reload and sends API, socket and widget calls
// to a hub running on HUB_URL (default http://127.0.0.1:3000), so the session cookie is same-origin.
const hub = process.env.HUB_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      '/api': hub,
      '/ws': { target: hub.replace(/^http/, 'ws'), ws: true },
      '/healthz': hub,
      '/readyz': hub,
    },
  },
});
