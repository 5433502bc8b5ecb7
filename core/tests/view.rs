//! The borrowed request view (`RequestRef`, `Engine::prepare_ref`): every header form a
//! proxy holds folds like the `Request` map, malformed requests are rejected with the same
//! status and message, and a prepared request can be detached and kept.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, HashMap};

use egress_policy::model::PathNormalization;
use egress_policy::request::{HeaderValue, Headers, RequestRef, RequestSource, Workload};
use egress_policy::{Decision, Engine, Reason, Request};

const POLICY: &str = r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: team, namespace: istio-egress}
spec:
  selector: {matchLabels: {app: istio-egressgateway}}
  action: ALLOW
  rules:
  - to: [{operation: {paths: ["/get"]}}]
    when:
    - key: request.headers[x-team]
      values: ["a,b"]
"#;

fn engine() -> Engine {
    Engine::from_yaml("p.yaml", POLICY).unwrap()
}

fn gateway() -> Option<Workload> {
    Some("istio-egress/app=istio-egressgateway".parse().unwrap())
}

fn by_view(engine: &Engine, view: &RequestRef) -> Decision {
    engine
        .decide_prepared(&engine.prepare_ref(view))
        .to_decision()
}

#[test]
fn every_header_form_folds_like_the_request_map() {
    let engine = engine();
    let request = Request {
        workload: gateway(),
        host: Some("httpbin.org".into()),
        path: Some("/get".into()),
        headers: BTreeMap::from([
            ("X-Team".to_string(), HeaderValue::One("a".into())),
            ("x-team".to_string(), HeaderValue::One("b".into())),
        ]),
        ..Request::default()
    };
    let expected = engine.decide_reference(&request);
    assert_eq!(expected.reason, Reason::AllowedByPolicy, "{expected:?}");
    assert_eq!(engine.decide(&request), expected);

    let pairs = [("X-Team", "a"), ("x-team", "b")];
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let map = HashMap::from([("x-team".to_string(), "a,b".to_string())]);
    for headers in [
        Headers::Pairs(&pairs),
        Headers::Owned(&owned),
        Headers::Map(&map),
        Headers::Request(&request.headers),
    ] {
        let view = RequestRef {
            headers,
            ..request.view()
        };
        assert_eq!(by_view(&engine, &view), expected, "{headers:?}");
    }
    // Order matters for a repeated header, as in Envoy.
    let reversed = [("x-team", "b"), ("X-Team", "a")];
    let view = RequestRef {
        headers: Headers::Pairs(&reversed),
        ..request.view()
    };
    assert_eq!(by_view(&engine, &view).reason, Reason::NoAllowMatch);
    let n = view.normalize(PathNormalization::Base).unwrap();
    assert_eq!(n.headers.get("x-team"), Some("b,a"));
}

#[test]
fn malformed_views_are_rejected_like_malformed_requests() {
    let engine = engine();
    let base = || Request {
        workload: gateway(),
        host: Some("httpbin.org".into()),
        path: Some("/get".into()),
        ..Request::default()
    };
    let cases: Vec<(Request, u16)> = vec![
        (
            Request {
                headers: BTreeMap::from([("bad name".to_string(), HeaderValue::One("x".into()))]),
                ..base()
            },
            400,
        ),
        (
            Request {
                path: Some("get".into()),
                ..base()
            },
            404,
        ),
        (
            Request {
                path: Some("/a%00".into()),
                ..base()
            },
            400,
        ),
        (
            Request {
                method: Some("get".into()),
                ..base()
            },
            400,
        ),
        (
            Request {
                host: Some("a.com:99999".into()),
                ..base()
            },
            400,
        ),
        (
            Request {
                host: None,
                url: Some("ftp://a.com/".into()),
                ..base()
            },
            400,
        ),
        (
            Request {
                host: None,
                url: Some("a.com/get".into()),
                ..base()
            },
            400,
        ),
        (
            Request {
                host: None,
                path: None,
                ..base()
            },
            400,
        ),
        (
            Request {
                source: RequestSource {
                    principal: Some("cluster.local/ns/a/sa/b".into()),
                    namespace: Some("other".into()),
                    ..RequestSource::default()
                },
                ..base()
            },
            400,
        ),
        (
            Request {
                destination_ip: Some("not-an-ip".into()),
                ..base()
            },
            400,
        ),
    ];
    for (request, status) in cases {
        let reference = engine.decide_reference(&request);
        assert_eq!(reference.reason, Reason::MalformedRequest, "{request:?}");
        assert_eq!(reference.status, status, "{request:?}");
        assert_eq!(engine.decide(&request), reference);
        let pairs: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| match v {
                HeaderValue::One(v) => (n.as_str(), v.as_str()),
                HeaderValue::Many(_) => unreachable!(),
            })
            .collect();
        let view = RequestRef {
            headers: Headers::Pairs(&pairs),
            ..request.view()
        };
        assert_eq!(by_view(&engine, &view), reference, "{request:?}");
    }
}

