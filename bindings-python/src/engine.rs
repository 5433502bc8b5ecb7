//! The `Engine` class: loads policies through the core loader and decides requests.

use std::path::PathBuf;

use egress_policy::{Engine, Loader, Request};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde::Deserialize;

use crate::batch::check_batch;
use crate::connection::PyConnection;
use crate::convert::to_python;
use crate::de::{from_py, type_name, DeError, Keywords, PyDe, RequestAccess};
use crate::decision::PyDecision;
use crate::errors::{io_error, load_error};
use crate::tools::{reach, PyLint, PyReachReport};
use crate::types::{PyDiagnostic, PyExplanation};
use crate::view::{read_item, BatchItem};

/// Loaded policies, ready to decide. Immutable and safe to share between threads; pickles
/// as its source texts (the core engine keeps them: `Engine::sources`) and is rebuilt from
/// them.
#[pyclass(frozen, module = "egress_policy", name = "Engine")]
pub struct PyEngine {
    engine: Engine,
}

impl PyEngine {
    /// The core engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads named texts through the core loader, without holding the GIL.
    fn load(py: Python<'_>, sources: Vec<(String, String)>) -> PyResult<Self> {
        let loaded =
            py.detach(|| Engine::from_files(sources.iter().map(|(n, t)| (n.as_str(), t.as_str()))));
        match loaded {
            Ok(engine) => Ok(PyEngine { engine }),
            Err(error) => Err(load_error(py, error)),
        }
    }
}

/// Converts `check(request, **keywords)` arguments into the core request.
fn request_from_args(
    request: Option<&Bound<'_, PyAny>>,
    keywords: &Keywords<'_, '_>,
) -> PyResult<Request> {
    RequestAccess::new(request, keywords)
        .and_then(Request::deserialize)
        .map_err(|e| e.within("request", None).into_pyerr())
}

/// The request at `index` of a batch: in place when it has the common shape (the views
/// borrow its strings), else by the serde reader, whose errors name the index.
fn batch_item(index: usize, item: &Bound<'_, PyAny>) -> PyResult<BatchItem> {
    BatchItem::read(item, || {
        Request::deserialize(PyDe { obj: item })
            .map_err(|e| e.within("requests", Some(index)).into_pyerr())
    })
}

/// The error for a request given on a connection that carries a sender `field` itself;
/// `at` is where the request is (`request`, `requests[3]`).
fn sender_field_error(at: &str, field: &str) -> PyErr {
    PyValueError::new_err(format!(
        "{at}.{}",
        egress_policy::Connection::sender_field_message(field)
    ))
}

/// The `(name, text)` pairs of `Engine(files)`: a mapping, or an iterable of pairs.
fn sources_from(files: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let wrong = || {
        PyTypeError::new_err(format!(
            "files must be a mapping of file name to text (or an iterable of (name, text) pairs), not {}",
            type_name(files)
        ))
    };
    if files.cast::<PyString>().is_ok() {
        return Err(wrong());
    }
    let pairs: Vec<(String, String)> = if let Ok(dict) = files.cast::<PyDict>() {
        dict.iter()
            .map(|(k, v)| Ok((k.extract::<String>()?, v.extract::<String>()?)))
            .collect::<PyResult<_>>()
            .map_err(|_| wrong())?
    } else if files.hasattr("items")? {
        files
            .call_method0("items")?
            .try_iter()?
            .map(|item| item?.extract::<(String, String)>())
            .collect::<PyResult<_>>()
            .map_err(|_| wrong())?
    } else {
        files
            .try_iter()
            .map_err(|_| wrong())?
            .map(|item| item?.extract::<(String, String)>())
            .collect::<PyResult<_>>()
            .map_err(|_| wrong())?
    };
    Ok(pairs)
}

#[pymethods]
impl PyEngine {
    /// Loads named texts: `Engine({"policies.yaml": text, ...})` (or `(name, text)` pairs),
    /// in order, as one load.
    #[new]
    fn new(py: Python<'_>, files: &Bound<'_, PyAny>) -> PyResult<Self> {
        let sources = sources_from(files)?;
        PyEngine::load(py, sources)
    }

    /// Loads one multi-document YAML (or JSON) text; `name` is the file name in diagnostics.
    #[staticmethod]
    #[pyo3(signature = (text, name = "<string>"))]
    fn from_yaml(py: Python<'_>, text: String, name: &str) -> PyResult<Self> {
        PyEngine::load(py, vec![(name.to_string(), text)])
    }

