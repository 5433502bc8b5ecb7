//! The policy tools of the core (`egress_policy::tools`): lint, test files, reach and diff.
//!
//! Each function calls the core entry point the CLI calls, without the GIL, and wraps the
//! core's report in frozen Python views; `to_dict()` goes through the core's serde impls, so
//! it equals the CLI's `--json` output. The only code here beyond conversion is argument
//! handling (workload strings as the CLI's `--workload`) and text rendering for `str()`.

use std::path::PathBuf;

use egress_policy::request::Workload;
use egress_policy::tools::reach::valid_authority;
use egress_policy::tools::render;
use egress_policy::tools::{
    self, Access, CaseResult, Change, DecisionSummary, DiffOptions, DiffReport, Lint, LintCode,
    Mismatch, Point, ReachEntry, ReachOptions, ReachReport, TestReport, ValueClass,
};
use egress_policy::{Engine, Severity};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use serde::Deserialize;

use crate::convert::{to_json, to_python};
use crate::de::{type_name, PyDe};
use crate::decision::PyDecision;
use crate::engine::PyEngine;
use crate::errors::load_error;
use crate::types::{
    py_bool, py_opt_int, py_repr, py_repr_opt, repr_resource, resource, PyDiagnostic,
    PyExplanation, PyResourceRef,
};

// ------------------------------------------------------------------------------------------
// lint

/// One lint finding: a pitfall of egress authorization (docs/SEMANTICS.md §6) in the
/// policies, located at the offending value.
#[pyclass(frozen, eq, module = "egress_policy", name = "Lint")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyLint(pub Lint);

#[pymethods]
impl PyLint {
    /// Stable code, such as `deny-host-without-port` (see `LINT_CODES`).
    #[getter]
    fn code(&self) -> &'static str {
        self.0.code.map_or("", LintCode::as_str)
    }

    /// Always `"warning"`: lints never stop a load.
    #[getter]
    fn severity(&self) -> &'static str {
        match self.0.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// The file name.
    #[getter]
    fn file(&self) -> &str {
        &self.0.location.file
    }

    /// 1-based line of the offending rule or value.
    #[getter]
    fn line(&self) -> u32 {
        self.0.location.line
    }

    /// 1-based column.
    #[getter]
    fn column(&self) -> u32 {
        self.0.location.column
    }

    /// The resource, as `Kind namespace/name`.
    #[getter]
    fn resource(&self) -> Option<&str> {
        self.0.resource.as_deref()
    }

    /// The field path, such as `spec.rules[0].to[0].operation.hosts[0]`.
    #[getter]
    fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// What goes wrong at run time, in one sentence.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    /// What to write instead.
    #[getter]
    fn help(&self) -> &str {
        self.0.help.as_deref().unwrap_or_default()
    }

    /// `file:line:col: warning: Kind ns/name: field: message [code]` (the CLI's line).
    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let l = &self.0;
        format!(
            "Lint(code={}, file={}, line={}, column={}, resource={}, field={}, message={})",
            py_repr(py, l.code.map_or("", LintCode::as_str)),
            py_repr(py, &l.location.file),
            l.location.line,
            l.location.column,
            py_repr_opt(py, l.resource.as_deref()),
            py_repr_opt(py, l.field.as_deref()),
            py_repr(py, &l.message)
        )
    }

    /// `{code, severity, file, line, column, resource, field, message, help}`: one element
    /// of the CLI's `lint --format json` array.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

fn paths_from(paths: &Bound<'_, PyTuple>, what: &str) -> PyResult<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| p.extract::<PathBuf>())
        .collect::<PyResult<_>>()?;
    if paths.is_empty() {
        return Err(PyTypeError::new_err(format!(
            "{what}() needs at least one file or directory"
        )));
    }
    Ok(paths)
}

