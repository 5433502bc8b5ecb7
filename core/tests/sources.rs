//! What a load keeps: the source texts and where each field was written. Lint locates its
//! findings from them (no file is read or parsed again), `Engine::sources` gives the texts
//! back, and `Loader::keep_sources(false)` keeps nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use egress_policy::model::ResourceRef;
use egress_policy::tools::{lint, LintCode};
use egress_policy::{Diagnostic, Engine, Loader, Location, Severity};

const GATEWAY: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: egress-waypoint, namespace: istio-egress}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: api
  namespace: istio-egress
  labels: {istio.io/use-waypoint: egress-waypoint}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
";

/// Two policies in one `List`: an ALLOW and a DENY on hosts without their `host:*` twins
/// (second item; the finding of interest is the second host).
const POLICIES: &str = "apiVersion: v1
kind: List
items:
- apiVersion: security.istio.io/v1
  kind: AuthorizationPolicy
  metadata: {name: allow-all, namespace: istio-egress}
  spec:
    targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: egress-waypoint}]
    action: ALLOW
    rules: [{}]
- apiVersion: security.istio.io/v1
  kind: AuthorizationPolicy
  metadata: {name: deny-admin, namespace: istio-egress}
  spec:
    targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: egress-waypoint}]
    action: DENY
    rules:
    - to:
      - operation:
          hosts: [\"other.example.com\", \"api.example.com\"]
          paths: [\"/admin/*\"]
";

fn loader(keep: bool) -> Loader {
    let mut loader = Loader::new();
    loader
        .keep_sources(keep)
        .add_str("mem/gateway.yaml", GATEWAY)
        .add_str("mem/policies.yaml", POLICIES);
    loader
}

/// The 1-based (line, column) of the `n`th (0-based) occurrence of `needle` in `text`.
fn position(text: &str, needle: &str, n: usize) -> (u32, u32) {
    let at = text.match_indices(needle).nth(n).expect("needle").0;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line as u32, column as u32)
}

#[test]
fn lint_locates_findings_at_the_value_without_any_file_on_disk() {
    let model = loader(true).load().expect("loads");
    let findings = lint(&model);
    let finding = findings
        .iter()
        .find(|f| {
            f.code == Some(LintCode::DenyHostWithoutPort)
                && f.field.as_deref() == Some("spec.rules[0].to[0].operation.hosts[1]")
        })
        .expect("deny-host-without-port");
    assert_eq!(
        finding.field.as_deref(),
        Some("spec.rules[0].to[0].operation.hosts[1]")
    );
    assert_eq!(
        finding.resource.as_deref(),
        Some("AuthorizationPolicy istio-egress/deny-admin")
    );
    let (line, column) = position(POLICIES, "\"api.example.com\"", 0);
    assert_eq!(
        finding.location,
        Location {
            file: "mem/policies.yaml".to_string(),
            line,
            column
        }
    );
    assert_eq!(finding.severity, Severity::Warning);
    assert!(finding.help.as_deref().is_some_and(|h| !h.is_empty()));
    assert!(
        finding.to_string().starts_with(&format!(
            "mem/policies.yaml:{line}:{column}: warning: AuthorizationPolicy istio-egress/deny-admin: spec.rules[0].to[0].operation.hosts[1]: "
        )),
        "{finding}"
    );
    assert!(finding.to_string().ends_with(" [deny-host-without-port]"));

    // The model answers for any field path, and the engine too.
    let policy = ResourceRef::new("AuthorizationPolicy", "istio-egress", "deny-admin");
    let paths = model
        .sources
        .locate(&policy, "spec.rules[0].to[0].operation.paths[0]")
        .expect("located");
    assert_eq!(
        (paths.line, paths.column),
        position(POLICIES, "\"/admin/*\"", 0)
    );
    let engine = Engine::from_model(model);
    let entry = ResourceRef::new("ServiceEntry", "istio-egress", "api");
    let hosts = engine.locate(&entry, "spec.hosts[0]").expect("located");
    assert_eq!(hosts.file, "mem/gateway.yaml");
    assert_eq!(
        (hosts.line, hosts.column),
        position(GATEWAY, "api.example.com", 0)
    );
    let missing = ResourceRef::new("ServiceEntry", "istio-egress", "nope");
    assert_eq!(engine.locate(&missing, "spec.hosts[0]"), None);
}

#[test]
fn engine_sources_round_trip() {
    let engine = Engine::from_model(loader(true).load().expect("loads"));
    let sources: Vec<(String, String)> = engine
        .sources()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    assert_eq!(
        sources,
        [
            ("mem/gateway.yaml".to_string(), GATEWAY.to_string()),
            ("mem/policies.yaml".to_string(), POLICIES.to_string())
        ]
    );
    let again =
        Engine::from_files(sources.iter().map(|(n, t)| (n.as_str(), t.as_str()))).expect("loads");
    assert!(again.sources().eq(engine.sources()));
    assert_eq!(lint(again.model()), lint(engine.model()));
    assert_eq!(again.model(), engine.model());
}

#[test]
fn without_sources_findings_point_at_the_rule_and_nothing_is_kept() {
    let model = loader(false).load().expect("loads");
    assert!(model.sources.is_empty());
    assert_eq!(model.sources.texts().len(), 0);
    let kept = lint(&loader(true).load().expect("loads"));
    let findings = lint(&model);
    // The same findings, fields and codes; only the positions are coarser.
    let key = |d: &Diagnostic| (d.code, d.field.clone(), d.message.clone());
    let mut a: Vec<_> = kept.iter().map(key).collect();
    let mut b: Vec<_> = findings.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let finding = findings
        .iter()
        .find(|f| {
            f.code == Some(LintCode::DenyHostWithoutPort)
                && f.field.as_deref() == Some("spec.rules[0].to[0].operation.hosts[1]")
        })
        .expect("deny-host-without-port");
    assert_eq!(finding.location.line, position(POLICIES, "- to:", 0).0);
    let engine = Engine::from_model(model);
    assert_eq!(engine.sources().len(), 0);
    let policy = ResourceRef::new("AuthorizationPolicy", "istio-egress", "deny-admin");
    assert_eq!(engine.locate(&policy, "spec"), None);
}

#[test]
fn code_and_help_are_omitted_from_plain_diagnostics() {
    let plain = Diagnostic::warning(Location::start_of("a.yaml"), "something");
    assert_eq!(
        serde_json::to_string(&plain).unwrap(),
        r#"{"severity":"warning","file":"a.yaml","line":1,"column":1,"resource":null,"field":null,"message":"something"}"#
    );
    assert_eq!(plain.to_string(), "a.yaml:1:1: warning: something");
    let back: Diagnostic = serde_json::from_str(&serde_json::to_string(&plain).unwrap()).unwrap();
    assert_eq!(back, plain);

    let findings = lint(&loader(true).load().expect("loads"));
    let finding = findings
        .iter()
        .find(|f| {
            f.code == Some(LintCode::DenyHostWithoutPort)
                && f.field.as_deref() == Some("spec.rules[0].to[0].operation.hosts[1]")
        })
        .expect("deny-host-without-port");
    let json = serde_json::to_string(finding).unwrap();
    let (line, column) = (finding.location.line, finding.location.column);
    let help = serde_json::to_string(finding.help.as_deref().unwrap()).unwrap();
    let message = serde_json::to_string(&finding.message).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"code":"deny-host-without-port","severity":"warning","file":"mem/policies.yaml","line":{line},"column":{column},"resource":"AuthorizationPolicy istio-egress/deny-admin","field":"spec.rules[0].to[0].operation.hosts[1]","message":{message},"help":{help}}}"#
        )
    );
    let back: Diagnostic = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, finding);
}
