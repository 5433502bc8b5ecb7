export * from "./egress_policy_wasm.js";
export { default } from "./egress_policy_wasm.js";
export { PolicyError } from "./policy-error.js";
/** Fetches, compiles and initialises the tools module once (`options` as its `init`);
 *  resolves to its exports. */
export function loadTools(
  options?: Parameters<typeof import("./tools.js").default>[0],
): Promise<typeof import("./tools.js")>;
