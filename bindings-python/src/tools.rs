//! The policy tools of the core (`egress_policy::tools`): lint, test files, reach and diff.
//!
//! Each function calls the core entry point the CLI calls, without the GIL, and wraps the
//! core's report in frozen Python views; `to_dict()` goes through the core's serde impls, so
//! it equals the CLI's `--json` output. The only code here beyond conversion is argument
//! handling (workload strings as the CLI's `--workload`) and text rendering for `str()`.

mod diff_view;
mod lint_view;
mod reach_view;
mod testfile_view;

use egress_policy::request::Workload;
use egress_policy::tools::{Point, ValueClass};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde::Deserialize;

use crate::convert::to_python;
use crate::de::{type_name, PyDe};
use crate::types::{py_repr, py_repr_opt};

pub use diff_view::{diff, PyChange, PyDiffReport, PyOutcome};
pub use lint_view::{lint, lint_codes, PyLint};
pub use reach_view::{reach, PyAccess, PyReachEntry, PyReachReport};
pub use testfile_view::{run_tests, PyCaseResult, PyMismatch, PyTestReport};

// ------------------------------------------------------------------------------------------
// Shared by test files and diff

/// Which verdict words a decision gets in text (`allow 200 allowed_by_policy`).
fn outcome_words(allowed: bool, status: u16, reason: &str) -> String {
    let verdict = if allowed { "allow" } else { "deny" };
    format!("{verdict} {status} {reason}")
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
