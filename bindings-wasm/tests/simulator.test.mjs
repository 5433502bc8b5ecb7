// The simulator's pieces that run without a browser: the request classes its matrix uses
// (`engine.requestClasses`), the test cases "Save as test case" writes (run by runTests),
// how decisions are classed for display, and how damaged share links are reported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Engine, runTests } from "egress-policy-wasm/tools";
import { readPolicyPaths, repoRoot } from "./helpers.mjs";
import { appendCase, caseYaml } from "../simulator/src/tests.js";
import { classify } from "../simulator/src/verdict.js";
import { decodeState, encodeState } from "../simulator/src/share.js";
import { linkWorkspace, validateState } from "../simulator/src/state.js";

const PRODUCTPAGE = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";
const seedFiles = (name) => readPolicyPaths([`examples/policies/${name}`]);

test("requestClasses: hosts (with any other host), methods and paths of the rules, each once", () => {
  const engine = Engine.fromFiles(seedFiles("istio-waypoint"));
  const c = engine.requestClasses();
  assert.deepEqual(Object.keys(c).sort(), ["hosts", "methods", "paths", "point"]);
  assert.equal(c.point, "routed");
  for (const list of [c.hosts, c.methods, c.paths]) {
    for (const cls of list) assert.deepEqual(Object.keys(cls).sort(), ["example", "label"]);
    assert.equal(new Set(list.map((x) => x.label)).size, list.length, "each class once");
  }
  assert.ok(c.hosts.some((h) => h.label === "httpbin.org"));
  assert.ok(c.methods.some((m) => m.label === "GET"));
  assert.ok(c.paths.some((p) => p.label === "/get"));
  const other = c.hosts.find((h) => h.label === "any other host");
  assert.ok(other && other.example, "an example host no policy names");
  // ALLOW_ANY: that host passes through; Gloo's REGISTRY_ONLY: it is not in the registry.
  const d = engine.check({ source: { principal: PRODUCTPAGE }, method: "GET", url: `http://${other.example}/` });
  assert.equal(d.reason, "passthrough");
  const gloo = Engine.fromFiles(seedFiles("gloo"));
  const g = gloo.requestClasses().hosts.find((h) => h.label === "any other host");
  assert.equal(gloo.check({ method: "GET", url: `http://${g.example}/` }).status, 502);
  // At a named proxy, and bad options.
  const at = engine.requestClasses({ workload: "istio-egress/waypoint" });
  assert.match(at.point, /^workload istio-egress\//);
  assert.throws(() => engine.requestClasses({ nope: 1 }), TypeError);
  assert.throws(() => engine.requestClasses({ workload: "nope" }), RangeError);
});

test("a saved test case runs and passes against the policies it was decided with", () => {
  const files = Object.fromEntries(Object.entries(seedFiles("istio-waypoint")));
  const test0 = readFileSync(join(repoRoot, "examples/tests/istio-waypoint.yaml"), "utf8");
  const engine = Engine.fromFiles(files);
  const request = { source: { principal: PRODUCTPAGE }, method: "DELETE", url: "http://httpbin.org/delete" };
  const text = appendCase(test0, caseYaml("delete is denied", request, engine.check(request)));
  assert.ok(text);
  const report = runTests(text, files, "examples/tests/istio-waypoint.yaml");
  assert.deepEqual(report.errors, []);
  const added = report.cases.find((c) => c.name === "delete is denied");
  assert.ok(added && added.passed, JSON.stringify(added?.mismatches));
  assert.equal(report.failed, 0);
  // An empty `cases: []` list takes the case; a key after `cases` is refused.
  const empty = appendCase("policies: [../policies/istio-waypoint]\ncases: []\n", caseYaml("x", request, engine.check(request)));
  assert.equal(runTests(empty, files, "examples/tests/t.yaml").cases.length, 1);
  assert.equal(appendCase("cases:\n- {name: a, request: {}, expect: {}}\nname: late\n", "- name: b\n"), null);
});

test("display classes: enforced allow, passthrough, denial, assumptions", () => {
  assert.equal(classify({ allowed: true, status: 200, reason: "allowed_by_policy" }).kind, "allow");
  const pass = classify({ allowed: true, status: 200, reason: "passthrough", caveats: [] });
  assert.equal(pass.kind, "open");
  assert.notEqual(pass.symbol, "✓");
  assert.equal(classify({ allowed: true, status: 200, reason: "no_allow_policies" }).kind, "open");
  assert.equal(classify({ allowed: false, status: 403, reason: "no_allow_match" }).kind, "deny");
  assert.equal(classify({ allowed: false, status: 502, reason: "not_in_registry" }).kind, "unreg");
  const cav = classify({ allowed: true, status: 200, reason: "allowed_by_policy", caveats: [{ code: "source_unknown", message: "m", resource: null }] });
  assert.ok(cav.caveated && cav.symbol.endsWith("?") && /ASSUMING/.test(cav.headline));
});

test("share links: round trip, and damaged links are named as such", async () => {
  const state = { v: 2, files: [{ name: "policies/a.yaml", text: "kind: X\n" }, { name: "tests/t.yaml", text: "cases: []\n", test: true }], active: "policies/a.yaml", form: { url: "http://a/" } };
  const fragment = await encodeState(state);
  assert.deepEqual(validateState(await decodeState(`#${fragment}`)), state);
  const ws = linkWorkspace(state);
  assert.equal(ws.files.length, 2);
  assert.equal(ws.baseline.files.length, 1);
  assert.equal(await decodeState("#section-2"), null, "not a link");
  await assert.rejects(decodeState(`#${fragment.slice(0, 20)}`), /damaged|cut short|not readable/);
  await assert.rejects(decodeState("#z=abc!def"), /characters/);
  await assert.rejects(decodeState(`#j=${Buffer.from("{").toString("base64url")}`), /not readable/);
  assert.throws(() => validateState({ v: 2, files: [] }), /no files/);
  assert.throws(() => validateState({ v: 9 }), /version/);
  assert.equal(linkWorkspace({ v: 1, yaml: "a: 1\n" }).files[0].name, "policies/policies.yaml");
});
