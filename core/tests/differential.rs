//! Differential proof: the compiled matcher decides exactly like the reference evaluator
//! (allowed, status, reason, message, deciding policy and rule, dry-run, audit, route) on
//! random models and requests biased to hit the patterns they contain.
//!
//! The road test does the same on random YAML configurations (Sidecars, ServiceEntries with
//! `exportTo` and ports, mesh config, the egress gateway's Service, Gateways, VirtualServices,
//! DestinationRules, RequestAuthentications, Gateway-API gateways, waypoints, CUSTOM
//! policies) and requests with and without `workload`, comparing whole decisions, hops and
//! caveats included (`differential/road_gen.rs`).
//!
//! `cargo test -p egress-policy --test differential` runs 2 500 models × 48 requests
//! (120 000 comparisons) and 1 000 road configurations × 48 requests (48 000);
//! `cargo test --release -p egress-policy --test differential -- --ignored` runs the long
//! proof: 100 000 models × 64 requests (6.4 M) and 80 000 road configurations × 48 requests
//! (3.84 M), 10.24 M comparisons in all.

// Test helpers outside `#[test]` functions: a failed setup should stop the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

#[path = "differential/road_gen.rs"]
mod road_gen;
#[path = "differential/views.rs"]
mod views;
use views::view_decisions;

use egress_policy::model::*;
use egress_policy::request::{HeaderValue, Jwt, Protocol, RequestSource, Workload};
use egress_policy::{Engine, Location, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const HOSTS: &[&str] = &[
    "httpbin.org",
    "HTTPBIN.org",
    "httpbin.org:80",
    "api.example.com",
    "a.b.example.com",
    "example.com",
    "evilexample.com",
    "api.example.com:443",
    "www.google.com",
    "tcp.internal",
    "h",
    "hg.org",
];
const HOST_VALUES: &[&str] = &[
    "httpbin.org",
    "*.example.com",
    "*example.com",
    "example.*",
    "api.example.com:*",
    "*",
    "HTTPBIN.ORG",
    "www.google.com",
    // Prefix and suffix hosts of several lengths: the index keys every affix by the
    // shortest one of its kind.
    "h*",
    "httpbin.*",
    "*org",
    "*le.com",
    "a.b.*",
];
const NAMESPACES: &[&str] = &["ns1", "default", "bookinfo", "istio-egress", "other"];
const ACCOUNTS: &[&str] = &[
    "app",
    "bookinfo-productpage",
    "bookinfo-reviews",
    "bookinfo-details",
];
const TRUST_DOMAINS: &[&str] = &["cluster.local", "td1"];
const PATHS: &[&str] = &[
    "/",
    "/get",
    "/get?x=1",
    "/post",
    "/get/../post",
    "/public/%2E%2E/private",
    "/a/b/c",
    "/a/",
    "/a",
    "/store//cart",
    "/store/x/y/cart",
    "/foo/x/bar",
    "/Get",
    "//get",
    "/a%2Fb",
    "/x.json",
    "/a%00b",
];
const PATH_VALUES: &[&str] = &[
    "/get",
    "/post",
    "/a/*",
    "*.json",
    "*",
    "/private",
    "/store/{**}/cart",
    "/foo/{*}/bar",
    "/a/{**}",
];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PURGE", "get"];
const METHOD_VALUES: &[&str] = &["GET", "POST", "PU*", "*T", "*", "PURGE"];

fn pick(items: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(items).prop_map(str::to_string)
}

fn string_pattern(values: &'static [&'static str]) -> impl Strategy<Value = StringPattern> {
    pick(values).prop_map(|v| StringPattern::parse(&v))
}

fn field<P: std::fmt::Debug + Clone + 'static>(
    item: impl Strategy<Value = P> + 'static,
) -> BoxedStrategy<Field<P>> {
    let item = item.boxed();
    prop_oneof![
        4 => Just(Field::default()),
        3 => proptest::collection::vec(item.clone(), 1..3).prop_map(|values| Field { values, not_values: vec![] }),
        1 => proptest::collection::vec(item.clone(), 1..2).prop_map(|not_values| Field { values: vec![], not_values }),
        1 => (proptest::collection::vec(item.clone(), 1..2), proptest::collection::vec(item, 1..2))
            .prop_map(|(values, not_values)| Field { values, not_values }),
    ]
    .boxed()
}