/// Loads files and directories (like `Engine.from_paths`) and lints them; findings are
/// sorted by location and point at the offending value. Raises `PolicyError` or `OSError`
/// when the policies do not load.
#[pyfunction]
#[pyo3(signature = (*paths))]
pub fn lint(py: Python<'_>, paths: &Bound<'_, PyTuple>) -> PyResult<Vec<PyLint>> {
    let paths = paths_from(paths, "lint")?;
    match py.detach(|| tools::lint_paths(&paths)) {
        Ok(lints) => Ok(lints.into_iter().map(PyLint).collect()),
        Err(error) => Err(load_error(py, error)),
    }
}

// ------------------------------------------------------------------------------------------
// test files

/// Which verdict words a decision gets in text (`allow 200 allowed_by_policy`).
fn outcome_words(allowed: bool, status: u16, reason: &str) -> String {
    let verdict = if allowed { "allow" } else { "deny" };
    format!("{verdict} {status} {reason}")
}

/// One expectation of a test case that the decision did not meet.
#[pyclass(frozen, eq, module = "egress_policy", name = "Mismatch")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyMismatch(pub Mismatch);

#[pymethods]
impl PyMismatch {
    /// The `expect` key: `allowed`, `status`, `reason`, `policy`, `rule` or `message`.
    #[getter]
    fn field(&self) -> &str {
        &self.0.field
    }

    /// What the test expects, as text (`true`, `403`, `AuthorizationPolicy ns/name`, `null`).
    #[getter]
    fn expected(&self) -> &str {
        &self.0.expected
    }

    /// What the engine decided, as text.
    #[getter]
    fn actual(&self) -> &str {
        &self.0.actual
    }

    /// `field: expected X, got Y`.
    fn __str__(&self) -> String {
        render::mismatch(&self.0)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Mismatch(field={}, expected={}, actual={})",
            py_repr(py, &self.0.field),
            py_repr(py, &self.0.expected),
            py_repr(py, &self.0.actual)
        )
    }

    /// `{field, expected, actual}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// The result of one test case.
#[pyclass(frozen, eq, module = "egress_policy", name = "CaseResult")]
#[derive(Debug, Clone, PartialEq)]
pub struct PyCaseResult(pub CaseResult);

#[pymethods]
impl PyCaseResult {
    /// The case name.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether every expectation held.
    #[getter]
    fn passed(&self) -> bool {
        self.0.passed
    }

    /// 1-based line of the case in the test file.
    #[getter]
    fn line(&self) -> u32 {
        self.0.location.line
    }

    /// 1-based column of the case in the test file.
    #[getter]
    fn column(&self) -> u32 {
        self.0.location.column
    }

    /// The engine's (actual) decision.
    #[getter]
    fn decision(&self) -> PyDecision {
        PyDecision::from(self.0.decision.clone())
    }

    /// The expectations that did not hold (empty when the case passed).
    #[getter]
    fn mismatches(&self) -> Vec<PyMismatch> {
        self.0.mismatches.iter().cloned().map(PyMismatch).collect()
    }

    /// For a failed case: every attached policy and rule with its verdict.
    #[getter]
    fn explanation(&self) -> Option<PyExplanation> {
        self.0.explanation.clone().map(PyExplanation)
    }

    /// For a failed case, the failure in words: each unmet expectation
    /// (`allowed: expected true, got false`), the decision, the pipeline steps and every
    /// attached policy with its rules' verdicts. `None` when the case passed.
    #[getter]
    fn explanation_text(&self) -> Option<String> {
        render::case_failure(&self.0)
    }

    fn __bool__(&self) -> bool {
        self.0.passed
    }

    /// `PASS name (allow 200 allowed_by_policy)`, or `FAIL name (file:line:col)` followed
    /// by the indented `explanation_text`.
    fn __str__(&self) -> String {
        render::case(&self.0)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let d = &self.0.decision;
        format!(
            "CaseResult(name={}, passed={}, line={}, decision={}, mismatches=[{} mismatch(es)])",
            py_repr(py, &self.0.name),
            py_bool(self.0.passed),
            self.0.location.line,
            py_repr(py, &outcome_words(d.allowed, d.status, d.reason.as_str())),
            self.0.mismatches.len()
        )
    }

