// The shared decision corpus (tests/vectors/*.json, format in tests/vectors/README.md), run
// through the npm package: every case of every vector, all mismatches reported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine, PolicyError } from "egress-policy-wasm";
import { loadVectors, subsetMismatches, vectorFiles } from "./helpers.mjs";

const EXPECT_KEYS = new Set([
  "allowed", "status", "reason", "message", "policy", "rule", "route", "dry_run", "audit", "hops", "caveats",
]);

const vectors = loadVectors();

test("the corpus is there", () => {
  assert.ok(vectors.length >= 40, `only ${vectors.length} vectors`);
  for (const v of vectors) assert.equal(`${v.name}.json`, v.file, "name matches the file");
});

for (const vector of vectors) {
  test(`vector ${vector.name}`, () => {
    const files = vectorFiles(vector);
    if (vector.load_error) {
      assert.throws(() => Engine.fromFiles(files), (err) => {
        assert.ok(err instanceof PolicyError, `expected PolicyError, got ${err}`);
        assert.ok(err.diagnostics.some((d) => d.severity === "error"), "an error diagnostic");
        for (const d of err.diagnostics) {
          assert.ok(d.file in files, `diagnostic names a loaded file: ${d.file}`);
          assert.ok(d.line >= 1 && d.column >= 1);
        }
        return true;
      });
      assert.equal(vector.cases.length, 0);
      return;
    }
    const engine = Engine.fromFiles(files);
    const mismatches = [];
    for (const c of vector.cases) {
      for (const key of Object.keys(c.expect)) {
        assert.ok(EXPECT_KEYS.has(key), `${vector.name}/${c.name}: unknown expect key ${key}`);
      }
      const decision = engine.check(c.request);
      subsetMismatches(`${vector.name}/${c.name}`, c.expect, decision, mismatches);
      // checkMany and explain must agree with check.
      assert.deepEqual(engine.checkMany([c.request])[0], decision);
      assert.deepEqual(engine.explain(c.request).decision, decision, `${c.name}: explain`);
    }
    engine.free();
    assert.deepEqual(mismatches, []);
  });
}
