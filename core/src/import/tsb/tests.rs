//! TSB import tests, all through [`crate::import::load_str`].

use crate::diagnostic::Diagnostic;
use crate::import::test_support::{self as support, at, vals};
use crate::model::{
    GatewayKind, HostPattern, Model, NamespacePattern, NamespaceSelector, ResourceRef, Scope,
    ServiceAccountRef, Source, StringPattern, Vendor,
};

const FILE: &str = "tsb.yaml";

fn load(text: &str) -> Model {
    support::load(FILE, text)
}

fn errors(text: &str) -> Vec<Diagnostic> {
    support::errors(FILE, text)
}

fn one_error(text: &str) -> Diagnostic {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors[0].clone()
}

#[track_caller]
fn assert_diag(
    d: &Diagnostic,
    text: &str,
    needle: &str,
    resource: &str,
    field: &str,
    message: &str,
) {
    support::assert_diag_in(FILE, d, text, needle, (resource, field, message));
}

fn sel(cluster: &str, namespace: &str) -> NamespaceSelector {
    NamespaceSelector {
        cluster: cluster.into(),
        namespace: namespace.into(),
    }
}

/// The documented example (docs.tetrate.io …/refs/tsb/gateway/v2/egress_gateway), made
/// consistent: the TrafficSetting points at the gateway's namespace.
const SEED: &str = r#"apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata:
  organization: myorg
  tenant: mycompany
  name: w1
spec:
  namespaceSelector:
    names: ["*/ns1", "*/default"]
---
apiVersion: gateway.tsb.tetrate.io/v2
kind: Group
metadata: {organization: myorg, tenant: mycompany, workspace: w1, name: g1}
spec:
  namespaceSelector:
    names: ["*/ns1"]
  configMode: BRIDGED
---
apiVersion: traffic.tsb.tetrate.io/v2
kind: Group
metadata: {organization: myorg, tenant: mycompany, workspace: w1, name: t1}
spec:
  configMode: BRIDGED
---
apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata:
  name: my-egress
  group: g1
  workspace: w1
  tenant: mycompany
  organization: myorg
spec:
  workloadSelector:
    namespace: ns1
    labels:
      app: istio-egressgateway
  authorization:
  - from:
      mode: WORKSPACE
    to: ["www.httpbin.org"]
  - from:
      mode: CUSTOM
      serviceAccounts: ["default/bookinfo-details"]
    to: ["*"]
---
apiVersion: traffic.tsb.tetrate.io/v2
kind: TrafficSetting
metadata:
  name: defaults
  group: t1
  workspace: w1
  tenant: mycompany
  organization: myorg
spec:
  reachability:
    mode: CUSTOM
    hosts:
    - "./*"
    - "istio-system/*"
  egress:
    host: ns1/istio-egressgateway.ns1.svc.cluster.local
"#;

