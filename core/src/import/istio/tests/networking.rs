//! Istio importer tests: DestinationRule, VirtualService, Gateways and robustness.

#[allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// DestinationRule

#[test]
fn destination_rule_tls() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: originate, namespace: egress}
spec:
  host: httpbin.org
  exportTo: ["."]
  workloadSelector: {matchLabels: {istio: egressgateway}}
  subsets:
  - name: tls
    trafficPolicy: {tls: {mode: SIMPLE}}
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 10}}
    outlierDetection: {consecutive5xxErrors: 3}
    tls:
      mode: SIMPLE
      sni: httpbin.org
      caCertificates: /etc/certs/ca.pem
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: MUTUAL, sni: mtls.httpbin.org, credentialName: client}
    - port: {number: 80}
      loadBalancer: {simple: LEAST_REQUEST}
    - port: {number: 8443}
      tls: {}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: mesh-mtls, namespace: egress}
spec:
  host: "*.local"
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bare, namespace: egress}
spec:
  host: plain.example
"#;
    let model = load(text);
    let dr = &model.tls_settings[0];
    assert_eq!(
        dr.origin,
        ResourceRef::new("DestinationRule", "egress", "originate")
    );
    assert_eq!(dr.host, "httpbin.org");
    assert_eq!(dr.mode, Some(TlsMode::Simple));
    assert_eq!(dr.sni.as_deref(), Some("httpbin.org"));
    assert_eq!(
        dr.ports,
        vec![
            (443, TlsMode::Mutual, Some("mtls.httpbin.org".to_string())),
            (8443, TlsMode::Disable, None),
        ]
    );
    let mesh = &model.tls_settings[1];
    assert_eq!(mesh.mode, Some(TlsMode::IstioMutual));
    assert_eq!(mesh.sni, None);
    let bare = &model.tls_settings[2];
    assert_eq!(bare.mode, None);
    assert!(bare.ports.is_empty());
}

#[test]
fn destination_rule_errors() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bad, namespace: egress}
spec:
  trafficPolicy:
    tls:
      mode: STRICT
      snii: x
    portLevelSettings:
    - tls: {mode: SIMPLE}
    - port: {number: 70000}
    loadBalancr: {}
"#;
    let diags = errors(text);
    let r = "DestinationRule egress/bad";
    expect(
        &diags,
        "spec.host",
        pos(text, "trafficPolicy"),
        r,
        "missing field `host`",
    );
    expect(
        &diags,
        "spec.trafficPolicy.tls.mode",
        pos(text, "STRICT"),
        r,
        "unknown value `STRICT` for `mode`",
    );
    expect(
        &diags,
        "spec.trafficPolicy.tls.snii",
        pos(text, "snii"),
        r,
        "unknown field `snii`",
    );
    expect(
        &diags,
        "spec.trafficPolicy.portLevelSettings[0].port",
        pos(text, "tls: {mode: SIMPLE}"),
        r,
        "missing field `port`",
    );
    expect(
        &diags,
        "spec.trafficPolicy.portLevelSettings[1].port.number",
        pos(text, "70000"),
        r,
        "not a number in 0..65535",
    );
    expect(
        &diags,
        "spec.trafficPolicy.loadBalancr",
        pos(text, "loadBalancr"),
        r,
        "unknown field `loadBalancr`",
    );
    assert_eq!(diags.len(), 6, "{diags:#?}");
}

// ---------------------------------------------------------------------------------------
// VirtualService

