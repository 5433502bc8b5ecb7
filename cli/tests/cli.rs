//! End-to-end tests of the `egress-policy` binary on the seed scenarios.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation should stop the test with a message"
)]

mod common;

use common::{code, is_diagnostic, json, run, scenario, scratch, stderr, stdout};
use serde_json::Value;

const PRODUCTPAGE: &str = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";
const REVIEWS: &str = "cluster.local/ns/bookinfo/sa/bookinfo-reviews";

/// `check --json` on one scenario; returns (exit code, decision).
fn check_json(scenario_name: &str, extra: &[&str]) -> (i32, Value) {
    let dir = scenario(scenario_name);
    let mut args = vec!["check", "--policy", &dir, "--json"];
    args.extend_from_slice(extra);
    let output = run(&args, None);
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    (code(&output), json(&stdout(&output)))
}

#[test]
fn istio_waypoint_get_is_allowed_through_the_waypoint() {
    let (code, d) = check_json(
        "istio-waypoint",
        &["--from", PRODUCTPAGE, "--url", "http://httpbin.org/get"],
    );
    assert_eq!(code, 0, "{d}");
    assert_eq!(d["allowed"], true);
    assert_eq!(d["status"], 200);
    assert_eq!(d["reason"], "allowed_by_policy");
    assert_eq!(d["policy"]["kind"], "AuthorizationPolicy");
    assert_eq!(d["policy"]["namespace"], "istio-egress");
    assert_eq!(d["policy"]["name"], "httpbin");
    assert_eq!(d["rule"], 0);
    assert_eq!(d["route"]["gateway"]["namespace"], "istio-egress");
    assert_eq!(d["route"]["gateway"]["name"], "egress-waypoint");
    assert_eq!(d["route"]["host"], "httpbin.org");
    assert_eq!(d["route"]["port"], 80);
}

#[test]
fn istio_waypoint_post_is_denied_with_rbac_403() {
    let (code, d) = check_json(
        "istio-waypoint",
        &[
            "--from",
            PRODUCTPAGE,
            "-X",
            "POST",
            "--url",
            "http://httpbin.org/post",
        ],
    );
    assert_eq!(code, 1, "{d}");
    assert_eq!(d["allowed"], false);
    assert_eq!(d["status"], 403);
    assert_eq!(d["message"], "RBAC: access denied");
    assert_eq!(d["route"], Value::Null);
}

#[test]
fn istio_waypoint_human_output_and_explain() {
    let dir = scenario("istio-waypoint");
    let output = run(
        &[
            "check",
            "--policy",
            &dir,
            "--from",
            PRODUCTPAGE,
            "--url",
            "http://httpbin.org/get",
        ],
        None,
    );
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    assert!(text.starts_with("ALLOWED 200 allowed_by_policy"), "{text}");
    assert!(text.contains("egress-waypoint"), "{text}");
    assert!(text.contains("httpbin.org:80"), "{text}");

    let output = run(
        &[
            "check",
            "--policy",
            &dir,
            "--from",
            PRODUCTPAGE,
            "-X",
            "POST",
            "--url",
            "http://httpbin.org/post",
            "--explain",
        ],
        None,
    );
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}{}", stderr(&output));
    assert!(text.starts_with("DENIED 403"), "{text}");
    assert!(
        text.contains("AuthorizationPolicy istio-egress/httpbin"),
        "{text}"
    );
    assert!(text.contains("no match"), "{text}");

    let output = run(
        &[
            "check",
            "--policy",
            &dir,
            "--from",
            PRODUCTPAGE,
            "--url",
            "http://httpbin.org/get",
            "--explain",
            "--json",
        ],
        None,
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let e = json(&stdout(&output));
    assert_eq!(e["decision"]["allowed"], true);
    assert!(
        e["policies"].as_array().is_some_and(|p| !p.is_empty()),
        "{e}"
    );
}

