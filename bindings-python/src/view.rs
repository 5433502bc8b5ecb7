//! `check` without building a `Request`: the common request shape (string fields, an int
//! port, `source` and `workload` dicts, string headers) is read in place into the core's
//! borrowed [`RequestRef`], whose `&str`s point into the Python strings.
//!
//! Anything outside that shape — an unknown key, a value of another type, `None` in a
//! dict, labels, a JWT, CUSTOM verdicts, a key both in the dict and in the keywords — is
//! left to the serde path ([`crate::de`]), which decides it the same way and words the
//! errors; this reader never raises. Both paths end in `Engine::prepare_ref`, so they
//! decide alike by construction (`tests/test_check_fast_path.py` compares them).

use std::cell::RefCell;
use std::sync::Arc;

use egress_policy::compile::{Prepared, Summary};
use egress_policy::request::{Headers, Protocol, RequestRef, Workload};
use egress_policy::{Connection, Decision, Engine};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};

use crate::de::Keywords;
use crate::decision::PyDecision;

/// The values of one request, held as Python strings (no copy of their text).
#[derive(Debug, Default)]
pub struct Parts {
    principal: Option<PyBackedStr>,
    source_namespace: Option<PyBackedStr>,
    cluster: Option<PyBackedStr>,
    source_ip: Option<PyBackedStr>,
    remote_ip: Option<PyBackedStr>,
    workload: Option<Arc<Workload>>,
    protocol: Option<Protocol>,
    url: Option<PyBackedStr>,
    host: Option<PyBackedStr>,
    port: Option<u16>,
    method: Option<PyBackedStr>,
    path: Option<PyBackedStr>,
    sni: Option<PyBackedStr>,
    destination_ip: Option<PyBackedStr>,
    headers: Vec<(PyBackedStr, PyBackedStr)>,
}

/// A `str` value (subclasses included, as the serde path takes them), else `None`.
fn text(value: &Bound<'_, PyAny>) -> Option<PyBackedStr> {
    value.cast::<PyString>().ok()?.clone().try_into().ok()
}

/// The text of a `str` key, label or enum value, borrowed for this call (no reference taken: what is
/// kept beyond the call is a [`PyBackedStr`]).
fn key_text<'a>(key: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    key.cast::<PyString>().ok()?.to_str().ok()
}

/// A port: an `int` that is not a `bool`, within `u16`.
fn port(value: &Bound<'_, PyAny>) -> Option<u16> {
    if value.cast::<PyBool>().is_ok() || value.cast::<PyInt>().is_err() {
        return None;
    }
    value.extract::<u16>().ok()
}

fn protocol(value: &Bound<'_, PyAny>) -> Option<Protocol> {
    match key_text(value)? {
        "http" => Some(Protocol::Http),
        "tls" => Some(Protocol::Tls),
        "tcp" => Some(Protocol::Tcp),
        _ => None,
    }
}

/// An empty dict (a serialized request's `labels: {}`).
fn empty_dict(value: &Bound<'_, PyAny>) -> Option<()> {
    value.cast::<PyDict>().ok()?.is_empty().then_some(())
}

/// `source` as a dict of string fields (`None` for an absent one, as the serde reader
/// takes it; empty label maps).
fn source(parts: &mut Parts, value: &Bound<'_, PyAny>) -> Option<()> {
    for (key, value) in value.cast::<PyDict>().ok()?.iter() {
        let slot = match key_text(&key)? {
            "principal" => &mut parts.principal,
            "namespace" => &mut parts.source_namespace,
            "cluster" => &mut parts.cluster,
            "ip" => &mut parts.source_ip,
            "remote_ip" => &mut parts.remote_ip,
            "labels" | "pod_labels" => {
                empty_dict(&value)?;
                continue;
            }
            _ => return None,
        };
        if !value.is_none() {
            *slot = Some(text(&value)?);
        }
    }
    Some(())
}

