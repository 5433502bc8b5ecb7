//! `PolicyError` and the mapping of core load errors to Python exceptions.

use egress_policy::Diagnostic;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::types::PyDiagnostic;

pyo3::create_exception!(
    egress_policy,
    PolicyError,
    PyValueError,
    "Policies could not be loaded.\n\n`errors` lists every finding of the load (errors and the warnings found \
     along the way), each a `Diagnostic` with file, line, column, resource, field, message and severity. \
     `str(error)` renders the errors one per line as `file:line:col: error: Kind ns/name: field: message`."
);

/// A `PolicyError` carrying `diagnostics` as `.errors`.
pub fn policy_error(py: Python<'_>, message: &str, diagnostics: &[Diagnostic]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let errors = PyList::new(py, diagnostics.iter().cloned().map(PyDiagnostic))?;
        let exception = py.get_type::<PolicyError>().call1((message,))?;
        exception.setattr("errors", errors)?;
        Ok(PyErr::from_value(exception))
    };
    build().unwrap_or_else(|error| error)
}

/// Maps a core load error: invalid input → `PolicyError`, unreadable path → `OSError`
/// (the `FileNotFoundError`/`PermissionError`/… subclass matching the errno).
pub fn load_error(py: Python<'_>, error: egress_policy::Error) -> PyErr {
    match error {
        egress_policy::Error::Io { path, source } => io_error(&path, &source),
        other => policy_error(py, &other.to_string(), other.diagnostics()),
    }
}

/// `OSError(errno, strerror, filename)`, which Python turns into the errno's subclass.
pub fn io_error(path: &str, source: &std::io::Error) -> PyErr {
    match source.raw_os_error() {
        Some(errno) => {
            let text = source.to_string();
            // `io::Error` renders as "No such file or directory (os error 2)"; keep the words.
            let strerror = text
                .split(" (os error")
                .next()
                .unwrap_or(text.as_str())
                .to_string();
            PyOSError::new_err((errno, strerror, path.to_string()))
        }
        None => PyOSError::new_err(format!("{path}: cannot read: {source}")),
    }
}
