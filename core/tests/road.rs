//! The road a request takes (SEMANTICS.md §9): one named test per numbered point of the
//! traffic-path issue, through the public API, each citing the upstream source that fixes
//! the outcome. Requests name no `workload`: the engine walks from the sender.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use egress_policy::decision::{HopStep, ProxyKind, Reason};
use egress_policy::{Decision, Engine, Request};
use serde_json::json;

fn engine(yaml: &str) -> Engine {
    Engine::from_yaml("road.yaml", yaml).unwrap_or_else(|e| panic!("load failed:\n{e}"))
}

fn decide(engine: &Engine, request: serde_json::Value) -> Decision {
    let request: Request = serde_json::from_value(request).expect("request");
    let compiled = engine.decide(&request);
    let reference = engine.decide_reference(&request);
    assert_eq!(compiled, reference, "compiled and reference disagree");
    // The borrowed view the bindings serialize writes the same JSON.
    let prepared = engine.prepare(&request);
    let view = engine.decide_prepared(&prepared).view();
    assert_eq!(
        serde_json::to_string(&view).expect("view"),
        serde_json::to_string(&compiled).expect("decision"),
        "the view's JSON differs"
    );
    compiled
}

fn caveat_codes(d: &Decision) -> Vec<&str> {
    d.caveats.iter().map(|c| c.code.as_str()).collect()
}

/// istio.io tasks/traffic-management/egress/egress-gateway, with the sidecar-to-gateway hop
/// over Istio mTLS as its "Egress gateway with TLS origination" variant sets it up (the
/// gateway sees the sender's identity only then), plus an AuthorizationPolicy at the gateway
/// that allows only namespace `default`.
const EGRESS_GATEWAY: &str = r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cnn, namespace: default}
spec:
  hosts: [edition.cnn.com]
  ports:
  - {number: 80, name: http-port, protocol: HTTP}
  - {number: 443, name: https, protocol: HTTPS}
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: istio-egressgateway, namespace: default}
spec:
  selector: {istio: egressgateway}
  servers:
  - port: {number: 80, name: https, protocol: HTTPS}
    tls: {mode: ISTIO_MUTUAL}
    hosts: [edition.cnn.com]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: egressgateway-for-cnn, namespace: default}
spec:
  host: istio-egressgateway.istio-system.svc.cluster.local
  subsets: [{name: cnn}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: direct-cnn-through-egress-gateway, namespace: default}
spec:
  hosts: [edition.cnn.com]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{gateways: [mesh], port: 80}]
    route:
    - destination: {host: istio-egressgateway.istio-system.svc.cluster.local, subset: cnn, port: {number: 80}}
      weight: 100
  - match: [{gateways: [istio-egressgateway], port: 80}]
    route:
    - destination: {host: edition.cnn.com, port: {number: 80}}
      weight: 100
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-default, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istio-egressgateway}}
  rules:
  - from: [{source: {namespaces: ["default"]}}]
"#;

