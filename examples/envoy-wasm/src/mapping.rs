//! From what Envoy shows the filter to a core [`Request`], and from the core's verdict to
//! what the filter does. Pure functions, tested natively.

use std::borrow::Cow;

use egress_policy::request::{
    normalize_path, xfcc_uri, HeaderValue, Headers, RequestRef, RequestSource,
};
use egress_policy::response::{identity_from_header, Denial};
use egress_policy::Request;

use crate::config::Settings;

pub use egress_policy::response::{ACCESS_DENIED, POLICY_HEADER, REASON_HEADER};

/// Connection facts the filter reads from Envoy properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    /// First URI SAN of the peer certificate (`connection.uri_san_peer_certificate`).
    pub peer_uri_san: Option<String>,
    /// Downstream peer address, `ip:port` (`source.address`).
    pub source_address: Option<String>,
    /// Local address the request arrived on, `ip:port` (`destination.address`).
    pub destination_address: Option<String>,
    /// TLS SNI (`connection.requested_server_name`).
    pub sni: Option<String>,
}

/// What the filter does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Let the request continue, after these changes.
    Allow {
        /// Headers appended.
        add: Vec<(String, String)>,
        /// Headers overwritten.
        set: Vec<(String, String)>,
        /// Headers removed.
        remove: Vec<String>,
        /// The new `:path`, when normalisation changed it.
        path: Option<String>,
    },
    /// Answer locally.
    Deny {
        /// HTTP status (the decision's: 400, 401, 403, 404, 502, 503, ...).
        status: u32,
        /// Response body.
        body: Cow<'static, str>,
        /// The deciding policy (`Kind namespace/name`), or `-`: the `x-egress-policy` header.
        policy: String,
        /// The reason code: the `x-egress-reason` header.
        reason: &'static str,
    },
}

/// Builds the core request from the request headers (pseudo-headers included, as Envoy
/// lists them) and the connection. Fails (the filter answers 400) when a header the
/// decision reads is not UTF-8, or the identity header is ambiguous.
pub fn build_request(
    settings: &Settings,
    headers: &[(String, String)],
    connection: Connection,
) -> Result<Request, Denial> {
    let mut request = Request {
        workload: settings.workload.clone(),
        port: settings.port,
        ..Request::default()
    };
    let pairs = headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()));
    fill_request(settings, &mut request, pairs, connection)?;
    Ok(request)
}

/// Like [`build_request`], from raw header pairs into a request reused from one call to
/// the next: the fields that never change (`workload`, `port`) stay in place, every other
/// field is replaced.
pub fn fill_request<'h>(
    settings: &Settings,
    request: &mut Request,
    headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    connection: Connection,
) -> Result<(), Denial> {
    let read = read(settings, headers, &connection)?;
    request.host = read.host.map(str::to_string);
    request.method = read.method.map(str::to_string);
    request.path = read.path.map(str::to_string);
    request.headers.clear();
    for (name, value) in read.headers {
        let value = value.to_string();
        match request.headers.get_mut(name) {
            Some(HeaderValue::Many(values)) => values.push(value),
            Some(HeaderValue::One(first)) => {
                let first = std::mem::take(first);
                request
                    .headers
                    .insert(name.to_string(), HeaderValue::Many(vec![first, value]));
            }
            None => {
                request
                    .headers
                    .insert(name.to_string(), HeaderValue::One(value));
            }
        }
    }
    request.source = RequestSource {
        principal: read.principal.map(Cow::into_owned),
        ip: read.source_ip.map(str::to_string),
        ..RequestSource::default()
    };
    request.destination_ip = read.destination_ip.map(str::to_string);
    request.sni = read.sni.map(str::to_string);
    Ok(())
}

/// What the mapping reads of one request, borrowed from the header map and the connection.
struct Read<'a> {
    host: Option<&'a str>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    /// The headers some policy or route reads, in arrival order.
    headers: Vec<(&'a str, &'a str)>,
    principal: Option<Cow<'a, str>>,
    source_ip: Option<&'a str>,
    destination_ip: Option<&'a str>,
    sni: Option<&'a str>,
}

