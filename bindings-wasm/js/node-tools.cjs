"use strict";
// CommonJS tools entry for Node.js (`require("egress-policy-wasm/tools")`): see tools.mjs.
const glue = require("./egress_policy_wasm_tools.js");
const { PolicyError } = require("./policy-error.js");

module.exports = {
  Engine: glue.Engine,
  Connection: glue.Connection,
  PreparedRequests: glue.PreparedRequests,
  validate: glue.validate,
  version: glue.version,
  lint: glue.lint,
  lintCodes: glue.lintCodes,
  runTests: glue.runTests,
  diff: glue.diff,
  suggest: glue.suggest,
  PolicyError,
};
