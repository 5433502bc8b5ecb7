// The Tests tab: the workspace's test file (the format of `egress-policy test`) run by the
// engine's runTests against the policy files, on every edit; each case with its expected
// and actual outcome, each failure one click from its decision and explanation; import and
// export of the test file; "Save as test case" for the request of the Request tab.
import { renderDecision, renderExplain } from "./decision.js";
import { $, baseName, el, plural, refText } from "./dom.js";
import { jumpLink } from "./links.js";
import { app, filesObject, testFile } from "./state.js";
import { classify, legend, pill } from "./verdict.js";
import { tools } from "./wasm.js";

/** Which cases are expanded (by name), kept across re-runs; until the user toggles one,
 *  the first failing case is. */
const open = new Set();
let toggled = false;

/** Runs the test file against the policy files; the report, or null without a test file. */
export function runWorkspaceTests() {
  const test = testFile();
  if (!test || !tools) return null;
  return tools.runTests(test.text, filesObject(app.ws.files), test.name);
}

function diagnosticItem(d) {
  const loc = { file: d.file ?? d.location?.file, line: d.line ?? d.location?.line, column: d.column ?? d.location?.column ?? 1 };
  return el("li", { class: d.severity ?? "error" },
    jumpLink(`${baseName(loc.file ?? "")}:${loc.line}`, loc.file ? loc : null), ` ${d.message}`);
}

function caseDetails(c, index) {
  const box = el("div", { class: "decision" });
  renderDecision(box, c.decision, c.explanation);
  const explain = el("div", { class: "case-explain" });
  renderExplain(explain, c.explanation);
  return el("div", { class: "case-details", id: `case-${index}` },
    c.mismatches.length
      ? el("table", { class: "mismatches" },
          el("thead", {}, el("tr", {}, ["expected", "wanted", "got"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, c.mismatches.map((m) => el("tr", { dataset: { field: m.field } }, el("td", {}, m.field), el("td", { class: "mono" }, m.expected), el("td", { class: "mono" }, m.actual)))))
      : null,
    box,
    c.explanation ? [el("h4", {}, "Explanation"), explain] : null);
}

export function renderTests(report) {
  const out = $("#tests");
  const badge = $("#tests-count");
  badge.textContent = "";
  const test = testFile();
  if (!report || !test) {
    out.replaceChildren(el("p", { class: "hint" }, "This workspace has no test file."));
    return;
  }
  const fileLink = jumpLink(test.name, { file: test.name, line: 1, column: 1 });
  if (report.errors.length) {
    badge.textContent = "!";
    out.replaceChildren(
      el("p", { class: "tests-summary bad", role: "status", dataset: { state: "errors" } }, "The test file does not run: ", fileLink, " has ", plural(report.errors.length, "problem"), "."),
      el("ul", { class: "problems-list" }, report.errors.map(diagnosticItem)));
    return;
  }
  if (report.failed) badge.textContent = String(report.failed);
  const firstFailed = report.cases.find((x) => !x.passed)?.name;
  const cases = report.cases.map((c, i) => {
    const expanded = toggled ? open.has(c.name) : c.name === firstFailed;
    const v = classify(c.decision);
    const details = expanded ? caseDetails(c, i) : null;
    const toggle = el("button", {
      type: "button",
      class: "case-toggle",
      "aria-expanded": String(expanded),
      "aria-controls": `case-${i}`,
      onclick: () => {
        if (!toggled && firstFailed !== undefined) open.add(firstFailed);
        toggled = true;
        if (open.has(c.name)) open.delete(c.name);
        else open.add(c.name);
        renderTests(report);
        $(`#tests li[data-index="${i}"] .case-toggle`)?.focus();
      },
    }, c.passed ? "Details" : "Explain");
    return el("li", { class: `case ${c.passed ? "passed" : "failed"}`, dataset: { index: i, name: c.name, passed: String(c.passed), kind: v.kind } },
      el("div", { class: "case-head" },
        el("span", { class: `result ${c.passed ? "pass" : "fail"}` }, c.passed ? "PASS" : "FAIL"),
        el("span", { class: "case-name" }, c.name),
        pill(c.decision),
        el("span", { class: "mono status" }, `${c.decision.status} ${c.decision.reason}`),
        c.decision.policy ? el("span", { class: "by" }, refText(c.decision.policy)) : null,
        toggle,
        jumpLink(`line ${c.location.line}`, { file: test.name, line: c.location.line, column: c.location.column })),
      !c.passed && !expanded ? el("div", { class: "mismatch-line" }, c.mismatches.map((m) => `${m.field}: wanted ${m.expected}, got ${m.actual}`).join("; ")) : null,
      details);
  });
  const unenforced = report.cases.filter((c) => classify(c.decision).kind === "open" || classify(c.decision).caveated).length;
  out.replaceChildren(...[
    el("p", { class: `tests-summary ${report.failed ? "bad" : "ok"}`, role: "status", dataset: { state: report.failed ? "failed" : "passed", passed: report.passed, failed: report.failed } },
      `${report.passed} passed, ${report.failed} failed`, " — ", fileLink, " re-runs on every edit.",
      unenforced ? ` ${plural(unenforced, "case")} allowed without enforcement or resting on assumptions.` : ""),
    legend(),
    report.warnings.length ? el("ul", { class: "problems-list" }, report.warnings.map(diagnosticItem)) : null,
    el("ol", { class: "cases" }, cases),
  ].filter(Boolean));
}

// ---------------------------------------------------------------- adding cases, import, export

/** The YAML of one test case (flow style: JSON is YAML) for a request and its decision. */
export function caseYaml(name, request, decision) {
  const expect = {
    allowed: decision.allowed,
    status: decision.status,
    reason: decision.reason,
    policy: decision.policy ? refText(decision.policy) : null,
  };
  if (decision.policy && decision.rule !== null) expect.rule = decision.rule;
  return `- name: ${JSON.stringify(name)}\n  request: ${JSON.stringify(request)}\n  expect: ${JSON.stringify(expect)}\n`;
}

/** The test file's text with `caseText` appended to its `cases`, or null when `cases` is
 *  not the last top-level key (the simulator then cannot tell where the list ends). */
export function appendCase(text, caseText) {
  if (/^cases:\s*\[\s*\]\s*$/m.test(text)) return text.replace(/^cases:\s*\[\s*\]\s*$/m, `cases:\n${caseText.trimEnd()}`);
  const keys = [...text.matchAll(/^([A-Za-z_][\w-]*):/gm)].map((m) => m[1]);
  if (keys[keys.length - 1] !== "cases") return null;
  return `${text.replace(/\s*$/, "")}\n${caseText}`;
}

/** Offers the test file as a download. */
export function exportTestFile() {
  const test = testFile();
  if (!test) return;
  const url = URL.createObjectURL(new Blob([test.text], { type: "application/yaml" }));
  const a = el("a", { href: url, download: baseName(test.name) });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
