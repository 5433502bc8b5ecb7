// The egress-policy simulator: every decision, explanation, road, diagnostic, lint finding,
// inventory, test report and policy diff comes from the engine compiled to WebAssembly;
// these modules only render them, keep the workspace and build Request JSON from the form.
//
// Modules: state.js (workspace, autosave), form.js (request form), decision.js + road.js
// (Request tab), tests.js, matrix.js, changes.js, traffic.js (one per view), files.js (file tabs,
// problems), editor.js (CodeMirror), share.js (links), tabs.js (ARIA tabs), verdict.js.
import samples from "virtual:samples";
import { renderChanges, setBaseline } from "./changes.js";
import { renderDecision, renderExplain } from "./decision.js";
import { $, baseName, debounce, el, plural } from "./dom.js";
import { initFiles, renderFileTabs, renderProblems } from "./files.js";
import { formOf, readForm, refreshInventory, requestOf, writeForm } from "./form.js";
import { initMatrix, renderMatrix } from "./matrix.js";
import { decodeState, encodeState, isShareFragment } from "./share.js";
import {
  AUTOSAVE_KEY, app, autosave, bump, emptyTestFile, fileNamed, linkWorkspace, policyDir, policyFiles,
  restoreAutosave, sampleWorkspace, shareState, testFile, validateState,
} from "./state.js";
import { markSelected, tablist } from "./tabs.js";
import { appendCase, caseYaml, exportTestFile, renderTests, runWorkspaceTests } from "./tests.js";
import { initTraffic, renderTraffic } from "./traffic.js";
import { EngineClass, PolicyError, loadEngine, loadTools, tools } from "./wasm.js";

// Start fetching and compiling the engine module at once.
performance.mark("app-start");
const engineReady = loadEngine();

const PREVIOUS_KEY = "egress-policy-simulator/previous/v2";
let editor = null;
let started = false;
let firstDecision = true;

// ---------------------------------------------------------------- status, banner

function setStatus(text, level) {
  const s = $("#load-status");
  s.textContent = text;
  s.className = `status ${level}`;
  s.dataset.level = level;
}