/// Reads the request headers (pseudo-headers included) and the connection. Fails (the
/// filter answers 400) when a header the decision reads is not UTF-8, or the identity
/// header is ambiguous.
fn read<'a, 'h: 'a, 'c: 'a>(
    settings: &Settings,
    headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    connection: &'c Connection,
) -> Result<Read<'a>, Denial> {
    // Only the headers some policy or route reads are kept (the others cannot change the
    // decision).
    let wanted = |name: &str| {
        settings
            .needs
            .headers
            .binary_search_by(|h| h.as_str().cmp(name))
            .is_ok()
    };
    let text = |name: &[u8], value: &'h [u8]| {
        std::str::from_utf8(value).map_err(|_| {
            Denial::malformed(&format!(
                "header `{}` is not UTF-8",
                String::from_utf8_lossy(name).escape_default()
            ))
        })
    };
    let (mut host, mut method, mut path, mut host_header) = (None, None, None, None);
    let mut identity_values: Vec<&'a str> = Vec::new();
    let mut xfcc: Option<&'a str> = None;
    let mut kept: Vec<(&'a str, &'a str)> = Vec::new();
    for (name, value) in headers {
        match name {
            b":authority" => host = Some(text(name, value)?),
            b":method" => method = Some(text(name, value)?),
            b":path" => path = Some(text(name, value)?),
            [b':', ..] => {}
            _ => {
                // A name that is not UTF-8 cannot be one the decision reads.
                let Ok(name) = std::str::from_utf8(name) else {
                    continue;
                };
                if name == "host" {
                    host_header = Some(text(name.as_bytes(), value)?);
                }
                if settings.source_header.as_deref() == Some(name) {
                    identity_values.push(text(name.as_bytes(), value)?);
                }
                if settings.use_xfcc && name == "x-forwarded-client-cert" {
                    // The last line is the most recent hop.
                    xfcc = Some(text(name.as_bytes(), value)?);
                }
                if wanted(name) {
                    kept.push((name, text(name.as_bytes(), value)?));
                }
            }
        }
    }
    // The identity: the peer certificate, else the XFCC header's last element, else the
    // stand-in header (two values, or a comma-joined one, are ambiguous: refused, as
    // ext_authz does).
    let mut principal = connection
        .peer_uri_san
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(Cow::Borrowed)
        .or_else(|| xfcc.and_then(xfcc_uri).map(Cow::Owned));
    if principal.is_none() {
        if let Some(name) = settings.source_header.as_deref() {
            principal = identity_from_header(name, identity_values)?.map(Cow::Borrowed);
        }
    }
    Ok(Read {
        host: host.or(host_header),
        method,
        path,
        headers: kept,
        principal,
        source_ip: connection.source_address.as_deref().and_then(address_ip),
        destination_ip: connection
            .destination_address
            .as_deref()
            .and_then(address_ip),
        sni: connection.sni.as_deref().filter(|s| !s.is_empty()),
    })
}

/// Decides straight from the request headers and the connection, read in place: what the
/// filter runs on every request. No [`Request`] is built (no copy of the authority, path,
/// identity or headers); [`build_request`] followed by [`decide`] gives the same answer
/// (tested on every combination of the inputs it reads). Fails like [`build_request`].
pub fn decide_headers<'h>(
    settings: &Settings,
    headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    connection: &Connection,
) -> Result<Action, Denial> {
    let read = read(settings, headers, connection)?;
    let view = RequestRef {
        principal: read.principal.as_deref(),
        source_ip: read.source_ip,
        workload: settings.workload.as_ref(),
        host: read.host,
        port: settings.port,
        method: read.method,
        path: read.path,
        headers: if read.headers.is_empty() {
            Headers::None
        } else {
            Headers::Pairs(&read.headers)
        },
        sni: read.sni,
        destination_ip: read.destination_ip,
        ..RequestRef::default()
    };
    Ok(decide_ref(settings, &view))
}

/// Decides one request and says what to do.
pub fn decide(settings: &Settings, request: &Request) -> Action {
    decide_ref(settings, &request.view())
}

