//! The filter's callbacks against a recording host: what it asks Envoy for, and what it
//! tells Envoy to do, per decision.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::headers::HeaderMap;
use crate::{on_request_headers, Flow, Host, HostStatus, LogLevel, Root};

const PRODUCTPAGE: &str = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";

/// A host that serves a configuration, properties and request headers, and records
/// every call the filter makes.
#[derive(Default)]
struct FakeHost {
    configuration: Vec<u8>,
    properties: BTreeMap<String, Vec<u8>>,
    failing_property: Option<String>,
    headers: Vec<(String, String)>,
    raw_headers: Option<Vec<u8>>,
    failing_changes: bool,
    calls: RefCell<Vec<String>>,
    logs: RefCell<Vec<(LogLevel, String)>>,
}

impl FakeHost {
    fn record(&self, call: String) {
        self.calls.borrow_mut().push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    fn change(&self, call: String) -> Result<(), HostStatus> {
        self.record(call);
        if self.failing_changes {
            Err(HostStatus(2))
        } else {
            Ok(())
        }
    }
}

impl Host for FakeHost {
    fn plugin_configuration(&self) -> Vec<u8> {
        self.configuration.clone()
    }

    fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, HostStatus> {
        let key = path.join(".");
        self.record(format!("property {key}"));
        if self.failing_property.as_deref() == Some(key.as_str()) {
            return Err(HostStatus(10));
        }
        Ok(self.properties.get(&key).cloned())
    }