const GATEWAY_SERVICE: &str = r#"
---
apiVersion: v1
kind: Service
metadata: {name: istio-egressgateway, namespace: istio-system}
spec:
  selector: {app: istio-egressgateway, istio: egressgateway}
  ports:
  - {name: http2, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
"#;

const MESH_REGISTRY_ONLY: &str = r#"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
"#;

fn from(ns: &str, url: &str) -> serde_json::Value {
    json!({"source": {"principal": format!("cluster.local/ns/{ns}/sa/sleep")}, "url": url})
}

/// Point 1: Istio's main egress pattern is enforced at the egress gateway
/// (egress-gateway task; TestAuthz_EgressGateway in tests/integration/security/authz_test.go).
#[test]
fn p1_classic_egress_gateway_is_enforced_without_naming_it() {
    let e = engine(EGRESS_GATEWAY);
    let denied = decide(&e, from("other", "http://edition.cnn.com/politics"));
    assert_eq!((denied.status, denied.reason), (403, Reason::NoAllowMatch));
    assert!(denied
        .hops
        .iter()
        .any(|h| h.step == HopStep::Authorization && h.proxy == ProxyKind::EgressGateway));
    assert_eq!(caveat_codes(&denied), vec!["gateway_service_not_loaded"]);
    let allowed = decide(&e, from("default", "http://edition.cnn.com/politics"));
    assert_eq!(allowed.reason, Reason::AllowedByPolicy);
    let route = allowed.route.expect("route");
    assert_eq!(
        route.gateway.map(|g| g.name),
        Some("istio-egressgateway".to_string())
    );
    assert_eq!((route.host.as_str(), route.port), ("edition.cnn.com", 80));
    // The task's plain HTTP server: the sidecar's connection is plaintext, so the gateway
    // sees no identity and the namespace rule denies `default` too.
    let plain = EGRESS_GATEWAY.replace("    tls: {mode: ISTIO_MUTUAL}\n", "");
    let d = decide(
        &engine(&plain),
        from("default", "http://edition.cnn.com/politics"),
    );
    assert_eq!((d.status, d.reason), (403, Reason::NoAllowMatch));
    assert!(d
        .hops
        .iter()
        .any(|h| h.outcome.contains("not ISTIO_MUTUAL")));
    // With the Service loaded, nothing is assumed.
    let e = engine(&format!("{EGRESS_GATEWAY}{GATEWAY_SERVICE}"));
    let d = decide(&e, from("other", "http://edition.cnn.com/politics"));
    assert_eq!(d.status, 403);
    assert!(d.caveats.is_empty(), "{:?}", d.caveats);
}

/// Point 2: Sidecar scoping (istio/api networking/v1alpha3/sidecar.proto): a namespace's
/// Sidecar sets REGISTRY_ONLY (502, BlackHoleCluster), `egress.hosts` hides a ServiceEntry,
/// the root namespace's Sidecar is the default, `egressProxy` sends unknown hosts to the
/// gateway.
#[test]
fn p2_sidecar_outbound_policy_egress_hosts_and_egress_proxy() {
    let base = format!("{EGRESS_GATEWAY}{GATEWAY_SERVICE}");
    let sidecar = |ns: &str, spec: &str| {
        format!(
            "---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: default, namespace: {ns}}}\nspec:\n{spec}\n"
        )
    };
    let e = engine(&format!(
        "{base}{}",
        sidecar("locked", "  outboundTrafficPolicy: {mode: REGISTRY_ONLY}")
    ));
    let d = decide(&e, from("locked", "http://unknown.example.org/"));
    assert_eq!((d.status, d.reason), (502, Reason::NotInRegistry));
    let d = decide(&e, from("open", "http://unknown.example.org/"));
    assert_eq!(d.reason, Reason::Passthrough);

    let e = engine(&format!(
        "{base}{}",
        sidecar(
            "istio-system",
            "  egress: [{hosts: [\"./*\"]}]\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}"
        )
    ));
    // Root-namespace default: the SE in `default` is hidden from namespace `app`.
    let d = decide(&e, from("app", "http://edition.cnn.com/"));
    assert_eq!((d.status, d.reason), (502, Reason::NotInRegistry));

    let e = engine(&format!(
        "{base}{}",
        sidecar(
            "app",
            "  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n    egressProxy: {host: istio-egressgateway.istio-system.svc.cluster.local, port: {number: 80}}"
        )
    ));
    let d = decide(&e, from("app", "http://unknown.example.org/"));
    // The gateway has no server for the unknown host: 404 at the gateway, never a silent pass.
    assert_ne!(d.reason, Reason::Passthrough);
}

/// Point 3: `exportTo` and declared ports limit the registry (service_entry.proto;
/// pilot/pkg/networking/core/httproute.go builds virtual hosts per port).
#[test]
fn p3_registry_visibility_and_ports() {
    let yaml = format!(
        "{MESH_REGISTRY_ONLY}---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: httpbin, namespace: team}}\nspec:\n  hosts: [httpbin.org]\n  exportTo: [\".\"]\n  ports: [{{number: 80, name: http, protocol: HTTP}}]\n  resolution: DNS\n"
    );
    let e = engine(&yaml);
    assert_eq!(
        decide(&e, from("team", "http://httpbin.org/")).reason,
        Reason::Passthrough
    );
    assert_eq!(decide(&e, from("other", "http://httpbin.org/")).status, 502);
    assert_eq!(
        decide(&e, from("team", "http://httpbin.org:8080/")).status,
        502
    );
}

/// Point 4: what the gateway does before and instead of authorization (gateway.proto
/// servers, virtual_service.proto directResponse, destination_rule.proto workloadSelector).
#[test]
fn p4_gateway_servers_direct_response_and_destination_rule_selector() {
    let base = format!("{EGRESS_GATEWAY}{GATEWAY_SERVICE}");
    // A host the Gateway's server does not list: 404 at the gateway.
    let other_host = base.replace("hosts: [edition.cnn.com]\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule", "hosts: [other.example.com]\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule");
    let d = decide(
        &engine(&other_host),
        from("default", "http://edition.cnn.com/"),
    );
    assert_eq!((d.status, d.reason), (404, Reason::NoRoute));
    // No server on the port: 503.
    let other_port = base.replace(
        "- port: {number: 80, name: https, protocol: HTTPS}",
        "- port: {number: 81, name: https, protocol: HTTPS}",
    );
    let d = decide(
        &engine(&other_port),
        from("default", "http://edition.cnn.com/"),
    );
    assert_eq!((d.status, d.reason), (503, Reason::NoListener));
    // A directResponse at the gateway answers after authorization allowed.
    let direct = base.replace(
        "    route:\n    - destination: {host: edition.cnn.com, port: {number: 80}}\n      weight: 100",
        "    directResponse: {status: 418}",
    );
    let d = decide(&engine(&direct), from("default", "http://edition.cnn.com/"));
    assert_eq!(
        (d.allowed, d.status, d.reason),
        (false, 418, Reason::DirectResponse)
    );
    let d = decide(&engine(&direct), from("other", "http://edition.cnn.com/"));
    assert_eq!(d.status, 403);
    // A DestinationRule selecting other pods does not originate TLS at the gateway.
    let dr = |selector: &str| {
        format!("{base}---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: tls, namespace: istio-system}}\nspec:\n  host: edition.cnn.com\n  workloadSelector: {{matchLabels: {{{selector}}}}}\n  trafficPolicy: {{tls: {{mode: SIMPLE}}}}\n")
    };
    let d = decide(
        &engine(&dr("app: something-else")),
        from("default", "http://edition.cnn.com/"),
    );
    assert!(d.route.expect("route").tls.is_none());
    let d = decide(
        &engine(&dr("istio: egressgateway")),
        from("default", "http://edition.cnn.com/"),
    );
    assert_eq!(
        d.route.expect("route").tls.map(|t| t.mode),
        Some(egress_policy::model::TlsMode::Simple)
    );
}

/// Point 5: at a classic gateway, `to.operation.ports` sees the container port (Service
/// targetPort), istio/istio PR #20838.
#[test]
fn p5_ports_at_a_gateway_are_the_listener_port() {
    let with_port = |port: &str| {
        format!("{EGRESS_GATEWAY}{GATEWAY_SERVICE}").replace(
            "  - from: [{source: {namespaces: [\"default\"]}}]",
            &format!("  - to: [{{operation: {{ports: [\"{port}\"]}}}}]"),
        )
    };
    let d = decide(
        &engine(&with_port("8080")),
        from("default", "http://edition.cnn.com/"),
    );
    assert!(d.allowed, "{d:?}");
    let d = decide(
        &engine(&with_port("80")),
        from("default", "http://edition.cnn.com/"),
    );
    assert_eq!(d.status, 403);
}

/// Point 6: request principals exist only for validated JWTs (request_authentication.proto);
/// an unknown issuer is 401; a CUSTOM provider not in `extensionProviders` denies
/// (pilot/pkg/security/authz/builder/extauthz.go).
#[test]
fn p6_identity_request_authentication_and_custom_providers() {
    let policy = format!("{EGRESS_GATEWAY}{GATEWAY_SERVICE}").replace(
        "  - from: [{source: {namespaces: [\"default\"]}}]",
        "  - from: [{source: {requestPrincipals: [\"issuer1/*\"]}}]",
    );
    let jwt = |iss: &str| {
        json!({"source": {"principal": "cluster.local/ns/default/sa/sleep"},
               "url": "http://edition.cnn.com/", "jwt": {"principal": format!("{iss}/sub")}})
    };
    let d = decide(&engine(&policy), jwt("issuer1"));
    assert_eq!(
        d.status, 403,
        "no RequestAuthentication: no request principal"
    );
    assert!(caveat_codes(&d).contains(&"request_authentication_missing"));
    let ra = format!("{policy}---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {{name: jwt, namespace: istio-system}}\nspec:\n  selector: {{matchLabels: {{app: istio-egressgateway}}}}\n  jwtRules: [{{issuer: issuer1}}]\n");
    assert!(decide(&engine(&ra), jwt("issuer1")).allowed);
    let d = decide(&engine(&ra), jwt("issuer2"));
    assert_eq!((d.status, d.reason), (401, Reason::InvalidToken));

    let custom = |mesh: &str| {
        format!("{EGRESS_GATEWAY}{GATEWAY_SERVICE}{mesh}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: ext, namespace: istio-system}}\nspec:\n  selector: {{matchLabels: {{app: istio-egressgateway}}}}\n  action: CUSTOM\n  provider: {{name: my-authz}}\n  rules: [{{}}]\n")
    };
    let request = json!({"source": {"principal": "cluster.local/ns/default/sa/sleep"},
                         "url": "http://edition.cnn.com/", "custom": {"my-authz": true}});
    let undeclared = custom("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    extensionProviders: []\n");
    let d = decide(&engine(&undeclared), request.clone());
    assert_eq!((d.status, d.reason), (403, Reason::DeniedByCustom));
    let unknown = decide(&engine(&custom("")), request);
    assert!(unknown.allowed);
    assert!(caveat_codes(&unknown).contains(&"extension_providers_unknown"));
}

/// Point 7: validation as Istio's (pkg/config/validation/validation.go: "http, tcp or tls
/// must be provided in virtual service"; MeshConfig.OutboundTrafficPolicy has `mode` and
/// `egressProxy`).
#[test]
fn p7_validation_of_virtual_services_and_outbound_policy() {
    let err = Engine::from_yaml(
        "vs.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: a}\nspec:\n  hosts: [a.example.com]\n",
    )
    .expect_err("a VirtualService without routes is rejected");
    assert!(
        err.to_string()
            .contains("http, tcp or tls must be provided"),
        "{err}"
    );
    let e = engine(&MESH_REGISTRY_ONLY.replace(
        "      mode: REGISTRY_ONLY\n",
        "      mode: REGISTRY_ONLY\n      egressProxy: {host: istio-egressgateway.istio-system.svc.cluster.local, port: {number: 80}}\n",
    ));
    assert!(e.model().mesh.egress_proxy.is_some());
    assert!(Engine::from_yaml(
        "mesh.yaml",
        &MESH_REGISTRY_ONLY.replace("mode: REGISTRY_ONLY", "mdoe: REGISTRY_ONLY")
    )
    .is_err());
}

/// istio.io egress-gateway task, Gateway API tab, as published: a `Gateway` of class
/// `istio` and two HTTPRoutes (mesh → gateway Service, gateway → edition.cnn.com).
const EGRESS_GATEWAY_API: &str = r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cnn, namespace: default}
spec:
  hosts: [edition.cnn.com]
  ports:
  - {number: 80, name: http-port, protocol: HTTP}
  - {number: 443, name: https, protocol: HTTPS}
  resolution: DNS
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: cnn-egress-gateway
  namespace: default
  annotations: {networking.istio.io/service-type: ClusterIP}
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    hostname: edition.cnn.com
    port: 80
    protocol: HTTP
    allowedRoutes: {namespaces: {from: Same}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: direct-cnn-to-egress-gateway, namespace: default}
