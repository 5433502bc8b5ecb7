// The egress-policy simulator: every decision, explanation, diagnostic, lint finding,
// inventory and policy diff comes from the engine compiled to WebAssembly; this file only
// renders them and builds Request JSON from the form.
import init, { Engine, PolicyError, diff } from "../../pkg/web/index.js";
import samples from "virtual:samples";
import { createEditor, cursorLine, jumpTo, setText, showDiagnostics } from "./editor.js";
import { decodeState, encodeState } from "./share.js";

const FILE = "policies.yaml";
const $ = (sel) => document.querySelector(sel);
const form = $("#request-form");

const app = {
  view: null,
  engine: null,
  inventory: null,
  diagnostics: [],
  lints: [],
  sample: null,
  /** What the "What changed" tab compares with: {label, yaml, engine (null: does not load)}. */
  baseline: null,
  generation: 0,
};

// ---------------------------------------------------------------- small helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

const refText = (r) => (r ? `${r.kind} ${r.namespace}/${r.name}` : "–");
const sameRef = (a, b) => a && b && a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function bump() {
  app.generation += 1;
  document.body.dataset.generation = String(app.generation);
}

/** A link that moves the editor to `loc` ({line, column}). */
function jumpLink(text, loc) {
  if (!loc) return el("span", {}, text);
  return el(
    "a",
    { class: "jump", href: "#", title: `line ${loc.line}`, dataset: { line: loc.line }, onclick: (e) => { e.preventDefault(); jumpTo(app.view, loc.line, loc.column); } },
    text,
  );
}

/** Where a policy (and optionally one of its rules) is written, from the inventory. */
function policyLocation(ref, rule) {
  const entry = app.inventory?.policies.find((p) => sameRef(p.id, ref));
  if (!entry) return null;
  return (rule !== null && rule !== undefined && entry.rules[rule]) || entry.location;
}

// ---------------------------------------------------------------- loading policies

function setStatus(text, ok) {
  const s = $("#load-status");
  s.textContent = text;
  s.className = `status ${ok ? "ok" : "bad"}`;
}

function renderProblems(diagnostics, lints) {
  const list = $("#problems");
  list.replaceChildren(
    ...diagnostics.map((d) =>
      el(
        "li",
        { class: d.severity, dataset: { line: d.line }, onclick: () => jumpTo(app.view, d.line, d.column) },
        `line ${d.line}:${d.column} ${d.severity}: ${[d.resource, d.field].filter(Boolean).join(": ")}${d.resource || d.field ? ": " : ""}${d.message}`,
      ),
    ),
    ...lints.map((l) =>
      el(
        "li",
        { class: "lint", title: `help: ${l.help}`, dataset: { line: l.line, code: l.code }, onclick: () => jumpTo(app.view, l.line, l.column) },
        `line ${l.line}:${l.column} lint `,
        el("code", {}, l.code),
        `: ${l.message}`,
        el("span", { class: "help" }, ` help: ${l.help}`),
      ),
    ),
  );
}

