//! `CheckRequest` → core [`Request`], and the core's verdict → `CheckResponse`.

use std::collections::BTreeMap;

use egress_policy::request::{xfcc_uri, HeaderValue, RequestSource, Workload};
use egress_policy::{Engine, Reason, Request};
use envoy_types::ext_authz::v3::pb::{
    Address, CheckRequest, CheckResponse, HeaderAppendAction, HttpStatusCode,
};
use envoy_types::ext_authz::v3::{
    CheckResponseExt, DeniedHttpResponseBuilder, OkHttpResponseBuilder,
};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::Peer;

/// The body Envoy's own RBAC filter answers a denial with.
pub const ACCESS_DENIED: &str = "RBAC: access denied";
/// The response header naming the deciding policy (`-` when no single policy decided).
pub const POLICY_HEADER: &str = "x-egress-policy";
/// The response header carrying the reason code.
pub const REASON_HEADER: &str = "x-egress-reason";

/// How requests are mapped (from the command line).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The enforcing proxy; `None` = the gateway the registry routes the host to.
    pub workload: Option<Workload>,
    /// A header carrying the principal when Envoy reports no peer principal (lower case).
    pub source_header: Option<String>,
    /// Read `URI=` of `x-forwarded-client-cert` when Envoy reports no peer principal.
    pub use_xfcc: bool,
    /// A fixed destination port; by default the port of the authority, else 80.
    pub port: Option<u16>,
}

/// Maps Envoy's `CheckRequest` attributes to the core's request.
pub fn to_request(mapping: &Mapping, check: &CheckRequest) -> Request {
    let mut request = Request {
        workload: mapping.workload.clone(),
        port: mapping.port,
        ..Request::default()
    };
    let Some(attributes) = check.attributes.as_ref() else {
        return request;
    };
    let http = attributes.request.as_ref().and_then(|r| r.http.as_ref());
    let mut headers = BTreeMap::new();
    if let Some(http) = http {
        request.host = non_empty(&http.host);
        request.method = non_empty(&http.method);
        request.path = non_empty(&http.path);
        for (name, value) in &http.headers {
            if !name.starts_with(':') {
                // Envoy already joined repeated headers with `,`.
                headers.insert(name.to_ascii_lowercase(), HeaderValue::One(value.clone()));
            }
        }
    }
    let header = |name: &str| match headers.get(name) {
        Some(HeaderValue::One(v)) if !v.is_empty() => Some(v.clone()),
        _ => None,
    };
    let source = attributes.source.as_ref();
    let principal = source
        .and_then(|s| non_empty(&s.principal))
        .or_else(|| {
            mapping
                .use_xfcc
                .then(|| header("x-forwarded-client-cert"))
                .flatten()
                .and_then(|v| xfcc_uri(&v))
        })
        .or_else(|| mapping.source_header.as_deref().and_then(header));
    request.source = RequestSource {
        principal,
        ip: source.and_then(peer_ip),
        ..RequestSource::default()
    };
    request.destination_ip = attributes.destination.as_ref().and_then(peer_ip);
    request.sni = attributes
        .tls_session
        .as_ref()
        .and_then(|t| non_empty(&t.sni));
    request.headers = headers;
    request
}

