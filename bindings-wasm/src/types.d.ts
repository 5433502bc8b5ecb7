
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
  | "malformed_request";

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
}

/** How one rule fared. */
export interface RuleVerdict {
  index: number;
  matched: boolean;
  /** For a rule that did not match: the first field that failed (`to[0].operation.methods`). */
  failed_field: string | null;
  note: string | null;
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

/** One line of `engine.evalLines`: a decision, or why the line is not a Request. */
export interface BatchResult {
  /** 1-based line number in the input. */
  line: number;
  request: Request | null;
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
