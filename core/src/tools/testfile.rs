//! Policy test files: YAML that lists policies and requests with the decision each request
//! must get. Run by `egress-policy test` and [`run_test_file`].
//!
//! ```yaml
//! name: istio-waypoint            # optional
//! description: only GET /get may leave towards httpbin.org   # optional
//! policies:                        # files or directories, relative to this file
//! - ../policies/istio-waypoint
//! cases:
//! - name: productpage may GET /get
//!   request:                       # the Request JSON (README), written as YAML
//!     source: {principal: cluster.local/ns/bookinfo/sa/bookinfo-productpage}
//!     method: GET
//!     url: http://httpbin.org/get
//!   expect:                        # any of these keys; only those given are compared
//!     allowed: true
//!     status: 200
//!     reason: allowed_by_policy
//!     policy: AuthorizationPolicy istio-egress/httpbin   # `ns/name`, a mapping, or null
//!     rule: 0                       # or null
//!     message: ...                  # exact text
//! ```
//!
//! Every problem in the file is reported with its line and column, and no case runs when
//! the file or its policies do not load.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::decision::{Decision, Explanation, Reason};
use crate::diagnostic::{Diagnostic, Location};
use crate::engine::Engine;
use crate::import::{memory, Loader, MemoryFiles};
use crate::model::ResourceRef;
use crate::request::Request;
use crate::source::{parse_documents, Node, Value};

/// One expected field that differs from the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The `expect` key (`allowed`, `status`, `reason`, `policy`, `rule`, `message`).
    pub field: String,
    /// What the test expects.
    pub expected: String,
    /// What the engine decided.
    pub actual: String,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// Where the case starts in the test file.
    pub location: Location,
    /// Whether every expectation held.
    pub passed: bool,
    /// The engine's decision.
    pub decision: Decision,
    /// The expectations that did not hold.
    pub mismatches: Vec<Mismatch>,
    /// For a failed case: every attached policy and rule with its verdict.
    pub explanation: Option<Explanation>,
}

/// The result of one test file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    /// The test file.
    pub file: String,
    /// Its `name`, when given.
    pub name: Option<String>,
    /// The policy paths, resolved against the test file's directory.
    pub policies: Vec<String>,
    /// Every case, in file order (empty when `errors` is not).
    pub cases: Vec<CaseResult>,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Problems with the test file or its policies; no case runs when there are any.
    pub errors: Vec<Diagnostic>,
    /// Warnings found while loading the policies.
    pub warnings: Vec<Diagnostic>,
}

impl TestReport {
    /// Whether the file loaded and every case passed.
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.failed == 0
    }
}

/// Reads and runs a test file.
///
/// ```
/// let report = egress_policy::tools::testfile::run_test_file("../examples/tests/istio-waypoint.yaml");
/// assert!(report.ok(), "{report:?}");
/// assert!(report.passed > 0);
/// ```
pub fn run_test_file(path: impl AsRef<Path>) -> TestReport {
    let path = path.as_ref();
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let base = path.parent().unwrap_or(Path::new("."));
            run_test_text(&name, &text, base)
        }
        Err(e) => {
            let mut report = empty_report(&name);
            report.errors.push(Diagnostic::error(
                Location::start_of(&name),
                format!("cannot read: {e}"),
            ));
            report
        }
    }
}

/// Runs a test file given as text; `base` is the directory policy paths are relative to.
pub fn run_test_text(file: &str, text: &str, base: &Path) -> TestReport {
    run_test_with(file, text, |policy, loader| {
        let resolved: PathBuf = base.join(policy);
        match loader.add_path(&resolved) {
            Ok(_) => Ok(resolved.display().to_string()),
            Err(crate::Error::Io { source, .. }) => {
                Err(format!("policy path `{policy}` cannot be read: {source}"))
            }
            Err(other) => Err(format!("policy path `{policy}`: {other}")),
        }
    })
}