#[test]
fn seed_scenario_imports_cleanly() {
    let model = load(SEED);
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);

    let gateway_id = ResourceRef::new("EgressGateway", "ns1", "my-egress");
    let [gateway] = model.gateways.as_slice() else {
        panic!("{:#?}", model.gateways);
    };
    assert_eq!(gateway.id, gateway_id);
    assert_eq!(gateway.kind, GatewayKind::TsbEgressGateway);
    assert_eq!(gateway.namespace, "ns1");
    assert_eq!(
        gateway.labels.get("app").map(String::as_str),
        Some("istio-egressgateway")
    );
    assert_eq!(gateway.workspace.as_deref(), Some("w1"));
    assert_eq!(gateway.group.as_deref(), Some("w1/g1"));
    assert!(gateway.originates_tls);
    assert_eq!(gateway.ports, vec![15443]);
    assert_eq!((gateway.location.line, gateway.location.column), (25, 1));

    let [policy] = model.policies.as_slice() else {
        panic!("{:#?}", model.policies);
    };
    assert_eq!(policy.id, gateway_id);
    assert_eq!(policy.vendor, Vendor::Tsb);
    assert_eq!(policy.action, crate::model::Action::Allow);
    assert!(!policy.dry_run);
    assert_eq!(
        policy.scope,
        Scope::Gateway {
            gateway: gateway_id.clone()
        }
    );
    assert_eq!(policy.rules.len(), 2);
    let first = &policy.rules[0];
    assert_eq!(
        first.from,
        Some(vec![Source {
            workspaces: vals(vec!["w1".to_string()]),
            ..Source::default()
        }])
    );
    let to = first.to.as_ref().expect("hosts");
    assert_eq!(to.len(), 1);
    assert_eq!(
        to[0].hosts,
        vals(vec![HostPattern::parse("www.httpbin.org")])
    );
    assert!(!to[0].ports.is_set() && !to[0].methods.is_set() && !to[0].paths.is_set());
    let location = first.location.as_ref().expect("location");
    assert_eq!(
        (location.line, location.column),
        at(SEED, "from:\n      mode: WORKSPACE")
    );
    let second = &policy.rules[1];
    assert_eq!(
        second.from,
        Some(vec![Source {
            service_accounts: vals(vec![ServiceAccountRef {
                namespace: "default".into(),
                name: "bookinfo-details".into(),
            }]),
            ..Source::default()
        }])
    );
    assert_eq!(second.to, None, "`*` allows any host");

    assert_eq!(model.workspaces.len(), 1);
    assert_eq!(model.workspaces[0].name, "w1");
    assert_eq!(
        model.workspaces[0].id,
        ResourceRef::new("Workspace", "mycompany", "w1")
    );
    assert_eq!(
        model.workspaces[0].namespaces,
        vec![sel("*", "ns1"), sel("*", "default")]
    );
    let group = |name: &str| {
        model
            .groups
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("group {name}"))
    };
    assert_eq!(group("w1/g1").namespaces, vec![sel("*", "ns1")]);
    assert_eq!(group("w1/g1").id, ResourceRef::new("Group", "w1", "g1"));
    // t1 has no selector: it takes the workspace's namespaces.
    assert_eq!(
        group("w1/t1").namespaces,
        vec![sel("*", "ns1"), sel("*", "default")]
    );

    let [route] = model.egress_routes.as_slice() else {
        panic!("{:#?}", model.egress_routes);
    };
    assert_eq!(
        route.origin,
        ResourceRef::new("TrafficSetting", "w1/t1", "defaults")
    );
    assert_eq!(route.host, "ns1/istio-egressgateway.ns1.svc.cluster.local");
    assert_eq!(route.sources, vec![sel("*", "ns1"), sel("*", "default")]);
    assert_eq!(route.gateway.as_ref(), Some(&gateway_id));
}

#[test]
fn empty_authorization_is_a_policy_without_rules() {
    let text = SEED.replace(
        r#"  authorization:
  - from:
      mode: WORKSPACE
    to: ["www.httpbin.org"]
  - from:
      mode: CUSTOM
      serviceAccounts: ["default/bookinfo-details"]
    to: ["*"]
"#,
        "  authorization: []\n",
    );
    let model = load(&text);
    let [policy] = model.policies.as_slice() else {
        panic!("{:#?}", model.policies);
    };
    assert!(policy.rules.is_empty());
    assert_eq!(policy.vendor, Vendor::Tsb);
    assert_eq!(model.gateways.len(), 1);
}

#[test]
fn absent_authorization_denies_all_like_tsb() {
    let text = r#"apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata: {name: open, workspace: w1}
spec:
  workloadSelector: {namespace: egress}
  displayName: Open egress
  description: no authorization written
  etag: '"abc"'
"#;
    let model = load(text);
    let [policy] = model.policies.as_slice() else {
        panic!("{:#?}", model.policies)
    };
    assert!(
        policy.rules.is_empty(),
        "an unwritten list denies all traffic"
    );
    assert_eq!(model.warnings.len(), 1, "{:#?}", model.warnings);
    assert_diag(
        &model.warnings[0],
        text,
        "workloadSelector: {namespace",
        "EgressGateway default/open",
        "spec.authorization",
        "no `authorization` written",
    );
    let [gateway] = model.gateways.as_slice() else {
        panic!()
    };
    assert_eq!(
        gateway.id,
        ResourceRef::new("EgressGateway", "egress", "open")
    );
    assert!(gateway.labels.is_empty());
    assert_eq!(gateway.group, None);
}

