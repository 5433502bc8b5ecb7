//! The plugin configuration: which policies to compile and how to find the source identity.
//!
//! Envoy hands the plugin its configuration as bytes (`configuration` in the Wasm filter
//! config, usually a `google.protobuf.StringValue`). Two forms are accepted:
//!
//! * a JSON object (see [`PluginConfig`]), for example
//!   `{"files": {"authz.yaml": "apiVersion: ..."}, "workload": "istio-egress/egress-waypoint",
//!   "source_header": "x-egress-source"}`;
//! * the same settings as a YAML mapping, recognised by its first key being a
//!   [`PluginConfig`] field, for example
//!   ```yaml
//!   workload: istio-egress/egress-waypoint
//!   source_header: x-egress-source
//!   yaml: |
//!     apiVersion: security.istio.io/v1
//!     kind: AuthorizationPolicy
//!     ...
//!   ```
//! * anything else is taken as raw policy YAML (one multi-document text) with default
//!   settings.
//!
//! The filter decides as the proxy it runs in: `workload` when given, else the proxy's
//! own identity from Envoy's node metadata (`NAMESPACE` and `LABELS`, as Istio sets them;
//! see [`resolve_workload`]). A configuration that names no workload and runs in a proxy
//! without that metadata, or whose policies attach nothing at the workload, is refused
//! unless `route_by_registry` says to decide at the gateway the registry routes each host
//! to.

use std::collections::{BTreeMap, BTreeSet};

use egress_policy::model::{Condition, Model, Scope};
use egress_policy::request::Workload;
use egress_policy::response::enforces_nothing;
use egress_policy::{Engine, Severity};
use serde::Deserialize;

/// The enforcing proxy in the plugin configuration: `"NS/NAME"` / `"NS/k=v,..."` (as the
/// CLI's `--workload`), or `{"namespace": NS, "labels": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum WorkloadSpec {
    /// The CLI's text form.
    Text(String),
    /// Namespace and pod labels.
    Structured(Workload),
}

impl WorkloadSpec {
    fn resolve(self) -> Result<Workload, String> {
        match self {
            WorkloadSpec::Structured(w) if w.namespace.is_empty() => {
                Err("`workload.namespace` is empty".into())
            }
            WorkloadSpec::Structured(w) => Ok(w),
            WorkloadSpec::Text(text) => text
                .parse::<Workload>()
                .map_err(|e| format!("`workload` `{text}`: {e}")),
        }
    }
}

/// The JSON form of the plugin configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Policy files by name (the name appears in diagnostics).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// One more multi-document policy text, named `plugin.yaml` in diagnostics.
    #[serde(default)]
    pub yaml: Option<String>,
    /// The enforcing proxy (namespace and pod labels). When absent, the proxy's own
    /// identity from Envoy's node metadata.
    #[serde(default)]
    pub workload: Option<WorkloadSpec>,
    /// Decide each request at the gateway the registry routes its host to, instead of
    /// as this proxy (only meaningful without `workload`).
    #[serde(default)]
    pub route_by_registry: bool,
    /// A request header that carries the sender's principal when the connection has no
    /// peer certificate (`cluster.local/ns/x/sa/y` or a `spiffe://` URI). Only safe when
    /// Envoy strips this header from untrusted clients; meant for tests and for hops
    /// behind a trusted proxy.
    #[serde(default)]
    pub source_header: Option<String>,
    /// Read the principal from `x-forwarded-client-cert` (`URI=` of the last element)
    /// when the connection has no peer certificate. Safe with Envoy's
    /// `forward_client_cert_details: SANITIZE_SET`.
    #[serde(default)]
    pub use_xfcc: bool,
    /// Destination port to decide with; by default the port of `:authority`, else 80.
    #[serde(default)]
    pub port: Option<u16>,
    /// Rewrite `:path` of allowed requests to the normalised path the decision used
    /// (default true), so the upstream sees what was authorised even when Envoy's
    /// `normalize_path` is off.
    #[serde(default = "default_true")]
    pub rewrite_path: bool,
}

fn default_true() -> bool {
    true
}

