//! The policy tools of the package (feature `tools`, on by default): `engine.lint()`,
//! `engine.reach()`, `engine.requestClasses()`, `engine.replay()`, `engine.replayChange()`,
//! `engine.suggestMissing()`, and `lint`, `lintCodes`, `runTests`, `diff`, `suggest`.
//!
//! `bindings-wasm/build.sh` builds the crate twice: without this feature (the engine module
//! `egress_policy_wasm`, what the package's main entry loads) and with it (the tools module
//! `egress_policy_wasm_tools`, a superset: the `tools` entry and `loadTools()`).

use egress_policy::model::Model;
use egress_policy::{Engine as CoreEngine, Loader};
use wasm_bindgen::prelude::*;

use crate::replay;
use crate::tools::{self, diff_options, reach_query, request_classes, ArgError, Subject};
use crate::{json_text, policy_error, run_test_files, sources_from, to_js, Engine};

/// The model of `sources`, or the `PolicyError` of the load.
fn load_model(sources: &[(String, String)]) -> Result<Model, JsValue> {
    let mut loader = Loader::new();
    for (name, text) in sources {
        loader.add_str(name, text);
    }
    loader.load().map_err(|e| policy_error(&e))
}

/// A plain JSON value of an options object (`undefined` → `null`).
fn json_value(value: &JsValue, what: &str) -> Result<serde_json::Value, JsValue> {
    if value.is_undefined() {
        return Ok(serde_json::Value::Null);
    }
    let text = json_text(value, what)?;
    serde_json::from_str(&text)
        .map_err(|e| js_sys::TypeError::new(&format!("invalid {what}: {e}")).into())
}

fn arg_error(error: ArgError) -> JsValue {
    match error {
        ArgError::Type(message) => js_sys::TypeError::new(&message).into(),
        ArgError::Range(message) => js_sys::RangeError::new(&message).into(),
    }
}

#[wasm_bindgen]
impl Engine {
    /// Decides every request of an access log held in memory and counts allowed / denied
    /// per identity × host × method × path class: the CLI's `replay --json` report.
    /// `options`: `{format?: "envoy-json" | "istio-text" | "ztunnel" | "requests",
    /// mappings?, identities?, textFormat?}` (`identities`: an object or the text of an
    /// `ADDRESS IDENTITY` file). Malformed lines are counted, never thrown; bad options
    /// throw `TypeError` / `RangeError`.
    #[wasm_bindgen(unchecked_return_type = "ReplayReport")]
    pub fn replay(
        &self,
        log: &str,
        #[wasm_bindgen(unchecked_param_type = "LogOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.replay_with(None, log, &options)
    }

    /// `replay` as a change report (`replay --before`): only the request classes whose
    /// decision differs between `before` and this engine.
    #[wasm_bindgen(js_name = replayChange, unchecked_return_type = "ReplayReport")]
    pub fn replay_change(
        &self,
        before: &Engine,
        log: &str,
        #[wasm_bindgen(unchecked_param_type = "LogOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.replay_with(Some(&before.inner), log, &options)
    }

    /// `suggest` for what this engine does not allow yet (`suggest --policy`): observed
    /// requests these policies already allow are left out.
    #[wasm_bindgen(js_name = suggestMissing, unchecked_return_type = "SuggestReport")]
    pub fn suggest_missing(
        &self,
        log: &str,
        #[wasm_bindgen(unchecked_param_type = "SuggestOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        suggest_with(log, &options, Some(&self.inner))
    }

    /// The pitfalls of egress authorization (docs/SEMANTICS.md §6) in the loaded policies:
    /// one `Lint` per finding (stable `code`, location of the offending value, `message`,
    /// `help`), sorted by location; `egress-policy lint --format json`.
    #[wasm_bindgen(unchecked_return_type = "Lint[]")]
    pub fn lint(&self) -> Result<JsValue, JsValue> {
        to_js(&egress_policy::tools::lint(self.inner.model()))
    }

    /// Who may reach a host (`{host: "httpbin.org"}`) or which hosts an identity may reach
    /// (`{identity: "cluster.local/ns/NS/sa/SA"}`, `null` for plaintext), computed from the
    /// policies with one request per class of requests they cannot tell apart;
    /// `egress-policy reach --json`. `workloads` decides at those proxies instead of where
    /// the registry routes, `allGateways` at every gateway too. Throws `TypeError` for a
    /// malformed query and `RangeError` for an invalid host or workload.
    #[wasm_bindgen(unchecked_return_type = "ReachReport")]
    pub fn reach(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ReachQuery")] query: JsValue,
    ) -> Result<JsValue, JsValue> {
        let query = json_value(&query, "reach query")?;
        let (subject, options) = reach_query(&self.inner, &query).map_err(arg_error)?;
        let report = match subject {
            Subject::Host(host) => egress_policy::tools::reach_host(&self.inner, &host, &options),
            Subject::Identity(identity) => {
                egress_policy::tools::reach_identity(&self.inner, identity.as_deref(), &options)
            }
        };
        to_js(&report)
    }

