//! WebAssembly bindings of the egress-policy engine (wasm-bindgen).
//!
//! This crate only converts between JavaScript values and the core's types: every decision,
//! explanation, diagnostic and tool report is computed by [`egress_policy`]; the JSON shapes
//! are the core's serde forms (README "Request JSON" / "Decision JSON"), described for
//! TypeScript in `src/types.d.ts` (emitted into the generated `.d.ts`). Test files read
//! their policies from the in-memory texts through the core's
//! `egress_policy::import::MemoryFiles`; lint locations come from the core model's source
//! map (the binding keeps no copy of the texts).
//!
//! JavaScript API (see `bindings-wasm/README.md`):
//!
//! * `Engine.fromYaml(text, name?)`, `Engine.fromFiles({name: text})` — load (cargo
//!   feature `yaml`, default); throw a `PolicyError` (an `Error` subclass with
//!   `diagnostics`) when the policies do not load;
//! * `Engine.fromBundle(text, name?)` — load a compiled-policy bundle (`egress-policy
//!   compile`, or `engine.toBundle()` of the tools module); the only loader of the bundle
//!   module, built without `yaml` (no YAML parser, no importers); also in the tools module,
//!   not in the engine module (its size);
//! * `engine.check(request)`, `engine.checkMany(requests)`, `engine.explain(request)`,
//!   `new Connection({source, workload})` and `engine.checkOn(connection, request)`,
//!   `engine.evalLines(jsonl)`, `engine.inventory()`, `engine.warnings`, `engine.ruleCount`,
//!   `engine.requestClasses({workload?})`;
//! * `validate(text | {name: text}, name?)` — every error and warning, never throws for
//!   invalid policies;
//! * with the cargo feature `tools` (default; `src/tool_bindings.rs`), the policy tools
//!   (`egress_policy::tools`): `engine.lint()`, `lint(files)`,
//!   `runTests(testText, files, name?)`, `engine.reach({host} | {identity})`,
//!   `diff(before, after, options?)`, `lintCodes()`;
//! * access logs (`egress_policy::tools::replay` / `suggest`): `engine.replay(log,
//!   options?)`, `engine.replayChange(before, log, options?)`, `suggest(log, options?)`,
//!   `engine.suggestMissing(log, options?)`.

mod connection;
mod encode;
mod fast;
#[cfg(feature = "tools")]
mod replay;
#[cfg(feature = "tools")]
mod testfile;
#[cfg(feature = "tools")]
mod tool_bindings;
#[cfg(feature = "tools")]
mod tools;

use std::sync::atomic::{AtomicU32, Ordering};

use egress_policy::compile::{Prepared, Verdict};
use egress_policy::request::RequestRef;
#[cfg(feature = "yaml")]
use egress_policy::{Diagnostic, Loader};
use egress_policy::{Engine as CoreEngine, Error as CoreError, Request};
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use connection::Connection;
pub use egress_policy::tools::inventory::{inventory, Inventory};
#[cfg(feature = "tools")]
pub use testfile::run_test_files;
#[cfg(feature = "tools")]
pub use tool_bindings::{diff, lint_codes, lint_policies, run_tests, suggest};
#[cfg(feature = "tools")]
pub use tools::{
    diff_options, parse_workload, reach_query, request_classes, ArgError, RequestClasses, Subject,
};

/// The TypeScript interfaces of the JSON shapes (hand-written mirrors of the core's serde
/// forms, checked by `tsc --noEmit` over `bindings-wasm/examples/typed.ts` and by the node
/// tests that compare every key).
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("types.d.ts");

// `PolicyError` lives in a small JS file copied next to the generated glue of each flavour
// (`pkg/node/policy-error.js` as CommonJS, `pkg/web/policy-error.js` as ESM), so that the
// package entry points can export the very class the engine throws.
#[wasm_bindgen(raw_module = "./policy-error.js")]
extern "C" {
    #[wasm_bindgen(js_name = makePolicyError)]
    fn make_policy_error(message: &str, diagnostics: JsValue) -> JsValue;
}

/// Converts a core value to its JSON shape as a plain JavaScript value: the core's serde
/// JSON, parsed by the JavaScript engine's `JSON.parse` (faster than building the object
/// field by field across the boundary).
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value)
        .map_err(|e| JsValue::from(js_sys::Error::new(&format!("cannot serialize: {e}"))))?;
    js_sys::JSON::parse(&text)
}

/// `JSON.stringify(value)`, or a `TypeError` naming `what` when it has no JSON form.
fn json_text(value: &JsValue, what: &str) -> Result<String, JsValue> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| js_sys::TypeError::new(&format!("invalid {what}: not a JSON value")).into())
}

