//! Random configurations for the road (SEMANTICS.md §9), written as the YAML an operator
//! writes: mesh config, Sidecars, ServiceEntries with `exportTo` and ports, the
//! `istio-egressgateway` Service, networking.istio.io Gateways and VirtualServices,
//! DestinationRules, RequestAuthentications, a Gateway-API egress gateway with HTTPRoutes,
//! a waypoint, and AuthorizationPolicies (ALLOW, DENY, AUDIT, CUSTOM) with `ports`
//! conditions. Requests come with and without `workload`. Documents are rendered from
//! proptest choices, so a failing case shrinks to a small YAML file and a request JSON.

use std::collections::BTreeMap;

use egress_policy::decision::{HopStep, Reason};
use egress_policy::{Engine, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

/// Every document is a `---`-separated YAML string; empty strings stand for absent ones.
pub type Docs = Vec<String>;

const GW_HOST: &str = "istio-egressgateway.istio-system.svc.cluster.local";
const EXTERNAL_HOSTS: &[&str] = &["edition.cnn.com", "httpbin.org", "*.example.com"];
const NAMESPACES: &[&str] = &["default", "app", "istio-system", "istio-egress", "other"];

fn pick(items: &'static [&'static str]) -> BoxedStrategy<&'static str> {
    proptest::sample::select(items).boxed()
}

/// A YAML flow list of the chosen items (`[a, "b"]`), quoting each.
fn flow(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn subset(items: &'static [&'static str], max: usize) -> BoxedStrategy<Vec<&'static str>> {
    proptest::sample::subsequence(items, 1..=max).boxed()
}

fn mesh() -> BoxedStrategy<String> {
    (
        proptest::option::of(pick(&["ALLOW_ANY", "REGISTRY_ONLY"])),
        proptest::bool::weighted(0.2),
        proptest::option::of(pick(&[".", "*", "~"])),
        proptest::option::of(pick(&[".", "*"])),
        proptest::option::of(pick(&[".", "*"])),
        proptest::option::of(proptest::bool::ANY),
    )
        .prop_map(|(mode, proxy, svc, vs, dr, providers)| {
            let mut mesh = String::new();
            if mode.is_some() || proxy {
                mesh.push_str("    outboundTrafficPolicy:\n");
                if let Some(mode) = mode {
                    mesh.push_str(&format!("      mode: {mode}\n"));
                }
                if proxy {
                    mesh.push_str(&format!(
                        "      egressProxy: {{host: {GW_HOST}, port: {{number: 80}}}}\n"
                    ));
                }
            }
            for (key, value) in [
                ("defaultServiceExportTo", svc),
                ("defaultVirtualServiceExportTo", vs),
                ("defaultDestinationRuleExportTo", dr),
            ] {
                if let Some(value) = value {
                    mesh.push_str(&format!("    {key}: [\"{value}\"]\n"));
                }
            }
            match providers {
                Some(true) => mesh.push_str("    extensionProviders:\n    - name: my-authz\n      envoyExtAuthzHttp: {service: authz.foo.svc.cluster.local, port: 8000}\n"),
                Some(false) => mesh.push_str("    extensionProviders: []\n"),
                None => {}
            }
            if mesh.is_empty() {
                mesh.push_str("    {}\n");
            }
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\ndata:\n  mesh: |\n{mesh}")
        })
        .boxed()
}