/// Decides `request` and builds Envoy's answer.
pub fn respond(engine: &Engine, request: &Request) -> CheckResponse {
    let prepared = engine.prepare(request);
    let verdict = engine.decide_prepared(&prepared);
    if verdict.allowed() {
        let mut ok = OkHttpResponseBuilder::new();
        if let Some((_, mutations)) = verdict.route().and_then(|r| r.headers) {
            for name in &mutations.remove {
                ok.remove_header(name.as_str());
            }
            for (name, value) in &mutations.set {
                ok.add_header(
                    name.as_str(),
                    value.as_str(),
                    Some(HeaderAppendAction::OverwriteIfExistsOrAdd),
                    true,
                );
            }
            for (name, value) in &mutations.add {
                ok.add_header(
                    name.as_str(),
                    value.as_str(),
                    Some(HeaderAppendAction::AppendIfExistsOrAdd),
                    true,
                );
            }
        }
        let mut response = CheckResponse::with_status(tonic::Status::ok("allowed"));
        response.set_http_response(ok);
        return response;
    }
    let reason = verdict.reason();
    let policy = verdict
        .policy()
        .map_or_else(|| "-".to_string(), |(p, _)| p.to_string());
    let (code, body) = match reason {
        Reason::MalformedRequest => (
            HttpStatusCode::BadRequest,
            "egress-policy: malformed request",
        ),
        Reason::NotInRegistry => (
            HttpStatusCode::BadGateway,
            "egress-policy: destination not in the registry (REGISTRY_ONLY)",
        ),
        _ => (HttpStatusCode::Forbidden, ACCESS_DENIED),
    };
    let mut denied = DeniedHttpResponseBuilder::new();
    denied
        .set_http_status(code)
        .add_header(POLICY_HEADER, policy, None, true)
        .add_header(REASON_HEADER, reason.as_str(), None, true)
        .add_header("content-type", "text/plain", None, true)
        .set_body(body);
    let mut response =
        CheckResponse::with_status(tonic::Status::permission_denied(reason.as_str()));
    response.set_http_response(denied);
    response
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

fn peer_ip(peer: &Peer) -> Option<String> {
    match peer.address.as_ref()?.address.as_ref()? {
        Address::SocketAddress(socket) => non_empty(&socket.address),
        _ => None,
    }
}

/// Parses `--workload`: `NS`, `NS/NAME` (the Gateway-API gateway or waypoint `NAME`) or
/// `NS/key=value,key=value` (pod labels).
pub fn parse_workload(text: &str) -> Result<Workload, String> {
    let (namespace, rest) = match text.split_once('/') {
        Some((ns, rest)) => (ns, Some(rest)),
        None => (text, None),
    };
    if namespace.is_empty() {
        return Err(format!("workload `{text}` has an empty namespace"));
    }
    let mut labels = BTreeMap::new();
    match rest {
        None => {}
        Some(rest) if rest.contains('=') => {
            for pair in rest.split(',') {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("workload label `{pair}` is not key=value"))?;
                labels.insert(k.to_string(), v.to_string());
            }
        }
        Some(name) if !name.is_empty() => {
            labels.insert(
                egress_policy::model::GATEWAY_NAME_LABEL.to_string(),
                name.to_string(),
            );
        }
        Some(_) => return Err(format!("workload `{text}` has an empty name")),
    }
    Ok(Workload {
        namespace: namespace.to_string(),
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::core::v3::SocketAddress;
    use envoy_types::pb::envoy::service::auth::v3::attribute_context::{
        HttpRequest, Request as AttrRequest, TlsSession,
    };
    use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
    use envoy_types::pb::envoy::service::auth::v3::AttributeContext;

    fn engine() -> Engine {
        Engine::from_paths(&[concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../policies/istio-waypoint-tls"
        )])
        .unwrap()
    }

    fn check(principal: &str, method: &str, path: &str, extra: &[(&str, &str)]) -> CheckRequest {
        let mut headers: std::collections::HashMap<String, String> = [
            (":authority", "httpbin.org"),
            (":method", method),
            (":path", path),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        CheckRequest {
            attributes: Some(AttributeContext {
                source: Some(Peer {
                    principal: principal.into(),
                    address: Some(envoy_types::pb::envoy::config::core::v3::Address {
                        address: Some(Address::SocketAddress(SocketAddress {
                            address: "127.0.0.1".into(),
                            ..Default::default()
                        })),
                    }),
                    ..Default::default()
                }),
                request: Some(AttrRequest {
                    http: Some(HttpRequest {
                        host: "httpbin.org".into(),
                        method: method.into(),
                        path: path.into(),
                        headers,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                tls_session: Some(TlsSession {
                    sni: "sni.example".into(),
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn maps_attributes() {
        let mapping = Mapping {
            source_header: Some("x-egress-source".into()),
            ..Mapping::default()
        };
        let r = to_request(
            &mapping,
            &check("spiffe://td/ns/a/sa/b", "GET", "/get?x", &[("X-A", "1")]),
        );
        assert_eq!(r.source.principal.as_deref(), Some("spiffe://td/ns/a/sa/b"));
        assert_eq!(r.source.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.host.as_deref(), Some("httpbin.org"));
        assert_eq!(r.path.as_deref(), Some("/get?x"));
        assert_eq!(r.sni.as_deref(), Some("sni.example"));
        assert_eq!(r.headers.get("x-a"), Some(&HeaderValue::One("1".into())));
        assert!(!r.headers.contains_key(":path"));
        let r = to_request(
            &mapping,
            &check("", "GET", "/", &[("x-egress-source", "ns/x")]),
        );
        assert_eq!(r.source.principal.as_deref(), Some("ns/x"));
        let xfcc = Mapping {
            use_xfcc: true,
            ..Mapping::default()
        };
        let r = to_request(
            &xfcc,
            &check(
                "",
                "GET",
                "/",
                &[("x-forwarded-client-cert", "Hash=1;URI=spiffe://a/b")],
            ),
        );
        assert_eq!(r.source.principal.as_deref(), Some("spiffe://a/b"));
    }

    #[test]
    fn allow_carries_header_mutations_and_deny_the_policy() {
        let engine = engine();
        let mapping = Mapping::default();
        let ok = respond(
            &engine,
            &to_request(&mapping, &check("", "GET", "/get", &[])),
        );
        assert_eq!(ok.status.as_ref().map(|s| s.code), Some(0));
        match ok.http_response {
            Some(HttpResponse::OkResponse(ok)) => {
                let headers: Vec<_> = ok
                    .headers
                    .iter()
                    .filter_map(|h| h.header.as_ref())
                    .map(|h| (h.key.as_str(), h.value.as_str()))
                    .collect();
                assert_eq!(headers, vec![("my-added-header", "added-value")]);
            }
            other => panic!("{other:?}"),
        }
        let denied = respond(
            &engine,
            &to_request(&mapping, &check("", "GET", "/get/../post", &[])),
        );
        assert_eq!(denied.status.as_ref().map(|s| s.code), Some(7));
        match denied.http_response {
            Some(HttpResponse::DeniedResponse(d)) => {
                assert_eq!(
                    d.status.map(|s| s.code),
                    Some(HttpStatusCode::Forbidden as i32)
                );
                assert_eq!(d.body, ACCESS_DENIED);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn workloads() {
        let w = parse_workload("istio-egress/egress-waypoint").unwrap();
        assert_eq!(
            w.labels
                .get(egress_policy::model::GATEWAY_NAME_LABEL)
                .map(String::as_str),
            Some("egress-waypoint")
        );
        let w = parse_workload("tsb-egress/app=tsb-egress,x=y").unwrap();
        assert_eq!(w.labels.len(), 2);
        assert!(parse_workload("").is_err());
        assert!(parse_workload("ns/").is_err());
        assert_eq!(xfcc_uri("a=1,URI=\"x\""), Some("x".into()));
    }
}
