import type { Diagnostic } from "./egress_policy_wasm.js";

/** Thrown by `Engine.fromYaml` / `Engine.fromFiles` when the policies do not load. */
export declare class PolicyError extends Error {
  readonly name: "PolicyError";
  /** Every error and warning of the load, located (file, line, column, resource, field). */
  readonly diagnostics: Diagnostic[];
  constructor(message: string, diagnostics: Diagnostic[]);
}
