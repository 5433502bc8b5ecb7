// How a decision (or a reach/diff outcome) is shown everywhere: an enforced allow, an allow
// that nothing enforced (passthrough, or no policy attached), a denial, or an answer that
// rests on assumptions (caveats). Only the engine's fields are read: `allowed`, `status`,
// `reason` and, when the engine reports them, `caveats` and `hops`.
import { el } from "./dom.js";

/** Reasons of an allowed request that no policy enforced. */
const UNENFORCED = new Set(["passthrough", "no_allow_policies"]);

/**
 * The display class of a decision:
 *  - kind: `allow` (allowed by a policy), `open` (allowed, nothing enforced), `deny`,
 *    `unreg` (502, not in the registry), `bad` (400, malformed);
 *  - caveated: the engine had to assume something (`caveats` not empty);
 *  - symbol and word for pills and cells; a sentence for the panel.
 */
export function classify(d) {
  const caveats = Array.isArray(d.caveats) ? d.caveats : [];
  const caveated = caveats.length > 0;
  let kind;
  if (d.allowed) kind = UNENFORCED.has(d.reason) ? "open" : "allow";
  else if (d.status === 502) kind = "unreg";
  else if (d.status === 400) kind = "bad";
  else kind = "deny";
  const symbol = { allow: "✓", open: "↷", deny: "✗", unreg: "✗", bad: "!" }[kind] + (caveated ? "?" : "");
  const word = {
    allow: "allowed",
    open: d.reason === "passthrough" ? "passthrough" : "unenforced",
    deny: "denied",
    unreg: "not in registry",
    bad: "malformed",
  }[kind];
  const headline = {
    allow: "ALLOWED",
    open: d.reason === "passthrough" ? "ALLOWED — NOT ENFORCED (passthrough)" : "ALLOWED — NO POLICY APPLIES",
    deny: "DENIED",
    unreg: "DENIED — NOT IN THE REGISTRY",
    bad: "REJECTED — MALFORMED REQUEST",
  }[kind];
  return {
    kind,
    caveated,
    caveats,
    symbol,
    word: caveated ? `${word}, with assumptions` : word,
    headline: caveated ? `${headline} — ASSUMING ${caveats.length === 1 ? "1 THING" : `${caveats.length} THINGS`}` : headline,
    /** The CSS classes of pills, cells and rows. */
    css: `v-${kind}${caveated ? " v-caveated" : ""}`,
  };
}

/** A small pill: symbol, word and status. */
export function pill(d) {
  const c = classify(d);
  return el("span", { class: `pill ${c.css}`, dataset: { kind: c.kind, caveated: String(c.caveated) } }, `${c.symbol} ${c.word}`);
}

/** The legend of the verdict styles (matrix, tests, changes). */
export function legend() {
  const sample = (allowed, status, reason, caveats) => pill({ allowed, status, reason, caveats });
  return el("p", { class: "legend", "aria-label": "Legend" },
    sample(true, 200, "allowed_by_policy"), " enforced allow ",
    sample(true, 200, "passthrough"), " allowed, nothing enforced ",
    sample(false, 403, "denied_by_policy"), " denied ",
    sample(true, 200, "allowed_by_policy", [{}]), " rests on assumptions");
}
