//! One named test per item of SEMANTICS.md §6 ("subtle points a naive implementation gets
//! wrong"), through the public API: real YAML in, decisions out.

// Test helpers outside `#[test]` functions: a failed setup should stop the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use egress_policy::{Engine, Reason, Request};
use serde_json::json;

const GATEWAY_NS: &str = "istio-egress";

fn engine(yaml: &str) -> Engine {
    Engine::from_yaml("test.yaml", yaml).unwrap_or_else(|e| panic!("load failed:\n{e}"))
}

/// A request at the classic egress gateway (selector-scoped policies apply).
fn at_gateway(mut fields: serde_json::Value) -> Request {
    let obj = fields.as_object_mut().unwrap();
    obj.entry("workload").or_insert(json!({
        "namespace": GATEWAY_NS,
        "labels": {"app": "istio-egressgateway"}
    }));
    serde_json::from_value(fields).unwrap()
}

fn policy(name: &str, action: &str, spec_rules: &str) -> String {
    format!(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: {name}\n  namespace: {GATEWAY_NS}\nspec:\n  selector:\n    matchLabels:\n      app: istio-egressgateway\n  action: {action}\n{spec_rules}\n---\n"
    )
}

fn allowed(engine: &Engine, request: serde_json::Value) -> bool {
    engine.decide(&at_gateway(request)).allowed
}

#[test]
fn s6_01_hosts_see_the_port_so_deny_without_port_is_bypassable() {
    let e = engine(&policy(
        "deny-host",
        "DENY",
        "  rules:\n  - to:\n    - operation:\n        hosts: [\"evil.com\"]",
    ));
    assert!(!allowed(&e, json!({"host": "evil.com"})));
    // The same host with an explicit port is not matched by the exact value.
    assert!(allowed(&e, json!({"host": "evil.com:8080"})));
    let fixed = engine(&policy(
        "deny-host",
        "DENY",
        "  rules:\n  - to:\n    - operation:\n        hosts: [\"evil.com\", \"evil.com:*\"]",
    ));
    assert!(!allowed(&fixed, json!({"host": "evil.com:8080"})));
}

#[test]
fn s6_02_wildcard_hosts_are_case_insensitive_suffixes() {
    let e = engine(&policy(
        "allow-sub",
        "ALLOW",
        "  rules:\n  - to:\n    - operation:\n        hosts: [\"*.example.com\"]",
    ));
    assert!(allowed(&e, json!({"host": "api.example.com"})));
    assert!(allowed(&e, json!({"host": "a.b.EXAMPLE.com"})));
    assert!(!allowed(&e, json!({"host": "example.com"})));
    assert!(!allowed(&e, json!({"host": "evilexample.com"})));
    assert!(!allowed(&e, json!({"host": "api.example.com:443"})));
    assert!(!allowed(&e, json!({"host": "api.example.com."})));
    let no_dot = engine(&policy(
        "allow-sub",
        "ALLOW",
        "  rules:\n  - to:\n    - operation:\n        hosts: [\"*example.com\"]",
    ));
    assert!(allowed(&no_dot, json!({"host": "evilexample.com"})));
}

#[test]
fn s6_03_star_in_the_middle_is_literal_except_in_namespaces() {
    let e = engine(&policy(
        "mid",
        "ALLOW",
        "  rules:\n  - to:\n    - operation:\n        hosts: [\"a*b.com\"]",
    ));
    assert!(!allowed(&e, json!({"host": "axb.com"})));
    assert!(allowed(&e, json!({"host": "a*b.com"})));
    let ns = engine(&policy(
        "ns-glob",
        "ALLOW",
        "  rules:\n  - from:\n    - source:\n        namespaces: [\"team-*-prod\"]",
    ));
    assert!(allowed(
        &ns,
        json!({"host": "x.com", "source": {"principal": "cluster.local/ns/team-a-prod/sa/app"}})
    ));
    assert!(!allowed(
        &ns,
        json!({"host": "x.com", "source": {"principal": "cluster.local/ns/team-a-dev/sa/app"}})
    ));
}

