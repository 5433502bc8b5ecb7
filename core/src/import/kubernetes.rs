//! Kubernetes core resources: `ServiceAccount` (identities and their labels) and
//! `Namespace` (namespace labels, such as `istio.io/use-waypoint`).

use crate::diagnostic::Diagnostic;
use crate::model::{Model, ServiceAccountInfo};

use super::decode::{map, Cx};
use super::{Doc, Importer};

/// The importer of core (`v1`) Kubernetes kinds. It keeps no state between documents.
#[derive(Debug, Default)]
pub(crate) struct KubernetesImporter;

impl Importer for KubernetesImporter {
    fn import(&mut self, cx: &mut Cx, doc: &Doc, model: &mut Model) -> bool {
        match (doc.group.as_str(), doc.kind.as_str()) {
            ("", "ServiceAccount") => service_account(cx, doc, model),
            ("", "Namespace") => namespace(cx, doc, model),
            ("", "Service") => super::kube_service::import(cx, doc, model),
            _ => return false,
        }
        true
    }

    fn link(&mut self, _model: &mut Model, _diags: &mut Vec<Diagnostic>) {}
}

fn service_account(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    map(
        cx,
        doc.node,
        "",
        &[
            "apiVersion",
            "kind",
            "metadata",
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
    );
    model.service_accounts.push(ServiceAccountInfo {
        namespace: doc.namespace(),
        name: doc.meta.name.clone(),
        labels: doc.meta.labels.clone(),
    });
}

fn namespace(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    super::decode::top_level(cx, doc);
    model
        .namespaces
        .insert(doc.meta.name.clone(), doc.meta.labels.clone());
}