const plural = (n, word, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

function reload(text) {
  app.engine?.free();
  app.engine = null;
  app.inventory = null;
  app.lints = [];
  try {
    app.engine = Engine.fromYaml(text, FILE);
    app.diagnostics = app.engine.warnings;
    app.inventory = app.engine.inventory();
    app.lints = app.engine.lint().filter((l) => l.file === FILE);
    const warnings = app.diagnostics.length;
    const lints = app.lints.length;
    setStatus(`loaded: ${app.inventory.policies.length} policies, ${app.engine.ruleCount} rules${warnings ? `, ${plural(warnings, "warning")}` : ""}${lints ? `, ${plural(lints, "lint finding")}` : ""}`, true);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    app.diagnostics = err.diagnostics;
    const errors = err.diagnostics.filter((d) => d.severity === "error").length;
    setStatus(`${plural(errors, "error")}: policies not loaded`, false);
  }
  showDiagnostics(app.view, app.diagnostics, app.lints);
  renderProblems(app.diagnostics, app.lints);
  refreshInventory();
  evaluate();
  renderMatrix();
  renderChanges();
  bump();
}

function refreshInventory() {
  const inv = app.inventory;
  $("#identities").replaceChildren(...(inv?.identities ?? []).map((i) => el("option", { value: i.principal })));
  $("#hosts").replaceChildren(...(inv?.hosts ?? []).map((h) => el("option", { value: h.url })));
  const select = form.elements.workload;
  const current = select.value;
  const options = [el("option", { value: "" }, "the gateway the registry routes to")];
  for (const g of inv?.gateways ?? []) options.push(el("option", { value: JSON.stringify(g.workload) }, `${refText(g.id)} (${g.kind})`));
  if (current && !options.some((o) => o.value === current)) options.push(el("option", { value: current }, `workload ${current}`));
  select.replaceChildren(...options);
  select.value = current;
}

// ---------------------------------------------------------------- the request form

function readForm() {
  const f = form.elements;
  return {
    principal: f.principal.value.trim(),
    method: f.method.value,
    url: f.url.value.trim(),
    workload: f.workload.value,
    protocol: f.protocol.value,
    headers: f.headers.value,
  };
}

function writeForm(values) {
  const f = form.elements;
  f.principal.value = values.principal ?? "";
  f.method.value = values.method ?? "GET";
  f.url.value = values.url ?? "";
  f.protocol.value = values.protocol ?? "http";
  f.headers.value = values.headers ?? "";
  const workload = values.workload ?? "";
  if (workload && ![...f.workload.options].some((o) => o.value === workload)) {
    f.workload.append(el("option", { value: workload }, `workload ${workload}`));
  }
  f.workload.value = workload;
}

/** Form values of a Request JSON (as in demo.jsonl). */
function formOf(request) {
  const headers = Object.entries(request.headers ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]))
    .join("\n");
  const url = request.url ?? (request.host ? `http://${request.host}${request.path ?? "/"}` : "");
  return {
    principal: request.source?.principal ?? "",
    method: request.method ?? "GET",
    url,
    workload: request.workload ? JSON.stringify(request.workload) : "",
    protocol: request.protocol ?? "http",
    headers,
  };
}

/** The Request JSON for form values. */
function requestOf(values) {
  const request = { method: values.method };
  if (values.principal) request.source = { principal: values.principal };
  if (values.url) request.url = values.url;
  if (values.protocol && values.protocol !== "http") request.protocol = values.protocol;
  if (values.workload) request.workload = JSON.parse(values.workload);
  const headers = {};
  for (const line of values.headers.split("\n")) {
    const at = line.indexOf(":");
    if (at <= 0) continue;
    const name = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    if (name in headers) headers[name] = [].concat(headers[name], value);
    else headers[name] = value;
  }
  if (Object.keys(headers).length) request.headers = headers;
  return request;
}

// ---------------------------------------------------------------- decision + explanation

