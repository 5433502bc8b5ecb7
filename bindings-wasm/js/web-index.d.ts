export * from "./egress_policy_wasm.js";
export { default } from "./egress_policy_wasm.js";
export { PolicyError } from "./policy-error.js";
