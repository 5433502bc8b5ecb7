//! Compiled-policy bundles: the imported [`Model`] as versioned JSON, so that a program
//! that only decides (a browser, an edge worker) loads policies without the YAML parser and
//! the importers — like OPA's compiled bundles. `egress-policy compile` writes one; the
//! core's `yaml` feature is not needed to read one.
//!
//! The bundle is `{"format": "egress-policy-bundle", "version": 1, "engine": "0.1.0",
//! "model": {...}}`; `model` is the model's serde form (every field the evaluators read,
//! including the rules' origins and the registry's addresses; enums externally tagged, as
//! `{"variant": value}`: their deserializers need no buffering, which keeps the bundle
//! module small). Reading one fails closed:
//! another format version or another engine version is refused (the model's meaning is
//! the engine's: compile again with the engine that decides), unknown fields are refused,
//! and values with a validated syntax (paths, host patterns, IP blocks, VirtualService
//! regexes) are validated again.
//!
//! Not in a bundle: the source texts and their parse trees ([`super::SourceMap`]). An
//! engine built from a bundle decides and explains like one loaded with
//! [`crate::Loader::keep_sources`] off: every location its model carries (each resource's
//! and each rule's `file:line:column`) is kept, [`crate::Engine::sources`] is empty,
//! [`crate::Engine::locate`] answers `None`, and an explanation locates a failing field at
//! its rule.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Labels, Model, Scope, UriMatch};
use crate::diagnostic::{Diagnostic, Location};
use crate::error::{Error, Result};

/// The `format` of every bundle.
pub const BUNDLE_FORMAT: &str = "egress-policy-bundle";

/// The bundle layout this engine writes and reads. Bumped whenever the model's serde form
/// changes.
pub const BUNDLE_VERSION: u32 = 1;

/// The engine version a bundle records and must match.
const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Serialize)]
struct BundleOut<'a> {
    format: &'static str,
    version: u32,
    engine: &'static str,
    model: &'a Model,
}

/// The header only, read leniently first so that a bundle of another version is refused
/// with a message about versions rather than about the fields it does not share.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<serde_json::Value>,
    engine: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleIn {
    #[allow(dead_code)] // checked through `Header`
    format: String,
    #[allow(dead_code)]
    version: u32,
    #[allow(dead_code)]
    engine: String,
    model: Model,
}

impl Model {
    /// The model as a compiled-policy bundle (JSON text), for [`Model::from_bundle_json`] /
    /// [`crate::Engine::from_bundle_json`].
    ///
    /// ```
    /// let text = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
    ///             metadata: {name: p, namespace: istio-egress}\nspec: {}\n";
    /// let model = egress_policy::import::load_str("p.yaml", text).unwrap();
    /// let bundle = model.to_bundle_json().unwrap();
    /// let back = egress_policy::model::Model::from_bundle_json("p.bundle.json", &bundle).unwrap();
    /// assert_eq!(back.policies, model.policies);
    /// assert!(back.sources.is_empty());
    /// ```
    pub fn to_bundle_json(&self) -> Result<String> {
        let bundle = BundleOut {
            format: BUNDLE_FORMAT,
            version: BUNDLE_VERSION,
            engine: ENGINE_VERSION,
            model: self,
        };
        serde_json::to_string(&bundle).map_err(|e| {
            invalid(
                Location::start_of("bundle"),
                format!("cannot serialize: {e}"),
            )
        })
    }

    /// Reads a bundle written by [`Model::to_bundle_json`]; `name` is the file name errors
    /// show. Fails with [`Error::Invalid`] (one located diagnostic) for text that is not a
    /// bundle, a bundle of another format version or engine version, an unknown or missing
    /// field, or an invalid value.
    pub fn from_bundle_json(name: &str, text: &str) -> Result<Model> {
        let header: Header =
            serde_json::from_str(text).map_err(|e| json_error(name, &e, "not a bundle"))?;
        let at = Location::start_of(name);
        if header.format.as_deref() != Some(BUNDLE_FORMAT) {
            return Err(invalid(
                at,
                format!(
                    "not a policy bundle: `format` is {}, expected `{BUNDLE_FORMAT}` \
                     (write one with `egress-policy compile`)",
                    header
                        .format
                        .map_or_else(|| "missing".to_string(), |f| format!("`{f}`"))
                ),
            ));
        }
        let version = header.version.as_ref().and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(BUNDLE_VERSION)) {
            return Err(invalid(
                at,
                format!(
                    "bundle format version {} is not supported: this engine ({ENGINE_VERSION}) \
                     reads version {BUNDLE_VERSION}; compile the policies again with it",
                    header
                        .version
                        .map_or_else(|| "missing".to_string(), |v| v.to_string())
                ),
            ));
        }
        if header.engine.as_deref() != Some(ENGINE_VERSION) {
            return Err(invalid(
                at,
                format!(
                    "bundle compiled by egress-policy {}, this engine is {ENGINE_VERSION}: \
                     compile the policies again with it",
                    header.engine.as_deref().unwrap_or("(unknown)")
                ),
            ));
        }
        let bundle: BundleIn =
            serde_json::from_str(text).map_err(|e| json_error(name, &e, "invalid bundle"))?;
        let mut model = bundle.model;
        validate_regexes(name, &model)?;
        share_selectors(&mut model);
        Ok(model)
    }
}

