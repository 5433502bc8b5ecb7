//! What a load says about kinds no importer takes, and loads that share a thread or a
//! loader.

use crate::diagnostic::{Diagnostic, Severity};
use crate::import::test_support as support;
use crate::import::{load_str, Loader};
use crate::model::Model;

fn load(text: &str) -> Model {
    support::load("p.yaml", text)
}

fn errors(text: &str) -> Vec<Diagnostic> {
    support::errors("p.yaml", text)
}

/// `file:line:column: message` of a diagnostic.
fn shown(d: &Diagnostic) -> String {
    format!("{}: {}", d.location, d.message)
}

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-egress}\n---\n";

#[test]
fn a_misspelt_kind_of_a_known_group_is_an_error_with_a_suggestion() {
    let text = format!(
        "{NAMESPACE}apiVersion: security.istio.io/v1\nkind: AuthorisationPolicy\n\
         metadata: {{name: only-get, namespace: istio-egress}}\nspec: {{action: ALLOW}}\n"
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let d = &errors[0];
    assert_eq!(
        shown(d),
        "p.yaml:6:7: `AuthorisationPolicy` is not a kind of API group `security.istio.io`; \
         did you mean `AuthorizationPolicy`?"
    );
    assert_eq!(d.field.as_deref(), Some("kind"));
    assert_eq!(
        d.resource.as_deref(),
        Some("AuthorisationPolicy istio-egress/only-get")
    );
}

#[test]
fn unknown_kinds_of_every_known_group_are_errors() {
    for (api_version, kind, expected) in [
        (
            "networking.istio.io/v1",
            "ServiceEntries",
            "did you mean `ServiceEntry`?",
        ),
        (
            "gateway.networking.k8s.io/v1",
            "HttpRoute",
            "did you mean `HTTPRoute`?",
        ),
        (
            "networking.istio.io/v1",
            "AuthorizationPolicy",
            "`AuthorizationPolicy` belongs to `security.istio.io`",
        ),
        (
            "traffic.tsb.tetrate.io/v2",
            "TraficSetting",
            "did you mean `TrafficSetting`?",
        ),
        (
            "security.policy.gloo.solo.io/v2",
            "AccesPolicy",
            "did you mean `AccessPolicy`?",
        ),
        (
            "telemetry.istio.io/v1",
            "Metrics",
            "its kinds are `Telemetry`",
        ),
    ] {
        let text = format!("apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x}}\n");
        let errors = errors(&text);
        assert_eq!(errors.len(), 1, "{kind}: {errors:#?}");
        assert_eq!(errors[0].location.line, 2, "{kind}");
        assert!(
            errors[0].message.contains(expected),
            "{kind}: {}",
            errors[0].message
        );
    }
}

#[test]
fn real_unmodelled_kinds_and_other_groups_are_one_warning_each() {
    let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: r}\n\
                ---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: s}\n\
                ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n\
                ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
    let model = load(text);
    let got: Vec<String> = model
        .warnings
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(shown)
        .collect();
    assert_eq!(
        got,
        vec![
            "p.yaml:2:7: skipped GatewayClass (gateway.networking.k8s.io/v1): egress-policy does not model it",
            "p.yaml:6:7: skipped GatewayClass (gateway.networking.k8s.io/v1): egress-policy does not model it",
            "p.yaml:10:7: skipped Deployment (apps/v1): egress-policy does not model it",
            "p.yaml:14:7: skipped ConfigMap (v1): egress-policy does not model it",
        ]
    );
}

/// TSB and Gloo resources whose links leave state between import and link: an inheriting
/// group, an egress route, an access policy and an external service.
const LINKED: &str = "apiVersion: api.tsb.tetrate.io/v2\nkind: Workspace\n\
    metadata: {name: w1, tenant: t}\nspec: {namespaceSelector: {names: ['*/ns1']}}\n---\n\
    apiVersion: traffic.tsb.tetrate.io/v2\nkind: Group\nmetadata: {name: g1, workspace: w1}\n---\n\
    apiVersion: traffic.tsb.tetrate.io/v2\nkind: TrafficSetting\n\
    metadata: {name: ts, workspace: w1, group: g1}\n\
    spec: {egress: {host: istio-system/egress.istio-system.svc.cluster.local}}\n---\n\
    apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\n\
    metadata: {name: httpbin, namespace: ext, labels: {app: httpbin}}\n\
    spec: {hosts: [httpbin.org], ports: [{number: 443, protocol: HTTPS}]}\n---\n\
    apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\n\
    metadata: {name: ap, namespace: ext}\n\
    spec: {applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {labels: {app: httpbin}}}], \
    config: {authz: {allowedClients: [{serviceAccountSelector: {namespace: ns1}}]}}}\n";

/// A second scenario whose links would pick up the first one's state if it leaked.
const OTHER: &str = "apiVersion: traffic.tsb.tetrate.io/v2\nkind: Group\n\
    metadata: {name: g2, workspace: w2}\n---\n\
    apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\n\
    metadata: {name: ap, namespace: ext}\n\
    spec: {config: {authz: {allowedClients: [{}]}}}\n";

#[test]
fn loads_in_a_row_on_one_thread_are_independent() {
    // The reference: each scenario loaded alone, on a fresh thread.
    let alone = |text: &'static str| {
        std::thread::spawn(move || format!("{:?}", load(text)))
            .join()
            .unwrap_or_else(|_| panic!("load panicked"))
    };
    let linked_alone = alone(LINKED);
    let other_alone = alone(OTHER);

    // The same loads in a row on this thread, and the same loader loaded twice.
    let first = format!("{:?}", load(LINKED));
    let second = format!("{:?}", load(OTHER));
    let third = format!("{:?}", load(LINKED));
    assert_eq!(first, linked_alone);
    assert_eq!(second, other_alone);
    assert_eq!(third, linked_alone);

    let mut loader = Loader::new();
    loader.add_str("p.yaml", LINKED);
    let once = loader.load().map(|m| format!("{m:?}"));
    let twice = loader.load().map(|m| format!("{m:?}"));
    assert_eq!(once.ok(), Some(linked_alone.clone()));
    assert_eq!(twice.ok(), Some(linked_alone));

    // A failing load in between leaves nothing behind either.
    let broken = format!("{LINKED}---\napiVersion: security.istio.io/v1\nkind: AuthorisationPolicy\nmetadata: {{name: x}}\n");
    assert!(load_str("p.yaml", &broken).is_err());
    assert_eq!(format!("{:?}", load(OTHER)), other_alone);
}

#[test]
fn the_linked_scenario_resolves() {
    // Guards the independence test above: its scenario exercises every link.
    let model = load(LINKED);
    let group = model.groups.iter().find(|g| g.name == "w1/g1");
    assert_eq!(group.map(|g| g.namespaces.len()), Some(1));
    assert_eq!(model.egress_routes.len(), 1);
    assert_eq!(
        model.egress_routes.first().map(|r| r.sources.len()),
        Some(1)
    );
    let policy = model.policies.iter().find(|p| p.id.name == "ap");
    assert!(
        matches!(policy.map(|p| &p.scope), Some(crate::model::Scope::Services { services }) if services.len() == 1),
        "{policy:#?}"
    );
}
