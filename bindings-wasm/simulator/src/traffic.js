// "Traffic": drop an access log and see its impact (every request decided with your
// files: engine.replay) and the smallest policy set that allows exactly it (suggest).
// Recomputed on every edit of the policies or the log.
import { $, debounce, el, plural } from "./dom.js";
import { jumpLink, policyLocation } from "./links.js";
import { app, bump } from "./state.js";
import { pill } from "./verdict.js";
import { tools } from "./wasm.js";

/** The log options of the form. */
function options() {
  const identities = $("#traffic-identities").value.trim();
  return {
    format: $("#traffic-format").value,
    ...(identities ? { identities: `${identities}\n` } : {}),
  };
}

/** Request JSON lines built from what the policies mention: each identity to each host. */
function sampleLog() {
  const inv = app.inventory;
  if (!inv) return "";
  const identities = inv.identities.map((i) => i.principal);
  const lines = [];
  for (const host of inv.hosts) {
    for (const principal of identities.length ? identities : [null]) {
      const source = principal ? { principal } : {};
      for (const method of ["GET", "POST"]) lines.push(JSON.stringify({ source, method, url: host.url }));
    }
  }
  return lines.slice(0, 200).join("\n");
}

/** `Kind namespace/name` (a replay outcome's policy) as a resource reference. */
function refOf(text) {
  const match = /^(\S+) ([^/]+)\/(.+)$/.exec(text ?? "");
  return match ? { kind: match[1], namespace: match[2], name: match[3] } : null;
}

function outcomeCell(o) {
  const label = `${o.policy}${o.rule !== null ? ` rule ${o.rule}` : ""}`;
  const policy = o.policy ? jumpLink(label, policyLocation(refOf(o.policy), o.rule)) : null;
  return el("td", {}, pill(o), ` ${o.status} `, el("span", { class: "reason mono" }, o.reason), policy ? el("div", { class: "by" }, policy) : null);
}

function renderImpact(report) {
  const rows = report.rows.map((r) =>
    el("tr", {},
      el("td", { class: "mono" }, r.identity),
      el("td", { class: "mono" }, r.host),
      el("td", { class: "mono" }, r.method),
      el("td", { class: "mono" }, r.path),
      el("td", { class: "num" }, String(r.count)),
      outcomeCell(r.after)));
  const summary = el("p", { class: "traffic-summary", role: "status" },
    `${plural(report.requests, "request")}: ${report.allowed} allowed, ${report.denied} denied`,
    report.malformed ? `; ${plural(report.malformed, "malformed line")}` : "");
  const samples = report.malformed_samples.map((s) => el("li", {}, `line ${s.line}: ${s.message}`));
  return [
    summary,
    samples.length ? el("ul", { class: "traffic-malformed" }, samples) : null,
    rows.length
      ? el("div", { class: "table-scroll" },
        el("table", { class: "traffic-table" },
          el("thead", {}, el("tr", {}, ["Identity", "Host", "Method", "Path", "Requests", "Decision"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, rows)))
      : null,
  ];
}

function renderSuggestion(suggestion) {
  const notes = suggestion.notes.map((n) => el("li", {}, n));
  return [
    el("p", { class: "hint" },
      `${plural(suggestion.hosts.length, "host")}, ${plural(suggestion.rules, "rule")}`,
      " — exactly the traffic of the log, plus REGISTRY_ONLY where the product has it."),
    notes.length ? el("ul", { class: "traffic-notes" }, notes) : null,
    el("div", { class: "buttons" },
      el("button", {
        type: "button",
        id: "traffic-use",
        onclick: () => app.actions.addFiles([{ name: `suggested-${$("#traffic-vendor").value}.yaml`, text: suggestion.yaml }]),
      }, "Add as a policy file")),
    el("pre", { class: "traffic-yaml mono", tabindex: "0", "aria-label": "Suggested policies" }, suggestion.yaml),
  ];
}

/** Recomputes the impact and the suggestion. */
export function renderTraffic() {
  const log = $("#traffic-log").value;
  const impact = $("#traffic-impact");
  const suggested = $("#traffic-suggest");
  if (!log.trim()) {
    impact.replaceChildren(el("p", { class: "hint" }, "No log yet: paste or drop one, or load sample traffic."));
    suggested.replaceChildren();
    return;
  }
  if (!tools) {
    impact.replaceChildren(el("p", { class: "hint" }, "Loading the tools…"));
    suggested.replaceChildren();
    return;
  }
  try {
    impact.replaceChildren(...(app.engine
      ? renderImpact(app.engine.replay(log, options()))
      : [el("p", { class: "hint" }, "Fix the policy errors to see the impact.")]));
    suggested.replaceChildren(...renderSuggestion(tools.suggest(log, { ...options(), vendor: $("#traffic-vendor").value })));
  } catch (err) {
    // Bad options (an identities line that is not `ADDRESS IDENTITY`): say which.
    impact.replaceChildren(el("p", { class: "error", role: "alert" }, err.message));
    suggested.replaceChildren();
  }
}

/** Wires the form: typing, file choice and drop, the sample button. */
export function initTraffic() {
  const again = debounce(() => {
    renderTraffic();
    bump();
  }, 150);
  for (const id of ["#traffic-log", "#traffic-identities", "#traffic-format", "#traffic-vendor"]) {
    $(id).addEventListener("input", again);
    $(id).addEventListener("change", again);
  }
  const load = async (file) => {
    $("#traffic-log").value = await file.text();
    renderTraffic();
    bump();
  };
  $("#traffic-file").addEventListener("change", (e) => {
    const [file] = e.target.files;
    if (file) load(file);
  });
  const area = $("#traffic-log");
  area.addEventListener("dragover", (e) => e.preventDefault());
  area.addEventListener("drop", (e) => {
    const [file] = e.dataTransfer?.files ?? [];
    if (!file) return;
    e.preventDefault();
    load(file);
  });
  $("#traffic-sample").addEventListener("click", () => {
    $("#traffic-format").value = "requests";
    $("#traffic-log").value = sampleLog();
    renderTraffic();
    bump();
  });
}
