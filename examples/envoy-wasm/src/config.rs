//! The plugin configuration: which policies to compile and how to find the source identity.
//!
//! Envoy hands the plugin its configuration as bytes (`configuration` in the Wasm filter
//! config, usually a `google.protobuf.StringValue`). Two forms are accepted:
//!
//! * a JSON object (see [`PluginConfig`]), for example
//!   `{"files": {"authz.yaml": "apiVersion: ..."}, "source_header": "x-egress-source"}`;
//! * anything else is taken as raw policy YAML (one multi-document text) with default
//!   settings.

use std::collections::{BTreeMap, BTreeSet};

use egress_policy::model::{Condition, Model};
use egress_policy::request::Workload;
use egress_policy::{Engine, Severity};
use serde::Deserialize;

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
    /// The enforcing proxy (namespace and pod labels). When absent, the engine enforces
    /// at the gateway the registry routes the host to.
    #[serde(default)]
    pub workload: Option<Workload>,
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
    /// See [`PluginConfig::workload`].
    pub workload: Option<Workload>,
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
    } else {
        PluginConfig {
            yaml: Some(text.to_string()),
            rewrite_path: true,
            ..PluginConfig::default()
        }
    };
    compile(config)
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
        workload: config.workload,
        source_header: config.source_header.map(|h| h.to_ascii_lowercase()),
        use_xfcc: config.use_xfcc,
        port: config.port,
        rewrite_path: config.rewrite_path,
        warnings,
    })
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