fn uri() -> impl Strategy<Value = String> {
    (pick(TRUST_DOMAINS), pick(NAMESPACES), pick(ACCOUNTS))
        .prop_map(|(td, ns, sa)| format!("spiffe://{td}/ns/{ns}/sa/{sa}"))
}

fn principal_pattern() -> impl Strategy<Value = StringPattern> {
    prop_oneof![
        4 => uri().prop_map(StringPattern::Exact),
        1 => pick(NAMESPACES).prop_map(|ns| StringPattern::Prefix(format!("spiffe://cluster.local/ns/{ns}/"))),
        1 => pick(ACCOUNTS).prop_map(|sa| StringPattern::Suffix(format!("/sa/{sa}"))),
        1 => Just(StringPattern::Presence),
    ]
}

fn labels() -> impl Strategy<Value = Labels> {
    prop_oneof![
        Just(Labels::new()),
        Just(BTreeMap::from([(
            "account".to_string(),
            "productpage".to_string()
        )])),
        Just(BTreeMap::from([(
            "account".to_string(),
            "reviews".to_string()
        )])),
    ]
}

fn ip_block() -> impl Strategy<Value = IpBlock> {
    pick(&[
        "10.0.0.0/8",
        "10.0.0.5",
        "192.168.0.0/16",
        "0.0.0.0/0",
        "203.0.113.9/32",
    ])
    .prop_map(|t| IpBlock::parse(&t).unwrap())
}

fn source() -> impl Strategy<Value = Source> {
    (
        field(principal_pattern()),
        field(
            pick(&["ns1", "book*", "*", "istio-egress"]).prop_map(|glob| NamespacePattern { glob }),
        ),
        field(
            (pick(NAMESPACES), pick(ACCOUNTS))
                .prop_map(|(namespace, name)| ServiceAccountRef { namespace, name }),
        ),
        field(
            pick(&["cluster.local", "td*", "*local", "*"])
                .prop_map(|value| TrustDomainPattern { value }),
        ),
        field(string_pattern(&["iss/sub", "iss/*", "*/sub", "*"])),
        (field(ip_block()), field(ip_block())),
        (
            field(pick(&["w1", "w2"])),
            field(pick(&["w1/g1"])),
            field(labels().prop_filter("non-empty", |l| !l.is_empty())),
        ),
    )
        .prop_map(
            |(
                principals,
                namespaces,
                service_accounts,
                trust_domains,
                request_principals,
                (ip_blocks, remote_ip_blocks),
                (workspaces, groups, service_account_labels),
            )| Source {
                principals,
                namespaces,
                service_accounts,
                trust_domains,
                request_principals,
                ip_blocks,
                remote_ip_blocks,
                workspaces,
                groups,
                service_account_labels,
            },
        )
}

fn operation() -> impl Strategy<Value = Operation> {
    (
        field(pick(HOST_VALUES).prop_map(|h| HostPattern::parse(&h))),
        field(proptest::sample::select(vec![80u16, 443, 8080, 9000])),
        field(string_pattern(METHOD_VALUES)),
        field(pick(PATH_VALUES).prop_map(|p| PathPattern::parse(&p).unwrap())),
    )
        .prop_map(|(hosts, ports, methods, paths)| Operation {
            hosts,
            ports,
            methods,
            paths,
        })
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        (
            pick(&["x-team", "x-token"]),
            field(string_pattern(&["payments", "a,b", "*", "pay*"]))
        )
            .prop_map(|(name, field)| Condition::RequestHeader { name, field }),
        field(ip_block()).prop_map(Condition::SourceIp),
        field(ip_block()).prop_map(Condition::RemoteIp),
        field(pick(&["ns1", "book*"]).prop_map(|glob| NamespacePattern { glob }))
            .prop_map(Condition::SourceNamespace),
        field(principal_pattern()).prop_map(Condition::SourcePrincipal),
        field(
            (pick(NAMESPACES), pick(ACCOUNTS))
                .prop_map(|(namespace, name)| ServiceAccountRef { namespace, name })
        )
        .prop_map(Condition::SourceServiceAccount),
        field(string_pattern(&["iss/sub", "*"])).prop_map(Condition::RequestAuthPrincipal),
        field(string_pattern(&["aud1", "aud*"])).prop_map(Condition::RequestAuthAudiences),
        field(string_pattern(&["a", "admin"])).prop_map(|field| Condition::RequestAuthClaim {
            path: vec!["groups".into()],
            field
        }),
        field(proptest::sample::select(vec![80u16, 443, 9000]))
            .prop_map(Condition::DestinationPort),
        field(string_pattern(&["httpbin.org", "*.example.com"])).prop_map(Condition::ConnectionSni),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        proptest::option::of(proptest::collection::vec(source(), 1..3)),
        proptest::option::of(proptest::collection::vec(operation(), 1..3)),
        proptest::collection::vec(condition(), 0..2),
    )
        .prop_map(|(from, to, when)| Rule {
            from,
            to,
            when,
            location: None,
            ..Rule::default()
        })
}

