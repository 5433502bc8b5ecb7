// "What changed": every class of requests whose decision differs between the baseline and
// the edited policies (the engine's diff), recomputed on every edit. The baseline is the
// sample or link the workspace came from until the user sets the current files as baseline.
import { $, decider, el, plural } from "./dom.js";
import { formOf } from "./form.js";
import { jumpLink, policyLocation } from "./links.js";
import { app } from "./state.js";
import { legend, pill } from "./verdict.js";
import { PolicyError, tools } from "./wasm.js";

/** Sets what "What changed" compares with: `files` ([{name, text}]) under `label` (its engine
 *  once the tools module, which diffs, has loaded). */
export function setBaseline(label, files) {
  app.baseline?.engine?.free();
  let engine = null;
  try {
    if (tools) engine = tools.Engine.fromFiles(Object.fromEntries(files.map((f) => [f.name, f.text])));
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
  }
  app.baseline = { label, files: files.map(({ name, text }) => ({ name, text })), engine };
}

const verdictText = (o) => `${o.allowed ? "allow" : "deny"} ${o.status} ${o.reason}`;

function outcomeCell(o) {
  const by = decider(o);
  return el("td", {},
    pill(o),
    ` ${o.status}`,
    el("div", { class: "reason mono" }, o.reason),
    by ? el("div", { class: "by" }, jumpLink(by, policyLocation(o.policy, o.rule))) : null);
}

/** The example request of a change (an authority and a path) as a Request with a URL. */
const requestOfChange = (request) => {
  const { host, path, ...rest } = request;
  return { ...rest, url: `http://${host}${path ?? "/"}` };
};

export function renderChanges() {
  const out = $("#changes");
  const badge = $("#changes-count");
  badge.textContent = "";
  const base = app.baseline;
  const setButton = el("button", { type: "button", id: "changes-set-baseline", onclick: () => app.actions.setBaselineToCurrent() }, "Set current files as baseline");
  if (!base) {
    out.replaceChildren(el("div", { class: "changes-head" }, el("span", {}, "No baseline yet."), setButton));
    return;
  }
  const head = el("div", { class: "changes-head" },
    el("span", { class: "baseline-label" }, `Compared with ${base.label}.`),
    el("span", { class: "buttons" },
      setButton,
      el("button", { type: "button", id: "changes-revert", onclick: () => app.actions.revertToBaseline() }, "Revert to baseline")));
  if (!tools) {
    out.replaceChildren(head, el("p", { class: "hint" }, "Loading the tools…"));
    return;
  }
  if (!base.engine) {
    out.replaceChildren(head, el("p", { class: "hint" }, "The baseline policies do not load: nothing to compare with."));
    return;
  }
  if (!app.engine) {
    out.replaceChildren(head, el("p", { class: "hint" }, "Fix the policy errors to compare."));
    return;
  }
  let report;
  try {
    report = tools.diff(base.engine, app.engine);
  } catch (err) {
    out.replaceChildren(head, el("p", { class: "hint" }, `Cannot compare: ${err.message}`));
    return;
  }
  // Classes that differ only by where they are decided are one row (as `egress-policy diff`).
  const rows = [];
  for (const c of report.changes) {
    const key = JSON.stringify([c.identity.label, c.host.label, c.method.label, c.path.label, verdictText(c.before), decider(c.before), verdictText(c.after), decider(c.after)]);
    const row = rows.find((r) => r.key === key);
    if (row) row.points.push(c.point);
    else rows.push({ key, points: [c.point], change: c });
  }
  badge.textContent = rows.length ? String(rows.length) : "";
  const notes = [
    ...report.mesh.map((m) => el("li", {}, `mesh: ${m}`)),
    ...report.caveats.map((c) => el("li", {}, `note: ${c}`)),
  ];
  const count = (test) => rows.filter(({ change: c }) => test(c.before.allowed, c.after.allowed)).length;
  const summary = report.changed
    ? `${plural(rows.length, "request class", "request classes")} change decision: ${count((b, a) => !b && a)} newly allowed, ${count((b, a) => b && !a)} newly denied (${report.cells} classes compared at: ${report.points.join(", ")}).`
    : `No decision changes (${report.cells} request classes compared at: ${report.points.join(", ")}).`;
  const body = rows.map(({ points, change: c }) => {
    const kind = c.before.allowed && !c.after.allowed ? "newly-denied" : !c.before.allowed && c.after.allowed ? "newly-allowed" : "changed";
    const request = requestOfChange(c.request);
    const form = formOf(request);
    return el("tr", {
      class: `change ${kind}`,
      dataset: { kind, identity: c.identity.label, host: c.host.label, method: c.method.label, path: c.path.label, before: String(c.before.allowed), after: String(c.after.allowed), afterReason: c.after.reason },
    },
    el("td", { class: "class" },
      el("div", { class: "mono" }, `${c.method.label} · ${c.host.label} · ${c.path.label}`),
      el("div", { class: "who" }, c.identity.label)),
    el("td", { class: "example" },
      el("button", { type: "button", class: "link-button open-example", title: "Open the example request on the Request tab", onclick: () => app.actions.openRequest(request) },
        el("span", { class: "mono" }, `${form.method} ${form.url}`)),
      el("div", { class: "who mono" }, form.principal || "(plaintext)")),
    outcomeCell(c.before),
    outcomeCell(c.after),
    el("td", { class: "where" }, points.join(", ")));
  });
  const parts = [head, el("p", { class: `changes-summary ${report.changed ? "changed" : "same"}`, role: "status" }, summary)];
  if (rows.length) {
    parts.push(legend(), el("div", { class: "table-scroll" }, el("table", { class: "changes" },
      el("thead", {}, el("tr", {}, ["request class", "example request", "before", "after", "decided at"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, body))));
  }
  if (notes.length) parts.push(el("ul", { class: "notes" }, notes));
  out.replaceChildren(...parts);
}