#[test]
fn explain_speaks_the_users_file_for_every_vendor() {
    // Gloo: the AccessPolicy's allowedClients entry, its line and the label values.
    let dir = scenario("gloo");
    let args = [
        "check",
        "--policy",
        &dir,
        "--from",
        "cluster.local/ns/bookinfo/sa/bookinfo-reviews",
        "--url",
        "http://httpbin.org/get",
        "--explain",
    ];
    let output = run(&args, None);
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}{}", stderr(&output));
    assert!(
        text.contains("policy:   no ALLOW policy matched (1 attached)\n            - AccessPolicy bookinfo/httpbin-access"),
        "{text}"
    );
    assert!(
        text.contains("enforced at:       VirtualGateway istio-egress/egress-vg"),
        "{text}"
    );
    assert!(text.contains("(egress gateway, port 80)"), "{text}");
    assert!(
        text.contains("spec.config.authz.allowedClients[0].serviceAccountSelector.labels: service account labels {account=reviews} do not include [{account=productpage}]"),
        "{text}"
    );
    assert!(text.contains("httpbin-accesspolicy.yaml:18:13"), "{text}");
    assert!(!text.contains("from[0].source"), "{text}");
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let e = json(&stdout(&run(&with_json, None)));
    let rule = &e["policies"][0]["rules"][0];
    assert_eq!(
        rule["failed_field"],
        "from[0].source.serviceAccountSelector.labels"
    );
    assert_eq!(
        rule["field"],
        "spec.config.authz.allowedClients[0].serviceAccountSelector.labels"
    );
    assert_eq!(rule["got"], "{account=reviews}");
    assert_eq!(rule["wanted"], serde_json::json!(["{account=productpage}"]));
    assert_eq!(e["enforced_at"]["proxy"], "egress_gateway");

    // TSB: the EgressGateway's authorization entries.
    let dir = scenario("tsb");
    let output = run(
        &[
            "check",
            "--policy",
            &dir,
            "--from",
            "cluster.local/ns/other/sa/app",
            "--workload",
            "tsb-egress/app=tsb-egress",
            "--url",
            "http://www.httpbin.org/get",
            "--explain",
        ],
        None,
    );
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}{}", stderr(&output));
    assert!(
        text.contains("spec.authorization[0].from.mode: source namespace other is in none of the workspaces [w1]"),
        "{text}"
    );
    assert!(
        text.contains("spec.authorization[1].from.serviceAccounts[0]: source service account other/app not in [default/bookinfo-details]"),
        "{text}"
    );
    assert!(text.contains("egress-gateway.yaml:21:25"), "{text}");
}

#[test]
fn istio_waypoint_named_workload() {
    let (code, d) = check_json(
        "istio-waypoint",
        &[
            "--from",
            PRODUCTPAGE,
            "--url",
            "http://httpbin.org/get",
            "--workload",
            "istio-egress/egress-waypoint",
        ],
    );
    assert_eq!(code, 0, "{d}");
    assert_eq!(d["reason"], "allowed_by_policy");
}

#[test]
fn istio_waypoint_tls_originates_and_adds_the_header() {
    let (code, d) = check_json(
        "istio-waypoint-tls",
        &["--from", PRODUCTPAGE, "--url", "http://httpbin.org/get"],
    );
    assert_eq!(code, 0, "{d}");
    assert_eq!(d["route"]["port"], 443);
    assert_eq!(d["route"]["tls"]["mode"], "SIMPLE");
    assert_eq!(
        d["route"]["headers"]["add"]["my-added-header"],
        "added-value"
    );
}

#[test]
fn gloo_productpage_allowed_reviews_denied_unknown_host_502() {
    let (code, d) = check_json(
        "gloo",
        &["--from", PRODUCTPAGE, "--url", "http://httpbin.org/get"],
    );
    assert_eq!(code, 0, "{d}");
    assert_eq!(d["reason"], "allowed_by_policy");
    assert_eq!(d["policy"]["kind"], "AccessPolicy");
    assert_eq!(d["route"]["gateway"]["name"], "egress-vg");
    assert_eq!(d["route"]["host"], "httpbin.org");
    assert_eq!(d["route"]["port"], 443);
    assert_eq!(d["route"]["tls"]["mode"], "SIMPLE");

    let (code, d) = check_json(
        "gloo",
        &["--from", REVIEWS, "--url", "http://httpbin.org/get"],
    );
    assert_eq!(code, 1, "{d}");
    assert_eq!(d["status"], 403);

    let (code, d) = check_json(
        "gloo",
        &["--from", PRODUCTPAGE, "--url", "http://www.google.com/"],
    );
    assert_eq!(code, 1, "{d}");
    assert_eq!(d["status"], 502);
    assert_eq!(d["reason"], "not_in_registry");
}

