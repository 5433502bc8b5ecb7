//! Gloo import tests, all through [`crate::import::load_str`].

use crate::diagnostic::Diagnostic;
use crate::import::test_support::{self as support, at, vals};
use crate::model::{
    Condition, Field, GatewayKind, IpBlock, Labels, Model, NamespacePattern, PathPattern,
    PortProtocol, Resolution, ResourceRef, Rule, Scope, ServiceAccountRef, ServicePort, Source,
    StringPattern, TlsMode, TlsOrigination, Vendor,
};

const FILE: &str = "gloo.yaml";

fn load(text: &str) -> Model {
    support::load(FILE, text)
}

fn errors(text: &str) -> Vec<Diagnostic> {
    support::errors(FILE, text)
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

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const SEED: &str = r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: bookinfo-productpage
  namespace: bookinfo
  labels: {account: productpage}
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata:
  name: egress-vg
  namespace: istio-egress
spec:
  workloads:
  - selector:
      labels:
        istio: egressgateway
      namespace: istio-egress
      cluster: cluster1
  listeners:
  - http: {}
    port:
      number: 80
  - http: {}
    port:
      number: 443
    tls:
      mode: ISTIO_MUTUAL
    appProtocol: HTTPS
    exposedExternalServices:
    - host: httpbin.org
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata:
  name: httpbin
  namespace: istio-egress
  labels:
    external-service: httpbin
spec:
  hosts:
  - httpbin.org
  ports:
  - name: https
    number: 443
    protocol: HTTPS
    clientsideTls: {}
    egressGatewayRoutes:
      portMatch: 80
      virtualGatewayRefs:
      - name: egress-vg
        namespace: istio-egress
        cluster: cluster1
---
apiVersion: security.policy.gloo.solo.io/v2
kind: AccessPolicy
metadata:
  name: httpbin-productpage-only
  namespace: istio-egress
spec:
  applyToDestinations:
  - kind: EXTERNAL_SERVICE
    selector:
      name: httpbin
      namespace: istio-egress
      cluster: cluster1
  config:
    authn:
      tlsMode: STRICT
    authz:
      allowedClients:
      - serviceAccountSelector:
          namespace: bookinfo
          labels:
            account: productpage
"#;

#[test]
fn seed_scenario_imports_cleanly() {
    let model = load(SEED);
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);

    let gateway_id = ResourceRef::new("VirtualGateway", "istio-egress", "egress-vg");
    let [gateway] = model.gateways.as_slice() else {
        panic!("{:#?}", model.gateways);
    };
    assert_eq!(gateway.id, gateway_id);
    assert_eq!(gateway.kind, GatewayKind::GlooVirtualGateway);
    assert_eq!(gateway.namespace, "istio-egress");
    assert_eq!(gateway.labels, labels(&[("istio", "egressgateway")]));
    assert_eq!(gateway.ports, vec![80, 443]);
    assert_eq!(gateway.workspace, None);
    assert!(!gateway.originates_tls);

    let service_id = ResourceRef::new("ExternalService", "istio-egress", "httpbin");
    let [service] = model.services.as_slice() else {
        panic!("{:#?}", model.services);
    };
    assert_eq!(service.id, service_id);
    assert_eq!(service.vendor, Vendor::Gloo);
    assert_eq!(service.hosts, vec!["httpbin.org".to_string()]);
    assert_eq!(
        service.ports,
        vec![ServicePort {
            number: 443,
            protocol: "HTTPS".into(),
            name: "https".into(),
            target_port: None,
        }]
    );
    assert_eq!(service.resolution, Resolution::Dns);
    assert!(service.export_to.is_empty());
    assert_eq!(service.gateway.as_ref(), Some(&gateway_id));
    assert_eq!(service.gateway_port, Some(80));
    assert_eq!(
        service.tls,
        Some(TlsOrigination {
            mode: TlsMode::Simple,
            sni: Some("httpbin.org".into()),
            origin: service_id.clone(),
        })
    );
    assert!(service.host_matches("HTTPBIN.org"));

    let [policy] = model.policies.as_slice() else {
        panic!("{:#?}", model.policies);
    };
    assert_eq!(
        policy.id,
        ResourceRef::new("AccessPolicy", "istio-egress", "httpbin-productpage-only")
    );
    assert_eq!(policy.vendor, Vendor::Gloo);
    assert_eq!(policy.action, crate::model::Action::Allow);
    assert!(!policy.dry_run);
    assert_eq!(
        policy.scope,
        Scope::Services {
            services: vec![service_id]
        }
    );
    assert_eq!(
        policy.rules,
        vec![Rule {
            from: Some(vec![Source {
                namespaces: vals(vec![NamespacePattern {
                    glob: "bookinfo".into()
                }]),
                service_account_labels: vals(vec![labels(&[("account", "productpage")])]),
                ..Source::default()
            }]),
            to: None,
            when: Vec::new(),
            location: Some(crate::Location {
                file: FILE.into(),
                line: at(SEED, "allowedClients").0,
                column: at(SEED, "allowedClients").1,
            }),
            ..Rule::default()
        }]
    );
    assert_eq!(model.service_accounts.len(), 1);
}

