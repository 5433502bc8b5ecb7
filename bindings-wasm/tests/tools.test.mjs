// The policy tools through the package: lint (tests/lint fixtures), test files
// (examples/tests, tests/testfiles), reach and diff (the seed scenarios). When the native
// CLI is available, every report must equal its `--json` output on the same inputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Engine, PolicyError, diff, lint, lintCodes, runTests } from "egress-policy-wasm/tools";
import { native, needsCli, readPolicyPaths, repoRoot } from "./helpers.mjs";

const PRODUCTPAGE = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";
const seed = (name) => Engine.fromFiles(readPolicyPaths([`examples/policies/${name}`]));

// ------------------------------------------------------------------------------- lint

const lintDir = join(repoRoot, "tests/lint");
const fixtures = readdirSync(lintDir)
  .sort()
  .flatMap((code) =>
    readdirSync(join(lintDir, code))
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => ({ code, path: `tests/lint/${code}/${f}`, bad: f.startsWith("bad") })),
  );

test("one lint fixture directory per code, each with a bad and a good file", () => {
  const codes = Object.keys(lintCodes()).sort();
  assert.equal(codes.length, 14);
  assert.deepEqual([...new Set(fixtures.map((f) => f.code))], codes);
  for (const code of codes) {
    assert.ok(fixtures.some((f) => f.code === code && f.bad), `${code}: bad.yaml`);
    assert.ok(fixtures.some((f) => f.code === code && !f.bad), `${code}: good.yaml`);
  }
  for (const summary of Object.values(lintCodes())) assert.ok(summary.length > 10);
});

for (const f of fixtures) {
  test(`lint ${f.path}: ${f.bad ? `yields exactly ${f.code}` : "yields nothing"}`, () => {
    const files = readPolicyPaths([f.path]);
    const findings = lint(files);
    if (f.bad) {
      assert.deepEqual([...new Set(findings.map((x) => x.code))], [f.code], JSON.stringify(findings, null, 1));
      for (const x of findings) {
        assert.equal(x.file, f.path);
        assert.equal(x.severity, "warning");
        assert.ok(x.line > 1, "located in the file");
        assert.ok(x.column >= 1);
        assert.ok(x.help.length > 0 && x.message.length > 0);
        assert.match(x.resource, /^\w+ [\w.-]+\/[\w.-]+$/);
      }
    } else {
      assert.deepEqual(findings, []);
    }
    // The engine lints the texts it was loaded from, with the same result.
    assert.deepEqual(Engine.fromFiles(files).lint(), findings);
  });
}

test("lint equals `egress-policy lint --format json` on every fixture", needsCli, () => {
  for (const f of fixtures) {
    assert.deepEqual(lint(readPolicyPaths([f.path])), native(["lint", "--format", "json", "--policy", f.path]), f.path);
  }
});

