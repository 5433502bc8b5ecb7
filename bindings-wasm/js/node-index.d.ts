export * from "./egress_policy_wasm.js";
export { PolicyError } from "./policy-error.js";