function renderDecision(decision) {
  const box = $("#decision");
  for (const key of ["allowed", "status", "reason"]) delete box.dataset[key];
  if (!decision) {
    box.className = "decision unavailable";
    box.replaceChildren(el("div", {}, "Fix the policy errors to evaluate requests."));
    return;
  }
  box.className = `decision ${decision.allowed ? "allowed" : "denied"}`;
  box.dataset.allowed = String(decision.allowed);
  box.dataset.status = String(decision.status);
  box.dataset.reason = decision.reason;
  const rows = [
    ["status", `${decision.status} ${decision.reason}`],
    ["message", decision.message],
  ];
  const policy = decision.policy
    ? el("span", {},
        jumpLink(`${refText(decision.policy)}${decision.rule !== null ? ` rule ${decision.rule}` : ""}`, policyLocation(decision.policy, decision.rule)))
    : "– (no policy decided)";
  rows.push(["deciding policy", policy]);
  const r = decision.route;
  if (r) {
    rows.push(["gateway", refText(r.gateway)]);
    rows.push(["registry entry", refText(r.service)]);
    rows.push(["upstream", `${r.host}:${r.port}`]);
    rows.push(["TLS origination", r.tls ? `${r.tls.mode}, SNI ${r.tls.sni} (${refText(r.tls.origin)})` : "none"]);
    const h = r.headers;
    const changes = [
      ...Object.entries(h.add).map(([k, v]) => `+ ${k}: ${v}`),
      ...Object.entries(h.set).map(([k, v]) => `= ${k}: ${v}`),
      ...h.remove.map((k) => `− ${k}`),
    ];
    rows.push(["headers", changes.length ? el("span", { class: "mono" }, changes.join("  ")) : "unchanged"]);
    if (r.virtual_service) rows.push(["VirtualService", refText(r.virtual_service)]);
  }
  if (decision.dry_run) {
    const d = decision.dry_run;
    rows.push(["dry run", `would be ${d.allowed ? "allowed" : "denied"} (${d.reason}) by ${refText(d.policy)}`]);
  }
  if (decision.audit) rows.push(["audit", "an AUDIT policy matched"]);
  box.replaceChildren(
    el("div", { class: "verdict" }, el("strong", {}, decision.allowed ? "ALLOWED" : "DENIED"), el("span", {}, `${decision.status} · ${decision.reason}`)),
    el("dl", { class: "kv" }, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
  );
}

function renderExplain(x) {
  const out = $("#explain");
  if (!x) {
    out.replaceChildren();
    return;
  }
  const steps = el("ol", { class: "steps" }, x.steps.map((s) => el("li", {}, s)));
  if (!x.policies.length) {
    out.replaceChildren(steps, el("p", { class: "hint" }, "No policy is attached at this enforcement point."));
    return;
  }
  const rows = [];
  for (const p of x.policies) {
    const loc = policyLocation(p.policy, null);
    rows.push(
      el("tr", { class: "policy-row" },
        el("td", {}, jumpLink(refText(p.policy), loc)),
        el("td", {}, `${p.action}${p.dry_run ? " (dry run)" : ""}`),
        el("td", { class: p.matched ? "yes" : "no" }, p.matched ? "matched" : "no match"),
        el("td", { colspan: 2, class: "where" }, loc ? `written at line ${loc.line}` : p.location)),
    );
    for (const r of p.rules) {
      rows.push(
        el("tr", { class: "rule-row", dataset: { matched: String(r.matched) } },
          el("td", {}, "  ", jumpLink(`rule ${r.index}`, policyLocation(p.policy, r.index))),
          el("td", {}, ""),
          el("td", { class: r.matched ? "yes" : "no" }, r.matched ? "✓ matched" : "✗ no match"),
          el("td", { class: "mono failed-field" }, r.failed_field ?? ""),
          el("td", {}, r.note ?? "")),
      );
    }
  }
  out.replaceChildren(
    steps,
    el("table", { class: "explain" },
      el("thead", {}, el("tr", {}, ["policy / rule", "action", "verdict", "first failing field", "note"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
  );
}

function evaluate() {
  if (!app.engine) {
    renderDecision(null);
    renderExplain(null);
    return;
  }
  const request = requestOf(readForm());
  try {
    const decision = app.engine.check(request);
    renderDecision(decision);
    renderExplain(app.engine.explain(request));
  } catch (err) {
    renderDecision(null);
    $("#decision").className = "decision unavailable";
    $("#decision").replaceChildren(el("div", {}, `Invalid request: ${err.message}`));
    renderExplain(null);
  }
}

// ---------------------------------------------------------------- reachability matrix

function renderMatrix() {
  const out = $("#matrix");
  const inv = app.inventory;
  if (!app.engine || !inv) {
    out.replaceChildren(el("p", { class: "hint" }, "Fix the policy errors to compute the matrix."));
    return;
  }
  const principals = inv.identities.map((i) => i.principal);
  const own = readForm().principal;
  if (own && !principals.includes(own)) principals.push(own);
  const rows = [...principals, ""]; // "" = plaintext (no mTLS identity)
  const hosts = inv.hosts;
  if (!hosts.length) {
    out.replaceChildren(el("p", { class: "hint" }, "The policies and registry name no destination host."));
    return;
  }
  const workload = readForm().workload;
  const requests = rows.flatMap((p) =>
    hosts.map((h) => {
      const r = { method: "GET", url: h.url };
      if (p) r.source = { principal: p };
      if (workload) r.workload = JSON.parse(workload);
      return r;
    }),
  );
  const decisions = app.engine.checkMany(requests);
  const body = rows.map((p, i) =>
    el("tr", {},
      el("th", { class: "id", title: inv.identities.find((x) => x.principal === p)?.sources.join("\n") ?? "" }, p || "(plaintext)"),
      hosts.map((h, j) => {
        const d = decisions[i * hosts.length + j];
        const kind = d.allowed ? "allow" : d.status === 502 ? "unreg" : d.status === 400 ? "bad" : "deny";
        const title = `${p || "plaintext"} → GET ${h.url}\n${d.allowed ? "ALLOWED" : "DENIED"} ${d.status} ${d.reason}\n${d.policy ? `${refText(d.policy)}${d.rule !== null ? ` rule ${d.rule}` : ""}` : d.message}`;
        return el("td", {
          class: `cell ${kind}`, title,
          dataset: { principal: p, host: h.host, status: d.status, allowed: String(d.allowed) },
          onclick: () => {
            writeForm({ ...readForm(), principal: p, method: "GET", url: h.url });
            selectTab("decide");
            evaluate();
            bump();
          },
        }, `${d.allowed ? "✓" : "✗"} ${d.status}`);
      })),
  );
  out.replaceChildren(
    el("table", { class: "matrix" },
      el("thead", {}, el("tr", {}, el("th", {}, "identity \\ host"), hosts.map((h) => el("th", { class: "host", title: h.sources.join("\n") }, h.host)))),
      el("tbody", {}, body)),
  );
}

// ---------------------------------------------------------------- what changed

/** Sets what the "What changed" tab compares with (the sample's or the link's YAML). */
function setBaseline(label, yaml) {
  app.baseline?.engine?.free();
  let engine = null;
  try {
    engine = Engine.fromYaml(yaml, FILE);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
  }
  app.baseline = { label, yaml, engine };
}

const verdictText = (o) => `${o.allowed ? "allow" : "deny"} ${o.status} ${o.reason}`;
const decider = (o) => (o.policy ? `${refText(o.policy)}${o.rule !== null ? ` rule ${o.rule}` : ""}` : "");

function outcomeCell(o) {
  const by = decider(o);
  return el("td", {},
    el("span", { class: `pill ${o.allowed ? "allow" : "deny"}` }, o.allowed ? "allowed" : "denied"),
    ` ${o.status}`,
    el("div", { class: "reason mono" }, o.reason),
    by ? el("div", { class: "by" }, jumpLink(by, policyLocation(o.policy, o.rule))) : null);
}

/** The example request of a change (an authority, `host` or `host:port`, and a path) as
 *  simulator form values. */
function formOfChange(request) {
  return formOf({ ...request, url: `http://${request.host}${request.path ?? "/"}` });
}

function renderChanges() {
  const out = $("#changes");
  const badge = $("#changes-count");
  badge.textContent = "";
  const base = app.baseline;
  if (!base) {
    out.replaceChildren(el("p", { class: "hint" }, "Load a sample to compare the edited policies with it."));
    return;
  }
  const head = el("div", { class: "changes-head" },
    el("span", {}, `Compared with ${base.label}.`),
    el("button", { type: "button", id: "changes-revert", onclick: () => { setText(app.view, base.yaml); reload(base.yaml); } }, "Revert to it"));
  if (!base.engine) {
    out.replaceChildren(head, el("p", { class: "hint" }, "The original policies do not load: nothing to compare with."));
    return;
  }
  if (!app.engine) {
    out.replaceChildren(head, el("p", { class: "hint" }, "Fix the policy errors to compare."));
    return;
  }
  let report;
  try {
    report = diff(base.engine, app.engine);
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
    const form = formOfChange(c.request);
    return el("tr", {
      class: `change ${kind}`,
      title: "Open the example request on the Request tab",
      dataset: { kind, identity: c.identity.label, host: c.host.label, method: c.method.label, path: c.path.label, before: String(c.before.allowed), after: String(c.after.allowed) },
      onclick: (e) => {
        if (e.target.closest("a")) return;
        writeForm({ ...readForm(), ...form, workload: c.request.workload ? JSON.stringify(c.request.workload) : "" });
        selectTab("decide");
        evaluate();
        renderMatrix();
        bump();
      },
    },
    el("td", { class: "class" },
      el("div", { class: "mono" }, `${c.method.label} · ${c.host.label} · ${c.path.label}`),
      el("div", { class: "who" }, c.identity.label)),
    el("td", { class: "example" },
      el("div", { class: "mono" }, `${form.method} ${form.url}`),
      el("div", { class: "who mono" }, form.principal || "(plaintext)")),
    outcomeCell(c.before),
    outcomeCell(c.after),
    el("td", { class: "where" }, points.join(", ")));
  });
  const parts = [head, el("p", { class: `changes-summary ${report.changed ? "changed" : "same"}` }, summary)];
  if (rows.length) {
    parts.push(el("table", { class: "changes" },
      el("thead", {}, el("tr", {}, ["request class", "example request", "before", "after", "decided at"].map((h) => el("th", {}, h)))),
      el("tbody", {}, body)));
  }
  if (notes.length) parts.push(el("ul", { class: "notes" }, notes));
  out.replaceChildren(...parts);
}

// ---------------------------------------------------------------- batch mode

function runBatch() {
  const out = $("#batch-output");
  if (!app.engine) {
    out.replaceChildren(el("p", { class: "hint" }, "Fix the policy errors first."));
    return;
  }
  const results = app.engine.evalLines($("#batch-input").value);
  let allowed = 0, denied = 0, invalid = 0;
  const rows = results.map((r) => {
    if (r.error !== null) {
      invalid++;
      return el("tr", { dataset: { line: r.line } }, el("td", {}, r.line), el("td", { colspan: 4 }, el("span", { class: "pill err" }, "invalid"), " ", r.error));
    }
    const d = r.decision;
    d.allowed ? allowed++ : denied++;
    const q = r.request;
    return el("tr", { dataset: { line: r.line, allowed: String(d.allowed) } },
      el("td", {}, r.line),
      el("td", { class: "mono" }, `${q.source.principal ?? "(plaintext)"}\n${q.method ?? ""} ${q.url ?? q.host ?? ""}`),
      el("td", {}, el("span", { class: `pill ${d.allowed ? "allow" : "deny"}` }, d.allowed ? "allowed" : "denied"), ` ${d.status}`),
      el("td", {}, d.reason),
      el("td", {}, d.policy ? jumpLink(`${refText(d.policy)}${d.rule !== null ? ` rule ${d.rule}` : ""}`, policyLocation(d.policy, d.rule)) : "–"));
  });
  out.replaceChildren(
    el("p", { class: "batch-summary" }, `${results.length} requests: ${allowed} allowed, ${denied} denied, ${invalid} invalid`),
    el("table", { class: "batch" },
      el("thead", {}, el("tr", {}, ["line", "request", "decision", "reason", "deciding policy"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
  );
  bump();
}

// ---------------------------------------------------------------- tabs, samples, sharing

function selectTab(name) {
  for (const b of document.querySelectorAll(".tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== `tab-${name}`;
}

function loadSample(sample) {
  app.sample = sample;
  $("#share-box").hidden = true;
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  for (const b of document.querySelectorAll("#samples button")) b.classList.toggle("active", b.dataset.sample === sample.id);
  writeForm(formOf((sample.demo.find((d) => d.request.url) ?? sample.demo[0]).request));
  $("#batch-input").value = sample.demo.map((d) => JSON.stringify(d.request)).join("\n");
  $("#batch-output").replaceChildren();
  setBaseline(`the original YAML of the sample “${sample.title}”`, sample.yaml);
  setText(app.view, sample.yaml);
  reload(sample.yaml);
}

async function share() {
  const fragment = await encodeState({ yaml: app.view.state.doc.toString(), form: readForm() });
  history.replaceState(null, "", `#${fragment}`);
  const url = location.href;
  $("#share-box").hidden = false;
  $("#share-url").value = url;
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

async function restore(fragment) {
  try {
    const state = await decodeState(fragment);
    if (!state) return false;
    app.sample = null;
    for (const b of document.querySelectorAll("#samples button")) b.classList.remove("active");
    setBaseline("the policies of the shared link", state.yaml);
    setText(app.view, state.yaml);
    reload(state.yaml);
    writeForm(state.form ?? {});
    evaluate();
    renderMatrix();
    bump();
    return true;
  } catch (err) {
    setStatus(`cannot read the shared link: ${err.message}`, false);
    return false;
  }
}

// ---------------------------------------------------------------- start

async function main() {
  await init({ module_or_path: new URL("egress_policy_wasm_bg.wasm", import.meta.url) });
  $("#samples").replaceChildren(
    ...samples.map((s) => el("button", { type: "button", title: s.blurb, dataset: { sample: s.id }, onclick: () => loadSample(s) }, s.title)),
  );
  const onEdit = debounce((text) => reload(text), 250);
  app.view = createEditor($("#editor"), "", onEdit);
  const onForm = debounce(() => {
    evaluate();
    renderMatrix();
    bump();
  }, 120);
  form.addEventListener("input", onForm);
  form.addEventListener("change", onForm);
  form.addEventListener("submit", (e) => e.preventDefault());
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => selectTab(b.dataset.tab));
  $("#batch-run").addEventListener("click", runBatch);
  $("#share").addEventListener("click", share);
  window.addEventListener("hashchange", () => restore(location.hash));

  if (!(location.hash && (await restore(location.hash)))) loadSample(samples[0]);
  // Test hooks (the Playwright test reads the editor through these).
  window.simulator = {
    get view() { return app.view; },
    cursorLine: () => cursorLine(app.view),
    lineOf: (node) => app.view.state.doc.lineAt(app.view.posAtDOM(node)).number,
    text: () => app.view.state.doc.toString(),
  };
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  document.body.dataset.ready = "error";
  setStatus(`failed to start: ${err.message}`, false);
  throw err;
});
