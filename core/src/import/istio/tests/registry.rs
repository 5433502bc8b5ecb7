//! Istio importer tests: ServiceEntry and waypoints.

#[allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// ServiceEntry

#[test]
fn service_entry_every_field() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: httpbin
  namespace: egress
spec:
  hosts:
  - httpbin.org
  - "*.example.com"
  - api.corp.example.
  addresses: ["203.0.113.0/24", "2001:db8::1"]
  ports:
  - number: 80
    name: http
    protocol: http
  - number: 443
    name: tls
    protocol: TLS
    targetPort: 8443
  - number: 9000
  location: MESH_EXTERNAL
  resolution: DNS_ROUND_ROBIN
  endpoints:
  - address: httpbin.org
  workloadSelector:
    labels: {app: x}
  exportTo: [".", "istio-system"]
  subjectAltNames: ["spiffe://x"]
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: defaults, namespace: egress}
spec:
  hosts: [a.example]
"#;
    let model = load(text);
    assert!(warnings(&model).is_empty(), "{:?}", model.warnings);
    let svc = &model.services[0];
    assert_eq!(
        svc.id,
        ResourceRef::new("ServiceEntry", "egress", "httpbin")
    );
    assert_eq!(svc.vendor, Vendor::Istio);
    assert_eq!((svc.location.line, svc.location.column), (1, 1));
    assert_eq!(
        svc.hosts,
        vec!["httpbin.org", "*.example.com", "api.corp.example."]
    );
    assert_eq!(
        svc.ports,
        vec![
            ServicePort {
                number: 80,
                protocol: "HTTP".into(),
                name: "http".into(),
                target_port: None
            },
            ServicePort {
                number: 443,
                protocol: "TLS".into(),
                name: "tls".into(),
                target_port: Some(8443)
            },
            ServicePort {
                number: 9000,
                protocol: PortProtocol::Unspecified,
                name: String::new(),
                target_port: None
            },
        ]
    );
    assert_eq!(svc.resolution, Resolution::DnsRoundRobin);
    assert_eq!(svc.export_to, vec![".", "istio-system"]);
    assert_eq!(svc.gateway, None);
    assert_eq!(svc.gateway_port, None);
    assert_eq!(svc.tls, None);
    let defaults = &model.services[1];
    assert_eq!(defaults.resolution, Resolution::None);
    assert!(defaults.ports.is_empty());
    assert!(defaults.export_to.is_empty());
}

#[test]
fn service_entry_host_validation() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: hosts, namespace: egress}
spec:
  hosts:
  - "*"
  - foo.*.com
  - foo*.bar.com
  - 10.1.2.3
  - "::1"
  - bad_label.com
  - -lead.com
  - a..b
  - ok.example.com
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: none, namespace: egress}
spec:
  hosts: []
  ports:
  - {number: 0, name: zero}
  - {number: 80, name: a}
  - {number: 80, name: a}
  - name: no-number
  resolution: MAGIC
  location: SOMEWHERE
  addresses: [not-an-ip]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns-wildcard, namespace: egress}
spec:
  hosts: ["*.example.com"]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: no-spec, namespace: egress}
