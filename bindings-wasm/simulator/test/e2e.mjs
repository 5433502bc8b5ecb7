#!/usr/bin/env node
// End-to-end test of the simulator in a real browser: Playwright (playwright-core) drives
// Debian's Chromium headless against simulator/dist served by `python3 -m http.server` on
// 127.0.0.1 (a free port; the server is stopped by PID). Screenshots go to
// simulator/test-artifacts/ (and, with --update-docs, docs/simulator.png).
//
//   node bindings-wasm/simulator/test/e2e.mjs [--update-docs]
// CHROMIUM=/path/to/chromium overrides /usr/bin/chromium. Prints TAP-like lines and a
// closing "N passed, N failed"; exits non-zero on any failure.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "../dist");
const artifacts = join(here, "../test-artifacts");
const repo = join(here, "../../..");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

if (!existsSync(join(dist, "index.html"))) {
  console.error("simulator/dist is missing: run node bindings-wasm/simulator/build.mjs");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dist], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  server.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url);
      if (res.ok) return { server, url, log: () => log };
    } catch {
      // not up yet
    }
    if (server.exitCode !== null) throw new Error(`http.server exited: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`http.server did not answer on ${url}`);
}

function stopServer(server) {
  return new Promise((resolve) => {
    if (server.exitCode !== null) return resolve();
    server.once("exit", resolve);
    process.kill(server.pid, "SIGTERM");
  });
}

// ------------------------------------------------------------------ a tiny test runner
const results = [];
async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok ${results.length} - ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`not ok ${results.length} - ${name}\n  ${String(err.stack ?? err).split("\n").join("\n  ")}`);
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}

// ------------------------------------------------------------------ page helpers
async function settle(page) {
  // Waits until the app has re-rendered after the last action: longer than the app's
  // debounce (250 ms for edits, 120 ms for the form), then until nothing changes.
  await page.waitForTimeout(350);
  let last = await page.evaluate(() => document.body.dataset.generation);
  for (let i = 0; i < 40; i++) {
    await page.waitForTimeout(150);
    const now = await page.evaluate(() => document.body.dataset.generation);
    if (now === last) return;
    last = now;
  }
}

async function decision(page) {
  return page.evaluate(() => {
    const d = document.querySelector("#decision");
    return { allowed: d.dataset.allowed, status: d.dataset.status, reason: d.dataset.reason, text: d.innerText };
  });
}

async function setRequest(page, { principal, method, url }) {
  if (principal !== undefined) await page.fill("input[name=principal]", principal);
  if (method !== undefined) await page.selectOption("select[name=method]", method);
  if (url !== undefined) await page.fill("input[name=url]", url);
  await settle(page);
}

async function pickSample(page, id) {
  await page.click(`#samples button[data-sample="${id}"]`);
  await settle(page);
  const status = await page.textContent("#load-status");
  expect(status.startsWith("loaded"), `${id}: ${status}`);
}

/** The line number (1-based) beside the gutter marker matching `selector`, or null. */
async function gutterLineOf(page, selector) {
  return page.evaluate((sel) => {
    const marker = document.querySelector(sel);
    if (!marker) return null;
    const top = marker.getBoundingClientRect().top;
    const numbers = [...document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")];
    const row = numbers.find((n) => Math.abs(n.getBoundingClientRect().top - top) < 4 && n.textContent.trim());
    return row ? Number(row.textContent) : null;
  }, selector);
}

/** The text with the first occurrence of `from` replaced, and the 1-based line it is on. */
function edit(text, from, to) {
  const at = text.indexOf(from);
  expect(at >= 0, `the sample contains ${from}`);
  return { text: text.slice(0, at) + to + text.slice(at + from.length), line: text.slice(0, at).split("\n").length };
}

async function replaceEditorText(page, text) {
  await page.evaluate((t) => {
    const view = window.simulator.view;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } });
  }, text);
  await settle(page);
}

