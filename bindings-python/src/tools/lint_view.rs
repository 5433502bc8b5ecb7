//! `lint`: findings as `Lint` views, and `LINT_CODES`.

use std::path::PathBuf;

use egress_policy::tools::{self, Lint, LintCode};
use egress_policy::Severity;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::to_python;
use crate::errors::load_error;
use crate::types::{py_repr, py_repr_opt};

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

/// `{code: summary}` of every lint code.
pub fn lint_codes(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let dict = PyDict::new(py);
    for (code, summary) in tools::CODES {
        dict.set_item(code, summary)?;
    }
    Ok(dict)
}