/// `workload` as `{"namespace": str, "labels": {str: str}}` (`labels` optional), shared
/// with earlier requests that named the same workload ([`shared_workload`]).
fn workload(value: &Bound<'_, PyAny>) -> Option<Arc<Workload>> {
    let mut namespace = None;
    let mut labels = None;
    for (key, value) in value.cast::<PyDict>().ok()?.iter() {
        match key_text(&key)? {
            "namespace" => namespace = Some(value.cast_into::<PyString>().ok()?),
            "labels" => labels = Some(value.cast_into::<PyDict>().ok()?),
            _ => return None,
        }
    }
    shared_workload(namespace?.to_str().ok()?, labels.as_ref())
}

/// How many distinct workloads each thread keeps ([`shared_workload`]): a proxy or a test
/// names a handful (its own gateway, a few waypoints).
const SHARED_WORKLOADS: usize = 16;

thread_local! {
    /// The last workloads this thread built, newest first.
    static WORKLOADS: RefCell<Vec<Arc<Workload>>> = const { RefCell::new(Vec::new()) };
}

/// The workload `namespace` + `labels`: one read before with the same contents, else a new
/// one (remembered for the next call). A request names the enforcing proxy, so most calls
/// repeat one of a few workloads; comparing the dict with a kept `Workload` costs a few
/// string comparisons where building one costs a `String` per text and a label map.
///
/// The comparison is of contents, every call: a dict changed since is read as it is now.
/// It is exact when every label key is an exact `str` (distinct keys are then distinct
/// texts, so equal lengths and every key found with an equal value mean equal maps);
/// otherwise the workload is built as before and not kept.
fn shared_workload(namespace: &str, labels: Option<&Bound<'_, PyDict>>) -> Option<Arc<Workload>> {
    WORKLOADS.with_borrow_mut(|kept| {
        if let Some(kept) = kept.iter().find(|w| same_workload(w, namespace, labels)) {
            return Some(kept.clone());
        }
        let (workload, exact_keys) = build_workload(namespace, labels)?;
        let workload = Arc::new(workload);
        if exact_keys {
            kept.truncate(SHARED_WORKLOADS - 1);
            kept.insert(0, workload.clone());
        }
        Some(workload)
    })
}

/// Whether `workload` is `namespace` + `labels`; `false` too when a label key is not an
/// exact `str`.
fn same_workload(workload: &Workload, namespace: &str, labels: Option<&Bound<'_, PyDict>>) -> bool {
    if workload.namespace != namespace {
        return false;
    }
    let Some(labels) = labels else {
        return workload.labels.is_empty();
    };
    labels.len() == workload.labels.len()
        && labels.iter().all(|(k, v)| {
            let k = k
                .cast_exact::<PyString>()
                .ok()
                .and_then(|k| k.to_str().ok());
            match (k, key_text(&v)) {
                (Some(k), Some(v)) => workload.labels.get(k).is_some_and(|kept| kept == v),
                _ => false,
            }
        })
}

/// A new `Workload` (`None`: a label that is not `str: str`), and whether every label key
/// is an exact `str`.
fn build_workload(namespace: &str, labels: Option<&Bound<'_, PyDict>>) -> Option<(Workload, bool)> {
    let mut map = egress_policy::model::Labels::new();
    let mut exact_keys = true;
    for (k, v) in labels.into_iter().flat_map(|labels| labels.iter()) {
        exact_keys &= k.cast_exact::<PyString>().is_ok();
        map.insert(key_text(&k)?.to_string(), key_text(&v)?.to_string());
    }
    let workload = Workload {
        namespace: namespace.to_string(),
        labels: map,
    };
    Some((workload, exact_keys))
}

fn headers(parts: &mut Parts, value: &Bound<'_, PyAny>) -> Option<()> {
    let dict = value.cast::<PyDict>().ok()?;
    parts.headers.reserve(dict.len());
    for (name, value) in dict.iter() {
        parts.headers.push((text(&name)?, text(&value)?));
    }
    Some(())
}