    fn request_headers(&self) -> Result<HeaderMap, HostStatus> {
        self.record("request_headers".into());
        Ok(HeaderMap::from_serialized(match &self.raw_headers {
            Some(raw) => raw.clone(),
            None => {
                HeaderMap::serialize(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            }
        }))
    }

    fn send_local_response(
        &self,
        status: u32,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), HostStatus> {
        self.record(format!(
            "reply {status} {headers:?} {}",
            String::from_utf8_lossy(body)
        ));
        Ok(())
    }

    fn add_request_header(&self, name: &str, value: &str) -> Result<(), HostStatus> {
        self.change(format!("add {name}: {value}"))
    }

    fn replace_request_header(&self, name: &str, value: &str) -> Result<(), HostStatus> {
        self.change(format!("replace {name}: {value}"))
    }

    fn remove_request_header(&self, name: &str) -> Result<(), HostStatus> {
        self.change(format!("remove {name}"))
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }
}

/// The seed scenario's waypoint (GET /get to httpbin.org allowed, a VirtualService header
/// added), with the stand-in identity header.
fn configuration() -> serde_json::Value {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policies/istio-waypoint-tls"
    );
    let mut files = serde_json::Map::new();
    for name in [
        "httpbin-authz.yaml",
        "httpbin-destinationrule.yaml",
        "httpbin-serviceentry.yaml",
        "httpbin-virtualservice.yaml",
        "waypoint.yaml",
    ] {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        files.insert(name.into(), text.into());
    }
    serde_json::json!({
        "files": files,
        "source_header": "x-egress-source",
        "workload": "istio-egress/egress-waypoint",
    })
}

/// A host serving `configuration`.
fn host_with(configuration: &serde_json::Value) -> FakeHost {
    FakeHost {
        configuration: configuration.to_string().into_bytes(),
        ..FakeHost::default()
    }
}

fn request(method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = [
        (":authority", "httpbin.org"),
        (":method", method),
        (":path", path),
        (":scheme", "http"),
    ]
    .iter()
    .chain(extra)
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    headers.push(("user-agent".into(), "test".into()));
    headers
}

fn configured(host: &FakeHost) -> Root {
    let mut root = Root::default();
    assert!(root.configure(host), "{:?}", host.logs.borrow());
    root
}

#[test]
fn an_allowed_request_gets_its_routes_changes_and_loses_the_stand_in_identity() {
    let mut host = host_with(&configuration());
    let root = configured(&host);
    assert!(host
        .logs
        .borrow()
        .iter()
        .any(|(level, m)| *level == LogLevel::Info && m.contains("loaded")));
    host.headers = request("GET", "/x/../get", &[("x-egress-source", PRODUCTPAGE)]);
    host.calls.borrow_mut().clear();
    let settings = root.settings();
    assert_eq!(
        on_request_headers(settings.as_deref(), &host),
        Flow::Continue
    );
    assert_eq!(
        host.calls(),
        [
            // No policy reads addresses or the SNI: the peer certificate only.
            "property connection.uri_san_peer_certificate",
            "request_headers",
            "remove x-egress-source",
            "add my-added-header: added-value",
            "replace :path: /get",
        ]
    );
}

#[test]
fn a_denied_request_is_answered_locally_with_the_decisions_status_and_reason() {
    let mut host = host_with(&configuration());
    let root = configured(&host);
    host.headers = request("POST", "/post", &[("x-egress-source", PRODUCTPAGE)]);
    host.calls.borrow_mut().clear();
    assert_eq!(
        on_request_headers(root.settings().as_deref(), &host),
        Flow::Pause
    );
    assert_eq!(
        host.calls().last().map(String::as_str),
        Some(
            r#"reply 403 [("x-egress-policy", "-"), ("x-egress-reason", "no_allow_match")] RBAC: access denied"#
        )
    );
    // Nothing of the request is changed on a denial.
    assert!(!host.calls().iter().any(|c| c.starts_with("remove")));
}

#[test]
fn the_peer_certificate_is_the_identity_when_there_is_one() {
    let mut config = configuration();
    let authz = config["files"]["httpbin-authz.yaml"]
        .as_str()
        .unwrap_or_default();
    let productpage_only = authz.replacen(
        "  - to:",
        &format!("  - from: [{{source: {{principals: [{PRODUCTPAGE}]}}}}]\n    to:"),
        1,
    );
    assert_ne!(productpage_only, authz, "the seed policy changed shape");
    config["files"]["httpbin-authz.yaml"] = productpage_only.into();
    let mut host = host_with(&config);
    let root = configured(&host);
    host.properties.insert(
        "connection.uri_san_peer_certificate".into(),
        format!("spiffe://{PRODUCTPAGE}").into_bytes(),
    );
    // A stand-in header naming someone else does not count next to a certificate.
    host.headers = request(
        "GET",
        "/get",
        &[("x-egress-source", "cluster.local/ns/x/sa/y")],
    );
    assert_eq!(
        on_request_headers(root.settings().as_deref(), &host),
        Flow::Continue
    );
    host.properties.insert(
        "connection.uri_san_peer_certificate".into(),
        b"spiffe://cluster.local/ns/x/sa/y".to_vec(),
    );
    host.headers = request("GET", "/get", &[("x-egress-source", PRODUCTPAGE)]);
    assert_eq!(
        on_request_headers(root.settings().as_deref(), &host),
        Flow::Pause
    );
    // Without a certificate the stand-in header is the identity.
    host.properties.clear();
    assert_eq!(
        on_request_headers(root.settings().as_deref(), &host),
        Flow::Continue
    );
}

#[test]
fn failures_answer_rather_than_let_through() {
    // A refused configuration: logged, and a context created anyway answers 503.
    let host = FakeHost {
        configuration: b"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nspec: ["
            .to_vec(),
        ..FakeHost::default()
    };
    let mut root = Root::default();
    assert!(!root.configure(&host));
    assert!(host
        .logs
        .borrow()
        .iter()
        .any(|(level, m)| *level == LogLevel::Critical && m.contains("configuration rejected")));
    assert!(root.settings().is_none());
    assert_eq!(on_request_headers(None, &host), Flow::Pause);
    assert!(host
        .calls()
        .last()
        .is_some_and(|c| c.starts_with("reply 503") && c.contains("not_configured")));

    let mut host = host_with(&configuration());
    let root = configured(&host);
    let settings = root.settings();
    // An unreadable header map: 400.
    host.raw_headers = Some(vec![9, 0, 0, 0, 1]);
    assert_eq!(on_request_headers(settings.as_deref(), &host), Flow::Pause);
    assert!(host
        .calls()
        .last()
        .is_some_and(|c| c.starts_with("reply 400")));
    // A property Envoy fails to read: 503, not a decision without the identity.
    host.raw_headers = None;
    host.headers = request("GET", "/get", &[("x-egress-source", PRODUCTPAGE)]);
    host.failing_property = Some("connection.uri_san_peer_certificate".into());
    assert_eq!(on_request_headers(settings.as_deref(), &host), Flow::Pause);
    assert!(host
        .calls()
        .last()
        .is_some_and(|c| c.starts_with("reply 503") && c.contains("host_error")));
    // The route's changes cannot be made: 503, the request does not leave unchanged.
    host.failing_property = None;
    host.failing_changes = true;
    host.calls.borrow_mut().clear();
    assert_eq!(on_request_headers(settings.as_deref(), &host), Flow::Pause);
    let calls = host.calls();
    assert!(calls.iter().any(|c| c == "remove x-egress-source"));
    assert!(calls.last().is_some_and(|c| c.starts_with("reply 503")));
}

#[test]
fn what_the_policies_read_decides_which_properties_are_asked_for() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policies/istio-waypoint-tls"
    );
    let authz = std::fs::read_to_string(format!("{dir}/httpbin-authz.yaml")).unwrap();
    let with_ip = authz.replacen(
        "  rules:\n",
        "  rules:\n  - from:\n    - source:\n        ipBlocks: [10.0.0.0/8]\n    when: [{key: connection.sni, values: [httpbin.org]}]\n    to: [{operation: {methods: [HEAD]}}]\n",
        1,
    );
    assert_ne!(with_ip, authz, "the seed policy changed shape");
    let mut config = configuration();
    config["files"]["httpbin-authz.yaml"] = with_ip.into();
    let mut host = host_with(&config);
    let root = configured(&host);
    host.headers = request("GET", "/get", &[("x-egress-source", PRODUCTPAGE)]);
    host.calls.borrow_mut().clear();
    assert_eq!(
        on_request_headers(root.settings().as_deref(), &host),
        Flow::Continue
    );
    let properties: Vec<String> = host
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("property"))
        .collect();
    assert_eq!(
        properties,
        [
            "property connection.uri_san_peer_certificate",
            "property source.address",
            "property connection.requested_server_name",
        ]
    );
}

#[test]
fn without_a_workload_the_filter_decides_as_the_node() {
    let mut config = configuration();
    if let Some(config) = config.as_object_mut() {
        config.remove("workload");
    }
    let mut host = host_with(&config);
    // No node metadata: refused.
    assert!(!Root::default().configure(&host));
    // Istio's node metadata (with the `xds.` prefix of current Envoy versions).
    host.properties.insert(
        "xds.node.metadata.NAMESPACE".into(),
        b"istio-egress".to_vec(),
    );
    host.properties.insert(
        "xds.node.metadata.LABELS.gateway.networking.k8s.io/gateway-name".into(),
        b"egress-waypoint".to_vec(),
    );
    let root = configured(&host);
    let settings = root.settings();
    let workload = settings.as_ref().and_then(|s| s.workload.as_ref());
    assert_eq!(workload.map(|w| w.namespace.as_str()), Some("istio-egress"));
}
