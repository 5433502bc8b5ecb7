// ESM bundle entry for browsers, bundlers and edge workers (`egress-policy-wasm/bundle`): the
// bundle module, the engine without the YAML parser and the importers; it loads
// compiled-policy bundles only (`Engine.fromBundle(text)`). Call the default export
// (`await init()`, or `init({ module_or_path: url })`, or `initSync({ module: bytes })`)
// once before using the engine.
export * from "./egress_policy_wasm_bundle.js";
export { default } from "./egress_policy_wasm_bundle.js";
export { PolicyError } from "./policy-error.js";