// ------------------------------------------------------------------ the scenarios
const SCENARIOS = [
  {
    id: "istio-waypoint",
    allowed: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-productpage", method: "GET", url: "http://httpbin.org/get" },
    denied: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-productpage", method: "POST", url: "http://httpbin.org/post" },
    deniedReason: "no_allow_match",
  },
  {
    id: "gloo",
    allowed: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-productpage", method: "GET", url: "http://httpbin.org/get" },
    denied: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-reviews", method: "GET", url: "http://httpbin.org/get" },
    deniedReason: "no_allow_match",
    tls: "SIMPLE",
  },
  {
    id: "tsb",
    allowed: { principal: "cluster.local/ns/ns1/sa/app", method: "GET", url: "http://www.httpbin.org/get" },
    denied: { principal: "cluster.local/ns/ns1/sa/app", method: "GET", url: "http://example.com/" },
  },
];

const { server, url, log } = await startServer();
const profile = mkdtempSync(join(tmpdir(), "egress-sim-chromium-"));
let context;
const consoleErrors = [];
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  await check("the page loads offline from the local server and the engine starts", async () => {
    await page.goto(url);
    await page.waitForSelector("body[data-ready=true]", { timeout: 30000 });
    await settle(page);
    const samples = await page.$$eval("#samples button", (bs) => bs.map((b) => b.dataset.sample));
    for (const s of ["istio-waypoint", "gloo", "tsb"]) expect(samples.includes(s), `sample ${s} offered: ${samples}`);
    expect(await page.$(".cm-editor .cm-lineNumbers"), "CodeMirror with line numbers");
    expect((await page.$$(".cm-content .cm-line span[class]")).length > 0, "syntax highlighting spans");
  });

  for (const s of SCENARIOS) {
    await check(`${s.id}: an allowed and a denied request`, async () => {
      await pickSample(page, s.id);
      await setRequest(page, s.allowed);
      let d = await decision(page);
      expect(d.allowed === "true" && d.status === "200", `${s.id} allowed: ${JSON.stringify(d)}`);
      if (s.tls) expect(d.text.includes(s.tls), `TLS origination shown: ${d.text}`);
      await page.screenshot({ path: join(artifacts, `${s.id}-allowed.png`), fullPage: true });
      await setRequest(page, s.denied);
      d = await decision(page);
      expect(d.allowed === "false" && d.status === "403", `${s.id} denied: ${JSON.stringify(d)}`);
      if (s.deniedReason) expect(d.reason === s.deniedReason, `reason ${d.reason}`);
      const rules = await page.$$eval("#explain tr.rule-row", (rs) => rs.map((r) => r.innerText));
      expect(rules.length > 0, "the explain table lists rules");
      await page.screenshot({ path: join(artifacts, `${s.id}-denied.png`), fullPage: true });
    });
  }

  await check("the deciding policy links to its rule's line in the editor", async () => {
    await pickSample(page, "istio-waypoint");
    await setRequest(page, SCENARIOS[0].allowed);
    const link = await page.$("#decision a.jump");
    expect(link, "a link to the deciding policy");
    const line = Number(await link.getAttribute("data-line"));
    await link.click();
    await page.waitForTimeout(100);
    const cursor = await page.evaluate(() => window.simulator.cursorLine());
    expect(cursor === line, `cursor on line ${cursor}, link says ${line}`);
    const text = await page.evaluate((l) => window.simulator.view.state.doc.line(l).text, line);
    expect(/^\s*- to:/.test(text), `line ${line} is the rule: ${JSON.stringify(text)}`);
    // The explain table links the failing rule too, with its first failing field.
    await setRequest(page, SCENARIOS[0].denied);
    const failed = await page.$$eval("#explain .failed-field", (cells) => cells.map((c) => c.textContent));
    expect(failed.includes("to[0].operation.methods"), `first failing field: ${failed}`);
  });

  await check("a broken YAML shows an error marker on the right line", async () => {
    await pickSample(page, "istio-waypoint");
    const original = await page.evaluate(() => window.simulator.text());
    const lines = original.split("\n");
    const at = lines.findIndex((l) => l.includes('methods: ["GET"]'));
    expect(at >= 0, "the methods line");
    lines[at] = lines[at].replace('methods: ["GET"]', "methods: [GET");
    await replaceEditorText(page, lines.join("\n"));
    const status = await page.textContent("#load-status");
    expect(/error/.test(status), `status shows errors: ${status}`);
    const problems = await page.$$eval("#problems li.error", (li) => li.map((x) => Number(x.dataset.line)));
    expect(problems.length >= 1, "a problem listed");
    // The marker in the editor: an underlined range and a gutter marker on that line.
    const markedLines = await page.evaluate(() =>
      [...document.querySelectorAll(".cm-lintRange-error")].map((n) => window.simulator.lineOf(n)));
    expect(markedLines.includes(problems[0]), `underline on line ${problems[0]}: ${markedLines}`);
    const gutterLine = await page.evaluate(() => {
      const marker = document.querySelector(".cm-gutter-lint .cm-lint-marker-error");
      if (!marker) return null;
      const top = marker.getBoundingClientRect().top;
      const numbers = [...document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")];
      const row = numbers.find((n) => Math.abs(n.getBoundingClientRect().top - top) < 4 && n.textContent.trim());
      return row ? Number(row.textContent) : null;
    });
    expect(gutterLine === problems[0], `gutter marker beside line number ${gutterLine}, error on ${problems[0]}`);
    // The error is where the broken text is (the unclosed bracket, or right after it).
    expect(problems[0] >= at + 1 && problems[0] <= at + 2, `error line ${problems[0]} near edited line ${at + 1}`);
    const d = await decision(page);
    expect(d.allowed === undefined && /Fix the policy errors/.test(d.text), "no decision while broken");
    await page.screenshot({ path: join(artifacts, "broken-yaml.png"), fullPage: true });
    // A semantic error is located too: a bad port in a valid YAML.
    lines[at] = lines[at].replace("methods: [GET", 'methods: ["GET"]\n        ports: ["99999"]');
    await replaceEditorText(page, lines.join("\n"));
    const semantic = await page.$$eval("#problems li.error", (li) => li.map((x) => [Number(x.dataset.line), x.textContent]));
    expect(semantic.some(([l, t]) => l === at + 2 && /ports/.test(t)), `port error on line ${at + 2}: ${JSON.stringify(semantic)}`);
    await replaceEditorText(page, original);
    expect((await page.textContent("#load-status")).startsWith("loaded"), "fixed again");
  });

  await check("lint: a trap gets a warning marker on its line, with message and help in a tooltip", async () => {
    await pickSample(page, "istio-waypoint");
    const original = await page.evaluate(() => window.simulator.text());
    expect((await page.$$(".cm-lint-finding, #problems li.lint")).length === 0, "the sample lints clean");
    // `*httpbin.org` (no dot) also matches evilhttpbin.org.
    const trap = edit(original, 'hosts: ["httpbin.org"]', 'hosts: ["*httpbin.org"]');
    await replaceEditorText(page, trap.text);
    const status = await page.textContent("#load-status");
    expect(/^loaded: .*1 lint finding$/.test(status), `status counts the finding: ${status}`);
    const listed = await page.$$eval("#problems li.lint", (li) => li.map((x) => ({ line: Number(x.dataset.line), code: x.dataset.code, text: x.textContent })));
    expect(listed.length === 1 && listed[0].code === "host-suffix-without-dot" && listed[0].line === trap.line, `listed: ${JSON.stringify(listed)} (edited line ${trap.line})`);
    expect(/help: write `\*\.httpbin\.org`/.test(listed[0].text), `help listed: ${listed[0].text}`);
    // In the editor: a warning underline on that line and a warning marker beside its number,
    // no error marker.
    const marked = await page.evaluate(() => [...document.querySelectorAll(".cm-lint-finding")].map((n) => window.simulator.lineOf(n)));
    expect(marked.length >= 1 && marked.every((l) => l === trap.line), `lint underline on line ${trap.line}: ${marked}`);
    expect((await page.$$(".cm-lint-finding.cm-lintRange-warning")).length >= 1, "underlined as a warning");
    expect((await page.$$(".cm-lintRange-error, .cm-lint-marker-error")).length === 0, "no error markers");
    const gutter = await gutterLineOf(page, ".cm-gutter-lint .cm-lint-marker-warning");
    expect(gutter === trap.line, `warning marker beside line ${gutter}, finding on ${trap.line}`);
    // Hovering the underlined value shows the message, the code and the help line.
    await page.hover(".cm-lint-finding");
    await page.waitForSelector(".cm-tooltip-lint .lint-tip", { timeout: 5000 });
    const tip = await page.textContent(".cm-tooltip-lint");
    for (const part of ["host-suffix-without-dot", "evilhttpbin.org", "help: write `*.httpbin.org`", "spec.rules[0].to[0].operation.hosts[0]"]) {
      expect(tip.includes(part), `tooltip has ${JSON.stringify(part)}: ${tip}`);
    }
    await page.screenshot({ path: join(artifacts, "lint-marker.png"), fullPage: true });
    await page.mouse.move(5, 5);
    // A DENY on a host without its `host:*` twin: bypassed with `Host: httpbin.org:80`.
    const deny = edit(original, "action: ALLOW", "action: DENY");
    await replaceEditorText(page, deny.text);
    const codes = await page.$$eval("#problems li.lint", (li) => li.map((x) => [x.dataset.code, Number(x.dataset.line)]));
    expect(JSON.stringify(codes) === JSON.stringify([["deny-host-without-port", trap.line]]), `deny trap: ${JSON.stringify(codes)}`);
    expect((await gutterLineOf(page, ".cm-gutter-lint .cm-lint-marker-warning")) === trap.line, "deny trap marker on the hosts line");
    await replaceEditorText(page, original);
    expect((await page.$$(".cm-lint-finding, #problems li.lint, .cm-lint-marker-warning")).length === 0, "markers gone once fixed");
  });

  await check("what changed: an edit lists the changed request classes, live", async () => {
    await pickSample(page, "istio-waypoint");
    await page.click('.tabs button[data-tab="changes"]');
    await settle(page);
    const original = await page.evaluate(() => window.simulator.text());
    let summary = await page.textContent(".changes-summary");
    expect(/^No decision changes/.test(summary), `unedited: ${summary}`);
    expect((await page.textContent("#changes-count")) === "", "no badge");
    const rows = () => page.$$eval("#changes tr.change", (rs) => rs.map((r) => ({ ...r.dataset, text: r.innerText })));
    // Remove GET from the allowed methods: GET /get becomes denied (and POST /get allowed).
    await replaceEditorText(page, edit(original, 'methods: ["GET"]', 'methods: ["POST"]').text);
    let listed = await rows();
    const denied = listed.filter((r) => r.kind === "newly-denied");
    expect(denied.length === 1, `one newly denied row: ${JSON.stringify(listed)}`);
    const [d] = denied;
    expect(d.method === "GET" && d.path === "/get" && d.host === "httpbin.org" && d.identity === "any identity", `GET /get: ${JSON.stringify(d)}`);
    expect(d.before === "true" && d.after === "false", `allowed → denied: ${JSON.stringify(d)}`);
    expect(/GET http:\/\/httpbin\.org\/get/.test(d.text) && /allow_match|allowed_by_policy/.test(d.text), `example and decisions shown: ${d.text}`);
    expect(/routed, at Gateway istio-egress\/egress-waypoint/.test(d.text), `decided at both points: ${d.text}`);
    expect(listed.some((r) => r.kind === "newly-allowed" && r.method === "POST"), `POST /get newly allowed: ${JSON.stringify(listed)}`);
    summary = await page.textContent(".changes-summary");
    expect(/1 newly denied/.test(summary) && /1 newly allowed/.test(summary), summary);
    expect((await page.textContent("#changes-count")) === String(listed.length), "the tab badge counts the rows");
    await page.screenshot({ path: join(artifacts, "what-changed.png"), fullPage: true });
    // Recomputed on the next edit: allowing both methods leaves only POST newly allowed.
    await replaceEditorText(page, edit(original, 'methods: ["GET"]', 'methods: ["GET", "POST"]').text);
    listed = await rows();
    expect(listed.length === 1 && listed[0].kind === "newly-allowed" && listed[0].method === "POST", `only POST: ${JSON.stringify(listed)}`);
    // A row opens its example request, decided by the edited policies.
    await page.click("#changes tr.change td.example");
    await settle(page);
    const opened = await decision(page);
    expect(opened.allowed === "true", `the example is allowed now: ${JSON.stringify(opened)}`);
    expect((await page.inputValue("select[name=method]")) === "POST", "the example's method");
    // Broken policies: nothing to compare; reverting: no changes.
    await page.click('.tabs button[data-tab="changes"]');
    await replaceEditorText(page, original.replace('methods: ["GET"]', "methods: [GET"));
    expect(/Fix the policy errors/.test(await page.textContent("#changes")), "no comparison while broken");
    await page.click("#changes-revert");
    await settle(page);
    expect((await page.evaluate(() => window.simulator.text())) === original, "reverted");
    expect(/^No decision changes/.test(await page.textContent(".changes-summary")), "no changes after revert");
    await page.click('.tabs button[data-tab="decide"]');
  });

  await check("the reachability matrix decides every identity × host and follows edits", async () => {
    await pickSample(page, "gloo");
    await page.click('.tabs button[data-tab="matrix"]');
    await settle(page);
    const cells = await page.$$eval("#matrix td.cell", (cs) => cs.map((c) => ({ ...c.dataset, title: c.title })));
    const cell = (p, h) => cells.find((c) => c.principal === p && c.host === h);
    const pp = cell("cluster.local/ns/bookinfo/sa/bookinfo-productpage", "httpbin.org");
    const rv = cell("cluster.local/ns/bookinfo/sa/bookinfo-reviews", "httpbin.org");
    expect(pp && pp.allowed === "true", `productpage → httpbin allowed: ${JSON.stringify(pp)}`);
    expect(rv && rv.allowed === "false" && rv.status === "403", `reviews → httpbin denied: ${JSON.stringify(rv)}`);
    expect(/AccessPolicy bookinfo\/httpbin-access/.test(pp.title), `tooltip names the policy: ${pp.title}`);
    expect(cells.some((c) => c.principal === ""), "a plaintext row");
    await page.screenshot({ path: join(artifacts, "matrix-gloo.png"), fullPage: true });
    // Live: let reviews in too by editing the AccessPolicy.
    const text = await page.evaluate(() => window.simulator.text());
    await replaceEditorText(page, text.replace("account: productpage", "account: reviews"));
    const after = await page.$$eval("#matrix td.cell", (cs) => cs.map((c) => ({ ...c.dataset })));
    const rv2 = after.find((c) => c.principal === "cluster.local/ns/bookinfo/sa/bookinfo-reviews" && c.host === "httpbin.org");
    const pp2 = after.find((c) => c.principal === "cluster.local/ns/bookinfo/sa/bookinfo-productpage" && c.host === "httpbin.org");
    expect(rv2.allowed === "true" && pp2.allowed === "false", `matrix recomputed: ${JSON.stringify([rv2, pp2])}`);
    // Clicking a cell opens it as a request.
    await page.click('#matrix td.cell[data-principal="cluster.local/ns/bookinfo/sa/bookinfo-reviews"][data-host="httpbin.org"]');
    await settle(page);
    const d = await decision(page);
    expect(d.allowed === "true", `cell opened as a request: ${JSON.stringify(d)}`);
    await page.click('.tabs button[data-tab="matrix"]');
    await pickSample(page, "tsb");
    const tsb = await page.$$eval("#matrix td.cell", (cs) => cs.length);
    expect(tsb > 0, "tsb matrix");
    await page.screenshot({ path: join(artifacts, "matrix-tsb.png"), fullPage: true });
  });

  await check("batch mode decides pasted JSON lines", async () => {
    await pickSample(page, "istio-waypoint");
    await page.click('.tabs button[data-tab="batch"]');
    const lines = [
      '{"source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-productpage"}, "method": "GET", "url": "http://httpbin.org/get"}',
      '{"source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-productpage"}, "method": "POST", "url": "http://httpbin.org/post"}',
      "",
      '{"url": "http://httpbin.org/get", "nope": 1}',
    ];
    await page.fill("#batch-input", lines.join("\n"));
    await page.click("#batch-run");
    await settle(page);
    const rows = await page.$$eval("#batch-output tbody tr", (rs) => rs.map((r) => ({ line: r.dataset.line, allowed: r.dataset.allowed, text: r.innerText })));
    expect(rows.length === 3, `3 result rows: ${JSON.stringify(rows)}`);
    expect(rows[0].allowed === "true" && rows[1].allowed === "false", JSON.stringify(rows));
    expect(rows[2].line === "4" && /unknown field `nope`/.test(rows[2].text), JSON.stringify(rows[2]));
    const summary = await page.textContent(".batch-summary");
    expect(summary === "3 requests: 1 allowed, 1 denied, 1 invalid", summary);
    await page.screenshot({ path: join(artifacts, "batch.png"), fullPage: true });
  });

  await check("the share link round-trips policies and request through the URL fragment", async () => {
    await pickSample(page, "gloo");
    await page.click('.tabs button[data-tab="decide"]');
    const text = (await page.evaluate(() => window.simulator.text())) + "\n# shared edit\n";
    await replaceEditorText(page, text);
    await setRequest(page, { principal: "cluster.local/ns/bookinfo/sa/bookinfo-reviews", method: "DELETE", url: "http://httpbin.org/anything" });
    await page.fill("textarea[name=headers]", "x-test: 1");
    await settle(page);
    const before = await decision(page);
    await page.click("#share");
    await settle(page);
    const link = await page.inputValue("#share-url");
    expect(/#z=[A-Za-z0-9_-]+$/.test(link), `compressed base64url fragment: ${link.slice(0, 80)}`);
    const other = await context.newPage();
    other.on("pageerror", (e) => consoleErrors.push(String(e)));
    await other.goto(link);
    await other.waitForSelector("body[data-ready=true]");
    await settle(other);
    expect((await other.evaluate(() => window.simulator.text())) === text, "same policies");
    expect((await other.inputValue("input[name=principal]")) === "cluster.local/ns/bookinfo/sa/bookinfo-reviews", "same identity");
    expect((await other.inputValue("select[name=method]")) === "DELETE", "same method");
    expect((await other.inputValue("textarea[name=headers]")) === "x-test: 1", "same headers");
    const after = await decision(other);
    expect(JSON.stringify(after) === JSON.stringify(before), `same decision: ${JSON.stringify([before, after])}`);
    await other.close();
  });

  await check("no console errors", async () => {
    expect(consoleErrors.length === 0, consoleErrors.join("\n"));
  });

  // The README picture: the Gloo sample, an allowed request with its route and explanation.
  await pickSample(page, "gloo");
  await page.click('.tabs button[data-tab="decide"]');
  await setRequest(page, SCENARIOS[1].allowed);
  await page.screenshot({ path: join(artifacts, "simulator.png") });
  if (process.argv.includes("--update-docs")) {
    mkdirSync(join(repo, "docs"), { recursive: true });
    copyFileSync(join(artifacts, "simulator.png"), join(repo, "docs/simulator.png"));
  }
} finally {
  await context?.close();
  await stopServer(server);
  rmSync(profile, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
if (failed && log()) console.log(`http.server log:\n${log().slice(-2000)}`);
process.exit(failed ? 1 : 0);
