// Access logs in memory: engine.replay / replayChange, suggest / suggestMissing, held to
// the CLI's `replay --json` and `suggest` on the sample logs of examples/logs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Engine, suggest } from "egress-policy-wasm/tools";
import { native, needsCli, readPolicyPaths, repoRoot } from "./helpers.mjs";

const logs = join(repoRoot, "examples/logs");
const read = (name) => readFileSync(join(logs, name), "utf8");
const waypoint = () => Engine.fromFiles(readPolicyPaths(["examples/policies/istio-waypoint"]));
const TEXT = { format: "istio-text", identities: read("identities.txt") };

/** The report without the places lines are named by (a file path in the CLI, `<log>` here). */
function unplaced(report) {
  return {
    ...report,
    rows: report.rows.map(({ example, ...row }) => row),
    malformed_samples: report.malformed_samples.map(({ file, ...sample }) => sample),
  };
}

test("replay equals the CLI's replay --json", needsCli, () => {
  const mine = waypoint().replay(read("istio-text.log"), TEXT);
  const cli = native([
    "replay", "--json", "--policy", "examples/policies/istio-waypoint",
    "--log", "examples/logs/istio-text.log", "--format", "istio-text",
    "--identities", "examples/logs/identities.txt",
  ]);
  assert.deepEqual(unplaced(mine), unplaced(cli));
  assert.ok(mine.denied > 0 && mine.allowed > 0);
  assert.equal(mine.malformed, 1);
  assert.match(mine.rows[0].example, /^<log>:\d+$/);
});

test("suggest, then replay of the same log denies nothing; replayChange reports only changes", () => {
  const suggestion = suggest(read("istio-text.log"), TEXT);
  assert.deepEqual(suggestion.hosts, ["api.github.com", "httpbin.org"]);
  assert.equal(suggestion.requests, 6);
  const suggested = Engine.fromYaml(suggestion.yaml, "suggested.yaml");
  const after = suggested.replay(read("istio-text.log"), TEXT);
  assert.equal(after.denied, 0);
  const change = waypoint().replayChange(suggested, read("istio-text.log"), TEXT);
  assert.ok(change.newly_denied > 0);
  assert.ok(change.rows.every((r) => r.before.allowed !== r.after.allowed));
  // What the suggested policies already allow is left out.
  assert.deepEqual(suggested.suggestMissing(read("istio-text.log"), TEXT).hosts, []);
  for (const vendor of ["gloo", "tsb"]) {
    const other = suggest(read("istio-text.log"), { ...TEXT, vendor });
    assert.ok(Engine.fromYaml(other.yaml, `${vendor}.yaml`).warnings.length === 0, vendor);
    assert.ok(other.notes.length > 0, vendor);
  }
});

test("bad options throw, bad lines are counted", () => {
  const engine = waypoint();
  assert.throws(() => engine.replay("", { format: "syslog" }), RangeError);
  assert.throws(() => engine.replay("", { colour: 1 }), TypeError);
  assert.throws(() => engine.replay("", { identities: "not an ip\n" }), RangeError);
  assert.throws(() => suggest("", { vendor: "linkerd" }), RangeError);
  assert.throws(() => suggest("", { generalize: -1 }), TypeError);
  const first = read("envoy-json.log").split("\n")[0];
  const report = engine.replay(`${first}\nnot json\n`);
  assert.equal(report.requests, 1);
  assert.equal(report.malformed, 1);
  assert.equal(report.malformed_samples[0].line, 2);
});