fn invalid(at: Location, message: String) -> Error {
    Error::Invalid(vec![Diagnostic::error(at, message)])
}

fn json_error(name: &str, error: &serde_json::Error, what: &str) -> Error {
    let at = Location {
        file: name.to_string(),
        line: u32::try_from(error.line()).unwrap_or(u32::MAX).max(1),
        column: u32::try_from(error.column()).unwrap_or(u32::MAX).max(1),
    };
    invalid(at, format!("{what}: {error}"))
}

/// VirtualService regexes must compile as the importer requires (the compiled matcher
/// would otherwise treat them as never matching, silently).
fn validate_regexes(name: &str, model: &Model) -> Result<()> {
    for vs in &model.virtual_services {
        let matches = vs.http.iter().flat_map(|route| &route.matches);
        let values = matches.flat_map(|m| m.uri.iter().chain(m.headers.iter().map(|(_, u)| u)));
        for value in values {
            if let UriMatch::Regex(re) = value {
                if let Err(err) = regex::Regex::new(re) {
                    let at = vs
                        .location
                        .clone()
                        .unwrap_or_else(|| Location::start_of(name));
                    let reason = err.to_string();
                    let reason = reason.lines().last().unwrap_or_default().trim();
                    return Err(invalid(
                        at,
                        format!("{}: invalid regex `{re}`: {reason}", vs.id),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Gives equal selector label maps one allocation again, as the loader does.
fn share_selectors(model: &mut Model) {
    let mut shared: BTreeMap<Labels, Arc<Labels>> = BTreeMap::new();
    for policy in &mut model.policies {
        if let Scope::Selector { match_labels } = &mut policy.scope {
            let one = shared
                .entry(Labels::clone(match_labels))
                .or_insert_with(|| Arc::clone(match_labels));
            *match_labels = Arc::clone(one);
        }
    }
}

/// Serde for maps whose keys are not strings (JSON objects need string keys): a list of
/// `[key, value]` pairs.
pub(super) mod map_as_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub(crate) fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let pairs: Vec<(K, V)> = Vec::deserialize(deserializer)?;
        Ok(pairs.into_iter().collect())
    }
}

/// Serde for the model's warnings: each [`Diagnostic`] with its location's fields inline,
/// as its own JSON form has them, without `#[serde(flatten)]` (whose deserializer buffers
/// every field) and with unknown fields refused.
pub(super) mod warnings {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::diagnostic::{Diagnostic, Location, Severity};
    use crate::tools::LintCode;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        code: Option<LintCode>,
        severity: Severity,
        file: String,
        line: u32,
        column: u32,
        resource: Option<String>,
        field: Option<String>,
        message: String,
        help: Option<String>,
    }

    pub(crate) fn serialize<S: Serializer>(
        warnings: &[Diagnostic],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(warnings.iter().map(|d| Wire {
            code: d.code,
            severity: d.severity,
            file: d.location.file.clone(),
            line: d.location.line,
            column: d.location.column,
            resource: d.resource.clone(),
            field: d.field.clone(),
            message: d.message.clone(),
            help: d.help.clone(),
        }))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Diagnostic>, D::Error> {
        let wires: Vec<Wire> = Vec::deserialize(deserializer)?;
        Ok(wires
            .into_iter()
            .map(|w| Diagnostic {
                code: w.code,
                severity: w.severity,
                location: Location {
                    file: w.file,
                    line: w.line,
                    column: w.column,
                },
                resource: w.resource,
                field: w.field,
                message: w.message,
                help: w.help,
            })
            .collect())
    }
}