/// Reads a Request from a JavaScript value through its JSON form, so that the rules are
/// exactly those of the Request JSON: unknown fields are rejected, `undefined` members are
/// absent.
fn request_from(value: &JsValue, what: &str) -> Result<Request, JsValue> {
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(js_sys::TypeError::new(&format!("invalid {what}: expected an object")).into());
    }
    let text = json_text(value, what)?;
    serde_json::from_str(&text)
        .map_err(|e| js_sys::TypeError::new(&format!("invalid {what}: {e}")).into())
}

/// Reads an array of Requests with one JSON round trip; on a bad element, finds it for the
/// message.
fn requests_from(requests: &JsValue) -> Result<Vec<Request>, JsValue> {
    if !js_sys::Array::is_array(requests) {
        return Err(js_sys::TypeError::new("expected an array of requests").into());
    }
    let text = json_text(requests, "requests")?;
    serde_json::from_str(&text).or_else(|error| {
        let requests: &js_sys::Array = requests.unchecked_ref();
        for (index, request) in requests.iter().enumerate() {
            request_from(&request, &format!("request at index {index}"))?;
        }
        Err(js_sys::TypeError::new(&format!("invalid requests: {error}")).into())
    })
}

/// Decides `view`, on `connection` when given, and hands the verdict to `finish`: one
/// body for `check`, `checkMany` and `checkOn`, whichever path read the request (kept out
/// of line, `finish` as a trait object, so that the module holds one copy of the decision
/// path).
#[inline(never)]
fn decide(
    engine: &CoreEngine,
    connection: Option<&egress_policy::Connection>,
    view: &RequestRef<'_>,
    finish: &mut dyn FnMut(Verdict<'_>),
) {
    let prepared = match connection {
        Some(connection) => engine.prepare_on(connection, view),
        None => engine.prepare_ref(view),
    };
    finish(engine.decide_prepared(&prepared));
}

/// The decision for `view` as a JavaScript value, written from the borrowed verdict
/// (`Verdict::view`: no owned copy of the road, route and names first).
fn decide_to_js(
    engine: &CoreEngine,
    connection: Option<&egress_policy::Connection>,
    view: &RequestRef<'_>,
) -> Result<JsValue, JsValue> {
    let mut out = Ok(JsValue::UNDEFINED);
    decide(engine, connection, view, &mut |verdict| {
        out = encode::to_js_value(&verdict.view());
    });
    out
}

/// The decisions for `views`, in order, serialized as a sequence while they are made:
/// each verdict's borrowed view is written before the next request is digested, so that
/// `checkMany` writes all decisions in one encoding without owned copies of them. (When the
/// compact encoding cannot write a value, `encode::to_js_value` serializes this again
/// through JSON: the requests are decided a second time, to the same decisions.)
struct DecidedMany<'e, 'v> {
    engine: &'e CoreEngine,
    views: &'v [RequestRef<'v>],
}

impl Serialize for DecidedMany<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.views.len()))?;
        let mut written = Ok(());
        for view in self.views {
            decide(self.engine, None, view, &mut |verdict| {
                written = seq.serialize_element(&verdict.view());
            });
            std::mem::replace(&mut written, Ok(()))?;
        }
        seq.end()
    }
}

/// The `PolicyError` thrown when policies do not load.
fn policy_error(error: &CoreError) -> JsValue {
    let diagnostics = to_js(error.diagnostics()).unwrap_or(JsValue::NULL);
    let message = match error {
        CoreError::Invalid(diags) => {
            let errors = diags.iter().filter(|d| d.is_error()).count();
            let first = diags
                .iter()
                .find(|d| d.is_error())
                .map(ToString::to_string)
                .unwrap_or_default();
            if errors > 1 {
                format!("{errors} errors in the policies; first: {first}")
            } else {
                first
            }
        }
        other => other.to_string(),
    };
    make_policy_error(&message, diagnostics)
}

#[cfg(feature = "yaml")]
/// Named texts from `{name: text}` (in insertion order), or one text.
fn sources_from(value: &JsValue, name: Option<String>) -> Result<Vec<(String, String)>, JsValue> {
    if let Some(text) = value.as_string() {
        return Ok(vec![(
            name.unwrap_or_else(|| "policies.yaml".to_string()),
            text,
        )]);
    }
    if !value.is_object() || value.is_null() || js_sys::Array::is_array(value) {
        return Err(js_sys::TypeError::new(
            "expected a YAML text or an object mapping file names to texts",
        )
        .into());
    }
    let mut out = Vec::new();
    for entry in js_sys::Object::entries(value.unchecked_ref::<js_sys::Object>()).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let key = pair.get(0).as_string().unwrap_or_default();
        let Some(text) = pair.get(1).as_string() else {
            return Err(js_sys::TypeError::new(&format!(
                "file `{key}`: contents must be a string"
            ))
            .into());
        };
        out.push((key, text));
    }
    Ok(out)
}