/// [`decide`] on a borrowed view of the request.
fn decide_ref(settings: &Settings, request: &RequestRef<'_>) -> Action {
    let engine = &settings.engine;
    let prepared = engine.prepare_ref(request);
    let verdict = engine.decide_prepared(&prepared);
    if verdict.allowed() {
        let (mut add, mut set, mut remove) = (Vec::new(), Vec::new(), Vec::new());
        if let Some(name) = &settings.source_header {
            // The stand-in identity never reaches the upstream.
            remove.push(name.clone());
        }
        if let Some((_, mutations)) = verdict.route().and_then(|r| r.headers) {
            add.extend(mutations.add.iter().map(|(k, v)| (k.clone(), v.clone())));
            set.extend(mutations.set.iter().map(|(k, v)| (k.clone(), v.clone())));
            remove.extend(mutations.remove.iter().cloned());
        }
        let path = if settings.rewrite_path {
            // Only paths with something to normalise are normalised again.
            request
                .path
                .filter(|raw| needs_normalising(raw))
                .and_then(|raw| {
                    let mode = engine.model().mesh.path_normalization;
                    match normalize_path(raw, mode) {
                        Ok((_, forwarded)) if forwarded != raw => Some(forwarded),
                        _ => None,
                    }
                })
        } else {
            None
        };
        return Action::Allow {
            add,
            set,
            remove,
            path,
        };
    }
    match Denial::of_verdict(&verdict) {
        Some(denial) => deny(denial),
        None => malformed(),
    }
}

/// The local reply for a denial (Envoy's local reply adds `content-type: text/plain`).
pub fn deny(denial: Denial) -> Action {
    Action::Deny {
        status: u32::from(denial.status),
        body: denial.body,
        policy: denial.policy,
        reason: denial.reason,
    }
}

/// The answer to a request the filter cannot read (400, as Istio rejects malformed
/// requests before authorization).
pub fn malformed() -> Action {
    deny(Denial::malformed(""))
}

/// Whether normalisation might change `path` (dot segments, escapes, backslashes,
/// repeated slashes); the common plain path skips the second normalisation.
fn needs_normalising(path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.contains(['.', '%', '\\']) || path.contains("//")
}