fn sidecar(index: usize) -> BoxedStrategy<String> {
    (
        pick(&["default", "app", "istio-system"]),
        proptest::bool::weighted(0.3),
        proptest::option::of(pick(&["ALLOW_ANY", "REGISTRY_ONLY"])),
        proptest::bool::weighted(0.25),
        proptest::option::of(subset(
            &[
                "./*",
                "*/*",
                "istio-system/*",
                "default/edition.cnn.com",
                "*/httpbin.org",
                "~/*",
                "app/*.example.com",
            ],
            2,
        )),
    )
        .prop_map(move |(ns, selected, mode, proxy, hosts)| {
            let mut spec = String::new();
            if selected {
                spec.push_str("  workloadSelector: {labels: {app: sleep}}\n");
            }
            if let Some(hosts) = hosts {
                spec.push_str(&format!("  egress: [{{hosts: {}}}]\n", flow(&hosts)));
            }
            if mode.is_some() || proxy {
                spec.push_str("  outboundTrafficPolicy:\n");
                if let Some(mode) = mode {
                    spec.push_str(&format!("    mode: {mode}\n"));
                }
                if proxy {
                    spec.push_str(&format!(
                        "    egressProxy: {{host: {GW_HOST}, port: {{number: 80}}}}\n"
                    ));
                }
            }
            if spec.is_empty() {
                spec.push_str("  egress: [{hosts: [\"*/*\"]}]\n");
            }
            format!("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: sc{index}, namespace: {ns}}}\nspec:\n{spec}")
        })
        .boxed()
}

fn service_entry(index: usize) -> BoxedStrategy<String> {
    (
        subset(EXTERNAL_HOSTS, 2),
        pick(&["default", "istio-egress", "app", "istio-system"]),
        proptest::option::of(pick(&[".", "*", "app", "~", "default"])),
        subset(&["80:HTTP", "443:TLS", "8080:HTTP", "443:HTTPS"], 2),
        proptest::option::of(pick(&["same", "cross"])),
        proptest::bool::weighted(0.3),
    )
        .prop_map(move |(hosts, ns, export, ports, waypoint, declared)| {
            let mut ports: Vec<(&str, &str)> =
                ports.iter().filter_map(|p| p.split_once(':')).collect();
            ports.dedup_by_key(|p| p.0);
            let ports: Vec<String> = ports
                .iter()
                .enumerate()
                .map(|(i, (n, p))| format!("{{number: {n}, name: p{i}, protocol: {p}}}"))
                .collect();
            let labels = match waypoint {
                Some("same") => "\n  labels: {istio.io/use-waypoint: egress-waypoint}",
                Some(_) => "\n  labels: {istio.io/use-waypoint: egress-waypoint, istio.io/use-waypoint-namespace: istio-egress}",
                None => "",
            };
            let export = export
                .map(|e| format!("  exportTo: [\"{e}\"]\n"))
                .unwrap_or_default();
            let resolution = if hosts.iter().any(|h| h.starts_with('*')) { "NONE" } else { "DNS" };
            let addresses = if declared { "  addresses: [192.0.2.0/24]\n" } else { "" };
            format!("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: se{index}\n  namespace: {ns}{labels}\nspec:\n  hosts: {}\n{export}{addresses}  ports: [{}]\n  resolution: {resolution}\n", flow(&hosts), ports.join(", "))
        })
        .boxed()
}

/// The `istio-egressgateway` Service: port 80 maps to 8080 or 80; port 443 is declared or
/// not (a route to an undeclared port is an assumption).
fn gateway_service() -> BoxedStrategy<String> {
    (pick(&["8080", "80"]), proptest::bool::weighted(0.5))
        .prop_map(|(target, https)| {
            let https = if https { "  - {name: https, port: 443, targetPort: 8443}\n" } else { "" };
            format!("apiVersion: v1\nkind: Service\nmetadata: {{name: istio-egressgateway, namespace: istio-system}}\nspec:\n  selector: {{app: istio-egressgateway, istio: egressgateway}}\n  ports:\n  - {{name: http2, port: 80, targetPort: {target}}}\n{https}")
        })
        .boxed()
}

/// A Gloo ExternalService routed through a VirtualGateway that is not loaded.
fn gloo_service() -> BoxedStrategy<String> {
    Just("apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata: {name: api, namespace: app}\nspec:\n  hosts: [api.example.com]\n  ports:\n  - name: http\n    number: 80\n    protocol: HTTP\n    egressGatewayRoutes:\n      portMatch: 80\n      virtualGatewayRefs: [{name: egress-vg, namespace: istio-egress}]\n".to_string()).boxed()
}