/// Everything the per-request code needs: the compiled engine and the settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The compiled policies.
    pub engine: Engine,
    /// See [`PluginConfig::workload`]; completed from the node metadata by
    /// [`resolve_workload`].
    pub workload: Option<Workload>,
    /// See [`PluginConfig::route_by_registry`].
    pub route_by_registry: bool,
    /// See [`PluginConfig::source_header`] (lower-cased).
    pub source_header: Option<String>,
    /// See [`PluginConfig::use_xfcc`].
    pub use_xfcc: bool,
    /// See [`PluginConfig::port`].
    pub port: Option<u16>,
    /// See [`PluginConfig::rewrite_path`].
    pub rewrite_path: bool,
    /// Warnings found while loading, one line each (logged once at start).
    pub warnings: Vec<String>,
    /// Which connection properties the policies can look at (each property read costs a
    /// host call per request, so only these are read).
    pub needs: Needs,
}

/// Request and connection attributes some loaded policy or route reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Lower-cased names of the request headers read by `when` conditions
    /// (`request.headers[...]`) and VirtualService route matches, sorted. Only these are
    /// copied into the core request; no other header can change a decision.
    pub headers: Vec<String>,
    /// `ipBlocks` or `source.ip`: the downstream peer address.
    pub source_ip: bool,
    /// `destination.ip`: the local address.
    pub destination_ip: bool,
    /// `connection.sni`: the TLS SNI.
    pub sni: bool,
}

impl Needs {
    /// Scans every rule of every policy and every VirtualService route match.
    pub fn of(model: &Model) -> Self {
        let mut needs = Needs::default();
        let mut headers = BTreeSet::new();
        for route in model.virtual_services.iter().flat_map(|vs| &vs.http) {
            for m in &route.matches {
                headers.extend(m.headers.iter().map(|(name, _)| name.to_ascii_lowercase()));
            }
        }
        for rule in model.policies.iter().flat_map(|p| &p.rules) {
            for source in rule.from.iter().flatten() {
                needs.source_ip |= source.ip_blocks.is_set();
            }
            for condition in &rule.when {
                match condition {
                    Condition::SourceIp(_) => needs.source_ip = true,
                    Condition::DestinationIp(_) => needs.destination_ip = true,
                    Condition::ConnectionSni(_) => needs.sni = true,
                    Condition::RequestHeader { name, .. } => {
                        headers.insert(name.to_ascii_lowercase());
                    }
                    _ => {}
                }
            }
        }
        needs.headers = headers.into_iter().collect();
        needs
    }
}

/// Parses the plugin configuration and compiles its policies. The error is one
/// human-readable text (every located diagnostic on its own line).
pub fn load(bytes: &[u8]) -> Result<Settings, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("plugin configuration is not UTF-8: {e}"))?;
    let config = if text.trim_start().starts_with('{') {
        serde_json::from_str::<PluginConfig>(text)
            .map_err(|e| format!("plugin configuration is not valid JSON: {e}"))?
    } else if is_settings_yaml(text) {
        serde_saphyr::from_str::<PluginConfig>(text)
            .map_err(|e| format!("plugin configuration is not valid settings YAML: {e}"))?
    } else {
        PluginConfig {
            yaml: Some(text.to_string()),
            rewrite_path: true,
            ..PluginConfig::default()
        }
    };
    compile(config)
}

/// The [`PluginConfig`] fields, which start the YAML settings form.
const SETTINGS_KEYS: &[&str] = &[
    "files",
    "yaml",
    "workload",
    "route_by_registry",
    "source_header",
    "use_xfcc",
    "port",
    "rewrite_path",
];

/// Whether `text` is the YAML settings form: its first key (after comments and a
/// leading `---`) is a [`PluginConfig`] field. Policy YAML starts with `apiVersion` or
/// `kind`.
fn is_settings_yaml(text: &str) -> bool {
    text.lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && *l != "---")
        .and_then(|l| l.split_once(':'))
        .is_some_and(|(key, _)| SETTINGS_KEYS.contains(&key))
}