#[test]
fn kubernetes_form_reads_annotations() {
    let text = r#"apiVersion: tsb.tetrate.io/v2
kind: Workspace
metadata:
  name: w1
  namespace: ns1
  annotations:
    tsb.tetrate.io/organization: myorg
    tsb.tetrate.io/tenant: t
spec:
  namespaceSelector:
    names: ["c1/ns1"]
---
apiVersion: gateway.tsb.tetrate.io/v2
kind: Group
metadata:
  name: gg
  namespace: ns1
  annotations:
    tsb.tetrate.io/organization: myorg
    tsb.tetrate.io/tenant: t
    tsb.tetrate.io/workspace: w1
spec:
  namespaceSelector:
    names: ["c1/ns1"]
---
apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata:
  name: eg
  namespace: ns1
  annotations:
    tsb.tetrate.io/organization: myorg
    tsb.tetrate.io/tenant: t
    tsb.tetrate.io/workspace: w1
    tsb.tetrate.io/gatewayGroup: gg
spec:
  workloadSelector:
    namespace: ns1
    labels: {app: eg}
  authorization:
  - from: {mode: GROUP}
    to: ["api.example.com"]
---
apiVersion: traffic.tsb.tetrate.io/v2
kind: TrafficSetting
metadata:
  name: ts
  namespace: ns1
  annotations:
    tsb.tetrate.io/organization: myorg
    tsb.tetrate.io/tenant: t
    tsb.tetrate.io/workspace: w1
spec:
  outbound:
    egress:
      host: ns1/eg.ns1.svc.cluster.local
"#;
    let model = load(text);
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
    assert_eq!(model.gateways[0].workspace.as_deref(), Some("w1"));
    assert_eq!(model.gateways[0].group.as_deref(), Some("w1/gg"));
    assert_eq!(
        model.policies[0].rules[0].from,
        Some(vec![Source {
            groups: vals(vec!["w1/gg".to_string()]),
            ..Source::default()
        }])
    );
    assert_eq!(model.groups[0].name, "w1/gg");
    let route = &model.egress_routes[0];
    assert_eq!(route.origin, ResourceRef::new("TrafficSetting", "w1", "ts"));
    assert_eq!(
        route.sources,
        vec![sel("c1", "ns1")],
        "workspace-level setting"
    );
    assert_eq!(
        route.gateway,
        Some(ResourceRef::new("EgressGateway", "ns1", "eg")),
        "resolved by name"
    );
}

fn gateway_with(authorization: &str) -> String {
    format!(
        r#"apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata: {{name: gw, workspace: w1, group: g1}}
spec:
  workloadSelector:
    namespace: egress
    labels: {{app: gw}}
  authorization:
{authorization}"#
    )
}

fn rules_of(authorization: &str) -> (Model, Vec<crate::model::Rule>) {
    let model = load(&gateway_with(authorization));
    let rules = model.policies[0].rules.clone();
    (model, rules)
}

#[test]
fn every_mode_becomes_sources() {
    let (model, rules) = rules_of(
        r#"  - from: {mode: NAMESPACE}
    to: [a.com]
  - from: {mode: DISABLED}
    to: [b.com]
  - to: [c.com]
  - from: {mode: GROUP, identityMatch: PEER_CERTIFICATE}
    to: ["*.d.com", "D.com"]
  - from:
      mode: CUSTOM
      serviceAccounts: ["./local", "team/*", "other/sa.with.dots"]
    to: [e.com]
"#,
    );
    // The GROUP rule names group g1 of workspace w1, neither loaded: both are assumed,
    // each with a warning at the rule's `mode` and a caveat recorded for the policy.
    assert_eq!(model.warnings.len(), 2, "{:#?}", model.warnings);
    assert!(model.warnings[0]
        .message
        .contains("workspace `w1` is not loaded"));
    assert!(model.warnings[1]
        .message
        .contains("group `g1` of workspace `w1` is not loaded"));
    assert_eq!(
        model.warnings[1].field.as_deref(),
        Some("spec.authorization[3].from.mode")
    );
    let codes: Vec<&str> = model
        .assumptions_of(&model.policies[0].id)
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(codes, ["workspace_not_loaded", "group_not_loaded"]);
    assert_eq!(
        rules[0].from,
        Some(vec![Source {
            namespaces: vals(vec![NamespacePattern {
                glob: "egress".into()
            }]),
            ..Source::default()
        }])
    );
    assert_eq!(rules[1].from, None, "DISABLED admits anyone");
    assert_eq!(rules[2].from, None, "absent `from` admits anyone");
    assert_eq!(
        rules[3].from,
        Some(vec![Source {
            groups: vals(vec!["w1/g1".to_string()]),
            ..Source::default()
        }])
    );
    let hosts = &rules[3].to.as_ref().expect("hosts")[0].hosts;
    assert_eq!(
        hosts.values,
        vec![HostPattern::parse("*.d.com"), HostPattern::parse("D.com")]
    );
    assert!(hosts.values[1].matches("d.com"), "case-insensitive");
    assert_eq!(
        rules[4].from,
        Some(vec![
            Source {
                service_accounts: vals(vec![ServiceAccountRef {
                    namespace: "egress".into(),
                    name: "local".into()
                }]),
                ..Source::default()
            },
            Source {
                namespaces: vals(vec![NamespacePattern {
                    glob: "team".into()
                }]),
                ..Source::default()
            },
            Source {
                service_accounts: vals(vec![ServiceAccountRef {
                    namespace: "other".into(),
                    name: "sa.with.dots".into()
                }]),
                ..Source::default()
            },
        ])
    );
}