/// Runs a test file over in-memory policy texts: its `policies` paths are resolved against
/// the directory of the test file's name `file` (as [`run_test_text`] resolves them against
/// `base`) and read from `files` ([`Loader::add_memory_path`]: a name equal to the path, or
/// every policy text under it as a directory). This is how hosts without a file system (the
/// WASM package) run test files; reports name the resolved paths.
pub fn run_test_in_memory(file: &str, text: &str, files: &MemoryFiles) -> TestReport {
    let base = file.rsplit_once('/').map_or("", |(dir, _)| dir);
    run_test_with(file, text, |policy, loader| {
        let resolved = memory::resolve(base, policy);
        match loader.add_memory_path(files, &resolved) {
            Ok(_) => Ok(resolved),
            Err(crate::Error::Io { source, .. }) => {
                Err(format!("policy path `{policy}` cannot be read: {source}"))
            }
            Err(other) => Err(format!("policy path `{policy}`: {other}")),
        }
    })
}

/// Runs a test file whose policies come from `add_policy`: called with each path as the test
/// file writes it, it adds the matching sources to the loader and returns the name to report
/// (or why it cannot). This is how hosts without a file system (the WASM package) run test
/// files over in-memory texts.
pub fn run_test_with(
    file: &str,
    text: &str,
    mut add_policy: impl FnMut(&str, &mut Loader) -> Result<String, String>,
) -> TestReport {
    let mut report = empty_report(file);
    let suite = match parse_suite(file, text) {
        Ok(suite) => suite,
        Err(errors) => {
            report.errors = errors;
            return report;
        }
    };
    report.name = suite.name.clone();
    let mut loader = Loader::new();
    for (policy, location) in &suite.policies {
        match add_policy(policy, &mut loader) {
            Ok(name) => report.policies.push(name),
            Err(message) => report
                .errors
                .push(Diagnostic::error(location.clone(), message)),
        }
    }
    if !report.errors.is_empty() {
        return report;
    }
    let model = match loader.load() {
        Ok(model) => model,
        Err(e) => {
            report.errors = e.diagnostics().to_vec();
            return report;
        }
    };
    report.warnings = model.warnings.clone();
    let engine = Engine::from_model(model);
    for case in suite.cases {
        let decision = engine.decide(&case.request);
        let mismatches = case.expect.compare(&decision);
        let passed = mismatches.is_empty();
        if passed {
            report.passed += 1;
        } else {
            report.failed += 1;
        }
        report.cases.push(CaseResult {
            name: case.name,
            location: case.location,
            passed,
            explanation: (!passed).then(|| engine.explain(&case.request)),
            decision,
            mismatches,
        });
    }
    report
}

fn empty_report(file: &str) -> TestReport {
    TestReport {
        file: file.to_string(),
        name: None,
        policies: Vec::new(),
        cases: Vec::new(),
        passed: 0,
        failed: 0,
        errors: Vec::new(),
        warnings: Vec::new(),
    }
}

// ------------------------------------------------------------------------------------------
// Parsing

struct Suite {
    name: Option<String>,
    policies: Vec<(String, Location)>,
    cases: Vec<Case>,
}

struct Case {
    name: String,
    location: Location,
    request: Request,
    expect: Expect,
}

/// `expect.policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PolicyExpect {
    /// `null`: no policy decided.
    None,
    /// A policy, the kind optional.
    Is {
        kind: Option<String>,
        namespace: String,
        name: String,
    },
}

#[derive(Debug, Default)]
struct Expect {
    allowed: Option<bool>,
    status: Option<u16>,
    reason: Option<Reason>,
    policy: Option<PolicyExpect>,
    rule: Option<Option<usize>>,
    message: Option<String>,
}

fn show_policy(p: Option<&ResourceRef>) -> String {
    p.map_or_else(|| "null".to_string(), ToString::to_string)
}