    /// `{name, location, passed, decision, mismatches, explanation}`: one case of the
    /// CLI's `test --json` report.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// The result of one test file. Truthy when the file loaded and every case passed.
#[pyclass(frozen, eq, module = "egress_policy", name = "TestReport")]
#[derive(Debug, Clone, PartialEq)]
pub struct PyTestReport(pub TestReport);

#[pymethods]
impl PyTestReport {
    /// Not a pytest test class, though its name starts with `Test`.
    #[classattr]
    fn __test__() -> bool {
        false
    }

    /// The test file.
    #[getter]
    fn file(&self) -> &str {
        &self.0.file
    }

    /// Its `name`, when given.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// The policy paths, resolved against the test file's directory.
    #[getter]
    fn policies(&self) -> Vec<String> {
        self.0.policies.clone()
    }

    /// Every case, in file order (empty when `errors` is not).
    #[getter]
    fn cases(&self) -> Vec<PyCaseResult> {
        self.0.cases.iter().cloned().map(PyCaseResult).collect()
    }

    /// Whether the file and its policies loaded and every case passed.
    #[getter]
    fn passed(&self) -> bool {
        self.0.ok()
    }

    /// How many cases passed.
    #[getter]
    fn passed_count(&self) -> usize {
        self.0.passed
    }

    /// How many cases failed.
    #[getter]
    fn failed_count(&self) -> usize {
        self.0.failed
    }

    /// The cases that failed.
    #[getter]
    fn failures(&self) -> Vec<PyCaseResult> {
        self.0
            .cases
            .iter()
            .filter(|c| !c.passed)
            .cloned()
            .map(PyCaseResult)
            .collect()
    }

    /// Problems with the test file or its policies, located; no case runs when there are any.
    #[getter]
    fn errors(&self) -> Vec<PyDiagnostic> {
        self.0.errors.iter().cloned().map(PyDiagnostic).collect()
    }

    /// Warnings found while loading the policies.
    #[getter]
    fn warnings(&self) -> Vec<PyDiagnostic> {
        self.0.warnings.iter().cloned().map(PyDiagnostic).collect()
    }

    fn __bool__(&self) -> bool {
        self.0.ok()
    }

    /// The report as the CLI's `test` prints it: the file, its errors or one PASS/FAIL
    /// line per case (failures explained), and a summary line.
    fn __str__(&self) -> String {
        render::test_reports(std::slice::from_ref(&self.0))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let r = &self.0;
        format!(
            "TestReport(file={}, name={}, passed={}, cases={}, failed={}, errors={})",
            py_repr(py, &r.file),
            py_repr_opt(py, r.name.as_deref()),
            py_bool(r.ok()),
            r.cases.len(),
            r.failed,
            r.errors.len()
        )
    }

    /// `{file, name, policies, cases, passed, failed, errors, warnings}` (`passed` and
    /// `failed` are counts): one element of the CLI's `test --json` array.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }

    /// The JSON text of `to_dict()`.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }
}

/// Reads and runs a YAML test file (policies, requests and the decision each must get; the
/// format of `egress-policy test`). Never raises for a file that does not load: its
/// problems are the report's located `errors` and no case runs.
#[pyfunction]
pub fn run_tests(py: Python<'_>, path: PathBuf) -> PyTestReport {
    PyTestReport(py.detach(|| tools::run_test_file(&path)))
}

// ------------------------------------------------------------------------------------------
// Shared by reach and diff

/// A class of values of one request dimension (identity, host, method or path) that the
/// policies cannot tell apart.
#[pyclass(frozen, eq, hash, module = "egress_policy", name = "RequestClass")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PyRequestClass(pub ValueClass);

#[pymethods]
impl PyRequestClass {
    /// What the class holds, in words (`httpbin.org`, `any other host`, `plaintext (no mTLS
    /// identity)`, ...).
    #[getter]
    fn label(&self) -> &str {
        &self.0.label
    }

