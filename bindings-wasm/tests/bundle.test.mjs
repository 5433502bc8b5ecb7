// The bundle module (`egress-policy-wasm/bundle`): the engine without the YAML parser and the
// importers, loading compiled-policy bundles. A bundle written by the tools module
// (`engine.toBundle()`; not in the main module, whose size it would grow) or by the native
// CLI (`egress-policy compile`) builds an engine that decides exactly like the main module's
// engine on every shared vector and seed scenario,
// explains alike (failing fields are located at their rule: a bundle has no source texts),
// and bad bundles are refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as main from "egress-policy-wasm";
import * as bundled from "egress-policy-wasm/bundle";
import * as tools from "egress-policy-wasm/tools";
import { cli, loadVectors, native, needsCli, seedScenarios, vectorFiles } from "./helpers.mjs";

/** The explanation without its `location` fields (a field's `file:line:column` needs the
 *  source texts; the rule's stays in `rule_location`-style fields the model carries). */
function withoutLocations(value) {
  if (Array.isArray(value)) return value.map(withoutLocations);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "location")
      .map(([key, v]) => [key, withoutLocations(v)]),
  );
}

function assertSameEngines(name, yamlEngine, bundleEngine, requests) {
  const decisions = requests.map((r) => yamlEngine.check(r));
  assert.deepEqual(requests.map((r) => bundleEngine.check(r)), decisions, name);
  assert.deepEqual(bundleEngine.checkMany(requests), decisions, `${name} (checkMany)`);
  const statuses = Array.from(bundleEngine.decidePrepared(bundleEngine.prepare(requests)));
  assert.deepEqual(statuses, decisions.map((d) => d.status), `${name} (decidePrepared)`);
  for (const request of requests) {
    const a = yamlEngine.explain(request);
    const b = bundleEngine.explain(request);
    assert.deepEqual(b.decision, a.decision, `${name} (explain)`);
    assert.deepEqual(withoutLocations(b), withoutLocations(a), `${name} (explain)`);
  }
  assert.equal(bundleEngine.ruleCount, yamlEngine.ruleCount, name);
  assert.deepEqual(bundleEngine.warnings, yamlEngine.warnings, name);
}

test("every shared vector decides the same from the tools module's bundle as the main module", () => {
  let compared = 0;
  for (const vector of loadVectors()) {
    if (vector.load_error) continue;
    const engine = main.Engine.fromFiles(vectorFiles(vector));
    const writer = tools.Engine.fromFiles(vectorFiles(vector));
    const text = writer.toBundle();
    writer.free();
    const fromBundle = bundled.Engine.fromBundle(text, `${vector.name}.bundle.json`);
    const requests = (vector.cases ?? []).map((c) => c.request);
    assertSameEngines(vector.name, engine, fromBundle, requests);
    compared += requests.length;
    engine.free();
    fromBundle.free();
  }
  assert.ok(compared > 300, `${compared} requests`);
});

test("a bundle from the native CLI (egress-policy compile) decides like the main module", needsCli, () => {
  for (const scenario of seedScenarios()) {
    // A path relative to the repository root (`native` runs there): the bundle's file names
    // are then the ones the main module's engine was given.
    const bundle = native(["compile", "--policy", `examples/policies/${scenario.name}`, "-o", "-"]);
    const fromBundle = bundled.Engine.fromBundle(JSON.stringify(bundle), `${scenario.name}.bundle.json`);
    const engine = main.Engine.fromFiles(scenario.files);
    assertSameEngines(scenario.name, engine, fromBundle, scenario.demo.map((d) => d.request ?? d));
  }
  assert.ok(cli);
});

test("the bundle module loads bundles only, and refuses bad ones with a PolicyError", () => {
  for (const name of ["fromYaml", "fromFiles"]) assert.equal(bundled.Engine[name], undefined, name);
  assert.equal(bundled.Engine.prototype.toBundle, undefined, "toBundle is the tools module's");
  assert.equal(main.Engine.prototype.toBundle, undefined, "toBundle is the tools module's, not the main entry's");
  assert.equal(typeof tools.Engine.prototype.toBundle, "function");
  assert.equal(bundled.validate, undefined);
  assert.equal(bundled.PolicyError, main.PolicyError, "one PolicyError class");
  const text = tools.Engine.fromFiles(seedScenarios()[0].files).toBundle();
  const refused = (bad, pattern) => {
    assert.throws(() => bundled.Engine.fromBundle(bad, "b.json"), (err) => {
      assert.ok(err instanceof bundled.PolicyError, String(err));
      assert.equal(err.diagnostics.length, 1);
      assert.equal(err.diagnostics[0].file, "b.json");
      assert.match(err.message, pattern);
      return true;
    });
  };
  refused("apiVersion: v1", /not a bundle/);
  refused(JSON.stringify({ ...JSON.parse(text), version: 99 }), /bundle format version 99 is not supported/);
  refused(JSON.stringify({ ...JSON.parse(text), engine: "0.0.0" }), /compiled by egress-policy 0\.0\.0/);
  refused(JSON.stringify({ ...JSON.parse(text), extra: 1 }), /unknown field `extra`/);
  const engine = createRequire(import.meta.url)("egress-policy-wasm/bundle").Engine.fromBundle(text);
  assert.equal(typeof engine.check, "function", "the CommonJS entry");
  assert.equal(bundled.version(), main.version());
});

test("the web flavour of the bundle entry initialises from given bytes", async () => {
  const { readFileSync } = await import("node:fs");
  const web = await import("egress-policy-wasm/web/bundle");
  web.initSync({ module: readFileSync(new URL("../pkg/web/egress_policy_wasm_bundle_bg.wasm", import.meta.url)) });
  const files = seedScenarios()[0].files;
  const engine = web.Engine.fromBundle(tools.Engine.fromFiles(files).toBundle());
  const request = seedScenarios()[0].demo[0];
  assert.deepEqual(engine.check(request.request ?? request), main.Engine.fromFiles(files).check(request.request ?? request));
});
