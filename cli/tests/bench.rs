//! `egress-policy bench`: a generated workload written as files loads with `validate`, and
//! measuring it prints every field.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation should stop the test with a message"
)]

mod common;

use std::collections::BTreeMap;

use common::{code, run, scratch, stderr, stdout};

/// `key: value` lines of the human report.
fn fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn is_duration(value: &str) -> bool {
    let Some((number, unit)) = value.split_once(' ') else {
        return false;
    };
    number.parse::<f64>().is_ok_and(|n| n >= 0.0) && ["ns", "µs", "ms"].contains(&unit)
}

#[test]
fn generated_workload_loads_and_benches() {
    let dir = scratch("bench-generated");
    let dir_s = dir.display().to_string();
    let output = run(&["bench", "--generate", "200", &dir_s], None);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("wrote 200 rules"),
        "{}",
        stdout(&output)
    );
    let requests = dir.join("requests.jsonl");
    let lines = std::fs::read_to_string(&requests).expect("requests.jsonl is written");
    assert_eq!(
        lines.lines().count(),
        1000,
        "generate(200) makes 1000 requests"
    );
    for line in lines.lines() {
        serde_json::from_str::<egress_policy::Request>(line)
            .unwrap_or_else(|e| panic!("not a request ({e}): {line}"));
    }

    let output = run(&["validate", "--policy", &dir_s], None);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("ok: 20 policies"),
        "{}",
        stdout(&output)
    );

    let requests_s = requests.display().to_string();
    let output = run(
        &[
            "bench",
            "--policy",
            &dir_s,
            "--requests",
            &requests_s,
            "--decisions",
            "2000",
            "--reference",
        ],
        None,
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = fields(&stdout(&output));
    assert_eq!(report["policies"], "20");
    assert_eq!(report["rules"], "200");
    assert_eq!(report["requests"], "1000");
    assert_eq!(report["decisions"], "2000");
    assert_eq!(report["agreement"], "1000/1000");
    for key in [
        "load",
        "compile",
        "prepare mean",
        "compiled p50",
        "compiled p99",
        "compiled mean",
        "reference p50",
        "reference p99",
        "reference mean",
    ] {
        assert!(is_duration(&report[key]), "{key}: {}", report[key]);
    }
    for key in ["compiled decisions/s", "reference decisions/s"] {
        assert!(report[key].parse::<u64>().is_ok_and(|n| n > 0), "{key}");
    }
    assert!(report["speed-up (p50)"].ends_with('x'));

    let output = run(
        &[
            "bench",
            "-p",
            &dir_s,
            "-r",
            &requests_s,
            "-n",
            "2000",
            "--json",
        ],
        None,
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("JSON");
    assert_eq!(report["rules"], 200);
    assert_eq!(report["decisions"], 2000);
    assert!(report["compile_ns"].as_u64().is_some_and(|n| n > 0));
    assert!(report["compiled"]["p50_ns"].as_u64().is_some_and(|n| n > 0));
    assert!(report["compiled"]["p99_ns"].as_u64().is_some());
    assert!(report["compiled"]["decisions_per_second"]
        .as_u64()
        .is_some_and(|n| n > 0));
    assert!(report.get("reference").is_none());
}

#[test]
fn profiles_generate_loadable_workloads_and_report_prepare() {
    for (profile, layout) in [
        ("namespaces", None),
        ("mixed", Some("--list")),
        ("deny", Some("per-rule")),
    ] {
        let dir = scratch(&format!("bench-profile-{profile}"));
        let dir_s = dir.display().to_string();
        let mut args = vec!["bench", "--generate", "120", &dir_s, "--profile", profile];
        match layout {
            Some("--list") => args.push("--list"),
            Some(name) => args.extend(["--layout", name]),
            None => {}
        }
        let output = run(&args, None);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert!(stdout(&output).contains(&format!("({profile} profile)")));
        let list = layout == Some("--list");
        assert_eq!(dir.join("policies-list.yaml").exists(), list);
        if layout == Some("per-rule") {
            // One rule per policy: 120 policy documents.
            let text = std::fs::read_to_string(dir.join("policies-0000.yaml")).expect("file");
            assert_eq!(text.matches("kind: AuthorizationPolicy").count(), 120);
        }
        let requests = dir.join("requests.jsonl").display().to_string();
        let output = run(
            &[
                "bench", "-p", &dir_s, "-r", &requests, "-n", "500", "--json",
            ],
            None,
        );
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("JSON");
        assert_eq!(report["rules"], 120);
        assert!(report["prepare"]["p50_ns"].as_u64().is_some_and(|n| n > 0));
        assert!(report["prepare_decide"]["p99_ns"]
            .as_u64()
            .is_some_and(|n| n > 0));
        for on in ["prepare_on", "prepare_on_decide"] {
            assert!(report[on]["p50_ns"].as_u64().is_some_and(|n| n > 0), "{on}");
        }
    }
    let output = run(
        &["bench", "--generate", "10", "/tmp/x", "--profile", "nope"],
        None,
    );
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    let output = run(
        &["bench", "--generate", "10", "/tmp/x", "--layout", "tree"],
        None,
    );
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("one of: files, list, per-rule"));
}

#[test]
fn a_bad_requests_line_is_located() {
    let dir = scratch("bench-bad-line");
    let requests = dir.join("requests.jsonl");
    std::fs::write(&requests, "{\"host\": \"a.example\"}\n\n{\"hots\": 1}\n").unwrap();
    let policies = common::scenario("istio-waypoint");
    let requests_s = requests.display().to_string();
    let output = run(&["bench", "-p", &policies, "-r", &requests_s], None);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains(&format!("{requests_s}:3: invalid request JSON")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn generate_needs_a_directory_and_excludes_measuring() {
    assert_eq!(code(&run(&["bench", "--generate", "10"], None)), 2);
    let dir = scratch("bench-conflict").display().to_string();
    let output = run(&["bench", "--generate", "10", &dir, "--policy", &dir], None);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
}