/// Reads one `key: value` item; `None` when it is outside the fast shape. `keyword`:
/// the item is a keyword argument, where `None` means absent and `source` may be the
/// principal alone.
#[inline(always)]
fn item(parts: &mut Parts, key: &str, value: &Bound<'_, PyAny>, keyword: bool) -> Option<()> {
    if value.is_none() {
        // A keyword set to `None` is absent; in a dict only the optional fields may be
        // `None` (the serde reader refuses it for `source`, `headers`, `custom`).
        let optional = matches!(
            key,
            "host"
                | "url"
                | "method"
                | "path"
                | "sni"
                | "destination_ip"
                | "port"
                | "protocol"
                | "workload"
                | "jwt"
        );
        return (keyword || optional).then_some(());
    }
    let string = |slot: &mut Option<PyBackedStr>| -> Option<()> {
        *slot = Some(text(value)?);
        Some(())
    };
    match key {
        "host" => string(&mut parts.host),
        "url" => string(&mut parts.url),
        "method" => string(&mut parts.method),
        "path" => string(&mut parts.path),
        "sni" => string(&mut parts.sni),
        "destination_ip" => string(&mut parts.destination_ip),
        "port" => {
            parts.port = Some(port(value)?);
            Some(())
        }
        "protocol" => {
            parts.protocol = Some(protocol(value)?);
            Some(())
        }
        "source" if keyword && value.cast::<PyString>().is_ok() => string(&mut parts.principal),
        "source" => source(parts, value),
        "workload" => {
            parts.workload = Some(workload(value)?);
            Some(())
        }
        "headers" => headers(parts, value),
        "custom" => empty_dict(value),
        _ => None,
    }
}

/// The parts of a request given as one dict or as keywords (not both), when it has the
/// fast shape.
fn read(request: Option<&Bound<'_, PyAny>>, keywords: &Keywords<'_, '_>) -> Option<Box<Parts>> {
    let request = request.filter(|r| !r.is_none());
    // Built in place: `Parts` is a few hundred bytes, moved nowhere.
    let mut parts = Box::<Parts>::default();
    match (request, keywords.is_empty()) {
        (Some(request), true) => {
            for (key, value) in request.cast::<PyDict>().ok()?.iter() {
                item(&mut parts, key_text(&key)?, &value, false)?;
            }
        }
        (None, false) => {
            for (key, value) in keywords.given() {
                item(&mut parts, key, value, true)?;
            }
        }
        _ => return None,
    }
    // Names equal but for case are joined in name order by the serde path (a sorted map)
    // and would be joined in dict order here: leave them to it.
    let names = &parts.headers;
    let clash = names.iter().enumerate().any(|(i, (a, _))| {
        names
            .iter()
            .skip(i + 1)
            .any(|(b, _)| a.eq_ignore_ascii_case(b))
    });
    (!clash).then_some(parts)
}

impl Parts {
    /// The header pairs as `&str`s (the view borrows them).
    fn pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(n, v)| (&**n, &**v)).collect()
    }

    /// The core's view of these parts, with `pairs` from [`Parts::pairs`].
    fn view<'a>(&'a self, pairs: &'a [(&'a str, &'a str)]) -> RequestRef<'a> {
        RequestRef {
            principal: self.principal.as_deref(),
            source_ip: self.source_ip.as_deref(),
            remote_ip: self.remote_ip.as_deref(),
            cluster: self.cluster.as_deref(),
            source_namespace: self.source_namespace.as_deref(),
            workload: self.workload.as_deref(),
            protocol: self.protocol,
            url: self.url.as_deref(),
            host: self.host.as_deref(),
            port: self.port,
            method: self.method.as_deref(),
            path: self.path.as_deref(),
            headers: if pairs.is_empty() {
                Headers::None
            } else {
                Headers::Pairs(pairs)
            },
            sni: self.sni.as_deref(),
            destination_ip: self.destination_ip.as_deref(),
            ..RequestRef::default()
        }
    }
}

