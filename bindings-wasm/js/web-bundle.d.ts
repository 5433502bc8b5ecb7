export * from "./egress_policy_wasm_bundle.js";
export { default } from "./egress_policy_wasm_bundle.js";
export { PolicyError } from "./policy-error.js";