#[test]
fn normalisation_borrows_what_it_leaves_unchanged() {
    use std::borrow::Cow;
    let view = RequestRef {
        principal: Some("cluster.local/ns/a/sa/b"),
        host: Some("Api.Example.com:8443"),
        path: Some("/a/./b?q=1"),
        method: Some("GET"),
        ..RequestRef::default()
    };
    let n = view.normalize(PathNormalization::Base).unwrap();
    assert!(matches!(
        n.authority,
        Some(Cow::Borrowed("Api.Example.com:8443"))
    ));
    assert!(matches!(n.host.as_ref(), Some(Cow::Owned(h)) if h == "api.example.com"));
    assert_eq!(n.port, 8443);
    assert!(matches!(n.path.as_ref(), Some(Cow::Owned(p)) if p == "/a/b"));
    assert!(matches!(n.query, Some(Cow::Borrowed("q=1"))));
    assert_eq!(
        n.peer_uri.as_deref(),
        Some("spiffe://cluster.local/ns/a/sa/b")
    );
    assert!(matches!(n.namespace, Some(Cow::Borrowed("a"))));
    assert!(matches!(n.service_account, Some(Cow::Borrowed("b"))));
    let plain = RequestRef {
        host: Some("api.example.com"),
        path: Some("/a/b"),
        ..view
    };
    let n = plain.normalize(PathNormalization::Base).unwrap();
    assert!(matches!(n.host, Some(Cow::Borrowed("api.example.com"))));
    assert!(matches!(n.path, Some(Cow::Borrowed("/a/b"))));
    let owned = n.clone().into_owned();
    assert_eq!(owned, n);
}

#[test]
fn a_detached_prepared_request_outlives_the_request() {
    let engine = engine();
    let prepared = {
        let request = Request {
            workload: gateway(),
            host: Some("httpbin.org".into()),
            path: Some("/get".into()),
            headers: BTreeMap::from([("x-team".to_string(), HeaderValue::One("a,b".into()))]),
            ..Request::default()
        };
        engine.prepare(&request).into_owned()
    };
    let verdict = engine.decide_prepared(&prepared);
    assert!(verdict.allowed());
    assert_eq!(verdict.reason(), Reason::AllowedByPolicy);
}

/// `Verdict::summary` (what the Python binding answers before formatting anything) and
/// `Engine::summarize_many_ref` agree with the full decision's fields on every workload
/// profile, hits, misses, malformed and stopped requests alike.
#[test]
fn a_summary_equals_its_decision_on_every_profile() {
    use egress_policy::workload::{generate_profile, Layout, Profile};

    for profile in Profile::ALL {
        let workload = generate_profile(400, 11, profile, Layout::Files);
        let engine =
            Engine::from_files(workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .unwrap();
        let views: Vec<RequestRef> = workload.requests.iter().map(Request::view).collect();
        let summaries = engine.summarize_many_ref(&views);
        let decisions = engine.decide_many_ref(&views);
        let mut reasons = std::collections::HashSet::new();
        for ((view, summary), decision) in views.iter().zip(&summaries).zip(&decisions) {
            let one = engine.decide_prepared(&engine.prepare_ref(view)).summary();
            assert_eq!(&one, summary, "{profile}: {view:?}");
            assert_eq!(summary.allowed, decision.allowed, "{profile}: {view:?}");
            assert_eq!(summary.status, decision.status, "{profile}: {view:?}");
            assert_eq!(summary.reason, decision.reason, "{profile}: {view:?}");
            assert_eq!(summary.rule, decision.rule, "{profile}: {view:?}");
            assert_eq!(summary.audit, decision.audit, "{profile}: {view:?}");
            reasons.insert(summary.reason);
        }
        assert!(reasons.len() >= 2, "{profile}: only {reasons:?}");
    }
}

/// The road memo keeps the index keys of the first request on each road, host keys
/// included; requests on the same road with the authority written otherwise (upper case,
/// the default port spelled out) must not reuse them. Each variant is prepared first on a
/// fresh engine, so it is the one the memo remembers, then the plain request; both decide
/// as the reference evaluator does.
#[test]
fn requests_sharing_a_road_with_other_authorities_decide_as_the_reference() {
    use egress_policy::workload::{generate_profile, Layout, Profile};

    for profile in [Profile::Today, Profile::Wildcards, Profile::Mixed] {
        let workload = generate_profile(300, 5, profile, Layout::Files);
        let files = || workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str()));
        let mut allowed = 0;
        type Spelling = (&'static str, fn(&str) -> String);
        let spellings: [Spelling; 2] = [
            ("upper case", |h| h.to_ascii_uppercase()),
            ("default port", |h| format!("{h}:80")),
        ];
        for (spelling, spelled) in spellings {
            let engine = Engine::from_files(files()).unwrap();
            for request in workload.requests.iter().take(200) {
                let Some(host) = request.host.as_deref().filter(|h| !h.contains(':')) else {
                    continue;
                };
                let mut variant = request.clone();
                variant.host = Some(spelled(host));
                for r in [&variant, request] {
                    let compiled = engine.decide_prepared(&engine.prepare(r)).to_decision();
                    assert_eq!(
                        compiled,
                        engine.decide_reference(r),
                        "{profile} {spelling}: {r:?}"
                    );
                    allowed += usize::from(compiled.allowed);
                }
            }
        }
        assert!(allowed > 0, "{profile}: nothing allowed");
    }
}
