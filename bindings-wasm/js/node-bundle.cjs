"use strict";
// CommonJS bundle entry for Node.js (`require("egress-policy-wasm/bundle")`): see bundle.mjs.
const glue = require("./egress_policy_wasm_bundle.js");
const { PolicyError } = require("./policy-error.js");

module.exports = {
  Engine: glue.Engine,
  Connection: glue.Connection,
  PreparedRequests: glue.PreparedRequests,
  version: glue.version,
  PolicyError,
};
