//! `Connection` and `engine.checkOn(connection, request)`: the sender and enforcing workload
//! read once (the core's [`egress_policy::Connection`]), each request giving only its own
//! fields. Decides exactly as `engine.check` of the request carrying the connection's
//! fields; which fields belong to the connection is the core's rule
//! ([`egress_policy::Connection::from_sender`]).

use egress_policy::request::{RequestRef, RequestSource, Workload};
use egress_policy::Connection as CoreConnection;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::{decide_to_js, fast, json_text, request_from, Engine};

/// `{source, workload}`: what `new Connection(fields)` takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SenderFields {
    #[serde(default)]
    source: RequestSource,
    #[serde(default)]
    workload: Option<Workload>,
}

/// Who sends and which proxy enforces, fixed for every request given with it to
/// `engine.checkOn`. A proxy knows both when a connection opens.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct Connection {
    inner: CoreConnection,
}

#[wasm_bindgen]
impl Connection {
    /// `{source, workload}` as in a request (`source`: principal, namespace, cluster,
    /// pod_labels). Throws a `TypeError` for another member or one of the request's own
    /// (`source.ip`, `source.remote_ip`, `source.labels`: they may change per request).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ConnectionFields")] fields: JsValue,
    ) -> Result<Connection, JsValue> {
        let invalid = |message: String| -> JsValue { js_sys::TypeError::new(&message).into() };
        if !fields.is_object() || js_sys::Array::is_array(&fields) {
            return Err(invalid("invalid connection: expected an object".into()));
        }
        let text = json_text(&fields, "connection")?;
        let fields: SenderFields =
            serde_json::from_str(&text).map_err(|e| invalid(format!("invalid connection: {e}")))?;
        let request = egress_policy::Request {
            source: fields.source,
            workload: fields.workload,
            ..egress_policy::Request::default()
        };
        let inner = CoreConnection::from_sender(&request).map_err(|field| {
            invalid(format!(
                "invalid connection: {}",
                CoreConnection::own_field_message(field)
            ))
        })?;
        Ok(Connection { inner })
    }

    /// The sender's mTLS identity.
    #[wasm_bindgen(getter)]
    pub fn principal(&self) -> Option<String> {
        self.inner.principal().map(str::to_string)
    }

    /// The sender's namespace.
    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> Option<String> {
        self.inner.source_namespace().map(str::to_string)
    }

    /// The sender's cluster.
    #[wasm_bindgen(getter)]
    pub fn cluster(&self) -> Option<String> {
        self.inner.cluster().map(str::to_string)
    }

    /// The enforcing workload's namespace (absent: the gateway the registry routes to).
    #[wasm_bindgen(getter, js_name = workloadNamespace)]
    pub fn workload_namespace(&self) -> Option<String> {
        self.inner.workload().map(|w| w.namespace.clone())
    }
}

#[wasm_bindgen]
impl Engine {
    /// Decides a request without sender fields on `connection`: the same decision as
    /// `check` of the request with them. Throws a `TypeError` when the request carries a
    /// sender field itself (`source.principal`, `source.namespace`, `source.pod_labels`,
    /// `source.cluster`, `workload`), or as `check` does.
    #[wasm_bindgen(js_name = checkOn, unchecked_return_type = "Decision")]
    pub fn check_on(
        &self,
        connection: &Connection,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        let engine = &self.inner;
        let on = |view: &RequestRef<'_>| match CoreConnection::replaced_field(view) {
            Some(field) => Err(js_sys::TypeError::new(&format!(
                "invalid request: {}",
                CoreConnection::sender_field_message(field)
            ))
            .into()),
            None => decide_to_js(engine, Some(&connection.inner), view),
        };
        match fast::with_request(&request, on) {
            Some(decided) => decided,
            None => on(&request_from(&request, "request")?.view()),
        }
    }
}
