import { defineConfig } from "vite";

// During `npm run dev`, API calls go to an engine started with `otklik serve`.
export default defineConfig({
  build: { target: "es2021", outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/api": "http://127.0.0.1:8787", "/healthz": "http://127.0.0.1:8787" } },
});