fn istio_gateway() -> BoxedStrategy<String> {
    (
        pick(&["istio-system", "default"]),
        proptest::collection::vec(
            (
                pick(&["80", "443", "81"]),
                subset(
                    &[
                        "edition.cnn.com",
                        "*",
                        "default/edition.cnn.com",
                        "./httpbin.org",
                        "other/*",
                        "*.example.com",
                    ],
                    2,
                ),
            ),
            1..3,
        ),
    )
        .prop_map(|(ns, servers)| {
            let servers: Vec<String> = servers
                .iter()
                .enumerate()
                .map(|(i, (port, hosts))| {
                    let proto = if *port == "443" { "TLS" } else { "HTTP" };
                    let tls = if *port == "443" { ", tls: {mode: PASSTHROUGH}" } else { "" };
                    format!("  - {{port: {{number: {port}, name: s{i}, protocol: {proto}}}, hosts: {}{tls}}}\n", flow(hosts))
                })
                .collect();
            format!("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: istio-egressgateway, namespace: {ns}}}\nspec:\n  selector: {{istio: egressgateway}}\n  servers:\n{}", servers.concat())
        })
        .boxed()
}

/// One `http` route of a VirtualService: match (gateways, port, uri) and what it does.
fn http_route() -> BoxedStrategy<String> {
    (
        proptest::option::of(pick(&["mesh", "gw"])),
        proptest::option::of(pick(&["80", "443", "8080"])),
        proptest::option::of(pick(&["/get", "/politics"])),
        prop_oneof![
            3 => Just("gateway"),
            3 => Just("external"),
            2 => Just("gateway443"),
            2 => Just("direct"),
            1 => Just("abort"),
            1 => Just("abort50"),
        ],
    )
        .prop_map(|(gateways, port, uri, action)| {
            let mut fields = Vec::new();
            if let Some(g) = gateways {
                let g = if g == "gw" { "istio-system/istio-egressgateway" } else { g };
                fields.push(format!("gateways: [{g}]"));
            }
            if let Some(port) = port {
                fields.push(format!("port: {port}"));
            }
            if let Some(uri) = uri {
                fields.push(format!("uri: {{prefix: {uri}}}"));
            }
            let matches = if fields.is_empty() {
                String::new()
            } else {
                format!("  - match: [{{{}}}]\n", fields.join(", "))
            };
            let lead = if matches.is_empty() { "  - " } else { "    " };
            let body = match action {
                "gateway" => format!("route: [{{destination: {{host: {GW_HOST}, port: {{number: 80}}}}}}]"),
                "gateway443" => format!("route: [{{destination: {{host: {GW_HOST}, port: {{number: 443}}}}}}]"),
                "external" => "route: [{destination: {host: edition.cnn.com, port: {number: 80}}}]".to_string(),
                "direct" => "directResponse: {status: 418}".to_string(),
                "abort" => "fault: {abort: {httpStatus: 451, percentage: {value: 100}}}\n    route: [{destination: {host: edition.cnn.com}}]".to_string(),
                _ => "fault: {abort: {httpStatus: 451, percentage: {value: 50}}}\n    route: [{destination: {host: edition.cnn.com}}]".to_string(),
            };
            format!("{matches}{lead}{body}\n")
        })
        .boxed()
}

