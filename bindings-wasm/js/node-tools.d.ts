export * from "./egress_policy_wasm_tools.js";
export { PolicyError } from "./policy-error.js";
