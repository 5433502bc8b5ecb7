//! Tests of the Istio importer, through the public loading API.

use crate::diagnostic::{Diagnostic, Severity};
use crate::import::load_str;
use crate::model::*;

mod authz;
mod authz_validation;
mod networking;
mod registry;

const FILE: &str = "istio.yaml";

fn load(text: &str) -> Model {
    match load_str(FILE, text) {
        Ok(model) => model,
        Err(err) => panic!("unexpected load failure:\n{err}"),
    }
}

/// Every error of a failing load.
fn errors(text: &str) -> Vec<Diagnostic> {
    match load_str(FILE, text) {
        Ok(_) => panic!("expected the load to fail"),
        Err(err) => err
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect(),
    }
}

fn warnings(model: &Model) -> Vec<&Diagnostic> {
    model
        .warnings
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect()
}

/// 1-based line and column of the `nth` occurrence (0-based) of `needle` in `text`.
fn pos_nth(text: &str, needle: &str, nth: usize) -> (u32, u32) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in text"))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line as u32, column as u32)
}

fn pos(text: &str, needle: &str) -> (u32, u32) {
    pos_nth(text, needle, 0)
}

/// Finds the diagnostic for `field` and checks its position, resource and message.
#[track_caller]
fn expect<'a>(
    diags: &'a [Diagnostic],
    field: &str,
    at: (u32, u32),
    resource: &str,
    message: &str,
) -> &'a Diagnostic {
    let found = diags.iter().find(|d| {
        d.field.as_deref() == Some(field)
            && d.message.contains(message)
            && d.resource.as_deref() == Some(resource)
    });
    let Some(diag) = found else {
        panic!(
            "no diagnostic for `{field}` containing `{message}`; got:\n{}",
            diags
                .iter()
                .map(|d| format!("  {d} [field {:?}]", d.field))
                .collect::<Vec<_>>()
                .join("\n")
        );
    };
    assert_eq!(diag.location.file, FILE);
    assert_eq!(
        (diag.location.line, diag.location.column),
        at,
        "position of {diag}"
    );
    assert_eq!(diag.resource.as_deref(), Some(resource), "{diag}");
    diag
}

fn exact(text: &str) -> StringPattern {
    StringPattern::Exact(text.to_string())
}

fn policy<'m>(model: &'m Model, name: &str) -> &'m Policy {
    model
        .policies
        .iter()
        .find(|p| p.id.name == name)
        .unwrap_or_else(|| panic!("no policy {name}"))
}

// ---------------------------------------------------------------------------------------
// Mesh settings

#[test]
fn mesh_config_from_config_map() {
    let text = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    accessLogFile: /dev/stdout
    defaultConfig:
      discoveryAddress: istiod.istio-system.svc:15012
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
    rootNamespace: mesh-root
    trustDomain: td1
    trustDomainAliases: [old-td, cluster.local]
    pathNormalization:
      normalization: MERGE_SLASHES
  meshNetworks: 'networks: {}'
"#;
    let model = load(text);
    let mesh = &model.mesh;
    assert_eq!(mesh.outbound, OutboundMode::RegistryOnly);
    assert_eq!(mesh.root_namespace, "mesh-root");
    assert_eq!(mesh.trust_domain, "td1");
    assert_eq!(mesh.trust_domain_aliases, vec!["old-td", "cluster.local"]);
    assert_eq!(mesh.path_normalization, PathNormalization::MergeSlashes);
    let source = mesh.source.as_ref().expect("source");
    assert_eq!((source.line, source.column), pos(text, "accessLogFile"));
    assert!(warnings(&model).is_empty(), "{:?}", model.warnings);
}

#[test]
fn mesh_config_defaults_and_other_values() {
    let model = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    assert_eq!(model.mesh, MeshConfig::default());
    for (written, outbound, normalization) in [
        ("ALLOW_ANY", OutboundMode::AllowAny, "NONE"),
        (
            "ALLOW_ANY_DYNAMIC_DNS",
            OutboundMode::AllowAnyDynamicDns,
            "DEFAULT",
        ),
        ("REGISTRY_ONLY", OutboundMode::RegistryOnly, "BASE"),
        (
            "ALLOW_ANY",
            OutboundMode::AllowAny,
            "DECODE_AND_MERGE_SLASHES",
        ),
    ] {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\n\
             data:\n  mesh: |\n    outboundTrafficPolicy: {{mode: {written}}}\n    \
             pathNormalization: {{normalization: {normalization}}}\n"
        );
        let mesh = load(&text).mesh;
        assert_eq!(mesh.outbound, outbound);
        let expected = match normalization {
            "NONE" => PathNormalization::None,
            "DECODE_AND_MERGE_SLASHES" => PathNormalization::DecodeAndMergeSlashes,
            _ => PathNormalization::Base,
        };
        assert_eq!(mesh.path_normalization, expected);
        assert_eq!(mesh.trust_domain, "cluster.local");
        assert_eq!(mesh.root_namespace, "istio-system");
    }
}

