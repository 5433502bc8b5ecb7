//! The policy tools through the binary (and, for lint, the library too): `lint`, `test`,
//! `reach`, `diff`.

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
const SEEDS: [&str; 5] = [
    "istio-waypoint",
    "istio-waypoint-tls",
    "gloo",
    "tsb",
    "tsb-deny-all",
];

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn codes_of(findings: &Value) -> BTreeSet<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

// ------------------------------------------------------------------------------------------
// lint

/// `tests/lint/<code>/bad*.yaml` must produce exactly that code (library and CLI), and
/// `good*.yaml` nothing at all; every code has both.
#[test]
fn lint_fixtures_trigger_exactly_their_code_through_cli_and_library() {
    let root = repo_root().join("tests/lint");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let known: BTreeSet<&str> = egress_policy::tools::CODES
        .iter()
        .map(|(c, _)| *c)
        .collect();
    let covered: BTreeSet<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        covered,
        known.iter().map(|c| c.to_string()).collect::<BTreeSet<_>>(),
        "one fixture directory per lint code"
    );
    let mut runs = 0;
    for dir in dirs {
        let lint_code = dir.file_name().unwrap().to_string_lossy().into_owned();
        let files = yaml_files(&dir);
        let name = |f: &PathBuf| f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            files.iter().any(|f| name(f).starts_with("bad")),
            "{lint_code}: bad.yaml"
        );
        assert!(
            files.iter().any(|f| name(f).starts_with("good")),
            "{lint_code}: good.yaml"
        );
        for file in files {
            let bad = name(&file).starts_with("bad");
            let path = file.display().to_string();

            // The library.
            let findings = egress_policy::tools::lint_paths(&[&file]).expect("fixture loads");
            let codes: BTreeSet<String> = findings
                .iter()
                .map(|f| f.code.map(|c| c.to_string()).unwrap_or_default())
                .collect();
            if bad {
                assert_eq!(
                    codes,
                    BTreeSet::from([lint_code.clone()]),
                    "{path}: {findings:#?}"
                );
                for finding in &findings {
                    assert!(finding.location.file.ends_with(&name(&file)));
                    assert!(finding.location.line > 1, "{path}: located in the file");
                    assert!(!finding.help.as_deref().unwrap_or_default().is_empty());
                }
            } else {
                assert!(findings.is_empty(), "{path}: {findings:#?}");
            }

            // The CLI, JSON.
            let output = run(&["lint", "--format", "json", "--policy", &path], None);
            assert_eq!(
                code(&output),
                if bad { 1 } else { 0 },
                "{path}: {}",
                stderr(&output)
            );
            let cli = json(&stdout(&output));
            assert_eq!(codes_of(&cli), codes, "{path}");
            assert_eq!(cli.as_array().unwrap().len(), findings.len());
            if let Some(first) = findings.first() {
                assert_eq!(cli[0]["line"], first.location.line);
                assert_eq!(cli[0]["column"], first.location.column);
                assert_eq!(cli[0]["severity"], "warning");
            }

            // The CLI, human.
            let output = run(&["lint", "--policy", &path], None);
            let text = stdout(&output);
            if bad {
                let first = text.lines().next().unwrap();
                assert!(
                    common::is_diagnostic(first, &path, "warning"),
                    "{path}: {first}"
                );
                assert!(first.ends_with(&format!("[{lint_code}]")), "{first}");
                assert!(text.contains("\n  help: "), "{text}");
            } else {
                assert!(text.starts_with("no findings"), "{text}");
            }
            runs += 1;
        }
    }
    assert!(runs >= 28, "{runs}");
}

#[test]
fn lint_is_silent_on_the_seed_scenarios() {
    for seed in SEEDS {
        let dir = scenario(seed);
        let findings = egress_policy::tools::lint_paths(&[&dir]).expect("seed loads");
        assert!(findings.is_empty(), "{seed}: {findings:#?}");
        let output = run(&["lint", "--policy", &dir], None);
        assert_eq!(code(&output), 0, "{seed}: {}", stdout(&output));
    }
}

