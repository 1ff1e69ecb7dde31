// Playwright against Debian's Chromium (never a downloaded browser) and real API servers:
// tests/ops/test_dashboard_browser.py starts a development API on the embedded default
// (DEV_API) and a production one (PROD_API); here each gets a `vite preview` of the built
// dashboard in front of it.
import { defineConfig } from "@playwright/test";

const devPort = Number(process.env.DASHBOARD_PORT ?? 5176);
const prodPort = Number(process.env.DASHBOARD_PROD_PORT ?? 5177);

export default defineConfig({
  testDir: "tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: process.env.PLAYWRIGHT_OUTPUT ?? "test-results",
  use: {
    baseURL: `http://127.0.0.1:${devPort}`,
    viewport: { width: 1280, height: 860 },
    timezoneId: "UTC",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  webServer: [
    { command: `npx vite preview --port ${devPort} --strictPort`,
      url: `http://127.0.0.1:${devPort}/`, reuseExistingServer: false, timeout: 60_000,
      env: { MEETINGS_API: process.env.DEV_API ?? "http://127.0.0.1:8106" } },
    { command: `npx vite preview --port ${prodPort} --strictPort`,
      url: `http://127.0.0.1:${prodPort}/`, reuseExistingServer: false, timeout: 60_000,
      env: { MEETINGS_API: process.env.PROD_API ?? "http://127.0.0.1:8116" } },
  ],
});
