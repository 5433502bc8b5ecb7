//! Explanations in the user's terms: for every vendor, a failed rule names the field as the
//! path in the file the user wrote, its line, the value the request had and what the rule
//! wanted; a denied explanation names the enforcement point and the ALLOW policies that did
//! not match.

// Test helpers outside `#[test]` functions: a failed setup should stop the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use egress_policy::decision::{ProxyKind, RuleVerdict};
use egress_policy::tools::render;
use egress_policy::{Engine, Explanation, Loader, Request};

mod common;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// An engine over a seed example directory (source texts kept).
fn example(dir: &str) -> Engine {
    let mut loader = Loader::new();
    loader
        .add_path(root().join("examples/policies").join(dir))
        .unwrap();
    Engine::from_model(loader.load().unwrap())
}

/// An engine over the policy files of a test vector, and the vector's cases.
fn vector(name: &str, keep_sources: bool) -> (Engine, Vec<serde_json::Value>) {
    let (vector, loader) = common::vector_loader(&common::vector_path(name), keep_sources);
    let cases = vector["cases"].as_array().unwrap().clone();
    (Engine::from_model(loader.load().unwrap()), cases)
}

fn request(json: serde_json::Value) -> Request {
    serde_json::from_value(json).unwrap()
}

/// The verdict of rule `rule` of the only policy named `name`.
fn rule<'e>(e: &'e Explanation, name: &str, rule: usize) -> &'e RuleVerdict {
    let policy = e
        .policies
        .iter()
        .find(|p| p.policy.name == name)
        .unwrap_or_else(|| panic!("no policy {name} in {e:#?}"));
    &policy.rules[rule]
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn istio_method_mismatch_names_the_authorization_policy_field() {
    let (engine, cases) = vector("istio-methods", true);
    let mut req = cases[0]["request"].clone();
    req["method"] = "POST".into();
    let e = engine.explain(&request(req));
    assert!(!e.decision.allowed);
    let r = rule(&e, "methods", 0);
    assert_eq!(r.failed_field.as_deref(), Some("to[0].operation.methods"));
    assert_eq!(
        r.field.as_deref(),
        Some("spec.rules[0].to[0].operation.methods")
    );
    assert_eq!(r.location.as_deref(), Some("methods.yaml:13:18"));
    assert_eq!(r.got.as_deref(), Some("POST"));
    assert_eq!(r.wanted, strings(&["GET", "HEAD"]));
    assert_eq!(
        r.mismatch.as_deref(),
        Some("method POST not in [GET, HEAD]")
    );
    let at = e.enforced_at.as_ref().unwrap();
    assert_eq!(at.proxy, ProxyKind::EgressGateway);
    let text = render::explanation(&e);
    assert!(
        text.contains("no ALLOW policy matched (1 attached)"),
        "{text}"
    );
    assert!(
        text.contains(
            "spec.rules[0].to[0].operation.methods: method POST not in [GET, HEAD]  methods.yaml:13:18"
        ),
        "{text}"
    );
    assert!(text.contains("enforced at:"), "{text}");
    assert!(!text.contains("policy:   -"), "{text}");
}

#[test]
fn istio_host_and_not_values_show_values() {
    let (engine, cases) = vector("istio-hosts", true);
    let mut req = cases[1]["request"].clone();
    req["url"] = "http://api.other.com/".into();
    let e = engine.explain(&request(req));
    let r = rule(&e, "hosts", 0);
    assert_eq!(
        r.field.as_deref(),
        Some("spec.rules[0].to[0].operation.hosts")
    );
    assert_eq!(r.got.as_deref(), Some("api.other.com"));
    assert_eq!(r.wanted.first().map(String::as_str), Some("example.com"));
    assert!(r
        .mismatch
        .as_deref()
        .unwrap()
        .starts_with("host api.other.com does not match [example.com, *.example.org"));

    // A DENY rule whose `notValues` excluded the request.
    let (engine, cases) = vector("istio-header-not-values", true);
    let e = engine.explain(&request(cases[1]["request"].clone()));
    assert!(e.decision.allowed);
    let r = rule(&e, "deny-not-prod", 0);
    assert_eq!(r.field.as_deref(), Some("spec.rules[0].when[0].notValues"));
    assert_eq!(r.location.as_deref(), Some("deny.yaml:11:18"));
    assert_eq!(r.got.as_deref(), Some("prod"));
    assert_eq!(
        r.mismatch.as_deref(),
        Some("header x-env prod is in notValues [prod]")
    );
}

#[test]
fn without_source_texts_the_rule_location_is_given() {
    let (engine, cases) = vector("istio-methods", false);
    let mut req = cases[0]["request"].clone();
    req["method"] = "POST".into();
    let e = engine.explain(&request(req));
    let r = rule(&e, "methods", 0);
    assert_eq!(
        r.field.as_deref(),
        Some("spec.rules[0].to[0].operation.methods")
    );
    assert_eq!(r.location.as_deref(), Some("methods.yaml:11:5"));
}