/** Shows a message above the workspace (`role=alert` for errors), with optional buttons. */
function banner(kind, text, ...buttons) {
  const box = $("#banner");
  box.className = `banner ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.replaceChildren(el("span", { class: "banner-text" }, text), ...buttons,
    el("button", { type: "button", class: "banner-close", "aria-label": "Dismiss this message", onclick: () => { box.hidden = true; } }, "×"));
  box.hidden = false;
  box.dataset.kind = kind;
}

// ---------------------------------------------------------------- loading policies

/** Loads the policy files into a new engine and decides the request at once; the lint
 *  findings, markers, tests and "What changed" follow in a later task, so that the first
 *  decision does not wait for them (nor for the tools module: until it has loaded, only the
 *  engine's warnings are shown, and its arrival reloads). */
function reload() {
  if (!started) return;
  app.engine?.free();
  app.engine = null;
  app.inventory = null;
  app.lints = [];
  const files = policyFiles();
  try {
    app.engine = EngineClass().fromFiles(Object.fromEntries(files.map((f) => [f.name, f.text])));
    app.diagnostics = app.engine.warnings;
    app.inventory = app.engine.inventory();
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    app.diagnostics = err.diagnostics;
  }
  if (firstDecision) performance.mark("policies-loaded");
  refreshInventory();
  evaluate();
  bump();
  const engine = app.engine;
  clearTimeout(app.followUp);
  app.followUp = setTimeout(() => {
    if (app.engine === engine) afterReload(files);
  }, 0);
}

function afterReload(files) {
  if (app.engine) {
    const names = new Set(files.map((f) => f.name));
    app.lints = tools ? app.engine.lint().filter((l) => names.has(l.file)) : [];
    const warnings = app.diagnostics.length;
    const lints = app.lints.length;
    const extra = [warnings ? plural(warnings, "warning") : "", lints ? plural(lints, "lint finding") : ""].filter(Boolean).join(", ");
    setStatus(`loaded: ${app.inventory.policies.length} policies, ${app.engine.ruleCount} rules${extra ? `, ${extra}` : ""}`, warnings ? "warn" : "ok");
  } else {
    const errors = app.diagnostics.filter((d) => d.severity === "error").length;
    setStatus(`${plural(errors, "error")}: policies not loaded`, "bad");
  }
  const byFile = new Map(app.ws.files.map((f) => [f.name, { diagnostics: [], lints: [] }]));
  for (const d of app.diagnostics) byFile.get(d.file)?.diagnostics.push(d);
  for (const l of app.lints) byFile.get(l.file)?.lints.push(l);
  app.markers = byFile;
  editor?.setMarkers(byFile);
  renderProblems();
  renderFileTabs();
  if (!tools) {
    // The tests, "What changed", the matrix and the traffic view follow the tools module.
    bump();
    return;
  }
  rerunTests();
  if (app.pendingBaseline) {
    setBaseline(app.pendingBaseline.label, app.pendingBaseline.files);
    app.pendingBaseline = null;
  }
  refreshViews();
  bump();
}

function rerunTests() {
  if (!started || !tools) return;
  app.tests = runWorkspaceTests();
  renderTests(app.tests);
}

/** Renders the matrix and "What changed" (the matrix only when shown: it decides many requests). */
function refreshViews() {
  if (!$("#tab-matrix").hidden) renderMatrix();
  else app.matrixStale = true;
  renderChanges();
  if (!$("#tab-traffic").hidden) renderTraffic();
  else app.trafficStale = true;
}

// ---------------------------------------------------------------- the Request tab

function evaluate() {
  const box = $("#decision");
  if (!app.engine) {
    renderDecision(box, null);
    renderExplain($("#explain"), null);
    return;
  }
  const request = requestOf(readForm());
  try {
    const explanation = app.engine.explain(request);
    renderDecision(box, explanation.decision, explanation);
    renderExplain($("#explain"), explanation);
  } catch (err) {
    box.className = "decision unavailable";
    box.replaceChildren(el("div", { role: "alert" }, `Invalid request: ${err.message}`));
    renderExplain($("#explain"), null);
  }
  if (firstDecision) {
    firstDecision = false;
    const ms = Math.round(performance.now());
    performance.mark("first-decision");
    document.body.dataset.firstDecisionMs = String(ms);
  }
}

/** Opens `request` on the Request tab. */
function openRequest(request) {
  writeForm({ ...readForm(), ...formOf(request) });
  selectResultTab("decide");
  evaluate();
  if (!$("#tab-matrix").hidden) renderMatrix();
  saveSoon();
  bump();
  $("#decision").focus();
}

function saveAsTestCase() {
  const test = testFile();
  const note = $("#case-note");
  if (!app.engine || !test) {
    note.textContent = "Fix the policy errors first.";
    return;
  }
  const values = readForm();
  const request = requestOf(values);
  const decision = app.engine.check(request);
  const name = `${values.principal || "plaintext"} ${values.method} ${values.url}`.trim();
  const text = appendCase(test.text, caseYaml(name, request, decision));
  if (text === null) {
    note.textContent = `Cannot add: make \`cases:\` the last key of ${test.name}.`;
    return;
  }
  updateFile(test.name, text);
  note.textContent = `Added “${name}” to ${baseName(test.name)}, expecting ${decision.allowed ? "allowed" : "denied"} ${decision.status}.`;
  bump();
}

// ---------------------------------------------------------------- the workspace

const saveSoon = debounce(() => {
  if (!app.ws) return;
  const ok = autosave(app.ws, readForm());
  $("#autosave-note").textContent = ok ? "saved in this browser" : "not saved: this browser refuses local storage";
}, 400);

const reloadSoon = debounce(() => reload(), 250);