    /// The representative value (`None` for the plaintext identity).
    #[getter]
    fn example(&self) -> Option<&str> {
        self.0.example.as_deref()
    }

    fn __str__(&self) -> String {
        self.0.label.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RequestClass(label={}, example={})",
            py_repr(py, &self.0.label),
            py_repr_opt(py, self.0.example.as_deref())
        )
    }

    /// `{label, example}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// Python `repr()` of a list of strings (`['a', 'b']`).
fn py_list(py: Python<'_>, items: &[String]) -> String {
    let shown: Vec<String> = items.iter().map(|i| py_repr(py, i)).collect();
    format!("[{}]", shown.join(", "))
}

fn classes(list: &[ValueClass]) -> Vec<PyRequestClass> {
    list.iter().cloned().map(PyRequestClass).collect()
}

/// Parses `NS/NAME` (a Gateway-API gateway) or `NS/key=value,...` (pod labels), the syntax
/// of the CLI's `--workload` (the core's `Workload::from_str`).
fn parse_workload(value: &str) -> Result<Workload, String> {
    value
        .parse()
        .map_err(|e: egress_policy::request::InvalidWorkload| {
            format!("invalid workload {value:?}: {e}")
        })
}

/// The points of `workloads`: each a string as the CLI's `--workload` or a mapping
/// `{namespace, labels}` as a request's `workload`.
fn workload_points(workloads: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Point>> {
    let Some(workloads) = workloads.filter(|w| !w.is_none()) else {
        return Ok(Vec::new());
    };
    let wrong = || {
        PyTypeError::new_err(format!(
            "workloads must be a list of 'NS/NAME' strings or {{namespace, labels}} dicts, not {}",
            type_name(workloads)
        ))
    };
    if workloads.cast::<PyString>().is_ok() || workloads.cast::<PyDict>().is_ok() {
        return Err(wrong());
    }
    let mut points = Vec::new();
    for (index, item) in workloads.try_iter().map_err(|_| wrong())?.enumerate() {
        let item = item?;
        let workload = if let Ok(text) = item.cast::<PyString>() {
            parse_workload(text.to_str()?)
                .map_err(|e| PyValueError::new_err(format!("workloads[{index}]: {e}")))?
        } else {
            Workload::deserialize(PyDe { obj: &item })
                .map_err(|e| e.within("workloads", Some(index)).into_pyerr())?
        };
        points.push(Point::at(workload));
    }
    Ok(points)
}

// ------------------------------------------------------------------------------------------
// reach

/// One group of allowed requests: methods × paths, with the deciding policy.
#[pyclass(frozen, eq, module = "egress_policy", name = "Access")]
#[derive(Debug, Clone, PartialEq)]
pub struct PyAccess(pub Access);

#[pymethods]
impl PyAccess {
    /// Method classes (`["any"]` when every method is allowed).
    #[getter]
    fn methods(&self) -> Vec<String> {
        self.0.methods.clone()
    }

    /// Path classes (`["any"]` when every path is allowed).
    #[getter]
    fn paths(&self) -> Vec<String> {
        self.0.paths.clone()
    }

    /// Why these requests are allowed: `allowed_by_policy`, `no_allow_policies` or
    /// `passthrough`.
    #[getter]
    fn reason(&self) -> &'static str {
        self.0.reason.as_str()
    }

    /// The deciding policy, if one decided.
    #[getter]
    fn policy(&self) -> Option<PyResourceRef> {
        resource(self.0.policy.as_ref())
    }

    /// The deciding rule.
    #[getter]
    fn rule(&self) -> Option<usize> {
        self.0.rule
    }

    /// One concrete request of the group, as a request dict (`Engine.check` takes it).
    #[getter]
    fn example<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.example)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Access(methods={}, paths={}, reason={}, policy={}, rule={})",
            py_list(py, &self.0.methods),
            py_list(py, &self.0.paths),
            py_repr(py, self.0.reason.as_str()),
            repr_resource(self.0.policy.as_ref(), py),
            py_opt_int(self.0.rule)
        )
    }

    /// The JSON form, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// Subjects (identity or host classes) that share the same access at one point.
