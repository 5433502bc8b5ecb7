//! `run_tests`: a YAML test file's report as `TestReport`, `CaseResult` and `Mismatch`
//! views.

use std::path::PathBuf;

use egress_policy::tools::{self, render, CaseResult, Mismatch, TestReport};
use pyo3::prelude::*;

use crate::convert::{to_json, to_python};
use crate::decision::PyDecision;
use crate::types::{py_bool, py_repr, py_repr_opt, PyDiagnostic, PyExplanation};

use super::outcome_words;

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