    /// Loads files and directories (`*.yaml`, `*.yml`, `*.json`, recursively, sorted), like
    /// the CLI's `--policy`. The texts are read now; a pickled engine carries them.
    #[staticmethod]
    #[pyo3(signature = (*paths))]
    fn from_paths(py: Python<'_>, paths: &Bound<'_, PyTuple>) -> PyResult<Self> {
        let paths: Vec<PathBuf> = paths
            .iter()
            .map(|p| p.extract::<PathBuf>())
            .collect::<PyResult<_>>()?;
        if paths.is_empty() {
            return Err(PyTypeError::new_err(
                "from_paths() needs at least one file or directory",
            ));
        }
        let read = py.detach(|| -> egress_policy::Result<Loader> {
            let mut loader = Loader::new();
            for path in &paths {
                loader.add_path(path)?;
            }
            Ok(loader)
        });
        let loader = match read {
            Ok(loader) => loader,
            Err(egress_policy::Error::Io { path, source }) => return Err(io_error(&path, &source)),
            Err(error) => return Err(load_error(py, error)),
        };
        match py.detach(|| loader.load()) {
            Ok(model) => Ok(PyEngine {
                engine: Engine::from_model(model),
            }),
            Err(error) => Err(load_error(py, error)),
        }
    }

    /// Loads already-parsed resources: a dict, a list of dicts (loaded as a Kubernetes
    /// `List`), or a JSON text. The value is serialized to JSON and loaded by the core.
    #[staticmethod]
    #[pyo3(signature = (resources, name = "<json>"))]
    fn from_json(py: Python<'_>, resources: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        let text = if let Ok(text) = resources.cast::<PyString>() {
            text.to_str()?.to_string()
        } else if resources.cast::<PyDict>().is_ok() || resources.cast::<PyList>().is_ok() {
            let value: serde_json::Value = from_py(resources)
                .map_err(|e: DeError| e.within("resources", None).into_pyerr())?;
            let value = match value {
                serde_json::Value::Array(items) => serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "List",
                    "items": items,
                }),
                other => other,
            };
            serde_json::to_string_pretty(&value)
                .map_err(|e| PyTypeError::new_err(format!("cannot serialize resources: {e}")))?
        } else {
            return Err(PyTypeError::new_err(format!(
                "from_json() takes a dict, a list of dicts or a JSON string, not {}",
                type_name(resources)
            )));
        };
        PyEngine::load(py, vec![(name.to_string(), text)])
    }

    /// The source texts, file name → text, in load order.
    #[getter]
    fn sources<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, text) in self.engine.sources() {
            dict.set_item(name, text)?;
        }
        Ok(dict)
    }

    /// Warnings found while loading.
    #[getter]
    fn warnings(&self) -> Vec<PyDiagnostic> {
        self.engine
            .warnings()
            .iter()
            .cloned()
            .map(PyDiagnostic)
            .collect()
    }

    /// Decides one request. `request` is the README's request JSON as a dict; the
    /// keywords, one per top-level field, add or give fields
    /// (`source="cluster.local/ns/a/sa/b"` means the principal; `None` keywords are
    /// ignored). Never raises for a malformed request — that is a 400 decision — only for
    /// one of the wrong shape (`TypeError` for a wrong type or an unknown keyword,
    /// `ValueError` for an unknown key in a dict, a field given both in the dict and as a
    /// keyword, or an out-of-range value).
    #[pyo3(signature = (request = None, /, *, source = None, workload = None, protocol = None, url = None, host = None, port = None, method = None, path = None, headers = None, sni = None, jwt = None, custom = None, destination_ip = None))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        request: Option<&Bound<'_, PyAny>>,
        source: Option<&Bound<'_, PyAny>>,
        workload: Option<&Bound<'_, PyAny>>,
        protocol: Option<&Bound<'_, PyAny>>,
        url: Option<&Bound<'_, PyAny>>,
        host: Option<&Bound<'_, PyAny>>,
        port: Option<&Bound<'_, PyAny>>,
        method: Option<&Bound<'_, PyAny>>,
        path: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        sni: Option<&Bound<'_, PyAny>>,
        jwt: Option<&Bound<'_, PyAny>>,
        custom: Option<&Bound<'_, PyAny>>,
        destination_ip: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDecision> {
        let keywords = Keywords {
            values: [
                source,
                workload,
                protocol,
                url,
                host,
                port,
                method,
                path,
                headers,
                sni,
                jwt,
                custom,
                destination_ip,
            ],
        };
        // The common shape is read in place; anything else (and every error) goes through
        // the serde path. Either way the decision formats its message, route and hops only
        // when asked (`crate::decision`).
        let item = read_item(request, &keywords, || request_from_args(request, &keywords))?;
        Ok(PyDecision::lazy(
            item.summary(&self.engine, None),
            &self.engine,
            item,
            None,
        ))
    }

    /// Decides one request on `connection` (`Connection(source=..., workload=...)`): the
    /// request gives its own fields only (host, method, path, headers, addresses, JWT…),
    /// the connection its sender and enforcing workload, read once. `ValueError` when the
    /// request carries a sender field itself (`source.principal`, `source.namespace`,
    /// `source.pod_labels`, `source.cluster`, `workload`); otherwise as `check`.
    #[pyo3(signature = (connection, request = None, /, *, source = None, workload = None, protocol = None, url = None, host = None, port = None, method = None, path = None, headers = None, sni = None, jwt = None, custom = None, destination_ip = None))]
    #[allow(clippy::too_many_arguments)]
    fn check_on(
        &self,
        connection: &Bound<'_, PyConnection>,
        request: Option<&Bound<'_, PyAny>>,
        source: Option<&Bound<'_, PyAny>>,
        workload: Option<&Bound<'_, PyAny>>,
        protocol: Option<&Bound<'_, PyAny>>,
        url: Option<&Bound<'_, PyAny>>,
        host: Option<&Bound<'_, PyAny>>,
        port: Option<&Bound<'_, PyAny>>,
        method: Option<&Bound<'_, PyAny>>,
        path: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        sni: Option<&Bound<'_, PyAny>>,
        jwt: Option<&Bound<'_, PyAny>>,
        custom: Option<&Bound<'_, PyAny>>,
        destination_ip: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDecision> {
        let keywords = Keywords {
            values: [
                source,
                workload,
                protocol,
                url,
                host,
                port,
                method,
                path,
                headers,
                sni,
                jwt,
                custom,
                destination_ip,
            ],
        };
        let connection = connection.get().shared();
        let item = read_item(request, &keywords, || request_from_args(request, &keywords))?;
        match item.summary_on(&self.engine, &connection) {
            Ok(summary) => Ok(PyDecision::lazy(
                summary,
                &self.engine,
                item,
                Some(connection),
            )),
            Err(field) => Err(sender_field_error("request", field)),
        }
    }

    /// The in-place reader alone (a test hook): the decision when `request` has the fast
    /// shape, `None` when `check` would hand it to the serde reader.
    fn _check_fast(&self, request: &Bound<'_, PyAny>) -> Option<PyDecision> {
        crate::view::check_fast(&self.engine, Some(request), &Keywords::default())
    }

    /// Decides many requests (an iterable of request dicts), in order. Requests are
    /// decided without the GIL, on a thread per core, while the rest are still being read.
    fn check_many(&self, py: Python<'_>, requests: &Bound<'_, PyAny>) -> PyResult<Vec<PyDecision>> {
        check_batch(py, &self.engine, None, requests, batch_item)
    }

    /// Decides many requests on `connection`, in order: `check_many` as `check_on` is
    /// `check`. `ValueError` when a request carries a sender field itself.
    fn check_many_on(
        &self,
        py: Python<'_>,
        connection: &Bound<'_, PyConnection>,
        requests: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<PyDecision>> {
        let connection = connection.get().shared();
        check_batch(
            py,
            &self.engine,
            Some(connection),
            requests,
            |index, item| {
                let item = batch_item(index, item)?;
                match item.replaced_field() {
                    None => Ok(item),
                    Some(field) => Err(sender_field_error(&format!("requests[{index}]"), field)),
                }
            },
        )
    }

    /// What the loaded policies mention: `{trust_domain, outbound, identities, hosts,
    /// gateways, policies}`, each entry with where it came from (`egress-policy inventory
    /// --json`, WASM `engine.inventory()`).
    fn inventory<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(
            py,
            &egress_policy::tools::inventory::inventory(self.engine.model()),
        )
    }

    /// Decides JSON lines (one request JSON per line), exactly like `egress-policy eval`:
    /// one dict per non-blank line, in order, `{"line": N, "decision": {...}, "error":
    /// None}` or `{"line": N, "decision": None, "error": "..."}` for a line that is not a
    /// request. Never raises for a bad line; runs without the GIL.
    fn eval_lines<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
        let engine = &self.engine;
        let lines = py.detach(|| engine.decide_text(text));
        to_python(py, &lines)
    }

    /// Decides one request and explains why: the gateway, the registry entry, the pipeline
    /// steps, and every attached policy with each rule's verdict and first failing field.
    /// Takes the same arguments as `check`.
    #[pyo3(signature = (request = None, /, *, source = None, workload = None, protocol = None, url = None, host = None, port = None, method = None, path = None, headers = None, sni = None, jwt = None, custom = None, destination_ip = None))]
    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        request: Option<&Bound<'_, PyAny>>,
        source: Option<&Bound<'_, PyAny>>,
        workload: Option<&Bound<'_, PyAny>>,
        protocol: Option<&Bound<'_, PyAny>>,
        url: Option<&Bound<'_, PyAny>>,
        host: Option<&Bound<'_, PyAny>>,
        port: Option<&Bound<'_, PyAny>>,
        method: Option<&Bound<'_, PyAny>>,
        path: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        sni: Option<&Bound<'_, PyAny>>,
        jwt: Option<&Bound<'_, PyAny>>,
        custom: Option<&Bound<'_, PyAny>>,
        destination_ip: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyExplanation> {
        let keywords = Keywords {
            values: [
                source,
                workload,
                protocol,
                url,
                host,
                port,
                method,
                path,
                headers,
                sni,
                jwt,
                custom,
                destination_ip,
            ],
        };
        let request = request_from_args(request, &keywords)?;
        Ok(PyExplanation(self.engine.explain(&request)))
    }

    /// Lints the loaded policies for the pitfalls of egress authorization, locating each
    /// finding at the offending value of the source texts. Sorted by location, then code.
    fn lint(&self, py: Python<'_>) -> Vec<PyLint> {
        let engine = &self.engine;
        let lints = py.detach(|| egress_policy::tools::lint(engine.model()));
        lints.into_iter().map(PyLint).collect()
    }

    /// Who may reach `host` (an authority as clients send it: `httpbin.org`,
    /// `api.example.com:8443`), or which hosts `identity` may reach (an Istio principal, a
    /// `spiffe://` URI, or `"none"` for a plaintext sender): exactly one of the two.
    /// Requests are decided at the gateway the registry routes them to, or at each of
    /// `workloads` (`"NS/NAME"`, `"NS/key=value,..."` or `{namespace, labels}`);
    /// `all_gateways` adds routed requests and every loaded gateway.
    #[pyo3(signature = (*, host = None, identity = None, workloads = None, all_gateways = false))]
    fn reach(
        &self,
        py: Python<'_>,
        host: Option<String>,
        identity: Option<String>,
        workloads: Option<&Bound<'_, PyAny>>,
        all_gateways: bool,
    ) -> PyResult<PyReachReport> {
        reach(py, &self.engine, host, identity, workloads, all_gateways)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyList>,))> {
        let pairs = PyList::new(slf.py(), slf.get().engine.sources())?;
        Ok((slf.get_type().into_any(), (pairs,)))
    }

    fn __repr__(&self) -> String {
        let model = self.engine.model();
        format!(
            "<Engine: {} file(s), {} polic(ies), {} service(s), {} gateway(s), {} warning(s)>",
            self.engine.sources().len(),
            model.policies.len(),
            model.services.len(),
            model.gateways.len(),
            model.warnings.len()
        )
    }
}

/// The core's seeded benchmark workload (`egress_policy::workload::generate_profile`):
/// `rules` Istio rules of `profile` (`egress-policy bench --generate N DIR --profile P`'s
/// names; `ValueError` for another) as `{file name: YAML}` and the requests (hits and
/// misses) as request dicts. For `bench/bench.py` and `bench/batch.py`; not part of the
/// public API.
#[pyfunction]
#[pyo3(signature = (rules, seed = 42, profile = "today"))]
pub fn _generate_workload<'py>(
    py: Python<'py>,
    rules: usize,
    seed: u64,
    profile: &str,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyList>)> {
    use egress_policy::workload::{generate_profile, Layout, Profile};
    let profile: Profile = profile.parse().map_err(PyValueError::new_err)?;
    let workload = py.detach(|| generate_profile(rules, seed, profile, Layout::Files));
    let files = PyDict::new(py);
    for (name, text) in &workload.files {
        files.set_item(name, text)?;
    }
    let requests = PyList::empty(py);
    for request in &workload.requests {
        requests.append(crate::convert::to_python(py, request)?)?;
    }
    Ok((files, requests))
}
