// The decision panel (verdict, where it was enforced, the road, caveats, route) and the
// explanation table (every attached policy and rule, with what failed), for the Request tab
// and for a test case's details.
import { decider, el, refText } from "./dom.js";
import { jumpLink, policyLocation, resourceLink } from "./links.js";
import { renderCaveats, renderRoad } from "./road.js";
import { classify } from "./verdict.js";

/** The fields of a rule verdict this view names; any other field the engine adds is shown as is. */
const KNOWN_RULE_FIELDS = new Set(["index", "matched", "failed_field", "note", "field", "location", "got", "wanted", "mismatch"]);

/** `file:line:column` as a location the editor can jump to. */
function parseLocation(text) {
  const m = /^(.*):(\d+):(\d+)$/.exec(text ?? "");
  return m ? { file: m[1], line: Number(m[2]), column: Number(m[3]) } : null;
}

/** The proxy kinds in words. */
const PROXY_WORDS = { client: "client", sidecar: "sidecar", ztunnel: "ztunnel", waypoint: "waypoint", egress_gateway: "egress gateway", gateway: "gateway", upstream: "upstream" };

/** Where authorization was enforced: the proxy and the resource it implements. */
function enforcedAt(at) {
  const what = `${PROXY_WORDS[at.proxy] ?? at.proxy}, port ${at.port}`;
  return el("span", { class: "enforced-at", dataset: { proxy: at.proxy } },
    at.resource ? resourceLink(at.resource) : at.at, ` (${what})`);
}

/** A failed rule in the user's terms: the field's path (linked to its line), the value the
 *  request had and what the rule wanted. */
function ruleWhy(r) {
  if (r.matched) return [];
  const loc = parseLocation(r.location);
  const parts = [];
  if (r.got !== null && r.got !== undefined) parts.push(el("div", { class: "got mono" }, `request: ${r.got}`));
  if (r.wanted?.length) parts.push(el("div", { class: "wanted mono" }, `rule wants: ${r.wanted.join(", ")}`));
  if (r.location) parts.push(el("div", { class: "field-location mono" }, jumpLink(r.location, loc)));
  return parts;
}

function routeRows(r) {
  const rows = [];
  rows.push(["gateway", r.gateway ? resourceLink(r.gateway) : "–"]);
  rows.push(["registry entry", r.service ? resourceLink(r.service) : "–"]);
  rows.push(["upstream", `${r.host}:${r.port}`]);
  rows.push(["TLS origination", r.tls ? [`${r.tls.mode}, SNI ${r.tls.sni} (`, resourceLink(r.tls.origin), ")"] : "none"]);
  const h = r.headers;
  const changes = [
    ...Object.entries(h.add).map(([k, v]) => `+ ${k}: ${v}`),
    ...Object.entries(h.set).map(([k, v]) => `= ${k}: ${v}`),
    ...h.remove.map((k) => `− ${k}`),
  ];
  rows.push(["headers", changes.length ? el("span", { class: "mono" }, changes.join("  ")) : "unchanged"]);
  if (r.virtual_service) rows.push(["VirtualService", resourceLink(r.virtual_service)]);
  return rows;
}

/** Renders `decision` (with its explanation `x` when known) into `box`. */
export function renderDecision(box, decision, x = null) {
  for (const key of ["allowed", "status", "reason", "kind", "caveated"]) delete box.dataset[key];
  if (!decision) {
    box.className = "decision unavailable";
    box.replaceChildren(el("div", {}, "Fix the policy errors to evaluate requests."));
    return;
  }
  const c = classify(decision);
  box.className = `decision ${c.css} ${decision.allowed ? "allowed" : "denied"}`;
  Object.assign(box.dataset, { allowed: String(decision.allowed), status: String(decision.status), reason: decision.reason, kind: c.kind, caveated: String(c.caveated) });
  const rows = [
    ["status", `${decision.status} ${decision.reason}`],
    ["message", decision.message],
  ];
  // Where it was decided: the gateway of the explanation (known for denials too).
  if (x?.enforced_at) rows.push(["enforced at", enforcedAt(x.enforced_at)]);
  else if (x?.gateway) rows.push(["enforced at", resourceLink(x.gateway)]);
  else if (x) rows.push(["enforced at", c.kind === "open" ? "nowhere: no gateway enforced this request" : "–"]);
  if (decision.policy) {
    rows.push(["deciding policy", jumpLink(decider(decision), policyLocation(decision.policy, decision.rule))]);
  } else if (x && x.policies.length) {
    const allows = x.policies.filter((p) => p.action === "ALLOW" && !p.dry_run);
    rows.push(["deciding policy", allows.length && !decision.allowed
      ? el("span", { class: "no-allow-matched" }, `no ALLOW policy matched (${allows.length} attached): `,
        allows.map((p, i) => [i ? ", " : "", resourceLink(p.policy)]))
      : "none"]);
  } else {
    rows.push(["deciding policy", "none (no policy attached where it was decided)"]);
  }
  if (decision.route) rows.push(...routeRows(decision.route));
  if (decision.dry_run) {
    const d = decision.dry_run;
    rows.push(["dry run", `would be ${d.allowed ? "allowed" : "denied"} (${d.reason}) by ${refText(d.policy)}`]);
  }
  if (decision.audit) rows.push(["audit", "an AUDIT policy matched"]);
  box.replaceChildren(...[
    el("div", { class: "verdict" },
      el("strong", { class: "headline" }, `${c.symbol} ${c.headline}`),
      el("span", {}, `${decision.status} · ${decision.reason}`)),
    renderCaveats(decision),
    el("h4", {}, "The road"),
    renderRoad(decision),
    el("dl", { class: "kv" }, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
  ].filter(Boolean));
}

/** The explanation of a decision: the pipeline's steps, then every attached policy and rule. */
export function renderExplain(out, x) {
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
        el("td", {}, jumpLink(refText(p.policy), loc), el("span", { class: "action" }, ` ${p.action}${p.dry_run ? " (dry run)" : ""}`)),
        el("td", { class: p.matched ? "yes" : "no" }, p.matched ? "matched" : "no match"),
        el("td", { colspan: 2, class: "where" }, loc ? `${loc.file}:${loc.line}` : p.location)),
    );
    for (const r of p.rules) {
      const extra = Object.entries(r).filter(([k, v]) => !KNOWN_RULE_FIELDS.has(k) && v !== null && v !== undefined);
      rows.push(
        el("tr", { class: "rule-row", dataset: { matched: String(r.matched) } },
          el("td", {}, "  ", jumpLink(`rule ${r.index}`, policyLocation(p.policy, r.index))),
          el("td", { class: r.matched ? "yes" : "no" }, r.matched ? "✓ matched" : "✗ no match"),
          el("td", { class: "mono failed-field", title: r.failed_field ?? "" }, r.field ?? r.failed_field ?? ""),
          el("td", { class: "note" }, r.mismatch ?? r.note ?? "", ruleWhy(r),
            extra.map(([k, v]) => el("div", { class: "extra mono", dataset: { field: k } }, `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)))),
      );
    }
  }
  out.replaceChildren(
    steps,
    el("div", { class: "table-scroll" },
      el("table", { class: "explain" },
        el("thead", {}, el("tr", {}, ["policy / rule", "verdict", "failing field (in your file)", "why"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows))),
  );
}