const EGRESS_VS: &str = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: via-egress, namespace: egress}
spec:
  hosts: [httpbin.org]
  gateways: [mesh, istio-egressgateway]
  exportTo: ["*"]
  http:
  - match:
    - gateways: [mesh]
      port: 80
    route:
    - destination:
        host: istio-egressgateway.istio-system.svc.cluster.local
        port: {number: 80}
  - name: at-gateway
    match:
    - gateways: [istio-egressgateway]
      port: 80
      uri: {prefix: /api}
      method: {exact: POST}
      headers:
        X-Env: {exact: prod}
        x-trace: {}
        x-id: {regex: "[0-9]+"}
    - uri: {exact: /Health}
      ignoreUriCase: true
    headers:
      request:
        add: {x-added: route}
        set: {x-set: route}
        remove: [x-internal]
    route:
    - destination:
        host: httpbin.org
        subset: v1
        port: {number: 443}
      weight: 90
      headers:
        request:
          set: {x-set: destination, x-dest: "1"}
          remove: [x-other]
        response:
          add: {x-resp: a}
    - destination: {host: backup.httpbin.org}
      weight: 10
    retries: {attempts: 3, perTryTimeout: 2s}
    timeout: 10s
    fault: {delay: {percentage: {value: 1}, fixedDelay: 1s}}
    mirror: {host: mirror.example}
    corsPolicy: {allowOrigins: [{exact: "*"}]}
    rewrite: {uri: /}
  - redirect: {uri: /moved}
  tcp:
  - match: [{port: 3306}]
    route: [{destination: {host: db.example}}]
  tls:
  - match: [{port: 443, sniHosts: [httpbin.org]}]
    route: [{destination: {host: httpbin.org}}]
"#;

#[test]
fn virtual_service_routes() {
    let model = load(EGRESS_VS);
    // The gateway Service the mesh route names is not loaded: one warning says what is assumed.
    let warns = warnings(&model);
    assert_eq!(warns.len(), 1, "{:?}", model.warnings);
    assert!(warns[0]
        .message
        .contains("routes to Service istio-system/istio-egressgateway, which is not loaded"));
    let vs = &model.virtual_services[0];
    assert_eq!(
        vs.id,
        ResourceRef::new("VirtualService", "egress", "via-egress")
    );
    assert_eq!(vs.hosts, vec!["httpbin.org"]);
    assert_eq!(vs.gateways, vec!["mesh", "istio-egressgateway"]);
    // Every route is kept with the gateways of its matches: the sidecar-only route
    // (`gateways: [mesh]`) sends mesh traffic to the egress gateway.
    assert_eq!(vs.http.len(), 3);
    assert_eq!(vs.http[0].matches[0].gateways, vec!["mesh"]);
    assert_eq!(
        vs.http[0].destination_host.as_deref(),
        Some("istio-egressgateway.istio-system.svc.cluster.local")
    );
    assert_eq!(vs.l4.len(), 2);
    let route = &vs.http[1];
    assert_eq!(route.matches.len(), 2);
    let first = &route.matches[0];
    assert_eq!(first.uri, Some(UriMatch::Prefix("/api".into())));
    assert_eq!(first.method.as_deref(), Some("POST"));
    assert_eq!(first.port, Some(80));
    assert_eq!(
        first.headers,
        vec![
            ("x-env".to_string(), UriMatch::Exact("prod".into())),
            ("x-trace".to_string(), UriMatch::Regex(".*".into())),
            ("x-id".to_string(), UriMatch::Regex("[0-9]+".into())),
        ]
    );
    let second = &route.matches[1];
    let uri = second.uri.as_ref().expect("uri");
    assert!(uri.matches("/health"));
    assert!(uri.matches("/HEALTH"));
    assert!(!uri.matches("/healthz"));
    assert_eq!(route.destination_host.as_deref(), Some("httpbin.org"));
    assert_eq!(route.destination_port, Some(443));
    let mut add = Labels::new();
    add.insert("x-added".into(), "route".into());
    let mut set = Labels::new();
    set.insert("x-set".into(), "route".into());
    set.insert("x-dest".into(), "1".into());
    assert_eq!(
        route.headers,
        HeaderMutations {
            add,
            set,
            remove: vec!["x-other".into(), "x-internal".into()],
        }
    );
    let redirect = &vs.http[2];
    assert!(redirect.matches.is_empty());
    assert_eq!(redirect.destination_host, None);
    assert!(redirect.headers.is_empty());
    assert_eq!(redirect.answer.as_ref().map(|a| a.status), Some(301));
}

