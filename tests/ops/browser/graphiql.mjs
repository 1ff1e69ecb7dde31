// Drives the server's GraphiQL page in headless Chromium (Debian's /usr/bin/chromium):
// types a query and the Authorization header into GraphiQL's editors, runs it, prints the
// result as JSON on the last line of stdout and saves a screenshot.
//
//   GRAPHIQL_URL=http://127.0.0.1:8000/graphql TOKEN=... SCREENSHOT=out.png \
//     node graphiql.mjs
//
// Strawberry's GraphiQL page loads React, GraphiQL and the explorer plugin from unpkg.com.
// Without internet access those requests are answered here from the npm packages of the
// same name and version (package.json pins the versions the page asks for; unpkg serves
// the npm tarballs' files, so the bytes are the same and the page's SRI hashes still
// verify them). Any other outside request is blocked and makes the run fail.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const url = process.env.GRAPHIQL_URL;
const token = process.env.TOKEN;
const screenshot = process.env.SCREENSHOT;
const query = process.env.QUERY ?? "{ viewer { account { displayName } credits { available blocked } } }";
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!url || !token || !screenshot) {
  console.error("GRAPHIQL_URL, TOKEN and SCREENSHOT are required");
  process.exit(1);
}

const CDN = /^https:\/\/unpkg\.com\/((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/(.+)$/;
const TYPES = { js: "application/javascript", css: "text/css" };
const blocked = [];
const served = [];

function fromNpm(requestUrl) {
  const match = CDN.exec(requestUrl.split("?")[0]);
  if (!match) return null;
  const [, name, version, path] = match;
  const root = join(here, "node_modules", name);
  const installed = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  if (installed !== version) {
    throw new Error(`${name}@${version} requested, ${installed} installed: update package.json`);
  }
  const type = TYPES[path.split(".").pop()] ?? "application/octet-stream";
  return { body: readFileSync(join(root, path)), contentType: type };
}

const userDataDir = mkdtempSync(join(tmpdir(), "graphiql-chromium-"));
let context;
let page;
let exitCode = 1;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1400, height: 820 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  await context.route(
    (u) => u.hostname !== "127.0.0.1" && u.hostname !== "localhost" && u.protocol !== "data:",
    async (route) => {
      const requestUrl = route.request().url();
      const asset = fromNpm(requestUrl);
      if (asset === null) {
        blocked.push(requestUrl);
        return route.abort("blockedbyclient");
      }
      served.push(requestUrl);
      // unpkg answers with CORS headers; the page's <script crossorigin> needs them for SRI.
      return route.fulfill({ ...asset, headers: { "access-control-allow-origin": "*" } });
    },
  );
  page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  const authHeaders = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().startsWith(url)) {
      const body = request.postData() ?? "";
      if (!body.includes("IntrospectionQuery")) authHeaders.push(request.headers().authorization);
    }
  });

  await page.goto(url, { waitUntil: "networkidle" });
  await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: 20000 });
  // Wait until the schema has been introspected (the docs explorer button becomes usable).
  await page.waitForFunction(() => !document.querySelector(".graphiql-spinner"), null,
                             { timeout: 20000 });

  await page.evaluate((text) => {
    document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(text);
  }, query);
  // The Headers tab, as README tells users to do.
  await page.locator(".graphiql-editor-tools button", { hasText: "Headers" }).click();
  const headersEditor = page.locator(".graphiql-editor-tool .CodeMirror").last();
  await headersEditor.waitFor({ state: "visible" });
  await headersEditor.click();
  await page.keyboard.type(JSON.stringify({ Authorization: `Bearer ${token}` }));

  await page.locator(".graphiql-execute-button").click();
  const resultText = await page.waitForFunction(() => {
    const editor = document.querySelector(".graphiql-response .CodeMirror")?.CodeMirror;
    const value = editor ? editor.getValue() : "";
    return value.trim().startsWith("{") ? value : null;
  }, null, { timeout: 20000 }).then((handle) => handle.jsonValue());

  await page.screenshot({ path: screenshot });
  console.log(`served from npm: ${served.length} asset(s); blocked: ${blocked.length}`);
  for (const b of blocked) console.log(`  blocked ${b}`);
  for (const e of pageErrors) console.log(`  page error: ${e}`);
  console.log(`authorization sent: ${authHeaders.map((h) => (h ?? "none").slice(0, 13) + "…")}`);
  console.log(JSON.stringify({ result: JSON.parse(resultText), served, blocked, pageErrors,
                               authorization: authHeaders }));
  exitCode = blocked.length === 0 && pageErrors.length === 0 ? 0 : 2;
} catch (error) {
  console.error(error);
  await page?.screenshot({ path: screenshot }).catch(() => {});
} finally {
  await context?.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(exitCode);