#[pyclass(frozen, eq, module = "egress_policy", name = "ReachEntry")]
#[derive(Debug, Clone, PartialEq)]
pub struct PyReachEntry(pub ReachEntry);

#[pymethods]
impl PyReachEntry {
    /// Where the requests are decided (`routed`, `at Gateway ns/name`, `workload ns/labels`).
    #[getter]
    fn point(&self) -> &str {
        &self.0.point
    }

    /// The identity classes (host query: the group; identity query: the identity).
    #[getter]
    fn identities(&self) -> Vec<PyRequestClass> {
        classes(&self.0.identities)
    }

    /// The host classes (identity query: the group; host query: the host).
    #[getter]
    fn hosts(&self) -> Vec<PyRequestClass> {
        classes(&self.0.hosts)
    }

    /// Whether the group holds every class of its dimension ("any identity", "any host").
    #[getter]
    fn any(&self) -> bool {
        self.0.any
    }

    /// What they may send.
    #[getter]
    fn access(&self) -> Vec<PyAccess> {
        self.0.access.iter().cloned().map(PyAccess).collect()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let labels = |list: &[ValueClass]| {
            let shown: Vec<String> = list.iter().map(|c| c.label.clone()).collect();
            py_list(py, &shown)
        };
        format!(
            "ReachEntry(point={}, identities={}, hosts={}, any={}, access=[{} group(s)])",
            py_repr(py, &self.0.point),
            labels(&self.0.identities),
            labels(&self.0.hosts),
            py_bool(self.0.any),
            self.0.access.len()
        )
    }

    /// The JSON form, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// Who may reach a host, or which hosts an identity may reach, computed from the policies
/// (one request per class of requests the policies cannot tell apart). Truthy when anything
/// is reachable.
#[pyclass(frozen, eq, module = "egress_policy", name = "ReachReport")]
#[derive(Debug, Clone, PartialEq)]
pub struct PyReachReport(pub ReachReport);

#[pymethods]
impl PyReachReport {
    /// The host asked about, for a host query.
    #[getter]
    fn host(&self) -> Option<&str> {
        self.0.host.as_deref()
    }

    /// The identity asked about, for an identity query (`none` for plaintext).
    #[getter]
    fn identity(&self) -> Option<&str> {
        self.0.identity.as_deref()
    }

    /// Groups of subjects with the same access; classes with no allowed request are left out.
    #[getter]
    fn entries(&self) -> Vec<PyReachEntry> {
        self.0.entries.iter().cloned().map(PyReachEntry).collect()
    }

    /// Number of request classes decided.
    #[getter]
    fn cells(&self) -> usize {
        self.0.cells
    }

    /// Rules that read attributes the enumeration leaves absent (headers, JWT, source IPs,
    /// SNI, CUSTOM verdicts): requests carrying them may be decided differently.
    #[getter]
    fn caveats(&self) -> Vec<String> {
        self.0.caveats.clone()
    }

    fn __bool__(&self) -> bool {
        !self.0.is_empty()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ReachReport(host={}, identity={}, entries=[{} entry(ies)], cells={}, caveats=[{} caveat(s)])",
            py_repr_opt(py, self.0.host.as_deref()),
            py_repr_opt(py, self.0.identity.as_deref()),
            self.0.entries.len(),
            self.0.cells,
            self.0.caveats.len()
        )
    }

