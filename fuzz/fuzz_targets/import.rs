//! `cargo +nightly fuzz run import`: arbitrary bytes as policy files must never panic the
//! loader. The input is split at NUL bytes into several files (so that references between
//! documents of different files are exercised); invalid UTF-8 is replaced, as a file read
//! from disk would be rejected earlier with a located error.
//!
//! When the input happens to load, the engine is compiled and requests are decided with the
//! compiled matcher, the reference evaluator and `explain`, which must agree: a few fixed
//! requests, and requests made of the input's own words (hosts, paths, identities, methods,
//! namespaces and labels), so that the fuzzed rules are hit, not only missed.

#![no_main]

use std::collections::BTreeMap;

use egress_policy::request::{Protocol, Workload};
use egress_policy::{Engine, Loader, Request};
use libfuzzer_sys::fuzz_target;

/// Requests tried against every input that loads: the seed scenarios' callers and hosts.
const REQUESTS: &[&str] = &[
    r#"{"source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-productpage"}, "method": "GET", "url": "http://httpbin.org/get"}"#,
    r#"{"source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-reviews"}, "method": "POST", "url": "https://httpbin.org/post"}"#,
    r#"{"source": {"principal": "cluster.local/ns/ns1/sa/app"}, "method": "GET", "url": "http://www.httpbin.org/get"}"#,
    r#"{"method": "GET", "url": "http://example.com/a/../b"}"#,
    r#"{"protocol": "tls", "sni": "api.example.com", "port": 443}"#,
    r#"{"workload": {"namespace": "istio-egress", "labels": {"app": "egress"}}, "host": "httpbin.org:80", "method": "DELETE", "path": "/x?y=1", "headers": {"x-a": ["1", "2"]}}"#,
];

fuzz_target!(|data: &[u8]| {
    let mut loader = Loader::new();
    for (index, chunk) in data.split(|b| *b == 0).enumerate().take(8) {
        let text = String::from_utf8_lossy(chunk);
        let name = if chunk.first() == Some(&b'{') || chunk.first() == Some(&b'[') {
            format!("fuzz-{index}.json")
        } else {
            format!("fuzz-{index}.yaml")
        };
        loader.add_str(&name, &text);
    }
    let Ok(model) = loader.load() else {
        return;
    };
    let engine = Engine::from_model(model);
    let fixed = REQUESTS
        .iter()
        .filter_map(|text| serde_json::from_str::<Request>(text).ok());
    let derived = derived_requests(&String::from_utf8_lossy(data));
    for request in fixed.chain(derived) {
        let compiled = engine.decide(&request);
        let reference = engine.decide_reference(&request);
        let json = serde_json::to_string(&request).unwrap_or_default();
        assert_eq!(compiled, reference, "compiled vs reference, request {json}");
        let explained = engine.explain(&request).decision;
        assert_eq!(explained, reference, "explain vs reference, request {json}");
    }
});

/// Up to 8 requests whose fields are words of the policy text.
fn derived_requests(text: &str) -> Vec<Request> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "[]{},\"'\0".contains(c))
        .filter(|w| !w.is_empty() && w.len() <= 200)
        .collect();
    let values = || words.iter().copied().filter(|w| !w.ends_with(':'));
    let pick = |list: &[&str], i: usize| list.get(i % list.len().max(1)).map(|w| w.to_string());
    let hosts: Vec<&str> = values()
        .filter(|w| w.contains('.') && !w.starts_with('/'))
        .collect();
    let paths: Vec<&str> = values().filter(|w| w.starts_with('/')).collect();
    let principals: Vec<&str> = values()
        .filter(|w| w.contains("/sa/") || w.starts_with("spiffe://"))
        .map(|w| w.trim_start_matches('*'))
        .collect();
    let methods: Vec<&str> = values()
        .filter(|w| w.len() <= 10 && w.bytes().all(|b| b.is_ascii_uppercase()))
        .collect();
    let ports: Vec<u16> = values().filter_map(|w| w.parse().ok()).collect();
    let after = |key: &str| -> Vec<&str> {
        words
            .windows(2)
            .filter(|w| w.first() == Some(&key))
            .filter_map(|w| w.get(1).copied())
            .filter(|w| !w.ends_with(':'))
            .collect()
    };
    let namespaces = after("namespace:");
    // Every `key: value` pair as a pod label: a selector matches when its labels are a
    // subset, so this workload is selected by most policies of its namespace.
    let labels: BTreeMap<String, String> = words
        .windows(2)
        .filter_map(|w| match w {
            [k, v] if k.ends_with(':') && !v.ends_with(':') => {
                Some((k.trim_end_matches(':').to_string(), v.to_string()))
            }
            _ => None,
        })
        .take(64)
        .collect();
    if hosts.is_empty() && paths.is_empty() && principals.is_empty() {
        return Vec::new();
    }
    (0..8)
        .map(|i| {
            let mut request = Request::default();
            request.source.principal = pick(&principals, i);
            request.host = pick(&hosts, i).map(|h| h.replace('*', "x"));
            request.path = pick(&paths, i / 2);
            request.method = pick(&methods, i / 3).or(Some("GET".to_string()));
            request.port = (i % 2 == 1)
                .then(|| ports.get(i % ports.len().max(1)).copied())
                .flatten();
            if i % 4 == 3 {
                request.protocol = Some(Protocol::Tls);
                request.sni = request.host.clone();
            }
            if i >= 4 {
                request.workload = pick(&namespaces, i).map(|namespace| Workload {
                    namespace,
                    labels: labels.clone(),
                });
            }
            request
        })
        .collect()
}