#[test]
fn virtual_service_prefix_ignoring_case() {
    let text = EGRESS_VS.replace("uri: {exact: /Health}", "uri: {prefix: /Api.v1}");
    let model = load(&text);
    let uri = model.virtual_services[0].http[1].matches[1]
        .uri
        .clone()
        .expect("uri");
    assert!(uri.matches("/api.V1/x"));
    assert!(uri.matches("/API.v1"));
    assert!(uri.matches("/api.v1\nnext"));
    assert!(!uri.matches("/apixv1"));
    assert!(!uri.matches("/x/api.v1"));
    // Non-ASCII text compiles and matches itself (Envoy folds ASCII case only).
    let text = EGRESS_VS.replace("uri: {exact: /Health}", "uri: {exact: /Grüße}");
    let model = load(&text);
    let uri = model.virtual_services[0].http[1].matches[1]
        .uri
        .clone()
        .expect("uri");
    assert!(uri.matches("/grüße"));
    assert!(uri.matches("/GRüßE"));
    assert!(!uri.matches("/grüsse"));
}

#[test]
fn virtual_service_errors_and_warnings() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad, namespace: egress}
spec:
  hosts: [a.example]
  http:
  - match:
    - uri: {exact: /a, prefix: /b}
      methd: {exact: GET}
      headers:
        x-a: {suffix: b}
        x-b: {regex: "(unclosed"}
    route:
    - destination: {port: {number: 80}}
    - weight: 10
    retriez: {}
  hostz: []
"#;
    let diags = errors(text);
    let r = "VirtualService egress/bad";
    let h = "spec.http[0]";
    expect(
        &diags,
        &format!("{h}.match[0].uri"),
        pos(text, "{exact: /a"),
        r,
        "only one of `exact`, `prefix` or `regex` may be set, found `exact` and `prefix`",
    );
    expect(
        &diags,
        &format!("{h}.match[0].methd"),
        pos(text, "methd"),
        r,
        "unknown field `methd`",
    );
    expect(
        &diags,
        &format!("{h}.match[0].headers.x-a.suffix"),
        pos(text, "suffix"),
        r,
        "unknown field `suffix`",
    );
    expect(
        &diags,
        &format!("{h}.match[0].headers.x-b.regex"),
        pos(text, "\"(unclosed\""),
        r,
        "invalid regex `(unclosed`: unclosed group",
    );
    expect(
        &diags,
        &format!("{h}.route[0].destination.host"),
        pos(text, "{port: {number: 80}}"),
        r,
        "missing field `host`",
    );
    expect(
        &diags,
        &format!("{h}.route[1].destination"),
        pos(text, "weight: 10"),
        r,
        "missing field `destination`",
    );
    expect(
        &diags,
        &format!("{h}.retriez"),
        pos(text, "retriez"),
        r,
        "unknown field `retriez`",
    );
    expect(
        &diags,
        "spec.hostz",
        pos(text, "hostz"),
        r,
        "unknown field `hostz`",
    );
    assert_eq!(diags.len(), 8, "{diags:#?}");

    let text = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: unmodelled, namespace: egress}
spec:
  hosts: [a.example]
  http:
  - match:
    - authority: {exact: a.example}
      method: {regex: "GET|HEAD"}
      queryParams: {q: {exact: "1"}}
    route:
    - destination: {host: a.example}
"#;
    let model = load(text);
    let warns: Vec<Diagnostic> = warnings(&model).into_iter().cloned().collect();
    let r = "VirtualService egress/unmodelled";
    expect(
        &warns,
        "spec.http[0].match[0].authority",
        pos(text, "{exact: a.example}"),
        r,
        "does not model `authority` matches",
    );
    expect(
        &warns,
        "spec.http[0].match[0].method",
        pos(text, "{regex"),
        r,
        "only `exact` method matches",
    );
    expect(
        &warns,
        "spec.http[0].match[0].queryParams",
        pos(text, "{q:"),
        r,
        "does not model `queryParams` matches",
    );
    assert_eq!(warns.len(), 3);
    let m = &model.virtual_services[0].http[0].matches[0];
    assert_eq!(m.method, None);
    assert_eq!(m.uri, None);
}

// ---------------------------------------------------------------------------------------
// Gateways

#[test]
fn gateways_of_both_apis() {
    let text = r#"apiVersion: gateway.networking.k8s.io/v1beta1
kind: Gateway
metadata: {name: public, namespace: ingress}
spec:
  gatewayClassName: istio
  addresses: [{value: 1.2.3.4}]
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS, hostname: "*.example.com", tls: {mode: Terminate}}
  - {name: http2, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: istio-egressgateway, namespace: istio-system}
