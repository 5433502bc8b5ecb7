// The road a request takes (the engine's `hops`: sender, sidecar or ztunnel, waypoint,
// egress gateway, registry, route, TLS, upstream) as a small diagram and as text, and the
// assumptions the engine made (`caveats`). Both come from the Decision JSON; an engine that
// does not report them gets a plain note, never a made-up road.
import { el, refText } from "./dom.js";
import { resourceLink } from "./links.js";

const PROXY = {
  client: "sender",
  sidecar: "sidecar",
  ztunnel: "ztunnel",
  waypoint: "waypoint",
  egress_gateway: "egress gateway",
  gateway: "gateway",
  upstream: "upstream",
};

/** The hop where policy was enforced (step `authorization`), or -1. */
export const enforcedAt = (hops) => hops.findIndex((h) => h.step === "authorization");

/** The road of a decision: diagram + ordered text, or a note when the engine has no hops. */
export function renderRoad(decision) {
  if (!Array.isArray(decision.hops)) {
    return el("p", { class: "hint road-missing", dataset: { road: "absent" } },
      "This engine build does not report the road (no “hops” in its decisions); the route below is what it reports.");
  }
  const hops = decision.hops;
  if (!hops.length) return el("p", { class: "hint", dataset: { road: "empty" } }, "The engine reports no hop for this request.");
  const enforced = enforcedAt(hops);
  const diagram = el("ol", { class: "road-diagram", "aria-hidden": "true" },
    hops.map((h, i) =>
      el("li", { class: `hop hop-${h.proxy}${i === enforced ? " hop-enforced" : ""}${h.step === "leave" ? " hop-leave" : ""}` },
        el("span", { class: "hop-proxy" }, PROXY[h.proxy] ?? h.proxy),
        el("span", { class: "hop-step" }, h.step),
        i === enforced ? el("span", { class: "hop-badge" }, "enforced here") : null)));
  const text = el("ol", { class: "road-text", "aria-label": "The road, hop by hop" },
    hops.map((h, i) =>
      el("li", { class: i === enforced ? "enforced" : "", dataset: { proxy: h.proxy, step: h.step } },
        el("strong", {}, `${PROXY[h.proxy] ?? h.proxy}`), ` (${h.at}) — ${h.step}: ${h.outcome}`,
        h.resource ? [" — decided by ", resourceLink(h.resource)] : null,
        i === enforced ? el("span", { class: "tag" }, " policy enforced here") : null)));
  const summary = enforced < 0
    ? el("p", { class: "road-note unenforced", dataset: { enforced: "none" } }, "No hop on this road enforced an authorization policy.")
    : el("p", { class: "road-note", dataset: { enforced: String(enforced) } }, `Policy enforced at the ${PROXY[hops[enforced].proxy] ?? hops[enforced].proxy} (${hops[enforced].at}).`);
  return el("div", { class: "road", dataset: { road: "present", hops: String(hops.length) } }, diagram, summary, text);
}

/** The caveats of a decision as a list, or null when there are none (or none reported). */
export function renderCaveats(decision) {
  if (!Array.isArray(decision.caveats) || !decision.caveats.length) return null;
  return el("div", { class: "caveats", role: "note" },
    el("strong", {}, `This answer rests on ${decision.caveats.length === 1 ? "an assumption" : `${decision.caveats.length} assumptions`}:`),
    el("ul", {}, decision.caveats.map((c) =>
      el("li", { dataset: { code: c.code } }, el("code", {}, c.code), ` ${c.message}`, c.resource ? [" (", resourceLink(c.resource), ")"] : null))));
}

/** One line of text for a road (matrix titles, test rows). */
export function roadLine(decision) {
  if (!Array.isArray(decision.hops) || !decision.hops.length) return "";
  return decision.hops.map((h) => PROXY[h.proxy] ?? h.proxy).join(" → ");
}

export { refText };
