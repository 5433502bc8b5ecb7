// The npm package as published: every `exports` target exists after build.sh, is covered by
// `files`, and the node, web and CommonJS entries export the same names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const pkgDir = new URL("../", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("package.json", pkgDir), "utf8"));

function targets(node, out = []) {
  if (typeof node === "string") out.push(node);
  else for (const v of Object.values(node)) targets(v, out);
  return out;
}

test("every exports target exists and is published", () => {
  const all = [...targets(manifest.exports), manifest.main, manifest.module, manifest.types];
  assert.ok(all.length > 8);
  for (const t of all) {
    assert.ok(existsSync(new URL(t, pkgDir)), `${t} exists`);
    const covered = t === "./package.json" || manifest.files.some((f) => t.replace(/^\.\//, "").startsWith(f));
    assert.ok(covered, `${t} is in "files"`);
  }
  assert.equal(manifest.type, "module");
});

test("node ESM, CommonJS and web entries export the same API", async () => {
  const esm = await import("egress-policy-wasm");
  const cjs = createRequire(import.meta.url)("egress-policy-wasm");
  const web = await import("egress-policy-wasm/web");
  const api = ["Engine", "Connection", "PolicyError", "validate", "version", "loadTools"];
  for (const name of api) {
    assert.equal(typeof esm[name], "function", `esm ${name}`);
    assert.equal(typeof cjs[name], "function", `cjs ${name}`);
    assert.equal(typeof web[name], "function", `web ${name}`);
  }
  assert.equal(esm.PolicyError, cjs.PolicyError, "one PolicyError class in Node");
  assert.equal(typeof web.default, "function", "web init");
  assert.equal(typeof web.initSync, "function", "web initSync");
});

test("node ESM, CommonJS and web tools entries export the same API", async () => {
  const esm = await import("egress-policy-wasm/tools");
  const cjs = createRequire(import.meta.url)("egress-policy-wasm/tools");
  const web = await import("egress-policy-wasm/web/tools");
  const api = ["Engine", "Connection", "PolicyError", "validate", "version", "lint", "lintCodes", "runTests", "diff", "suggest"];
  for (const name of api) {
    assert.equal(typeof esm[name], "function", `esm ${name}`);
    assert.equal(typeof cjs[name], "function", `cjs ${name}`);
    assert.equal(typeof web[name], "function", `web ${name}`);
  }
  assert.equal(esm.Engine, cjs.Engine, "one tools module in Node");
  assert.equal(typeof web.default, "function", "web init");
});

test("node ESM, CommonJS and web bundle entries export the same API", async () => {
  const esm = await import("egress-policy-wasm/bundle");
  const cjs = createRequire(import.meta.url)("egress-policy-wasm/bundle");
  const web = await import("egress-policy-wasm/web/bundle");
  for (const name of ["Engine", "Connection", "PolicyError", "version"]) {
    assert.equal(typeof esm[name], "function", `esm ${name}`);
    assert.equal(typeof cjs[name], "function", `cjs ${name}`);
    assert.equal(typeof web[name], "function", `web ${name}`);
  }
  assert.equal(typeof esm.Engine.fromBundle, "function", "Engine.fromBundle");
  assert.equal(esm.Engine, cjs.Engine, "one bundle module in Node");
  assert.equal(typeof web.default, "function", "web init");
  assert.equal(typeof web.initSync, "function", "web initSync");
});

test("the published version follows the crate", async () => {
  const { version } = await import("egress-policy-wasm");
  assert.equal(manifest.version, version());
});
