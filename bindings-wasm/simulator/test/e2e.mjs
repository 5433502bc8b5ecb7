#!/usr/bin/env node
// End-to-end test of the simulator in a real browser: Playwright (playwright-core) drives
// Debian's Chromium headless against simulator/dist served by simulator/serve.mjs on
// 127.0.0.1. Every numbered point of issue 14 is checked at 1440×900, 1280×720 and 390×844
// (suites.mjs), plus the time to the first decision served locally (best of 5 cold loads)
// and on a throttled profile (1.6 Mbps, 150 ms latency, 4× CPU; best of 3), and axe-core
// (no serious or critical violation). Screenshots go to target/simulator-screenshots/ (with --update-docs, one per
// viewport class into docs/); the timings to target/simulator-screenshots/timings.json.
//
//   node bindings-wasm/simulator/test/e2e.mjs [--update-docs] [--only=desktop,laptop,phone]
// CHROMIUM=/path/to/chromium overrides /usr/bin/chromium. Prints TAP-like lines and a
// closing "N passed, N failed"; exits non-zero on any failure.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { check, expect, results, setPrefix, startServer, stopServer } from "./harness.mjs";
import { editorChecks, pointChecks } from "./suites.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "../dist");
const repo = join(here, "../../..");
const shots = join(repo, "target/simulator-screenshots");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const only = (process.argv.find((a) => a.startsWith("--only=")) ?? "").slice(7).split(",").filter(Boolean);

const VIEWPORTS = [
  { id: "desktop", width: 1440, height: 900 },
  { id: "laptop", width: 1280, height: 720 },
  { id: "phone", width: 390, height: 844, mobile: true },
];

if (!existsSync(join(dist, "index.html"))) {
  console.error("simulator/dist is missing: run node bindings-wasm/simulator/build.mjs");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

/** Records whether the engine was compiled while streaming (before any page script). */
const STREAMING_PROBE = () => {
  const original = WebAssembly.instantiateStreaming;
  window.__streaming = 0;
  if (original) {
    WebAssembly.instantiateStreaming = function (...args) {
      window.__streaming += 1;
      return original.apply(this, args);
    };
  }
};

async function newPage(browser, vp, consoleErrors) {
  const context = await browser.newContext({
    viewport: { width: vp.width, height: vp.height },
    isMobile: Boolean(vp.mobile),
    hasTouch: Boolean(vp.mobile),
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  await context.addInitScript(STREAMING_PROBE);
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(`${vp.id}: ${m.text()}`));
  page.on("pageerror", (e) => consoleErrors.push(`${vp.id}: ${e}`));
  return { context, page };
}

/** The throttled profile: 1.6 Mbps down, 750 kbps up, 150 ms latency, 4× slower CPU, no cache. */
async function throttle(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1000 * 1000) / 8,
    uploadThroughput: (750 * 1000) / 8,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
}

/** Loads the page in a fresh context; the time to the first decision (ms since navigation). */
async function firstLoad(page, url) {
  const wasmRequests = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && wasmRequests.push(r.url()));
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 60000 });
  await page.waitForFunction(() => document.body.dataset.firstDecisionMs);
  const ms = Number(await page.evaluate(() => document.body.dataset.firstDecisionMs));
  return { ms, wasmRequests, streaming: await page.evaluate(() => window.__streaming) };
}