spec:
  parentRefs:
  - kind: ServiceEntry
    group: networking.istio.io
    name: cnn
  rules:
  - backendRefs:
    - name: cnn-egress-gateway-istio
      port: 80
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: forward-cnn-from-egress-gateway, namespace: default}
spec:
  parentRefs:
  - name: cnn-egress-gateway
  hostnames: [edition.cnn.com]
  rules:
  - backendRefs:
    - kind: Hostname
      group: networking.istio.io
      name: edition.cnn.com
      port: 80
"#;

/// Issue 12 point 1: namespace-wide and root-namespace policies attach to a Gateway-API
/// gateway of class `istio` by selector (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, default
/// on: pilot/pkg/features/pilot.go; pilot/pkg/model/policyattachment.go), and HTTPRoutes
/// carry mesh traffic to it.
#[test]
fn g1_gateway_api_egress_gateway_takes_namespace_and_root_policies() {
    let allow_default = "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: only-default, namespace: default}\nspec:\n  rules:\n  - from: [{source: {namespaces: [\"default\"]}}]\n";
    let e = engine(&format!("{EGRESS_GATEWAY_API}{allow_default}"));
    let d = decide(&e, from("other", "http://edition.cnn.com/politics"));
    assert_eq!((d.status, d.reason), (403, Reason::NoAllowMatch), "{d:#?}");
    assert!(d
        .hops
        .iter()
        .any(|h| h.step == HopStep::Authorization && h.proxy == ProxyKind::Gateway));
    let d = decide(&e, from("default", "http://edition.cnn.com/politics"));
    assert!(d.allowed, "{d:#?}");
    assert_eq!(
        d.route.and_then(|r| r.gateway).map(|g| g.name),
        Some("cnn-egress-gateway".to_string())
    );
    // A mesh-wide allow-nothing in the root namespace attaches too.
    let root = "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-nothing, namespace: istio-system}\nspec: {}\n";
    let d = decide(
        &engine(&format!("{EGRESS_GATEWAY_API}{root}")),
        from("default", "http://edition.cnn.com/"),
    );
    assert_eq!((d.status, d.reason), (403, Reason::AllowNothing));
}

