// ESM entry for browsers and bundlers (`wasm-bindgen --target web`): call the default
// export (`await init()`, or `init({ module_or_path: url })`) once before using the engine.
export * from "./egress_policy_wasm.js";
export { default } from "./egress_policy_wasm.js";
export { PolicyError } from "./policy-error.js";