"#;
    let diags = errors(text);
    let r = "ServiceEntry egress/hosts";
    for (i, needle, message) in [
        (0, "\"*\"", "a lone `*`"),
        (1, "foo.*.com", "a `*` may only lead the first label"),
        (2, "foo*.bar.com", "a `*` may only lead the first label"),
        (3, "10.1.2.3", "IP addresses are not hosts"),
        (4, "\"::1\"", "IP addresses are not hosts"),
        (5, "bad_label.com", "label `bad_label` is not a DNS label"),
        (6, "-lead.com", "label `-lead` is not a DNS label"),
        (7, "a..b", "label `` is not a DNS label"),
    ] {
        expect(
            &diags,
            &format!("spec.hosts[{i}]"),
            pos(text, needle),
            r,
            message,
        );
    }
    let r = "ServiceEntry egress/none";
    expect(
        &diags,
        "spec.hosts",
        pos(text, "[]"),
        r,
        "at least one host is required",
    );
    expect(
        &diags,
        "spec.ports[0].number",
        pos(text, "0, name: zero"),
        r,
        "port 0 is not a number in 1..65535",
    );
    expect(
        &diags,
        "spec.ports[2].number",
        pos_nth(text, "80, name: a", 1),
        r,
        "port number 80 is listed more than once",
    );
    expect(
        &diags,
        "spec.ports[2].name",
        pos_nth(text, "a}", 1),
        r,
        "port name `a` is listed more than once",
    );
    expect(
        &diags,
        "spec.ports[3].number",
        pos(text, "name: no-number"),
        r,
        "missing field `number`",
    );
    expect(
        &diags,
        "spec.resolution",
        pos(text, "MAGIC"),
        r,
        "unknown value `MAGIC` for `resolution`",
    );
    expect(
        &diags,
        "spec.location",
        pos(text, "SOMEWHERE"),
        r,
        "unknown value `SOMEWHERE` for `location`",
    );
    expect(
        &diags,
        "spec.addresses[0]",
        pos(text, "not-an-ip"),
        r,
        "invalid address `not-an-ip`",
    );
    expect(
        &diags,
        "spec.hosts[0]",
        pos(text, "\"*.example.com\"]\n  resolution: DNS"),
        "ServiceEntry egress/dns-wildcard",
        "cannot be resolved with resolution DNS",
    );
    expect(
        &diags,
        "spec",
        pos(
            text,
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: no-spec",
        ),
        "ServiceEntry egress/no-spec",
        "missing field `spec`",
    );
    assert_eq!(diags.len(), 18, "{diags:#?}");
}

#[test]
fn service_entry_partial_wildcard_warns() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: partial, namespace: egress}
spec:
  hosts: ["*foo.bar.com", "*-api.example.com"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dynamic, namespace: egress}
spec:
  hosts: ["*foo.bar.com"]
  resolution: DYNAMIC_DNS
"#;
    let model = load(text);
    let warns: Vec<Diagnostic> = warnings(&model).into_iter().cloned().collect();
    assert_eq!(warns.len(), 2, "{warns:#?}");
    expect(
        &warns,
        "spec.hosts[0]",
        pos(text, "\"*foo.bar.com\""),
        "ServiceEntry egress/partial",
        "partial wildcard host `*foo.bar.com`",
    );
    expect(
        &warns,
        "spec.hosts[1]",
        pos(text, "\"*-api"),
        "ServiceEntry egress/partial",
        "partial wildcard",
    );
    assert_eq!(model.services[0].hosts.len(), 2);
}

#[test]
fn service_entry_host_limit() {
    let hosts: Vec<String> = (0..257).map(|i| format!("h{i}.example.com")).collect();
    let text = format!(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: many, namespace: e}}\n\
         spec:\n  hosts: [{}]\n",
        hosts.join(", ")
    );
    let diags = errors(&text);
    expect(
        &diags,
        "spec.hosts",
        (5, 10),
        "ServiceEntry e/many",
        "257 hosts, more than the limit of 256",
    );
    assert_eq!(diags.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Waypoints

const WAYPOINT: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: egress-waypoint
  namespace: egress
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
"#;

fn service_entry_doc(name: &str, namespace: &str, labels: &str) -> String {
    format!(
        "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: {name}\n  \
         namespace: {namespace}\n  labels: {{{labels}}}\nspec:\n  hosts: [{name}.example.com]\n"
    )
}

fn gateway_of<'m>(model: &'m Model, name: &str) -> Option<&'m ResourceRef> {
    model
        .services
        .iter()
        .find(|s| s.id.name == name)
        .unwrap_or_else(|| panic!("no service {name}"))
        .gateway
        .as_ref()
}

