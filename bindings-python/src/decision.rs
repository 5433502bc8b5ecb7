//! The `Decision` class. `check` and `check_many` answer with the verdict's summary
//! (allowed, status, reason, rule, audit: what callers branch on) and format the rest —
//! message, policy, route, hops, caveats, dry run — on first access.
//!
//! Formatting a full decision (its hops are 4–8 strings, its caveats and route more) costs
//! more than deciding; a loop that only asks `if engine.check(request):` should not pay
//! for it. The lazy decision keeps what it needs to rebuild the full one: the engine (an
//! `Arc`) and the request as it was read (the Python strings themselves, which are
//! immutable, or the owned `Request` of the serde reader). The engine is immutable and
//! deciding is deterministic, so the rebuilt decision is the one `check` decided;
//! `tests/test_lazy_decision.py` compares both forms field by field.

use std::sync::{Arc, OnceLock};

use egress_policy::compile::Summary;
use egress_policy::{Connection, Decision, Engine};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::{to_json, to_python};
use crate::types::{
    py_bool, py_opt_int, py_repr, repr_resource, resource, PyDryRunOutcome, PyResourceRef, PyRoute,
};
use crate::view::BatchItem;

/// The answer for one request. Truthy when the request may leave.
#[pyclass(frozen, eq, module = "egress_policy", name = "Decision")]
#[derive(Debug)]
pub struct PyDecision {
    summary: Summary,
    full: Full,
}

/// The full decision: given, or built on first access from what decided it.
///
/// Both hold the decision boxed: the object stays a few words (it is moved into place on
/// every `check`), and the full decision is built for few of them.
#[derive(Debug)]
enum Full {
    Given(Box<Decision>),
    Lazy {
        engine: Engine,
        request: BatchItem,
        /// The connection the request came on (`Engine.check_on`).
        connection: Option<Arc<Connection>>,
        built: OnceLock<Box<Decision>>,
    },
}

impl From<Decision> for PyDecision {
    fn from(decision: Decision) -> Self {
        PyDecision {
            summary: Summary {
                allowed: decision.allowed,
                status: decision.status,
                reason: decision.reason,
                rule: decision.rule,
                audit: decision.audit,
            },
            full: Full::Given(Box::new(decision)),
        }
    }
}

impl PyDecision {
    /// A decision known by its summary, the rest built from `request` (on `connection`,
    /// when given) on first access.
    pub fn lazy(
        summary: Summary,
        engine: &Engine,
        request: BatchItem,
        connection: Option<Arc<Connection>>,
    ) -> Self {
        PyDecision {
            summary,
            full: Full::Lazy {
                engine: engine.clone(),
                request,
                connection,
                built: OnceLock::new(),
            },
        }
    }

    /// The full decision (built now if it was not yet).
    pub fn full(&self) -> &Decision {
        match &self.full {
            Full::Given(decision) => decision,
            Full::Lazy {
                engine,
                request,
                connection,
                built,
            } => built.get_or_init(|| Box::new(request.decide(engine, connection.as_deref()))),
        }
    }
}

impl PartialEq for PyDecision {
    fn eq(&self, other: &Self) -> bool {
        self.summary == other.summary && self.full() == other.full()
    }
}

#[pymethods]
impl PyDecision {
    /// Whether the request may leave.
    #[getter]
    fn allowed(&self) -> bool {
        self.summary.allowed
    }

    /// HTTP status: 200, 400, 403 or 502.
    #[getter]
    fn status(&self) -> u16 {
        self.summary.status
    }

    /// Stable reason code, such as `denied_by_policy`.
    #[getter]
    fn reason(&self) -> &'static str {
        self.summary.reason.as_str()
    }

    /// What the client sees (`RBAC: access denied` for 403) or a short summary.
    #[getter]
    fn message(&self) -> &str {
        &self.full().message
    }

    /// The deciding policy.
    #[getter]
    fn policy(&self) -> Option<PyResourceRef> {
        resource(self.full().policy.as_ref())
    }

    /// The deciding rule's index in that policy.
    #[getter]
    fn rule(&self) -> Option<usize> {
        self.summary.rule
    }

    /// Outcome of dry-run policies, when any applied.
    #[getter]
    fn dry_run(&self) -> Option<PyDryRunOutcome> {
        self.full().dry_run.clone().map(PyDryRunOutcome)
    }

    /// Whether an AUDIT policy matched.
    #[getter]
    fn audit(&self) -> bool {
        self.summary.audit
    }

    /// The route, when allowed.
    #[getter]
    fn route(&self) -> Option<PyRoute> {
        self.full().route.clone().map(PyRoute)
    }

    /// The road the request takes: one dict per hop (`proxy`, `at`, `step`, `outcome`,
    /// `resource`), as in the decision JSON.
    #[getter]
    fn hops<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.full().hops)
    }

    /// Every assumption the engine made: one dict per caveat (`code`, `message`,
    /// `resource`).
    #[getter]
    fn caveats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.full().caveats)
    }

    fn __bool__(&self) -> bool {
        self.summary.allowed
    }

    /// The `repr()` (builds the full decision: it shows the message).
    pub fn __repr__(&self, py: Python<'_>) -> String {
        let d = self.full();
        let mut out = format!(
            "Decision(allowed={}, status={}, reason={}, message={}, policy={}, rule={}",
            py_bool(d.allowed),
            d.status,
            py_repr(py, d.reason.as_str()),
            py_repr(py, &d.message),
            repr_resource(d.policy.as_ref(), py),
            py_opt_int(d.rule)
        );
        if let Some(dry_run) = &d.dry_run {
            out.push_str(&format!(
                ", dry_run={}",
                PyDryRunOutcome(dry_run.clone()).__repr__(py)
            ));
        }
        if d.audit {
            out.push_str(", audit=True");
        }
        if let Some(route) = &d.route {
            out.push_str(&format!(
                ", route={}",
                py_repr(py, &format!("{}:{}", route.host, route.port))
            ));
        }
        out.push(')');
        out
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let rebuild = py
            .import("egress_policy._native")?
            .getattr("_decision_from_json")?;
        Ok((rebuild, (to_json(self.full())?,)))
    }

    /// The CLI's decision JSON, as plain Python objects
    /// (`json.loads(cli_output) == decision.to_dict()`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, self.full())
    }

    /// The CLI's decision JSON text.
    fn to_json(&self) -> PyResult<String> {
        to_json(self.full())
    }
}

/// Rebuilds a decision from its JSON (used by pickle).
#[pyfunction]
pub fn _decision_from_json(text: &str) -> PyResult<PyDecision> {
    serde_json::from_str::<Decision>(text)
        .map(PyDecision::from)
        .map_err(|e| PyValueError::new_err(format!("not a decision JSON: {e}")))
}
