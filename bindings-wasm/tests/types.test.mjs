// The hand-written TypeScript interfaces (src/types.d.ts, emitted into the generated .d.ts)
// must list exactly the keys the engine produces and accepts, so the types cannot drift
// from the core's serde forms unnoticed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Engine, PolicyError, diff, lint, lintCodes, runTests } from "egress-policy-wasm/tools";
import { loadVectors, readPolicyPaths, vectorFiles } from "./helpers.mjs";

const source = readFileSync(new URL("../src/types.d.ts", import.meta.url), "utf8");

/** interface name → {keys, optional} parsed from types.d.ts (own keys plus `extends`). */
function interfaces() {
  const out = {};
  for (const m of source.matchAll(/export interface (\w+)(?: extends (\w+))? \{\n([\s\S]*?)\n\}/g)) {
    const [, name, parent, body] = m;
    const keys = [...body.matchAll(/^ {2}(\w+)(\??):/gm)].map((k) => ({ key: k[1], optional: k[2] === "?" }));
    out[name] = { keys, parent };
  }
  for (const entry of Object.values(out)) {
    if (entry.parent) entry.keys = [...out[entry.parent].keys, ...entry.keys];
  }
  return out;
}

const types = interfaces();
const keysOf = (name) => types[name].keys.map((k) => k.key).sort();
const union = (name) => [...source.match(new RegExp(`export type ${name} =([^;]*);`))[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);

function assertShape(name, value) {
  assert.ok(types[name], `types.d.ts declares ${name}`);
  assert.deepEqual(Object.keys(value).sort(), keysOf(name), `${name} keys`);
  for (const { key, optional } of types[name].keys) {
    assert.equal(optional, false, `${name}.${key}: outputs always carry every key`);
  }
}

test("outputs have exactly the declared keys", () => {
  const engine = Engine.fromFiles(readPolicyPaths(["examples/policies/istio-waypoint-tls"]));
  const inv = engine.inventory();
  const request = { source: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-productpage" }, method: "GET", url: "http://httpbin.org/get" };
  const d = engine.check(request);
  assert.equal(d.allowed, true);
  assertShape("Decision", d);
  assertShape("Route", d.route);
  assertShape("RouteTls", d.route.tls);
  assertShape("HeaderMutations", d.route.headers);
  assertShape("ResourceRef", d.policy);
  const x = engine.explain(request);
  assertShape("Explanation", x);
  assertShape("PolicyVerdict", x.policies[0]);
  assertShape("RuleVerdict", x.policies[0].rules[0]);
  assertShape("EnforcedAt", x.enforced_at);
  assertShape("Inventory", inv);
  assertShape("InventoryHost", inv.hosts[0]);
  assertShape("InventoryGateway", inv.gateways[0]);
  assertShape("InventoryPolicy", inv.policies[0]);
  assertShape("Location", inv.policies[0].location);
  const [line] = engine.evalLines(JSON.stringify(request));
  assertShape("BatchLine", line);
  const gloo = Engine.fromFiles(readPolicyPaths(["examples/policies/gloo"])).inventory();
  assertShape("InventoryIdentity", gloo.identities[0]);
});

test("diagnostics and dry-run outcomes have exactly the declared keys", () => {
  try {
    Engine.fromYaml("a: [");
    assert.fail("should not load");
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    assertShape("Diagnostic", err.diagnostics[0]);
  }
  const dry = loadVectors().find((v) => v.name === "istio-dry-run");
  const engine = Engine.fromFiles(vectorFiles(dry));
  const outcome = dry.cases.map((c) => engine.check(c.request).dry_run).find((o) => o !== null);
  assertShape("DryRunOutcome", outcome);
});

test("tool reports have exactly the declared keys", () => {
  const [finding] = lint(readPolicyPaths(["tests/lint/deny-host-without-port/bad.yaml"]));
  assertShape("Lint", finding);
  const policies = readPolicyPaths(["examples/policies/istio-waypoint"]);
  const failing = runTests(readFileSync(new URL("../../tests/testfiles/failing.yaml", import.meta.url), "utf8"), policies, "tests/testfiles/x.yaml");
  // The test file names `../../examples/policies/istio-waypoint` from tests/testfiles/.
  assert.deepEqual(failing.errors, []);
  assertShape("TestReport", failing);
  const failed = failing.cases.find((c) => !c.passed);
  assertShape("CaseResult", failed);
  assertShape("Mismatch", failed.mismatches[0]);
  assertShape("Location", failed.location);
  assertShape("Explanation", failed.explanation);
  const engine = Engine.fromFiles(policies);
  const reach = engine.reach({ host: "httpbin.org" });
  assertShape("ReachReport", reach);
  assertShape("ReachEntry", reach.entries[0]);
  assertShape("Access", reach.entries[0].access[0]);
  assertShape("RequestClass", reach.entries[0].identities[0]);
  const tsb = Engine.fromFiles(readPolicyPaths(["examples/policies/tsb"]));
  const report = diff(tsb, Engine.fromFiles(readPolicyPaths(["examples/policies/tsb-deny-all"])));
  assertShape("DiffReport", report);
  assertShape("Change", report.changes[0]);
  assertShape("Outcome", report.changes[0].before);
  assertShape("RequestClass", report.changes[0].path);
  // Example requests are Requests: the engine takes them back.
  assert.equal(tsb.check(report.changes[0].request).allowed, true);
});

test("the LintCode union lists every lint code", () => {
  assert.deepEqual(union("LintCode").sort(), Object.keys(lintCodes()).sort());
});

test("Request types list exactly the fields the engine accepts", () => {
  const engine = Engine.fromYaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
  const accepted = (request) => {
    try {
      engine.check(request);
    } catch (err) {
      const list = err.message.match(/expected (?:one of )?(.*) at line/)[1];
      return [...list.matchAll(/`(\w+)`/g)].map((m) => m[1]).sort();
    }
    assert.fail("an unknown field must be rejected");
  };
  assert.deepEqual(accepted({ zz_probe: 1 }), keysOf("Request"));
  assert.deepEqual(accepted({ source: { zz_probe: 1 } }), keysOf("RequestSource"));
  assert.deepEqual(accepted({ workload: { namespace: "a", zz_probe: 1 } }), keysOf("Workload"));
  assert.deepEqual(accepted({ jwt: { zz_probe: 1 } }), keysOf("Jwt"));
  for (const { key, optional } of types.Request.keys) assert.ok(optional, `Request.${key} is optional`);
});

test("every reason the corpus expects is in the Reason union", () => {
  const reasons = new Set(union("Reason"));
  assert.equal(reasons.size, 14);
  for (const v of loadVectors()) {
    for (const c of v.cases) {
      if (c.expect.reason) assert.ok(reasons.has(c.expect.reason), `${v.name}/${c.name}: ${c.expect.reason}`);
    }
  }
  assert.deepEqual(union("Protocol").sort(), ["http", "tcp", "tls"]);
  assert.deepEqual(union("Severity").sort(), ["error", "warning"]);
});

test("the generated .d.ts files carry the interfaces and typed signatures", () => {
  for (const flavour of ["node", "web"]) {
    const dtsOf = (module) => readFileSync(new URL(`../pkg/${flavour}/${module}.d.ts`, import.meta.url), "utf8");
    const engineDts = dtsOf("egress_policy_wasm");
    const dts = dtsOf("egress_policy_wasm_tools");
    for (const d of [engineDts, dts]) {
      for (const name of Object.keys(types)) assert.match(d, new RegExp(`export interface ${name}\\b`), `${flavour}: ${name}`);
      assert.match(d, /check\(request: Request\): Decision;/);
      assert.match(d, /checkMany\(requests: Request\[\]\): Decision\[\];/);
      assert.match(d, /explain\(request: Request\): Explanation;/);
      assert.match(d, /static fromFiles\(files: Record<string, string>\): Engine;/);
      assert.match(d, /export function validate\(policies: string \| Record<string, string>, name\?: string \| null\): Diagnostic\[\];/);
    }
    // The tools are in the tools module only.
    assert.doesNotMatch(engineDts, /^\s*lint\(\): Lint|^export function (lint|runTests|diff|suggest)\(|^\s*reach\(query/m, `${flavour}: engine module without tools`);
    assert.match(dts, /\blint\(\): Lint\[\];/);
    assert.match(dts, /reach\(query: ReachQuery\): ReachReport;/);
    assert.match(dts, /export function lint\(policies: string \| Record<string, string>, name\?: string \| null\): Lint\[\];/);
    assert.match(dts, /export function runTests\(test: string, files: Record<string, string>, name\?: string \| null\): TestReport;/);
    assert.match(dts, /export function diff\(before: Engine, after: Engine, options\?: DiffOptions\): DiffReport;/);
    assert.match(dts, /export function lintCodes\(\): Record<LintCode, string>;/);
    // The raw wasm exports (`InitOutput`, web flavour only) are internal and untyped.
    // (Comments and the `ReachEntry.any` key aside: `any` in a type position.)
    const api = dts.split("export type InitInput")[0].replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(api, /[:<|,(&]\s*any\b|\bany\s*[[|>]/, `${flavour}: no \`any\` in the public types`);
  }
});
