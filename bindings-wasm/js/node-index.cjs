"use strict";
// CommonJS entry for Node.js (`require("egress-policy-wasm")`).
const glue = require("./egress_policy_wasm.js");
const { PolicyError } = require("./policy-error.js");

module.exports = {
  Engine: glue.Engine,
  validate: glue.validate,
  version: glue.version,
  lint: glue.lint,
  lintCodes: glue.lintCodes,
  runTests: glue.runTests,
  diff: glue.diff,
  suggest: glue.suggest,
  PolicyError,
};
