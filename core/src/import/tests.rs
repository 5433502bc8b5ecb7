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
    let text = "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: r}\n\
                ---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: s}\n\
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
            "p.yaml:2:7: skipped ReferenceGrant (gateway.networking.k8s.io/v1beta1): egress-policy does not model it",
            "p.yaml:6:7: skipped ReferenceGrant (gateway.networking.k8s.io/v1beta1): egress-policy does not model it",
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

/// Every error of loading `text` through [`Loader::add_str`], as `line:column: message`
/// with the field path.
fn loader_errors(text: &str) -> Vec<(String, Option<String>)> {
    let mut loader = Loader::new();
    loader.add_str("v.yaml", text);
    match loader.load() {
        Ok(_) => panic!("expected errors"),
        Err(err) => err
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (shown(d), d.field.clone()))
            .collect(),
    }
}

/// The model of loading `text` through [`Loader::add_str`].
fn loader_model(text: &str) -> Model {
    let mut loader = Loader::new();
    loader.add_str("v.yaml", text);
    match loader.load() {
        Ok(model) => model,
        Err(err) => panic!("expected a clean load, got:\n{err}"),
    }
}

#[test]
fn an_unknown_resolution_is_an_error_listing_the_vocabulary() {
    let errors = loader_errors(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se}\n\
         spec:\n  hosts: [httpbin.org]\n  resolution: dns\n",
    );
    assert_eq!(
        errors,
        vec![(
            "v.yaml:6:15: unknown value `dns` for `resolution`, expected one of `NONE`, \
             `STATIC`, `DNS`, `DNS_ROUND_ROBIN`, `DYNAMIC_DNS`"
                .to_string(),
            Some("spec.resolution".to_string())
        )]
    );
}

#[test]
fn an_unknown_destination_rule_tls_mode_is_an_error_listing_the_vocabulary() {
    let errors = loader_errors(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr}\n\
         spec:\n  host: httpbin.org\n  trafficPolicy:\n    tls: {mode: PASSTHROUGH}\n",
    );
    assert_eq!(
        errors,
        vec![(
            "v.yaml:7:17: unknown value `PASSTHROUGH` for `mode`, expected one of `DISABLE`, \
             `SIMPLE`, `MUTUAL`, `ISTIO_MUTUAL`"
                .to_string(),
            Some("spec.trafficPolicy.tls.mode".to_string())
        )]
    );
}

