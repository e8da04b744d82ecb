import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The console is served by `chuda serve` at "/". For development, `npm run dev` proxies the API to a running server
// (CHUDA_URL, default http://127.0.0.1:5000); with CHUDA_ADMIN_KEY and VITE_DEV_SESSION=1 set it signs every proxied
// request with that key instead of a session cookie.
const target = process.env.CHUDA_URL ?? "http://127.0.0.1:5000";
const key = process.env.CHUDA_ADMIN_KEY;
const proxy = { target, headers: key ? { Authorization: `Bearer ${key}` } : undefined };

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { "/api": proxy, "/health": proxy, "/v1": proxy } },
});