fn loc() -> Location {
    Location::start_of("gen.yaml")
}

fn gateways() -> Vec<Gateway> {
    let gw = |kind, id: ResourceRef, labels: &[(&str, &str)], tls: bool| Gateway {
        namespace: id.namespace.clone(),
        id,
        kind,
        location: loc(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ports: vec![80],
        workspace: tls.then(|| "w1".to_string()),
        group: tls.then(|| "w1/g1".to_string()),
        originates_tls: tls,
        servers: Vec::new(),
    };
    vec![
        gw(
            GatewayKind::Waypoint,
            ResourceRef::new("Gateway", "istio-egress", "egress-waypoint"),
            &[("gateway.networking.k8s.io/gateway-name", "egress-waypoint")],
            false,
        ),
        gw(
            GatewayKind::IstioGateway,
            ResourceRef::new("Gateway", "istio-egress", "classic"),
            &[("app", "istio-egressgateway")],
            false,
        ),
        gw(
            GatewayKind::TsbEgressGateway,
            ResourceRef::new("EgressGateway", "tsb-egress", "my-egress"),
            &[("app", "tsb-egress")],
            true,
        ),
        gw(
            GatewayKind::GlooVirtualGateway,
            ResourceRef::new("VirtualGateway", "istio-egress", "egress-vg"),
            &[("app", "gloo-egress")],
            false,
        ),
    ]
}

fn service(
    kind: &str,
    name: &str,
    hosts: &[&str],
    gateway: Option<ResourceRef>,
    vendor: Vendor,
) -> ExternalService {
    ExternalService {
        id: ResourceRef::new(kind, "istio-egress", name),
        vendor,
        location: loc(),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        ports: vec![ServicePort {
            number: 80,
            protocol: "HTTP".into(),
            name: "http".into(),
            target_port: Some(443),
        }],
        resolution: Resolution::Dns,
        export_to: vec![],
        gateway,
        gateway_port: (vendor == Vendor::Gloo).then_some(8080),
        tls: (vendor == Vendor::Gloo).then(|| TlsOrigination {
            mode: TlsMode::Simple,
            sni: None,
            origin: ResourceRef::new(kind, "istio-egress", name),
        }),
        addresses: vec![],
        auto_allocated: vendor == Vendor::Istio,
    }
}

fn services() -> Vec<ExternalService> {
    vec![
        service(
            "ServiceEntry",
            "httpbin",
            &["httpbin.org"],
            Some(ResourceRef::new(
                "Gateway",
                "istio-egress",
                "egress-waypoint",
            )),
            Vendor::Istio,
        ),
        service(
            "ServiceEntry",
            "example",
            &["*.example.com"],
            Some(ResourceRef::new("Gateway", "istio-egress", "classic")),
            Vendor::Istio,
        ),
        service(
            "ExternalService",
            "gloo-example",
            &["example.com", "*example.com"],
            Some(ResourceRef::new(
                "VirtualGateway",
                "istio-egress",
                "egress-vg",
            )),
            Vendor::Gloo,
        ),
        service(
            "ServiceEntry",
            "unloaded",
            &["tcp.internal"],
            Some(ResourceRef::new(
                "Gateway",
                "istio-egress",
                "missing-waypoint",
            )),
            Vendor::Istio,
        ),
    ]
}

fn scope() -> impl Strategy<Value = (String, Scope)> {
    let target = |kind: TargetKind, name: &str| TargetRef {
        group: String::new(),
        kind,
        name: name.into(),
        namespace: "istio-egress".into(),
    };
    prop_oneof![
        (
            pick(&["istio-egress", "istio-system", "other"]),
            prop_oneof![
                Just(Labels::new()),
                Just(BTreeMap::from([(
                    "app".to_string(),
                    "istio-egressgateway".to_string()
                )])),
                Just(BTreeMap::from([(
                    "app".to_string(),
                    "gloo-egress".to_string()
                )])),
            ]
        )
            .prop_map(|(ns, match_labels)| {
                (
                    ns,
                    Scope::Selector {
                        match_labels: match_labels.into(),
                    },
                )
            }),
        Just((
            "istio-egress".to_string(),
            Scope::TargetRefs {
                targets: vec![target(TargetKind::Gateway, "egress-waypoint")]
            }
        )),
        Just((
            "istio-egress".to_string(),
            Scope::TargetRefs {
                targets: vec![
                    target(TargetKind::Gateway, "missing-waypoint"),
                    target(TargetKind::ServiceEntry, "httpbin")
                ]
            }
        )),
        Just((
            "istio-system".to_string(),
            Scope::TargetRefs {
                targets: vec![TargetRef {
                    group: String::new(),
                    kind: TargetKind::GatewayClass,
                    name: "istio-waypoint".into(),
                    namespace: "istio-system".into()
                }]
            }
        )),
        Just((
            "tsb-egress".to_string(),
            Scope::Gateway {
                gateway: ResourceRef::new("EgressGateway", "tsb-egress", "my-egress")
            }
        )),
        Just((
            "istio-egress".to_string(),
            Scope::Services { services: vec![] }
        )),
        Just((
            "istio-egress".to_string(),
            Scope::Services {
                services: vec![ResourceRef::new(
                    "ExternalService",
                    "istio-egress",
                    "gloo-example"
                )]
            }
        )),
    ]
}

fn policy() -> impl Strategy<Value = (Action, bool, (String, Scope), Vec<Rule>, Vendor)> {
    (
        prop_oneof![
            6 => Just(Action::Allow),
            3 => Just(Action::Deny),
            1 => Just(Action::Audit),
            1 => pick(&["p1", "p2"]).prop_map(Action::Custom),
        ],
        proptest::bool::weighted(0.15),
        scope(),
        prop_oneof![1 => Just(vec![]), 6 => proptest::collection::vec(rule(), 1..4)],
        prop_oneof![Just(Vendor::Istio), Just(Vendor::Tsb), Just(Vendor::Gloo)],
    )
}

fn model() -> impl Strategy<Value = Model> {
    (
        proptest::collection::vec(policy(), 0..7),
        proptest::bool::weighted(0.3),
        prop_oneof![
            Just(PathNormalization::Base),
            Just(PathNormalization::MergeSlashes),
            Just(PathNormalization::None),
            Just(PathNormalization::DecodeAndMergeSlashes)
        ],
        proptest::bool::ANY,
        proptest::bool::ANY,
    )
        .prop_map(
            |(policies, registry_only, path_normalization, with_routes, with_headers)| {
                let mut model = Model::default();
                model.mesh.outbound = if registry_only {
                    OutboundMode::RegistryOnly
                } else {
                    OutboundMode::AllowAny
                };
                model.mesh.path_normalization = path_normalization;
                model.gateways = gateways();
                model.services = services();
                model.workspaces = vec![NamespaceSet {
                    id: ResourceRef::new("Workspace", "tetrate", "w1"),
                    name: "w1".into(),
                    namespaces: vec![
                        NamespaceSelector {
                            cluster: "*".into(),
                            namespace: "ns1".into(),
                        },
                        NamespaceSelector {
                            cluster: "*".into(),
                            namespace: "default".into(),
                        },
                    ],
                }];
                model.groups = vec![NamespaceSet {
                    id: ResourceRef::new("Group", "w1", "g1"),
                    name: "w1/g1".into(),
                    namespaces: vec![NamespaceSelector {
                        cluster: "c1".into(),
                        namespace: "ns1".into(),
                    }],
                }];
                model.service_accounts = vec![ServiceAccountInfo {
                    namespace: "bookinfo".into(),
                    name: "bookinfo-productpage".into(),
                    labels: BTreeMap::from([("account".to_string(), "productpage".to_string())]),
                }];
                if with_routes {
                    model.egress_routes = vec![EgressRoute {
                        origin: ResourceRef::new("TrafficSetting", "w1", "ts"),
                        sources: vec![
                            NamespaceSelector {
                                cluster: "*".into(),
                                namespace: "ns1".into(),
                            },
                            NamespaceSelector {
                                cluster: "*".into(),
                                namespace: "default".into(),
                            },
                        ],
                        host: "tsb-egress/tsb-egress".into(),
                        gateway: Some(ResourceRef::new("EgressGateway", "tsb-egress", "my-egress")),
                        caveats: Vec::new(),
                    }];
                }
                if with_headers {
                    model.tls_settings = vec![TlsSetting {
                        origin: ResourceRef::new("DestinationRule", "istio-egress", "httpbin"),
                        host: "HTTPBIN.org".into(),
                        mode: Some(TlsMode::Simple),
                        sni: None,
                        ports: vec![(8443, TlsMode::Disable, None)],
                        workload_selector: None,
                        export_to: Default::default(),
                        location: None,
                    }];
                    let mut headers = HeaderMutations::default();
                    headers
                        .add
                        .insert("my-added-header".into(), "added-value".into());
                    model.virtual_services = vec![VirtualService {
                        id: ResourceRef::new("VirtualService", "istio-egress", "httpbin"),
                        hosts: vec!["httpbin.org".into()],
                        gateways: vec![],
                        http: vec![HttpRoute {
                            matches: vec![RouteMatch {
                                uri: Some(UriMatch::Prefix("/get".into())),
                                ..RouteMatch::default()
                            }],
                            headers,
                            destination_host: None,
                            destination_port: None,
                            answer: None,
                        }],
                        l4: Vec::new(),
                        export_to: Default::default(),
                        location: None,
                    }];
                }
                for (i, (action, dry_run, (namespace, scope), rules, vendor)) in
                    policies.into_iter().enumerate()
                {
                    let rules = if rules.is_empty() && action != Action::Allow {
                        vec![Rule::default()]
                    } else {
                        rules
                    };
                    model.policies.push(Policy {
                        id: ResourceRef::new("AuthorizationPolicy", &namespace, &format!("p{i}")),
                        vendor,
                        location: loc(),
                        action,
                        scope,
                        dry_run,
                        rules,
                    });
                }
                model
            },
        )
}

fn request() -> impl Strategy<Value = Request> {
    let workload = prop_oneof![
        4 => Just(None),
        1 => Just(Some(Workload { namespace: "istio-egress".into(), labels: BTreeMap::from([("app".into(), "istio-egressgateway".into())]) })),
        1 => Just(Some(Workload { namespace: "istio-egress".into(), labels: BTreeMap::from([("gateway.networking.k8s.io/gateway-name".into(), "egress-waypoint".into())]) })),
        1 => Just(Some(Workload { namespace: "tsb-egress".into(), labels: BTreeMap::from([("app".into(), "tsb-egress".into()), ("v".into(), "1".into())]) })),
        1 => Just(Some(Workload { namespace: "istio-egress".into(), labels: BTreeMap::from([("app".into(), "gloo-egress".into())]) })),
    ];
    (
        (
            proptest::option::of(prop_oneof![uri(), uri().prop_map(|u| u.trim_start_matches("spiffe://").to_string())]),
            proptest::option::of(pick(&["10.0.0.5", "192.168.1.1", "203.0.113.9"])),
            proptest::option::of(pick(&["203.0.113.9", "8.8.8.8"])),
            labels(),
            proptest::option::of(pick(&["c1", "c2"])),
        ),
        workload,
        prop_oneof![8 => Just(Protocol::Http), 1 => Just(Protocol::Tcp), 1 => Just(Protocol::Tls)],
        (proptest::option::of(pick(HOSTS)), proptest::option::of(proptest::sample::select(vec![80u16, 443, 8080, 9000]))),
        (proptest::option::of(pick(METHODS)), proptest::option::of(pick(PATHS)), prop_oneof![4 => Just(None), 1 => pick(&["http", "https", "HTTP"]).prop_map(Some)]),
        (
            proptest::collection::btree_map(pick(&["x-team", "X-Token"]), prop_oneof![pick(&["payments", "", "a"]).prop_map(HeaderValue::One), Just(HeaderValue::Many(vec!["a".into(), "b".into()]))], 0..2),
            proptest::option::of(pick(&["httpbin.org", "api.example.com", "API.example.com"])),
            proptest::option::of((pick(&["iss/sub", "other/sub"]), proptest::bool::ANY)),
            proptest::collection::btree_map(pick(&["p1", "p2"]), proptest::bool::ANY, 0..2),
        ),
    )
        .prop_map(|((principal, ip, remote_ip, labels, cluster), workload, protocol, (host, port), (method, path, scheme), (headers, sni, jwt, custom))| {
            let http = protocol == Protocol::Http;
            let host = if http { Some(host.unwrap_or_else(|| "httpbin.org".into())) } else { host };
            let path = if http { path } else { None };
            // Some requests name their destination by `url` instead of `host` and `path`.
            let (url, host, path) = match (scheme, &host) {
                (Some(scheme), Some(h)) => (Some(format!("{scheme}://{h}{}", path.as_deref().unwrap_or(""))), None, None),
                _ => (None, host, path),
            };
            Request {
                source: RequestSource { principal, ip, remote_ip, labels, cluster, ..RequestSource::default() },
                workload,
                protocol: Some(protocol),
                url,
                host,
                port,
                method: if http { method } else { None },
                path,
                headers,
                sni,
                jwt: jwt.map(|(principal, groups)| Jwt {
                    principal: Some(principal),
                    audiences: vec!["aud1".into()],
                    presenter: None,
                    claims: serde_json::json!({"groups": if groups { serde_json::json!(["a", "b"]) } else { serde_json::json!("admin") }})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                }),
                custom,
                destination_ip: None,
            }
        })
}

fn run(models: u32, requests_per_model: usize) {
    let reasons = std::sync::Mutex::new(BTreeMap::<String, usize>::new());
    let mut runner = TestRunner::new(Config {
        cases: models,
        failure_persistence: None,
        // The model strategy filters some draws; proptest's default reject budgets are for
        // a few hundred cases, and the 100 000-model run aborted on them ("Too many local
        // rejects") without any disagreement. Rejects only cost time.
        max_local_rejects: models.saturating_mul(64),
        max_global_rejects: models.saturating_mul(64),
        ..Config::default()
    });
    let strategy = (
        model(),
        proptest::collection::vec(request(), requests_per_model),
    );
    runner
        .run(&strategy, |(model, requests)| {
            // A compiled-policy bundle reads back as the same model (tests/bundle.rs
            // compares the decisions of bundle engines).
            let bundle = model.to_bundle_json().unwrap();
            let back = Model::from_bundle_json("model.bundle.json", &bundle).unwrap();
            prop_assert_eq!(&back, &model);
            prop_assert_eq!(back.to_bundle_json().unwrap(), bundle);
            let on_connections = Engine::from_model(model.clone());
            let engine = Engine::from_model(model);
            for request in &requests {
                let compiled = engine.decide(request);
                let reference = engine.decide_reference(request);
                prop_assert_eq!(
                    &compiled,
                    &reference,
                    "request: {}",
                    serde_json::to_string(request).unwrap()
                );
                for other in view_decisions(&engine, &on_connections, request) {
                    prop_assert_eq!(
                        &other,
                        &reference,
                        "view, request: {}",
                        serde_json::to_string(request).unwrap()
                    );
                }
                if let Ok(mut counts) = reasons.lock() {
                    let key = format!(
                        "{}{}",
                        reference.reason,
                        if reference.route.as_ref().is_some_and(|r| r.tls.is_some()) {
                            "+tls"
                        } else {
                            ""
                        }
                    );
                    *counts.entry(key).or_default() += 1;
                }
            }
            Ok(())
        })
        .unwrap();
    // The generator must reach every outcome, or agreement would prove little.
    let counts = reasons.into_inner().unwrap();
    eprintln!("outcomes: {counts:?}");
    for reason in [
        "allowed_by_policy",
        "no_allow_policies",
        "passthrough",
        "denied_by_policy",
        "no_allow_match",
        "allow_nothing",
        "gateway_denies_all",
        "denied_by_custom",
        "not_in_registry",
        "malformed_request",
    ] {
        let seen = counts
            .iter()
            .filter(|(k, _)| k.starts_with(reason))
            .map(|(_, n)| n)
            .sum::<usize>();
        assert!(
            seen * 1000 >= (models as usize * requests_per_model).min(100_000),
            "{reason} seen only {seen} times"
        );
    }
}

#[test]
fn compiled_matches_reference_on_120k_requests() {
    run(2_500, 48);
}

#[test]
fn compiled_matches_reference_on_the_road() {
    road_gen::run_road(1_000, 48);
}

#[test]
#[ignore = "long run: cargo test --release -p egress-policy --test differential -- --ignored"]
fn differential_millions() {
    run(100_000, 64);
}

#[test]
#[ignore = "long run: cargo test --release -p egress-policy --test differential -- --ignored"]
fn differential_road_millions() {
    road_gen::run_road(80_000, 48);
}

/// Found by the `import` fuzz target: a request naming a workload where no gateway runs,
/// for a host whose registry entry carries a service-scoped policy (a Gloo AccessPolicy on
/// the ExternalService). The policy attaches there, so the compiled engine must not add
/// `workload_matches_no_proxy` (its point cache leaves service-scoped policies out).
#[test]
fn service_scoped_policy_at_a_named_workload_is_not_a_proxy_without_policies() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut loader = egress_policy::Loader::new();
    for file in ["external-service.yaml", "access-policy.yaml"] {
        let path = root.join("examples/policies/gloo-guide-httpbin").join(file);
        loader.add_str(file, &std::fs::read_to_string(path).unwrap());
    }
    let engine = Engine::from_model(loader.load().unwrap());
    for host in ["httpbin.org", "httpbin.org:443", "example.com"] {
        let request: Request = serde_json::from_value(serde_json::json!({
            "workload": {"namespace": "istio-egress", "labels": {"app": "egress"}},
            "host": host, "method": "DELETE", "path": "/x?y=1"
        }))
        .unwrap();
        let compiled = engine.decide(&request);
        assert_eq!(compiled, engine.decide_reference(&request), "{host}");
        assert_eq!(compiled, engine.explain(&request).decision, "{host}");
    }
}

