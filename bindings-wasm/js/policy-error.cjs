"use strict";
// The error thrown when policies do not load. Copied to pkg/node/policy-error.js by build.sh.
class PolicyError extends Error {
  constructor(message, diagnostics) {
    super(message);
    this.name = "PolicyError";
    this.diagnostics = diagnostics;
  }
}

function makePolicyError(message, diagnostics) {
  return new PolicyError(message, diagnostics);
}

module.exports = { PolicyError, makePolicyError };
