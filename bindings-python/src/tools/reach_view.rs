//! `Engine.reach`: who may reach a host or what an identity may reach, as `ReachReport`,
//! `ReachEntry` and `Access` views.

use egress_policy::tools::reach::valid_authority;
use egress_policy::tools::{self, Access, ReachEntry, ReachOptions, ReachReport, ValueClass};
use egress_policy::Engine;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::convert::{to_json, to_python};
use crate::types::{
    py_bool, py_opt_int, py_repr, py_repr_opt, repr_resource, resource, PyResourceRef,
};

use super::{classes, py_list, workload_points, PyRequestClass};

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
