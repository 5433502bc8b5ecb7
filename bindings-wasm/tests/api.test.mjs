// The package API: loading, errors, validate, check / checkMany / explain / evalLines,
// inventory, and the CommonJS and web flavours.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { Engine, PolicyError, validate, version } from "egress-policy-wasm";
import { join } from "node:path";
import { readPolicyPaths, repoRoot } from "./helpers.mjs";

const PRODUCTPAGE = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";
const waypoint = () => Engine.fromFiles(readPolicyPaths(["examples/policies/istio-waypoint"]));

const BROKEN = [
  "apiVersion: security.istio.io/v1",
  "kind: AuthorizationPolicy",
  "metadata: {name: bad, namespace: istio-egress}",
  "spec:",
  "  action: ALLOW",
  "  rules:",
  "  - to:",
  "    - operation:",
  "        methods: [GET]",
  "        ports: [\"99999\"]",
  "",
].join("\n");

test("version matches the crate", () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test("fromYaml loads one text and decides", () => {
  const engine = Engine.fromYaml(
    "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: only-get, namespace: istio-egress}\nspec:\n  rules:\n  - to: [{operation: {methods: [GET]}}]\n",
  );
  const workload = { namespace: "istio-egress" };
  assert.equal(engine.ruleCount, 1);
  assert.deepEqual(engine.warnings, []);
  const get = engine.check({ workload, host: "httpbin.org", method: "GET" });
  assert.equal(get.allowed, true);
  assert.equal(get.reason, "allowed_by_policy");
  assert.deepEqual(get.policy, { kind: "AuthorizationPolicy", namespace: "istio-egress", name: "only-get" });
  assert.equal(get.rule, 0);
  const post = engine.check({ workload, host: "httpbin.org", method: "POST" });
  assert.deepEqual([post.allowed, post.status, post.reason, post.message], [false, 403, "no_allow_match", "RBAC: access denied"]);
});

test("load errors throw PolicyError with located diagnostics", () => {
  let thrown;
  try {
    Engine.fromYaml(BROKEN, "bad.yaml");
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof PolicyError);
  assert.ok(thrown instanceof Error);
  assert.equal(thrown.name, "PolicyError");
  assert.match(thrown.message, /^bad\.yaml:10:\d+: error: /);
  const [d] = thrown.diagnostics.filter((x) => x.severity === "error");
  assert.equal(d.file, "bad.yaml");
  assert.equal(d.line, 10);
  assert.equal(d.resource, "AuthorizationPolicy istio-egress/bad");
  assert.match(d.field, /^spec\.rules\[0\]\.to\[0\]\.operation\.ports/);
  assert.equal(typeof d.message, "string");
  assert.ok(thrown.stack.includes("PolicyError"));
});

test("YAML syntax errors are located too", () => {
  assert.throws(
    () => Engine.fromFiles({ "ok.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", "broken.yaml": "a: [1,\n" }),
    (err) => err instanceof PolicyError && err.diagnostics.some((d) => d.file === "broken.yaml" && d.line >= 1),
  );
});

test("validate returns every diagnostic and never throws for bad policies", () => {
  const bad = validate(BROKEN, "bad.yaml");
  assert.ok(bad.length >= 1);
  assert.deepEqual(Object.keys(bad[0]).sort(), ["column", "field", "file", "line", "message", "resource", "severity"]);
  assert.equal(bad[0].severity, "error");
  assert.equal(bad[0].line, 10);
  const good = validate(readPolicyPaths(["examples/policies/gloo"]));
  assert.ok(good.every((d) => d.severity === "warning"), JSON.stringify(good));
  assert.deepEqual(validate("a: [", "x.yaml").map((d) => [d.file, d.line, d.severity]), [["x.yaml", 1, "error"]]);
  assert.throws(() => validate(42), TypeError);
});

test("fromFiles rejects what is not a file map", () => {
  assert.throws(() => Engine.fromFiles([]), TypeError);
  assert.throws(() => Engine.fromFiles({ "a.yaml": 1 }), TypeError);
});

test("requests follow the Request JSON rules", () => {
  const engine = waypoint();
  assert.throws(() => engine.check({ bogus: 1 }), (e) => e instanceof TypeError && /unknown field `bogus`/.test(e.message));
  assert.throws(() => engine.check({ port: "80", url: "http://a/" }), TypeError);
  assert.throws(() => engine.check(null), TypeError);
  assert.throws(() => engine.check("http://httpbin.org/"), TypeError);
  // Objects without a JSON form: JSON.stringify throws (a cycle, a BigInt) or gives nothing.
  const cyclic = { url: "http://httpbin.org/get" };
  cyclic.self = cyclic;
  for (const request of [cyclic, { port: 80n }, { toJSON: () => undefined }]) {
    assert.throws(() => engine.check(request), (e) => e instanceof TypeError && /^invalid request: not a JSON value$/.test(e.message));
  }
  assert.throws(() => engine.checkMany([{ port: 80n }]), (e) => e instanceof TypeError && /not a JSON value/.test(e.message));
  // `undefined` members are absent, as in JSON.
  const d = engine.check({ source: { principal: PRODUCTPAGE }, url: "http://httpbin.org/get", method: "GET", sni: undefined });
  assert.equal(d.allowed, true);
  // A malformed request is a decision (400), not an exception.
  const bad = engine.check({ url: "http://httpbin.org/get", method: "get" });
  assert.deepEqual([bad.allowed, bad.status, bad.reason], [false, 400, "malformed_request"]);
});

test("checkMany keeps the order and names the bad element", () => {
  const engine = waypoint();
  const requests = ["GET", "POST", "GET", "DELETE"].map((method) => ({
    source: { principal: PRODUCTPAGE }, method, url: "http://httpbin.org/get",
  }));
  assert.deepEqual(engine.checkMany(requests).map((d) => d.allowed), [true, false, true, false]);
  assert.deepEqual(engine.checkMany([]), []);
  assert.throws(() => engine.checkMany([requests[0], { nope: true }]), /index 1/);
  assert.throws(() => engine.checkMany({}), TypeError);
});

test("explain lists the attached policies, rules and the first failing field", () => {
  const engine = waypoint();
  const x = engine.explain({ source: { principal: PRODUCTPAGE }, method: "POST", url: "http://httpbin.org/get" });
  assert.equal(x.decision.allowed, false);
  assert.deepEqual(x.gateway, { kind: "Gateway", namespace: "istio-egress", name: "egress-waypoint" });
  assert.equal(x.policies.length, 1);
  const [p] = x.policies;
  assert.equal(p.action, "ALLOW");
  assert.equal(p.matched, false);
  assert.match(p.location, /httpbin-authz\.yaml:\d+:\d+$/);
  assert.equal(p.rules[0].failed_field, "to[0].operation.methods");
  assert.ok(x.steps.length > 0);
  // In the user's terms: the field of the file, its line, the values.
  assert.equal(p.rules[0].field, "spec.rules[0].to[0].operation.methods");
  assert.equal(p.rules[0].location, "examples/policies/istio-waypoint/httpbin-authz.yaml:17:18");
  assert.equal(p.rules[0].got, "POST");
  assert.deepEqual(p.rules[0].wanted, ["GET"]);
  assert.equal(p.rules[0].mismatch, "method POST not in [GET]");
  assert.equal(x.enforced_at.proxy, "waypoint");
  assert.deepEqual(x.enforced_at.resource, { kind: "Gateway", namespace: "istio-egress", name: "egress-waypoint" });
});

test("explain speaks the user's file for Gloo and TSB", () => {
  const gloo = Engine.fromFiles(readPolicyPaths(["examples/policies/gloo"]));
  const g = gloo.explain({ source: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-reviews" }, method: "GET", url: "http://httpbin.org/get" });
  const [gr] = g.policies[0].rules;
  assert.equal(gr.field, "spec.config.authz.allowedClients[0].serviceAccountSelector.labels");
  assert.equal(gr.location, "examples/policies/gloo/httpbin-accesspolicy.yaml:18:13");
  assert.equal(gr.got, "{account=reviews}");
  assert.deepEqual(gr.wanted, ["{account=productpage}"]);
  assert.equal(g.enforced_at.proxy, "egress_gateway");
  const tsb = Engine.fromFiles(readPolicyPaths(["examples/policies/tsb"]));
  const request = { source: { principal: "cluster.local/ns/ns1/sa/app" }, method: "GET", url: "http://example.com/" };
  const t = tsb.explain(request);
  const [tr] = t.policies[0].rules;
  assert.equal(tr.field, "spec.authorization[0].to");
  assert.equal(tr.location, "examples/policies/tsb/egress-gateway.yaml:18:9");
  assert.equal(tr.mismatch, "host example.com does not match [www.httpbin.org]");
  assert.match(tsb.explainText(request), /spec\.authorization\[0\]\.to: host example\.com does not match \[www\.httpbin\.org\]/);
});

test("evalLines decides JSON lines like `egress-policy eval`", () => {
  const engine = waypoint();
  const out = engine.evalLines(
    `{"source": {"principal": "${PRODUCTPAGE}"}, "method": "GET", "url": "http://httpbin.org/get"}\n\nnot json\n{"x": 1}\n`,
  );
  assert.deepEqual(out.map((r) => r.line), [1, 3, 4]);
  assert.equal(out[0].decision.allowed, true);
  assert.equal(out[0].error, null);
  assert.equal(out[1].decision, null);
  assert.match(out[1].error, /line 1 column/);
  assert.match(out[2].error, /unknown field `x`/);
});

test("explainText is the CLI's `check --explain` text", () => {
  const engine = waypoint();
  const request = { source: { principal: PRODUCTPAGE }, method: "POST", url: "http://httpbin.org/post" };
  const text = engine.explainText(request);
  assert.match(text, /^DENIED 403 no_allow_match\n/);
  assert.match(text, /spec\.rules\[0\]\.to\[0\]\.operation\.methods: method POST not in \[GET\]/);
  assert.match(text, /policy: {3}no ALLOW policy matched \(1 attached\)\n {12}- AuthorizationPolicy istio-egress\/httpbin/);
  assert.match(text, /enforced at: .*\(waypoint, port \d+\)/);
  assert.match(text, /policies at the enforcing point:/);
  assert.equal(text, engine.explainText(request));
});

test("evalLines prints the shared batch lines (tests/batch, like the CLI and Python)", () => {
  const engine = Engine.fromFiles(readPolicyPaths(["examples/policies/istio-egress-gateway"]));
  const input = readFileSync(join(repoRoot, "tests/batch/requests.jsonl"), "utf8");
  const expected = readFileSync(join(repoRoot, "tests/batch/expected.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
  assert.deepEqual(engine.evalLines(input), expected);
});

test("inventory lists identities, hosts, gateways and policies with locations", () => {
  const gloo = Engine.fromFiles(readPolicyPaths(["examples/policies/gloo"])).inventory();
  assert.equal(gloo.outbound, "REGISTRY_ONLY");
  assert.deepEqual(gloo.identities.map((i) => i.principal), [
    "cluster.local/ns/bookinfo/sa/bookinfo-productpage",
    "cluster.local/ns/bookinfo/sa/bookinfo-reviews",
    // The AccessPolicy selects clients in namespace bookinfo: its `default` account stands for it.
    "cluster.local/ns/bookinfo/sa/default",
  ]);
  assert.deepEqual(gloo.hosts.map((h) => [h.host, h.url]), [["httpbin.org", "http://httpbin.org/"]]);
  assert.equal(gloo.gateways[0].id.kind, "VirtualGateway");
  assert.deepEqual(gloo.gateways[0].workload, { namespace: "istio-egress", labels: { app: "istio-egressgateway" } });
  const [policy] = gloo.policies;
  assert.equal(policy.id.name, "httpbin-access");
  assert.equal(policy.location.file, "examples/policies/gloo/httpbin-accesspolicy.yaml");
  assert.ok(policy.rules.length >= 1);

  const tsb = Engine.fromFiles(readPolicyPaths(["examples/policies/tsb"])).inventory();
  const principals = tsb.identities.map((i) => i.principal);
  assert.ok(principals.includes("cluster.local/ns/default/sa/bookinfo-details"), principals.join());
  assert.ok(principals.includes("cluster.local/ns/ns1/sa/default"), principals.join());
  assert.ok(tsb.hosts.some((h) => h.host === "www.httpbin.org"));
});

test("the CommonJS entry is the same API", () => {
  const require = createRequire(import.meta.url);
  const cjs = require("egress-policy-wasm");
  assert.equal(typeof cjs.Engine.fromYaml, "function");
  assert.throws(() => cjs.Engine.fromYaml("a: ["), cjs.PolicyError);
});

test("the web flavour runs too (initSync with the module bytes)", async () => {
  const web = await import("egress-policy-wasm/web");
  const bytes = readFileSync(new URL("../pkg/web/egress_policy_wasm_bg.wasm", import.meta.url));
  web.initSync({ module: bytes });
  const engine = web.Engine.fromFiles(readPolicyPaths(["examples/policies/istio-waypoint"]));
  assert.equal(engine.check({ source: { principal: PRODUCTPAGE }, method: "GET", url: "http://httpbin.org/get" }).allowed, true);
  assert.throws(() => web.Engine.fromYaml("a: ["), web.PolicyError);
});

test("checkOn decides as check of the request carrying the connection's fields", async () => {
  const { Connection } = await import("egress-policy-wasm");
  const engine = waypoint();
  const sender = { source: { principal: PRODUCTPAGE, namespace: "bookinfo" } };
  const connection = new Connection(sender);
  assert.equal(connection.principal, PRODUCTPAGE);
  assert.equal(connection.namespace, "bookinfo");
  assert.equal(connection.workloadNamespace, undefined);
  for (const url of ["http://httpbin.org/get", "https://httpbin.org/get", "http://example.com/"]) {
    for (const method of ["GET", "POST"]) {
      const own = { url, method };
      assert.deepEqual(engine.checkOn(connection, own), engine.check({ ...own, ...sender }), `${method} ${url}`);
    }
  }
  // The same answer from the CommonJS entry's class.
  const cjs = createRequire(import.meta.url)("egress-policy-wasm");
  assert.equal(cjs.Connection, Connection);
});

test("checkOn refuses sender fields in the request; Connection refuses the request's own", async () => {
  const { Connection } = await import("egress-policy-wasm");
  const engine = waypoint();
  const connection = new Connection({ source: { principal: PRODUCTPAGE } });
  assert.throws(
    () => engine.checkOn(connection, { url: "http://httpbin.org/get", source: { principal: PRODUCTPAGE } }),
    (e) => e instanceof TypeError && /source\.principal is the connection's/.test(e.message),
  );
  assert.throws(
    () => engine.checkOn(connection, { url: "http://httpbin.org/get", workload: { namespace: "a" } }),
    (e) => e instanceof TypeError && /workload is the connection's/.test(e.message),
  );
  assert.throws(
    () => new Connection({ source: { ip: "10.0.0.1" } }),
    (e) => e instanceof TypeError && /source\.ip is the request's own/.test(e.message),
  );
  assert.throws(() => new Connection({ host: "a.com" }), (e) => e instanceof TypeError && /unknown field `host`/.test(e.message));
  assert.throws(() => new Connection([]), TypeError);
  // A request's own source fields stay the request's.
  const own = engine.checkOn(connection, { url: "http://httpbin.org/get", method: "GET", source: { ip: "10.0.0.9" } });
  assert.deepEqual(own, engine.check({ url: "http://httpbin.org/get", method: "GET", source: { ip: "10.0.0.9", principal: PRODUCTPAGE } }));
});
