// The error thrown when policies do not load. Copied to pkg/web/policy-error.js by build.sh.
export class PolicyError extends Error {
  constructor(message, diagnostics) {
    super(message);
    this.name = "PolicyError";
    this.diagnostics = diagnostics;
  }
}

export function makePolicyError(message, diagnostics) {
  return new PolicyError(message, diagnostics);
}