    /// The host, method and path classes the policies tell apart at one proxy (`workload`:
    /// a request `workload` object or `NS/NAME`; default: where the registry routes): the
    /// core's request-space partition, each class once with its label and example value
    /// (`any other host` is the class of hosts that nothing names). Throws `TypeError` for
    /// malformed options and `RangeError` for an invalid workload.
    #[wasm_bindgen(js_name = requestClasses, unchecked_return_type = "RequestClasses")]
    pub fn request_classes(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "{ workload?: WorkloadSpec | null }")]
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let options = json_value(&options, "request-classes options")?;
        let classes = request_classes(&self.inner, &options).map_err(arg_error)?;
        to_js(&classes)
    }
}

impl Engine {
    fn replay_with(
        &self,
        before: Option<&CoreEngine>,
        log: &str,
        options: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let options = json_value(options, "replay options")?;
        let query = replay::LogQuery::from_json(&options, false).map_err(arg_error)?;
        to_js(&replay::replay_text(&self.inner, before, log, &query).map_err(arg_error)?)
    }
}

/// The smallest policy set that allows exactly the traffic of an access log held in memory
/// (the CLI's `suggest`): `{yaml, hosts, rules, notes, requests, already_allowed,
/// malformed}`. `options`: the log options of `engine.replay` plus `vendor?: "istio" |
/// "tsb" | "gloo"` and `generalize?` (path segments kept, default 1).
#[wasm_bindgen(unchecked_return_type = "SuggestReport")]
pub fn suggest(
    log: &str,
    #[wasm_bindgen(unchecked_param_type = "SuggestOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    suggest_with(log, &options, None)
}

fn suggest_with(
    log: &str,
    options: &JsValue,
    existing: Option<&CoreEngine>,
) -> Result<JsValue, JsValue> {
    let options = json_value(options, "suggest options")?;
    let query = replay::LogQuery::from_json(&options, true).map_err(arg_error)?;
    to_js(&replay::suggest_text(log, existing, &query).map_err(arg_error)?)
}

/// Loads the policies and lints them (see `Engine.lint`). Throws `PolicyError` when they
/// do not load.
#[wasm_bindgen(js_name = lint, unchecked_return_type = "Lint[]")]
pub fn lint_policies(
    #[wasm_bindgen(unchecked_param_type = "string | Record<string, string>")] policies: JsValue,
    name: Option<String>,
) -> Result<JsValue, JsValue> {
    let sources = sources_from(&policies, name)?;
    let model = load_model(&sources)?;
    to_js(&egress_policy::tools::lint(&model))
}

/// Every lint code with its one-line summary.
#[wasm_bindgen(js_name = lintCodes, unchecked_return_type = "Record<LintCode, string>")]
pub fn lint_codes() -> Result<JsValue, JsValue> {
    let codes: serde_json::Map<String, serde_json::Value> = egress_policy::tools::CODES
        .iter()
        .map(|(code, summary)| ((*code).to_string(), (*summary).into()))
        .collect();
    to_js(&codes)
}

/// Runs a policy test file (the YAML of `egress-policy test`) against in-memory policy
/// texts: its `policies` paths are resolved against the directory of `name` (default
/// `test.yaml`) and name files of `files` (a file, or a directory holding files). Never
/// throws for a test file that does not load: its problems are the report's located
/// `errors` and no case runs.
#[wasm_bindgen(js_name = runTests, unchecked_return_type = "TestReport")]
pub fn run_tests(
    test: &str,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] files: JsValue,
    name: Option<String>,
) -> Result<JsValue, JsValue> {
    if files.as_string().is_some() {
        return Err(
            js_sys::TypeError::new("runTests: `files` must map file names to texts").into(),
        );
    }
    let sources = sources_from(&files, None)?;
    let name = name.unwrap_or_else(|| "test.yaml".to_string());
    to_js(&tools::TestOutput::from(run_test_files(
        &name, test, sources,
    )))
}

/// Every class of requests whose decision differs between two engines, with an example
/// request and both decisions; `egress-policy diff --json` plus `changed`, `newly_allowed`
/// and `newly_denied`. `workloads` limits the comparison to those proxies (default: routed
/// requests plus every gateway of either set); `compareReason` also reports classes whose
/// verdict stays but whose reason or deciding rule changes.
#[wasm_bindgen(unchecked_return_type = "DiffReport")]
pub fn diff(
    before: &Engine,
    after: &Engine,
    #[wasm_bindgen(unchecked_optional_param_type = "DiffOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options = json_value(&options, "diff options")?;
    let options = diff_options(&options).map_err(arg_error)?;
    let report = egress_policy::tools::diff(&before.inner, &after.inner, &options);
    to_js(&tools::DiffOutput::from(report))
}