fn policy_with(config: &str) -> String {
    format!(
        "apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {{name: ap, namespace: egress}}\nspec:\n  config:\n{config}"
    )
}

const AP: &str = "AccessPolicy egress/ap";

#[test]
fn client_sets_follow_semantics_8_4() {
    // One empty selector: any client.
    let model = load(&policy_with("    authz:\n      allowedClients: [{}]\n"));
    let policy = &model.policies[0];
    assert_eq!(policy.scope, Scope::Services { services: vec![] });
    assert_eq!(policy.rules.len(), 1);
    assert_eq!(policy.rules[0].from, None);
    assert_eq!(policy.rules[0].to, None);

    // Absent or empty: no client (allow-nothing), no warning.
    for config in [
        "    authz:\n      allowedPaths: [/get]\n",
        "    authz:\n      allowedClients: []\n",
    ] {
        let model = load(&policy_with(config));
        assert!(model.policies[0].rules.is_empty(), "{config}");
        assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
    }

    // No authorization at all: allow-nothing, with a warning.
    let text = "apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: ap, namespace: egress}\nspec:\n  config:\n    authn: {tlsMode: PERMISSIVE}\n";
    let model = load(text);
    assert!(model.policies[0].rules.is_empty());
    assert_eq!(model.warnings.len(), 1);
    assert_diag(
        &model.warnings[0],
        text,
        "config:",
        AP,
        "spec.config.authz",
        "allows no client",
    );
}

#[test]
fn every_client_form_becomes_a_source() {
    let text = policy_with(
        r#"    authz:
      allowedClients:
      - serviceAccountSelector: {name: sleep, namespace: default, cluster: c1}
      - serviceAccountSelector: {name: curl}
      - serviceAccountSelector: {namespace: teamx}
      - serviceAccountSelector: {}
      - serviceAccountSelector: {cluster: c2}
      - serviceAccountSelector: {labels: {tier: web}}
      - requestIdentityMatcher:
          requestPrincipals: ["https://issuer/*"]
          notRequestPrincipals: ["*/bot"]
      - serviceAccountSelector: {namespace: ops, workspace: ops-ws}
"#,
    );
    let model = load(&text);
    let from = model.policies[0].rules[0].from.clone().expect("sources");
    assert_eq!(
        from,
        vec![
            Source {
                service_accounts: vals(vec![ServiceAccountRef {
                    namespace: "default".into(),
                    name: "sleep".into()
                }]),
                groups: vals(vec!["gloo cluster c1/default".to_string()]),
                ..Source::default()
            },
            Source {
                principals: vals(vec![StringPattern::Suffix("/sa/curl".into())]),
                ..Source::default()
            },
            Source {
                namespaces: vals(vec![NamespacePattern {
                    glob: "teamx".into()
                }]),
                ..Source::default()
            },
            Source {
                principals: vals(vec![StringPattern::Presence]),
                ..Source::default()
            },
            Source {
                principals: vals(vec![StringPattern::Presence]),
                groups: vals(vec!["gloo cluster c2/*".to_string()]),
                ..Source::default()
            },
            Source {
                service_account_labels: vals(vec![labels(&[("tier", "web")])]),
                ..Source::default()
            },
            Source {
                request_principals: Field {
                    values: vec![StringPattern::Prefix("https://issuer/".into())],
                    not_values: vec![StringPattern::Suffix("/bot".into())],
                },
                ..Source::default()
            },
            Source {
                namespaces: vals(vec![NamespacePattern { glob: "ops".into() }]),
                ..Source::default()
            },
        ]
    );
    // `workspace: ops-ws` names no loaded Workspace: the selector is not narrowed, and
    // the assumption travels with the policy.
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
    let codes: Vec<&str> = model
        .assumptions
        .iter()
        .map(|(_, c)| c.code.as_str())
        .collect();
    assert!(codes.contains(&"gloo_workspace_not_loaded"), "{codes:?}");
}