/// The IP of an `ip:port` / `[ip]:port` address, as text.
fn address_ip(address: &str) -> Option<&str> {
    let ip = match address.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map(|(ip, _)| ip)?,
        None => match address.rsplit_once(':') {
            Some((ip, _)) if !ip.contains(':') => ip,
            _ => address,
        },
    };
    (!ip.is_empty()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    const SCENARIO: &[(&str, &str)] = &[
        (
            "authz.yaml",
            include_str!("../../policies/istio-waypoint-tls/httpbin-authz.yaml"),
        ),
        (
            "dr.yaml",
            include_str!("../../policies/istio-waypoint-tls/httpbin-destinationrule.yaml"),
        ),
        (
            "se.yaml",
            include_str!("../../policies/istio-waypoint-tls/httpbin-serviceentry.yaml"),
        ),
        (
            "vs.yaml",
            include_str!("../../policies/istio-waypoint-tls/httpbin-virtualservice.yaml"),
        ),
        (
            "waypoint.yaml",
            include_str!("../../policies/istio-waypoint-tls/waypoint.yaml"),
        ),
    ];

    fn settings() -> Settings {
        let files = SCENARIO
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        config::compile(config::PluginConfig {
            files,
            source_header: Some("x-egress-source".into()),
            use_xfcc: true,
            rewrite_path: true,
            ..config::PluginConfig::default()
        })
        .unwrap()
    }

    fn build_request_ok(s: &Settings, h: &[(String, String)], c: Connection) -> Request {
        build_request(s, h, c).unwrap()
    }

    fn headers(method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut h = vec![
            (":authority".to_string(), "httpbin.org".to_string()),
            (":method".to_string(), method.to_string()),
            (":path".to_string(), path.to_string()),
            (":scheme".to_string(), "http".to_string()),
        ];
        h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        h
    }

    const PRODUCTPAGE: &str = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";

    /// The filter's in-place path (`decide_headers`) answers exactly like `decide` on the
    /// built request, on every combination of what the mapping reads: method, path (plain,
    /// to normalise, encoded), authority or `host`, identity (peer certificate, XFCC,
    /// stand-in header, two stand-ins, none), read headers (repeated too), non-UTF-8
    /// values, addresses and SNI.
    #[test]
    fn the_in_place_path_decides_like_the_built_request() {
        let mut s = settings();
        s.needs.headers = vec!["x-team".into()];
        let peers = [
            Connection::default(),
            Connection {
                peer_uri_san: Some(format!("spiffe://{PRODUCTPAGE}")),
                source_address: Some("10.0.0.1:5555".into()),
                destination_address: Some("[::1]:80".into()),
                sni: Some("httpbin.org".into()),
            },
            Connection {
                peer_uri_san: Some(String::new()),
                sni: Some(String::new()),
                ..Connection::default()
            },
        ];
        let identities: [&[(&str, &str)]; 5] = [
            &[],
            &[("x-egress-source", PRODUCTPAGE)],
            &[("x-egress-source", "a"), ("x-egress-source", "b")],
            &[(
                "x-forwarded-client-cert",
                "By=spiffe://x;URI=spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews",
            )],
            &[("x-team", "a"), ("x-team", "b"), ("X-Other", "c")],
        ];
        let (mut compared, mut allowed, mut failed) = (0, 0, 0);
        for method in ["GET", "POST", "get"] {
            for path in ["/get", "/get/../post", "/%2e%2e/status/200", "/headers?x=1"] {
                for authority in [Some("httpbin.org"), Some("HTTPBIN.ORG:80"), None] {
                    for extra in identities {
                        for connection in &peers {
                            let mut h: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
                            match authority {
                                Some(a) => h.push((b":authority".to_vec(), a.into())),
                                None => h.push((b"host".to_vec(), b"httpbin.org".to_vec())),
                            }
                            h.push((b":method".to_vec(), method.into()));
                            h.push((b":path".to_vec(), path.into()));
                            h.extend(
                                extra
                                    .iter()
                                    .map(|(k, v)| (k.as_bytes().into(), v.as_bytes().into())),
                            );
                            let pairs = || h.iter().map(|(k, v)| (k.as_slice(), v.as_slice()));
                            let mut built = Request {
                                workload: s.workload.clone(),
                                port: s.port,
                                ..Request::default()
                            };
                            let reference =
                                fill_request(&s, &mut built, pairs(), connection.clone())
                                    .map(|()| decide(&s, &built));
                            let in_place = decide_headers(&s, pairs(), connection);
                            assert_eq!(
                                in_place, reference,
                                "{method} {path} {authority:?} {extra:?} {connection:?}"
                            );
                            compared += 1;
                            allowed += usize::from(matches!(reference, Ok(Action::Allow { .. })));
                            failed += usize::from(reference.is_err());
                        }
                    }
                }
            }
        }
        assert_eq!(compared, 3 * 4 * 3 * 5 * 3);
        assert!(
            allowed > 10 && failed > 0 && allowed + failed < compared,
            "{allowed} {failed}"
        );
        // A value the decision reads that is not UTF-8 fails alike.
        let bad = [
            (b":path".as_slice(), b"/\xff".as_slice()),
            (b":authority", b"httpbin.org"),
        ];
        let mut built = Request::default();
        assert_eq!(
            decide_headers(&s, bad.iter().copied(), &Connection::default()).err(),
            fill_request(&s, &mut built, bad.iter().copied(), Connection::default()).err()
        );
    }

    #[test]
    fn allowed_get_adds_the_virtual_service_header() {
        let s = settings();
        let r = build_request_ok(
            &s,
            &headers("GET", "/get", &[("x-egress-source", PRODUCTPAGE)]),
            Connection::default(),
        );
        assert_eq!(r.source.principal.as_deref(), Some(PRODUCTPAGE));
        assert_eq!(
            decide(&s, &r),
            Action::Allow {
                add: vec![("my-added-header".into(), "added-value".into())],
                set: vec![],
                remove: vec!["x-egress-source".into()],
                path: None,
            }
        );
    }

    #[test]
    fn denials_name_the_reason() {
        let s = settings();
        for (method, path) in [("POST", "/post"), ("GET", "/get/../post"), ("GET", "/post")] {
            let r = build_request_ok(&s, &headers(method, path, &[]), Connection::default());
            match decide(&s, &r) {
                Action::Deny {
                    status,
                    body,
                    policy,
                    reason,
                } => {
                    assert_eq!(status, 403);
                    assert_eq!(body, ACCESS_DENIED);
                    assert_eq!(reason, "no_allow_match");
                    assert_eq!(policy, "-");
                }
                other => panic!("{method} {path}: {other:?}"),
            }
        }
        let r = build_request_ok(&s, &headers("get", "/get", &[]), Connection::default());
        assert!(matches!(decide(&s, &r), Action::Deny { status: 400, .. }));
    }

    #[test]
    fn allowed_paths_are_forwarded_normalised() {
        let s = settings();
        let r = build_request_ok(
            &s,
            &headers("GET", "/x/../get?a=1", &[]),
            Connection::default(),
        );
        match decide(&s, &r) {
            Action::Allow { path, .. } => assert_eq!(path.as_deref(), Some("/get?a=1")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_identity_headers_are_refused() {
        let s = settings();
        let two = headers(
            "GET",
            "/get",
            &[
                ("x-egress-source", PRODUCTPAGE),
                ("x-egress-source", "other"),
            ],
        );
        let denial = build_request(&s, &two, Connection::default()).unwrap_err();
        assert_eq!((denial.status, denial.reason), (400, "ambiguous_identity"));
        match deny(denial) {
            Action::Deny { status, reason, .. } => {
                assert_eq!((status, reason), (400, "ambiguous_identity"))
            }
            other => panic!("{other:?}"),
        }
        let joined = headers("GET", "/get", &[("x-egress-source", "a,b")]);
        assert!(build_request(&s, &joined, Connection::default()).is_err());
        // A peer certificate decides; the header is not read.
        let peer = Connection {
            peer_uri_san: Some("spiffe://a".into()),
            ..Connection::default()
        };
        assert!(build_request(&s, &two, peer).is_ok());
    }

    #[test]
    fn identity_precedence() {
        let s = settings();
        let conn = Connection {
            peer_uri_san: Some("spiffe://cluster.local/ns/a/sa/peer".into()),
            source_address: Some("10.0.0.1:5555".into()),
            destination_address: Some("[::1]:80".into()),
            sni: Some(String::new()),
        };
        let xfcc = "By=spiffe://x;URI=spiffe://cluster.local/ns/a/sa/old,By=spiffe://x;Hash=ab;Subject=\"CN=a,O=b\";URI=spiffe://cluster.local/ns/a/sa/xfcc";
        let h = headers(
            "GET",
            "/get",
            &[
                ("x-forwarded-client-cert", xfcc),
                ("x-egress-source", "header"),
            ],
        );
        let r = build_request_ok(&s, &h, conn.clone());
        assert_eq!(
            r.source.principal.as_deref(),
            Some("spiffe://cluster.local/ns/a/sa/peer")
        );
        assert_eq!(r.source.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(r.destination_ip.as_deref(), Some("::1"));
        assert_eq!(r.sni, None);
        let r = build_request_ok(&s, &h, Connection::default());
        assert_eq!(
            r.source.principal.as_deref(),
            Some("spiffe://cluster.local/ns/a/sa/xfcc")
        );
        let r = build_request_ok(
            &s,
            &headers("GET", "/", &[("x-egress-source", "h")]),
            Connection::default(),
        );
        assert_eq!(r.source.principal.as_deref(), Some("h"));
        let r = build_request_ok(&s, &headers("GET", "/", &[]), Connection::default());
        assert_eq!(r.source.principal, None);
    }

    #[test]
    fn a_reused_request_forgets_the_previous_one() {
        let mut s = settings();
        s.needs.headers = vec!["a".into()];
        let mut reused = build_request_ok(
            &s,
            &headers(
                "GET",
                "/get",
                &[("a", "1"), ("x-egress-source", PRODUCTPAGE)],
            ),
            Connection {
                sni: Some("sni".into()),
                ..Connection::default()
            },
        );
        let next: [(&[u8], &[u8]); 2] = [(b":method", b"POST"), (b"host", b"h")];
        fill_request(&s, &mut reused, next, Connection::default()).unwrap();
        let fresh = build_request_ok(
            &s,
            &[
                (":method".into(), "POST".into()),
                ("host".into(), "h".into()),
            ],
            Connection::default(),
        );
        assert_eq!(reused, fresh);
        assert_eq!(reused.host.as_deref(), Some("h"));
    }

    #[test]
    fn only_headers_the_policies_read_are_copied() {
        let mut s = settings();
        let extra = [
            ("a", "1"),
            ("a", "2"),
            ("b", "3"),
            ("c", "4"),
            ("host", "h"),
        ];
        let r = build_request_ok(&s, &headers("GET", "/", &extra), Connection::default());
        assert!(r.headers.is_empty(), "{:?}", r.headers);
        s.needs.headers = vec!["a".into(), "b".into()];
        let r = build_request_ok(&s, &headers("GET", "/", &extra), Connection::default());
        assert_eq!(
            r.headers.get("a"),
            Some(&HeaderValue::Many(vec!["1".into(), "2".into()]))
        );
        assert_eq!(r.headers.get("b"), Some(&HeaderValue::One("3".into())));
        assert_eq!(r.headers.len(), 2);
        assert_eq!(r.host.as_deref(), Some("httpbin.org"));
    }

    #[test]
    fn header_conditions_see_their_header() {
        let policy = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: team, namespace: istio-egress}\nspec:\n  rules:\n  - when: [{key: \"request.headers[X-Team]\", values: [blue]}]\n";
        let s = config::compile(config::PluginConfig {
            yaml: Some(policy.into()),
            workload: Some(config::WorkloadSpec::Structured(
                egress_policy::request::Workload {
                    namespace: "istio-egress".into(),
                    labels: Default::default(),
                },
            )),
            rewrite_path: true,
            ..config::PluginConfig::default()
        })
        .unwrap();
        let blue = build_request_ok(
            &s,
            &headers("GET", "/", &[("x-team", "blue")]),
            Connection::default(),
        );
        assert!(matches!(decide(&s, &blue), Action::Allow { .. }));
        let red = build_request_ok(
            &s,
            &headers("GET", "/", &[("x-team", "red")]),
            Connection::default(),
        );
        assert!(matches!(decide(&s, &red), Action::Deny { status: 403, .. }));
    }

    #[test]
    fn headers_the_decision_reads_must_be_utf8() {
        let mut s = settings();
        s.needs.headers = vec!["x-team".into()];
        let mut r = Request::default();
        let bad: &[u8] = b"caf\xe9";
        for name in [&b":path"[..], b":authority", b"x-egress-source", b"x-team"] {
            let pairs: [(&[u8], &[u8]); 2] = [(b":method", b"GET"), (name, bad)];
            let err = fill_request(&s, &mut r, pairs, Connection::default()).unwrap_err();
            assert!(err.body.contains("not UTF-8"), "{err:?}");
        }
        // Headers no decision reads may carry any bytes.
        let pairs: [(&[u8], &[u8]); 3] = [
            (b":authority", b"httpbin.org"),
            (b"x-other", bad),
            (b"\xff", b"1"),
        ];
        fill_request(&s, &mut r, pairs, Connection::default()).unwrap();
        assert_eq!(r.host.as_deref(), Some("httpbin.org"));
    }

    #[test]
    fn xfcc_parsing() {
        assert_eq!(xfcc_uri("URI=spiffe://a"), Some("spiffe://a".into()));
        assert_eq!(
            xfcc_uri("Hash=1;uri=\"spiffe://b\""),
            Some("spiffe://b".into())
        );
        assert_eq!(xfcc_uri("Hash=1"), None);
        assert_eq!(address_ip("1.2.3.4:80"), Some("1.2.3.4"));
        assert_eq!(address_ip("[fe80::1]:80"), Some("fe80::1"));
        assert_eq!(address_ip("fe80::1"), Some("fe80::1"));
    }
}