const WAYPOINT: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: egress-waypoint, namespace: istio-egress}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: istio-egress}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: egress-waypoint}]
  action: DENY
  rules: [{}]
"#;

fn waypoint_entry(ns: &str, extra_labels: &str) -> String {
    format!("---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: httpbin\n  namespace: {ns}\n  labels: {{istio.io/use-waypoint: egress-waypoint{extra_labels}}}\nspec:\n  hosts: [httpbin.org]\n  ports: [{{number: 80, name: http, protocol: HTTP}}]\n  resolution: DNS\n")
}

/// Issue 12 point 2: waypoint attachment as pilot/pkg/serviceregistry/ambient/waypoints.go
/// decides it: `allowedRoutes` defaults to Same, `istio.io/waypoint-for: workload` takes no
/// service traffic, a waypoint that does not exist captures nothing.
#[test]
fn g2_waypoint_capture_follows_istio() {
    let request = from("bookinfo", "http://httpbin.org/get");
    let same = engine(&format!("{WAYPOINT}{}", waypoint_entry("istio-egress", "")));
    assert_eq!(
        decide(&same, request.clone()).reason,
        Reason::DeniedByPolicy
    );
    let cross = engine(&format!(
        "{WAYPOINT}{}",
        waypoint_entry("apps", ", istio.io/use-waypoint-namespace: istio-egress")
    ));
    let d = decide(&cross, request.clone());
    assert_eq!(
        d.reason,
        Reason::Passthrough,
        "allowedRoutes Same refuses namespace apps"
    );
    assert!(d
        .hops
        .iter()
        .any(|h| h.outcome.contains("allowedRoutes Same")));
    let all = engine(
        &format!(
            "{WAYPOINT}{}",
            waypoint_entry("apps", ", istio.io/use-waypoint-namespace: istio-egress")
        )
        .replace(
            "listeners: [{name: mesh, port: 15008, protocol: HBONE}]",
            "listeners: [{name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {namespaces: {from: All}}}]",
        ),
    );
    assert_eq!(decide(&all, request.clone()).reason, Reason::DeniedByPolicy);
    let for_workload = engine(
        &format!("{WAYPOINT}{}", waypoint_entry("istio-egress", "")).replace(
            "metadata: {name: egress-waypoint, namespace: istio-egress}",
            "metadata: {name: egress-waypoint, namespace: istio-egress, labels: {istio.io/waypoint-for: workload}}",
        ),
    );
    assert_eq!(
        decide(&for_workload, request.clone()).reason,
        Reason::Passthrough
    );
    // The GatewayClass's label is the default of its waypoints; a Gateway's own label wins
    // (pilot/pkg/serviceregistry/ambient/waypoints.go).
    let class = "---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: istio-waypoint, labels: {istio.io/waypoint-for: workload}}\nspec: {controllerName: istio.io/mesh-controller}\n";
    let by_class = engine(&format!(
        "{WAYPOINT}{}{class}",
        waypoint_entry("istio-egress", "")
    ));
    assert_eq!(
        decide(&by_class, request.clone()).reason,
        Reason::Passthrough
    );
    let own_label = engine(
        &format!("{WAYPOINT}{}{class}", waypoint_entry("istio-egress", "")).replace(
            "metadata: {name: egress-waypoint, namespace: istio-egress}",
            "metadata: {name: egress-waypoint, namespace: istio-egress, labels: {istio.io/waypoint-for: service}}",
        ),
    );
    assert_eq!(
        decide(&own_label, request.clone()).reason,
        Reason::DeniedByPolicy
    );
    let missing = engine(&waypoint_entry("istio-egress", ""));
    let d = decide(&missing, request);
    assert_eq!(d.reason, Reason::Passthrough);
    assert_eq!(caveat_codes(&d), vec!["waypoint_not_loaded"]);
}