#[test]
fn lint_points_at_the_offending_value() {
    let file = repo_root().join("tests/lint/deny-host-without-port/bad.yaml");
    let findings = egress_policy::tools::lint_paths(&[&file]).unwrap();
    let finding = &findings[0];
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text
        .lines()
        .nth(finding.location.line as usize - 1)
        .unwrap();
    let at = &line[finding.location.column as usize - 1..];
    assert!(
        at.starts_with("[\"api.example.com\"]") || at.starts_with("\"api.example.com\""),
        "{line}"
    );
    assert_eq!(
        finding.field.as_deref(),
        Some("spec.rules[0].to[0].operation.hosts[0]")
    );
    assert_eq!(
        finding.resource.as_deref(),
        Some("AuthorizationPolicy istio-egress/deny-admin")
    );
}

#[test]
fn lint_of_unloadable_policies_exits_2_with_located_errors() {
    let dir = scratch("lint-invalid");
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x, namespace: y}\nspec:\n  action: DENY\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let output = run(&["lint", "--policy", &path], None);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output)
            .lines()
            .any(|l| common::is_diagnostic(l, &path, "error")),
        "{}",
        stderr(&output)
    );
}

// ------------------------------------------------------------------------------------------
// test

#[test]
fn seed_test_files_pass() {
    let files: Vec<String> = yaml_files(&repo_root().join("examples/tests"))
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    let mut args = vec!["test"];
    args.extend(files.iter().map(String::as_str));
    let output = run(&args, None);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    assert!(!text.contains("FAIL"), "{text}");
    assert!(text.trim_end().ends_with("0 failed"), "{text}");

    // The library says the same, and the JSON form carries every case.
    for file in &files {
        let report = egress_policy::tools::run_test_file(file);
        assert!(report.ok(), "{report:#?}");
        assert!(report.passed >= 2);
    }
    args.push("--json");
    let output = run(&args, None);
    let reports = json(&stdout(&output));
    assert_eq!(reports.as_array().unwrap().len(), files.len());
    assert!(reports[0]["cases"][0]["decision"]["status"].is_number());
}

#[test]
fn a_failing_case_exits_1_and_explains_the_decision() {
    let file = repo_root().join("tests/testfiles/failing.yaml");
    let path = file.display().to_string();
    let output = run(&["test", &path], None);
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}");
    assert!(text.contains("PASS  GET /get is allowed"), "{text}");
    assert!(
        text.contains("FAIL  wrongly expects POST /post to be allowed"),
        "{text}"
    );
    assert!(text.contains("allowed: expected true, got false"), "{text}");
    assert!(
        text.contains("policy: expected AuthorizationPolicy istio-egress/httpbin, got null"),
        "{text}"
    );
    // The explanation of the failure: the attached policy and the field that failed.
    assert!(
        text.contains("spec.rules[0].to[0].operation.methods: method POST not in [GET]"),
        "{text}"
    );
    assert!(text.contains("1 passed, 1 failed"), "{text}");

    let report = egress_policy::tools::run_test_file(&file);
    assert_eq!((report.passed, report.failed), (1, 1));
    let failed = &report.cases[1];
    assert!(!failed.passed);
    assert_eq!(failed.location.line, 13);
    assert!(failed.explanation.is_some());
    assert!(report.cases[0].explanation.is_none());
}

#[test]
fn malformed_test_files_exit_2_with_located_errors() {
    for (name, expected) in [
        (
            "invalid.yaml",
            vec![
                (12, "unknown field `verdict`"),
                (15, "unknown field `uri`"),
                (20, "`reason` must be a reason code"),
            ],
        ),
        (
            "missing-policies.yaml",
            vec![(3, "policy path `../does-not-exist` cannot be read")],
        ),
    ] {
        let file = repo_root().join("tests/testfiles").join(name);
        let path = file.display().to_string();
        let output = run(&["test", &path], None);
        let text = stdout(&output);
        assert_eq!(code(&output), 2, "{text}");
        assert!(text.contains("not run"), "{text}");
        for (line, message) in expected {
            assert!(
                text.lines()
                    .any(|l| l.contains(&format!("{path}:{line}:")) && l.contains(message)),
                "{name}: no `{message}` at line {line}:\n{text}"
            );
        }
        let report = egress_policy::tools::run_test_file(&file);
        assert!(!report.ok());
        assert!(report.cases.is_empty());
    }
}