const { server, url, log } = await startServer(dist);
const consoleErrors = [];
const timings = {};
let browser;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });

  for (const vp of VIEWPORTS) {
    if (only.length && !only.includes(vp.id)) continue;
    setPrefix(`${vp.id} ${vp.width}×${vp.height}`);
    const { context, page } = await newPage(browser, vp, consoleErrors);
    await check("loads from the local server: loading indicator, preloaded streaming-compiled engine, first decision ≤ 1 s (best of 5 cold loads)", async () => {
      // Four extra cold loads in fresh contexts; the best of five is the number, as for the
      // project's other benchmarks (the machine may be busy with other work).
      const runs = [];
      for (let i = 0; i < 4; i++) {
        const extra = await newPage(browser, vp, consoleErrors);
        runs.push((await firstLoad(extra.page, url)).ms);
        await extra.context.close();
      }
      const r = await firstLoad(page, url);
      runs.push(r.ms);
      const sorted = [...runs].sort((a, b) => a - b);
      timings[`local_${vp.id}_ms`] = { best: sorted[0], median: sorted[2], runs };
      expect(sorted[0] <= 1000, `first decision after ${runs.join(", ")} ms (best ${sorted[0]})`);
      const fetched = (name) => r.wasmRequests.filter((u) => u.endsWith(`/${name}`)).length;
      expect(fetched("egress_policy_wasm_bg.wasm") === 1 && fetched("egress_policy_wasm_tools_bg.wasm") === 1 && r.wasmRequests.length === 2,
        `the engine is fetched once (preload reused), then the tools module once: ${JSON.stringify(r.wasmRequests)}`);
      expect(r.streaming >= 1, "WebAssembly.instantiateStreaming compiles the engine");
      expect(await page.isHidden("#loading"), "the loading indicator is gone once ready");
      const preload = await page.$('link[rel=preload][href$=".wasm"]');
      expect(preload, "index.html preloads the engine");
    });
    await pointChecks({ page, context, url, vp, shots, consoleErrors });
    if (vp.id === "desktop") await editorChecks({ page, shots });
    await check("no console errors", async () => {
      const mine = consoleErrors.filter((e) => e.startsWith(`${vp.id}:`));
      expect(mine.length === 0, mine.join("\n"));
    });
    await context.close();
  }

  setPrefix("throttled");
  if (!only.length || only.includes("throttled")) {
    await check("first decision ≤ 5 s at 1.6 Mbps / 150 ms / 4× CPU (best of 3 cold loads)", async () => {
      const runs = [];
      for (let i = 0; i < 3; i++) {
        const { context, page } = await newPage(browser, VIEWPORTS[0], consoleErrors);
        await throttle(context, page);
        runs.push((await firstLoad(page, url)).ms);
        await context.close();
      }
      const sorted = [...runs].sort((a, b) => a - b);
      timings.throttled_ms = { best: sorted[0], median: sorted[1], runs };
      expect(sorted[0] <= 5000, `first decision after ${runs.join(", ")} ms (best ${sorted[0]})`);
    });
    await check("while the engine loads: a loading indicator, and a typed URL is not overwritten", async () => {
      const { context, page } = await newPage(browser, VIEWPORTS[0], consoleErrors);
      await throttle(context, page);
      // Hold the engine back until the URL is typed, so that the typing surely happens
      // while it loads.
      let release;
      const typed = new Promise((resolve) => (release = resolve));
      await page.route("**/*.wasm", async (route) => {
        await typed;
        await route.continue();
      });
      const typedUrl = "http://httpbin.org/anything/typed";
      await page.goto(url, { waitUntil: "commit" });
      await page.waitForSelector("input[name=url]");
      await page.fill("input[name=url]", typedUrl);
      expect((await page.evaluate(() => document.body.dataset.ready ?? null)) === null, "typed before the engine was ready");
      expect(await page.isVisible("#loading"), "the loading indicator shows while the engine loads");
      await page.screenshot({ path: join(shots, "throttled-loading.png") });
      release();
      await page.waitForSelector("body[data-ready=true]", { timeout: 60000 });
      expect((await page.inputValue("input[name=url]")) === typedUrl, "the typed URL was kept");
      const shown = await page.evaluate(() => document.querySelector("#decision").dataset.status);
      const engine = await page.evaluate((u) => window.simulator.check({ method: "GET", source: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-productpage" }, url: u }), typedUrl);
      expect(shown === String(engine.status), `the decision is for the typed URL: ${shown} vs ${engine.status}`);
      expect(await page.isHidden("#loading"), "the indicator is gone");
      await context.close();
    });
  }
} finally {
  await browser?.close();
  await stopServer(server);
}

writeFileSync(join(shots, "timings.json"), `${JSON.stringify(timings, null, 2)}\n`);
console.log(`timings: ${JSON.stringify(timings)}`);
if (process.argv.includes("--update-docs")) {
  mkdirSync(join(repo, "docs"), { recursive: true });
  for (const vp of VIEWPORTS) {
    const from = join(shots, `${vp.id}-readme.png`);
    if (existsSync(from)) copyFileSync(from, join(repo, `docs/simulator-${vp.id}.png`));
  }
}
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
if (failed && log()) console.log(`server log:\n${log().slice(-2000)}`);
process.exit(failed ? 1 : 0);