/// Issue 12 point 2, capture by address: ztunnel sends a connection to the waypoint when its
/// destination is an address of the ServiceEntry (its `addresses`, or the VIP Istio
/// allocates from 240.240.0.0/16 / 2001:2::/48 and ztunnel's DNS proxy returns; pilot
/// pkg/model/service.go `AutoAllocatedIPv4Address`); a client that connected to the host's
/// real address is not captured. A sidecar sender routes by host.
#[test]
fn g2_ambient_capture_is_by_destination_address() {
    let ambient = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}\n";
    let auto = engine(&format!(
        "{WAYPOINT}{}{ambient}",
        waypoint_entry("istio-egress", "")
    ));
    let to = |ip: &str| {
        let mut r = from("bookinfo", "http://httpbin.org/get");
        r["destination_ip"] = serde_json::json!(ip);
        r
    };
    // No address given: the DNS proxy's VIP is assumed, as before.
    let d = decide(&auto, from("bookinfo", "http://httpbin.org/get"));
    assert_eq!(d.reason, Reason::DeniedByPolicy);
    assert_eq!(
        decide(&auto, to("240.240.0.7")).reason,
        Reason::DeniedByPolicy
    );
    assert_eq!(
        decide(&auto, to("2001:2::9")).reason,
        Reason::DeniedByPolicy
    );
    let d = decide(&auto, to("52.1.2.3"));
    assert_eq!(
        d.reason,
        Reason::Passthrough,
        "the real address is not captured"
    );
    assert!(
        d.hops
            .iter()
            .any(|h| h.outcome.contains("destination address 52.1.2.3")),
        "{:?}",
        d.hops
    );
    // Declared addresses replace the allocation.
    let declared = engine(&format!(
        "{WAYPOINT}{}{ambient}",
        waypoint_entry("istio-egress", "").replace(
            "resolution: DNS",
            "resolution: DNS\n  addresses: [192.0.2.10]"
        )
    ));
    assert_eq!(
        decide(&declared, to("192.0.2.10")).reason,
        Reason::DeniedByPolicy
    );
    assert_eq!(
        decide(&declared, to("240.240.0.7")).reason,
        Reason::Passthrough
    );
    // Opted out of allocation, no addresses: only the host's own address is seen.
    let opted_out = engine(&format!(
        "{WAYPOINT}{}{ambient}",
        waypoint_entry(
            "istio-egress",
            ", networking.istio.io/enable-autoallocate-ip: \"false\""
        )
    ));
    assert_eq!(
        decide(&opted_out, to("240.240.0.7")).reason,
        Reason::Passthrough
    );
    // A sidecar sender (namespace not ambient) routes by host: the address does not matter.
    let sidecar = engine(&format!("{WAYPOINT}{}", waypoint_entry("istio-egress", "")));
    assert_eq!(
        decide(&sidecar, to("52.1.2.3")).reason,
        Reason::DeniedByPolicy
    );
}