/// Found by the `import` fuzz target: two files define the same TSB EgressGateway (the
/// second one cut short: an empty selector label and no authorization). Both were loaded,
/// and the compiled engine and the reference evaluator picked different ones (a silent
/// ALLOW, `no_allow_policies`, where the reference denied with `no_allow_match`). A second
/// definition of an object is now refused with both places; each file alone decides alike
/// on both evaluators.
#[test]
fn a_gateway_defined_twice_is_refused_and_each_definition_decides_like_the_reference() {
    let first = r#"apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata:
  name: my-egress
  organization: myorg
  tenant: mycompany
  workspace: w1
  group: g1
spec:
  workloadSelector:
    namespace: tsb-egress
    labels:
      app: tsb-egress
  authorization:
  - from:
      mode: WORKSPACE
    to: ["www.httpbin.org"]
  - from:
      mode: CUSTOM
      serviceAccounts: ["default/bookinfo-details"]
    to: ["*"]
"#;
    let second = r#"apiVersion: gateway.tsb.tetrate.io/v2
kind: EgressGateway
metadata:
  name: my-egress
  organization: myorg
  tenant: mycompany
  workspace: w1
  group: g1
spec:
  workloadSelector:
    namespace: tsb-egress
    labels:
      app: 
"#;
    for files in [
        [("a.yaml", first), ("b.yaml", second)],
        [("a.yaml", second), ("b.yaml", first)],
    ] {
        let error = Engine::from_files(files).unwrap_err().to_string();
        assert!(error.contains("b.yaml:1:1"), "{error}");
        assert!(
            error.contains("is defined twice (first at a.yaml:1:1)"),
            "{error}"
        );
    }
    for file in [first, second] {
        let engine = Engine::from_yaml("a.yaml", file).unwrap();
        for (principal, host) in [
            ("(solo-io/gloo-/sa/-use-cases", "host."),
            (
                "cluster.local/ns/default/sa/bookinfo-details",
                "httpbin.org",
            ),
            ("cluster.local/ns/a/sa/b", "www.httpbin.org"),
        ] {
            let request: Request = serde_json::from_value(serde_json::json!({
                "source": {"principal": principal},
                "workload": {"namespace": "tsb-egress", "labels": {"app": "tsb-egress", "x": "y"}},
                "host": host, "method": "CUSTOM"
            }))
            .unwrap();
            let compiled = engine.decide(&request);
            assert_eq!(compiled, engine.decide_reference(&request), "{host}");
            assert_eq!(compiled, engine.explain(&request).decision, "{host}");
        }
    }
}
