import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The console is served by consortia-api at `/`; in development Vite proxies the API to a
// server started with ./scripts/run.
const api = process.env.CONSORTIA_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    // Our own budget (scripts/chunk-sizes.mjs) is on the initial load, not on lazy chunks.
    chunkSizeWarningLimit: 700,
    assetsDir: "assets",
    // No inline scripts or styles from the build itself: the server's Content-Security-Policy
    // allows scripts from the console's own origin only.
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        manualChunks: {
          react: ["react", "react-dom", "react-router"],
        },
      },
    },
  },
  server: {
    host: "127.0.0.1",
    proxy: { "/api": api, "/auth": api, "/healthz": api },
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