#[test]
fn unset_and_cluster_modes_warn() {
    let text = gateway_with(
        r#"  - from: {}
    to: [a.com]
  - from: {mode: CLUSTER}
    to: [b.com]
  - from:
      mode: UNSET
      http: {external: {uri: "https://opa"}}
    to: [c.com]
"#,
    );
    let model = load(&text);
    let rules = &model.policies[0].rules;
    assert_eq!(rules[0].from, None);
    assert_eq!(
        rules[1].from,
        Some(vec![Source {
            principals: vals(vec![StringPattern::Presence]),
            ..Source::default()
        }])
    );
    assert_eq!(rules[2].from, None);
    let warnings: Vec<&Diagnostic> = model.warnings.iter().collect();
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    let resource = "EgressGateway default/gw";
    assert_diag(
        warnings[0],
        &text,
        "{}",
        resource,
        "spec.authorization[0].from",
        "no `mode`",
    );
    assert_diag(
        warnings[1],
        &text,
        "CLUSTER",
        resource,
        "spec.authorization[1].from.mode",
        "any mTLS identity",
    );
    assert_diag(
        warnings[2],
        &text,
        "{external",
        resource,
        "spec.authorization[2].from.http",
        "not simulated",
    );
    assert_diag(
        warnings[3],
        &text,
        "UNSET",
        resource,
        "spec.authorization[2].from",
        "no `mode`",
    );
}

const RESOURCE: &str = "EgressGateway default/gw";

#[test]
fn unknown_mode_is_an_error() {
    let text = gateway_with("  - from: {mode: EVERYONE}\n    to: [a.com]\n");
    let d = one_error(&text);
    assert_diag(
        &d,
        &text,
        "EVERYONE",
        RESOURCE,
        "spec.authorization[0].from.mode",
        "unknown value `EVERYONE` for `mode`",
    );
}

#[test]
fn empty_or_missing_to_is_an_error() {
    let text =
        gateway_with("  - from: {mode: NAMESPACE}\n    to: []\n  - from: {mode: DISABLED}\n");
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_diag(
        &errors[0],
        &text,
        "[]",
        RESOURCE,
        "spec.authorization[0].to",
        "at least one host",
    );
    assert_diag(
        &errors[1],
        &text,
        "from: {mode: DISABLED}",
        RESOURCE,
        "spec.authorization[1].to",
        "missing field `to`",
    );
}

#[test]
fn bad_hosts_are_errors() {
    let text = gateway_with("  - to: [a.com, ns/b.com, A.COM, 7]\n");
    let errors = errors(&text);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_diag(
        &errors[0],
        &text,
        "ns/b.com",
        RESOURCE,
        "spec.authorization[0].to[1]",
        "not a host name",
    );
    assert_diag(
        &errors[1],
        &text,
        "A.COM",
        RESOURCE,
        "spec.authorization[0].to[2]",
        "more than once",
    );
    assert_diag(
        &errors[2],
        &text,
        "7]",
        RESOURCE,
        "spec.authorization[0].to[3]",
        "expected a string",
    );
}