#[test]
fn a_target_kind_outside_the_vocabulary_or_its_group_is_an_error() {
    for (group, kind) in [("", "Pod"), ("networking.istio.io", "Service")] {
        let text = format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
             metadata: {{name: p, namespace: egress}}\nspec:\n  targetRef: {{group: \"{group}\", \
             kind: {kind}, name: x}}\n"
        );
        let errors = loader_errors(&text);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let (line, column) = support::at(&text, &format!("{kind}, name"));
        assert_eq!(
            errors[0].0,
            format!(
                "v.yaml:{line}:{column}: cannot target `{group}/{kind}`; supported kinds are core/Service, \
                 gateway.networking.k8s.io/Gateway, gateway.networking.k8s.io/GatewayClass and \
                 networking.istio.io/ServiceEntry"
            )
        );
    }
}

#[test]
fn vocabularies_load_into_enums_and_serialise_as_written() {
    use crate::model::{
        PortProtocol, Resolution, Scope, ServerTlsMode, TargetKind, TlsMode, WAYPOINT_CLASS,
    };
    let model = loader_model(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: egress}\n\
         spec:\n  hosts: [httpbin.org]\n  resolution: DNS_ROUND_ROBIN\n  ports:\n\
         \x20 - {number: 443, protocol: https}\n\x20 - {number: 9000, protocol: quic}\n\
         \x20 - {number: 9001}\n---\n\
         apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr, namespace: egress}\n\
         spec:\n  host: httpbin.org\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n\
         \x20   portLevelSettings:\n    - {port: {number: 80}, tls: {}}\n---\n\
         apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: egress}\n\
         spec:\n  selector: {istio: egressgateway}\n  servers:\n\
         \x20 - {port: {number: 443, name: tls, protocol: TLS}, hosts: [\"*\"], tls: {mode: PASSTHROUGH}}\n\
         \x20 - {port: {number: 80, name: http, protocol: HTTP}, hosts: [\"*\"], tls: {mode: Sideways}}\n---\n\
         apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: egress}\n\
         spec:\n  targetRefs:\n  - {group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint}\n\
         \x20 - {group: networking.istio.io, kind: ServiceEntry, name: se}\n",
    );
    let service = &model.services[0];
    assert_eq!(service.resolution, Resolution::DnsRoundRobin);
    let protocols: Vec<&PortProtocol> = service.ports.iter().map(|p| &p.protocol).collect();
    assert_eq!(
        protocols,
        [
            &PortProtocol::Https,
            &PortProtocol::Other("QUIC".to_string()),
            &PortProtocol::Unspecified
        ]
    );
    let json = serde_json::to_value(service).unwrap_or_default();
    assert_eq!(json["resolution"], "DNS_ROUND_ROBIN");
    assert_eq!(json["ports"][0]["protocol"], "HTTPS");
    assert_eq!(json["ports"][1]["protocol"], "QUIC");
    assert_eq!(json["ports"][2]["protocol"], "");

    let dr = &model.tls_settings[0];
    assert_eq!(dr.mode, Some(TlsMode::IstioMutual));
    assert_eq!(dr.ports, vec![(80, TlsMode::Disable, None)]);
    let json = serde_json::to_value(dr).unwrap_or_default();
    assert_eq!(json["mode"], "ISTIO_MUTUAL");
    assert_eq!(json["ports"][0][1], "DISABLE");

    let servers = &model.gateways[0].servers;
    assert_eq!(servers[0].tls_mode, Some(ServerTlsMode::Passthrough));
    assert!(!servers[0].carries_peer_identity());
    assert_eq!(
        servers[1].tls_mode,
        Some(ServerTlsMode::Other("Sideways".to_string()))
    );
    let json = serde_json::to_value(&model.gateways[0]).unwrap_or_default();
    assert_eq!(json["servers"][0]["tls_mode"], "PASSTHROUGH");
    assert_eq!(json["servers"][0]["protocol"], "TLS");
    assert_eq!(json["servers"][1]["tls_mode"], "Sideways");

    let Scope::TargetRefs { targets } = &model.policies[0].scope else {
        panic!("targetRefs scope");
    };
    assert_eq!(targets[0].kind, TargetKind::GatewayClass);
    assert!(targets[0].is_waypoint_class());
    assert_eq!(targets[0].name, WAYPOINT_CLASS);
    assert_eq!(targets[1].kind, TargetKind::ServiceEntry);
    assert!(targets[1].names_service(&service.id));
    assert!(!targets[0].names_service(&service.id));
    let json = serde_json::to_value(&model.policies[0].scope).unwrap_or_default();
    assert_eq!(json["target_refs"]["targets"][1]["kind"], "ServiceEntry");
}

#[test]
fn a_service_entry_label_names_or_opts_out_of_a_waypoint() {
    use crate::model::ResourceRef;
    let entry = |name: &str, label: &str| {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n\
             metadata: {{name: {name}, namespace: apps{label}}}\nspec: {{hosts: [{name}.example.com]}}\n---\n"
        )
    };
    let text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels: {{istio.io/use-waypoint: ns-wp}}\n---\n\
         {}{}{}",
        entry("inherits", ""),
        entry("opts-out", ", labels: {istio.io/use-waypoint: none}"),
        entry(
            "names",
            ", labels: {istio.io/use-waypoint: own-wp, istio.io/use-waypoint-namespace: wps}"
        ),
    );
    let model = loader_model(&text);
    let gateways: Vec<Option<ResourceRef>> =
        model.services.iter().map(|s| s.gateway.clone()).collect();
    assert_eq!(
        gateways,
        vec![
            Some(ResourceRef::new("Gateway", "apps", "ns-wp")),
            None,
            Some(ResourceRef::new("Gateway", "wps", "own-wp")),
        ]
    );
    // No marker kind is left in the registry.
    let json = serde_json::to_string(&model.services).unwrap_or_default();
    assert!(
        json.contains("\"ns-wp\"") && !json.contains("use-waypoint"),
        "{json}"
    );
}

