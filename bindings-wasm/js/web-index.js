// ESM entry for browsers and bundlers (`wasm-bindgen --target web`): the engine module. Call
// the default export (`await init()`, or `init({ module_or_path: url })`) once before using
// the engine. The policy tools are a second module: `await loadTools()` (or the entry
// `egress-policy-wasm/tools` and its own `init`).
export * from "./egress_policy_wasm.js";
export { default } from "./egress_policy_wasm.js";
export { PolicyError } from "./policy-error.js";

let tools = null;

/** Fetches, compiles and initialises the tools module once (`options` as its `init`: by
 *  default `egress_policy_wasm_tools_bg.wasm` next to this file); resolves to its exports. */
export function loadTools(options) {
  tools ??= import("./tools.js").then(async (module) => {
    await module.default(options);
    return module;
  });
  return tools;
}