impl Expect {
    fn compare(&self, d: &Decision) -> Vec<Mismatch> {
        let mut out = Vec::new();
        let mut check = |field: &str, ok: bool, expected: String, actual: String| {
            if !ok {
                out.push(Mismatch {
                    field: field.to_string(),
                    expected,
                    actual,
                });
            }
        };
        if let Some(allowed) = self.allowed {
            check(
                "allowed",
                allowed == d.allowed,
                allowed.to_string(),
                d.allowed.to_string(),
            );
        }
        if let Some(status) = self.status {
            check(
                "status",
                status == d.status,
                status.to_string(),
                d.status.to_string(),
            );
        }
        if let Some(reason) = self.reason {
            check(
                "reason",
                reason == d.reason,
                reason.to_string(),
                d.reason.to_string(),
            );
        }
        if let Some(policy) = &self.policy {
            let (ok, expected) = match policy {
                PolicyExpect::None => (d.policy.is_none(), "null".to_string()),
                PolicyExpect::Is {
                    kind,
                    namespace,
                    name,
                } => (
                    d.policy.as_ref().is_some_and(|p| {
                        kind.as_ref().is_none_or(|k| k == &p.kind)
                            && &p.namespace == namespace
                            && &p.name == name
                    }),
                    match kind {
                        Some(kind) => format!("{kind} {namespace}/{name}"),
                        None => format!("{namespace}/{name}"),
                    },
                ),
            };
            check("policy", ok, expected, show_policy(d.policy.as_ref()));
        }
        if let Some(rule) = self.rule {
            let show = |r: Option<usize>| r.map_or_else(|| "null".to_string(), |r| r.to_string());
            check("rule", rule == d.rule, show(rule), show(d.rule));
        }
        if let Some(message) = &self.message {
            check(
                "message",
                message == &d.message,
                message.clone(),
                d.message.clone(),
            );
        }
        out
    }
}

struct Problems<'f> {
    file: &'f str,
    list: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn at(&mut self, node: &Node, message: impl Into<String>) {
        self.list
            .push(Diagnostic::error(node.location(self.file), message));
    }
}

fn entries(node: &Node) -> Option<&[(crate::source::Key, Node)]> {
    match &node.value {
        Value::Map(entries) => Some(entries),
        _ => None,
    }
}

fn check_keys(p: &mut Problems, node: &Node, what: &str, allowed: &[&str]) {
    if let Some(entries) = entries(node) {
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                p.list.push(Diagnostic::error(
                    Location {
                        file: p.file.to_string(),
                        line: key.line,
                        column: key.column,
                    },
                    format!(
                        "unknown field `{}` in {what}; expected one of {}",
                        key.name,
                        allowed
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
}

fn parse_suite(file: &str, text: &str) -> Result<Suite, Vec<Diagnostic>> {
    let docs = parse_documents(file, text).map_err(|d| vec![d])?;
    let mut p = Problems {
        file,
        list: Vec::new(),
    };
    let root = match docs.as_slice() {
        [root] => root,
        [] => {
            return Err(vec![Diagnostic::error(
                Location::start_of(file),
                "the test file is empty; expected `policies` and `cases`",
            )])
        }
        [_, second, ..] => {
            p.at(second, "a test file holds one YAML document");
            return Err(p.list);
        }
    };
    if entries(root).is_none() {
        p.at(
            root,
            format!(
                "expected a mapping with `policies` and `cases`, found {}",
                root.type_name()
            ),
        );
        return Err(p.list);
    }
    check_keys(
        &mut p,
        root,
        "the test file",
        &["name", "description", "policies", "cases"],
    );
    let name = match root.get("name") {
        Some(n) => match n.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                p.at(
                    n,
                    format!("`name` must be a string, found {}", n.type_name()),
                );
                None
            }
        },
        None => None,
    };
    if let Some(d) = root.get("description") {
        if d.as_str().is_none() {
            p.at(
                d,
                format!("`description` must be a string, found {}", d.type_name()),
            );
        }
    }
    let mut policies = Vec::new();
    match root.get("policies") {
        None => p.at(
            root,
            "missing field `policies`: list the policy files or directories, relative to this file",
        ),
        Some(node) => match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                for item in items {
                    match item.as_str() {
                        Some(s) if !s.is_empty() => {
                            policies.push((s.to_string(), item.location(file)))
                        }
                        _ => p.at(
                            item,
                            format!(
                                "a policy path must be a non-empty string, found {}",
                                item.type_name()
                            ),
                        ),
                    }
                }
            }
            Value::Str(s) if !s.is_empty() => policies.push((s.clone(), node.location(file))),
            _ => p.at(node, "`policies` must list at least one file or directory"),
        },
    }
    let mut cases = Vec::new();
    match root.get("cases") {
        None => p.at(root, "missing field `cases`"),
        Some(node) => match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                for (index, item) in items.iter().enumerate() {
                    if let Some(case) = parse_case(&mut p, item, index) {
                        cases.push(case);
                    }
                }
            }
            _ => p.at(node, "`cases` must be a non-empty list"),
        },
    }
    if p.list.is_empty() {
        Ok(Suite {
            name,
            policies,
            cases,
        })
    } else {
        Err(p.list)
    }
}