/// Issue 12 point 5: a named workload where no proxy runs is decided only with a caveat.
#[test]
fn g5_named_workload_without_a_proxy_carries_a_caveat() {
    let e = engine(WAYPOINT);
    let d = decide(
        &e,
        json!({"workload": {"namespace": "typo", "labels": {"app": "nothing"}}, "url": "http://httpbin.org/"}),
    );
    assert_eq!(caveat_codes(&d), vec!["workload_matches_no_proxy"]);
    let d = decide(
        &e,
        json!({"workload": {"namespace": "istio-egress", "labels": {"gateway.networking.k8s.io/gateway-name": "egress-waypoint"}}, "url": "http://httpbin.org/"}),
    );
    assert!(d.caveats.is_empty(), "{:?}", d.caveats);
}

/// Traffic-path point 8: path normalization as Envoy does it under BASE — unreserved escapes
/// decoded, kept escapes copied exactly (url_canon_path.cc), a `:path` that does not start
/// with `/` answered 404 before routing (conn_manager_impl.cc, AbsolutePath). The docs'
/// example rows are vectors (tests/vectors/istio-path-normalization-docs-*.json).
#[test]
fn p8_path_normalization_keeps_escapes_and_rejects_relative_paths() {
    let e = engine(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: istio-system}\nspec:\n  rules:\n  - to: [{operation: {paths: [\"/a%2fb\", \"/abc\"]}}]\n",
    );
    let at = |path: &str| {
        decide(
            &e,
            json!({"workload": {"namespace": "istio-system", "labels": {"istio": "egressgateway"}},
                   "host": "example.com", "path": path}),
        )
    };
    assert!(at("/a%2fb").allowed, "kept escape, same case");
    assert!(
        !at("/a%2Fb").allowed,
        "kept escape, other case: not the same path"
    );
    assert!(at("/%61%62%63").allowed, "unreserved escapes decoded");
    let relative = at("\\da");
    assert_eq!(
        (relative.status, relative.reason),
        (404, Reason::MalformedRequest)
    );
}