#[test]
fn custom_mode_needs_valid_service_accounts() {
    let text = gateway_with(
        r#"  - from: {mode: CUSTOM}
    to: [a.com]
  - from: {mode: CUSTOM, serviceAccounts: []}
    to: [a.com]
  - from: {mode: CUSTOM, serviceAccounts: [plain, "a/b/c", "Bad_NS/sa", "ns/Bad_SA", "*/sa"]}
    to: [a.com]
  - from: {mode: WORKSPACE, serviceAccounts: [ns/sa]}
    to: [a.com]
"#,
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 8, "{errors:#?}");
    assert_diag(
        &errors[0],
        &text,
        "{mode: CUSTOM}",
        RESOURCE,
        "spec.authorization[0].from.serviceAccounts",
        "missing field `serviceAccounts`",
    );
    assert_diag(
        &errors[1],
        &text,
        "[]}",
        RESOURCE,
        "spec.authorization[1].from.serviceAccounts",
        "at least one",
    );
    assert_diag(
        &errors[2],
        &text,
        "plain",
        RESOURCE,
        "spec.authorization[2].from.serviceAccounts[0]",
        "is not `<namespace>/<service-account>`",
    );
    assert_diag(
        &errors[3],
        &text,
        "\"a/b/c\"",
        RESOURCE,
        "spec.authorization[2].from.serviceAccounts[1]",
        "is not `<namespace>/<service-account>`",
    );
    assert_diag(
        &errors[4],
        &text,
        "\"Bad_NS/sa\"",
        RESOURCE,
        "spec.authorization[2].from.serviceAccounts[2]",
        "not a Kubernetes namespace",
    );
    assert_diag(
        &errors[5],
        &text,
        "\"ns/Bad_SA\"",
        RESOURCE,
        "spec.authorization[2].from.serviceAccounts[3]",
        "not a service account name",
    );
    assert_diag(
        &errors[6],
        &text,
        "\"*/sa\"",
        RESOURCE,
        "spec.authorization[2].from.serviceAccounts[4]",
        "not a Kubernetes namespace",
    );
    assert_diag(
        &errors[7],
        &text,
        "[ns/sa]",
        RESOURCE,
        "spec.authorization[3].from.serviceAccounts",
        "only applies with mode `CUSTOM`",
    );
}

