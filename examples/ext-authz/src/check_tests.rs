use super::*;
use envoy_types::ext_authz::v3::pb::HeaderValue as PbHeader;
use envoy_types::pb::envoy::config::core::v3::{HeaderMap, SocketAddress};
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

fn waypoint() -> Mapping {
    Mapping {
        workload: Some(parse_workload("istio-egress/egress-waypoint").unwrap()),
        source_header: Some("x-egress-source".into()),
        ..Mapping::default()
    }
}

#[test]
fn maps_attributes() {
    let mapping = waypoint();
    let r = to_request(
        &mapping,
        &check("spiffe://td/ns/a/sa/b", "GET", "/get?x", &[("X-A", "1")]),
    )
    .unwrap();
    assert_eq!(r.source.principal.as_deref(), Some("spiffe://td/ns/a/sa/b"));
    assert_eq!(r.source.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.host.as_deref(), Some("httpbin.org"));
    assert_eq!(r.path.as_deref(), Some("/get?x"));
    assert_eq!(r.sni.as_deref(), Some("sni.example"));
    assert_eq!(r.headers.get("x-a"), Some(&HeaderValue::One("1".into())));
    assert!(!r.headers.contains_key(":path"));
    assert_eq!(r.workload, mapping.workload);
    let r = to_request(
        &mapping,
        &check("", "GET", "/", &[("x-egress-source", "ns/x")]),
    )
    .unwrap();
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
    )
    .unwrap();
    assert_eq!(r.source.principal.as_deref(), Some("spiffe://a/b"));
}

#[test]
fn ambiguous_identity_is_refused() {
    let mapping = waypoint();
    // Envoy joins repeated headers with a comma.
    let joined = check("", "GET", "/get", &[("x-egress-source", "ns/a,ns/b")]);
    let denial = to_request(&mapping, &joined).unwrap_err();
    assert_eq!((denial.status, denial.reason), (400, "ambiguous_identity"));
    // With `encode_raw_headers` every occurrence is its own entry.
    let mut raw = check("", "GET", "/get", &[]);
    if let Some(http) = raw
        .attributes
        .as_mut()
        .and_then(|a| a.request.as_mut())
        .and_then(|r| r.http.as_mut())
    {
        http.header_map = Some(HeaderMap {
            headers: ["ns/a", "ns/b"]
                .iter()
                .map(|v| PbHeader {
                    key: "x-egress-source".into(),
                    raw_value: v.as_bytes().to_vec(),
                    ..Default::default()
                })
                .collect(),
        });
    }
    let answer = respond(&mapping, &engine(), 3, to_request(&mapping, &raw));
    assert_eq!((answer.status, answer.reason), (400, "ambiguous_identity"));
    // A peer certificate wins; the header is then not read at all.
    assert!(to_request(
        &mapping,
        &check("spiffe://a", "GET", "/", &[("x-egress-source", "a,b")])
    )
    .is_ok());
}

#[test]
fn limits_are_enforced() {
    let mapping = Mapping {
        limits: Limits {
            max_headers: 3,
            max_header_bytes: 100,
        },
        ..waypoint()
    };
    assert!(to_request(&mapping, &check("", "GET", "/", &[])).is_ok());
    let many = check("", "GET", "/", &[("a", "1"), ("b", "2")]);
    assert_eq!(to_request(&mapping, &many).unwrap_err().status, 400);
    let long = "x".repeat(200);
    let big = check("", "GET", "/", &[("a", long.as_str())]);
    let denial = to_request(&mapping, &big).unwrap_err();
    assert!(denial.body.contains("limits"), "{denial:?}");
}