/// Compiles an already parsed configuration.
pub fn compile(config: PluginConfig) -> Result<Settings, String> {
    let mut files: Vec<(&str, &str)> = config
        .files
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    if let Some(yaml) = &config.yaml {
        files.push(("plugin.yaml", yaml.as_str()));
    }
    if files.iter().all(|(_, text)| text.trim().is_empty()) {
        return Err(
            "plugin configuration has no policies (give `files` or `yaml`, or raw YAML)".into(),
        );
    }
    let workload = config.workload.map(WorkloadSpec::resolve).transpose()?;
    let engine = Engine::from_files(files).map_err(|e| e.to_string())?;
    let warnings = engine
        .warnings()
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(ToString::to_string)
        .collect();
    let needs = Needs::of(engine.model());
    Ok(Settings {
        engine,
        needs,
        workload,
        route_by_registry: config.route_by_registry,
        source_header: config.source_header.map(|h| h.to_ascii_lowercase()),
        use_xfcc: config.use_xfcc,
        port: config.port,
        rewrite_path: config.rewrite_path,
        warnings,
    })
}

/// Completes [`Settings::workload`] and checks that the filter enforces something.
///
/// Without a configured workload the proxy's own identity is read through `node` (a
/// lookup of `xds.node.metadata` fields, such as `["NAMESPACE"]` or
/// `["LABELS", "app"]`): its namespace, and the values of the label keys some loaded
/// gateway or policy selector reads. Refuses (the plugin does not start) when there is
/// no workload and `route_by_registry` is not set, or when no policy attaches at the
/// workload.
pub fn resolve_workload(
    settings: &mut Settings,
    node: impl Fn(&[&str]) -> Option<String>,
) -> Result<(), String> {
    if settings.workload.is_none() && !settings.route_by_registry {
        let namespace = node(&["NAMESPACE"]).filter(|n| !n.is_empty()).ok_or(
            "no workload: set `workload` in the plugin configuration, run in a proxy whose \
             node metadata has NAMESPACE (and LABELS), or set `route_by_registry: true`",
        )?;
        let mut labels = BTreeMap::new();
        for key in label_keys(settings.engine.model()) {
            if let Some(value) = node(&["LABELS", key.as_str()]) {
                labels.insert(key, value);
            }
        }
        settings.workload = Some(Workload { namespace, labels });
    }
    if let Some(workload) = &settings.workload {
        if let Some(why) = enforces_nothing(&settings.engine, workload) {
            return Err(why);
        }
    }
    Ok(())
}

