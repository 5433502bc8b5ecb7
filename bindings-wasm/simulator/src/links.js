// Links from the results to where things are written in the files (editor tabs).
import { el, refText, sameRef } from "./dom.js";
import { app } from "./state.js";

/** Where a policy (and optionally one of its rules) is written, from the inventory. */
export function policyLocation(ref, rule) {
  const entry = app.inventory?.policies.find((p) => sameRef(p.id, ref));
  if (!entry) return null;
  return (rule !== null && rule !== undefined && entry.rules[rule]) || entry.location;
}

/** Where a gateway is written, from the inventory. */
function gatewayLocation(ref) {
  return app.inventory?.gateways.find((g) => sameRef(g.id, ref))?.location ?? null;
}

/** A link that opens `loc` ({file, line, column}) in the editor; plain text without one. */
export function jumpLink(text, loc) {
  if (!loc) return el("span", {}, text);
  return el(
    "a",
    {
      class: "jump",
      href: "#",
      title: `${loc.file ?? ""} line ${loc.line}`,
      dataset: { line: loc.line, file: loc.file ?? "" },
      onclick: (e) => {
        e.preventDefault();
        app.actions.jump(loc);
      },
    },
    text,
  );
}

/** A resource reference, linked to where it is written when the inventory knows it. */
export function resourceLink(ref, rule = null) {
  const text = `${refText(ref)}${rule !== null && rule !== undefined ? ` rule ${rule}` : ""}`;
  return jumpLink(text, policyLocation(ref, rule) ?? gatewayLocation(ref));
}