/** An edit in the editor: policy files reload the engine, the test file re-runs the tests. */
function onEdit(name, text) {
  const file = fileNamed(name);
  if (!file) return;
  file.text = text;
  saveSoon();
  if (!started) return; // decided once the engine is ready
  if (file.test) {
    rerunTests();
    bump();
  } else {
    reloadSoon();
  }
}

/** Replaces a file's text (shown or not) as the app, not the user, does. */
function updateFile(name, text) {
  const file = fileNamed(name);
  file.text = text;
  if (app.ws.active === name) editor?.setText(text);
  else editor?.put(name, text);
  if (file.test) rerunTests();
  else reload();
  saveSoon();
}

function selectFile(name) {
  if (!fileNamed(name)) return;
  app.ws.active = name;
  editor?.show(name);
  renderFileTabs();
  saveSoon();
}

/** Loads a workspace into the editor and, once the engine runs, decides. */
function loadWorkspace(ws, { form = null, keepTouched = false } = {}) {
  app.ws = ws;
  showWorkspaceFiles();
  for (const b of document.querySelectorAll("#samples button")) b.setAttribute("aria-pressed", String(b.dataset.sample === ws.sample));
  const sample = samples.find((s) => s.id === ws.sample);
  const values = form ?? ws.form ?? (sample ? formOf((sample.demo.find((d) => d.request.url) ?? sample.demo[0]).request) : null);
  if (values) writeForm(values, { keepTouched });
  renderFileTabs();
  if (!started) return;
  app.pendingBaseline = ws.baseline;
  if (!ws.baseline) {
    app.baseline?.engine?.free();
    app.baseline = null;
  }
  reload();
  saveSoon();
}

/** Shows the workspace's files in the editor, or (editor not loaded yet) the active file's
 *  text as a read-only placeholder. */
function showWorkspaceFiles() {
  if (!editor) {
    const text = fileNamed(app.ws.active)?.text ?? "";
    $("#editor").replaceChildren(el("pre", { class: "editor-placeholder", "aria-label": `${app.ws.active} (the editor is loading)` }, text));
    return;
  }
  editor.reset(app.ws.files, app.ws.active);
  if (app.markers) editor.setMarkers(app.markers);
}

/** Loads CodeMirror (its own chunk, fetched after the engine so that the engine's bytes
 *  come first on a slow line) and shows the files in it. */
let editorLoading = null;
function loadEditor() {
  editorLoading ??= import("./editor.js").then(({ FileEditor }) => {
    $("#editor").replaceChildren();
    editor = new FileEditor($("#editor"), onEdit);
    showWorkspaceFiles();
    return editor;
  });
  return editorLoading;
}

function loadSample(sample) {
  $("#share-box").hidden = true;
  $("#banner").hidden = true;
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  loadWorkspace(sampleWorkspace(sample));
  // A new scenario starts at its top: page and editor.
  window.scrollTo(0, 0);
  editor?.view.scrollDOM.scrollTo(0, 0);
}