/// The pod-label keys that can place a proxy: gateway resources' selectors, policy
/// selectors, and the Gateway-API gateway name.
pub fn label_keys(model: &Model) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = model
        .gateways
        .iter()
        .flat_map(|g| g.labels.keys().cloned())
        .collect();
    for policy in &model.policies {
        if let Scope::Selector { match_labels } = &policy.scope {
            keys.extend(match_labels.keys().cloned());
        }
    }
    keys.insert(egress_policy::model::GATEWAY_NAME_LABEL.to_string());
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: istio-egress}\nspec:\n  rules:\n  - to: [{operation: {methods: [GET]}}]\n";

    #[test]
    fn json_form() {
        let json = serde_json::json!({
            "files": {"p.yaml": POLICY},
            "source_header": "X-Egress-Source",
            "workload": {"namespace": "istio-egress"},
        });
        let settings = load(json.to_string().as_bytes()).unwrap();
        assert_eq!(settings.engine.rule_count(), 1);
        assert_eq!(settings.source_header.as_deref(), Some("x-egress-source"));
        assert!(settings.rewrite_path);
        let text = serde_json::json!({
            "files": {"p.yaml": POLICY},
            "workload": "istio-egress/app=gw",
        });
        let settings = load(text.to_string().as_bytes()).unwrap();
        assert_eq!(settings.workload.as_ref().map(|w| w.labels.len()), Some(1));
        let bad = serde_json::json!({"files": {"p.yaml": POLICY}, "workload": "nope"});
        assert!(load(bad.to_string().as_bytes())
            .unwrap_err()
            .contains("workload"));
    }

    #[test]
    fn workload_comes_from_the_node_and_must_enforce_something() {
        let node = |ns: &'static str| {
            move |path: &[&str]| match path {
                ["NAMESPACE"] => Some(ns.to_string()),
                ["LABELS", "app"] => Some("egress".to_string()),
                _ => None,
            }
        };
        let selector = POLICY.replace(
            "spec:\n",
            "spec:\n  selector: {matchLabels: {app: egress}}\n",
        );
        let mut settings = load(selector.as_bytes()).unwrap();
        resolve_workload(&mut settings, node("istio-egress")).unwrap();
        let workload = settings.workload.clone().unwrap();
        assert_eq!(workload.namespace, "istio-egress");
        assert_eq!(
            workload.labels.get("app").map(String::as_str),
            Some("egress")
        );
        // Placed in another namespace the policies attach nothing: refused.
        let mut elsewhere = load(selector.as_bytes()).unwrap();
        let err = resolve_workload(&mut elsewhere, node("default")).unwrap_err();
        assert!(err.contains("no policy attaches"), "{err}");
        // No node metadata and no workload: refused, unless routing by registry.
        let mut bare = load(POLICY.as_bytes()).unwrap();
        let err = resolve_workload(&mut bare, |_| None).unwrap_err();
        assert!(err.contains("no workload"), "{err}");
        bare.route_by_registry = true;
        resolve_workload(&mut bare, |_| None).unwrap();
        assert!(bare.workload.is_none());
    }

    #[test]
    fn yaml_settings_form() {
        let indented: String = POLICY.lines().map(|l| format!("  {l}\n")).collect();
        let text = format!(
            "# settings\nworkload: istio-egress/app=gw\nsource_header: X-Egress-Source\nyaml: |\n{indented}"
        );
        let settings = load(text.as_bytes()).unwrap();
        assert_eq!(settings.engine.rule_count(), 1);
        assert_eq!(settings.source_header.as_deref(), Some("x-egress-source"));
        assert_eq!(
            settings.workload.map(|w| w.namespace),
            Some("istio-egress".to_string())
        );
        let err = load(b"workload: a/b\nsource_headr: x\n").unwrap_err();
        assert!(err.contains("settings YAML"), "{err}");
    }

    #[test]
    fn raw_yaml_form() {
        let settings = load(POLICY.as_bytes()).unwrap();
        assert_eq!(settings.engine.rule_count(), 1);
        assert!(settings.source_header.is_none());
        assert_eq!(settings.needs, Needs::default());
    }

    #[test]
    fn needs_follow_the_policies() {
        let with_ip = POLICY.replace(
            "  - to: [{operation: {methods: [GET]}}]",
            "  - from: [{source: {ipBlocks: [10.0.0.0/8]}}]\n    when: [{key: connection.sni, values: [a]}]",
        );
        let settings = load(with_ip.as_bytes()).unwrap();
        assert_eq!(
            settings.needs,
            Needs {
                headers: vec![],
                source_ip: true,
                destination_ip: false,
                sni: true
            }
        );
        let dest = POLICY.replace(
            "  - to: [{operation: {methods: [GET]}}]",
            "  - when: [{key: destination.ip, values: [10.0.0.1]}]",
        );
        assert!(load(dest.as_bytes()).unwrap().needs.destination_ip);
        let header = POLICY.replace(
            "  - to: [{operation: {methods: [GET]}}]",
            "  - when: [{key: \"request.headers[X-Team]\", values: [a]}]",
        );
        assert_eq!(
            load(header.as_bytes()).unwrap().needs.headers,
            vec!["x-team"]
        );
    }

    #[test]
    fn errors_are_located() {
        let bad = POLICY.replace("methods: [GET]", "methods: [\"\"]");
        let err = load(bad.as_bytes()).unwrap_err();
        assert!(err.contains("plugin.yaml:"), "{err}");
        let err = load(b"{\"files\": 3}").unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = load(b"{\"fils\": {}}").unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
        let err = load(b"   ").unwrap_err();
        assert!(err.contains("no policies"), "{err}");
    }
}