#[test]
fn s6_04_paths_are_exact_case_sensitive_and_normalised() {
    let e = engine(&policy(
        "paths",
        "ALLOW",
        "  rules:\n  - to:\n    - operation:\n        paths: [\"/public/*\", \"/get\"]",
    ));
    assert!(allowed(&e, json!({"host": "h", "path": "/get?x=1"})));
    assert!(allowed(&e, json!({"host": "h", "path": "/get#frag"})));
    assert!(!allowed(&e, json!({"host": "h", "path": "/Get"})));
    assert!(!allowed(&e, json!({"host": "h", "path": "/public"})));
    assert!(allowed(&e, json!({"host": "h", "path": "/public/a/b"})));
    assert!(!allowed(
        &e,
        json!({"host": "h", "path": "/public/%2E%2E/private"})
    ));
    assert!(!allowed(
        &e,
        json!({"host": "h", "path": "/public/../private"})
    ));
    assert!(!allowed(
        &e,
        json!({"host": "h", "path": "/public\\..\\private"})
    ));
    // `//` and `%2F` are kept under the default BASE normalisation.
    let exact = engine(&policy(
        "deny-admin",
        "DENY",
        "  rules:\n  - to:\n    - operation:\n        paths: [\"/admin\"]",
    ));
    assert!(!allowed(&exact, json!({"host": "h", "path": "/admin"})));
    assert!(allowed(&exact, json!({"host": "h", "path": "//admin"})));
}

#[test]
fn s6_05_path_templates() {
    let e = engine(&policy(
        "tmpl",
        "ALLOW",
        "  rules:\n  - to:\n    - operation:\n        paths: [\"/foo/{*}/bar\", \"/store/{**}/cart\", \"/allow/admin/{**}\"]",
    ));
    assert!(allowed(&e, json!({"host": "h", "path": "/foo/x/bar"})));
    assert!(!allowed(&e, json!({"host": "h", "path": "/foo//bar"})));
    assert!(allowed(&e, json!({"host": "h", "path": "/store//cart"})));
    assert!(allowed(&e, json!({"host": "h", "path": "/store/a/b/cart"})));
    assert!(!allowed(&e, json!({"host": "h", "path": "/store/cart"})));
    assert!(allowed(&e, json!({"host": "h", "path": "/allow/admin/"})));
    assert!(!allowed(&e, json!({"host": "h", "path": "/allow/admin"})));
    assert!(Engine::from_yaml(
        "bad.yaml",
        &policy(
            "bad",
            "ALLOW",
            "  rules:\n  - to:\n    - operation:\n        paths: [\"/foo/{*}/bar/*\"]"
        ),
    )
    .is_err());
}

#[test]
fn s6_06_identities_omit_spiffe_and_cluster_local_means_local_domain() {
    let e = engine(&policy(
        "ids",
        "ALLOW",
        "  rules:\n  - from:\n    - source:\n        principals: [\"cluster.local/ns/a/sa/b\"]",
    ));
    assert!(allowed(
        &e,
        json!({"host": "h", "source": {"principal": "spiffe://cluster.local/ns/a/sa/b"}})
    ));
    assert!(allowed(
        &e,
        json!({"host": "h", "source": {"principal": "cluster.local/ns/a/sa/b"}})
    ));
    let with_scheme = engine(&policy(
        "ids",
        "ALLOW",
        "  rules:\n  - from:\n    - source:\n        principals: [\"spiffe://cluster.local/ns/a/sa/b\"]",
    ));
    assert!(!allowed(
        &with_scheme,
        json!({"host": "h", "source": {"principal": "cluster.local/ns/a/sa/b"}})
    ));
    // `notPrincipals: ["*"]` = plaintext only.
    let plaintext = engine(&policy(
        "plain",
        "ALLOW",
        "  rules:\n  - from:\n    - source:\n        notPrincipals: [\"*\"]",
    ));
    assert!(allowed(&plaintext, json!({"host": "h"})));
    assert!(!allowed(
        &plaintext,
        json!({"host": "h", "source": {"principal": "cluster.local/ns/a/sa/b"}})
    ));
    // Trust domain td1: `cluster.local/...` is rewritten to the local trust domain.
    let mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    trustDomain: td1\n---\n";
    let td = engine(&format!(
        "{mesh}{}",
        policy(
            "ids",
            "ALLOW",
            "  rules:\n  - from:\n    - source:\n        principals: [\"cluster.local/ns/a/sa/b\"]"
        )
    ));
    assert!(allowed(
        &td,
        json!({"host": "h", "source": {"principal": "td1/ns/a/sa/b"}})
    ));
    assert!(!allowed(
        &td,
        json!({"host": "h", "source": {"principal": "cluster.local/ns/a/sa/b"}})
    ));
    // A bare service account means the policy's own namespace.
    let sa = engine(&policy(
        "sa",
        "ALLOW",
        "  rules:\n  - from:\n    - source:\n        serviceAccounts: [\"app\"]",
    ));
    assert!(allowed(
        &sa,
        json!({"host": "h", "source": {"principal": "cluster.local/ns/istio-egress/sa/app"}})
    ));
    assert!(!allowed(
        &sa,
        json!({"host": "h", "source": {"principal": "cluster.local/ns/other/sa/app"}})
    ));
}

