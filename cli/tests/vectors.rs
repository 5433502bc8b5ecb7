//! Runs the shared test vectors (`tests/vectors/*.json`, format in `tests/vectors/README.md`)
//! against the library and reports every mismatch with its vector and case name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation should stop the test with a message"
)]

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use egress_policy::{Engine, Loader, Request};
use serde::Deserialize;
use serde_json::Value;

/// The keys `expect` may hold (top-level fields of the Decision JSON).
const EXPECT_KEYS: &[&str] = &[
    "allowed", "status", "reason", "message", "policy", "rule", "route", "dry_run", "audit",
    "hops", "caveats",
];

/// A policy file's text: one string, or a list of lines joined with `\n`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileText {
    Text(String),
    Lines(Vec<String>),
}

impl FileText {
    fn text(&self) -> String {
        match self {
            FileText::Text(t) => t.clone(),
            FileText::Lines(lines) => {
                let mut t = lines.join("\n");
                t.push('\n');
                t
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    name: String,
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    policy_paths: Vec<String>,
    #[serde(default)]
    policy_files: BTreeMap<String, FileText>,
    #[serde(default)]
    load_error: bool,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    request: Value,
    expect: serde_json::Map<String, Value>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

fn vector_files() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// `expected` is a recursive subset of `actual`: objects compare only the keys `expected`
/// lists; arrays must have the same length and compare element by element (each element
/// again as a subset); everything else (including `null`) compares for equality.
fn subset_mismatches(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset_mismatches(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let sub = format!("{path}.{key}");
                match a.get(key) {
                    Some(actual_value) => subset_mismatches(&sub, value, actual_value, out),
                    None => out.push(format!("{sub}: expected {value}, missing")),
                }
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{path}: expected {e}, got {a}")),
    }
}

fn load(vector: &Vector) -> Result<Engine, String> {
    let root = repo_root();
    let mut loader = Loader::new();
    for path in &vector.policy_paths {
        loader
            .add_path(root.join(path))
            .map_err(|e| format!("cannot read {path}: {e}"))?;
    }
    for (name, text) in &vector.policy_files {
        loader.add_str(name, &text.text());
    }
    let model = catch_unwind(AssertUnwindSafe(|| loader.load()))
        .map_err(|_| "the loader panicked".to_string())?
        .map_err(|e| format!("load failed:\n{e}"))?;
    Ok(Engine::from_model(model))
}

/// Runs one vector file; returns (cases run, failure messages).
fn run_vector(file: &Path) -> (usize, Vec<String>) {
    let label = file.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(file).unwrap();
    let vector: Vector = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return (0, vec![format!("{label}: not a valid vector: {e}")]),
    };
    let mut failures = Vec::new();
    if label.trim_end_matches(".json") != vector.name {
        failures.push(format!(
            "{label}: name `{}` differs from the file name",
            vector.name
        ));
    }
    if vector.policy_paths.is_empty() && vector.policy_files.is_empty() && !vector.load_error {
        // Allowed (an empty policy set), but say so when it looks accidental.
    }
    let engine = match (load(&vector), vector.load_error) {
        (Ok(_), true) => {
            failures.push(format!(
                "{}: expected the policies to be rejected, but they loaded",
                vector.name
            ));
            return (0, failures);
        }
        (Err(_), true) => return (0, failures),
        (Err(e), false) => {
            failures.push(format!("{}: {e}", vector.name));
            return (0, failures);
        }
        (Ok(engine), false) => engine,
    };
    let mut run = 0;
    for case in &vector.cases {
        let id = format!("{}/{}", vector.name, case.name);
        for key in case.expect.keys() {
            if !EXPECT_KEYS.contains(&key.as_str()) {
                failures.push(format!("{id}: unknown expect key `{key}`"));
            }
        }
        let request: Request = match serde_json::from_value(case.request.clone()) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{id}: request is not valid request JSON: {e}"));
                continue;
            }
        };
        run += 1;
        let decision = match catch_unwind(AssertUnwindSafe(|| engine.decide(&request))) {
            Ok(d) => d,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{id}: decide panicked: {message}"));
                continue;
            }
        };
        let actual: Value = serde_json::from_str(&decision.to_json()).unwrap();
        let mut mismatches = Vec::new();
        subset_mismatches(
            "decision",
            &Value::Object(case.expect.clone()),
            &actual,
            &mut mismatches,
        );
        if !mismatches.is_empty() {
            failures.push(format!(
                "{id}:\n    {}\n    decision: {actual}",
                mismatches.join("\n    ")
            ));
        }
    }
    (run, failures)
}

#[test]
fn shared_vectors() {
    let files = vector_files();
    assert!(!files.is_empty(), "no vectors under tests/vectors");
    // Panics inside decide are caught and reported per case; keep their noise off stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut total = 0;
    let mut failures = Vec::new();
    for file in &files {
        let (run, mut f) = run_vector(file);
        total += run;
        failures.append(&mut f);
    }
    std::panic::set_hook(hook);
    eprintln!(
        "{} vector files, {total} cases run, {} failure(s)",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} vector failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn subset_matching() {
    let mut out = Vec::new();
    let actual = serde_json::json!({"a": 1, "b": {"c": 2, "d": null}, "e": [1, 2]});
    subset_mismatches(
        "x",
        &serde_json::json!({"b": {"c": 2}, "e": [1, 2]}),
        &actual,
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    subset_mismatches(
        "x",
        &serde_json::json!({"b": {"d": 1}, "f": null}),
        &actual,
        &mut out,
    );
    assert_eq!(out.len(), 2, "{out:?}");
}