fn virtual_service(index: usize) -> BoxedStrategy<String> {
    (
        pick(&["default", "app", "istio-system"]),
        subset(&["edition.cnn.com", "httpbin.org", "api.example.com"], 2),
        proptest::option::of(pick(&["mesh", "gw", "both"])),
        proptest::option::of(pick(&[".", "*", "app"])),
        proptest::collection::vec(http_route(), 1..3),
    )
        .prop_map(move |(ns, hosts, gateways, export, routes)| {
            let gateways = match gateways {
                Some("mesh") => "  gateways: [mesh]\n",
                Some("gw") => "  gateways: [istio-system/istio-egressgateway]\n",
                Some(_) => "  gateways: [mesh, istio-system/istio-egressgateway]\n",
                None => "",
            };
            let export = export
                .map(|e| format!("  exportTo: [\"{e}\"]\n"))
                .unwrap_or_default();
            format!("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs{index}, namespace: {ns}}}\nspec:\n  hosts: {}\n{gateways}{export}  http:\n{}", flow(&hosts), routes.concat())
        })
        .boxed()
}

fn destination_rule(index: usize) -> BoxedStrategy<String> {
    (
        pick(&["edition.cnn.com", "httpbin.org", "*.example.com"]),
        pick(&["istio-system", "default", "app"]),
        proptest::option::of(pick(&["istio: egressgateway", "app: sleep", "app: other"])),
        proptest::option::of(pick(&[".", "*", "istio-system"])),
        pick(&["SIMPLE", "DISABLE", "MUTUAL"]),
    )
        .prop_map(move |(host, ns, selector, export, mode)| {
            let selector = selector
                .map(|s| format!("  workloadSelector: {{matchLabels: {{{s}}}}}\n"))
                .unwrap_or_default();
            let export = export
                .map(|e| format!("  exportTo: [\"{e}\"]\n"))
                .unwrap_or_default();
            let tls = if mode == "MUTUAL" {
                "{mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}".to_string()
            } else {
                format!("{{mode: {mode}}}")
            };
            format!("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: dr{index}, namespace: {ns}}}\nspec:\n  host: \"{host}\"\n{selector}{export}  trafficPolicy: {{tls: {tls}}}\n")
        })
        .boxed()
}

fn request_authn() -> BoxedStrategy<String> {
    (
        pick(&["istio-system", "default", "istio-egress"]),
        proptest::option::of(pick(&["istio: egressgateway", "app: sleep", "targetRefs"])),
        pick(&["issuer1", "issuer2"]),
    )
        .prop_map(|(ns, selector, issuer)| {
            let (ns, selector) = match selector {
                Some("targetRefs") => ("default", "  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: cnn-egress-gateway}]\n".to_string()),
                Some(s) => (ns, format!("  selector: {{matchLabels: {{{s}}}}}\n")),
                None => (ns, String::new()),
            };
            format!("apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {{name: jwt, namespace: {ns}}}\nspec:\n{selector}  jwtRules: [{{issuer: {issuer}}}]\n")
        })
        .boxed()
}

fn gateway_api() -> BoxedStrategy<String> {
    (
        proptest::option::of(pick(&["edition.cnn.com", "httpbin.org"])),
        pick(&["80", "81"]),
        pick(&["Same", "All"]),
        proptest::bool::ANY,
    )
        .prop_map(|(hostname, port, from, direct)| {
            let hostname = hostname.map(|h| format!("    hostname: {h}\n")).unwrap_or_default();
            let forward = if direct {
                "  - filters: []\n    backendRefs: [{kind: Hostname, group: networking.istio.io, name: edition.cnn.com, port: 80}]\n    matches: [{path: {type: PathPrefix, value: /politics}}]\n"
            } else {
                "  - backendRefs: [{kind: Hostname, group: networking.istio.io, name: edition.cnn.com, port: 80}]\n"
            };
            format!("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: cnn-egress-gateway, namespace: default}}\nspec:\n  gatewayClassName: istio\n  listeners:\n  - name: http\n{hostname}    port: {port}\n    protocol: HTTP\n    allowedRoutes: {{namespaces: {{from: {from}}}}}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: to-gw, namespace: default}}\nspec:\n  parentRefs: [{{kind: ServiceEntry, group: networking.istio.io, name: se0}}]\n  rules:\n  - backendRefs: [{{name: cnn-egress-gateway-istio, port: 80}}]\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: from-gw, namespace: default}}\nspec:\n  parentRefs: [{{name: cnn-egress-gateway}}]\n  hostnames: [edition.cnn.com]\n  rules:\n{forward}")
        })
        .boxed()
}