#[test]
fn tsb_workspace_and_custom_service_accounts() {
    let ns1 = "cluster.local/ns/ns1/sa/app";
    let (code, d) = check_json(
        "tsb",
        &["--from", ns1, "--url", "http://www.httpbin.org/get"],
    );
    assert_eq!(code, 0, "{d}");
    assert_eq!(d["policy"]["kind"], "EgressGateway");
    assert_eq!(d["policy"]["name"], "my-egress");
    assert_eq!(d["rule"], 0);

    let (code, d) = check_json("tsb", &["--from", ns1, "--url", "http://example.com/"]);
    assert_eq!(code, 1, "{d}");
    assert_eq!(d["status"], 403);

    let (code, d) = check_json(
        "tsb",
        &[
            "--from",
            "cluster.local/ns/default/sa/bookinfo-details",
            "--url",
            "http://example.com/",
        ],
    );
    assert_eq!(code, 0, "{d}");
    assert_eq!(d["rule"], 1);

    let (code, d) = check_json(
        "tsb",
        &[
            "--from",
            "cluster.local/ns/other/sa/app",
            "--url",
            "http://www.httpbin.org/get",
            "--workload",
            "tsb-egress/app=tsb-egress",
        ],
    );
    assert_eq!(code, 1, "{d}");
    assert_eq!(d["status"], 403);
}

#[test]
fn tsb_empty_authorization_denies_all() {
    let (code, d) = check_json(
        "tsb-deny-all",
        &[
            "--from",
            "cluster.local/ns/default/sa/bookinfo-details",
            "--url",
            "http://example.com/",
        ],
    );
    assert_eq!(code, 1, "{d}");
    assert_eq!(d["reason"], "gateway_denies_all");
}

#[test]
fn check_rejects_bad_flags_with_status_2() {
    let dir = scenario("istio-waypoint");
    for bad in [
        vec!["--url", "http://httpbin.org/", "--workload", "no-slash"],
        vec!["--url", "http://httpbin.org/", "-H", "no colon"],
        vec!["--url", "http://httpbin.org/", "--protocol", "udp"],
        vec![],
    ] {
        let mut args = vec!["check", "--policy", dir.as_str()];
        args.extend(bad.iter().copied());
        let output = run(&args, None);
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn eval_keeps_order_skips_blank_lines_and_reports_bad_lines() {
    let dir = scenario("istio-waypoint");
    let input = format!(
        concat!(
            r#"{{"source": {{"principal": "{p}"}}, "method": "GET", "url": "http://httpbin.org/get"}}"#,
            "\n\n",
            r#"{{"source": {{"principal": "{p}"}}, "method": "POST", "url": "http://httpbin.org/post"}}"#,
            "\n",
            "   \n",
            r#"{{"not_a_field": 1}}"#,
            "\n",
            "this is not json\n",
            r#"{{"method": "get", "url": "http://httpbin.org/get"}}"#,
            "\n"
        ),
        p = PRODUCTPAGE
    );
    let output = run(&["eval", "--policy", &dir], Some(&input));
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output).lines().map(json).collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    // The core's one JSON-lines shape: `{line, decision}` or `{line, error}`.
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["decision"]["allowed"], true);
    assert_eq!(lines[1]["decision"]["allowed"], false);
    assert_eq!(lines[1]["decision"]["status"], 403);
    assert!(lines[1]["error"].is_null());
    assert_eq!(lines[2]["line"], 5);
    assert!(lines[2]["decision"].is_null());
    assert!(lines[2]["error"]
        .as_str()
        .is_some_and(|e| e.contains("not_a_field")));
    assert_eq!(lines[3]["line"], 6);
    assert!(lines[3]["error"].is_string());
    assert_eq!(lines[4]["decision"]["status"], 400);
    assert_eq!(lines[4]["decision"]["reason"], "malformed_request");
}

/// tests/batch: the CLI prints exactly the shared JSON lines that Python `eval_lines` and
/// WASM `evalLines` are held to.
#[test]
fn eval_prints_the_shared_batch_lines() {
    let root = common::repo_root();
    let input = std::fs::read_to_string(root.join("tests/batch/requests.jsonl")).unwrap();
    let expected = std::fs::read_to_string(root.join("tests/batch/expected.jsonl")).unwrap();
    let output = run(
        &["eval", "--policy", &scenario("istio-egress-gateway")],
        Some(&input),
    );
    assert_eq!(code(&output), 2, "two lines are not requests");
    let got: Vec<Value> = stdout(&output).lines().map(json).collect();
    let want: Vec<Value> = expected.lines().map(json).collect();
    assert_eq!(got, want);
    assert!(want
        .iter()
        .all(|l| l.as_object().is_some_and(|o| o.len() == 3)));
}

