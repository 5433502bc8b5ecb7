
// ---- JSON shapes of egress-policy (hand-written mirrors of the core's serde forms; see the
// ---- repository README, "Request JSON" and "Decision JSON").

/** Any JSON value (JWT claims). */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** What the enforcing proxy can see: `http` (default), `tls` (SNI + port) or `tcp` (port). */
export type Protocol = "http" | "tls" | "tcp";

/** Who sends the request. */
export interface RequestSource {
  /** mTLS identity, `cluster.local/ns/NS/sa/SA` or `spiffe://...`; absent = plaintext. */
  principal?: string | null;
  /** The direct peer address. */
  ip?: string | null;
  /** The original client address (`X-Forwarded-For`). */
  remote_ip?: string | null;
  /** Labels of the sender's service account (Gloo selectors). */
  labels?: Record<string, string>;
  /** The sender's cluster (TSB `cluster/namespace` selectors). */
  cluster?: string | null;
  /** The sender's namespace without (or agreeing with) a principal: decides which Sidecar applies; never an identity. */
  namespace?: string | null;
  /** The sender's pod labels (Sidecar workload selectors). */
  pod_labels?: Record<string, string>;
}

/** What `new Connection(fields)` takes: the sender (without the request's own `ip`,
 * `remote_ip`, `labels`) and the enforcing proxy, fixed for the requests given to
 * `engine.checkOn(connection, request)`. */
export interface ConnectionFields {
  source?: Pick<RequestSource, "principal" | "namespace" | "cluster" | "pod_labels">;
  workload?: Workload | null;
}

/** The enforcing proxy: namespace and pod labels. */
export interface Workload {
  namespace: string;
  labels?: Record<string, string>;
}

/** The validated JWT of the request. */
export interface Jwt {
  /** `iss/sub`. */
  principal?: string | null;
  audiences?: string[];
  /** Authorized presenter (`azp`). */
  presenter?: string | null;
  claims?: Record<string, JsonValue>;
}

/** One header value, or several for a repeated header (joined with `,`). */
export type HeaderValue = string | string[];

/** A request as the enforcing egress proxy sees it. Every field is optional; unknown
 *  fields are rejected. */
export interface Request {
  source?: RequestSource;
  /** The enforcing proxy; absent = the gateway the registry routes the host to. */
  workload?: Workload | null;
  protocol?: Protocol;
  /** Convenience: fills `host`, `path` and (explicit port or `https`) `port`. */
  url?: string | null;
  /** Raw `:authority`, may include `:port`. */
  host?: string | null;
  /** Destination port at the enforcing proxy. */
  port?: number | null;
  /** `:method`, upper case. */
  method?: string | null;
  /** `:path` with query. */
  path?: string | null;
  headers?: Record<string, HeaderValue>;
  /** TLS SNI. */
  sni?: string | null;
  jwt?: Jwt | null;
  /** Verdicts of CUSTOM (ext-authz) providers by name: `true` allows. */
  custom?: Record<string, boolean>;
  /** For `destination.ip` conditions. */
  destination_ip?: string | null;
}

/** Stable reason code of a decision. */
export type Reason =
  | "allowed_by_policy"
  | "no_allow_policies"
  | "passthrough"
  | "denied_by_policy"
  | "no_allow_match"
  | "allow_nothing"
  | "gateway_denies_all"
  | "denied_by_custom"
  | "not_in_registry"
  | "malformed_request"
  | "direct_response"
  | "no_route"
  | "no_listener"
  | "invalid_token";

/** Names a resource. */
export interface ResourceRef {
  kind: string;
  namespace: string;
  name: string;
}

/** Request header changes on the way out. */
export interface HeaderMutations {
  add: Record<string, string>;
  set: Record<string, string>;
  remove: string[];
}

