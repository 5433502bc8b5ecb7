//! Every file in `tests/bad-input/` must be rejected by `validate` with exit status 2, at
//! least one located `path:line:col: error: ` line, and no panic. Generated inputs (too
//! big to commit) are checked the same way.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation should stop the test with a message"
)]

mod common;

use std::path::Path;

use common::{code, is_diagnostic, repo_root, run, scratch, stderr};

/// Checks one file; returns a failure description or `None`.
fn check(path: &Path) -> Option<String> {
    let shown = path.display().to_string();
    let output = run(&["validate", "--policy", &shown], None);
    let err = stderr(&output);
    let mut problems = Vec::new();
    if code(&output) != 2 {
        problems.push(format!("exit status {} (expected 2)", code(&output)));
    }
    if !err.lines().any(|l| is_diagnostic(l, &shown, "error")) {
        problems.push("no `path:line:col: error: ` line on stderr".to_string());
    }
    if err.contains("panicked") {
        problems.push("panicked".to_string());
    }
    if problems.is_empty() {
        None
    } else {
        Some(format!("{shown}: {}\n  stderr: {err}", problems.join(", ")))
    }
}

#[test]
fn every_bad_input_file_is_rejected_with_a_located_error() {
    let dir = repo_root().join("tests/bad-input");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    let generic = files
        .iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("generic-"))
        })
        .count();
    assert!(generic >= 12, "only {generic} generic bad-input files");
    let failures: Vec<String> = files.iter().filter_map(|f| check(f)).collect();
    eprintln!(
        "{} bad-input files checked, {} failure(s)",
        files.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Limits stop attacks, not big honest files: a 20 MB file loads (the size limit is
/// 256 MiB by default, `source::Limits`; the over-limit refusal is a core unit test).
#[test]
fn a_big_honest_file_loads() {
    let dir = scratch("bad-input-large");
    let path = dir.join("generic-20mb.yaml");
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n");
    let line = format!("  k{{}}: {}\n", "x".repeat(100));
    let mut index = 0usize;
    while text.len() < 20 * 1024 * 1024 {
        text.push_str(&line.replace("{}", &index.to_string()));
        index += 1;
    }
    std::fs::write(&path, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_egress-policy"))
        .args(["validate", "--policy"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_missing_file_is_reported_at_its_path() {
    let path = repo_root().join("tests/bad-input/does-not-exist.yaml");
    assert!(check(&path).is_none(), "{:?}", check(&path));
}