fn parse_case(p: &mut Problems, node: &Node, index: usize) -> Option<Case> {
    if entries(node).is_none() {
        p.at(
            node,
            format!(
                "case {index}: expected a mapping with `name`, `request` and `expect`, found {}",
                node.type_name()
            ),
        );
        return None;
    }
    check_keys(
        p,
        node,
        "a case",
        &["name", "description", "request", "expect"],
    );
    let name = match node.get("name").map(|n| (n, n.as_str())) {
        Some((_, Some(s))) if !s.is_empty() => s.to_string(),
        Some((n, _)) => {
            p.at(n, "`name` must be a non-empty string");
            String::new()
        }
        None => {
            p.at(node, format!("case {index}: missing field `name`"));
            String::new()
        }
    };
    let request = match node.get("request") {
        None => {
            p.at(node, format!("case `{name}`: missing field `request`"));
            None
        }
        Some(r) => match serde_json::from_value::<Request>(to_json(r)) {
            Ok(request) => Some(request),
            Err(e) => {
                p.at(r, format!("case `{name}`: invalid request: {e}"));
                None
            }
        },
    };
    let expect = match node.get("expect") {
        None => {
            p.at(node, format!("case `{name}`: missing field `expect`"));
            None
        }
        Some(e) => parse_expect(p, e, &name),
    };
    Some(Case {
        name,
        location: node.location(p.file),
        request: request?,
        expect: expect?,
    })
}

fn parse_expect(p: &mut Problems, node: &Node, case: &str) -> Option<Expect> {
    let Some(entries) = entries(node) else {
        p.at(node, format!("case `{case}`: `expect` must be a mapping"));
        return None;
    };
    if entries.is_empty() {
        p.at(
            node,
            format!("case `{case}`: `expect` names nothing to compare"),
        );
        return None;
    }
    let before = p.list.len();
    check_keys(
        p,
        node,
        "`expect`",
        &["allowed", "status", "reason", "policy", "rule", "message"],
    );
    let mut expect = Expect::default();
    for (key, value) in entries {
        match key.name.as_str() {
            "allowed" => match value.value {
                Value::Bool(b) => expect.allowed = Some(b),
                _ => p.at(value, "`allowed` must be true or false"),
            },
            "status" => match value.value {
                Value::Int(n) => match u16::try_from(n) {
                    Ok(s) if [200, 400, 403, 502].contains(&s) => expect.status = Some(s),
                    _ => p.at(value, format!("`status` {n} is never decided; expected 200, 400, 403 or 502")),
                },
                _ => p.at(value, "`status` must be a number"),
            },
            "reason" => match value
                .as_str()
                .and_then(|s| serde_json::from_value::<Reason>(serde_json::Value::String(s.to_string())).ok())
            {
                Some(reason) => expect.reason = Some(reason),
                None => p.at(
                    value,
                    "`reason` must be a reason code (allowed_by_policy, no_allow_policies, passthrough, denied_by_policy, no_allow_match, allow_nothing, gateway_denies_all, denied_by_custom, not_in_registry, malformed_request)",
                ),
            },
            "policy" => {
                if let Some(policy) = parse_policy(p, value) {
                    expect.policy = Some(policy);
                }
            }
            "rule" => match value.value {
                Value::Null => expect.rule = Some(None),
                Value::Int(n) => match usize::try_from(n) {
                    Ok(r) => expect.rule = Some(Some(r)),
                    Err(_) => p.at(value, "`rule` must be a rule index or null"),
                },
                _ => p.at(value, "`rule` must be a rule index or null"),
            },
            "message" => match value.as_str() {
                Some(s) => expect.message = Some(s.to_string()),
                None => p.at(value, "`message` must be a string"),
            },
            _ => {}
        }
    }
    (p.list.len() == before).then_some(expect)
}

