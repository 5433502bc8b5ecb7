// The reachability matrix: every identity (rows) × every host the policies name plus "any
// other host" (columns), for one request shape (method and path), at the enforcement point
// of the Request tab. The shape is chosen by the user or taken from the rules (the method
// and path classes the engine's partition lists); the extra column is the partition's
// "any other host" class. Each cell is a button that opens its request.
import { $, el } from "./dom.js";
import { readForm } from "./form.js";
import { roadLine } from "./road.js";
import { app } from "./state.js";
import { classify, legend } from "./verdict.js";

/** The classes of the loaded policies at the chosen point (null when the engine lacks it). */
function classes(workload) {
  if (typeof app.engine.requestClasses !== "function") return null;
  try {
    return app.engine.requestClasses(workload ? { workload: JSON.parse(workload) } : {});
  } catch {
    return null;
  }
}

/** Fills the shape controls' suggestions from the rules (method and path classes). */
function suggestShapes(cls) {
  const methods = (cls?.methods ?? []).filter((m) => m.example && m.label === m.example).map((m) => m.example);
  const paths = (cls?.paths ?? []).filter((p) => p.example && p.label === p.example).map((p) => p.example);
  $("#matrix-methods").replaceChildren(...[...new Set(methods)].map((m) => el("option", { value: m })));
  $("#matrix-paths").replaceChildren(...[...new Set(paths)].map((p) => el("option", { value: p })));
  const shapes = [];
  for (const m of new Set(methods.length ? methods : ["GET"])) for (const p of new Set(paths.length ? paths : ["/"])) shapes.push(`${m} ${p}`);
  const select = $("#matrix-shape");
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, "my own (the fields beside)"), ...shapes.map((s) => el("option", { value: s }, s)));
  select.value = shapes.includes(current) ? current : "";
  return shapes;
}

/** The method and path of the cells. On first use the first shape the rules suggest. */
function shape(shapes) {
  const method = $("#matrix-method");
  const path = $("#matrix-path");
  if (!method.dataset.chosen && shapes.length) {
    const [m, p] = shapes[0].split(" ");
    method.value = m;
    path.value = p;
    $("#matrix-shape").value = shapes[0];
  }
  return { method: method.value.trim() || "GET", path: path.value.trim() || "/" };
}

/** Wires the shape controls (called once). */
export function initMatrix() {
  $("#matrix-shape").addEventListener("change", (e) => {
    if (!e.target.value) return;
    const [m, p] = e.target.value.split(" ");
    $("#matrix-method").value = m;
    $("#matrix-path").value = p;
    $("#matrix-method").dataset.chosen = "1";
    app.actions.refreshMatrix();
  });
  for (const id of ["#matrix-method", "#matrix-path"]) {
    $(id).addEventListener("input", () => {
      $("#matrix-method").dataset.chosen = "1";
      $("#matrix-shape").value = "";
      app.actions.refreshMatrix();
    });
  }
}

/** The URL of host `authority` (a `host[:port]` or an inventory URL) with `path`. */
function urlFor(base, path) {
  const origin = base.includes("://") ? base.replace(/^(\w+:\/\/[^/]+).*$/, "$1") : `http://${base}`;
  return `${origin}${path.startsWith("/") ? path : `/${path}`}`;
}

export function renderMatrix() {
  const out = $("#matrix");
  const inv = app.inventory;
  if (!app.engine || !inv) {
    out.replaceChildren(el("p", { class: "hint" }, "Fix the policy errors to compute the matrix."));
    return;
  }
  const { workload, principal: own } = readForm();
  const cls = classes(workload);
  const shapes = suggestShapes(cls);
  const { method, path } = shape(shapes);
  const principals = inv.identities.map((i) => i.principal);
  if (own && !principals.includes(own)) principals.push(own);
  const rows = [...principals, ""]; // "" = plaintext (no mTLS identity)
  const columns = inv.hosts.map((h) => ({ label: h.host, host: h.host, url: urlFor(h.url, path), title: h.sources.join("\n") }));
  const other = cls?.hosts.find((h) => h.label === "any other host" && h.example);
  if (other) columns.push({ label: "any other host", host: other.example, url: urlFor(other.example, path), title: `A host no policy or registry entry names (the engine's example: ${other.example})`, other: true });
  if (!columns.length) {
    out.replaceChildren(el("p", { class: "hint" }, "The policies and registry name no destination host."));
    return;
  }
  const requests = rows.flatMap((p) =>
    columns.map((c) => {
      const r = { method, url: c.url };
      if (p) r.source = { principal: p };
      if (workload) r.workload = JSON.parse(workload);
      return r;
    }),
  );
  let decisions;
  try {
    decisions = app.engine.checkMany(requests);
  } catch (err) {
    out.replaceChildren(el("p", { class: "hint", role: "alert" }, `Invalid request shape: ${err.message}`));
    return;
  }
  const body = rows.map((p, i) =>
    el("tr", {},
      el("th", { scope: "row", class: "id", title: inv.identities.find((x) => x.principal === p)?.sources.join("\n") ?? "" }, p || "(plaintext)"),
      columns.map((col, j) => {
        const d = decisions[i * columns.length + j];
        const v = classify(d);
        const road = roadLine(d);
        const by = d.policy ? `${d.policy.kind} ${d.policy.namespace}/${d.policy.name}${d.rule !== null ? ` rule ${d.rule}` : ""}` : d.message;
        const label = `${p || "plaintext"} → ${method} ${col.url}: ${v.word} ${d.status} ${d.reason}`;
        return el("td", { class: `cell ${v.css}`, dataset: { principal: p, host: col.host, other: col.other ? "true" : null, status: d.status, allowed: String(d.allowed), kind: v.kind, caveated: String(v.caveated) } },
          el("button", {
            type: "button",
            class: "cell-button",
            "aria-label": label,
            title: `${label}\n${by}${road ? `\n${road}` : ""}${v.caveated ? `\nassuming: ${v.caveats.map((c) => c.message).join("; ")}` : ""}`,
            onclick: () => app.actions.openRequest({ ...(p ? { source: { principal: p } } : {}), method, url: col.url, ...(workload ? { workload: JSON.parse(workload) } : {}) }),
          }, `${v.symbol} ${d.status}`));
      })),
  );
  out.replaceChildren(...[
    legend(),
    el("div", { class: "table-scroll" },
      el("table", { class: "matrix" },
        el("caption", {}, `${method} ${path} from each identity to each host${workload ? ", at the chosen proxy" : ""}`),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "identity \\ host"), columns.map((c) => el("th", { scope: "col", class: `host${c.other ? " other" : ""}`, title: c.title }, c.label)))),
        el("tbody", {}, body))),
    cls ? null : el("p", { class: "hint" }, "This engine build cannot list request classes: no “any other host” column and no shapes from the rules."),
  ].filter(Boolean));
}