const fileOps = {
  select: selectFile,
  create() {
    const dir = policyDir();
    let n = 1;
    while (fileNamed(`${dir}/new-${n}.yaml`)) n += 1;
    const name = `${dir}/new-${n}.yaml`;
    app.ws.files.splice(policyFiles().length, 0, { name, text: "# A policy file: paste Istio, TSB, Gloo or Kubernetes YAML here.\n" });
    editor?.put(name, fileNamed(name).text);
    selectFile(name);
    editor?.view.focus();
  },
  rename(from, to) {
    if (!to) return "A file needs a name.";
    if (to !== from && fileNamed(to)) return `A file named ${to} exists already.`;
    if (!/\.(ya?ml|json)$/.test(to)) return "Policy and test files end in .yaml, .yml or .json.";
    const file = fileNamed(from);
    file.name = to;
    if (app.ws.active === from) app.ws.active = to;
    editor?.rename(from, to);
    if (file.test) rerunTests();
    else reload();
    renderFileTabs();
    saveSoon();
    return null;
  },
  remove(name) {
    const file = fileNamed(name);
    if (!file || file.test || policyFiles().length <= 1) return;
    app.ws.files = app.ws.files.filter((f) => f !== file);
    editor?.remove(name);
    selectFile(app.ws.files[0].name);
    reload();
    $(`#file-tabs [data-file="${CSS.escape(app.ws.active)}"]`)?.focus();
  },
  addFiles(files) {
    const dir = policyDir();
    for (const f of files) {
      const name = `${dir}/${baseName(f.name)}`;
      const existing = fileNamed(name);
      if (existing) existing.text = f.text;
      else app.ws.files.splice(policyFiles().length, 0, { name, text: f.text });
      editor?.put(name, f.text);
    }
    if (files.length) selectFile(`${dir}/${baseName(files[0].name)}`);
    reload();
    saveSoon();
  },
  importTest(name, text) {
    const test = testFile();
    const to = `tests/${baseName(name)}`;
    if (test.name !== to && !fileNamed(to)) fileOps.rename(test.name, to);
    updateFile(testFile().name, text);
    selectFile(testFile().name);
    selectResultTab("tests");
  },
};

// ---------------------------------------------------------------- result tabs

function selectResultTab(name) {
  const list = $("#result-tabs");
  markSelected(list, list.querySelector(`[data-tab="${name}"]`));
  if (name === "matrix" && app.matrixStale && app.engine) {
    app.matrixStale = false;
    renderMatrix();
  }
  if (name === "traffic" && app.trafficStale) {
    app.trafficStale = false;
    renderTraffic();
  }
}

// ---------------------------------------------------------------- sharing

async function share() {
  const fragment = await encodeState(shareState(app.ws, readForm()));
  history.replaceState(null, "", `#${fragment}`);
  const url = location.href;
  $("#share-box").hidden = false;
  $("#share-url").value = url;
  $("#share-url").focus();
  $("#share-url").select();
  let note = `${url.length} characters`;
  try {
    await navigator.clipboard.writeText(url);
    note += ", copied to the clipboard";
  } catch {
    note += "; copy it from the box";
  }
  $("#share-note").textContent = note;
  bump();
}

/** The workspace of a share link, or null (no link, or a damaged one: then a banner says
 *  so and the current work stays). */
async function fromLink(fragment) {
  if (!isShareFragment(fragment)) return null;
  try {
    return linkWorkspace(validateState(await decodeState(fragment)));
  } catch (err) {
    banner("error", `This share link is damaged: ${err.message}. Nothing was replaced: ${app.ws ? "your work is as it was" : "your last workspace is shown"}. Ask for the link again, or copy it whole.`);
    return null;
  }
}

/** Keeps the current workspace aside before a link replaces it, and offers it back. */
function keepPrevious() {
  const saved = localStorage.getItem(AUTOSAVE_KEY);
  if (!saved) return;
  try {
    localStorage.setItem(PREVIOUS_KEY, saved);
  } catch {
    return;
  }
  banner("info", "Opened a shared link. Your previous workspace was kept.",
    el("button", { type: "button", id: "restore-previous", onclick: () => {
      const text = localStorage.getItem(PREVIOUS_KEY);
      if (!text) return;
      localStorage.setItem(AUTOSAVE_KEY, text);
      const ws = restoreAutosave();
      if (ws) {
        history.replaceState(null, "", location.pathname + location.search);
        loadWorkspace(ws);
        $("#banner").hidden = true;
      }
    } }, "Restore it"));
}

async function onHashChange() {
  const ws = await fromLink(location.hash);
  if (!ws) return;
  keepPrevious();
  loadWorkspace(ws);
}

// ---------------------------------------------------------------- start

