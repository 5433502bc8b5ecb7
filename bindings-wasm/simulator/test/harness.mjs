// Helpers of the simulator's browser test: the static server (serve.mjs, precompressed
// files, 127.0.0.1, stopped by PID), a tiny TAP-like runner, and page helpers.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const here = fileURLToPath(new URL(".", import.meta.url));

/** Starts simulator/serve.mjs on a free port; resolves to {server, url, log}. */
export function startServer(dist) {
  return new Promise((resolve, reject) => {
    const server = spawn(process.execPath, [join(here, "../serve.mjs"), "0", dist], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    server.stderr.on("data", (d) => (log += d));
    server.stdout.on("data", (d) => {
      log += d;
      const m = /listening on (\S+)/.exec(log);
      if (m) resolve({ server, url: m[1], log: () => log });
    });
    server.once("exit", (code) => reject(new Error(`serve.mjs exited (${code}): ${log}`)));
    setTimeout(() => reject(new Error(`serve.mjs did not start: ${log}`)), 10000);
  });
}

export function stopServer(server) {
  return new Promise((resolve) => {
    if (server.exitCode !== null) return resolve();
    server.once("exit", resolve);
    process.kill(server.pid, "SIGTERM");
  });
}

// ------------------------------------------------------------------ runner
export const results = [];
let prefix = "";
export const setPrefix = (p) => (prefix = p);

export async function check(name, fn) {
  const started = Date.now();
  const full = prefix ? `[${prefix}] ${name}` : name;
  try {
    await fn();
    results.push({ name: full, ok: true });
    console.log(`ok ${results.length} - ${full} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push({ name: full, ok: false });
    console.log(`not ok ${results.length} - ${full}\n  ${String(err.stack ?? err).split("\n").join("\n  ")}`);
  }
}

export function expect(cond, message) {
  if (!cond) throw new Error(message);
}

// ------------------------------------------------------------------ page helpers

/** Waits until the app re-rendered after the last action: past the debounces (250 ms for
 *  edits, 120 ms for the form), then until the render counter stops moving. */
export async function settle(page) {
  await page.waitForTimeout(350);
  let last = await page.evaluate(() => document.body.dataset.generation);
  for (let i = 0; i < 40; i++) {
    await page.waitForTimeout(150);
    const now = await page.evaluate(() => document.body.dataset.generation);
    if (now === last) return;
    last = now;
  }
}

export async function decision(page) {
  return page.evaluate(() => {
    const d = document.querySelector("#decision");
    return { ...d.dataset, className: d.className, text: d.innerText };
  });
}

export async function selectTab(page, name) {
  await page.click(`#result-tabs [data-tab="${name}"]`);
  await settle(page);
}

export async function setRequest(page, { principal, method, url, protocol }) {
  await selectTab(page, "decide");
  if (principal !== undefined) await page.fill("input[name=principal]", principal);
  if (method !== undefined) await page.selectOption("select[name=method]", method);
  if (url !== undefined) await page.fill("input[name=url]", url);
  if (protocol !== undefined) await page.selectOption("select[name=protocol]", protocol);
  await settle(page);
}

export async function pickSample(page, id) {
  await page.click(`#samples button[data-sample="${id}"]`);
  await settle(page);
  const status = await page.textContent("#load-status");
  expect(status.startsWith("loaded"), `${id}: ${status}`);
}

/** Shows the file tab whose name ends with `suffix`. */
export async function openFile(page, suffix) {
  const name = await page.evaluate((s) => window.simulator.files().find((f) => f.name.endsWith(s))?.name, suffix);
  expect(name, `a file ending in ${suffix}`);
  await page.click(`#file-tabs [data-file="${name}"]`);
  await page.waitForTimeout(50);
  return name;
}

export async function replaceEditorText(page, text) {
  await page.evaluate((t) => {
    const view = window.simulator.view;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } });
  }, text);
  await settle(page);
}

/** The text with the first occurrence of `from` replaced, and the 1-based line it is on. */
export function edit(text, from, to) {
  const at = text.indexOf(from);
  expect(at >= 0, `the text contains ${from}`);
  return { text: text.slice(0, at) + to + text.slice(at + from.length), line: text.slice(0, at).split("\n").length };
}

/** The line number (1-based) beside the gutter marker matching `selector`, or null. */
export async function gutterLineOf(page, selector) {
  return page.evaluate((sel) => {
    const marker = document.querySelector(sel);
    if (!marker) return null;
    const top = marker.getBoundingClientRect().top;
    const numbers = [...document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")];
    const row = numbers.find((n) => Math.abs(n.getBoundingClientRect().top - top) < 4 && n.textContent.trim());
    return row ? Number(row.textContent) : null;
  }, selector);
}

/** Horizontal overflow of the page and elements cut off at the right edge. */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    if (document.documentElement.scrollWidth > width) out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
    for (const node of document.querySelectorAll("button, input, select, textarea, a, h1, h2, th, label")) {
      const r = node.getBoundingClientRect();
      if (!r.width || node.closest("[hidden], .table-scroll, .cm-editor, .visually-hidden, .skip")) continue;
      if (r.right > width + 1 || r.left < -1) out.push(`cut off: ${node.tagName} ${node.id || node.className} ${Math.round(r.left)}–${Math.round(r.right)} of ${width}`);
    }
    return out;
  });
}