test("lint points at the offending value", () => {
  const path = "tests/lint/deny-host-without-port/bad.yaml";
  const text = readFileSync(join(repoRoot, path), "utf8");
  const [finding] = lint(text, path);
  assert.equal(finding.code, "deny-host-without-port");
  assert.equal(finding.field, "spec.rules[0].to[0].operation.hosts[0]");
  const line = text.split("\n")[finding.line - 1];
  assert.match(line.slice(finding.column - 1), /^\[?"api\.example\.com"/);
});

test("the seed scenarios lint clean", () => {
  for (const name of ["gloo", "istio-waypoint", "istio-waypoint-tls", "tsb", "tsb-deny-all"]) {
    assert.deepEqual(seed(name).lint(), [], name);
  }
});

test("lint of policies that do not load throws PolicyError", () => {
  assert.throws(() => lint("a: [", "x.yaml"), (e) => e instanceof PolicyError && e.diagnostics[0].file === "x.yaml");
  assert.throws(() => lint(42), TypeError);
});

// ------------------------------------------------------------------------------- test files

const allPolicies = readPolicyPaths(["examples/policies"]);
const testFile = (path) => runTests(readFileSync(join(repoRoot, path), "utf8"), allPolicies, path);
const exampleTests = readdirSync(join(repoRoot, "examples/tests"))
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((f) => `examples/tests/${f}`);

test("every example test file passes", () => {
  assert.ok(exampleTests.length >= 5, exampleTests.join());
  for (const path of exampleTests) {
    const report = testFile(path);
    assert.equal(report.ok, true, `${path}: ${JSON.stringify(report.errors.length ? report.errors : report.cases.filter((c) => !c.passed), null, 1)}`);
    assert.equal(report.file, path);
    assert.ok(report.passed > 0);
    assert.equal(report.failed, 0);
    assert.equal(report.passed, report.cases.length);
    assert.deepEqual(report.policies, [path.replace(/^examples\/tests\/(.*)\.yaml$/, "examples/policies/$1")]);
    for (const c of report.cases) assert.equal(c.explanation, null);
  }
});

test("tests/testfiles/failing.yaml fails, explained", () => {
  const report = testFile("tests/testfiles/failing.yaml");
  assert.equal(report.ok, false);
  assert.deepEqual([report.passed, report.failed], [1, 1]);
  assert.deepEqual(report.errors, []);
  const [pass, fail] = report.cases;
  assert.equal(pass.passed, true);
  assert.equal(fail.passed, false);
  assert.equal(fail.name, "wrongly expects POST /post to be allowed");
  assert.ok(fail.location.line > 10);
  assert.deepEqual(fail.mismatches.map((m) => m.field), ["allowed", "reason", "policy"]);
  assert.deepEqual(fail.mismatches[0], { field: "allowed", expected: "true", actual: "false" });
  assert.equal(fail.decision.reason, "no_allow_match");
  assert.equal(fail.explanation.policies[0].rules[0].failed_field, "to[0].operation.methods");
});

test("a malformed test file or a missing policy path: located errors, no case runs", () => {
  const invalid = testFile("tests/testfiles/invalid.yaml");
  assert.equal(invalid.ok, false);
  assert.deepEqual(invalid.cases, []);
  assert.ok(invalid.errors.length >= 3, JSON.stringify(invalid.errors));
  for (const e of invalid.errors) assert.equal(e.file, "tests/testfiles/invalid.yaml");
  assert.ok(invalid.errors.some((e) => /unknown field `verdict`/.test(e.message)));
  const missing = testFile("tests/testfiles/missing-policies.yaml");
  assert.deepEqual(missing.cases, []);
  assert.equal(missing.errors.length, 1);
  assert.equal(missing.errors[0].line, 3);
  assert.match(missing.errors[0].message, /policy path `\.\.\/does-not-exist` cannot be read/);
  // Policies that do not load are the report's errors too.
  const broken = runTests("policies: [p.yaml]\ncases:\n- {name: x, request: {method: GET}, expect: {allowed: true}}\n", { "p.yaml": "a: [" });
  assert.equal(broken.errors[0].file, "p.yaml");
  assert.deepEqual(broken.cases, []);
});

test("policy paths name files or directories of the file map", () => {
  const text = (policies) =>
    `policies: ${JSON.stringify(policies)}\ncases:\n- name: get\n  request: {source: {principal: ${PRODUCTPAGE}}, method: GET, url: http://httpbin.org/get}\n  expect: {allowed: true, status: 200}\n`;
  const files = readPolicyPaths(["examples/policies/istio-waypoint"]);
  const names = Object.keys(files);
  // A directory relative to the test file's own directory.
  assert.equal(runTests(text(["../policies/istio-waypoint"]), files, "examples/tests/t.yaml").ok, true);
  // Each file by name; the test file named by default (`test.yaml`, no directory).
  const each = runTests(text(names), files);
  assert.equal(each.ok, true, JSON.stringify(each.errors));
  assert.equal(each.file, "test.yaml");
  assert.deepEqual(each.policies, names);
  // Only the named files load: without the ServiceEntry and the waypoint, no gateway enforces.
  const one = runTests(text(["examples/policies/istio-waypoint/httpbin-authz.yaml"]), files);
  assert.deepEqual(one.errors, []);
  assert.equal(one.cases[0].decision.reason, "passthrough");
  assert.throws(() => runTests("x", "not a map"), TypeError);
  assert.throws(() => runTests("x", { "a.yaml": 1 }), TypeError);
});

test("runTests equals `egress-policy test --json` on every test file", needsCli, () => {
  const paths = [...exampleTests, "tests/testfiles/failing.yaml", "tests/testfiles/invalid.yaml"];
  // The CLI names policy paths as joined (`examples/tests/../policies/x`), the package
  // normalised (`examples/policies/x`); the rest must be identical.
  const normalise = (report) =>
    JSON.parse(
      JSON.stringify(report)
        .replaceAll("examples/tests/../policies/", "examples/policies/")
        .replaceAll("tests/testfiles/../../examples/", "examples/"),
    );
  for (const path of paths) {
    const [expected] = native(["test", "--json", path]);
    const { ok, ...report } = testFile(path);
    assert.deepEqual(normalise(report), normalise(expected), path);
    assert.equal(ok, expected.errors.length === 0 && expected.failed === 0);
  }
});

// ------------------------------------------------------------------------------- reach

test("reach: who may reach httpbin.org in istio-waypoint (any identity, GET /get)", () => {
  const report = seed("istio-waypoint").reach({ host: "httpbin.org" });
  assert.equal(report.host, "httpbin.org");
  assert.equal(report.identity, null);
  assert.equal(report.entries.length, 1);
  const [entry] = report.entries;
  assert.equal(entry.point, "routed");
  assert.equal(entry.any, true);
  assert.deepEqual(entry.hosts.map((h) => h.label), ["httpbin.org"]);
  const [access] = entry.access;
  assert.deepEqual([access.methods, access.paths, access.reason, access.rule], [["GET"], ["/get"], "allowed_by_policy", 0]);
  assert.deepEqual(access.policy, { kind: "AuthorizationPolicy", namespace: "istio-egress", name: "httpbin" });
  // The example is a request the engine allows.
  assert.equal(seed("istio-waypoint").check(access.example).allowed, true);
  assert.ok(report.cells > 0);
  assert.deepEqual(report.caveats, []);
});

test("reach: which hosts an identity (or a plaintext sender) may reach", () => {
  const engine = seed("istio-waypoint");
  const report = engine.reach({ identity: PRODUCTPAGE });
  assert.equal(report.identity, PRODUCTPAGE);
  const hosts = report.entries.flatMap((e) => e.hosts.map((h) => h.label));
  assert.ok(hosts.includes("httpbin.org"), hosts.join());
  for (const identity of [null, "none", ""]) assert.equal(engine.reach({ identity }).identity, "none");
  // At every gateway too.
  const all = engine.reach({ host: "httpbin.org", allGateways: true });
  assert.ok(all.entries.some((e) => e.point === "at Gateway istio-egress/egress-waypoint"), JSON.stringify(all.entries.map((e) => e.point)));
  const named = engine.reach({ host: "httpbin.org", workloads: ["istio-egress/egress-waypoint"] });
  assert.deepEqual([...new Set(named.entries.map((e) => e.point))], ["workload istio-egress/gateway.networking.k8s.io/gateway-name=egress-waypoint"]);
});

test("reach rejects malformed queries", () => {
  const engine = seed("istio-waypoint");
  assert.throws(() => engine.reach({}), TypeError);
  assert.throws(() => engine.reach({ host: "a", identity: "b" }), TypeError);
  assert.throws(() => engine.reach({ host: 1 }), TypeError);
  assert.throws(() => engine.reach({ host: "a", nope: 1 }), (e) => e instanceof TypeError && /`nope`/.test(e.message));
  assert.throws(() => engine.reach({ host: "not a host" }), RangeError);
  assert.throws(() => engine.reach({ host: "a", workloads: ["no-slash"] }), RangeError);
  assert.throws(() => engine.reach("httpbin.org"), TypeError);
  assert.throws(() => engine.reach(), TypeError);
});

test("reach equals `egress-policy reach --json`", needsCli, () => {
  for (const [name, query, args] of [
    ["istio-waypoint", { host: "httpbin.org" }, ["--host", "httpbin.org"]],
    ["tsb", { host: "www.httpbin.org" }, ["--host", "www.httpbin.org"]],
    ["gloo", { identity: PRODUCTPAGE, allGateways: true }, ["--from", PRODUCTPAGE, "--all-gateways"]],
  ]) {
    const expected = native(["reach", "--json", "--policy", `examples/policies/${name}`, ...args]);
    assert.deepEqual(seed(name).reach(query), expected, name);
  }
});

// ------------------------------------------------------------------------------- diff

test("diff tsb → tsb-deny-all: every change is newly denied", () => {
  const before = seed("tsb");
  const after = seed("tsb-deny-all");
  const report = diff(before, after);
  assert.equal(report.changed, true);
  assert.ok(report.newly_denied > 0);
  assert.equal(report.newly_allowed, 0);
  assert.equal(report.newly_denied, report.changes.length);
  assert.deepEqual(report.points, ["routed", "at EgressGateway tsb-egress/my-egress"]);
  for (const c of report.changes) {
    assert.equal(c.before.allowed, true);
    assert.equal(c.after.allowed, false);
    // Each example request really is decided that way.
    assert.equal(before.check(c.request).allowed, true);
    assert.equal(after.check(c.request).allowed, false);
  }
  // The other way round, every change is newly allowed; nothing changes against itself.
  const back = diff(after, before);
  assert.equal(back.newly_allowed, report.newly_denied);
  const same = diff(before, before);
  assert.deepEqual([same.changed, same.changes, same.newly_allowed, same.newly_denied], [false, [], 0, 0]);
  assert.ok(same.cells > 0);
});

test("diff of an edited policy: removing GET denies exactly GET /get", () => {
  const files = readPolicyPaths(["examples/policies/istio-waypoint"]);
  const edited = Object.fromEntries(Object.entries(files).map(([n, t]) => [n, t.replace('methods: ["GET"]', 'methods: ["POST"]')]));
  const report = diff(Engine.fromFiles(files), Engine.fromFiles(edited), { workloads: [] });
  assert.ok(report.newly_denied >= 1 && report.newly_allowed >= 1, JSON.stringify(report.changes.map((c) => [c.method.label, c.path.label])));
  const denied = report.changes.filter((c) => c.before.allowed && !c.after.allowed);
  assert.ok(denied.every((c) => c.method.label === "GET" && c.path.label === "/get"));
  // Limited to a workload, and with reasons compared.
  const at = diff(Engine.fromFiles(files), Engine.fromFiles(edited), { workloads: [{ namespace: "istio-egress", labels: { "gateway.networking.k8s.io/gateway-name": "egress-waypoint" } }], compareReason: true });
  assert.deepEqual(at.points, ["workload istio-egress/gateway.networking.k8s.io/gateway-name=egress-waypoint"]);
  assert.throws(() => diff(seed("tsb"), seed("tsb"), { compare_reason: true }), TypeError);
  assert.throws(() => diff(seed("tsb"), {}), Error);
});

test("diff equals `egress-policy diff --json`", needsCli, () => {
  const expected = native(["diff", "--json", "--before", "examples/policies/tsb", "--after", "examples/policies/tsb-deny-all"]);
  const { changed, newly_allowed, newly_denied, ...report } = diff(seed("tsb"), seed("tsb-deny-all"));
  assert.deepEqual(report, expected);
  assert.deepEqual([changed, newly_allowed, newly_denied], [true, 0, expected.changes.length]);
});