/// Decides a request of the fast shape; `None` sends the caller to the serde path.
pub fn check_fast(
    engine: &egress_policy::Engine,
    request: Option<&Bound<'_, PyAny>>,
    keywords: &Keywords<'_, '_>,
) -> Option<PyDecision> {
    let item = BatchItem::InPlace(read(request, keywords)?);
    Some(PyDecision::lazy(
        item.summary(engine, None),
        engine,
        item,
        None,
    ))
}

/// The request of `check(request, **keywords)`: read in place when it has the fast shape,
/// else by the serde reader (`owned`).
pub fn read_item(
    request: Option<&Bound<'_, PyAny>>,
    keywords: &Keywords<'_, '_>,
    owned: impl FnOnce() -> PyResult<egress_policy::Request>,
) -> PyResult<BatchItem> {
    Ok(match read(request, keywords) {
        Some(parts) => BatchItem::InPlace(parts),
        None => BatchItem::Owned(Box::new(owned()?)),
    })
}

/// `request` prepared for `engine`, on `connection` when given.
fn prepare<'r>(
    engine: &'r Engine,
    connection: Option<&'r Connection>,
    request: &RequestRef<'r>,
) -> Prepared<'r> {
    match connection {
        Some(connection) => engine.prepare_on(connection, request),
        None => engine.prepare_ref(request),
    }
}

/// One request of a batch (or of `check`): read in place, or by the serde reader. A lazy
/// [`PyDecision`] keeps it to build the full decision on first access.
#[derive(Debug)]
pub enum BatchItem {
    /// The fast shape.
    InPlace(Box<Parts>),
    /// Anything else.
    Owned(Box<egress_policy::Request>),
}

impl BatchItem {
    /// Reads one request dict, in place when it has the fast shape.
    pub fn read(
        item: &Bound<'_, PyAny>,
        owned: impl FnOnce() -> PyResult<egress_policy::Request>,
    ) -> PyResult<Self> {
        read_item(Some(item), &Keywords::default(), owned)
    }

    /// Hands the request's view to `with` (the header pairs live on this stack frame).
    fn with_view<T>(&self, with: impl FnOnce(&RequestRef<'_>) -> T) -> T {
        match self {
            BatchItem::InPlace(parts) => {
                let pairs = parts.pairs();
                with(&parts.view(&pairs))
            }
            BatchItem::Owned(request) => with(&request.view()),
        }
    }

    /// The verdict's summary (nothing formatted), on `connection` when given.
    pub fn summary(&self, engine: &Engine, connection: Option<&Connection>) -> Summary {
        self.with_view(|view| {
            engine
                .decide_prepared(&prepare(engine, connection, view))
                .summary()
        })
    }

    /// The sender field this request carries itself (`Connection::replaced_field`), which
    /// a request on a connection may not.
    pub fn replaced_field(&self) -> Option<&'static str> {
        self.with_view(Connection::replaced_field)
    }

    /// The verdict's summary on `connection`; `Err` names the sender field the request
    /// carries itself (`Connection::replaced_field`), which a request on a connection may not.
    pub fn summary_on(
        &self,
        engine: &Engine,
        connection: &Connection,
    ) -> Result<Summary, &'static str> {
        self.with_view(|view| match Connection::replaced_field(view) {
            Some(field) => Err(field),
            None => Ok(engine
                .decide_prepared(&engine.prepare_on(connection, view))
                .summary()),
        })
    }

    /// The full decision, on `connection` when given.
    pub fn decide(&self, engine: &Engine, connection: Option<&Connection>) -> Decision {
        self.with_view(|view| {
            engine
                .decide_prepared(&prepare(engine, connection, view))
                .to_decision()
        })
    }
}
