// The workspace's files as tabs over the editor (the WAI-ARIA tabs pattern), the file
// actions (new, rename, delete, open from disk, import and export the test file), and the
// problems list (load errors, warnings and lint findings of every file).
import { $, baseName, el, plural } from "./dom.js";
import { app } from "./state.js";
import { markSelected, tablist } from "./tabs.js";

/** Problems per file name, for the tab markers. */
function problemCounts() {
  const counts = new Map();
  for (const d of [...app.diagnostics, ...app.lints]) {
    const c = counts.get(d.file) ?? { error: 0, warning: 0 };
    c[d.severity === "error" ? "error" : "warning"] += 1;
    counts.set(d.file, c);
  }
  return counts;
}

export function renderFileTabs() {
  const list = $("#file-tabs");
  const counts = problemCounts();
  const tabs = app.ws.files.map((f) => {
    const c = counts.get(f.name);
    const mark = c?.error ? el("span", { class: "tab-mark error", "aria-label": plural(c.error, "error") }, "●") : c?.warning ? el("span", { class: "tab-mark warning", "aria-label": plural(c.warning, "warning") }, "●") : null;
    return el("button", {
      type: "button",
      role: "tab",
      id: `file-tab-${app.ws.files.indexOf(f)}`,
      class: `file-tab${f.test ? " test-file" : ""}`,
      "aria-controls": "editor-panel",
      title: f.name,
      dataset: { file: f.name },
    }, f.test ? el("span", { class: "file-kind" }, "tests ") : null, baseName(f.name), mark);
  });
  list.replaceChildren(...tabs);
  const active = tabs.find((t) => t.dataset.file === app.ws.active) ?? tabs[0];
  markSelected(list, active);
  $("#editor-panel").setAttribute("aria-labelledby", active?.id ?? "");
  $("#file-name").textContent = app.ws.active;
  const isTest = Boolean(app.ws.files.find((f) => f.name === app.ws.active)?.test);
  $("#file-delete").disabled = isTest || app.ws.files.filter((f) => !f.test).length <= 1;
}

/** Wires the file tabs and the file actions; `on` holds the workspace operations. */
export function initFiles(on) {
  tablist($("#file-tabs"), (tab) => on.select(tab.dataset.file));
  $("#file-new").addEventListener("click", () => on.create());
  $("#file-rename").addEventListener("click", () => {
    const box = $("#rename-box");
    box.hidden = false;
    const input = $("#rename-input");
    input.value = app.ws.active;
    input.focus();
    input.select();
  });
  $("#rename-box").addEventListener("submit", (e) => {
    e.preventDefault();
    const to = $("#rename-input").value.trim();
    const error = on.rename(app.ws.active, to);
    $("#rename-error").textContent = error ?? "";
    if (!error) {
      $("#rename-box").hidden = true;
      $(`#file-tabs [data-file="${CSS.escape(to)}"]`)?.focus();
    }
  });
  $("#rename-cancel").addEventListener("click", () => {
    $("#rename-box").hidden = true;
    $("#rename-error").textContent = "";
    $("#file-rename").focus();
  });
  $("#file-delete").addEventListener("click", () => on.remove(app.ws.active));
  $("#file-open").addEventListener("change", async (e) => {
    const files = [...e.target.files];
    e.target.value = "";
    on.addFiles(await Promise.all(files.map(async (f) => ({ name: f.name, text: await f.text() }))));
  });
  $("#test-import").addEventListener("change", async (e) => {
    const [file] = e.target.files;
    e.target.value = "";
    if (file) on.importTest(file.name, await file.text());
  });
}

// ---------------------------------------------------------------- problems

export function renderProblems() {
  const items = [
    ...app.diagnostics.map((d) => ({ d, text: `${baseName(d.file)}:${d.line}:${d.column} ${d.severity}: ${[d.resource, d.field].filter(Boolean).join(": ")}${d.resource || d.field ? ": " : ""}${d.message}`, cls: d.severity })),
    ...app.lints.map((l) => ({ d: l, lint: true, cls: "lint" })),
  ];
  $("#problems").replaceChildren(
    ...items.map(({ d, text, cls, lint }) =>
      el("li", { class: cls, dataset: { line: d.line, file: d.file, code: lint ? d.code : null } },
        el("button", { type: "button", class: "problem", title: lint ? `help: ${d.help}` : `Go to ${d.file} line ${d.line}`, onclick: () => app.actions.jump(d) },
          lint
            ? [`${baseName(d.file)}:${d.line}:${d.column} lint `, el("code", {}, d.code), `: ${d.message}`, el("span", { class: "help" }, ` help: ${d.help}`)]
            : text))),
  );
}