fn waypoint() -> BoxedStrategy<String> {
    (
        proptest::option::of(pick(&["service", "workload", "all"])),
        proptest::option::of(pick(&["Same", "All"])),
    )
        .prop_map(|(waypoint_for, from)| {
            let labels = waypoint_for
                .map(|w| format!(", labels: {{istio.io/waypoint-for: {w}}}"))
                .unwrap_or_default();
            let allowed = from
                .map(|f| format!(", allowedRoutes: {{namespaces: {{from: {f}}}}}"))
                .unwrap_or_default();
            format!("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: egress-waypoint, namespace: istio-egress{labels}}}\nspec:\n  gatewayClassName: istio-waypoint\n  listeners: [{{name: mesh, port: 15008, protocol: HBONE{allowed}}}]\n")
        })
        .boxed()
}

/// One rule; CUSTOM rules keep to `to` (ext_authz sees no mTLS or JWT attributes).
fn policy_rule(custom: bool) -> BoxedStrategy<String> {
    (
        proptest::option::of(prop_oneof![
            subset(&["default", "app", "other"], 2)
                .prop_map(|n| format!("namespaces: {}", flow(&n))),
            pick(&["cluster.local/ns/default/sa/sleep", "*/ns/app/*"])
                .prop_map(|p| format!("principals: [\"{p}\"]")),
            pick(&["issuer1/*", "*"]).prop_map(|p| format!("requestPrincipals: [\"{p}\"]")),
            Just("notNamespaces: [other]".to_string()),
        ]),
        proptest::option::of(prop_oneof![
            subset(&["80", "8080", "443", "8443", "15008"], 2)
                .prop_map(|p| format!("ports: {}", flow(&p))),
            subset(&["edition.cnn.com", "httpbin.org", "*.example.com"], 2)
                .prop_map(|h| format!("hosts: {}", flow(&h))),
            pick(&["/politics*", "/get"]).prop_map(|p| format!("paths: [\"{p}\"]")),
            Just("methods: [GET]".to_string()),
            Just("notPorts: [\"80\"]".to_string()),
        ]),
        proptest::option::of(pick(&[
            "{key: \"request.auth.claims[groups]\", values: [admin]}",
            "{key: destination.port, values: [\"8080\"]}",
            "{key: source.namespace, values: [default]}",
        ])),
    )
        .prop_map(move |(from, to, when)| {
            let (from, when) = if custom { (None, None) } else { (from, when) };
            let mut parts = Vec::new();
            if let Some(from) = from {
                parts.push(format!("from: [{{source: {{{from}}}}}]"));
            }
            if let Some(to) = to {
                parts.push(format!("to: [{{operation: {{{to}}}}}]"));
            }
            if let Some(when) = when {
                parts.push(format!("when: [{when}]"));
            }
            format!("  - {{{}}}\n", parts.join(", "))
        })
        .boxed()
}

