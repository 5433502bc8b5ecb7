//! Policy test files run from in-memory texts (`runTests(testText, files)`).
//!
//! The format, every message and the report are the core's
//! (`egress_policy::tools::run_test_with`, also behind the CLI's `egress-policy test`); this
//! module only hands the texts to the core, which resolves the `policies` paths of a test
//! file against the directory of the test file's name and matches them against the names of
//! `files` (`egress_policy::import::MemoryFiles`): a name equal to the path, or (a
//! directory) every `*.yaml`, `*.yml` and `*.json` name under it, in the order
//! `Loader::add_path` reads a directory.

use egress_policy::import::MemoryFiles;
use egress_policy::tools::{run_test_in_memory, TestReport};

/// Runs the test file `text` (named `file`) against the policy texts `files` (name, text):
/// the core's `run_test_in_memory` over [`MemoryFiles`].
pub fn run_test_files(file: &str, text: &str, files: Vec<(String, String)>) -> TestReport {
    run_test_in_memory(file, text, &MemoryFiles::new(files))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: only-get, namespace: egress}\nspec:\n  rules:\n  - to: [{operation: {methods: [GET]}}]\n";

    #[test]
    fn runs_cases_against_named_texts() {
        let files = vec![("policies/p.yaml".to_string(), POLICY.to_string())];
        let text = "policies: [../policies]\ncases:\n- name: get\n  request: {workload: {namespace: egress}, method: GET, url: http://a/}\n  expect: {allowed: true, policy: egress/only-get, rule: 0}\n- name: post\n  request: {workload: {namespace: egress}, method: POST, url: http://a/}\n  expect: {allowed: true}\n";
        let report = run_test_files("tests/t.yaml", text, files);
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
        let report = run_test_files("t.yaml", text, Vec::new());
        assert!(report.cases.is_empty());
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].location.line, 2);
        assert!(report.errors[0].message.contains("`nowhere`"));
    }
}