#[test]
fn s6_07_action_algebra() {
    // No policy: allow.
    let none = engine("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
    let d = none.decide(&at_gateway(json!({"host": "h"})));
    assert!(d.allowed);
    assert_eq!(d.reason, Reason::NoAllowPolicies);
    // ALLOW without rules: deny all, and it counts as an ALLOW policy.
    let nothing = engine(&policy("allow-nothing", "ALLOW", "  rules: []"));
    let d = nothing.decide(&at_gateway(json!({"host": "h"})));
    assert_eq!(
        (d.allowed, d.status, d.reason),
        (false, 403, Reason::AllowNothing)
    );
    // rules: [{}] matches everything.
    let all = engine(&policy("allow-all", "ALLOW", "  rules:\n  - {}"));
    assert!(allowed(&all, json!({"host": "h"})));
    // DENY beats ALLOW.
    let both = engine(&format!(
        "{}{}",
        policy("allow-all", "ALLOW", "  rules:\n  - {}"),
        policy(
            "deny-post",
            "DENY",
            "  rules:\n  - to:\n    - operation:\n        methods: [POST]"
        )
    ));
    let d = both.decide(&at_gateway(json!({"host": "h", "method": "POST"})));
    assert_eq!(d.reason, Reason::DeniedByPolicy);
    assert_eq!(d.policy.unwrap().name, "deny-post");
    assert_eq!(d.rule, Some(0));
    // AUDIT never changes the verdict but is reported.
    let audit = engine(&policy("audit-all", "AUDIT", "  rules:\n  - {}"));
    let d = audit.decide(&at_gateway(json!({"host": "h"})));
    assert!(d.allowed && d.audit);
    // Dry-run never changes the verdict and does not count as an ALLOW policy.
    let dry = engine(&policy("dry", "DENY", "  rules:\n  - {}").replace(
        "  namespace: istio-egress\n",
        "  namespace: istio-egress\n  annotations:\n    istio.io/dry-run: \"true\"\n",
    ));
    let d = dry.decide(&at_gateway(json!({"host": "h"})));
    assert!(d.allowed);
    let outcome = d.dry_run.unwrap();
    assert!(!outcome.allowed);
    assert_eq!(outcome.reason, Reason::DeniedByPolicy);
    // CUSTOM: the provider's verdict decides when its rule matches.
    let custom = engine(&policy(
        "ext",
        "CUSTOM",
        "  provider:\n    name: my-ext-authz\n  rules:\n  - to:\n    - operation:\n        paths: [\"/admin*\"]",
    ));
    assert!(!allowed(
        &custom,
        json!({"host": "h", "path": "/admin", "custom": {"my-ext-authz": false}})
    ));
    assert!(allowed(
        &custom,
        json!({"host": "h", "path": "/admin", "custom": {"my-ext-authz": true}})
    ));
    assert!(allowed(&custom, json!({"host": "h", "path": "/public"})));
}

#[test]
fn s6_08_boolean_structure_and_missing_attributes() {
    let e = engine(&policy(
        "bool",
        "ALLOW",
        "  rules:\n  - to:\n    - operation:\n        methods: [GET]\n    - operation:\n        methods: [POST]\n        paths: [\"/p\"]\n    when:\n    - key: request.headers[x-team]\n      notValues: [\"blocked\"]",
    ));
    assert!(allowed(&e, json!({"host": "h", "method": "GET"})));
    assert!(allowed(
        &e,
        json!({"host": "h", "method": "POST", "path": "/p"})
    ));
    assert!(!allowed(
        &e,
        json!({"host": "h", "method": "POST", "path": "/q"})
    ));
    assert!(!allowed(
        &e,
        json!({"host": "h", "method": "GET", "headers": {"x-team": "blocked"}})
    ));
    // Absent header: the negative matcher holds.
    assert!(allowed(
        &e,
        json!({"host": "h", "method": "GET", "headers": {}})
    ));
}

#[test]
fn s6_09_tcp_drops_whole_allow_rules_but_only_constraints_of_deny_rules() {
    let allow = engine(&policy(
        "allow-tcp",
        "ALLOW",
        "  rules:\n  - to:\n    - operation:\n        methods: [GET]\n        ports: [\"9000\"]\n  - to:\n    - operation:\n        ports: [\"9001\"]",
    ));
    assert!(!allowed(&allow, json!({"protocol": "tcp", "port": 9000})));
    assert!(allowed(&allow, json!({"protocol": "tcp", "port": 9001})));
    let deny = engine(&policy(
        "deny-tcp",
        "DENY",
        "  rules:\n  - to:\n    - operation:\n        methods: [POST]\n        ports: [\"8080\"]",
    ));
    assert!(!allowed(&deny, json!({"protocol": "tcp", "port": 8080})));
    assert!(allowed(&deny, json!({"protocol": "tcp", "port": 8081})));
}

#[test]
fn s6_10_header_presence_accepts_empty_values_and_joins_duplicates() {
    let e = engine(&policy(
        "hdr",
        "ALLOW",
        "  rules:\n  - when:\n    - key: request.headers[X-Token]\n      values: [\"*\"]",
    ));
    assert!(allowed(
        &e,
        json!({"host": "h", "headers": {"x-token": ""}})
    ));
    assert!(!allowed(&e, json!({"host": "h"})));
    let joined = engine(&policy(
        "hdr",
        "ALLOW",
        "  rules:\n  - when:\n    - key: request.headers[x-team]\n      values: [\"a,b\"]",
    ));
    assert!(allowed(
        &joined,
        json!({"host": "h", "headers": {"x-team": ["a", "b"]}})
    ));
    // Presence elsewhere means non-empty. Request principals come from a JWT that a
    // RequestAuthentication validated (SEMANTICS.md §9).
    let methods = engine(&format!(
        "{}apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {{name: jwt, namespace: {GATEWAY_NS}}}\nspec:\n  jwtRules:\n  - issuer: iss\n",
        policy(
            "m",
            "ALLOW",
            "  rules:\n  - from:\n    - source:\n        requestPrincipals: [\"*\"]",
        )
    ));
    assert!(!allowed(&methods, json!({"host": "h"})));
    assert!(allowed(
        &methods,
        json!({"host": "h", "jwt": {"principal": "iss/sub"}})
    ));
}

#[test]
fn s6_11_scoping_root_namespace_selectors_and_target_refs() {
    let root = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: root-deny, namespace: istio-system}\nspec:\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        methods: [DELETE]\n---\n";
    let other_ns = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: elsewhere, namespace: bookinfo}\nspec:\n  action: DENY\n  rules:\n  - {}\n---\n";
    let other_selector = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: other-app, namespace: istio-egress}\nspec:\n  selector:\n    matchLabels: {app: something-else}\n  action: DENY\n  rules:\n  - {}\n---\n";
    let target_refs = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: waypoint-only, namespace: istio-egress}\nspec:\n  targetRefs:\n  - {kind: Gateway, group: gateway.networking.k8s.io, name: egress-waypoint}\n  action: DENY\n  rules:\n  - {}\n---\n";
    let e = engine(&format!("{root}{other_ns}{other_selector}{target_refs}"));
    // Root-namespace policy applies mesh-wide; others do not apply at the classic gateway.
    assert!(!allowed(&e, json!({"host": "h", "method": "DELETE"})));
    assert!(allowed(&e, json!({"host": "h", "method": "GET"})));
    // At the waypoint only the targetRefs policy applies.
    let at_waypoint: Request = serde_json::from_value(json!({
        "host": "h", "method": "GET",
        "workload": {"namespace": "istio-egress", "labels": {"gateway.networking.k8s.io/gateway-name": "egress-waypoint"}}
    }))
    .unwrap();
    let d = e.decide(&at_waypoint);
    assert!(!d.allowed);
    assert_eq!(d.policy.unwrap().name, "waypoint-only");
}