#[cfg(feature = "yaml")]
fn load(sources: Vec<(String, String)>) -> Result<Engine, JsValue> {
    let inner = CoreEngine::from_files(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .map_err(|e| policy_error(&e))?;
    Ok(Engine::new(inner))
}

/// Loaded policies, ready to decide. Immutable: to change policies, load a new engine.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct Engine {
    inner: CoreEngine,
    /// Tells this engine's prepared requests from another engine's.
    id: u32,
}

static NEXT_ENGINE_ID: AtomicU32 = AtomicU32::new(1);

impl Engine {
    fn new(inner: CoreEngine) -> Self {
        Engine {
            inner,
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// Requests digested once by `engine.prepare(requests)` (normalised, lower-cased, labels
/// looked up), for `engine.decidePrepared`, the engine's allocation-free hot path.
#[wasm_bindgen]
#[derive(Debug)]
pub struct PreparedRequests {
    engine: u32,
    prepared: Vec<Prepared<'static>>,
}

#[wasm_bindgen]
impl PreparedRequests {
    /// How many requests.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.prepared.len()
    }
}

#[wasm_bindgen]
impl Engine {
    /// Loads one multi-document YAML (or JSON) text. `name` is the file name diagnostics
    /// show (default `policies.yaml`). Throws `PolicyError` when the policies do not load.
    #[cfg(feature = "yaml")]
    #[wasm_bindgen(js_name = fromYaml)]
    pub fn from_yaml(text: &str, name: Option<String>) -> Result<Engine, JsValue> {
        let name = name.unwrap_or_else(|| "policies.yaml".to_string());
        load(vec![(name, text.to_string())])
    }

    /// Loads several named texts, `{"file.yaml": "text", ...}`. Throws `PolicyError` when
    /// the policies do not load.
    #[cfg(feature = "yaml")]
    #[wasm_bindgen(js_name = fromFiles)]
    pub fn from_files(
        #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] files: JsValue,
    ) -> Result<Engine, JsValue> {
        let sources = sources_from(&files, None)?;
        if sources.is_empty() && files.as_string().is_some() {
            return Err(js_sys::TypeError::new("expected an object of files").into());
        }
        load(sources)
    }

    /// Loads a compiled-policy bundle (the JSON `egress-policy compile` or
    /// `engine.toBundle()` writes). `name` is the file name errors show (default
    /// `policies.bundle.json`). Throws `PolicyError` for a text that is not a bundle, a
    /// bundle of another version, an unknown field or an invalid value. The engine decides
    /// and explains like the one the bundle was written from; explanations locate a failing
    /// field at its rule (a bundle carries no source texts). In the bundle and tools modules,
    /// not in the engine module: the model's deserializers cost it ~100 KB gzip
    /// (bindings-wasm/README.md, "Size and speed").
    #[cfg(any(feature = "tools", not(feature = "yaml")))]
    #[wasm_bindgen(js_name = fromBundle)]
    pub fn from_bundle(text: &str, name: Option<String>) -> Result<Engine, JsValue> {
        let name = name.unwrap_or_else(|| "policies.bundle.json".to_string());
        let inner = CoreEngine::from_bundle_json(&name, text).map_err(|e| policy_error(&e))?;
        Ok(Engine::new(inner))
    }

    /// The loaded policies as a compiled-policy bundle (JSON text) for `Engine.fromBundle`,
    /// in any module (the bundle module is `egress-policy-wasm/bundle`). In the tools
    /// module only: it makes the model's serializers reachable, which the engine module
    /// (what a page loads before its first decision) and the bundle module do without
    /// (bindings-wasm/README.md, "Size and speed").
    #[cfg(feature = "tools")]
    #[wasm_bindgen(js_name = toBundle)]
    pub fn to_bundle(&self) -> Result<String, JsValue> {
        self.inner
            .to_bundle_json()
            .map_err(|e| js_sys::Error::new(&e.to_string()).into())
    }

    /// Decides one request. Never fails for a valid Request object: malformed requests
    /// are denied with status 400. Throws `TypeError` for an object that is not a Request
    /// (unknown field, wrong type). A request of the common shape is read without JSON
    /// (`src/fast.rs`), anything else through its JSON; the decision comes back through the
    /// compact encoding (`src/encode.rs`): the same values either way.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn check(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        let engine = &self.inner;
        match fast::with_request(&request, |view| decide_to_js(engine, None, view)) {
            Some(decision) => decision,
            None => decide_to_js(engine, None, &request_from(&request, "request")?.view()),
        }
    }

    /// Decides many requests; the decisions come back in the same order.
    #[wasm_bindgen(js_name = checkMany, unchecked_return_type = "Decision[]")]
    pub fn check_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request[]")] requests: JsValue,
    ) -> Result<JsValue, JsValue> {
        let engine = &self.inner;
        let decide_all =
            |views: &[RequestRef<'_>]| encode::to_js_value(&DecidedMany { engine, views });
        match fast::with_requests(&requests, decide_all) {
            Some(decisions) => decisions,
            None => {
                let requests = requests_from(&requests)?;
                let views: Vec<RequestRef<'_>> = requests.iter().map(Request::view).collect();
                decide_all(&views)
            }
        }
    }

    /// Digests requests once for [`Engine::decide_prepared`] (the hot path that
    /// `egress-policy bench` measures natively).
    #[wasm_bindgen]
    pub fn prepare(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request[]")] requests: JsValue,
    ) -> Result<PreparedRequests, JsValue> {
        let requests = requests_from(&requests)?;
        Ok(PreparedRequests {
            engine: self.id,
            // Kept across calls, so detached from the parsed requests and the engine.
            prepared: requests
                .iter()
                .map(|r| self.inner.prepare(r).into_owned())
                .collect(),
        })
    }

    /// Decides prepared requests without allocating per decision; returns the status of
    /// each (200 allowed; 400, 403 or 502 denied). `check` gives the full decision.
    #[wasm_bindgen(js_name = decidePrepared)]
    pub fn decide_prepared(&self, prepared: &PreparedRequests) -> Result<Vec<u16>, JsValue> {
        if prepared.engine != self.id {
            return Err(
                js_sys::Error::new("these requests were prepared by another engine").into(),
            );
        }
        Ok(prepared
            .prepared
            .iter()
            .map(|p| self.inner.decide_prepared(p).status())
            .collect())
    }

    /// Decides and explains: the decision, the enforcing gateway and registry entry, the
    /// pipeline steps, and every attached policy and rule with its verdict.
    #[wasm_bindgen(unchecked_return_type = "Explanation")]
    pub fn explain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request = request_from(&request, "request")?;
        to_js(&self.inner.explain(&request))
    }