#[test]
fn workspace_and_group_modes_need_the_hierarchy() {
    let text = r#"apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata: {name: gw}
spec:
  workloadSelector: {namespace: egress}
  authorization:
  - from: {mode: WORKSPACE}
    to: [a.com]
  - from: {mode: GROUP}
    to: [a.com]
"#;
    let errors = errors(text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_diag(
        &errors[0],
        text,
        "WORKSPACE",
        RESOURCE,
        "spec.authorization[0].from.mode",
        "needs the gateway's workspace",
    );
    assert_diag(
        &errors[1],
        text,
        "GROUP",
        RESOURCE,
        "spec.authorization[1].from.mode",
        "needs the gateway's group",
    );
}

#[test]
fn group_without_workspace_is_an_error() {
    let text = "apiVersion: gateway.tsb.tetrate.io/v2\nkind: EgressGateway\nmetadata: {name: gw, group: g1}\nspec:\n  workloadSelector: {namespace: egress}\n";
    let d = one_error(text);
    assert_diag(
        &d,
        text,
        "apiVersion",
        RESOURCE,
        "metadata.workspace",
        "no workspace",
    );
}

#[test]
fn rules_mode_is_rejected() {
    let text = gateway_with(
        "  - from:\n      mode: RULES\n      rules: {allow: [{from: {fqn: organizations/o/tenants/t/workspaces/w}, to: {fqn: organizations/o/tenants/t/workspaces/x}}]}\n    to: [a.com]\n  - from: {mode: NAMESPACE, rules: {denyAll: true}}\n    to: [a.com]\n",
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_diag(
        &errors[0],
        &text,
        "RULES",
        RESOURCE,
        "spec.authorization[0].from.mode",
        "not supported",
    );
    assert_diag(
        &errors[1],
        &text,
        "{denyAll",
        RESOURCE,
        "spec.authorization[1].from.rules",
        "only applies with mode `RULES`",
    );
}

#[test]
fn unknown_fields_are_errors_everywhere() {
    let text = r#"apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata: {name: gw, workspace: w1}
spec:
  workloadSelector: {namespace: egress, lables: {app: x}}
  authorisation: []
  authorization:
  - from: {mode: NAMESPACE, accounts: [a/b]}
    to: [a.com]
    hosts: [b.com]
  extension: [{fqn: x, priority: 3}]
"#;
    let errors = errors(text);
    let fields: Vec<&str> = errors.iter().filter_map(|d| d.field.as_deref()).collect();
    assert_eq!(
        fields,
        vec![
            "spec.workloadSelector.lables",
            "spec.authorisation",
            "spec.authorization[0].from.accounts",
            "spec.authorization[0].hosts",
            "spec.extension[0].priority",
        ]
    );
    assert_diag(
        &errors[0],
        text,
        "lables",
        RESOURCE,
        "spec.workloadSelector.lables",
        "unknown field `lables`",
    );
    assert!(errors
        .iter()
        .all(|d| d.message.starts_with("unknown field")));
}

#[test]
fn wrong_types_and_missing_selector_are_errors() {
    let text = r#"apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata: {name: gw}
spec:
  authorization:
    from: {mode: NAMESPACE}
---
apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata: {name: gw2}
spec:
  workloadSelector: {labels: {app: x}}
  authorization:
  - to: "a.com"
"#;
    let errors = errors(text);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert_diag(
        &errors[0],
        text,
        "authorization:",
        RESOURCE,
        "spec.workloadSelector",
        "missing field `workloadSelector`",
    );
    assert_diag(
        &errors[1],
        text,
        "from: {mode",
        RESOURCE,
        "spec.authorization",
        "expected a list",
    );
    assert_diag(
        &errors[2],
        text,
        "{labels",
        "EgressGateway default/gw2",
        "spec.workloadSelector.namespace",
        "missing field `namespace`",
    );
    assert_diag(
        &errors[3],
        text,
        "\"a.com\"",
        "EgressGateway default/gw2",
        "spec.authorization[0].to",
        "expected a list",
    );
}

#[test]
fn unsupported_version_is_an_error() {
    let text = "apiVersion: gateway.tsb.tetrate.io/v1\nkind: EgressGateway\nmetadata: {name: gw}\nspec: {}\n";
    let d = one_error(text);
    assert_diag(
        &d,
        text,
        "gateway.tsb",
        RESOURCE,
        "apiVersion",
        "unsupported apiVersion `gateway.tsb.tetrate.io/v1`",
    );
}

#[test]
fn a_load_reports_every_error() {
    let text = format!(
        "{}---\n{}",
        gateway_with("  - from: {mode: NOPE}\n    to: [a.com]\n"),
        "apiVersion: api.tsb.tetrate.io/v2\nkind: Workspace\nmetadata: {name: w}\nspec:\n  namespaceSelector: {names: [\"ns-without-cluster\"]}\n"
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(
        errors[0].field.as_deref(),
        Some("spec.authorization[0].from.mode")
    );
    assert_eq!(
        errors[1].field.as_deref(),
        Some("spec.namespaceSelector.names[0]")
    );
    assert_eq!(errors[1].resource.as_deref(), Some("Workspace default/w"));
}

#[test]
fn workspace_selectors_are_validated() {
    let text = r#"apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata: {name: w, tenant: t}
spec:
  namespaceSelector:
    names: ["c1/ns*", "*/*", "a/b/c", "/ns", "c1/"]
---
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata: {name: empty}
spec:
  namespaceSelector: {names: []}
---
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata: {name: none}
spec:
  displayName: nothing selected
---
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata: {name: nospec}
"#;
    let errors = errors(text);
    assert_eq!(errors.len(), 6, "{errors:#?}");
    assert_diag(
        &errors[0],
        text,
        "\"a/b/c\"",
        "Workspace default/w",
        "spec.namespaceSelector.names[2]",
        "not `<cluster>/<namespace>`",
    );
    assert_diag(
        &errors[1],
        text,
        "\"/ns\"",
        "Workspace default/w",
        "spec.namespaceSelector.names[3]",
        "not `<cluster>/<namespace>`",
    );
    assert_diag(
        &errors[2],
        text,
        "\"c1/\"",
        "Workspace default/w",
        "spec.namespaceSelector.names[4]",
        "not `<cluster>/<namespace>`",
    );
    assert_diag(
        &errors[3],
        text,
        "[]}",
        "Workspace default/empty",
        "spec.namespaceSelector.names",
        "at least one",
    );
    assert_diag(
        &errors[4],
        text,
        "displayName: nothing",
        "Workspace default/none",
        "spec.namespaceSelector",
        "missing field `namespaceSelector`",
    );
    assert_eq!(errors[5].field.as_deref(), Some("spec"));

    let model = load(
        "apiVersion: api.tsb.tetrate.io/v2\nkind: Workspace\nmetadata: {name: w}\nspec:\n  namespaceSelector: {names: [\"c1/ns*\", \"*/*\"]}\n  privileged: true\n  profiles: [p]\n",
    );
    assert_eq!(
        model.workspaces[0].namespaces,
        vec![sel("c1", "ns*"), sel("*", "*")]
    );
}

#[test]
fn groups_are_named_by_workspace_and_validated() {
    let text = r#"apiVersion: security.tsb.tetrate.io/v2
kind: Group
metadata: {name: sg, workspace: w1}
spec:
  namespaceSelector: {names: ["*/a"]}
  configMode: DIRECT
  securityDomain: organizations/o/securitydomains/d
---
apiVersion: traffic.tsb.tetrate.io/v2
kind: Group
metadata: {name: orphan}
spec:
  configMode: BRIDGED
"#;
    let d = one_error(text);
    assert_diag(
        &d,
        text,
        "apiVersion: traffic",
        "Group default/orphan",
        "metadata.workspace",
        "needs its workspace",
    );

    let text = "apiVersion: security.tsb.tetrate.io/v2\nkind: Group\nmetadata: {name: sg, workspace: w1}\nspec:\n  configMode: SOMETIMES\n";
    let d = one_error(text);
    assert_diag(
        &d,
        text,
        "SOMETIMES",
        "Group default/sg",
        "spec.configMode",
        "unknown value `SOMETIMES` for `configMode`",
    );

    // No workspace loaded: assumed to own every namespace, and the group inherits that;
    // the warning says so.
    let model = load("apiVersion: security.tsb.tetrate.io/v2\nkind: Group\nmetadata: {name: sg, workspace: w9}\n");
    assert_eq!(model.groups[0].name, "w9/sg");
    assert_eq!(model.groups[0].namespaces, vec![sel("*", "*")]);
    assert_eq!(model.workspaces[0].name, "w9");
    assert_eq!(model.warnings.len(), 1, "{:#?}", model.warnings);
    assert!(model.warnings[0]
        .message
        .contains("workspace `w9` is not loaded"));
}

#[test]
fn traffic_settings_resolve_or_warn() {
    let text = r#"apiVersion: traffic.tsb.tetrate.io/v2
kind: TrafficSetting
metadata: {name: ts, workspace: w1}
spec:
  egress: {host: egress/missing.egress.svc.cluster.local, port: 15443}
  outbound:
    egress: {host: egress/tsb-egress}
  resilience: {httpRequestTimeout: 2s}
  upstreamTrafficSettings: [{hosts: ["*/*"]}]
---
apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata: {name: tsb-egress, workspace: w1}
spec:
  workloadSelector: {namespace: egress}
  authorization: []
"#;
    let model = load(text);
    let route = &model.egress_routes[0];
    assert_eq!(route.host, "egress/tsb-egress", "outbound.egress wins");
    assert_eq!(
        route.gateway,
        Some(ResourceRef::new("EgressGateway", "egress", "tsb-egress"))
    );
    assert_eq!(
        route.sources,
        vec![sel("*", "*")],
        "w1 is assumed to own everything"
    );
    assert_eq!(route.caveats.len(), 1, "{:#?}", route.caveats);
    assert_eq!(route.caveats[0].code, "workspace_not_loaded");
    assert_eq!(model.warnings.len(), 2, "{:#?}", model.warnings);
    let resource = "TrafficSetting default/ts";
    assert_diag(
        &model.warnings[0],
        text,
        "egress/missing",
        resource,
        "spec.egress.host",
        "deprecated",
    );
    assert_diag(
        &model.warnings[1],
        text,
        "egress/tsb-egress",
        resource,
        "spec.outbound.egress.host",
        "workspace `w1` is not loaded",
    );

    let text = "apiVersion: traffic.tsb.tetrate.io/v2\nkind: TrafficSetting\nmetadata: {name: ts, workspace: w1}\nspec:\n  egress: {host: egress/nowhere}\n---\napiVersion: api.tsb.tetrate.io/v2\nkind: Workspace\nmetadata: {name: w1}\nspec: {namespaceSelector: {names: [\"*/app\"]}}\n";
    let model = load(text);
    assert_eq!(model.egress_routes[0].sources, vec![sel("*", "app")]);
    assert_eq!(
        model.egress_routes[0].gateway,
        Some(ResourceRef::new("EgressGateway", "egress", "nowhere")),
        "an unknown gateway named by the host, which the road reports as not loaded"
    );
    assert_eq!(model.warnings.len(), 1, "{:#?}", model.warnings);
    assert_diag(
        &model.warnings[0],
        text,
        "egress/nowhere",
        "TrafficSetting default/ts",
        "spec.egress.host",
        "matches no loaded gateway",
    );
}

#[test]
fn traffic_setting_errors() {
    let text = r#"apiVersion: traffic.tsb.tetrate.io/v2
kind: TrafficSetting
metadata: {name: ts, workspace: w1}
spec:
  reachability: {mode: SOMEWHERE, hosts: [nohost]}
  egress: {host: istio-egressgateway}
---
apiVersion: traffic.tsb.tetrate.io/v2
kind: TrafficSetting
metadata: {name: nows}
spec:
  egress: {port: 15443}
---
apiVersion: traffic.tsb.tetrate.io/v2
kind: TrafficSetting
metadata: {name: nows2}
spec:
  egress: {host: a/b.c}
  rateLimit: {}
"#;
    let errors = errors(text);
    assert_eq!(errors.len(), 6, "{errors:#?}");
    let ts = "TrafficSetting default/ts";
    assert_diag(
        &errors[0],
        text,
        "SOMEWHERE",
        ts,
        "spec.reachability.mode",
        "unknown value `SOMEWHERE` for `mode`",
    );
    assert_diag(
        &errors[1],
        text,
        "nohost",
        ts,
        "spec.reachability.hosts[0]",
        "not `<namespace>/<fqdn>`",
    );
    assert_diag(
        &errors[2],
        text,
        "istio-egressgateway}",
        ts,
        "spec.egress.host",
        "not `<namespace>/<fqdn>`",
    );
    assert_diag(
        &errors[3],
        text,
        "{port",
        "TrafficSetting default/nows",
        "spec.egress.host",
        "missing field `host`",
    );
    assert_diag(
        &errors[4],
        text,
        "apiVersion: traffic.tsb.tetrate.io/v2\nkind: TrafficSetting\nmetadata: {name: nows2}",
        "TrafficSetting default/nows2",
        "metadata.workspace",
        "needs its workspace",
    );
    assert_diag(
        &errors[5],
        text,
        "rateLimit",
        "TrafficSetting default/nows2",
        "spec.rateLimit",
        "unknown field",
    );
}

#[test]
fn tenants_and_organizations_are_validated_only() {
    let model = load(
        r#"apiVersion: api.tsb.tetrate.io/v2
kind: Organization
metadata: {name: myorg}
spec:
  systemNamespaces: [kube-system]
---
apiVersion: tsb.tetrate.io/v2
kind: Tenant
metadata: {name: t, annotations: {tsb.tetrate.io/organization: myorg}}
spec:
  displayName: Team
  securityDomain: organizations/myorg/securitydomains/sd
---
apiVersion: api.tsb.tetrate.io/v2
kind: Tenant
metadata: {name: bare, organization: myorg}
"#,
    );
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
    assert!(model.workspaces.is_empty() && model.policies.is_empty());

    let text = "apiVersion: api.tsb.tetrate.io/v2\nkind: Tenant\nmetadata: {name: t}\nspec:\n  systemNamespaces: [a]\n  deletionProtectionEnabled: \"on\"\n";
    let errors = errors(text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_diag(
        &errors[0],
        text,
        "systemNamespaces",
        "Tenant default/t",
        "spec.systemNamespaces",
        "unknown field",
    );
    assert_diag(
        &errors[1],
        text,
        "\"on\"",
        "Tenant default/t",
        "spec.deletionProtectionEnabled",
        "expected a boolean",
    );
}