#[test]
fn s6_12_registry_only_denies_with_502_and_allow_any_is_default() {
    let se = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: httpbin, namespace: istio-egress}\nspec:\n  hosts: [httpbin.org]\n  ports:\n  - {number: 80, name: http, protocol: HTTP}\n  resolution: DNS\n---\n";
    let default = engine(se);
    let d = default.decide(&serde_json::from_value(json!({"host": "www.google.com"})).unwrap());
    assert!(d.allowed);
    assert_eq!(d.reason, Reason::Passthrough);
    let mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n---\n";
    let strict = engine(&format!("{mesh}{se}"));
    let d = strict.decide(&serde_json::from_value(json!({"host": "www.google.com"})).unwrap());
    assert_eq!(
        (d.allowed, d.status, d.reason),
        (false, 502, Reason::NotInRegistry)
    );
    let d = strict.decide(&serde_json::from_value(json!({"host": "HTTPBIN.org"})).unwrap());
    assert!(d.allowed);
}

#[test]
fn malformed_requests_are_400() {
    let e = engine(&policy("allow-all", "ALLOW", "  rules:\n  - {}"));
    for bad in [
        json!({"host": "h", "path": "/a%00b"}),
        json!({"host": "h", "method": "get"}),
        json!({"host": "h", "headers": {"bad name": "x"}}),
    ] {
        let d = e.decide(&at_gateway(bad));
        assert_eq!(
            (d.allowed, d.status, d.reason),
            (false, 400, Reason::MalformedRequest)
        );
    }
}