/** TLS origination applied by the gateway. */
export interface RouteTls {
  /** `SIMPLE`, `MUTUAL` or `ISTIO_MUTUAL`. */
  mode: string;
  /** SNI sent upstream. */
  sni: string;
  /** The resource that asked for it. */
  origin: ResourceRef;
}

/** How an allowed request leaves the mesh. */
export interface Route {
  gateway: ResourceRef | null;
  service: ResourceRef | null;
  host: string;
  port: number;
  tls: RouteTls | null;
  headers: HeaderMutations;
  virtual_service: ResourceRef | null;
}

/** What the dry-run policies would have decided. */
export interface DryRunOutcome {
  allowed: boolean;
  reason: Reason;
  policy: ResourceRef | null;
  rule: number | null;
}

/** The answer for one request. */
export interface Decision {
  allowed: boolean;
  /** 200 allowed, 400 malformed, 403 denied, 502 not in the registry. */
  status: number;
  reason: Reason;
  /** What the client sees (`RBAC: access denied` for 403) or a short summary. */
  message: string;
  /** The deciding policy. */
  policy: ResourceRef | null;
  /** Index of the deciding rule in that policy. */
  rule: number | null;
  dry_run: DryRunOutcome | null;
  audit: boolean;
  route: Route | null;
  /** The road the request takes, hop by hop. */
  hops: Hop[];
  /** Every assumption the engine made because something was missing. */
  caveats: Caveat[];
}

/** One step of the road a request takes. */
export interface Hop {
  proxy: "client" | "sidecar" | "ztunnel" | "waypoint" | "egress_gateway" | "gateway" | "upstream";
  /** The place in words. */
  at: string;
  step: "outbound" | "registry" | "route" | "listener" | "authorization" | "response" | "tls" | "leave";
  outcome: string;
  /** The resource that decided this hop. */
  resource: ResourceRef | null;
}

/** An assumption the engine made. */
export interface Caveat {
  /** Stable snake_case code, such as `gateway_service_not_loaded`. */
  code: string;
  message: string;
  resource: ResourceRef | null;
}

/** How one rule fared. */
export interface RuleVerdict {
  index: number;
  matched: boolean;
  /** For a rule that did not match: the first field that failed (`to[0].operation.methods`). */
  failed_field: string | null;
  note: string | null;
  /** The failing field as a path in the file the user wrote
   * (`spec.config.authz.allowedClients[0].serviceAccountSelector.labels`). */
  field: string | null;
  /** `file:line:column` of the failing field. */
  location: string | null;
  /** The request's value of the failing attribute (`POST`); `null` when it carries none. */
  got: string | null;
  /** What the rule wanted (for a `notX` field: the values that excluded the request). */
  wanted: string[];
  /** The mismatch in words: `method POST not in [GET, HEAD]`. */
  mismatch: string | null;
}

/** Where authorization was enforced. */
export interface EnforcedAt {
  proxy: Hop["proxy"];
  /** The proxy in words. */
  at: string;
  /** The port it listens on (the one authorization compares). */
  port: number;
  /** The gateway resource it implements, if any. */
  resource: ResourceRef | null;
}

/** `ALLOW`, `DENY`, `AUDIT` or `CUSTOM`. */
export type PolicyAction = "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";

/** How one attached policy fared. */
export interface PolicyVerdict {
  policy: ResourceRef;
  action: PolicyAction;
  dry_run: boolean;
  matched: boolean;
  rules: RuleVerdict[];
  /** `file:line:column` of the policy. */
  location: string;
}

/** A decision with the reasoning behind it. */
export interface Explanation {
  decision: Decision;
  gateway: ResourceRef | null;
  service: ResourceRef | null;
  /** Steps of the pipeline in order, in plain words. */
  steps: string[];
  /** Every policy attached at the enforcing point. */
  policies: PolicyVerdict[];
  /** Where authorization was enforced; `null` when no proxy enforced the request. */
  enforced_at: EnforcedAt | null;
}

/** `error` rejects the input; `warning` does not. */
export type Severity = "error" | "warning";

