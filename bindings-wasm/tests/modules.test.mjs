// The package's three WebAssembly modules: the engine (the main entry, what a page downloads
// before its first decision), the tools (the `tools` entry, `loadTools()`) and the bundle
// module (the `bundle` entry: the engine alone, loading compiled-policy bundles), read from
// the files build.sh wrote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import * as main from "egress-policy-wasm";
import * as toolsEntry from "egress-policy-wasm/tools";
import { readPolicyPaths } from "./helpers.mjs";

const wasm = (name) => readFileSync(new URL(`../pkg/web/${name}_bg.wasm`, import.meta.url));
// The sizes build.sh measured (`gzip -9 -c pkg/web/<module>_bg.wasm | wc -c`), checked
// against the files below.
const sizes = JSON.parse(readFileSync(new URL("../pkg/size.json", import.meta.url), "utf8"));
const engineKB = sizes.gzip / 1024;
const toolsKB = sizes.tools.gzip / 1024;
const bundleKB = sizes.bundle.gzip / 1024;
const REQUEST = { source: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-productpage" }, method: "GET", url: "http://httpbin.org/get" };
const FILES = readPolicyPaths(["examples/policies/istio-waypoint"]);

// Issue 13's target for the engine alone: met by the bundle module (the engine that loads
// compiled bundles, without the YAML stack and the importers). The main engine module, which
// also loads YAML, is reported against it as a todo (bindings-wasm/README.md, "Size").
const TARGET_KB = 450;
// The size today plus a margin: a regression guard while the target is open (648 KiB with
// the engine's own profile, `wasm-engine`, and regex without its perf features; 866 KiB
// before). Session 8's merges grew the module to 765 KiB (783,123 bytes): bundles, whose
// `Engine.fromBundle` (the model's deserializers, ~100 KB) and `engine.toBundle()` (its
// serializers, 11 KB) are now in the bundle and tools modules only; 655 KiB (671,207 bytes)
// without them (bindings-wasm/README.md, "Size and speed"). Session 9's decide path, with its
// candidate-list walk and road-key writer inlined for the native engine's speed, made it
// 666 KiB (681,770 bytes). Session 10's `check` without JSON (src/encode.rs, src/fast.rs:
// 1.7x faster `check`) made it 682 KiB (698,162 bytes; the bundle module +4.4 KB). Session
// 18's `check` from the borrowed verdict (`Verdict::view`, hop outcomes worded as they are
// written) made it 687 KiB (703,284 bytes; the bundle module +4.7 KB, 439 KiB).
const CEILING_KB = 690;

test(`the bundle module (the engine alone) is at most ${TARGET_KB} KB gzip`, () => {
  assert.equal(sizes.bundle.raw, wasm("egress_policy_wasm_bundle").length, "size.json's bundle entry is the bundle module's");
  const zlibKB = gzipSync(wasm("egress_policy_wasm_bundle"), { level: 9 }).length / 1024;
  assert.ok(Math.abs(zlibKB - bundleKB) < bundleKB * 0.05, `size.json gzip ${bundleKB.toFixed(1)} KB, zlib ${zlibKB.toFixed(1)} KB`);
  assert.ok(bundleKB <= TARGET_KB, `bundle module ${bundleKB.toFixed(1)} KB gzip`);
  assert.ok(bundleKB < engineKB, `bundle ${bundleKB.toFixed(1)} KB < engine ${engineKB.toFixed(1)} KB`);
});

test(`the engine module (with YAML) is at most ${TARGET_KB} KB gzip`, { todo: engineKB > TARGET_KB ? `engine module ${engineKB.toFixed(0)} KB gzip` : false }, () => {
  assert.ok(engineKB <= TARGET_KB, `engine module ${engineKB.toFixed(1)} KB gzip`);
});

test(`the engine module stays under ${CEILING_KB} KB gzip and smaller than the tools module`, () => {
  assert.equal(sizes.raw, wasm("egress_policy_wasm").length, "size.json is the engine module's");
  assert.equal(sizes.tools.raw, wasm("egress_policy_wasm_tools").length, "size.json's tools entry is the tools module's");
  // zlib's level 9 and gzip -9 differ by about 1%.
  const zlibKB = gzipSync(wasm("egress_policy_wasm"), { level: 9 }).length / 1024;
  assert.ok(Math.abs(zlibKB - engineKB) < engineKB * 0.05, `size.json gzip ${engineKB.toFixed(1)} KB, zlib ${zlibKB.toFixed(1)} KB`);
  assert.ok(engineKB <= CEILING_KB, `engine module ${engineKB.toFixed(1)} KB gzip`);
  assert.ok(engineKB < toolsKB, `engine ${engineKB.toFixed(1)} KB < tools ${toolsKB.toFixed(1)} KB`);
});

test("the main entry is the engine: it decides and explains, the tools are not in it", () => {
  const engine = main.Engine.fromFiles(FILES);
  assert.equal(engine.check(REQUEST).allowed, true);
  assert.equal(engine.explain(REQUEST).decision.allowed, true);
  assert.match(engine.explainText(REQUEST), /allow/i);
  assert.ok(engine.inventory().hosts.length > 0);
  assert.deepEqual(main.validate(FILES), []);
  for (const method of ["lint", "reach", "replay", "replayChange", "suggestMissing", "requestClasses", "toBundle"]) {
    assert.equal(typeof engine[method], "undefined", `engine.${method}`);
  }
  for (const name of ["lint", "lintCodes", "runTests", "diff", "suggest"]) assert.equal(main[name], undefined, name);
  assert.equal(main.Engine.fromBundle, undefined, "bundles load in the bundle and tools modules");
  engine.free();
});

test("loadTools() and the tools entry give the tools module: every tool, the same answers", async () => {
  const tools = await main.loadTools();
  assert.equal(tools.Engine, toolsEntry.Engine, "one tools module in Node");
  assert.equal(tools.PolicyError, main.PolicyError, "one PolicyError class for both modules");
  assert.throws(() => tools.Engine.fromYaml("a: ["), main.PolicyError);
  const before = tools.Engine.fromFiles(FILES);
  const after = tools.Engine.fromFiles(readPolicyPaths(["examples/policies/tsb-deny-all"]));
  assert.deepEqual(before.check(REQUEST), main.Engine.fromFiles(FILES).check(REQUEST));
  assert.ok(Array.isArray(before.lint()));
  assert.ok(before.reach({ host: "httpbin.org" }).entries.length > 0);
  assert.ok(before.requestClasses().hosts.length > 0);
  assert.equal(typeof tools.diff(before, after).changed, "boolean");
  assert.ok(Object.keys(tools.lintCodes()).length > 0);
  assert.equal(tools.Engine.fromBundle(before.toBundle()).check(REQUEST).allowed, true, "toBundle and fromBundle are the tools module's");
  const cjsTools = await createRequire(import.meta.url)("egress-policy-wasm").loadTools();
  assert.equal(typeof cjsTools.runTests, "function");
  assert.equal(cjsTools.Engine, createRequire(import.meta.url)("egress-policy-wasm/tools").Engine);
});

test("the web flavour: loadTools() initialises the tools module from given bytes", async () => {
  const web = await import("egress-policy-wasm/web");
  web.initSync({ module: wasm("egress_policy_wasm") });
  const tools = await web.loadTools({ module_or_path: wasm("egress_policy_wasm_tools") });
  assert.equal(await web.loadTools(), tools, "loaded once");
  const engine = tools.Engine.fromFiles(FILES);
  assert.equal(engine.check(REQUEST).allowed, true);
  assert.ok(Array.isArray(engine.lint()));
  assert.throws(() => tools.Engine.fromYaml("a: ["), web.PolicyError);
});
