//! Python bindings of the egress-policy engine (`egress_policy._native`).
//!
//! The native module is private; the public package `egress_policy` re-exports it (the
//! pydantic-core layout). Everything here converts between Python objects and the core's
//! types — no policy semantics live in the bindings.
//!
//! Lints: the crate keeps `[lints] workspace = true`, including `unsafe_code = "forbid"`.
//! The `unsafe` blocks that pyo3's proc macros generate do not trip the lint: rustc does not
//! report `unsafe_code` inside expansions of macros from other crates, while any `unsafe`
//! written in this crate still fails the build. So no override (and no
//! `#![allow(unsafe_code)]`, which `forbid` would reject anyway) is needed.

mod batch;
mod connection;
mod convert;
mod de;
mod decision;
mod engine;
mod errors;
mod replay;
mod tools;
mod types;
mod view;

use pyo3::prelude::*;

/// The native module; `egress_policy` re-exports every item.
#[pymodule(gil_used = false)]
mod _native {
    #[pymodule_export]
    use super::connection::PyConnection;
    #[pymodule_export]
    use super::decision::{_decision_from_json, PyDecision};
    #[pymodule_export]
    use super::engine::{_generate_workload, PyEngine};
    #[pymodule_export]
    use super::errors::PolicyError;
    #[pymodule_export]
    use super::replay::{_report, _suggest_from, replay, suggest, PyPartial};
    #[pymodule_export]
    use super::tools::{diff, lint, run_tests};
    #[pymodule_export]
    use super::tools::{
        PyAccess, PyCaseResult, PyChange, PyDiffReport, PyLint, PyMismatch, PyOutcome,
        PyReachEntry, PyReachReport, PyRequestClass, PyTestReport,
    };
    #[pymodule_export]
    use super::types::{
        PyDiagnostic, PyDryRunOutcome, PyExplanation, PyHeaderMutations, PyPolicyVerdict,
        PyResourceRef, PyRoute, PyRouteTls, PyRuleVerdict,
    };

    use super::*;

    /// Adds `__version__` and `LINT_CODES`.
    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("LINT_CODES", super::tools::lint_codes(m.py())?)
    }
}
