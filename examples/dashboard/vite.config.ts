// The dashboard talks to the API through this server's proxy, so the page, /graphql (HTTP
// and WebSocket) and the development sign-in route share one origin: no CORS set-up.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const api = process.env.MEETINGS_API ?? "http://127.0.0.1:8000";
const proxy = {
  "/graphql": { target: api, ws: true, changeOrigin: true },
  "/dev": { target: api, changeOrigin: true },
};

export default defineConfig({
  plugins: [react()],
  // One bundle (React, Apollo Client, graphql-js: ~600 kB, ~155 kB gzipped): a reference app,
  // not tuned for first load.
  build: { chunkSizeWarningLimit: 700 },
  server: { host: "127.0.0.1", port: Number(process.env.PORT ?? 5173), strictPort: true, proxy },
  preview: { host: "127.0.0.1", port: Number(process.env.PORT ?? 4173), strictPort: true, proxy },
});