#[test]
fn allow_carries_header_mutations_and_deny_the_policy() {
    let engine = engine();
    let mapping = Mapping {
        test_mode: true,
        ..waypoint()
    };
    let ok = respond(
        &mapping,
        &engine,
        7,
        to_request(&mapping, &check("", "GET", "/get", &[])),
    );
    assert_eq!(ok.response.status.as_ref().map(|s| s.code), Some(0));
    assert_eq!((ok.status, ok.reason), (200, "allowed_by_policy"));
    match ok.response.http_response {
        Some(HttpResponse::OkResponse(ok)) => {
            let headers: Vec<_> = ok
                .headers
                .iter()
                .filter_map(|h| h.header.as_ref())
                .map(|h| (h.key.as_str(), h.value.as_str()))
                .collect();
            assert_eq!(headers, vec![("my-added-header", "added-value")]);
            assert_eq!(ok.headers_to_remove, vec!["x-egress-source".to_string()]);
            let generation: Vec<_> = ok
                .response_headers_to_add
                .iter()
                .filter_map(|h| h.header.as_ref())
                .map(|h| (h.key.as_str(), h.value.as_str()))
                .collect();
            assert_eq!(generation, vec![(GENERATION_HEADER, "7")]);
        }
        other => panic!("{other:?}"),
    }
    let denied = respond(
        &mapping,
        &engine,
        7,
        to_request(&mapping, &check("", "GET", "/get/../post", &[])),
    );
    assert_eq!(denied.response.status.as_ref().map(|s| s.code), Some(7));
    match denied.response.http_response {
        Some(HttpResponse::DeniedResponse(d)) => {
            assert_eq!(
                d.status.map(|s| s.code),
                Some(HttpStatusCode::Forbidden as i32)
            );
            assert_eq!(d.body, egress_policy::response::ACCESS_DENIED);
            assert!(d
                .headers
                .iter()
                .filter_map(|h| h.header.as_ref())
                .any(|h| h.key == GENERATION_HEADER && h.value == "7"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_attributes_are_answered() {
    let engine = engine();
    let mapping = waypoint();
    let empty = CheckRequest::default();
    let answer = respond(&mapping, &engine, 0, to_request(&mapping, &empty));
    assert!(answer.status >= 400, "{answer:?}");
    for (authority, path) in [
        ("httpbin.org", "/get\0/x"),
        ("httpbin.org\0evil", "/get"),
        ("httpbin.org:99999999", "/get"),
        ("httpbin.org:-1", "/get"),
        ("", ""),
    ] {
        let mut c = check("", "GET", path, &[]);
        if let Some(http) = c
            .attributes
            .as_mut()
            .and_then(|a| a.request.as_mut())
            .and_then(|r| r.http.as_mut())
        {
            http.host = authority.into();
        }
        let answer = respond(&mapping, &engine, 0, to_request(&mapping, &c));
        assert_ne!(answer.status, 200, "{authority:?} {path:?}: {answer:?}");
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
    assert_eq!(parse_workload("ns").unwrap().namespace, "ns");
    assert!(parse_workload("").is_err());
    assert!(parse_workload("ns/").is_err());
}

/// A DENY on `request.headers[X-Team]` added to the TLS scenario.
const TEAM_DENY: &str = r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-blocked-team, namespace: istio-egress}
spec:
  targetRefs:
  - {kind: Gateway, group: gateway.networking.k8s.io, name: egress-waypoint}
  action: DENY
  rules:
  - when: [{key: "request.headers[X-Team]", values: ["blocked"]}]
"#;

fn engine_with_team_deny() -> Engine {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/istio-waypoint-tls");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.push(("team.yaml".into(), TEAM_DENY.into()));
    Engine::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap()
}

fn with_raw(mut c: CheckRequest, raw: &[(&str, &[u8])]) -> CheckRequest {
    if let Some(http) = c
        .attributes
        .as_mut()
        .and_then(|a| a.request.as_mut())
        .and_then(|r| r.http.as_mut())
    {
        http.header_map = Some(HeaderMap {
            headers: raw
                .iter()
                .map(|(k, v)| PbHeader {
                    key: (*k).into(),
                    raw_value: v.to_vec(),
                    ..Default::default()
                })
                .collect(),
        });
    }
    c
}

#[test]
fn only_headers_a_policy_reads_are_copied_and_answers_do_not_change() {
    let engine = engine_with_team_deny();
    let needs = Needs::of(engine.model());
    assert_eq!(needs.headers(), Some(&["x-team".to_string()][..]));
    assert!(needs.wants("X-Team") && !needs.wants("x-other"));
    assert!(Needs::ALL.wants("x-other"));
    let mapping = waypoint();
    let cases: Vec<CheckRequest> = vec![
        check("", "GET", "/get", &[]),
        check("", "GET", "/get", &[("X-Team", "blocked")]),
        check("", "GET", "/get", &[("x-team", "ok"), ("x-other", "1")]),
        check("", "GET", "/get", &[("bad name", "1")]),
        check("", "GET", "/get", &[("x-egress-source", "ns/a,ns/b")]),
        check("", "GET", "/get", &[("x-egress-source", "istio-egress/x")]),
        check("", "POST", "/post", &[("x-other", "1")]),
        with_raw(check("", "GET", "/get", &[]), &[("x-team", b"blocked")]),
        with_raw(check("", "GET", "/get", &[]), &[("x-other", b"\xff")]),
        with_raw(
            check("", "GET", "/get", &[]),
            &[("X-Team", b"a"), ("x-team", b"blocked")],
        ),
        with_raw(
            check("", "GET", "/get", &[]),
            &[("Host", b"h"), ("host", b"i")],
        ),
    ];
    let mut denied_by_team = 0;
    for c in &cases {
        let all = respond(&mapping, &engine, 0, to_request(&mapping, c));
        let read = respond(&mapping, &engine, 0, map_request(&mapping, &needs, c));
        assert_eq!(all.response, read.response, "{c:?}");
        assert_eq!((all.status, all.reason), (read.status, read.reason));
        // What the server runs: the view borrowed from the check, nothing copied.
        for needs in [&needs, &Needs::ALL] {
            let viewed = respond_view(&mapping, &engine, 0, map_view(&mapping, needs, c));
            assert_eq!(all.response, viewed.response, "{c:?}");
            assert_eq!((all.status, all.reason), (viewed.status, viewed.reason));
        }
        denied_by_team += usize::from(all.reason == "denied_by_policy");
    }
    // The DENY does fire (a header the decision reads is copied).
    assert!(denied_by_team >= 2, "{denied_by_team}");
    // An unread header is not copied; the invalid name is (it makes the request 400).
    let r = map_request(
        &mapping,
        &needs,
        &check("", "GET", "/get", &[("x-other", "1"), ("X-Team", "a")]),
    )
    .unwrap();
    assert_eq!(r.headers.keys().collect::<Vec<_>>(), ["x-team"]);
    let r = map_request(&mapping, &needs, &check("", "GET", "/get", &[("a b", "1")])).unwrap();
    assert_eq!(r.headers.keys().collect::<Vec<_>>(), ["a b"]);
    let bad = respond(&mapping, &engine, 0, Ok(r));
    assert_eq!(bad.status, 400);
}
