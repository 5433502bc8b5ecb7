//! `egress-policy compile`: the bundle it writes builds an engine that decides like the
//! policies it was compiled from (`eval` on the YAML gives the same decisions), and policies
//! that do not load write no bundle.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation should stop the test with a message"
)]

mod common;

use common::{code, run, scenario, scratch, stderr, stdout};
use egress_policy::{Engine, Request};
use serde_json::Value;

const REQUESTS: &str = r#"{"source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-productpage"}, "method": "GET", "url": "http://httpbin.org/get"}
{"source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-reviews"}, "method": "GET", "url": "http://httpbin.org/get"}
{"method": "POST", "url": "http://httpbin.org/post"}
{"source": {"principal": "cluster.local/ns/default/sa/bookinfo-details"}, "url": "https://www.google.com/"}
{"url": "http://unknown.example.org/"}
"#;

#[test]
fn a_compiled_bundle_decides_like_eval_on_the_policies() {
    let dir = scratch("compile");
    for name in ["istio-waypoint", "gloo", "tsb", "istio-egress-gateway"] {
        let bundle = dir.join(format!("{name}.bundle.json"));
        let bundle_arg = bundle.display().to_string();
        let policies = scenario(name);
        let output = run(&["compile", "-p", &policies, "-o", &bundle_arg], None);
        assert_eq!(code(&output), 0, "{name}: {}", stderr(&output));
        assert!(stdout(&output).is_empty());
        assert!(
            stderr(&output).starts_with("compiled ") && stderr(&output).contains(&bundle_arg),
            "{}",
            stderr(&output)
        );
        let text = std::fs::read_to_string(&bundle).unwrap();
        let engine = Engine::from_bundle_json(&bundle_arg, &text).unwrap();

        let eval = run(&["eval", "-p", &policies], Some(REQUESTS));
        assert_eq!(code(&eval), 0, "{}", stderr(&eval));
        let lines: Vec<Value> = stdout(&eval)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        for (line, request) in lines.iter().zip(REQUESTS.lines()) {
            let request: Request = serde_json::from_str(request).unwrap();
            let decided = serde_json::to_value(engine.decide(&request)).unwrap();
            assert_eq!(decided, line["decision"], "{name}: {request:?}");
        }
    }
}

#[test]
fn compile_writes_to_stdout_and_refuses_policies_that_do_not_load() {
    let policies = scenario("istio-waypoint");
    let output = run(&["compile", "-p", &policies, "-o", "-"], None);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let bundle: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(bundle["format"], "egress-policy-bundle");
    assert_eq!(bundle["version"], 1);

    let dir = scratch("compile-bad");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p}\nspec: {action: MAYBE}\n",
    )
    .unwrap();
    let out = dir.join("never.json");
    let output = run(
        &[
            "compile",
            "-p",
            &bad.display().to_string(),
            "-o",
            &out.display().to_string(),
        ],
        None,
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("bad.yaml:4:"),
        "{}",
        stderr(&output)
    );
    assert!(!out.exists());
}
