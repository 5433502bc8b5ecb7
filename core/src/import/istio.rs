//! Istio resources: AuthorizationPolicy, ServiceEntry, DestinationRule, VirtualService,
//! Gateway (both APIs) and mesh settings.
//!
//! Every resource is walked through the located tree with the [`decode`](super::decode)
//! helpers, so each problem carries file, line, column, resource and field path, and every
//! problem of a load is reported, not only the first.

mod authz;
mod gateway;
mod mesh;
mod networking;
mod sidecar;
#[cfg(test)]
mod tests;

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::{GatewayKind, MeshConfig, Model, ResourceRef, Vendor};

use super::decode::{self, map, Cx, Map};
use super::Doc;

/// Label that points a ServiceEntry (or every ServiceEntry of a namespace) at a waypoint.
const USE_WAYPOINT: &str = "istio.io/use-waypoint";
/// Namespace of the waypoint named by [`USE_WAYPOINT`] (default: the resource's own).
const USE_WAYPOINT_NAMESPACE: &str = "istio.io/use-waypoint-namespace";
/// `istio.io/use-waypoint: none` opts a ServiceEntry out of its namespace's waypoint. Until
/// [`link`] runs, such an entry carries a gateway reference of this kind as a marker.
const WAYPOINT_OPT_OUT: &str = "<istio.io/use-waypoint: none>";

/// Whether the document carries mesh settings (the `istio` ConfigMap or an IstioOperator).
pub(crate) fn is_mesh_config(doc: &Doc) -> bool {
    (doc.group.is_empty()
        && doc.kind == "ConfigMap"
        && (doc.meta.name == "istio" || doc.meta.name.starts_with("istio-")))
        || (doc.group == "install.istio.io" && doc.kind == "IstioOperator")
}

/// Reads mesh settings into `mesh`.
pub(crate) fn import_mesh_config(cx: &mut Cx, doc: &Doc, mesh: &mut MeshConfig) {
    mesh::import(cx, doc, mesh);
}

/// Imports the document if it is an Istio kind; returns whether it was.
pub(crate) fn import(cx: &mut Cx, doc: &Doc, model: &mut Model) -> bool {
    match (doc.group.as_str(), doc.kind.as_str()) {
        ("security.istio.io", "AuthorizationPolicy") => {
            if version_ok(cx, doc, &["v1", "v1beta1"]) {
                authz::import(cx, doc, model);
            }
        }
        ("networking.istio.io", "ServiceEntry") => {
            if version_ok(cx, doc, NETWORKING_VERSIONS) {
                networking::service_entry(cx, doc, model);
            }
        }
        ("networking.istio.io", "DestinationRule") => {
            if version_ok(cx, doc, NETWORKING_VERSIONS) {
                networking::destination_rule(cx, doc, model);
            }
        }
        ("networking.istio.io", "VirtualService") => {
            if version_ok(cx, doc, NETWORKING_VERSIONS) {
                networking::virtual_service(cx, doc, model);
            }
        }
        ("networking.istio.io", "Gateway") => {
            if version_ok(cx, doc, NETWORKING_VERSIONS) {
                gateway::istio_gateway(cx, doc, model);
            }
        }
        ("networking.istio.io", "Sidecar") => {
            if version_ok(cx, doc, NETWORKING_VERSIONS) {
                sidecar::sidecar(cx, doc, model);
            }
        }
        ("security.istio.io", "RequestAuthentication") => {
            if version_ok(cx, doc, &["v1", "v1beta1"]) {
                sidecar::request_authentication(cx, doc, model);
            }
        }
        ("gateway.networking.k8s.io", "Gateway") => {
            if version_ok(cx, doc, &["v1", "v1beta1"]) {
                gateway::kubernetes_gateway(cx, doc, model);
            }
        }
        _ => return false,
    }
    true
}

/// Versions of the `networking.istio.io` kinds.
const NETWORKING_VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha3"];

