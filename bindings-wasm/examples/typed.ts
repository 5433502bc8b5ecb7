// Type-checked by `tsc -p bindings-wasm/examples` (scripts/test-wasm.sh): uses the generated
// declarations the way a TypeScript consumer of the npm package would. The
// `@ts-expect-error` lines prove the types are precise (no `any`). The tools (lint, runTests,
// diff, reach, ...) are in the `tools` entry, whose `Engine` is the engine's plus the tools.
import {
  Engine,
  PolicyError,
  diff,
  lint,
  lintCodes,
  runTests,
  validate,
  type Change,
  type Decision,
  type Diagnostic,
  type DiffReport,
  type Explanation,
  type Inventory,
  type Lint,
  type LintCode,
  type Reason,
  type ReachReport,
  type Request,
  type TestReport,
} from "egress-policy-wasm/tools";
import { Engine as BundleEngine } from "egress-policy-wasm/bundle";
import { Engine as MainEngine } from "egress-policy-wasm";

const policies: Record<string, string> = {
  "authz.yaml": [
    "apiVersion: security.istio.io/v1",
    "kind: AuthorizationPolicy",
    "metadata: {name: only-get, namespace: istio-egress}",
    "spec:",
    "  rules:",
    "  - to: [{operation: {methods: [GET]}}]",
    "",
  ].join("\n"),
};

const request: Request = {
  source: { principal: "cluster.local/ns/bookinfo/sa/bookinfo-productpage" },
  workload: { namespace: "istio-egress" },
  method: "GET",
  url: "http://httpbin.org/get",
  headers: { "x-trace": ["a", "b"] },
};

export function summarize(d: Decision): string {
  const reason: Reason = d.reason;
  const who = d.policy ? `${d.policy.kind} ${d.policy.namespace}/${d.policy.name} rule ${d.rule ?? "-"}` : "-";
  const route = d.route ? `${d.route.host}:${d.route.port}${d.route.tls ? ` (TLS ${d.route.tls.mode}, SNI ${d.route.tls.sni})` : ""}` : "-";
  return `${d.allowed ? "ALLOWED" : "DENIED"} ${d.status} ${reason} by ${who} via ${route}`;
}

export function firstFailures(x: Explanation): string[] {
  return x.policies.flatMap((p) =>
    p.rules.filter((r) => !r.matched).map((r) => `${p.policy.name}[${r.index}] ${r.failed_field ?? "?"} (${p.location})`),
  );
}

export function located(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.resource ?? ""} ${d.field ?? ""} ${d.message}`;
}

export function finding(l: Lint): string {
  const code: LintCode = l.code;
  return `${l.file}:${l.line}:${l.column}: ${l.severity}: ${l.message} [${code}]\n  help: ${l.help}`;
}

export function changeLine(c: Change): string {
  const verdict = (allowed: boolean) => (allowed ? "allow" : "deny");
  const from = c.request.source?.principal ?? "plaintext";
  return `${c.point}: ${from} ${c.method.label} ${c.host.label}${c.path.label}: ${verdict(c.before.allowed)} -> ${verdict(c.after.allowed)} (${c.after.reason})`;
}

export function tools(engine: Engine, before: Engine): void {
  const findings: Lint[] = [...engine.lint(), ...lint(policies), ...lint("a: 1", "one.yaml")];
  const summaries: Record<LintCode, string> = lintCodes();
  const report: TestReport = runTests("policies: [authz.yaml]\ncases: []\n", policies, "test.yaml");
  const failures: string[] = report.cases
    .filter((c) => !c.passed)
    .flatMap((c) => c.mismatches.map((m) => `${c.name} (line ${c.location.line}): ${m.field}: expected ${m.expected}, got ${m.actual}`));
  const who: ReachReport = engine.reach({ host: "httpbin.org" });
  const where: ReachReport = engine.reach({ identity: null, workloads: ["istio-egress/waypoint"], allGateways: true });
  const methods: string[] = who.entries.flatMap((e) => e.access.flatMap((a) => a.methods));
  const changes: DiffReport = diff(before, engine, { compareReason: true, workloads: [{ namespace: "istio-egress" }] });
  const counts: number = changes.newly_allowed + changes.newly_denied;
  console.log(findings.map(finding), summaries["deny-host-without-port"], report.ok, failures, where.entries.length, methods, changes.changes.map(changeLine), counts, diff(before, engine).changed);

  // @ts-expect-error: a query needs `host` or `identity`
  engine.reach({});
  // @ts-expect-error: not both
  engine.reach({ host: "a", identity: "b" });
  // @ts-expect-error: `allGateways`, not `all_gateways`
  engine.reach({ host: "a", all_gateways: true });
  // @ts-expect-error: not a lint code
  const code: LintCode = "no-such-lint";
  // @ts-expect-error: runTests takes a file map
  runTests("x", "policies.yaml");
  // @ts-expect-error: the reports are snake_case (`newly_denied`)
  console.log(changes.newlyDenied, code);
}

export function run(): void {
  let engine: Engine;
  try {
    engine = Engine.fromFiles(policies);
  } catch (err) {
    if (err instanceof PolicyError) {
      const lines: string[] = err.diagnostics.map(located);
      throw new Error(lines.join("\n"));
    }
    throw err;
  }
  const decision: Decision = engine.check(request);
  const many: Decision[] = engine.checkMany([request, { ...request, method: "POST" }]);
  const explanation: Explanation = engine.explain(request);
  const inventory: Inventory = engine.inventory();
  const warnings: Diagnostic[] = engine.warnings;
  const count: number = engine.ruleCount;
  const batch = engine.evalLines(JSON.stringify(request));
  const status: number | undefined = batch[0]?.decision?.status;
  const diagnostics: Diagnostic[] = validate("a: [", "broken.yaml");
  console.log(summarize(decision), many.length, firstFailures(explanation), inventory.hosts.map((h) => h.url), warnings.length, count, status, diagnostics.map(located));
  // The bundle module decides from a compiled-policy bundle, with the same types. The
  // tools module's engine writes it (`toBundle`); the main entry's engine does not.
  const compiled: string = engine.toBundle();
  const main = MainEngine.fromFiles(policies);
  // @ts-expect-error: toBundle is the tools module's
  main.toBundle();
  // @ts-expect-error: the main entry loads YAML; bundles load in the bundle and tools modules
  MainEngine.fromBundle(compiled);
  main.free();
  const fromBundle = BundleEngine.fromBundle(compiled, "policies.bundle.json");
  const same: Decision = fromBundle.check(request);
  const sameExplained: Explanation = fromBundle.explain(request);
  console.log(summarize(same), firstFailures(sameExplained));
  // @ts-expect-error: the bundle module loads no YAML
  BundleEngine.fromYaml("a: 1");
  fromBundle.free();
  engine.free();

  // @ts-expect-error: unknown Request field
  engine.check({ bogus: 1 });
  // @ts-expect-error: protocol is "http" | "tls" | "tcp"
  engine.check({ protocol: "udp" });
  // @ts-expect-error: port is a number
  engine.check({ port: "443" });
  // @ts-expect-error: a Decision has no `allow` field
  console.log(decision.allow);
  // @ts-expect-error: "nope" is not a Reason
  const bad: Reason = "nope";
  // @ts-expect-error: fromFiles takes a file map, not a list
  Engine.fromFiles(["a.yaml"]);
  console.log(bad);
}
