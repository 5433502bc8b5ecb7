// ESM tools entry for browsers and bundlers (`egress-policy-wasm/tools`): the tools module, a
// superset of the engine with every policy tool. Call its default export (`await init()`)
// once; the main entry's `loadTools()` does both.
export * from "./egress_policy_wasm_tools.js";
export { default } from "./egress_policy_wasm_tools.js";
export { PolicyError } from "./policy-error.js";