#[test]
fn mesh_config_errors_point_into_the_block_scalar() {
    let text = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    outboundTrafficPolicy:
      mode: DENY_ALL
      mdoe: REGISTRY_ONLY
    pathNormalization:
      normalization: WEIRD
    trustDomainAliases: ["", a]
"#;
    let diags = errors(text);
    let resource = "ConfigMap istio-system/istio";
    expect(
        &diags,
        "data.mesh.outboundTrafficPolicy.mode",
        pos(text, "DENY_ALL"),
        resource,
        "unknown value `DENY_ALL` for `mode`, expected one of `ALLOW_ANY`",
    );
    expect(
        &diags,
        "data.mesh.outboundTrafficPolicy.mdoe",
        pos(text, "mdoe"),
        resource,
        "unknown field `mdoe`",
    );
    expect(
        &diags,
        "data.mesh.pathNormalization.normalization",
        pos(text, "WEIRD"),
        resource,
        "unknown value `WEIRD`",
    );
    expect(
        &diags,
        "data.mesh.trustDomainAliases[0]",
        pos(text, "\"\""),
        resource,
        "empty string",
    );
    assert_eq!(diags.len(), 4, "{diags:?}");
}

#[test]
fn mesh_config_in_a_quoted_string_names_the_inner_position() {
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n\
                data:\n  mesh: \"trustDomain: td\\noutboundTrafficPolicy: {mode: NOPE}\"\n";
    let diags = errors(text);
    let diag = expect(
        &diags,
        "data.mesh.outboundTrafficPolicy.mode",
        pos(text, "\"trustDomain"),
        "ConfigMap istio-system/istio",
        "unknown value `NOPE`",
    );
    assert!(
        diag.message
            .ends_with("(line 2, column 31 of the `data.mesh` text)"),
        "{}",
        diag.message
    );
}

#[test]
fn mesh_config_with_broken_yaml() {
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n\
                data:\n  mesh: |\n    trustDomain: td\n    outboundTrafficPolicy: [mode\n";
    let diags = errors(text);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let diag = &diags[0];
    assert_eq!(diag.field.as_deref(), Some("data.mesh"));
    assert!(
        diag.message.starts_with("invalid YAML in `data.mesh`"),
        "{diag}"
    );
    assert!(diag.location.line >= 6, "{diag}");
    assert_eq!(
        diag.resource.as_deref(),
        Some("ConfigMap istio-system/istio")
    );
}

#[test]
fn mesh_config_from_istio_operator() {
    let text = r#"apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  name: control-plane
  namespace: istio-system
spec:
  profile: default
  components:
    egressGateways:
    - name: istio-egressgateway
      enabled: true
  values:
    global: {istioNamespace: istio-system}
  meshConfig:
    enableTracing: true
    defaultProviders: {metrics: [prometheus]}
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
    trustDomain: corp.example
    pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES}
"#;
    let model = load(text);
    assert_eq!(model.mesh.outbound, OutboundMode::RegistryOnly);
    assert_eq!(model.mesh.trust_domain, "corp.example");
    assert_eq!(
        model.mesh.path_normalization,
        PathNormalization::DecodeAndMergeSlashes
    );
    let source = model.mesh.source.as_ref().expect("source");
    assert_eq!((source.line, source.column), pos(text, "enableTracing"));

    let bad = text.replace("mode: REGISTRY_ONLY", "mode: registry_only");
    let diags = errors(&bad);
    expect(
        &diags,
        "spec.meshConfig.outboundTrafficPolicy.mode",
        pos(&bad, "registry_only"),
        "IstioOperator istio-system/control-plane",
        "unknown value `registry_only`",
    );
}

#[test]
fn mesh_config_sources_that_disagree_are_reported() {
    let text = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: istio-ca-root-cert, namespace: istio-system}
data:
  root-cert.pem: "x"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: a
---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: op, namespace: istio-system}
spec:
  meshConfig: {trustDomain: b}
"#;
    let model = load(text);
    assert_eq!(model.mesh.trust_domain, "b");
    let warns = warnings(&model);
    assert_eq!(warns.len(), 1, "{warns:?}");
    assert!(warns[0]
        .message
        .contains("already read from istio.yaml:12:5"));
    // Agreeing sources are not worth a warning.
    let same = text.replace("{trustDomain: b}", "{trustDomain: a}");
    assert!(warnings(&load(&same)).is_empty());
}
