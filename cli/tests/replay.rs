//! `replay` and `suggest` through the binary: every log format, malformed lines, the CI exit
//! codes, and suggest's three guarantees (validate + lint clean, replay of the same logs
//! denies nothing, diff against deny-all lists exactly the observed classes).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation should stop the test with a message"
)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{code, json, repo_root, run, scenario, scratch, stderr, stdout};
use serde_json::Value;

const PRODUCTPAGE: &str = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";
const REVIEWS: &str = "cluster.local/ns/bookinfo/sa/bookinfo-reviews";
const BILLING: &str = "cluster.local/ns/payments/sa/billing";

fn log(name: &str) -> String {
    repo_root()
        .join("examples/logs")
        .join(name)
        .display()
        .to_string()
}

/// Runs `replay --json` and returns (exit code, report).
fn replay(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["replay", "--json"];
    all.extend_from_slice(args);
    let output = run(&all, None);
    assert!(
        code(&output) == 0 || code(&output) == 1,
        "replay failed: {}",
        stderr(&output)
    );
    (code(&output), json(&stdout(&output)))
}

/// The rows as (identity, host, method, path, allowed, reason, count).
fn rows(report: &Value) -> BTreeSet<(String, String, String, String, bool, String, u64)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["identity"].as_str().unwrap().to_string(),
                r["host"].as_str().unwrap().to_string(),
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
                r["after"]["allowed"].as_bool().unwrap(),
                r["after"]["reason"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn row(
    id: &str,
    host: &str,
    method: &str,
    path: &str,
    allowed: bool,
    reason: &str,
    count: u64,
) -> (String, String, String, String, bool, String, u64) {
    (
        id.into(),
        host.into(),
        method.into(),
        path.into(),
        allowed,
        reason.into(),
        count,
    )
}

#[test]
fn istio_text_with_address_map() {
    let (exit, report) = replay(&[
        "--policy",
        &scenario("istio-waypoint"),
        "--log",
        &log("istio-text.log"),
        "--format",
        "istio-text",
        "--identities",
        &log("identities.txt"),
    ]);
    assert_eq!(exit, 1, "observed traffic is denied: the CI gate fails");
    let expected: BTreeSet<_> = [
        row(
            PRODUCTPAGE,
            "httpbin.org",
            "GET",
            "/get",
            true,
            "allowed_by_policy",
            3,
        ),
        row(
            PRODUCTPAGE,
            "httpbin.org",
            "POST",
            "/post",
            false,
            "no_allow_match",
            1,
        ),
        row(
            REVIEWS,
            "httpbin.org",
            "GET",
            "/status/*",
            false,
            "no_allow_match",
            1,
        ),
        row(
            BILLING,
            "api.github.com:443",
            "-",
            "-",
            true,
            "passthrough",
            1,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(rows(&report), expected);
    assert_eq!(report["malformed"], 1);
    assert_eq!(report["malformed_samples"][0]["line"], 7);
    assert_eq!(report["allowed"], 4);
    assert_eq!(report["denied"], 2);
}

#[test]
fn envoy_json_standard_fields_and_custom_mapping() {
    let (_, report) = replay(&[
        "--policy",
        &scenario("istio-waypoint"),
        "--log",
        &log("envoy-json.log"),
        "--identities",
        &log("identities.txt"),
    ]);
    let got = rows(&report);
    assert!(got.contains(&row(
        PRODUCTPAGE,
        "httpbin.org",
        "GET",
        "/get",
        true,
        "allowed_by_policy",
        1
    )));
    assert!(got.contains(&row(
        BILLING,
        "api.github.com:443",
        "-",
        "-",
        true,
        "passthrough",
        1
    )));
    assert_eq!(
        report["malformed"], 1,
        "the truncated last line is summarized"
    );
    assert_eq!(report["malformed_samples"][0]["line"], 5);

    // A custom Telemetry format carrying %DOWNSTREAM_PEER_URI_SAN% as `source_identity`.
    let (_, custom) = replay(&[
        "--policy",
        &scenario("istio-waypoint"),
        "--log",
        &log("gateway-custom-json.log"),
        "--map",
        "identity=source_identity",
    ]);
    let got = rows(&custom);
    assert!(got.contains(&row(
        PRODUCTPAGE,
        "httpbin.org",
        "GET",
        "/get",
        true,
        "allowed_by_policy",
        1
    )));
    assert!(got.contains(&row(
        BILLING,
        "httpbin.org",
        "GET",
        "/anything/*",
        false,
        "no_allow_match",
        1
    )));
    // Without the mapping the identity is unknown (plaintext).
    let (_, unmapped) = replay(&[
        "--policy",
        &scenario("istio-waypoint"),
        "--log",
        &log("gateway-custom-json.log"),
    ]);
    assert!(rows(&unmapped).iter().all(|r| r.0 == "-"));
}

#[test]
fn ztunnel_and_request_lines() {
    let (_, report) = replay(&[
        "--policy",
        &scenario("istio-waypoint"),
        "--log",
        &log("ztunnel.log"),
        "--format",
        "ztunnel",
    ]);
    let hosts: BTreeSet<(String, String)> = rows(&report).into_iter().map(|r| (r.0, r.1)).collect();
    let expected: BTreeSet<(String, String)> = [
        (BILLING, "api.stripe.com:443"),
        (PRODUCTPAGE, "httpbin.org:80"),
        (REVIEWS, "db.example.com:5432"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(hosts, expected);

    let (exit, report) = replay(&[
        "--policy",
        &scenario("istio-waypoint"),
        "--log",
        &log("requests.jsonl"),
        "--format",
        "requests",
    ]);
    assert_eq!(exit, 1);
    assert_eq!(report["requests"], 3);
    assert_eq!(report["malformed"], 1, "unknown field `extra`");
    assert!(report["malformed_samples"][0]["message"]
        .as_str()
        .unwrap()
        .contains("extra"));
}

#[test]
fn bad_input_exits_2_with_location() {
    let policy = scenario("istio-waypoint");
    let garbage = scratch("replay-bad").join("garbage.log");
    std::fs::write(&garbage, "not a log\nstill not\n").unwrap();
    let garbage = garbage.display().to_string();
    let output = run(&["replay", "-p", &policy, "-l", &garbage], None);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains(&format!("{garbage}:1:")),
        "{}",
        stderr(&output)
    );

    let output = run(
        &[
            "replay",
            "-p",
            &policy,
            "-l",
            &log("envoy-json.log"),
            "-f",
            "csv",
        ],
        None,
    );
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("unknown log format"));

    let output = run(
        &[
            "replay",
            "-p",
            &policy,
            "-l",
            &log("envoy-json.log"),
            "--map",
            "who=x",
        ],
        None,
    );
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("unknown field `who`"));

    let ids = scratch("replay-bad-ids").join("ids.txt");
    std::fs::write(
        &ids,
        "# ok\n10.0.0.1 cluster.local/ns/a/sa/b\nnot-an-ip x\n",
    )
    .unwrap();
    let ids = ids.display().to_string();
    let output = run(
        &[
            "replay",
            "-p",
            &policy,
            "-l",
            &log("istio-text.log"),
            "-f",
            "istio-text",
            "--identities",
            &ids,
        ],
        None,
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains(&format!("{ids}:3:")),
        "{}",
        stderr(&output)
    );

    let output = run(&["replay", "-p", &policy, "-l", "/nonexistent.log"], None);
    assert_eq!(code(&output), 2);
}

/// Writes the suggestion for `log` (with `extra` flags) into a scratch directory.
fn suggest_into(name: &str, args: &[&str]) -> PathBuf {
    let dir = scratch(name);
    let out = dir.join("suggested.yaml");
    let out_s = out.display().to_string();
    let mut all = vec!["suggest", "-o", &out_s];
    all.extend_from_slice(args);
    let output = run(&all, None);
    assert_eq!(code(&output), 0, "suggest failed: {}", stderr(&output));
    dir
}

/// The suggestion with every AuthorizationPolicy emptied: the same registry, deny-all.
fn deny_all(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(dir.join("suggested.yaml")).unwrap();
    let docs: Vec<String> = text
        .split("\n---\n")
        .map(|doc| match doc.find("  rules:\n") {
            Some(at) if doc.contains("kind: AuthorizationPolicy") => {
                format!("{}  rules: []\n", &doc[..at])
            }
            _ => doc.to_string(),
        })
        .collect();
    let out = dir.parent().unwrap().join(format!(
        "{}-deny-all",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("deny-all.yaml"), docs.join("\n---\n")).unwrap();
    out
}

/// The three guarantees of `suggest` on one log.
fn guarantees(name: &str, log_args: &[&str], suggest_args: &[&str]) {
    let mut all = log_args.to_vec();
    all.extend_from_slice(suggest_args);
    let dir = suggest_into(name, &all);
    let policy = dir.display().to_string();

    let validate = run(&["validate", "-p", &policy], None);
    assert_eq!(
        code(&validate),
        0,
        "{}{}",
        stdout(&validate),
        stderr(&validate)
    );
    let lint = run(&["lint", "-p", &policy], None);
    assert_eq!(code(&lint), 0, "lint findings: {}", stdout(&lint));

    let mut args = vec!["--policy", policy.as_str()];
    args.extend_from_slice(log_args);
    let (exit, report) = replay(&args);
    assert_eq!(exit, 0, "replay of the same logs: {report}");
    assert_eq!(report["denied"], 0);
    assert!(report["allowed"].as_u64().unwrap() > 0);

    // diff against deny-all: exactly the observed classes become allowed.
    let deny = deny_all(&dir).display().to_string();
    let output = run(
        &["diff", "--before", &deny, "--after", &policy, "--json"],
        None,
    );
    let diff = json(&stdout(&output));
    let observed: BTreeSet<(String, String, String)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let host = r["host"].as_str().unwrap();
            let host = host.split(':').next().unwrap().to_string();
            (
                r["identity"].as_str().unwrap().to_string(),
                host,
                r["method"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut changed = BTreeSet::new();
    for change in diff["changes"].as_array().unwrap() {
        assert_eq!(change["before"]["allowed"], false, "{change}");
        assert_eq!(change["after"]["allowed"], true, "{change}");
        let request = &change["request"];
        let identity = request["source"]["principal"].as_str().unwrap_or("-");
        let identity = identity.trim_start_matches("spiffe://").to_string();
        let host = request["host"]
            .as_str()
            .or(request["sni"].as_str())
            .or(request["url"].as_str())
            .unwrap()
            .to_string();
        let host = host
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .split(['/', ':'])
            .next()
            .unwrap()
            .to_string();
        let method = request["method"].as_str().unwrap_or("-").to_string();
        let key = (identity, host, method);
        // A TLS/TCP observation (method `-`) covers whatever the connection carries.
        let opaque = (key.0.clone(), key.1.clone(), "-".to_string());
        assert!(
            observed.contains(&key) || observed.contains(&opaque),
            "{key:?} was never observed: {change}"
        );
        changed.insert(key);
    }
    let http_observed: BTreeSet<_> = observed.iter().filter(|k| k.2 != "-").cloned().collect();
    assert!(
        http_observed.is_subset(&changed),
        "every observed HTTP class is listed: {http_observed:?} vs {changed:?}"
    );
}

#[test]
fn suggest_guarantees_on_sample_logs() {
    guarantees(
        "suggest-text",
        &[
            "--log",
            &log("istio-text.log"),
            "--format",
            "istio-text",
            "--identities",
            &log("identities.txt"),
        ],
        &[],
    );
    guarantees(
        "suggest-json",
        &[
            "--log",
            &log("gateway-custom-json.log"),
            "--map",
            "identity=source_identity",
        ],
        &[],
    );
    guarantees(
        "suggest-requests",
        &["--log", &log("requests.jsonl"), "--format", "requests"],
        &[],
    );
    guarantees(
        "suggest-ztunnel",
        &["--log", &log("ztunnel.log"), "--format", "ztunnel"],
        &[],
    );
}

#[test]
fn suggest_guarantees_on_a_generated_log() {
    let dir = scratch("suggest-generated");
    let path = dir.join("gen.log");
    let mut text = String::new();
    let hosts = ["httpbin.org", "api.stripe.com", "example.com:8080"];
    let methods = ["GET", "POST", "DELETE"];
    for i in 0..600usize {
        let id = format!("spiffe://cluster.local/ns/ns{}/sa/app{}", i % 3, i % 5);
        let host = hosts[i % hosts.len()];
        let method = methods[(i / 7) % methods.len()];
        let path = format!("/api/v{}/items/{}?page={}", i % 2, i % 11, i);
        text.push_str(&format!(
            "{{\"method\":\"{method}\",\"path\":\"{path}\",\"authority\":\"{host}\",\"downstream_peer_uri_san\":\"{id}\"}}\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    let log = path.display().to_string();
    guarantees(
        "suggest-generated-out",
        &["--log", &log],
        &["--generalize", "2"],
    );

    // The knob: generalize 0 drops paths, so fewer rules.
    let narrow = suggest_into("suggest-gen-2", &["--log", &log, "--generalize", "3"]);
    let wide = suggest_into("suggest-gen-0", &["--log", &log, "--generalize", "0"]);
    let narrow = std::fs::read_to_string(narrow.join("suggested.yaml")).unwrap();
    let wide = std::fs::read_to_string(wide.join("suggested.yaml")).unwrap();
    assert!(narrow.contains("\"/api/v1/items/*\""), "{narrow}");
    assert!(!wide.contains("paths:"), "{wide}");
}

#[test]
fn before_reports_only_changes_and_gates() {
    // Before: what the logs suggest (everything observed allowed); after: the seed policy.
    let dir = suggest_into(
        "replay-before",
        &[
            "--log",
            &log("istio-text.log"),
            "--format",
            "istio-text",
            "--identities",
            &log("identities.txt"),
        ],
    );
    let before = dir.display().to_string();
    let (exit, report) = replay(&[
        "--policy",
        &scenario("istio-waypoint"),
        "--before",
        &before,
        "--log",
        &log("istio-text.log"),
        "--format",
        "istio-text",
        "--identities",
        &log("identities.txt"),
    ]);
    assert_eq!(exit, 1, "POST /post and reviews become denied");
    assert_eq!(report["newly_denied"], 2);
    let changed: BTreeSet<(String, String)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["identity"].as_str().unwrap().to_string(),
                r["method"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            (PRODUCTPAGE.to_string(), "POST".to_string()),
            (REVIEWS.to_string(), "GET".to_string())
        ]
        .into_iter()
        .collect()
    );
    // The other way round nothing observed becomes denied: exit 0.
    let output = run(
        &[
            "replay",
            "--policy",
            &before,
            "--before",
            &scenario("istio-waypoint"),
            "--log",
            &log("istio-text.log"),
            "--format",
            "istio-text",
            "--identities",
            &log("identities.txt"),
        ],
        None,
    );
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert!(stdout(&output).contains("0 newly denied"));
}

/// `suggest --vendor gloo|tsb`: the suggestion loads and lints clean, replay of the same
/// logs allows every observed request the product can express (the rest is named in the
/// notes), and diff against the same registry with every rule removed lists only observed
/// (identity, host) pairs.
fn vendor_guarantees(vendor: &str, name: &str, log_args: &[&str]) {
    let mut all = log_args.to_vec();
    all.extend_from_slice(&["--vendor", vendor]);
    let dir = suggest_into(name, &all);
    let policy = dir.display().to_string();
    let text = std::fs::read_to_string(dir.join("suggested.yaml")).unwrap();

    let validate = run(&["validate", "-p", &policy], None);
    assert_eq!(code(&validate), 0, "{}", stderr(&validate));
    assert!(
        stdout(&validate).contains("; 0 warning(s)"),
        "{}",
        stdout(&validate)
    );
    let lint = run(&["lint", "-p", &policy], None);
    assert_eq!(code(&lint), 0, "lint findings: {}", stdout(&lint));

    let mut args = vec!["--policy", policy.as_str()];
    args.extend_from_slice(log_args);
    let (_, report) = replay(&args);
    let rows = report["rows"].as_array().unwrap();
    for row in rows {
        let allowed = row["after"]["allowed"].as_bool().unwrap_or(false);
        let opaque = row["method"] == "-";
        let plaintext = row["identity"] == "-";
        match vendor {
            // Gloo routes TLS/TCP directly (registered, passthrough); everything is allowed.
            "gloo" => assert!(allowed, "{row}"),
            // TSB names hosts and service accounts: TLS/TCP and plaintext stay denied.
            _ => assert_eq!(allowed, !(opaque || plaintext), "{row}"),
        }
    }

    // Deny-all twin: the same resources with every rule removed.
    let denied: String = match vendor {
        "gloo" => text
            .split("\n---\n")
            .map(|doc| match doc.find("    authz:\n") {
                Some(at) if doc.contains("kind: AccessPolicy") => {
                    format!("{}    authz:\n      allowedClients: []\n", &doc[..at])
                }
                _ => doc.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n---\n"),
        _ => match text.find("  authorization:") {
            Some(at) => format!("{}  authorization: []\n", &text[..at]),
            None => text.clone(),
        },
    };
    let deny_dir = scratch(&format!("{name}-deny-all"));
    std::fs::write(deny_dir.join("deny-all.yaml"), denied).unwrap();
    let deny = deny_dir.display().to_string();
    let output = run(
        &["diff", "--before", &deny, "--after", &policy, "--json"],
        None,
    );
    let diff = json(&stdout(&output));
    let observed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            let host = r["host"].as_str().unwrap().split(':').next().unwrap();
            (
                r["identity"].as_str().unwrap().to_string(),
                host.to_string(),
            )
        })
        .collect();
    let changes = diff["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "{diff}");
    for change in changes {
        assert_eq!(change["after"]["allowed"], true, "{change}");
        let request = &change["request"];
        let identity = request["source"]["principal"]
            .as_str()
            .unwrap_or("-")
            .trim_start_matches("spiffe://")
            .to_string();
        let host = request["host"]
            .as_str()
            .or(request["url"].as_str())
            .unwrap()
            .trim_start_matches("http://")
            .split(['/', ':'])
            .next()
            .unwrap()
            .to_string();
        assert!(
            observed.contains(&(identity.clone(), host.clone())),
            "({identity}, {host}) was never observed: {change}"
        );
    }
}

#[test]
fn suggest_for_gloo_and_tsb_keeps_the_guarantees_each_product_can_express() {
    let gateway_log = log("gateway-custom-json.log");
    let gateway = ["--log", &gateway_log, "--map", "identity=source_identity"];
    let requests_log = log("requests.jsonl");
    let requests = ["--log", &requests_log, "--format", "requests"];
    for vendor in ["gloo", "tsb"] {
        vendor_guarantees(vendor, &format!("suggest-{vendor}-gateway"), &gateway);
        vendor_guarantees(vendor, &format!("suggest-{vendor}-requests"), &requests);
    }

    // What each product cannot say is said.
    let output = run(
        &[
            "suggest",
            "--vendor",
            "tsb",
            "--log",
            &requests_log,
            "--format",
            "requests",
        ],
        None,
    );
    let notes = stderr(&output);
    assert!(notes.contains("names hosts only"), "{notes}");
    assert!(notes.contains("api.github.com:443 is TLS"), "{notes}");
    let output = run(
        &[
            "suggest",
            "--vendor",
            "gloo",
            "--log",
            &requests_log,
            "--format",
            "requests",
        ],
        None,
    );
    let yaml = stdout(&output);
    assert!(yaml.contains("kind: VirtualGateway"), "{yaml}");
    assert!(yaml.contains("allowedMethods: [\"POST\"]"), "{yaml}");
    assert!(
        stderr(&output).contains("reached directly"),
        "{}",
        stderr(&output)
    );

    let output = run(
        &["suggest", "--vendor", "linkerd", "--log", &requests_log],
        None,
    );
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("expected istio, tsb or gloo"));
}