fn authorization_policy(index: usize) -> BoxedStrategy<String> {
    prop_oneof![
        4 => Just("ALLOW"),
        2 => Just("DENY"),
        1 => Just("AUDIT"),
        2 => Just("CUSTOM"),
    ]
    .prop_flat_map(move |action| (
        Just(action),
        prop_oneof![
            Just(("istio-system", "  selector: {matchLabels: {istio: egressgateway}}\n")),
            Just(("istio-system", "  selector: {matchLabels: {app: istio-egressgateway}}\n")),
            Just(("istio-system", "")),
            Just(("default", "")),
            Just(("app", "  selector: {matchLabels: {app: sleep}}\n")),
            Just(("istio-egress", "  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: egress-waypoint}]\n")),
            Just(("default", "  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: cnn-egress-gateway}]\n")),
        ],
        prop_oneof![1 => Just(Vec::new()), 5 => proptest::collection::vec(policy_rule(action == "CUSTOM"), 1..3)],
        proptest::bool::weighted(0.1),
    ))
        .prop_map(move |(action, (ns, scope), rules, dry_run)| {
            let action_line = match action {
                "CUSTOM" => "  action: CUSTOM\n  provider: {name: my-authz}\n".to_string(),
                "ALLOW" => String::new(),
                other => format!("  action: {other}\n"),
            };
            let rules = if rules.is_empty() && action != "ALLOW" {
                "  rules: [{}]\n".to_string()
            } else if rules.is_empty() {
                String::new()
            } else {
                format!("  rules:\n{}", rules.concat())
            };
            let annotations = if dry_run && action != "CUSTOM" {
                ", annotations: {\"istio.io/dry-run\": \"true\"}"
            } else {
                ""
            };
            let spec = format!("{scope}{action_line}{rules}");
            let spec = if spec.is_empty() { " {}\n".to_string() } else { format!("\n{spec}") };
            format!("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: ap{index}, namespace: {ns}{annotations}}}\nspec:{spec}")
        })
        .boxed()
}

fn indexed(make: fn(usize) -> BoxedStrategy<String>, max: usize) -> BoxedStrategy<Vec<String>> {
    (0..=max)
        .prop_flat_map(move |n| (0..n).map(make).collect::<Vec<_>>())
        .boxed()
}

fn optional(s: BoxedStrategy<String>, p: f64) -> BoxedStrategy<String> {
    proptest::option::weighted(p, s)
        .prop_map(Option::unwrap_or_default)
        .boxed()
}

/// A random road configuration, as YAML documents.
pub fn configuration() -> BoxedStrategy<Docs> {
    (
        optional(mesh(), 0.6),
        indexed(sidecar, 2),
        indexed(service_entry, 3),
        optional(gateway_service(), 0.6),
        optional(istio_gateway(), 0.7),
        indexed(virtual_service, 3),
        indexed(destination_rule, 2),
        optional(request_authn(), 0.3),
        optional(gateway_api(), 0.25),
        (optional(waypoint(), 0.3), optional(gloo_service(), 0.15)),
        indexed(authorization_policy, 4),
    )
        .prop_map(
            |(mesh, sc, se, svc, gw, vs, dr, ra, gapi, (wp, gloo), ap)| {
                let mut docs = vec![mesh];
                docs.extend(sc);
                docs.extend(se);
                docs.extend([svc, gw]);
                docs.extend(vs);
                docs.extend(dr);
                docs.extend([ra, gapi, wp, gloo]);
                docs.extend(ap);
                docs.retain(|d| !d.is_empty());
                docs
            },
        )
        .boxed()
}

/// Joins documents into one YAML file.
pub fn yaml(docs: &Docs) -> String {
    docs.iter().map(|d| format!("---\n{d}")).collect::<String>()
}