spec:
  selector:
    istio: egressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [httpbin.org]
  - port: {number: 443, name: tls, protocol: TLS, targetPort: 8443}
    hosts: [httpbin.org]
    tls: {mode: PASSTHROUGH}
"#;
    let model = load(text);
    let k8s = &model.gateways[0];
    assert_eq!(k8s.id, ResourceRef::new("Gateway", "ingress", "public"));
    assert_eq!(k8s.kind, GatewayKind::KubernetesGateway);
    assert_eq!(k8s.ports, vec![80, 443]);
    assert_eq!(k8s.namespace, "ingress");
    assert_eq!(
        k8s.labels.get("gateway.networking.k8s.io/gateway-name"),
        Some(&"public".to_string())
    );
    assert_eq!((k8s.location.line, k8s.location.column), (1, 1));
    let istio = &model.gateways[1];
    assert_eq!(
        istio.id,
        ResourceRef::new("Gateway", "istio-system", "istio-egressgateway")
    );
    assert_eq!(istio.kind, GatewayKind::IstioGateway);
    assert_eq!(istio.namespace, "istio-system");
    assert_eq!(istio.ports, vec![80, 443]);
    assert_eq!(
        istio.labels.get("istio"),
        Some(&"egressgateway".to_string())
    );
    assert!(!istio.originates_tls);
    assert_eq!(istio.workspace, None);
}

#[test]
fn gateway_errors() {
    let text = r#"apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: g, namespace: a}
spec:
  listeners:
  - {name: http, protocol: HTTP}
  - {name: x, port: 0}
  - {name: y, port: 80, prot: TCP}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: i, namespace: a}
spec:
  selector: {istio: egressgateway}
  servers:
  - hosts: ["*"]
  - port: {number: 99999}
---
apiVersion: gateway.networking.k8s.io/v1alpha1
kind: Gateway
metadata: {name: old, namespace: a}
spec: {}
"#;
    let diags = errors(text);
    let r = "Gateway a/g";
    expect(
        &diags,
        "spec.gatewayClassName",
        pos(text, "listeners"),
        r,
        "missing field `gatewayClassName`",
    );
    expect(
        &diags,
        "spec.listeners[0].port",
        pos(text, "{name: http"),
        r,
        "missing field `port`",
    );
    expect(
        &diags,
        "spec.listeners[1].port",
        pos(text, "0}"),
        r,
        "port 0",
    );
    expect(
        &diags,
        "spec.listeners[2].prot",
        pos(text, "prot:"),
        r,
        "unknown field `prot`",
    );
    let r = "Gateway a/i";
    expect(
        &diags,
        "spec.servers[0].port",
        pos(text, "hosts: [\"*\"]"),
        r,
        "missing field `port`",
    );
    expect(
        &diags,
        "spec.servers[1].port.number",
        pos(text, "99999"),
        r,
        "not a number",
    );
    expect(
        &diags,
        "apiVersion",
        pos(text, "gateway.networking.k8s.io/v1alpha1"),
        "Gateway a/old",
        "unsupported apiVersion",
    );
    assert_eq!(diags.len(), 7, "{diags:#?}");
}

// ---------------------------------------------------------------------------------------
// Robustness

#[test]
fn wrong_types_never_panic() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: types, namespace: egress}
spec:
  selector: [a]
  action: 3
  provider: opa
  targetRefs: {kind: Gateway}
  rules:
  - from: {source: {}}
    to: [operation]
    when: key
  - null
  - 7
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: types, namespace: egress}
spec:
  hosts: httpbin.org
  ports: {number: 80}
  resolution: [DNS]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: types, namespace: egress}
spec:
  http: {route: []}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: types, namespace: egress}
spec: [x]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: 42
"#;
    let diags = errors(text);
    assert!(diags.len() >= 12, "{diags:#?}");
    for d in &diags {
        assert!(d.resource.is_some(), "{d}");
        assert!(d.field.is_some(), "{d}");
    }
}

#[test]
fn every_error_of_a_load_is_reported() {
    let text = format!(
        "{}---\n{}",
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: x}\n\
         spec:\n  action: DENY\n",
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: b, namespace: x}\n\
         spec:\n  hosts: [\"*\"]\n"
    );
    let diags = errors(&text);
    assert_eq!(diags.len(), 2, "{diags:#?}");
    assert!(diags[0].location < diags[1].location);
}