#[test]
fn eval_reads_a_requests_file_and_exits_0_when_every_line_parses() {
    let dir = scenario("gloo");
    let scratch = scratch("eval-file");
    let file = scratch.join("requests.jsonl");
    let lines = [
        format!(
            r#"{{"source": {{"principal": "{PRODUCTPAGE}"}}, "url": "http://httpbin.org/get", "method": "GET"}}"#
        ),
        format!(
            r#"{{"source": {{"principal": "{REVIEWS}"}}, "url": "http://httpbin.org/get", "method": "GET"}}"#
        ),
        r#"{"url": "http://www.google.com/", "method": "GET"}"#.to_string(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let output = run(
        &[
            "eval",
            "--policy",
            &dir,
            "--requests",
            &file.display().to_string(),
        ],
        None,
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let statuses: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| json(l)["decision"]["status"].clone())
        .collect();
    assert_eq!(statuses, vec![200, 403, 502]);
}

#[test]
fn validate_accepts_every_example_scenario() {
    for name in [
        "istio-waypoint",
        "istio-waypoint-tls",
        "gloo",
        "tsb",
        "tsb-deny-all",
    ] {
        let dir = scenario(name);
        let output = run(&["validate", "--policy", &dir], None);
        assert_eq!(code(&output), 0, "{name}: {}", stderr(&output));
        assert!(stdout(&output).starts_with("ok: "), "{}", stdout(&output));
        assert!(
            stderr(&output).is_empty(),
            "{name}: the examples should load without warnings: {}",
            stderr(&output)
        );
    }
}

#[test]
fn validate_reports_every_error_with_its_location() {
    let dir = scratch("validate-bad");
    let first = dir.join("a.yaml");
    let second = dir.join("b.yaml");
    std::fs::write(
        &first,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: [x\n",
    )
    .unwrap();
    std::fs::write(&second, "kind: Namespace\nmetadata:\n  name: y\n").unwrap();
    let output = run(&["validate", "--policy", &dir.display().to_string()], None);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    for file in [&first, &second] {
        let shown = file.display().to_string();
        assert!(
            err.lines().any(|l| is_diagnostic(l, &shown, "error")),
            "{shown} not reported: {err}"
        );
    }
    assert!(
        stdout(&output).contains("2 error(s)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn deciding_commands_exit_2_when_policies_do_not_load() {
    let dir = scratch("check-bad-policy");
    let file = dir.join("broken.yaml");
    std::fs::write(&file, "apiVersion: v1\nkind: [\n").unwrap();
    let shown = file.display().to_string();
    let output = run(
        &["check", "--policy", &shown, "--url", "http://httpbin.org/"],
        None,
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output)
            .lines()
            .any(|l| is_diagnostic(l, &shown, "error")),
        "{}",
        stderr(&output)
    );
    let output = run(&["eval", "--policy", &shown], Some(""));
    assert_eq!(code(&output), 2);
}

#[test]
fn demo_runs_every_scenario() {
    let output = run(&["demo"], None);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    for name in [
        "istio-waypoint",
        "istio-waypoint-tls",
        "gloo",
        "tsb",
        "tsb-deny-all",
    ] {
        assert!(
            text.contains(&format!("== {name} (")),
            "{name} missing:\n{text}"
        );
    }
    for column in [
        "SOURCE", "REQUEST", "DECISION", "STATUS", "REASON", "POLICY", "ROUTE",
    ] {
        assert!(text.contains(column), "{column} missing:\n{text}");
    }
    assert!(text.contains("not_in_registry"), "{text}");
    assert!(text.contains("gateway_denies_all"), "{text}");
}

#[test]
fn help_and_version() {
    let output = run(&["--help"], None);
    assert_eq!(code(&output), 0);
    for command in ["eval", "check", "validate", "demo"] {
        assert!(stdout(&output).contains(command));
    }
    let output = run(&["--version"], None);
    assert_eq!(code(&output), 0);
    assert!(stdout(&output).contains("egress-policy"));
}
