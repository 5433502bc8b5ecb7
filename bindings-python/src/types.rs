//! Frozen Python views of the core's result types. Each class wraps the core value and
//! builds attribute objects on access; `to_dict()` goes through the core's serde impls, so
//! it equals the CLI's JSON.

use std::collections::BTreeMap;

use egress_policy::decision::{DryRunOutcome, PolicyVerdict, RouteTls, RuleVerdict};
use egress_policy::model::{HeaderMutations, ResourceRef};
use egress_policy::{Diagnostic, Explanation, Location, Route, Severity};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::{to_json, to_python};
use crate::decision::PyDecision;

/// Python `repr()` of a string (`'text'`).
pub fn py_repr(py: Python<'_>, text: &str) -> String {
    PyString::new(py, text)
        .repr()
        .map(|r| r.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{text:?}"))
}

/// Python `repr()` of an optional string.
pub fn py_repr_opt(py: Python<'_>, text: Option<&str>) -> String {
    text.map_or_else(|| "None".to_string(), |t| py_repr(py, t))
}

/// Python spelling of a boolean.
pub fn py_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

/// Python spelling of an optional integer.
pub fn py_opt_int(value: Option<usize>) -> String {
    value.map_or_else(|| "None".to_string(), |v| v.to_string())
}

/// A reference to a resource: its kind, namespace and name (the deciding policy, a gateway,
/// a registry entry).
#[pyclass(frozen, eq, hash, module = "egress_policy", name = "ResourceRef")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PyResourceRef(pub ResourceRef);

#[pymethods]
impl PyResourceRef {
    #[new]
    fn new(kind: &str, namespace: &str, name: &str) -> Self {
        PyResourceRef(ResourceRef::new(kind, namespace, name))
    }

    /// Kubernetes kind, such as `AuthorizationPolicy`.
    #[getter]
    fn kind(&self) -> &str {
        &self.0.kind
    }

    /// Namespace.
    #[getter]
    fn namespace(&self) -> &str {
        &self.0.namespace
    }

    /// Name.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }

    fn __getnewargs__(&self) -> (String, String, String) {
        (
            self.0.kind.clone(),
            self.0.namespace.clone(),
            self.0.name.clone(),
        )
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ResourceRef(kind={}, namespace={}, name={})",
            py_repr(py, &self.0.kind),
            py_repr(py, &self.0.namespace),
            py_repr(py, &self.0.name)
        )
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    /// `{"kind": ..., "namespace": ..., "name": ...}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

pub fn resource(value: Option<&ResourceRef>) -> Option<PyResourceRef> {
    value.cloned().map(PyResourceRef)
}

pub fn repr_resource(value: Option<&ResourceRef>, py: Python<'_>) -> String {
    value.map_or_else(|| "None".to_string(), |r| py_repr(py, &r.to_string()))
}

/// What the dry-run policies would have decided had they been enforced.
#[pyclass(frozen, eq, module = "egress_policy", name = "DryRunOutcome")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyDryRunOutcome(pub DryRunOutcome);

#[pymethods]
impl PyDryRunOutcome {
    /// Whether the request would have been allowed.
    #[getter]
    fn allowed(&self) -> bool {
        self.0.allowed
    }

    /// The reason code it would have had.
    #[getter]
    fn reason(&self) -> &'static str {
        self.0.reason.as_str()
    }

    /// The policy that would have decided.
    #[getter]
    fn policy(&self) -> Option<PyResourceRef> {
        resource(self.0.policy.as_ref())
    }

    /// The rule that would have decided.
    #[getter]
    fn rule(&self) -> Option<usize> {
        self.0.rule
    }

    /// The `repr()`.
    pub fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "DryRunOutcome(allowed={}, reason={}, policy={}, rule={})",
            py_bool(self.0.allowed),
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

/// Request header mutations applied on the way out.
#[pyclass(frozen, eq, module = "egress_policy", name = "HeaderMutations")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyHeaderMutations(pub HeaderMutations);

#[pymethods]
impl PyHeaderMutations {
    /// Headers appended.
    #[getter]
    fn add(&self) -> BTreeMap<String, String> {
        self.0.add.clone()
    }

    /// Headers overwritten.
    #[getter]
    fn set(&self) -> BTreeMap<String, String> {
        self.0.set.clone()
    }

    /// Headers removed.
    #[getter]
    fn remove(&self) -> Vec<String> {
        self.0.remove.clone()
    }

    fn __bool__(&self) -> bool {
        !self.0.is_empty()
    }

    fn __repr__(&self) -> String {
        format!(
            "HeaderMutations(add={:?}, set={:?}, remove={:?})",
            self.0.add, self.0.set, self.0.remove
        )
    }

    /// The JSON form, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// TLS origination applied on the way out.
#[pyclass(frozen, eq, module = "egress_policy", name = "RouteTls")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyRouteTls(pub RouteTls);

#[pymethods]
impl PyRouteTls {
    /// `SIMPLE`, `MUTUAL` or `ISTIO_MUTUAL`.
    #[getter]
    fn mode(&self) -> &str {
        self.0.mode.as_str()
    }

    /// SNI sent upstream.
    #[getter]
    fn sni(&self) -> &str {
        &self.0.sni
    }

    /// The resource that asked for TLS origination.
    #[getter]
    fn origin(&self) -> PyResourceRef {
        PyResourceRef(self.0.origin.clone())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RouteTls(mode={}, sni={}, origin={})",
            py_repr(py, self.0.mode.as_str()),
            py_repr(py, &self.0.sni),
            py_repr(py, &self.0.origin.to_string())
        )
    }

    /// The JSON form, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// How an allowed request leaves the mesh.
#[pyclass(frozen, eq, module = "egress_policy", name = "Route")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyRoute(pub Route);

#[pymethods]
impl PyRoute {
    /// The gateway that carries the request, if any.
    #[getter]
    fn gateway(&self) -> Option<PyResourceRef> {
        resource(self.0.gateway.as_ref())
    }

    /// The registry entry that matched the host, if any.
    #[getter]
    fn service(&self) -> Option<PyResourceRef> {
        resource(self.0.service.as_ref())
    }

    /// Upstream host.
    #[getter]
    fn host(&self) -> &str {
        &self.0.host
    }

    /// Upstream port.
    #[getter]
    fn port(&self) -> u16 {
        self.0.port
    }

    /// TLS origination, when the gateway originates TLS.
    #[getter]
    fn tls(&self) -> Option<PyRouteTls> {
        self.0.tls.clone().map(PyRouteTls)
    }

    /// Request header mutations.
    #[getter]
    fn headers(&self) -> PyHeaderMutations {
        PyHeaderMutations(self.0.headers.clone())
    }

    /// The VirtualService that supplied the header mutations.
    #[getter]
    fn virtual_service(&self) -> Option<PyResourceRef> {
        resource(self.0.virtual_service.as_ref())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Route(gateway={}, service={}, host={}, port={}, tls={})",
            repr_resource(self.0.gateway.as_ref(), py),
            repr_resource(self.0.service.as_ref(), py),
            py_repr(py, &self.0.host),
            self.0.port,
            py_repr_opt(py, self.0.tls.as_ref().map(|t| t.mode.as_str()))
        )
    }

    /// The JSON form, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// How one rule of an attached policy fared.
#[pyclass(frozen, eq, module = "egress_policy", name = "RuleVerdict")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyRuleVerdict(pub RuleVerdict);

#[pymethods]
impl PyRuleVerdict {
    /// Index of the rule in its policy.
    #[getter]
    fn index(&self) -> usize {
        self.0.index
    }

    /// Whether it matched.
    #[getter]
    fn matched(&self) -> bool {
        self.0.matched
    }

    /// For a rule that did not match: the first field that failed
    /// (`to[0].operation.methods`).
    #[getter]
    fn failed_field(&self) -> Option<&str> {
        self.0.failed_field.as_deref()
    }

    /// A human explanation of the failure or of a special treatment.
    #[getter]
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// The failing field as a path in the file the user wrote
    /// (`spec.config.authz.allowedClients[0].serviceAccountSelector.labels`).
    #[getter]
    fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// `file:line:column` of the failing field.
    #[getter]
    fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }

    /// The request's value of the failing attribute (`POST`); `None` when it carries none.
    #[getter]
    fn got(&self) -> Option<&str> {
        self.0.got.as_deref()
    }

    /// What the rule wanted (for a `notX` field: the values that excluded the request).
    #[getter]
    fn wanted(&self) -> Vec<String> {
        self.0.wanted.clone()
    }

    /// The mismatch in words: `method POST not in [GET, HEAD]`.
    #[getter]
    fn mismatch(&self) -> Option<&str> {
        self.0.mismatch.as_deref()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RuleVerdict(index={}, matched={}, failed_field={}, note={}, field={}, mismatch={})",
            self.0.index,
            py_bool(self.0.matched),
            py_repr_opt(py, self.0.failed_field.as_deref()),
            py_repr_opt(py, self.0.note.as_deref()),
            py_repr_opt(py, self.0.field.as_deref()),
            py_repr_opt(py, self.0.mismatch.as_deref())
        )
    }

    /// The JSON form, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// How one attached policy fared.
#[pyclass(frozen, eq, module = "egress_policy", name = "PolicyVerdict")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyPolicyVerdict(pub PolicyVerdict);

#[pymethods]
impl PyPolicyVerdict {
    /// The policy.
    #[getter]
    fn policy(&self) -> PyResourceRef {
        PyResourceRef(self.0.policy.clone())
    }

    /// `ALLOW`, `DENY`, `AUDIT` or `CUSTOM`.
    #[getter]
    fn action(&self) -> &str {
        &self.0.action
    }

    /// Whether it is a dry-run policy.
    #[getter]
    fn dry_run(&self) -> bool {
        self.0.dry_run
    }

    /// Whether any rule matched.
    #[getter]
    fn matched(&self) -> bool {
        self.0.matched
    }

    /// Every rule, in order.
    #[getter]
    fn rules(&self) -> Vec<PyRuleVerdict> {
        self.0.rules.iter().cloned().map(PyRuleVerdict).collect()
    }

    /// File and line of the policy.
    #[getter]
    fn location(&self) -> &str {
        &self.0.location
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "PolicyVerdict(policy={}, action={}, dry_run={}, matched={}, rules=[{} rule(s)], location={})",
            py_repr(py, &self.0.policy.to_string()),
            py_repr(py, &self.0.action),
            py_bool(self.0.dry_run),
            py_bool(self.0.matched),
            self.0.rules.len(),
            py_repr(py, &self.0.location)
        )
    }

    /// The JSON form, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

/// A decision with the reasoning behind it.
#[pyclass(frozen, eq, module = "egress_policy", name = "Explanation")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyExplanation(pub Explanation);

#[pymethods]
impl PyExplanation {
    /// The decision (identical to `Engine.check`).
    #[getter]
    fn decision(&self) -> PyDecision {
        PyDecision::from(self.0.decision.clone())
    }

    /// The enforcing gateway, if any.
    #[getter]
    fn gateway(&self) -> Option<PyResourceRef> {
        resource(self.0.gateway.as_ref())
    }

    /// The registry entry, if any.
    #[getter]
    fn service(&self) -> Option<PyResourceRef> {
        resource(self.0.service.as_ref())
    }

    /// Steps of the pipeline in order, in plain words.
    #[getter]
    fn steps(&self) -> Vec<String> {
        self.0.steps.clone()
    }

    /// Every policy attached at the enforcing point, with its rules' verdicts.
    #[getter]
    fn policies(&self) -> Vec<PyPolicyVerdict> {
        self.0
            .policies
            .iter()
            .cloned()
            .map(PyPolicyVerdict)
            .collect()
    }

    /// Where authorization was enforced, in words (`VirtualGateway istio-egress/egress-vg
    /// (pods in istio-egress) (egress gateway, port 80) [VirtualGateway ...]`); `None` when
    /// no proxy enforced the request.
    #[getter]
    fn enforced_at(&self) -> Option<String> {
        self.0
            .enforced_at
            .as_ref()
            .map(egress_policy::tools::render::enforced_at)
    }

    fn __bool__(&self) -> bool {
        self.0.decision.allowed
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Explanation(decision={}, gateway={}, service={}, steps=[{} step(s)], policies=[{} polic(ies)])",
            PyDecision::from(self.0.decision.clone()).__repr__(py),
            repr_resource(self.0.gateway.as_ref(), py),
            repr_resource(self.0.service.as_ref(), py),
            self.0.steps.len(),
            self.0.policies.len()
        )
    }

    /// The CLI's `check --explain` text: the decision, the road, the pipeline steps and
    /// the table of attached policies with each rule's verdict.
    fn __str__(&self) -> String {
        egress_policy::tools::render::explanation(&self.0)
    }

    /// The CLI's `check --explain --json` output, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }

    /// The CLI's `check --explain --json` text.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }
}

/// The constructor arguments of a `Diagnostic`, in order (pickling).
type DiagnosticArgs = (
    String,
    u32,
    u32,
    String,
    &'static str,
    Option<String>,
    Option<String>,
);

/// One finding about the policies, with its file, line, column, resource and field path.
#[pyclass(frozen, eq, module = "egress_policy", name = "Diagnostic")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyDiagnostic(pub Diagnostic);

#[pymethods]
impl PyDiagnostic {
    #[new]
    #[pyo3(signature = (file, line, column, message, severity = "error", resource = None, field = None))]
    fn new(
        file: &str,
        line: u32,
        column: u32,
        message: &str,
        severity: &str,
        resource: Option<String>,
        field: Option<String>,
    ) -> PyResult<Self> {
        let severity = match severity {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            other => {
                return Err(PyValueError::new_err(format!(
                    "severity must be 'error' or 'warning', not {other:?}"
                )))
            }
        };
        Ok(PyDiagnostic(Diagnostic {
            severity,
            location: Location {
                file: file.to_string(),
                line,
                column,
            },
            resource,
            field,
            message: message.to_string(),
            help: None,
            code: None,
        }))
    }

    /// `"error"` or `"warning"`.
    #[getter]
    fn severity(&self) -> &'static str {
        match self.0.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// The file name as given to the loader.
    #[getter]
    fn file(&self) -> &str {
        &self.0.location.file
    }

    /// 1-based line.
    #[getter]
    fn line(&self) -> u32 {
        self.0.location.line
    }

    /// 1-based column.
    #[getter]
    fn column(&self) -> u32 {
        self.0.location.column
    }

    /// The resource, as `Kind namespace/name`, when the finding is inside one.
    #[getter]
    fn resource(&self) -> Option<&str> {
        self.0.resource.as_deref()
    }

    /// The field path inside the resource (`spec.rules[0].to[0].operation.paths[1]`).
    #[getter]
    fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// What is wrong, in one sentence.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, DiagnosticArgs)> {
        let d = &slf.get().0;
        Ok((
            slf.get_type().into_any(),
            (
                d.location.file.clone(),
                d.location.line,
                d.location.column,
                d.message.clone(),
                slf.get().severity(),
                d.resource.clone(),
                d.field.clone(),
            ),
        ))
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let d = &self.0;
        format!(
            "Diagnostic(file={}, line={}, column={}, message={}, severity={}, resource={}, field={})",
            py_repr(py, &d.location.file),
            d.location.line,
            d.location.column,
            py_repr(py, &d.message),
            py_repr(py, self.severity()),
            py_repr_opt(py, d.resource.as_deref()),
            py_repr_opt(py, d.field.as_deref())
        )
    }

    /// `{"severity", "file", "line", "column", "resource", "field", "message"}` (the CLI's
    /// `validate --json` form).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}
