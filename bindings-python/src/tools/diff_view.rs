//! `diff`: the classes of requests whose decision changes, as `DiffReport`, `Change` and
//! `Outcome` views.

use egress_policy::tools::{self, Change, DecisionSummary, DiffOptions, DiffReport};
use pyo3::prelude::*;

use crate::convert::{to_json, to_python};
use crate::engine::PyEngine;
use crate::types::{py_bool, py_opt_int, py_repr, repr_resource, resource, PyResourceRef};

use super::{outcome_words, workload_points, PyRequestClass};

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