function wire() {
  $("#samples").replaceChildren(
    ...samples.map((s) => el("button", { type: "button", title: s.blurb, "aria-pressed": "false", dataset: { sample: s.id }, onclick: () => loadSample(s) }, s.title)),
  );
  const form = $("#request-form");
  const onForm = debounce(() => {
    if (!started) return;
    evaluate();
    if (!$("#tab-matrix").hidden) renderMatrix();
    else app.matrixStale = true;
    saveSoon();
    bump();
  }, 120);
  form.addEventListener("input", onForm);
  form.addEventListener("change", onForm);
  form.addEventListener("submit", (e) => e.preventDefault());
  tablist($("#result-tabs"), (tab) => selectResultTab(tab.dataset.tab));
  initFiles(fileOps);
  initMatrix();
  initTraffic();
  $("#save-case").addEventListener("click", saveAsTestCase);
  $("#test-export").addEventListener("click", exportTestFile);
  $("#share").addEventListener("click", share);
  window.addEventListener("hashchange", onHashChange);
  app.actions = {
    jump: (loc) => {
      const name = loc.file && fileNamed(loc.file) ? loc.file : app.ws.active;
      if (name !== app.ws.active) selectFile(name);
      editor?.jumpTo(name, loc.line, loc.column);
    },
    openRequest,
    addFiles: (files) => fileOps.addFiles(files),
    refreshMatrix: () => {
      renderMatrix();
      bump();
    },
    setBaselineToCurrent: () => {
      setBaseline(`your files as of ${new Date().toLocaleTimeString()}`, policyFiles());
      renderChanges();
      saveSoon();
      bump();
    },
    revertToBaseline: () => {
      const base = app.baseline;
      if (!base) return;
      const tests = testFile();
      app.ws.files = [...base.files.map((f) => ({ ...f })), ...(tests ? [tests] : [])];
      if (!fileNamed(app.ws.active)) app.ws.active = app.ws.files[0].name;
      showWorkspaceFiles();
      reload();
      saveSoon();
    },
  };
}

async function main() {
  wire();
  performance.mark("wired");
  // The workspace: a share link, else the autosave, else the first sample. Shown in the
  // editor at once; decisions follow when the engine is ready.
  const linked = await fromLink(location.hash);
  if (linked) keepPrevious();
  const ws = linked ?? restoreAutosave() ?? sampleWorkspace(samples[0]);
  if (!ws.files.some((f) => f.test)) ws.files.push({ name: "tests/scenario.yaml", text: emptyTestFile(policyDir(ws)), test: true });
  loadWorkspace(ws, { keepTouched: true });
  performance.mark("workspace-shown");
  await engineReady;
  performance.mark("engine-ready");
  // The engine runs: decide what is on screen now (edits and typing made while it loaded
  // included), then bring the editor in.
  started = true;
  app.pendingBaseline = app.ws.baseline;
  reload();
  // The tools module next (in the background; it does not hold the first decision), then the
  // engines again, made by it: lint findings, tests, "What changed", the matrix and traffic.
  const toolsReady = loadTools().then(() => {
    performance.mark("tools-ready");
    if (app.baseline) setBaseline(app.baseline.label, app.baseline.files);
    reload();
  });
  await loadEditor();
  $("#loading").hidden = true;
  await toolsReady;
  document.body.dataset.ready = "true";
  // Test hooks (the browser test reads the editor through these).
  window.simulator = {
    get view() { return editor.view; },
    cursorLine: () => editor.cursorLine(),
    lineOf: (node) => editor.view.state.doc.lineAt(editor.view.posAtDOM(node)).number,
    text: () => editor.text(),
    active: () => app.ws.active,
    files: () => app.ws.files.map((f) => ({ ...f })),
    /** The engine's own answers, to compare the page with. */
    check: (request) => app.engine?.check(request) ?? null,
    explain: (request) => app.engine?.explain(request) ?? null,
    replay: (log, options) => app.engine?.replay?.(log, options) ?? null,
  };
}

main().catch((err) => {
  document.body.dataset.ready = "error";
  $("#loading").hidden = true;
  setStatus(`failed to start: ${err.message}`, "bad");
  banner("error", `The simulator failed to start: ${err.message}`);
  throw err;
});