    /// The explanation as text, exactly as `egress-policy check --explain` prints it (and
    /// Python's `str(explanation)`): rendered once, in the core.
    #[wasm_bindgen(js_name = explainText)]
    pub fn explain_text(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
    ) -> Result<String, JsValue> {
        let request = request_from(&request, "request")?;
        Ok(egress_policy::tools::render::explanation(
            &self.inner.explain(&request),
        ))
    }

    /// Decides JSON lines, exactly like `egress-policy eval`: one result per non-blank
    /// line, in order, `{line, decision, error}` (one of the last two `null`).
    #[wasm_bindgen(js_name = evalLines, unchecked_return_type = "BatchLine[]")]
    pub fn eval_lines(&self, jsonl: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.decide_text(jsonl))
    }

    /// The identities, hosts, gateways and policies found in the loaded model (for
    /// reachability matrices and request forms).
    #[wasm_bindgen(unchecked_return_type = "Inventory")]
    pub fn inventory(&self) -> Result<JsValue, JsValue> {
        to_js(&inventory(self.inner.model()))
    }

    /// Warnings found while loading.
    #[wasm_bindgen(getter, unchecked_return_type = "Diagnostic[]")]
    pub fn warnings(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.warnings())
    }

    /// Number of compiled rules.
    #[wasm_bindgen(getter, js_name = ruleCount)]
    pub fn rule_count(&self) -> usize {
        self.inner.rule_count()
    }
}

#[cfg(feature = "yaml")]
/// Loads the policies and returns every error and warning (file, line, column, resource,
/// field, message, severity); an empty list means they load cleanly. Never throws for
/// invalid policies.
#[wasm_bindgen(unchecked_return_type = "Diagnostic[]")]
pub fn validate(
    #[wasm_bindgen(unchecked_param_type = "string | Record<string, string>")] policies: JsValue,
    name: Option<String>,
) -> Result<JsValue, JsValue> {
    let sources = sources_from(&policies, name)?;
    let mut loader = Loader::new();
    for (name, text) in &sources {
        loader.add_str(name, text);
    }
    let diagnostics: Vec<Diagnostic> = match loader.load() {
        Ok(model) => model.warnings,
        Err(e) => e.diagnostics().to_vec(),
    };
    to_js(&diagnostics)
}

/// The version of the egress-policy engine compiled into this module.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