    /// The CLI's `reach --json` output, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }

    /// The CLI's `reach --json` text (compact).
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }
}

/// `Engine.reach`: the query and its points as the CLI's `reach` builds them.
pub fn reach(
    py: Python<'_>,
    engine: &Engine,
    host: Option<String>,
    identity: Option<String>,
    workloads: Option<&Bound<'_, PyAny>>,
    all_gateways: bool,
) -> PyResult<PyReachReport> {
    let named = workload_points(workloads)?
        .into_iter()
        .filter_map(|p| p.workload)
        .collect();
    let options = ReachOptions::for_model(engine.model(), named, all_gateways);
    let report = match (host, identity) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(PyTypeError::new_err(
                "reach() takes exactly one of host= or identity=",
            ))
        }
        (Some(host), None) => {
            if !valid_authority(&host) {
                return Err(PyValueError::new_err(format!(
                    "invalid host {host:?}: expected an authority as clients send it (`host` or `host:port`)"
                )));
            }
            py.detach(|| tools::reach_host(engine, &host, &options))
        }
        (None, Some(identity)) => {
            let identity = egress_policy::request::sender_identity(&identity);
            py.detach(|| tools::reach_identity(engine, identity, &options))
        }
    };
    Ok(PyReachReport(report))
}

// ------------------------------------------------------------------------------------------
// diff

/// The parts of a decision that reach and diff compare. Truthy when allowed.
#[pyclass(frozen, eq, module = "egress_policy", name = "Outcome")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyOutcome(pub DecisionSummary);

#[pymethods]
impl PyOutcome {
    /// Whether the request may leave.
    #[getter]
    fn allowed(&self) -> bool {
        self.0.allowed
    }

    /// HTTP status: 200, 400, 403 or 502.
    #[getter]
    fn status(&self) -> u16 {
        self.0.status
    }

    /// Stable reason code.
    #[getter]
    fn reason(&self) -> &'static str {
        self.0.reason.as_str()
    }

    /// The deciding policy.
    #[getter]
    fn policy(&self) -> Option<PyResourceRef> {
        resource(self.0.policy.as_ref())
    }

    /// The deciding rule.
    #[getter]
    fn rule(&self) -> Option<usize> {
        self.0.rule
    }

    fn __bool__(&self) -> bool {
        self.0.allowed
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Outcome(allowed={}, status={}, reason={}, policy={}, rule={})",
            py_bool(self.0.allowed),
            self.0.status,
            py_repr(py, self.0.reason.as_str()),
            repr_resource(self.0.policy.as_ref(), py),
            py_opt_int(self.0.rule)
        )
    }

    /// `{allowed, status, reason, policy, rule}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// One class of requests whose decision changes.
#[pyclass(frozen, eq, module = "egress_policy", name = "Change")]
#[derive(Debug, Clone, PartialEq)]
pub struct PyChange(pub Change);

#[pymethods]
impl PyChange {
    /// Where the requests are decided.
    #[getter]
    fn point(&self) -> &str {
        &self.0.point
    }

    /// The identity class.
    #[getter]
    fn identity(&self) -> PyRequestClass {
        PyRequestClass(self.0.identity.clone())
    }

    /// The authority class.
    #[getter]
    fn host(&self) -> PyRequestClass {
        PyRequestClass(self.0.host.clone())
    }

    /// The method class.
    #[getter]
    fn method(&self) -> PyRequestClass {
        PyRequestClass(self.0.method.clone())
    }

    /// The path class.
    #[getter]
    fn path(&self) -> PyRequestClass {
        PyRequestClass(self.0.path.clone())
    }

