// ESM tools entry for Node.js (`egress-policy-wasm/tools`): the tools module, a superset of
// the engine (its own `Engine`, with lint, reach, requestClasses, replay, suggestMissing)
// plus `lint`, `lintCodes`, `runTests`, `diff` and `suggest`. Engines of the two modules do
// not mix: pass `diff` engines made by this module's `Engine`.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const glue = require("./egress_policy_wasm_tools.js");

export const { Engine, Connection, PreparedRequests, validate, version, lint, lintCodes, runTests, diff, suggest } = glue;
export const { PolicyError } = require("./policy-error.js");
