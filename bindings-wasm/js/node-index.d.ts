export * from "./egress_policy_wasm.js";
export { PolicyError } from "./policy-error.js";
/** The tools module (`egress-policy-wasm/tools`), loaded on first call. */
export function loadTools(): Promise<typeof import("./tools.js")>;
