//! Istio resources: AuthorizationPolicy, ServiceEntry, DestinationRule, VirtualService,
//! Gateway (both APIs) and mesh settings.

use crate::diagnostic::Diagnostic;
use crate::model::{MeshConfig, Model};

use super::decode::Cx;
use super::Doc;

/// Whether the document carries mesh settings (the `istio` ConfigMap or an IstioOperator).
pub(crate) fn is_mesh_config(doc: &Doc) -> bool {
    (doc.group.is_empty()
        && doc.kind == "ConfigMap"
        && (doc.meta.name == "istio" || doc.meta.name.starts_with("istio-")))
        || (doc.group == "install.istio.io" && doc.kind == "IstioOperator")
}

/// Reads mesh settings into `mesh`.
pub(crate) fn import_mesh_config(_cx: &mut Cx, _doc: &Doc, _mesh: &mut MeshConfig) {}

/// Imports the document if it is an Istio kind; returns whether it was.
pub(crate) fn import(_cx: &mut Cx, _doc: &Doc, _model: &mut Model) -> bool {
    false
}

/// Resolves references between Istio resources once everything is loaded.
pub(crate) fn link(_model: &mut Model, _diags: &mut Vec<Diagnostic>) {}
