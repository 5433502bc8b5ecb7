//! Mesh settings: the `istio` ConfigMap (`data.mesh`, a YAML text) or an IstioOperator's
//! `spec.meshConfig`.

use crate::diagnostic::{Diagnostic, Location};
use crate::model::{MeshConfig, OutboundMode, PathNormalization};
use crate::source::{parse_documents, Node, Value};

use super::super::decode::{self, map, Cx, Map};
use super::super::Doc;
use super::enum_field;

/// Reads the settings of one mesh-config document into `mesh`, over what is already there.
pub(super) fn import(cx: &mut Cx, doc: &Doc, mesh: &mut MeshConfig) {
    let before = mesh.clone();
    let read_from = if doc.kind == "ConfigMap" {
        config_map(cx, doc, mesh)
    } else {
        istio_operator(cx, doc, mesh)
    };
    let Some((node, location)) = read_from else {
        return;
    };
    if let Some(previous) = &before.source {
        let mut compared = mesh.clone();
        compared.source = before.source.clone();
        if compared != before {
            cx.warn(
                node,
                "",
                format!(
                    "mesh settings were already read from {previous}; these settings \
                     override them where they differ"
                ),
            );
        }
    }
    mesh.source = Some(location);
}

/// `istio` / `istio-<revision>` ConfigMap. ConfigMaps of that name without `data.mesh`
/// (such as `istio-ca-root-cert`) are ignored.
fn config_map<'d>(
    cx: &mut Cx,
    doc: &'d Doc,
    mesh: &mut MeshConfig,
) -> Option<(&'d Node, Location)> {
    map(
        cx,
        doc.node,
        "",
        &[
            "apiVersion",
            "kind",
            "metadata",
            "data",
            "binaryData",
            "immutable",
        ],
    );
    let data = doc.node.get("data").filter(|n| n.value != Value::Null)?;
    let data = map(cx, data, "data", &["*"])?;
    let node = data.get("mesh")?;
    let text = decode::string(cx, node, "data.mesh")?;
    // A block scalar (`mesh: |`) starts on a later line than its key, and the tree then
    // points at its first content character: inner positions map exactly. A quoted or
    // plain scalar has escapes and folding, so inner positions are only named in messages.
    let key_line = match &data.node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.name == "mesh")
            .map_or(node.line, |(k, _)| k.line),
        _ => node.line,
    };
    let exact = node.line > key_line;
    let mut inner_diags: Vec<Diagnostic> = Vec::new();
    match parse_documents(cx.file, &text) {
        Err(diag) => {
            let message = diag
                .message
                .strip_prefix("invalid YAML: ")
                .unwrap_or(&diag.message);
            inner_diags.push(Diagnostic {
                resource: cx.resource.clone(),
                field: Some("data.mesh".to_string()),
                message: format!("invalid YAML in `data.mesh`: {message}"),
                help: None,
                code: None,
                ..diag.clone()
            });
        }
        Ok(docs) => {
            let mut inner = Cx {
                file: cx.file,
                resource: cx.resource.clone(),
                diags: &mut inner_diags,
            };
            if let Some(extra) = docs.get(1) {
                inner.error(
                    extra,
                    "data.mesh",
                    "`data.mesh` must hold one YAML document",
                );
            }
            if let Some(root) = docs.first() {
                if let Some(settings) = map(&mut inner, root, "data.mesh", &["*"]) {
                    settings_from(&mut inner, &settings, mesh);
                }
            }
        }
    }
    for mut diag in inner_diags {
        let (line, column) = (diag.location.line, diag.location.column);
        if exact {
            diag.location.line = node.line.saturating_add(line.saturating_sub(1));
            diag.location.column = node.column.saturating_add(column.saturating_sub(1));
        } else {
            diag.location.line = node.line;
            diag.location.column = node.column;
            diag.message = format!(
                "{} (line {line}, column {column} of the `data.mesh` text)",
                diag.message
            );
        }
        cx.diags.push(diag);
    }
    Some((node, node.location(cx.file)))
}