fn parse_policy(p: &mut Problems, node: &Node) -> Option<PolicyExpect> {
    let hint = "`policy` must be null, `namespace/name`, `Kind namespace/name` or a mapping {kind, namespace, name}";
    match &node.value {
        Value::Null => Some(PolicyExpect::None),
        Value::Str(text) => {
            let (kind, rest) = match text.trim().split_once(' ') {
                Some((kind, rest)) => (Some(kind.to_string()), rest.trim()),
                None => (None, text.trim()),
            };
            match rest.split_once('/') {
                Some((namespace, name))
                    if !namespace.is_empty() && !name.is_empty() && !name.contains('/') =>
                {
                    Some(PolicyExpect::Is {
                        kind,
                        namespace: namespace.to_string(),
                        name: name.to_string(),
                    })
                }
                _ => {
                    p.at(node, hint);
                    None
                }
            }
        }
        Value::Map(_) => {
            check_keys(p, node, "`policy`", &["kind", "namespace", "name"]);
            let get = |key: &str| node.get(key).and_then(Node::as_str).map(str::to_string);
            match (get("namespace"), get("name")) {
                (Some(namespace), Some(name)) => Some(PolicyExpect::Is {
                    kind: get("kind"),
                    namespace,
                    name,
                }),
                _ => {
                    p.at(node, hint);
                    None
                }
            }
        }
        _ => {
            p.at(node, hint);
            None
        }
    }
}

/// A located YAML node as JSON (for deserialising the request).
fn to_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.name.clone(), to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod in_memory_tests {
    use super::*;

    #[test]
    fn test_files_run_over_in_memory_policies() {
        let policy = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: only-get, namespace: istio-egress}\nspec:\n  rules:\n  - to: [{operation: {methods: [GET]}}]\n";
        let suite = "name: in-memory\npolicies: [policy.yaml]\ncases:\n- name: post is denied\n  request: {host: h, method: POST, workload: {namespace: istio-egress}}\n  expect: {allowed: false, status: 403, reason: no_allow_match}\n- name: get is allowed\n  request: {host: h, method: GET, workload: {namespace: istio-egress}}\n  expect: {allowed: true}\n";
        let report = run_test_with("suite.yaml", suite, |name, loader| {
            if name == "policy.yaml" {
                loader.add_str(name, policy);
                Ok(name.to_string())
            } else {
                Err(format!("no file `{name}`"))
            }
        });
        assert!(report.ok(), "{report:?}");
        assert_eq!((report.passed, report.failed), (2, 0));
        let missing = run_test_with("suite.yaml", suite, |name, _| {
            Err(format!("no file `{name}`"))
        });
        assert_eq!(missing.errors.len(), 1);
    }

    #[test]
    fn test_files_resolve_policy_paths_against_memory_files() {
        let policy = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: only-get, namespace: egress}\nspec:\n  rules:\n  - to: [{operation: {methods: [GET]}}]\n";
        let files = MemoryFiles::new([("policies/p.yaml".to_string(), policy.to_string())]);
        let text = "policies: [../policies]\ncases:\n- name: get\n  request: {workload: {namespace: egress}, method: GET, url: http://a/}\n  expect: {allowed: true, policy: egress/only-get, rule: 0}\n- name: post\n  request: {workload: {namespace: egress}, method: POST, url: http://a/}\n  expect: {allowed: true}\n";
        let report = run_test_in_memory("tests/t.yaml", text, &files);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.policies, ["policies"]);
        assert_eq!((report.passed, report.failed), (1, 1));
        assert_eq!(report.cases[1].mismatches[0].field, "allowed");
        assert_eq!(report.cases[1].location.line, 6);

        let missing = "policies:\n- nowhere\ncases:\n- {name: x, request: {method: GET}, expect: {allowed: true}}\n";
        let report = run_test_in_memory("t.yaml", missing, &MemoryFiles::default());
        assert!(report.cases.is_empty());
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].location.line, 2);
        assert_eq!(
            report.errors[0].message,
            "policy path `nowhere` cannot be read: no file is named `nowhere` or lies under it"
        );
    }
}
