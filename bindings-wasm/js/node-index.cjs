"use strict";
// CommonJS entry for Node.js (`require("egress-policy-wasm")`): the engine module. The policy
// tools are the second module: `require("egress-policy-wasm/tools")`, or `await loadTools()`.
const glue = require("./egress_policy_wasm.js");
const { PolicyError } = require("./policy-error.js");

module.exports = {
  Engine: glue.Engine,
  Connection: glue.Connection,
  PreparedRequests: glue.PreparedRequests,
  validate: glue.validate,
  version: glue.version,
  PolicyError,
  loadTools: async () => require("./tools.cjs"),
};