/// IstioOperator `spec.meshConfig`; every other field of the operator is ignored.
fn istio_operator<'d>(
    cx: &mut Cx,
    doc: &'d Doc,
    mesh: &mut MeshConfig,
) -> Option<(&'d Node, Location)> {
    super::top_level(cx, doc);
    let spec = doc.spec(cx, &["*"], false)?;
    let settings = spec.map(cx, "meshConfig", &["*"])?;
    settings_from(cx, &settings, mesh);
    Some((settings.node, settings.node.location(cx.file)))
}

/// The modelled MeshConfig fields. Other MeshConfig fields (there are hundreds) are
/// accepted without a look; the small messages walked here reject unknown keys, because a
/// typo such as `mdoe` would silently keep `ALLOW_ANY`.
fn settings_from(cx: &mut Cx, settings: &Map, mesh: &mut MeshConfig) {
    if let Some(policy) = settings.map(cx, "outboundTrafficPolicy", &["mode", "egressProxy"]) {
        match enum_field(
            cx,
            &policy,
            "mode",
            &["ALLOW_ANY", "REGISTRY_ONLY", "ALLOW_ANY_DYNAMIC_DNS"],
        )
        .as_deref()
        {
            Some("ALLOW_ANY") => mesh.outbound = OutboundMode::AllowAny,
            Some("REGISTRY_ONLY") => mesh.outbound = OutboundMode::RegistryOnly,
            Some("ALLOW_ANY_DYNAMIC_DNS") => mesh.outbound = OutboundMode::AllowAnyDynamicDns,
            _ => {}
        }
        if let Some(proxy) = super::sidecar::egress_proxy(cx, &policy) {
            mesh.egress_proxy = Some(proxy);
        }
    }
    for (key, target) in [
        (
            "defaultServiceExportTo",
            &mut mesh.default_service_export_to,
        ),
        (
            "defaultVirtualServiceExportTo",
            &mut mesh.default_virtual_service_export_to,
        ),
        (
            "defaultDestinationRuleExportTo",
            &mut mesh.default_destination_rule_export_to,
        ),
    ] {
        if settings.get(key).is_some() {
            *target = settings
                .str_list(cx, key)
                .into_iter()
                .map(|i| i.value)
                .collect();
        }
    }
    // A loaded mesh config declares its providers (none written: none declared).
    let mut providers = Vec::new();
    for (node, path) in settings.list(cx, "extensionProviders") {
        if let Some(provider) = map(cx, node, &path, &["*"]) {
            match provider.str(cx, "name").filter(|n| !n.is_empty()) {
                Some(name) => providers.push(name),
                None => cx.error(node, &provider.path_of("name"), "missing field `name`"),
            }
        }
    }
    match &mut mesh.extension_providers {
        Some(existing) => existing.extend(providers),
        None => mesh.extension_providers = Some(providers),
    }
    if let Some(root) = settings.str(cx, "rootNamespace").filter(|s| !s.is_empty()) {
        mesh.root_namespace = root;
    }
    if let Some(domain) = settings.str(cx, "trustDomain").filter(|s| !s.is_empty()) {
        mesh.trust_domain = domain;
    }
    if settings.get("trustDomainAliases").is_some() {
        mesh.trust_domain_aliases = settings
            .str_list(cx, "trustDomainAliases")
            .into_iter()
            .map(|item| item.value)
            .collect();
    }
    if let Some(normalization) = settings.map(cx, "pathNormalization", &["normalization"]) {
        match enum_field(
            cx,
            &normalization,
            "normalization",
            &[
                "NONE",
                "BASE",
                "DEFAULT",
                "MERGE_SLASHES",
                "DECODE_AND_MERGE_SLASHES",
            ],
        )
        .as_deref()
        {
            Some("NONE") => mesh.path_normalization = PathNormalization::None,
            Some("BASE" | "DEFAULT") => mesh.path_normalization = PathNormalization::Base,
            Some("MERGE_SLASHES") => mesh.path_normalization = PathNormalization::MergeSlashes,
            Some("DECODE_AND_MERGE_SLASHES") => {
                mesh.path_normalization = PathNormalization::DecodeAndMergeSlashes;
            }
            _ => {}
        }
    }
}