#[test]
fn istio_not_fields_claims_ip_blocks_and_absent_headers() {
    let text = "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: istio-egress}
spec:
  selector: {matchLabels: {istio: egressgateway}}
  rules:
  - to:
    - operation:
        notMethods: [GET]
  - when:
    - key: request.auth.claims[groups]
      values: [admins]
  - from:
    - source:
        ipBlocks: [10.0.0.0/8]
  - when:
    - key: request.headers[x-team]
      values: ['*']
  - from:
    - source:
        principals: [cluster.local/ns/ops/sa/*]
";
    let mut loader = Loader::new();
    loader.add_str("p.yaml", text);
    let engine = Engine::from_model(loader.load().unwrap());
    let e = engine.explain(&request(serde_json::json!({
        "source": {"principal": "cluster.local/ns/a/sa/b", "ip": "192.168.1.1"},
        "workload": {"namespace": "istio-egress", "labels": {"istio": "egressgateway"}},
        "method": "GET",
        "url": "http://example.com/",
        "jwt": {"principal": "iss/sub", "claims": {"groups": ["dev", "ops"]}}
    })));
    let mismatch = |i: usize| rule(&e, "p", i).mismatch.clone().unwrap();
    let field = |i: usize| rule(&e, "p", i).field.clone().unwrap();
    assert_eq!(mismatch(0), "method GET is in notMethods [GET]");
    assert_eq!(field(0), "spec.rules[0].to[0].operation.notMethods");
    assert_eq!(mismatch(1), "JWT claim groups absent (wanted: [admins])");
    assert_eq!(field(1), "spec.rules[1].when[0].values");
    assert_eq!(mismatch(2), "source IP 192.168.1.1 not in [10.0.0.0/8]");
    assert_eq!(field(2), "spec.rules[2].from[0].source.ipBlocks");
    assert_eq!(mismatch(3), "header x-team absent (wanted: present)");
    assert_eq!(
        mismatch(4),
        "source cluster.local/ns/a/sa/b not in [cluster.local/ns/ops/sa/*]"
    );
    assert_eq!(rule(&e, "p", 4).location.as_deref(), Some("p.yaml:21:21"));
}

#[test]
fn gloo_access_policy_names_allowed_clients() {
    let engine = example("gloo");
    let e = engine.explain(&request(serde_json::json!({
        "source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-reviews"},
        "method": "GET",
        "url": "http://httpbin.org/get"
    })));
    assert!(!e.decision.allowed);
    let r = rule(&e, "httpbin-access", 0);
    assert_eq!(
        r.failed_field.as_deref(),
        Some("from[0].source.serviceAccountSelector.labels")
    );
    assert_eq!(
        r.field.as_deref(),
        Some("spec.config.authz.allowedClients[0].serviceAccountSelector.labels")
    );
    let location = r.location.as_deref().unwrap();
    assert!(
        location.ends_with("examples/policies/gloo/httpbin-accesspolicy.yaml:18:13"),
        "{location}"
    );
    assert_eq!(r.got.as_deref(), Some("{account=reviews}"));
    assert_eq!(r.wanted, strings(&["{account=productpage}"]));
    let text = render::explanation(&e);
    assert!(
        text.contains("no ALLOW policy matched (1 attached)\n            - AccessPolicy bookinfo/httpbin-access"),
        "{text}"
    );
    assert!(text.contains("(egress gateway, port 80)"), "{text}");
}

#[test]
fn gloo_methods_and_paths_name_the_allowed_lists() {
    let text = "apiVersion: security.policy.gloo.solo.io/v2
kind: AccessPolicy
metadata: {name: a, namespace: bookinfo}
spec:
  applyToDestinations:
  - kind: EXTERNAL_SERVICE
    selector: {name: httpbin.org, namespace: bookinfo}
  config:
    authz:
      allowedClients:
      - serviceAccountSelector: {name: bookinfo-reviews, namespace: bookinfo}
      allowedMethods: [GET]
      allowedPaths: [/api/*]
      match:
        request:
          headers:
            X-Team: {values: [ops]}
";
    let mut loader = Loader::new();
    loader
        .add_path(root().join("examples/policies/gloo/httpbin-externalservice.yaml"))
        .unwrap();
    loader
        .add_path(root().join("examples/policies/gloo/egress-gateway.yaml"))
        .unwrap();
    loader.add_str("a.yaml", text);
    let engine = Engine::from_model(loader.load().unwrap());
    let explain = |method: &str, path: &str| {
        engine.explain(&request(serde_json::json!({
            "source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-reviews"},
            "method": method,
            "url": format!("http://httpbin.org{path}"),
            "headers": {"x-team": "dev"}
        })))
    };
    let e = explain("POST", "/api/x");
    let r = rule(&e, "a", 0);
    assert_eq!(r.field.as_deref(), Some("spec.config.authz.allowedMethods"));
    assert_eq!(r.location.as_deref(), Some("a.yaml:12:23"));
    assert_eq!(r.mismatch.as_deref(), Some("method POST not in [GET]"));
    let e = explain("GET", "/admin");
    let r = rule(&e, "a", 0);
    assert_eq!(r.field.as_deref(), Some("spec.config.authz.allowedPaths"));
    assert_eq!(
        r.mismatch.as_deref(),
        Some("path /admin does not match [/api/*]")
    );
    let e = explain("GET", "/api/x");
    let r = rule(&e, "a", 0);
    assert_eq!(
        r.field.as_deref(),
        Some("spec.config.authz.match.request.headers.X-Team.values")
    );
    assert_eq!(r.location.as_deref(), Some("a.yaml:17:30"));
    assert_eq!(
        r.mismatch.as_deref(),
        Some("header x-team dev does not match [ops]")
    );
}

#[test]
fn tsb_egress_gateway_names_authorization_entries() {
    let engine = example("tsb");
    let at_gateway =
        serde_json::json!({"namespace": "tsb-egress", "labels": {"app": "tsb-egress"}});
    let e = engine.explain(&request(serde_json::json!({
        "source": {"principal": "cluster.local/ns/other/sa/app"},
        "workload": at_gateway,
        "method": "GET",
        "url": "http://www.httpbin.org/get"
    })));
    assert!(!e.decision.allowed);
    let r0 = rule(&e, "my-egress", 0);
    assert_eq!(
        r0.failed_field.as_deref(),
        Some("from[0].source.workspaces")
    );
    assert_eq!(r0.field.as_deref(), Some("spec.authorization[0].from.mode"));
    assert!(r0
        .location
        .as_deref()
        .unwrap()
        .ends_with("egress-gateway.yaml:17:13"));
    assert_eq!(r0.got.as_deref(), Some("other"));
    assert_eq!(r0.wanted, strings(&["w1"]));
    let r1 = rule(&e, "my-egress", 1);
    assert_eq!(
        r1.field.as_deref(),
        Some("spec.authorization[1].from.serviceAccounts[0]")
    );
    assert_eq!(
        r1.mismatch.as_deref(),
        Some("source service account other/app not in [default/bookinfo-details]")
    );
    assert!(r1
        .location
        .as_deref()
        .unwrap()
        .ends_with("egress-gateway.yaml:21:25"));

    // A workspace source to a host the rule does not list.
    let e = engine.explain(&request(serde_json::json!({
        "source": {"principal": "cluster.local/ns/ns1/sa/app"},
        "workload": at_gateway,
        "method": "GET",
        "url": "http://example.com/"
    })));
    let r0 = rule(&e, "my-egress", 0);
    assert_eq!(r0.field.as_deref(), Some("spec.authorization[0].to"));
    assert!(r0
        .location
        .as_deref()
        .unwrap()
        .ends_with("egress-gateway.yaml:18:9"));
    assert_eq!(
        r0.mismatch.as_deref(),
        Some("host example.com does not match [www.httpbin.org]")
    );
    let at = e.enforced_at.as_ref().unwrap();
    assert_eq!(at.proxy, ProxyKind::EgressGateway);
    assert_eq!(at.resource.as_ref().unwrap().name, "my-egress");
}

#[test]
fn tsb_gateway_egress_authorization_names_host_exact() {
    let text = "apiVersion: gateway.tsb.tetrate.io/v2
kind: Gateway
metadata: {name: gw, organization: o, tenant: t, workspace: w1}
spec:
  workloadSelector: {namespace: egress, labels: {app: gw}}
  egressAuthorization:
  - from:
      serviceAccounts: [ns1/app]
    to:
    - host: {exact: api.example.com}
      methods: [GET]
";
    let mut loader = Loader::new();
    loader.add_str("gw.yaml", text);
    let engine = Engine::from_model(loader.load().unwrap());
    let explain = |principal: &str, method: &str, url: &str| {
        engine.explain(&request(serde_json::json!({
            "source": {"principal": principal},
            "workload": {"namespace": "egress", "labels": {"app": "gw"}},
            "method": method,
            "url": url
        })))
    };
    let e = explain("cluster.local/ns/ns1/sa/app", "GET", "http://other.com/");
    let r = rule(&e, "gw", 0);
    assert_eq!(
        r.field.as_deref(),
        Some("spec.egressAuthorization[0].to[0].host.exact")
    );
    assert_eq!(r.location.as_deref(), Some("gw.yaml:10:21"));
    let e = explain(
        "cluster.local/ns/ns1/sa/app",
        "POST",
        "http://api.example.com/",
    );
    let r = rule(&e, "gw", 0);
    assert_eq!(
        r.field.as_deref(),
        Some("spec.egressAuthorization[0].to[0].methods")
    );
    assert_eq!(r.mismatch.as_deref(), Some("method POST not in [GET]"));
    let e = explain(
        "cluster.local/ns/ns2/sa/app",
        "GET",
        "http://api.example.com/",
    );
    let r = rule(&e, "gw", 0);
    assert_eq!(
        r.field.as_deref(),
        Some("spec.egressAuthorization[0].from.serviceAccounts[0]")
    );
    assert_eq!(r.location.as_deref(), Some("gw.yaml:8:25"));
}