#[test]
fn an_unknown_action_is_an_error_listing_the_vocabulary() {
    let errors = loader_errors(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p}\n\
         spec:\n  action: PERMIT\n  provider: {name: ext}\n",
    );
    assert_eq!(
        errors,
        vec![
            (
                "v.yaml:5:11: unknown value `PERMIT` for `action`, expected one of `ALLOW`, \
                 `DENY`, `AUDIT`, `CUSTOM`"
                    .to_string(),
                Some("spec.action".to_string())
            ),
            (
                "v.yaml:6:13: `provider` must only be set with the CUSTOM action, found ALLOW"
                    .to_string(),
                Some("spec.provider".to_string())
            ),
        ]
    );
}

/// Files are parsed on several threads and imported as they come: the model, the warnings
/// and the errors are those of the same documents read in order, whatever the thread
/// timing, and mesh settings written in the last file still apply to the first.
#[test]
fn many_files_load_as_one_text_in_order() {
    let mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    trustDomain: td2\n";
    let policy = |i: usize| {
        format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: p{i}, namespace: egress}}\nspec:\n  rules:\n  - from:\n    - source: {{principals: [\"cluster.local/ns/a/sa/s{i}\"]}}\n---\napiVersion: example.com/v1\nkind: Widget{i}\nmetadata: {{name: w{i}}}\n"
        )
    };
    let mut loader = Loader::new();
    let mut files = Vec::new();
    for i in 0..23 {
        files.push((format!("f{i:02}.yaml"), policy(i)));
    }
    files.push(("z.yaml".to_string(), mesh.to_string()));
    for (name, text) in &files {
        loader.add_str(name, text);
    }
    let model = loader.load().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = model.policies.iter().map(|p| p.id.name.as_str()).collect();
    let expected: Vec<String> = (0..23).map(|i| format!("p{i}")).collect();
    assert_eq!(names, expected);
    assert_eq!(model.mesh.trust_domain, "td2");
    let principals = format!("{:?}", model.policies[0].rules[0].from);
    assert!(
        principals.contains("spiffe://td2/ns/a/sa/s0"),
        "{principals}"
    );
    let warnings: Vec<String> = model.warnings.iter().map(shown).collect();
    assert_eq!(warnings.len(), 23, "{warnings:?}");
    for (i, warning) in warnings.iter().enumerate() {
        assert!(
            warning.starts_with(&format!("f{i:02}.yaml:")),
            "{warnings:?}"
        );
    }
    for _ in 0..5 {
        assert_eq!(
            format!("{:?}", loader.load().ok()),
            format!("{:?}", Some(&model))
        );
    }

    // Broken files among them: every error, sorted by location, and no model.
    let mut broken = Loader::new();
    for (i, (name, text)) in files.iter().enumerate() {
        let text = if i % 7 == 3 {
            format!("{text}---\na: [1, 2\n")
        } else {
            text.clone()
        };
        broken.add_str(name, &text);
    }
    let Err(crate::Error::Invalid(diags)) = broken.load() else {
        panic!("broken files load");
    };
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.location.file.clone())
        .collect();
    assert_eq!(errors, ["f03.yaml", "f10.yaml", "f17.yaml"]);
}

/// A second definition is refused with the place of the first, and objects whose names
/// only look alike once their fields are run together (`a`/`bc`, `ab`/`c`) are two.
#[test]
fn duplicates_are_told_by_every_field() {
    let policy = |namespace: &str, name: &str| {
        format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
             metadata: {{name: {name}, namespace: {namespace}}}\nspec: {{action: DENY, rules: [{{}}]}}\n"
        )
    };
    let mut loader = Loader::new();
    loader
        .add_str("one.yaml", &policy("a", "bc"))
        .add_str("two.yaml", &policy("ab", "c"));
    let model = loader.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.policies.len(), 2);

    let mut loader = Loader::new();
    loader.add_str("one.yaml", &policy("a", "bc")).add_str(
        "two.yaml",
        &format!("{}---\n{}", policy("ab", "c"), policy("a", "bc")),
    );
    let err = loader.load().map(|_| ()).unwrap_err();
    let diags = err.diagnostics();
    assert_eq!(diags.len(), 1, "{diags:?}");
    let diag = &diags[0];
    assert_eq!(
        (diag.location.file.as_str(), diag.location.line),
        ("two.yaml", 6)
    );
    assert!(
        diag.message
            .contains("is defined twice (first at one.yaml:1:1)"),
        "{}",
        diag.message
    );
}
