//! Policy test files run from in-memory texts (`runTests(testText, files)`).
//!
//! The format, every message and the report are the core's
//! (`egress_policy::tools::run_test_with`, also behind the CLI's `egress-policy test`); this
//! module only says where the `policies` paths of a test file come from when there is no file
//! system: they are resolved against the directory of the test file's name and matched
//! against the names of `files`: a name equal to the path, or (a directory) every `*.yaml`,
//! `*.yml` and `*.json` name under it, in the order `Loader::add_path` reads a directory.

use egress_policy::tools::{run_test_with, TestReport};

/// Runs the test file `text` (named `file`) against the policy texts `files` (name, text).
pub fn run_test_files(file: &str, text: &str, files: &[(String, String)]) -> TestReport {
    let base = file.rsplit_once('/').map_or("", |(dir, _)| dir);
    run_test_with(file, text, |policy, loader| {
        let resolved = resolve(base, policy);
        let matched = select(&resolved, files);
        if matched.is_empty() {
            return Err(format!(
                "policy path `{policy}` cannot be read: no file is named `{resolved}` or lies under it"
            ));
        }
        for (name, text) in matched {
            loader.add_str(name, text);
        }
        Ok(resolved)
    })
}

/// `path` without `.` and empty segments, `dir/..` folded.
fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// `policy` relative to the directory `base` (as `Path::join` does), normalized.
fn resolve(base: &str, policy: &str) -> String {
    if base.is_empty() || policy.starts_with('/') {
        normalize(policy)
    } else {
        normalize(&format!("{base}/{policy}"))
    }
}

/// The files `resolved` names: the file itself, or every policy file under the directory,
/// sorted as `Loader::add_path` reads them (path components compared one by one).
fn select<'f>(resolved: &str, files: &'f [(String, String)]) -> Vec<(&'f str, &'f str)> {
    let mut out: Vec<(Vec<String>, &'f str, &'f str)> = Vec::new();
    for (name, text) in files {
        let normalized = normalize(name);
        let exact = normalized == resolved;
        let under = match resolved {
            "" => !normalized.starts_with('/') && !normalized.starts_with("../"),
            "/" => normalized.starts_with('/'),
            dir => normalized
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/')),
        };
        let policy_file = [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| normalized.ends_with(ext));
        if exact || (under && policy_file) {
            let key = normalized.split('/').map(str::to_string).collect();
            out.push((key, name.as_str(), text.as_str()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, n, t)| (n, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_like_path_join() {
        assert_eq!(
            resolve("examples/tests", "../policies/a"),
            "examples/policies/a"
        );
        assert_eq!(resolve("", "./a/b/../c.yaml"), "a/c.yaml");
        assert_eq!(resolve("t", "../../x"), "../x");
        assert_eq!(resolve("t", "/abs/p"), "/abs/p");
        assert_eq!(resolve("/r/t", "../p"), "/r/p");
    }

    #[test]
    fn directories_select_policy_files_in_read_order() {
        let files: Vec<(String, String)> = [
            "p/b.yaml",
            "p/a/z.yml",
            "./p/a.json",
            "p/notes.txt",
            "pp/x.yaml",
            "q.yaml",
        ]
        .iter()
        .map(|n| (n.to_string(), String::new()))
        .collect();
        let names = |r: &str| -> Vec<&str> { select(r, &files).iter().map(|(n, _)| *n).collect() };
        assert_eq!(names("p"), ["p/a/z.yml", "./p/a.json", "p/b.yaml"]);
        assert_eq!(names("p/notes.txt"), ["p/notes.txt"]);
        assert_eq!(names("q.yaml"), ["q.yaml"]);
        assert!(names("missing").is_empty());
        assert_eq!(names("").len(), 5);
    }

    const POLICY: &str = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: only-get, namespace: egress}\nspec:\n  rules:\n  - to: [{operation: {methods: [GET]}}]\n";

    #[test]
    fn runs_cases_against_named_texts() {
        let files = vec![("policies/p.yaml".to_string(), POLICY.to_string())];
        let text = "policies: [../policies]\ncases:\n- name: get\n  request: {workload: {namespace: egress}, method: GET, url: http://a/}\n  expect: {allowed: true, policy: egress/only-get, rule: 0}\n- name: post\n  request: {workload: {namespace: egress}, method: POST, url: http://a/}\n  expect: {allowed: true}\n";
        let report = run_test_files("tests/t.yaml", text, &files);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.policies, ["policies"]);
        assert_eq!((report.passed, report.failed), (1, 1));
        let failed = &report.cases[1];
        assert_eq!(failed.mismatches[0].field, "allowed");
        assert!(failed.explanation.is_some());
        assert_eq!(failed.location.line, 6);
    }

    #[test]
    fn a_path_without_files_is_located() {
        let text = "policies:\n- nowhere\ncases:\n- {name: x, request: {method: GET}, expect: {allowed: true}}\n";
        let report = run_test_files("t.yaml", text, &[]);
        assert!(report.cases.is_empty());
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].location.line, 2);
        assert!(report.errors[0].message.contains("`nowhere`"));
    }
}