#[test]
fn explain_names_the_first_failing_field() {
    let e = engine(&policy(
        "httpbin",
        "ALLOW",
        "  rules:\n  - to:\n    - operation:\n        hosts: [httpbin.org]\n        methods: [GET]\n        paths: [/get]",
    ));
    let x = e.explain(&at_gateway(
        json!({"host": "httpbin.org", "method": "POST", "path": "/post"}),
    ));
    assert!(!x.decision.allowed);
    assert_eq!(x.decision.reason, Reason::NoAllowMatch);
    let rule = &x.policies[0].rules[0];
    assert!(!rule.matched);
    assert_eq!(
        rule.failed_field.as_deref(),
        Some("to[0].operation.methods")
    );
}

#[test]
fn registry_lookup_ignores_case_but_not_a_trailing_dot() {
    let mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n---\n";
    let se = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: httpbin, namespace: istio-egress}\nspec:\n  hosts: [httpbin.org]\n  ports:\n  - {number: 80, name: http, protocol: HTTP}\n  resolution: DNS\n---\n";
    let e = engine(&format!("{mesh}{se}"));
    let decide = |host: &str| e.decide(&serde_json::from_value(json!({"host": host})).unwrap());
    assert!(decide("HttpBin.ORG").allowed);
    let dotted = decide("httpbin.org.");
    assert_eq!((dotted.status, dotted.reason), (502, Reason::NotInRegistry));
}
