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
mod road_check;
mod routes;
mod sidecar;
#[cfg(test)]
mod tests;

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::{GatewayKind, MeshConfig, Model, ResourceRef, Vendor};

use super::decode::{require_version, Cx};
// The helpers the decoders of this module's files share with the other vendors.
use super::decode::{enum_field, top_level, written};
use super::{Doc, Importer};

/// Label that points a ServiceEntry (or every ServiceEntry of a namespace) at a waypoint.
const USE_WAYPOINT: &str = "istio.io/use-waypoint";
/// Namespace of the waypoint named by [`USE_WAYPOINT`] (default: the resource's own).
const USE_WAYPOINT_NAMESPACE: &str = "istio.io/use-waypoint-namespace";

/// What a ServiceEntry's own `istio.io/use-waypoint` label says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaypointUse {
    /// The entry's traffic goes through this waypoint Gateway.
    Named(ResourceRef),
    /// `none`: the entry opts out of its namespace's waypoint.
    OptOut,
}

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

/// The importer of Istio kinds (and of the Kubernetes Gateway API's `Gateway`). Between
/// documents it keeps what [`link`](Importer::link) resolves: route parents and the
/// ServiceEntries' own waypoint labels.
#[derive(Debug, Default)]
pub(crate) struct IstioImporter {
    /// Gateway API mesh routes whose parents' hosts are filled in at link time.
    pending_routes: Vec<routes::PendingParent>,
    /// ServiceEntries (index in `model.services`) whose own `istio.io/use-waypoint` label
    /// names a waypoint or opts out.
    waypoint_uses: Vec<(usize, WaypointUse)>,
    /// GatewayClass name → its `istio.io/waypoint-for` label.
    class_traffic: std::collections::BTreeMap<String, crate::model::WaypointFor>,
    /// Waypoints without their own `istio.io/waypoint-for` label, with their class: the
    /// class's label, if any, applies (pilot/pkg/serviceregistry/ambient/waypoints.go:
    /// default `service`, then the GatewayClass label, then the Gateway label).
    unlabelled_waypoints: Vec<(ResourceRef, String)>,
    /// The selector label maps of the AuthorizationPolicies read so far: policies with
    /// the same labels share one map.
    selectors: std::collections::HashSet<std::sync::Arc<crate::model::Labels>>,
}

/// A decoder of one Istio kind.
type Decoder = fn(&mut Cx, &Doc, &mut Model);

impl Importer for IstioImporter {
    fn import(&mut self, cx: &mut Cx, doc: &Doc, model: &mut Model) -> bool {
        if doc.group == "gateway.networking.k8s.io"
            && matches!(
                doc.kind.as_str(),
                "HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute"
            )
        {
            let versions: &[&str] = match doc.kind.as_str() {
                "HTTPRoute" | "GRPCRoute" => &["v1", "v1beta1", "v1alpha2"],
                _ => &["v1alpha2", "v1alpha3", "v1"],
            };
            if require_version(cx, doc, versions) {
                routes::route(cx, doc, model, &mut self.pending_routes);
            }
            return true;
        }
        if doc.group == "gateway.networking.k8s.io" && doc.kind == "GatewayClass" {
            if require_version(cx, doc, &["v1", "v1beta1"]) {
                if let Some(traffic) = gateway::gateway_class(cx, doc) {
                    self.class_traffic.insert(doc.meta.name.clone(), traffic);
                }
            }
            return true;
        }
        if doc.group == "gateway.networking.k8s.io" && doc.kind == "Gateway" {
            if require_version(cx, doc, &["v1", "v1beta1"]) {
                if let Some(unlabelled) = gateway::kubernetes_gateway(cx, doc, model) {
                    self.unlabelled_waypoints.push(unlabelled);
                }
            }
            return true;
        }
        if (doc.group.as_str(), doc.kind.as_str()) == ("networking.istio.io", "ServiceEntry") {
            if require_version(cx, doc, NETWORKING_VERSIONS) {
                let index = model.services.len();
                if let Some(waypoint) = networking::service_entry(cx, doc, model) {
                    self.waypoint_uses.push((index, waypoint));
                }
            }
            return true;
        }
        if (doc.group.as_str(), doc.kind.as_str()) == ("security.istio.io", "AuthorizationPolicy") {
            if require_version(cx, doc, &["v1", "v1beta1"]) {
                authz::import(cx, doc, model, &mut self.selectors);
            }
            return true;
        }
        let (versions, decoder): (&[&str], Decoder) = match (doc.group.as_str(), doc.kind.as_str())
        {
            ("networking.istio.io", "DestinationRule") => {
                (NETWORKING_VERSIONS, networking::destination_rule)
            }
            ("networking.istio.io", "VirtualService") => {
                (NETWORKING_VERSIONS, networking::virtual_service)
            }
            ("networking.istio.io", "Gateway") => (NETWORKING_VERSIONS, gateway::istio_gateway),
            ("networking.istio.io", "Sidecar") => (NETWORKING_VERSIONS, sidecar::sidecar),
            ("security.istio.io", "RequestAuthentication") => {
                (&["v1", "v1beta1"], sidecar::request_authentication)
            }
            _ => return false,
        };
        if require_version(cx, doc, versions) {
            decoder(cx, doc, model);
        }
        true
    }

    fn link(&mut self, model: &mut Model, diags: &mut Vec<Diagnostic>) {
        for (gateway, class) in &self.unlabelled_waypoints {
            if let Some(traffic) = self.class_traffic.get(class) {
                model.waypoint_for.insert(gateway.clone(), traffic.clone());
            }
        }
        routes::link(model, &self.pending_routes);
        link(model, &self.waypoint_uses, diags);
        road_check::warn_missing(model, diags);
    }
}

/// Versions of the `networking.istio.io` kinds.
const NETWORKING_VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha3"];

/// Resolves references between Istio resources once everything is loaded: the waypoint of
/// every ServiceEntry (its own `istio.io/use-waypoint` label, `uses` by index in
/// `model.services`, else its namespace's).
fn link(model: &mut Model, uses: &[(usize, WaypointUse)], diags: &mut Vec<Diagnostic>) {
    let Model {
        services,
        gateways,
        namespaces,
        ..
    } = model;
    for (index, svc) in services
        .iter_mut()
        .enumerate()
        .filter(|(_, s)| s.vendor == Vendor::Istio && s.id.kind == "ServiceEntry")
    {
        let mut via_namespace = false;
        match uses.iter().find(|(i, _)| *i == index).map(|(_, u)| u) {
            Some(WaypointUse::OptOut) => continue,
            Some(WaypointUse::Named(gateway)) => svc.gateway = Some(gateway.clone()),
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
                help: None,
                code: None,
            });
        }
    }
}
