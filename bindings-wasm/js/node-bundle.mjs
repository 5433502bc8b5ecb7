// ESM bundle entry for Node.js (`egress-policy-wasm/bundle`): the bundle module, the engine
// without the YAML parser and the importers. It loads compiled-policy bundles only
// (`Engine.fromBundle(text)`: the JSON `egress-policy compile` or `engine.toBundle()` of the
// tools entry writes) and decides and explains like the main entry's engine.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const glue = require("./egress_policy_wasm_bundle.js");

export const { Engine, Connection, PreparedRequests, version } = glue;
export const { PolicyError } = require("./policy-error.js");