/// A random request as JSON: with or without `workload`; the sender known by principal,
/// by `source.namespace`, by both, or not at all; pod labels for workload selectors.
pub fn request() -> BoxedStrategy<Value> {
    let workload = prop_oneof![
        6 => Just(Value::Null),
        1 => Just(json!({"namespace": "istio-system", "labels": {"app": "istio-egressgateway", "istio": "egressgateway"}})),
        1 => Just(json!({"namespace": "istio-egress", "labels": {"gateway.networking.k8s.io/gateway-name": "egress-waypoint"}})),
        1 => Just(json!({"namespace": "default", "labels": {"gateway.networking.k8s.io/gateway-name": "cnn-egress-gateway"}})),
        1 => Just(json!({"namespace": "typo", "labels": {"app": "nothing"}})),
    ];
    (
        workload,
        proptest::option::of(pick(NAMESPACES)),
        prop_oneof![3 => Just(None), 3 => Just(Some("same")), 1 => pick(&["default", "app", "other"]).prop_map(Some)],
        proptest::bool::ANY,
        prop_oneof![
            8 => pick(&[
                "http://edition.cnn.com/politics",
                "http://edition.cnn.com/",
                "http://httpbin.org/get",
                "http://httpbin.org:8080/get",
                "http://api.example.com/x",
                "http://unknown.example.org/",
                "https://edition.cnn.com/",
                "http://EDITION.cnn.com:80/politics",
                "http://httpbin.org:443/get",
            ]).prop_map(|u| json!({"url": u})),
            1 => pick(&["edition.cnn.com", "Edition.CNN.com:8080", "api.example.com:80"]).prop_map(|h| json!({"host": h, "path": "/politics", "method": "GET"})),
            1 => pick(&["edition.cnn.com", "httpbin.org"]).prop_map(|s| json!({"protocol": "tls", "sni": s, "port": 443})),
            1 => Just(json!({"protocol": "tcp", "port": 9000})),
        ],
        proptest::option::of(pick(&["issuer1", "issuer2"])),
        proptest::option::of(proptest::bool::ANY),
        proptest::bool::weighted(0.2),
        // Ambient capture reads the destination address: an allocated VIP, a declared
        // address, the host's real address.
        proptest::option::of(pick(&["240.240.0.7", "192.0.2.10", "52.1.2.3"])),
    )
        .prop_map(|(workload, principal_ns, namespace, pod_labels, target, jwt, custom, admin, destination)| {
            let mut source = serde_json::Map::new();
            if let Some(ns) = principal_ns {
                source.insert("principal".into(), json!(format!("cluster.local/ns/{ns}/sa/sleep")));
            }
            // `same`: the namespace of the principal (or `app` without one).
            match namespace {
                Some("same") => {
                    source.insert("namespace".into(), json!(principal_ns.unwrap_or("app")));
                }
                Some(ns) => {
                    source.insert("namespace".into(), json!(ns));
                }
                None => {}
            }
            if pod_labels {
                source.insert("pod_labels".into(), json!({"app": "sleep"}));
            }
            let mut request = target;
            if let Some(object) = request.as_object_mut() {
                object.insert("source".into(), Value::Object(source));
                if !workload.is_null() {
                    object.insert("workload".into(), workload);
                }
                if let Some(issuer) = jwt {
                    let groups = if admin { "admin" } else { "dev" };
                    object.insert("jwt".into(), json!({"principal": format!("{issuer}/sub"), "claims": {"groups": [groups]}}));
                }
                if let Some(custom) = custom {
                    object.insert("custom".into(), json!({"my-authz": custom}));
                }
                if let Some(ip) = destination {
                    object.insert("destination_ip".into(), json!(ip));
                }
            }
            request
        })
        .boxed()
}

/// Adds one to the count of `key`.
fn count(counts: &std::sync::Mutex<BTreeMap<String, usize>>, key: String) {
    if let Ok(mut counts) = counts.lock() {
        *counts.entry(key).or_default() += 1;
    }
}