/** A position in a policy file (1-based). */
export interface Location {
  file: string;
  line: number;
  column: number;
}

/** One finding about the policies, located. */
export interface Diagnostic extends Location {
  severity: Severity;
  /** `Kind namespace/name`, when inside a resource. */
  resource: string | null;
  /** Field path inside the resource (`spec.rules[0].to[0].operation.paths[1]`). */
  field: string | null;
  message: string;
}

/** One line of `engine.evalLines` (and of `egress-policy eval`, Python `eval_lines`): a
 * decision, or why the line is not a Request. */
export interface BatchLine {
  /** 1-based line number in the input (blank lines count). */
  line: number;
  decision: Decision | null;
  error: string | null;
}

/** An identity that the loaded resources mention. */
export interface InventoryIdentity {
  /** `cluster.local/ns/NS/sa/SA`. */
  principal: string;
  /** `Kind namespace/name` of each resource that mentions it. */
  sources: string[];
}

/** A destination host that the loaded resources mention (wildcards excluded). */
export interface InventoryHost {
  host: string;
  /** A URL for a plain `GET /`. */
  url: string;
  sources: string[];
}

/** A gateway, with the request `workload` that evaluates at it. */
export interface InventoryGateway {
  id: ResourceRef;
  /** `waypoint`, `kubernetes_gateway`, `istio_gateway`, `gloo_virtual_gateway`, `tsb_egress_gateway`. */
  kind: string;
  location: Location;
  workload: Workload;
}

/** A policy and where it and its rules are written. */
export interface InventoryPolicy {
  id: ResourceRef;
  action: PolicyAction;
  /** `istio`, `tsb` or `gloo`. */
  vendor: string;
  dry_run: boolean;
  location: Location;
  /** Where each rule starts, by rule index. */
  rules: (Location | null)[];
}

/** What the loaded model mentions. */
export interface Inventory {
  trust_domain: string;
  /** `ALLOW_ANY`, `REGISTRY_ONLY` or `ALLOW_ANY_DYNAMIC_DNS`. */
  outbound: string;
  identities: InventoryIdentity[];
  hosts: InventoryHost[];
  gateways: InventoryGateway[];
  policies: InventoryPolicy[];
}

// ---- The policy tools (egress_policy::tools): lint, test files, reach, diff. The reports
// ---- are the CLI's `--json` forms (`lint --format json`, `test --json`, `reach --json`,
// ---- `diff --json`), plus the computed fields noted below.

/** Stable code of a lint finding (`lintCodes()` gives a summary of each). */
export type LintCode =
  | "deny-host-without-port"
  | "allow-host-without-port"
  | "host-suffix-without-dot"
  | "literal-star"
  | "spiffe-principal"
  | "never-matches"
  | "shadowed-by-deny"
  | "redundant-rule"
  | "http-only-on-tcp"
  | "hosts-on-tls"
  | "registry-only-not-set"
  | "host-not-in-registry"
  | "unreachable-service"
  | "unattached-policy";

/** One lint finding: a pitfall of egress authorization, located at the offending value
 *  (or at the rule when the value cannot be pointed at). */
export interface Lint extends Location {
  code: LintCode;
  /** Always `warning`: lints never stop a load. */
  severity: Severity;
  /** `Kind namespace/name`. */
  resource: string | null;
  /** Field path inside the resource (`spec.rules[0].to[0].operation.hosts[0]`). */
  field: string | null;
  /** What goes wrong at run time, in one sentence. */
  message: string;
  /** What to write instead. */
  help: string;
}

/** One expectation of a test case that the decision did not meet. */
export interface Mismatch {
  /** The `expect` key: `allowed`, `status`, `reason`, `policy`, `rule` or `message`. */
  field: string;
  /** What the test expects, as text (`true`, `403`, `AuthorizationPolicy ns/name`, `null`). */
  expected: string;
  /** What the engine decided, as text. */
  actual: string;
}