/// Resolves references between Istio resources once everything is loaded: the waypoint of
/// every ServiceEntry (its own `istio.io/use-waypoint` label, else its namespace's).
pub(crate) fn link(model: &mut Model, diags: &mut Vec<Diagnostic>) {
    let Model {
        services,
        gateways,
        namespaces,
        ..
    } = model;
    for svc in services
        .iter_mut()
        .filter(|s| s.vendor == Vendor::Istio && s.id.kind == "ServiceEntry")
    {
        let mut via_namespace = false;
        match &svc.gateway {
            Some(marker) if marker.kind == WAYPOINT_OPT_OUT => {
                svc.gateway = None;
                continue;
            }
            Some(_) => {}
            None => {
                let labels = namespaces.get(&svc.id.namespace);
                if let Some(name) = labels.and_then(|l| l.get(USE_WAYPOINT)) {
                    if !name.is_empty() && name != "none" {
                        let namespace = labels
                            .and_then(|l| l.get(USE_WAYPOINT_NAMESPACE))
                            .filter(|ns| !ns.is_empty())
                            .unwrap_or(&svc.id.namespace);
                        svc.gateway = Some(ResourceRef::new("Gateway", namespace, name));
                        via_namespace = true;
                    }
                }
            }
        }
        let Some(target) = &svc.gateway else {
            continue;
        };
        let origin = if via_namespace {
            format!("namespace {} (label `{USE_WAYPOINT}`)", svc.id.namespace)
        } else {
            format!("label `{USE_WAYPOINT}`")
        };
        let message = match gateways.iter().find(|g| &g.id == target) {
            None => Some(format!(
                "waypoint Gateway {}/{} named by {origin} is not among the loaded resources; \
                 assuming it exists",
                target.namespace, target.name
            )),
            Some(g) if g.kind != GatewayKind::Waypoint => Some(format!(
                "Gateway {}/{} named by {origin} is not a waypoint (gatewayClassName \
                 `istio-waypoint`)",
                target.namespace, target.name
            )),
            Some(_) => None,
        };
        if let Some(message) = message {
            diags.push(Diagnostic {
                severity: Severity::Warning,
                location: svc.location.clone(),
                resource: Some(svc.id.to_string()),
                field: Some(if via_namespace {
                    "metadata.namespace".to_string()
                } else {
                    format!("metadata.labels.{USE_WAYPOINT}")
                }),
                message,
            });
        }
    }
}

/// Checks the `apiVersion` of a known kind; reports an unsupported one.
fn version_ok(cx: &mut Cx, doc: &Doc, versions: &[&str]) -> bool {
    if versions.contains(&doc.version.as_str()) {
        return true;
    }
    let node = doc.node.get("apiVersion").unwrap_or(doc.node);
    let expected: Vec<String> = versions
        .iter()
        .map(|v| format!("`{}/{v}`", doc.group))
        .collect();
    cx.error(
        node,
        "apiVersion",
        format!(
            "unsupported apiVersion `{}/{}` for {}, expected one of {}",
            doc.group,
            doc.version,
            doc.kind,
            expected.join(", ")
        ),
    );
    false
}

/// Checks the top-level keys of a resource.
fn top_level(cx: &mut Cx, doc: &Doc) {
    map(
        cx,
        doc.node,
        "",
        &["apiVersion", "kind", "metadata", "spec", "status"],
    );
}

/// A string field restricted to `allowed` values.
fn enum_field(cx: &mut Cx, m: &Map, key: &str, allowed: &[&str]) -> Option<String> {
    let node = m.get(key)?;
    let path = m.path_of(key);
    let value = decode::string(cx, node, &path)?;
    if allowed.contains(&value.as_str()) {
        return Some(value);
    }
    let expected: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
    cx.error(
        node,
        &path,
        format!(
            "unknown value `{value}` for `{key}`, expected one of {}",
            expected.join(", ")
        ),
    );
    None
}

/// Whether `key` holds a non-empty list (written, not just present).
fn written(m: &Map, key: &str) -> bool {
    match m.get(key).map(|n| &n.value) {
        Some(crate::source::Value::Seq(items)) => !items.is_empty(),
        Some(_) => true,
        None => false,
    }
}