// ------------------------------------------------------------------------------------------
// reach

#[test]
fn reach_host_on_the_waypoint_seed() {
    let dir = scenario("istio-waypoint");
    let output = run(&["reach", "--policy", &dir, "--host", "httpbin.org"], None);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    assert!(text.starts_with("who may reach httpbin.org:"), "{text}");
    assert!(text.contains("\n  routed\n    any identity\n"), "{text}");
    assert!(
        text.contains("      GET /get: AuthorizationPolicy istio-egress/httpbin rule 0\n"),
        "{text}"
    );

    // An explicit port defeats the exact host value: nobody reaches `httpbin.org:80`.
    let output = run(
        &[
            "reach",
            "--policy",
            &dir,
            "--host",
            "httpbin.org:80",
            "--json",
        ],
        None,
    );
    let report = json(&stdout(&output));
    assert_eq!(report["entries"], Value::Array(Vec::new()), "{report}");
}

#[test]
fn reach_host_lists_only_the_allowed_identity_for_gloo() {
    let dir = scenario("gloo");
    let output = run(
        &["reach", "-p", &dir, "--host", "httpbin.org", "--json"],
        None,
    );
    assert_eq!(code(&output), 0);
    let report = json(&stdout(&output));
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{report}");
    assert_eq!(entries[0]["identities"][0]["label"], PRODUCTPAGE);
    assert_eq!(entries[0]["any"], false);
    assert_eq!(entries[0]["access"][0]["methods"][0], "any");
    assert_eq!(entries[0]["access"][0]["policy"]["name"], "httpbin-access");
}