/** The result of one test case. */
export interface CaseResult {
  name: string;
  /** Where the case starts in the test file. */
  location: Location;
  /** Whether every expectation held. */
  passed: boolean;
  /** The engine's decision. */
  decision: Decision;
  /** The expectations that did not hold (empty when the case passed). */
  mismatches: Mismatch[];
  /** For a failed case: every attached policy and rule with its verdict. */
  explanation: Explanation | null;
}

/** The result of one test file (`runTests`). */
export interface TestReport {
  /** The test file's name. */
  file: string;
  /** Its `name`, when given. */
  name: string | null;
  /** The policy paths, resolved against the test file's directory. */
  policies: string[];
  /** Every case, in file order (empty when `errors` is not). */
  cases: CaseResult[];
  /** How many cases passed. */
  passed: number;
  /** How many cases failed. */
  failed: number;
  /** Problems with the test file or its policies; no case runs when there are any. */
  errors: Diagnostic[];
  /** Warnings found while loading the policies. */
  warnings: Diagnostic[];
  /** Computed: no `errors` and no failed case. */
  ok: boolean;
}

/** A class of values of one request dimension (identity, host, method or path) that the
 *  policies cannot tell apart. */
export interface RequestClass {
  /** What the class holds, in words (`httpbin.org`, `any other host`, `other methods`). */
  label: string;
  /** The representative value (`null` for the plaintext identity). */
  example: string | null;
}

/** One group of allowed requests: methods × paths, with the deciding policy. */
export interface Access {
  /** Method classes (`["any"]` when every method is allowed). */
  methods: string[];
  /** Path classes (`["any"]` when every path is allowed). */
  paths: string[];
  /** `allowed_by_policy`, `no_allow_policies` or `passthrough`. */
  reason: Reason;
  policy: ResourceRef | null;
  rule: number | null;
  /** One concrete request of the group (`engine.check` takes it). */
  example: Request;
}

/** Subjects (identity or host classes) that share the same access at one point. */
export interface ReachEntry {
  /** Where the requests are decided: `routed`, `at Kind ns/name`, `workload ns/labels`. */
  point: string;
  /** The identity classes (host query: the group; identity query: the identity). */
  identities: RequestClass[];
  /** The host classes (identity query: the group; host query: the host). */
  hosts: RequestClass[];
  /** Whether the group holds every class of its dimension ("any identity", "any host"). */
  any: boolean;
  /** What they may send. */
  access: Access[];
}

/** Who may reach a host, or which hosts an identity may reach (`engine.reach`). */
export interface ReachReport {
  /** The host asked about, for a host query. */
  host: string | null;
  /** The identity asked about, for an identity query (`none` for plaintext). */
  identity: string | null;
  /** Groups with the same access; classes with no allowed request are left out. */
  entries: ReachEntry[];
  /** Number of request classes decided. */
  cells: number;
  /** Rules that read attributes the enumerated requests do not carry (headers, JWT,
   *  source IPs, SNI, CUSTOM verdicts). */
  caveats: string[];
}

/** The parts of a decision that reach and diff compare. */
export interface Outcome {
  allowed: boolean;
  status: number;
  reason: Reason;
  policy: ResourceRef | null;
  rule: number | null;
}

/** One class of requests whose decision changes. */
export interface Change {
  /** Where the requests are decided. */
  point: string;
  identity: RequestClass;
  host: RequestClass;
  method: RequestClass;
  path: RequestClass;
  /** A concrete request of the class (`engine.check` takes it). */
  request: Request;
  before: Outcome;
  after: Outcome;
}