    /// A concrete request of the class, as a request dict (`Engine.check` takes it).
    #[getter]
    fn request<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.request)
    }

    /// Its decision before the change.
    #[getter]
    fn before(&self) -> PyOutcome {
        PyOutcome(self.0.before.clone())
    }

    /// Its decision after the change.
    #[getter]
    fn after(&self) -> PyOutcome {
        PyOutcome(self.0.after.clone())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let c = &self.0;
        format!(
            "Change(point={}, identity={}, host={}, method={}, path={}, before={}, after={})",
            py_repr(py, &c.point),
            py_repr(py, &c.identity.label),
            py_repr(py, &c.host.label),
            py_repr(py, &c.method.label),
            py_repr(py, &c.path.label),
            py_repr(
                py,
                &outcome_words(c.before.allowed, c.before.status, c.before.reason.as_str())
            ),
            py_repr(
                py,
                &outcome_words(c.after.allowed, c.after.status, c.after.reason.as_str())
            )
        )
    }

    /// The JSON form, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// Every class of requests whose decision changes between two policy sets. Truthy when
/// anything changes.
#[pyclass(frozen, eq, module = "egress_policy", name = "DiffReport")]
#[derive(Debug, Clone, PartialEq)]
pub struct PyDiffReport(pub DiffReport);

#[pymethods]
impl PyDiffReport {
    /// Whether any decision changes.
    #[getter]
    fn changed(&self) -> bool {
        self.0.changed()
    }

    /// Classes whose decision changes, in enumeration order.
    #[getter]
    fn changes(&self) -> Vec<PyChange> {
        self.0.changes.iter().cloned().map(PyChange).collect()
    }

    /// How many changes go from allowed to denied.
    #[getter]
    fn newly_denied(&self) -> usize {
        self.0.newly_denied()
    }

    /// How many changes go from denied to allowed.
    #[getter]
    fn newly_allowed(&self) -> usize {
        self.0.newly_allowed()
    }

    /// The points compared.
    #[getter]
    fn points(&self) -> Vec<String> {
        self.0.points.clone()
    }

    /// Number of request classes compared.
    #[getter]
    fn cells(&self) -> usize {
        self.0.cells
    }

    /// Mesh settings that differ.
    #[getter]
    fn mesh(&self) -> Vec<String> {
        self.0.mesh.clone()
    }

    /// Rules (of either set) that read attributes the enumeration leaves absent.
    #[getter]
    fn caveats(&self) -> Vec<String> {
        self.0.caveats.clone()
    }

    fn __bool__(&self) -> bool {
        self.0.changed()
    }

    fn __repr__(&self) -> String {
        format!(
            "DiffReport(changed={}, changes=[{} change(s)], newly_allowed={}, newly_denied={}, cells={})",
            py_bool(self.0.changed()),
            self.0.changes.len(),
            self.0.newly_allowed(),
            self.0.newly_denied(),
            self.0.cells
        )
    }

    /// The CLI's `diff --json` output, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }

    /// The CLI's `diff --json` text (compact).
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }
}

/// Compares the decisions of two engines on every class of requests. `workloads` limits the
/// comparison to those proxies (default: routed requests plus every gateway of either
/// set); `compare_reason` also reports classes whose verdict stays but whose reason or
/// deciding rule changes.
#[pyfunction]
#[pyo3(signature = (before, after, *, workloads = None, compare_reason = false))]
pub fn diff(
    py: Python<'_>,
    before: &Bound<'_, PyEngine>,
    after: &Bound<'_, PyEngine>,
    workloads: Option<&Bound<'_, PyAny>>,
    compare_reason: bool,
) -> PyResult<PyDiffReport> {
    let options = DiffOptions {
        points: workload_points(workloads)?,
        compare_reason,
    };
    let (before, after) = (before.get().engine(), after.get().engine());
    Ok(PyDiffReport(
        py.detach(|| tools::diff(before, after, &options)),
    ))
}

/// `{code: summary}` of every lint code.
pub fn lint_codes(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let dict = PyDict::new(py);
    for (code, summary) in tools::CODES {
        dict.set_item(code, summary)?;
    }
    Ok(dict)
}