/// The road (SEMANTICS.md §9): random YAML configurations with Sidecars, registry
/// visibility, VirtualServices, gateways, DestinationRules, RequestAuthentications,
/// Gateway-API gateways and waypoints; every field of every decision, hops and caveats
/// included, must agree.
pub fn run_road(models: u32, requests_per_model: usize) {
    let reasons = std::sync::Mutex::new(BTreeMap::<String, usize>::new());
    let caveats = std::sync::Mutex::new(BTreeMap::<String, usize>::new());
    let rejected = std::sync::Mutex::new(BTreeMap::<String, String>::new());
    let mut runner = TestRunner::new(Config {
        cases: models,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        configuration(),
        proptest::collection::vec(request(), requests_per_model),
    );
    runner
        .run(&strategy, |(docs, requests)| {
            let yaml = yaml(&docs);
            let engine = match Engine::from_yaml("road.yaml", &yaml) {
                Ok(engine) => engine,
                Err(e) => {
                    // Collected, not failed at once, so one run shows every kind of mistake.
                    let message = e.to_string();
                    let first = message.lines().next().unwrap_or_default();
                    let key = first.split(" error: ").nth(1).unwrap_or(first);
                    let key = key.split(" at line").next().unwrap_or(key).to_string();
                    if let Ok(mut rejected) = rejected.lock() {
                        rejected.entry(key).or_insert(format!("{message}\n{yaml}"));
                    }
                    return Ok(());
                }
            };
            let on_connections = Engine::from_model(engine.model().clone());
            for json in &requests {
                let request: Request = serde_json::from_value(json.clone()).unwrap();
                let compiled = engine.decide(&request);
                let reference = engine.decide_reference(&request);
                prop_assert_eq!(&compiled, &reference, "\n{}\nrequest: {}", yaml, json);
                for other in super::views::view_decisions(&engine, &on_connections, &request) {
                    prop_assert_eq!(&other, &reference, "view\n{}\nrequest: {}", yaml, json);
                }
                count(&reasons, reference.reason.to_string());
                for caveat in &reference.caveats {
                    count(&caveats, caveat.code.clone());
                }
                if reference.route.as_ref().is_some_and(|r| r.tls.is_some()) {
                    count(&reasons, "+tls".into());
                }
                if reference
                    .route
                    .as_ref()
                    .is_some_and(|r| r.gateway.is_some())
                {
                    count(&reasons, "+gateway".into());
                }
                for hop in &reference.hops {
                    let by = hop.resource.as_ref().map(|r| r.kind.as_str());
                    match (hop.step, by) {
                        (HopStep::Authorization, _) => {
                            count(&reasons, format!("authz@{:?}", hop.proxy))
                        }
                        (HopStep::Outbound, Some("Sidecar"))
                            if reference.reason == Reason::NotInRegistry =>
                        {
                            count(&reasons, "not_in_registry+sidecar".into());
                        }
                        (HopStep::Registry, None)
                            if hop.outcome != "no registry entry matches the host" =>
                        {
                            count(&reasons, "registry+hidden".into());
                        }
                        _ => {}
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    let rejected = rejected.into_inner().unwrap();
    assert!(
        rejected.is_empty(),
        "generated YAML rejected:\n{}\n====\n{}",
        rejected.keys().cloned().collect::<Vec<_>>().join("\n"),
        rejected.values().next().cloned().unwrap_or_default()
    );
    let (reasons, caveats) = (reasons.into_inner().unwrap(), caveats.into_inner().unwrap());
    eprintln!("road outcomes: {reasons:?}\nroad caveats: {caveats:?}");
    let floor = (models as usize * requests_per_model).min(100_000) / 2_000;
    let seen = |counts: &BTreeMap<String, usize>, key: &str| counts.get(key).copied().unwrap_or(0);
    for reason in [
        "allowed_by_policy",
        "no_allow_policies",
        "passthrough",
        "malformed_request",
        "denied_by_policy",
        "no_allow_match",
        "allow_nothing",
        "denied_by_custom",
        "not_in_registry",
        "direct_response",
        "no_route",
        "no_listener",
        "invalid_token",
        "+tls",
        "+gateway",
        "not_in_registry+sidecar",
        "registry+hidden",
        "authz@Waypoint",
        "authz@EgressGateway",
        "authz@Gateway",
    ] {
        let n = seen(&reasons, reason);
        assert!(n >= floor, "{reason} seen only {n} times");
    }
    for code in [
        "gateway_port_not_declared",
        "gateway_service_not_loaded",
        "gateway_config_not_loaded",
        "source_labels_unknown",
        "source_unknown",
        "waypoint_not_loaded",
        "gateway_not_loaded",
        "request_authentication_missing",
        "workload_matches_no_proxy",
        "extension_providers_unknown",
    ] {
        let n = seen(&caveats, code);
        assert!(n >= floor, "caveat {code} seen only {n} times");
    }
}