#[test]
fn reach_from_an_identity_on_the_tsb_seed() {
    let dir = scenario("tsb");
    let output = run(
        &[
            "reach",
            "-p",
            &dir,
            "--from",
            "cluster.local/ns/ns1/sa/app",
            "--json",
        ],
        None,
    );
    let report = json(&stdout(&output));
    let hosts: Vec<&str> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["hosts"].as_array().unwrap())
        .map(|h| h["label"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["www.httpbin.org"], "{report}");

    let output = run(
        &[
            "reach",
            "-p",
            &dir,
            "--from",
            "cluster.local/ns/default/sa/bookinfo-details",
        ],
        None,
    );
    let text = stdout(&output);
    assert!(
        text.contains("www.httpbin.org") && text.contains("any other host"),
        "{text}"
    );
    assert!(
        text.contains("EgressGateway tsb-egress/my-egress rule 1"),
        "{text}"
    );

    // Plaintext senders are not routed to the TSB gateway: everything passes through.
    let output = run(&["reach", "-p", &dir, "--from", "none"], None);
    assert!(
        stdout(&output).contains("passthrough"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn reach_at_a_named_workload() {
    let dir = scenario("tsb");
    let output = run(
        &[
            "reach",
            "-p",
            &dir,
            "--host",
            "www.httpbin.org",
            "--workload",
            "tsb-egress/app=tsb-egress",
            "--json",
        ],
        None,
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&stdout(&output));
    for entry in report["entries"].as_array().unwrap() {
        assert_eq!(entry["point"], "workload tsb-egress/app=tsb-egress");
        assert_ne!(entry["access"][0]["reason"], "passthrough", "{report}");
    }
    let output = run(
        &["reach", "-p", &dir, "--host", "x", "--workload", "nope"],
        None,
    );
    assert_eq!(code(&output), 2);
    let output = run(&["reach", "-p", &dir, "--host", "http://x/"], None);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("invalid --host"),
        "{}",
        stderr(&output)
    );
}

// ------------------------------------------------------------------------------------------
// diff

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn diff_of_equivalent_policies_exits_0() {
    let output = run(
        &[
            "diff",
            "--before",
            &scenario("istio-waypoint"),
            "--after",
            &scenario("istio-waypoint-tls"),
        ],
        None,
    );
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    assert!(text.starts_with("no decision changes"), "{text}");
}

#[test]
fn diff_reports_each_changed_class_with_an_example_and_exits_1() {
    let dir = scratch("diff-waypoint");
    let after = dir.join("after");
    copy_dir(Path::new(&scenario("istio-waypoint")), &after);
    let authz = after.join("httpbin-authz.yaml");
    let text = std::fs::read_to_string(&authz).unwrap();
    std::fs::write(
        &authz,
        text.replace("methods: [\"GET\"]", "methods: [\"GET\", \"POST\"]"),
    )
    .unwrap();
    let after = after.display().to_string();
    let output = run(
        &[
            "diff",
            "--before",
            &scenario("istio-waypoint"),
            "--after",
            &after,
            "--json",
        ],
        None,
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let report = json(&stdout(&output));
    let changes = report["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    for change in changes {
        assert_eq!(change["method"]["label"], "POST", "{change}");
        assert_eq!(change["path"]["label"], "/get", "{change}");
        assert_eq!(change["before"]["allowed"], false);
        assert_eq!(change["after"]["allowed"], true);
        assert_eq!(change["request"]["host"], "httpbin.org");
        assert_eq!(change["request"]["method"], "POST");
    }
    // The example really changes: check it with `check`.
    let example = serde_json::to_string(&changes[0]["request"]).unwrap();
    let decide = |dir: &str| {
        let output = run(&["eval", "--policy", dir], Some(&example));
        json(&stdout(&output))["decision"]["allowed"].clone()
    };
    assert_eq!(decide(&scenario("istio-waypoint")), false);
    assert_eq!(decide(&after), true);

    let output = run(
        &[
            "diff",
            "--before",
            &scenario("istio-waypoint"),
            "--after",
            &after,
        ],
        None,
    );
    let text = stdout(&output);
    assert!(text.contains("newly allowed"), "{text}");
    assert!(text.contains("deny 403 no_allow_match"), "{text}");
}

#[test]
fn diff_of_tsb_to_deny_all_lists_the_newly_denied() {
    let output = run(
        &[
            "diff",
            "--before",
            &scenario("tsb"),
            "--after",
            &scenario("tsb-deny-all"),
            "--json",
        ],
        None,
    );
    assert_eq!(code(&output), 1);
    let report = json(&stdout(&output));
    let changes = report["changes"].as_array().unwrap();
    assert!(changes
        .iter()
        .all(|c| c["after"]["reason"] == "gateway_denies_all"));
    assert!(changes.iter().any(|c| c["identity"]["label"]
        == "cluster.local/ns/default/sa/bookinfo-details"
        && c["host"]["label"] == "any other host"));
}

#[test]
fn diff_of_unloadable_policies_exits_2() {
    let output = run(
        &[
            "diff",
            "--before",
            &scenario("tsb"),
            "--after",
            "does/not/exist",
        ],
        None,
    );
    assert_eq!(code(&output), 2);
}

// ------------------------------------------------------------------------------------------
// inventory

#[test]
fn inventory_lists_what_the_policies_mention_as_text_and_json() {
    let dir = scenario("istio-egress-gateway");
    let output = run(&["inventory", "--policy", &dir, "--json"], None);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let found = json(&stdout(&output));
    let hosts: Vec<&str> = found["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert!(hosts.contains(&"edition.cnn.com"), "{found}");
    let gateway = &found["gateways"][0];
    assert_eq!(gateway["workload"]["labels"]["istio"], "egressgateway");
    assert!(gateway["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("egress-gateway.yaml"));
    let policy = &found["policies"][0];
    assert_eq!(policy["action"], "ALLOW");
    assert!(policy["location"]["line"].as_u64().unwrap() > 0);

    let output = run(&["inventory", "--policy", &dir], None);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("outbound traffic policy: ALLOW_ANY"),
        "{text}"
    );
    assert!(text.contains("edition.cnn.com"), "{text}");
    assert!(text.contains("\ngateways:\n  GATEWAY"), "{text}");

    let output = run(&["inventory", "--policy", "does-not-exist"], None);
    assert_eq!(code(&output), 2);
}