/** Every class of requests whose decision differs between two engines (`diff`). */
export interface DiffReport {
  /** The points compared. */
  points: string[];
  /** Classes whose decision changes, in enumeration order. */
  changes: Change[];
  /** Number of request classes compared. */
  cells: number;
  /** Mesh settings that differ. */
  mesh: string[];
  /** Rules (of either set) that read attributes the enumeration leaves absent. */
  caveats: string[];
  /** Computed: whether any decision changes. */
  changed: boolean;
  /** Computed: changes from denied to allowed. */
  newly_allowed: number;
  /** Computed: changes from allowed to denied. */
  newly_denied: number;
}

/** Where `engine.reach` and `diff` decide: `NS/NAME` (a Gateway-API gateway),
 *  `NS/key=value,...` (pod labels) or a request `workload`. */
export type WorkloadSpec = string | Workload;

/** The question of `engine.reach`: exactly one of `host` or `identity`. */
export type ReachQuery = ({ host: string; identity?: never } | { identity: string | null; host?: never }) & {
  /** Decide at these proxies (default: where the registry routes each request). */
  workloads?: WorkloadSpec[];
  /** Also decide at every loaded gateway. */
  allGateways?: boolean;
};

/** The classes `engine.requestClasses` lists: hosts, methods and paths the policies tell
 *  apart at one proxy, each once (`any other host`: hosts nothing names). */
export interface RequestClasses {
  /** Where they were computed: `routed` or `workload ns/labels`. */
  point: string;
  hosts: RequestClass[];
  methods: RequestClass[];
  paths: RequestClass[];
}

/** Options of `diff`. */
export type DiffOptions = {
  /** Compare at these proxies (default: routed requests plus every gateway of either set). */
  workloads?: WorkloadSpec[];
  /** Also report classes whose verdict stays but whose reason or deciding rule changes. */
  compareReason?: boolean;
};

/** How `engine.replay` / `suggest` read an access log. */
export interface LogOptions {
  /** Default `"envoy-json"`. */
  format?: "envoy-json" | "istio-text" | "ztunnel" | "requests";
  /** Field → log key overrides, e.g. `{identity: "source_identity"}`. */
  mappings?: Record<string, string>;
  /** Source address → identity, or the text of an `ADDRESS IDENTITY` file. */
  identities?: Record<string, string> | string;
  /** A custom text format replacing Istio's default (`istio-text`). */
  textFormat?: string;
}

/** Options of `suggest`. */
export interface SuggestOptions extends LogOptions {
  /** Default `"istio"`. */
  vendor?: "istio" | "tsb" | "gloo";
  /** Path segments kept (default 1; 0 drops paths). */
  generalize?: number;
}

/** What one policy set decided for a request class of a replay. */
export interface ReplayOutcome {
  allowed: boolean;
  status: number;
  reason: Reason;
  /** `Kind namespace/name`. */
  policy: string | null;
  rule: number | null;
}

/** One request class of a replay with its outcome and count. */
export interface ReplayRow {
  /** `cluster.local/ns/x/sa/y`, `-` when unknown (plaintext). */
  identity: string;
  host: string;
  /** `-` for TLS/TCP. */
  method: string;
  /** Path class (`/api/*`), `-` for TLS/TCP. */
  path: string;
  before: ReplayOutcome | null;
  after: ReplayOutcome;
  count: number;
  /** `<log>:LINE` of the first request of the class. */
  example: string;
}

/** A log line that could not be read. */
export interface LineError {
  file: string;
  line: number;
  message: string;
}

/** `engine.replay`: the CLI's `replay --json` report. */
export interface ReplayReport {
  lines: number;
  requests: number;
  allowed: number;
  denied: number;
  newly_denied: number;
  newly_allowed: number;
  malformed: number;
  malformed_samples: LineError[];
  rows: ReplayRow[];
}

/** `suggest`: the suggested resources and what was read. */
export interface SuggestReport {
  /** Multi-document YAML. */
  yaml: string;
  hosts: string[];
  rules: number;
  /** What the product cannot express, and what was written instead. */
  notes: string[];
  requests: number;
  already_allowed: number;
  malformed: number;
}