#[test]
fn waypoint_linking() {
    let mut text = WAYPOINT.to_string();
    text.push_str(
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    \
         istio.io/use-waypoint: egress-waypoint\n    istio.io/use-waypoint-namespace: egress\n",
    );
    text.push_str(
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: egress\n  labels:\n    \
         istio.io/use-waypoint: egress-waypoint\n",
    );
    text.push_str(&service_entry_doc(
        "own-label",
        "other",
        "istio.io/use-waypoint: egress-waypoint, istio.io/use-waypoint-namespace: egress",
    ));
    text.push_str(&service_entry_doc("from-namespace", "apps", ""));
    text.push_str(&service_entry_doc("same-namespace", "egress", ""));
    text.push_str(&service_entry_doc(
        "opted-out",
        "apps",
        "istio.io/use-waypoint: none",
    ));
    text.push_str(&service_entry_doc("plain", "elsewhere", ""));
    let model = load(&text);
    assert!(warnings(&model).is_empty(), "{:?}", model.warnings);
    let waypoint = ResourceRef::new("Gateway", "egress", "egress-waypoint");
    assert_eq!(gateway_of(&model, "own-label"), Some(&waypoint));
    assert_eq!(gateway_of(&model, "from-namespace"), Some(&waypoint));
    assert_eq!(gateway_of(&model, "same-namespace"), Some(&waypoint));
    assert_eq!(gateway_of(&model, "opted-out"), None);
    assert_eq!(gateway_of(&model, "plain"), None);
    let gw = &model.gateways[0];
    assert_eq!(gw.id, waypoint);
    assert_eq!(gw.kind, GatewayKind::Waypoint);
    assert_eq!(gw.namespace, "egress");
    assert_eq!(gw.ports, vec![15008]);
    assert_eq!(
        gw.labels.get("gateway.networking.k8s.io/gateway-name"),
        Some(&"egress-waypoint".to_string())
    );
}

#[test]
fn unresolved_waypoint_is_kept_with_a_warning() {
    let mut text = service_entry_doc("remote", "apps", "istio.io/use-waypoint: wp");
    text.push_str(
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns2\n  labels:\n    \
         istio.io/use-waypoint: ns-wp\n",
    );
    text.push_str(&service_entry_doc("via-ns", "ns2", ""));
    text.push_str(
        "---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: classic, namespace: apps}\n\
         spec:\n  selector: {istio: egressgateway}\n  servers:\n  - port: {number: 443, name: tls, protocol: TLS}\n    \
         hosts: [\"*\"]\n",
    );
    text.push_str(&service_entry_doc(
        "not-a-waypoint",
        "apps",
        "istio.io/use-waypoint: classic",
    ));
    let model = load(&text);
    assert_eq!(
        gateway_of(&model, "remote"),
        Some(&ResourceRef::new("Gateway", "apps", "wp"))
    );
    assert_eq!(
        gateway_of(&model, "via-ns"),
        Some(&ResourceRef::new("Gateway", "ns2", "ns-wp"))
    );
    let warns: Vec<Diagnostic> = warnings(&model).into_iter().cloned().collect();
    assert_eq!(warns.len(), 3, "{warns:#?}");
    expect(
        &warns,
        "metadata.labels.istio.io/use-waypoint",
        pos(&text, "apiVersion"),
        "ServiceEntry apps/remote",
        "waypoint Gateway apps/wp named by label `istio.io/use-waypoint` is not among the loaded",
    );
    expect(
        &warns,
        "metadata.namespace",
        pos_nth(
            &text,
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry",
            1,
        ),
        "ServiceEntry ns2/via-ns",
        "named by namespace ns2",
    );
    expect(
        &warns,
        "metadata.labels.istio.io/use-waypoint",
        pos_nth(
            &text,
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry",
            2,
        ),
        "ServiceEntry apps/not-a-waypoint",
        "is not a waypoint",
    );
}