#[test]
fn operations_conditions_ip_blocks_and_dry_run() {
    let text = policy_with(
        r#"    authzList:
    - allowedClients: [{}]
      allowedMethods: [GET, get]
      allowedPaths: [/status/*, "/anything/{*}/x"]
      allowedIpBlocks: [10.0.0.0/8]
      allowedRemoteIpBlocks: [192.0.2.1]
      match:
        request:
          headers:
            X-Team: {values: [payments], notValues: ["*-test"]}
    - allowedClients:
      - serviceAccountSelector: {name: a, namespace: b}
      dryRun: true
"#,
    );
    let model = load(&text);
    assert_eq!(model.policies.len(), 2, "one enforced, one dry-run");
    let enforced = &model.policies[0];
    assert!(!enforced.dry_run);
    let rule = &enforced.rules[0];
    assert_eq!(
        rule.from,
        Some(vec![Source {
            ip_blocks: vals(vec![IpBlock::parse("10.0.0.0/8").unwrap()]),
            remote_ip_blocks: vals(vec![IpBlock::parse("192.0.2.1").unwrap()]),
            ..Source::default()
        }])
    );
    let to = rule.to.as_ref().expect("operation");
    assert_eq!(
        to[0].methods,
        vals(vec![
            StringPattern::Exact("GET".into()),
            StringPattern::Exact("get".into())
        ])
    );
    assert_eq!(
        to[0].paths,
        vals(vec![
            PathPattern::parse("/status/*").unwrap(),
            PathPattern::parse("/anything/{*}/x").unwrap()
        ])
    );
    assert_eq!(
        rule.when,
        vec![Condition::RequestHeader {
            name: "x-team".into(),
            field: Field {
                values: vec![StringPattern::Exact("payments".into())],
                not_values: vec![StringPattern::Suffix("-test".into())],
            }
        }]
    );
    let dry = &model.policies[1];
    assert!(dry.dry_run);
    assert_eq!(dry.rules.len(), 1);
    assert_eq!(dry.id, enforced.id);
    assert_eq!(model.warnings.len(), 1, "{:#?}", model.warnings);
    assert_diag(
        &model.warnings[0],
        &text,
        "get]",
        AP,
        "spec.config.authzList[0].allowedMethods[1]",
        "not upper case",
    );
}

#[test]
fn authz_list_wins_over_authz() {
    let text = policy_with(
        "    authz:\n      allowedClients: [{}]\n    authzList:\n    - allowedClients: [{serviceAccountSelector: {name: a, namespace: b}}]\n    - allowedClients: [{serviceAccountSelector: {name: c, namespace: d}}]\n",
    );
    let model = load(&text);
    assert_eq!(model.policies[0].rules.len(), 2);
    assert!(model.policies[0].rules.iter().all(|r| r.from.is_some()));
    assert_eq!(model.warnings.len(), 1);
    assert_diag(
        &model.warnings[0],
        &text,
        "allowedClients: [{}]",
        AP,
        "spec.config.authz",
        "is ignored",
    );
}

const TWO_SERVICES: &str = r#"apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: a, namespace: ext, labels: {team: pay}}
spec:
  hosts: [a.example.com]
  ports: [{number: 443, protocol: TLS}]
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: b, namespace: other}
spec:
  hosts: ["*.b.example.com"]
  ports: [{number: 80, protocol: http, name: http, targetPort: {number: 8080}}]
"#;

fn with_services(policy_spec: &str) -> String {
    format!(
        "{TWO_SERVICES}---\napiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {{name: ap, namespace: egress}}\nspec:\n{policy_spec}  config:\n    authz:\n      allowedClients: [{{}}]\n"
    )
}

#[test]
fn destinations_select_external_services() {
    let a = ResourceRef::new("ExternalService", "ext", "a");
    let b = ResourceRef::new("ExternalService", "other", "b");
    let model = load(&with_services(
        "  applyToDestinations:\n  - kind: EXTERNAL_SERVICE\n    selector: {labels: {team: pay}}\n  - kind: EXTERNAL_SERVICE\n    selector: {namespace: other}\n  - kind: EXTERNAL_SERVICE\n    selector: {name: a}\n",
    ));
    assert_eq!(
        model.policies[0].scope,
        Scope::Services {
            services: vec![a.clone(), b.clone()]
        }
    );
    assert_eq!(model.services[1].ports[0].protocol, PortProtocol::Http);
    assert_eq!(model.services[1].ports[0].target_port, Some(8080));

    let model = load(&with_services(
        "  applyToDestinations:\n  - kind: EXTERNAL_SERVICE\n",
    ));
    assert_eq!(
        model.policies[0].scope,
        Scope::Services {
            services: vec![a, b]
        }
    );

    // Kubernetes services only: nothing external, so the policy is not part of egress.
    let model = load(&with_services(
        "  applyToDestinations:\n  - selector: {name: reviews}\n  - kind: VIRTUAL_DESTINATION\n",
    ));
    assert!(model.policies.is_empty());
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);

    // An external-service selector that matches nothing: dropped, with a warning.
    let text = with_services(
        "  applyToDestinations:\n  - kind: EXTERNAL_SERVICE\n    selector: {name: nope}\n    port: {number: 443}\n",
    );
    let model = load(&text);
    assert!(model.policies.is_empty());
    assert_eq!(model.warnings.len(), 2, "{:#?}", model.warnings);
    assert_diag(
        &model.warnings[0],
        &text,
        "{number: 443}\n",
        AP,
        "spec.applyToDestinations[0].port",
        "every port",
    );
    assert_diag(
        &model.warnings[1],
        &text,
        "kind: EXTERNAL_SERVICE\n    selector: {name: nope}",
        AP,
        "spec.applyToDestinations[0]",
        "selects no loaded ExternalService",
    );
}

#[test]
fn workloads_select_gateways() {
    let text = format!(
        "{}---\n{}",
        SEED,
        "apiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: at-gateway, namespace: istio-egress}\nspec:\n  applyToWorkloads:\n  - selector: {labels: {istio: egressgateway}, namespace: istio-egress}\n  applyToDestinations:\n  - kind: EXTERNAL_SERVICE\n  config:\n    authz: {allowedClients: [{}]}\n---\napiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata: {name: sidecars, namespace: bookinfo}\nspec:\n  applyToWorkloads:\n  - selector: {labels: {app: reviews}}\n  config:\n    authz: {allowedClients: [{}]}\n"
    );
    let model = load(&text);
    let ids: Vec<&str> = model.policies.iter().map(|p| p.id.name.as_str()).collect();
    assert_eq!(ids, vec!["httpbin-productpage-only", "at-gateway"]);
    assert_eq!(
        model.policies[1].scope,
        Scope::Gateway {
            gateway: ResourceRef::new("VirtualGateway", "istio-egress", "egress-vg")
        }
    );
    assert_eq!(model.warnings.len(), 1, "{:#?}", model.warnings);
    assert!(model.warnings[0]
        .message
        .contains("`applyToDestinations` is ignored"));
}

#[test]
fn external_service_variants() {
    let text = r#"apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: multi, namespace: ext}
spec:
  hosts: [a.example.com, b.example.com]
  selector: {app: endpoints}
  subjectAltNames: [a.example.com]
  ports:
  - number: 443
    protocol: https
    clientsideTls: {mode: MUTUAL, credentialName: client-cert, sni: a.example.com}
  - number: 80
    protocol: HTTP
    targetPort: {name: http-alt}
    clientsideTls: true
    egressGatewayRoutes:
      virtualGatewayRefs: [{name: missing-vg}]
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: plain, namespace: ext}
spec:
  hosts: [c.example.com]
  ports:
  - {number: 443, protocol: TLS, clientsideTls: {mode: DISABLE}}
  - {number: 8443, protocol: TLS, clientsideTls: false}
"#;
    let model = load(text);
    let multi = &model.services[0];
    assert_eq!(multi.resolution, Resolution::Static);
    assert_eq!(
        multi.tls,
        Some(TlsOrigination {
            mode: TlsMode::Mutual,
            sni: Some("a.example.com".into()),
            origin: multi.id.clone(),
        })
    );
    assert_eq!(multi.ports[1].target_port, None);
    assert_eq!(
        multi.gateway,
        Some(ResourceRef::new("VirtualGateway", "ext", "missing-vg")),
        "an unloaded gateway stays referenced"
    );
    assert_eq!(multi.gateway_port, Some(80), "portMatch defaults to 80");
    assert_eq!(model.services[1].tls, None);
    assert_eq!(model.services[1].gateway, None);
    let warnings = &model.warnings;
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    let resource = "ExternalService ext/multi";
    assert_diag(
        &warnings[0],
        text,
        "{name: http-alt}",
        resource,
        "spec.ports[1].targetPort",
        "ExternalEndpoint",
    );
    assert_diag(
        &warnings[1],
        text,
        "{name: missing-vg}",
        resource,
        "spec.ports[1].egressGatewayRoutes.virtualGatewayRefs[0]",
        "VirtualGateway ext/missing-vg is not loaded",
    );

    // Several hosts and no `sni`: no single SNI.
    let model = load("apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: two}\nspec:\n  hosts: [a.com, b.com]\n  ports: [{number: 443, protocol: HTTPS, clientsideTls: {}}]\n");
    assert_eq!(
        model.services[0].tls.as_ref().and_then(|t| t.sni.clone()),
        None
    );
    assert_eq!(model.services[0].id.namespace, "default");
}

#[test]
fn external_service_errors() {
    let text = r#"apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: es, namespace: ext}
spec:
  hosts: ["*", "a.*.com", api.example.com]
  ports:
  - number: abc
    protocol: HTTPS
  - number: 80
    protocol: UDP
  - number: 81
  - number: 443
    protocol: HTTPS
    clientsideTls: {mode: MUTUAL}
  - number: 444
    protocol: HTTPS
    targetPort: {name: https}
  - number: 445
    protocol: HTTPS
    egressGatewayRoutes: {virtualGatewayRefs: []}
  - number: 446
    protocol: HTTPS
    egressGatewayRoutes: {portMatch: 80, virtualGatewayRef: [{name: vg}]}
  - number: 447
    protocol: HTTPS
    targetPort: 8443
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: es2, namespace: ext}
spec:
  hosts: [b.example.com]
  addresses: [10.0.0.300]
  ports: [{number: 80, protocol: HTTP}]
"#;
    let errors = errors(text);
    let r = "ExternalService ext/es";
    let expected: Vec<(&str, &str, &str)> = vec![
        ("\"*\"", "spec.hosts[0]", "not a host name"),
        ("\"a.*.com\"", "spec.hosts[1]", "not a host name"),
        ("abc", "spec.ports[0].number", "not a number"),
        (
            "UDP",
            "spec.ports[1].protocol",
            "unknown value `UDP` for `protocol`",
        ),
        (
            "number: 81",
            "spec.ports[2].protocol",
            "missing field `protocol`",
        ),
        (
            "{mode: MUTUAL}",
            "spec.ports[3].clientsideTls",
            "needs `clientCertificate`",
        ),
        (
            "{name: https}",
            "spec.ports[4].targetPort",
            "needs ExternalEndpoints",
        ),
        (
            "[]}",
            "spec.ports[5].egressGatewayRoutes.virtualGatewayRefs",
            "at least one",
        ),
        (
            "{portMatch: 80, virtualGatewayRef:",
            "spec.ports[6].egressGatewayRoutes.virtualGatewayRefs",
            "missing field",
        ),
        (
            "virtualGatewayRef:",
            "spec.ports[6].egressGatewayRoutes.virtualGatewayRef",
            "unknown field",
        ),
        ("8443", "spec.ports[7].targetPort", "expected a mapping"),
        ("[10.0.0.300]", "spec.addresses", "mutually exclusive"),
        ("10.0.0.300", "spec.addresses[0]", "not an IP address"),
    ];
    let got: Vec<(Option<&str>, &str)> = errors
        .iter()
        .map(|d| (d.field.as_deref(), d.message.as_str()))
        .collect();
    assert_eq!(errors.len(), expected.len(), "{got:#?}");
    for (i, (d, (needle, field, message))) in errors.iter().zip(&expected).enumerate() {
        let resource = if i < 11 { r } else { "ExternalService ext/es2" };
        assert_diag(d, text, needle, resource, field, message);
    }
}

#[test]
fn virtual_gateway_errors() {
    let text = r#"apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: vg, namespace: gw}
spec:
  workloads:
  - selector: {labels: {app: a}, name: svc}
    kind: POD
  listeners:
  - http: {}
    tcp: {}
    port: {number: 80}
  - port: {}
    appProtocol: QUIC
  - tls: {mode: SIMPLE, secretName: s}
    httpsRedirect: true
    port: {number: 443, name: https}
  - port: {number: 8080}
    exposedExternalServices: [{selector: {name: x}}]
    routes: {}
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: empty, namespace: gw}
spec:
  listeners: []
"#;
    let errors = errors(text);
    let r = "VirtualGateway gw/vg";
    let expected: Vec<(&str, &str, &str, &str)> = vec![
        (
            "POD",
            r,
            "spec.workloads[0].kind",
            "unknown value `POD` for `kind`",
        ),
        (
            "{}\n    port: {number: 80}",
            r,
            "spec.listeners[0].tcp",
            "mutually exclusive",
        ),
        (
            "{}\n    appProtocol",
            r,
            "spec.listeners[1].port",
            "needs `number` or `name`",
        ),
        (
            "QUIC",
            r,
            "spec.listeners[1].appProtocol",
            "unknown value `QUIC` for `appProtocol`",
        ),
        (
            "true",
            r,
            "spec.listeners[2].httpsRedirect",
            "mutually exclusive",
        ),
        (
            "https}",
            r,
            "spec.listeners[2].port.name",
            "either `number` or `name`",
        ),
        (
            "{selector: {name: x}}",
            r,
            "spec.listeners[3].exposedExternalServices[0].host",
            "missing field `host`",
        ),
        ("routes", r, "spec.listeners[3].routes", "unknown field"),
        (
            "[]\n",
            "VirtualGateway gw/empty",
            "spec.listeners",
            "at least one listener",
        ),
    ];
    let got: Vec<(Option<&str>, &str)> = errors
        .iter()
        .map(|d| (d.field.as_deref(), d.message.as_str()))
        .collect();
    assert_eq!(errors.len(), expected.len(), "{got:#?}");
    for (d, (needle, resource, field, message)) in errors.iter().zip(&expected) {
        assert_diag(d, text, needle, resource, field, message);
    }
}

#[test]
fn virtual_gateway_defaults_and_warnings() {
    let text = "apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: vg, namespace: gw}\nspec:\n  workloads:\n  - selector: {labels: {app: one}}\n  - selector: {labels: {app: two}}\n  listeners:\n  - port: {name: http}\n    http: {}\n";
    let model = load(text);
    let gateway = &model.gateways[0];
    assert_eq!(gateway.namespace, "gw", "the document namespace");
    assert_eq!(gateway.labels, labels(&[("app", "one")]));
    assert!(gateway.ports.is_empty());
    // Every selector counts: one gateway entry per selector, same resource.
    assert_eq!(model.gateways.len(), 2);
    assert_eq!(model.gateways[1].id, gateway.id);
    assert_eq!(model.gateways[1].labels, labels(&[("app", "two")]));
    assert_eq!(model.warnings.len(), 1, "{:#?}", model.warnings);
    assert_diag(
        &model.warnings[0],
        text,
        "{name: http}",
        "VirtualGateway gw/vg",
        "spec.listeners[0].port",
        "by name",
    );
}

#[test]
fn access_policy_errors() {
    let text = policy_with(
        r#"    authz:
      allowedClients:
      - externalWorkloadSelector: {name: vm}
      - serviceAccountSelector: {name: "web-*", namespace: a}
      - serviceAccount: {name: x}
      allowedPaths: ["/{buzz}", /ok]
      allowedIpBlocks: [not-an-ip]
      match:
        request:
          headers:
            x-a: {}
      dryRun: "yes"
    enforcement: {}
"#,
    )
    .replace(
        "spec:\n  config:",
        "spec:\n  applyToDestinations:\n  - kind: EXTERNAL\n  config:",
    );
    let errors = errors(&text);
    let expected: Vec<(&str, &str, &str)> = vec![
        (
            "EXTERNAL\n",
            "spec.applyToDestinations[0].kind",
            "unknown value `EXTERNAL` for `kind`",
        ),
        (
            "{name: vm}",
            "spec.config.authz.allowedClients[0].externalWorkloadSelector",
            "not supported",
        ),
        (
            "\"web-*\"",
            "spec.config.authz.allowedClients[1].serviceAccountSelector.name",
            "wildcards",
        ),
        (
            "serviceAccount:",
            "spec.config.authz.allowedClients[2].serviceAccount",
            "unknown field",
        ),
        (
            "\"/{buzz}\"",
            "spec.config.authz.allowedPaths[0]",
            "outside of",
        ),
        (
            "not-an-ip",
            "spec.config.authz.allowedIpBlocks[0]",
            "not an IP address",
        ),
        (
            "{}\n      dryRun",
            "spec.config.authz.match.request.headers.x-a",
            "`values` or `notValues`",
        ),
        ("\"yes\"", "spec.config.authz.dryRun", "expected a boolean"),
        ("enforcement:", "spec.config.enforcement", "unknown field"),
    ];
    let got: Vec<(Option<&str>, &str)> = errors
        .iter()
        .map(|d| (d.field.as_deref(), d.message.as_str()))
        .collect();
    assert_eq!(errors.len(), expected.len(), "{got:#?}");
    for (d, (needle, field, message)) in errors.iter().zip(&expected) {
        assert_diag(d, &text, needle, AP, field, message);
    }
}

#[test]
fn unsupported_version_and_other_groups() {
    let text = "apiVersion: networking.gloo.solo.io/v1\nkind: ExternalService\nmetadata: {name: es, namespace: ext}\nspec: {}\n";
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_diag(
        &errors[0],
        text,
        "networking",
        "ExternalService ext/es",
        "apiVersion",
        "unsupported apiVersion `networking.gloo.solo.io/v1`",
    );

    // Kinds of other groups are not Gloo's.
    let model = load("apiVersion: example.com/v2\nkind: ExternalService\nmetadata: {name: x}\n");
    assert!(model.services.is_empty());
    assert!(
        model.warnings[0]
            .message
            .contains("skipped ExternalService (example.com/v2)"),
        "{}",
        model.warnings[0].message
    );
}

#[test]
fn a_load_reports_every_error() {
    let text = format!(
        "{}---\n{}",
        policy_with("    authz:\n      allowedPaths: [\"/a/{**}/{*}\"]\n"),
        "apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: es}\nspec:\n  hosts: [a.com]\n"
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(
        errors[0].field.as_deref(),
        Some("spec.config.authz.allowedPaths[0]")
    );
    assert_eq!(errors[1].field.as_deref(), Some("spec.ports"));
    assert_eq!(
        errors[1].resource.as_deref(),
        Some("ExternalService default/es")
    );
}

#[test]
fn loads_do_not_share_pending_state() {
    let first = load(SEED);
    assert_eq!(first.services.len(), 1);
    // The same policy alone: the external service of the previous load is not visible.
    let policy = &SEED[SEED.find("apiVersion: security.policy").unwrap()..];
    let second = load(policy);
    assert!(second.policies.is_empty());
    assert_eq!(second.warnings.len(), 1, "{:#?}", second.warnings);
    assert!(second.warnings[0]
        .message
        .contains("selects no loaded ExternalService"));
}
