//! The `Connection` class: the sender and enforcing workload of many requests, read once
//! (the core's `egress_policy::Connection`; `Engine.check_on` decides on one).

use std::sync::Arc;

use egress_policy::{Connection, Request};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde::Deserialize;

use crate::de::{Keywords, RequestAccess};
use crate::types::py_repr_opt;

/// Who sends (`source`: the principal, namespace, cluster and pod labels of the peer, as
/// in a request's `source`, or the principal as a string) and which proxy enforces
/// (`workload`), fixed for every request given with it to `Engine.check_on`. A proxy knows
/// both when a connection opens; the engine reads them once instead of on every request.
#[pyclass(frozen, module = "egress_policy", name = "Connection")]
pub struct PyConnection {
    connection: Arc<Connection>,
}

impl PyConnection {
    /// The core connection, shared with the decisions made on it.
    pub fn shared(&self) -> Arc<Connection> {
        self.connection.clone()
    }
}

#[pymethods]
impl PyConnection {
    /// Reads `source` and `workload` as `check` reads a request's; `ValueError` for a
    /// field of the request's own (`source.ip`, `source.remote_ip`, `source.labels`: they
    /// may change from one request to the next) or one `check` refuses.
    #[new]
    #[pyo3(signature = (*, source = None, workload = None))]
    fn new(
        source: Option<&Bound<'_, PyAny>>,
        workload: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let request = RequestAccess::new(None, &Keywords::sender(source, workload))
            .and_then(Request::deserialize)
            .map_err(|e| e.within("connection", None).into_pyerr())?;
        let connection = Connection::from_sender(&request).map_err(|field| {
            PyValueError::new_err(format!(
                "connection: {}",
                Connection::own_field_message(field)
            ))
        })?;
        Ok(PyConnection {
            connection: Arc::new(connection),
        })
    }

    /// The sender's mTLS identity.
    #[getter]
    fn principal(&self) -> Option<&str> {
        self.connection.principal()
    }

    /// The sender's namespace.
    #[getter]
    fn namespace(&self) -> Option<&str> {
        self.connection.source_namespace()
    }

    /// The sender's cluster.
    #[getter]
    fn cluster(&self) -> Option<&str> {
        self.connection.cluster()
    }

    /// The enforcing workload's namespace (`None`: the gateway the registry routes to).
    #[getter]
    fn workload_namespace(&self) -> Option<&str> {
        self.connection.workload().map(|w| w.namespace.as_str())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Connection(principal={}, namespace={}, cluster={}, workload_namespace={})",
            py_repr_opt(py, self.principal()),
            py_repr_opt(py, self.namespace()),
            py_repr_opt(py, self.cluster()),
            py_repr_opt(py, self.workload_namespace()),
        )
    }
}
