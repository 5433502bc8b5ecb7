// The seed scenarios (examples/policies/*/demo.jsonl) through the package. When the native
// CLI is available (EGRESS_POLICY_CLI, or target/{release,debug}/egress-policy), every
// decision must equal `egress-policy eval` on the same policies and requests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "egress-policy-wasm";
import { repoRoot, seedScenarios } from "./helpers.mjs";

function nativeCli() {
  const candidates = [
    process.env.EGRESS_POLICY_CLI,
    join(repoRoot, "target/release/egress-policy"),
    join(repoRoot, "target/debug/egress-policy"),
  ];
  return candidates.find((c) => c && existsSync(c));
}

const cli = nativeCli();
const scenarios = seedScenarios();

test("the seed scenarios are there", () => {
  const names = scenarios.map((s) => s.name);
  for (const name of ["gloo", "istio-waypoint", "tsb"]) assert.ok(names.includes(name), names.join());
});

for (const scenario of scenarios) {
  test(`seed ${scenario.name}: loads cleanly and decides its demo requests`, () => {
    const engine = Engine.fromFiles(scenario.files);
    assert.ok(engine.ruleCount >= 0);
    const decisions = engine.checkMany(scenario.demo.map((d) => d.request));
    assert.equal(decisions.length, scenario.demo.length);
    if (!scenario.name.includes("deny-all")) assert.ok(decisions.some((d) => d.allowed), "some demo request is allowed");
    assert.ok(decisions.some((d) => !d.allowed), "some demo request is denied");
    for (const d of decisions) assert.ok([200, 400, 403, 502].includes(d.status));
  });

  test(`seed ${scenario.name}: wasm decides exactly like the native CLI`, { skip: cli ? false : "native CLI not built" }, () => {
    const dir = mkdtempSync(join(tmpdir(), "egress-seed-"));
    try {
      const requests = join(dir, "requests.jsonl");
      writeFileSync(requests, scenario.demo.map((d) => JSON.stringify(d.request)).join("\n") + "\n");
      const out = execFileSync(cli, ["eval", "--policy", join(repoRoot, "examples/policies", scenario.name), "--requests", requests], { encoding: "utf8" });
      const native = out.trim().split("\n").map((l) => JSON.parse(l).decision);
      const engine = Engine.fromFiles(scenario.files);
      const wasm = engine.checkMany(scenario.demo.map((d) => d.request));
      for (const [i, d] of scenario.demo.entries()) assert.deepEqual(wasm[i], native[i], `${scenario.name}: ${d.label}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
