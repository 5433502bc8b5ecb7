//! Solo Gloo Mesh resources (SEMANTICS.md §5, §8.4): `ExternalService` and
//! `VirtualGateway` (`networking.gloo.solo.io/v2`), `AccessPolicy`
//! (`security.policy.gloo.solo.io/v2`), `Workspace` and `WorkspaceSettings`
//! (`admin.gloo.solo.io/v2`).
//!
//! Field sets follow the v2 protos (`solo-io/solo-apis api/gloo.solo.io/networking/v2/
//! {external_service,virtual_gateway}.proto`, `…/policy/v2/security/access_policy.proto`,
//! `…/common/v2/{selectors,references,port}.proto`). Which external services and gateways an
//! `AccessPolicy` selects, and whether an `ExternalService`'s egress `VirtualGateway` is
//! loaded, are resolved in `link.rs`.
//!
//! The decoders are in `external_service.rs`, `virtual_gateway.rs`, `access_policy.rs` and
//! `workspace.rs`; what workspaces change is resolved in `scope.rs`.

mod access_policy;
mod external_service;
mod link;
mod scope;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_workspace;
mod virtual_gateway;
mod workspace;

use crate::diagnostic::Diagnostic;
use crate::model::{Caveat, Gateway, Labels, Model, ResourceRef};
use crate::source::Node;

use super::decode::{header_ok, map, Cx, Map, Site};
use super::{Doc, Importer};

const OBJECT_SELECTOR_FIELDS: &[&str] = &["labels", "name", "namespace", "cluster", "workspace"];

/// `ObjectSelector` fields that narrow by name, namespace, labels and workspace (cluster is
/// not modelled).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ObjectSelector {
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) labels: Labels,
    /// `workspace`: resolved in `link` against the loaded workspaces.
    pub(super) workspace: Option<String>,
}

impl ObjectSelector {
    pub(super) fn selects(&self, id: &ResourceRef, labels: &Labels) -> bool {
        self.name.as_ref().is_none_or(|n| *n == id.name)
            && self.namespace.as_ref().is_none_or(|n| *n == id.namespace)
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    pub(super) fn selects_gateway(&self, gateway: &Gateway) -> bool {
        self.namespace
            .as_ref()
            .is_none_or(|n| *n == gateway.namespace)
            && self
                .labels
                .iter()
                .all(|(k, v)| gateway.labels.get(k) == Some(v))
    }
}

/// One `applyToDestinations` entry.
#[derive(Debug)]
pub(super) struct DestinationTarget {
    pub(super) external: bool,
    pub(super) selector: ObjectSelector,
    pub(super) site: Site,
}

/// Where an `AccessPolicy` applies, before resolution.
#[derive(Debug)]
pub(super) enum Target {
    /// Neither `applyToDestinations` nor `applyToWorkloads`: every destination.
    All,
    /// `applyToDestinations`.
    Destinations(Vec<DestinationTarget>),
    /// `applyToWorkloads` (resolved against the loaded gateways).
    Workloads(Vec<ObjectSelector>),
}

#[derive(Debug)]
pub(super) struct PendingService {
    pub(super) id: ResourceRef,
    pub(super) labels: Labels,
    pub(super) gateway: Option<(ResourceRef, Site)>,
    /// The resource, for warnings about its workspace.
    pub(super) site: Site,
}

#[derive(Debug)]
pub(super) struct PendingPolicy {
    pub(super) id: ResourceRef,
    pub(super) dry_run: bool,
    pub(super) target: std::rc::Rc<Target>,
    /// The resource, for warnings about its workspace.
    pub(super) site: Site,
}

/// The importer of Gloo kinds. What its decoders leave for [`link`](Importer::link) is
/// kept here, for one load: external service labels (the model keeps none), the
/// unresolved targets of access policies, and workspaces with their settings.
#[derive(Debug, Default)]
pub(crate) struct GlooImporter {
    services: Vec<PendingService>,
    policies: Vec<Option<PendingPolicy>>,
    workspaces: Vec<workspace::PendingWorkspace>,
    settings: Vec<workspace::PendingSettings>,
}

/// A decoder of one Gloo kind.
type Decoder = fn(&mut GlooImporter, &mut Cx, &Doc, &mut Model);

impl Importer for GlooImporter {
    fn import(&mut self, cx: &mut Cx, doc: &Doc, model: &mut Model) -> bool {
        let decoder: Decoder = match (doc.group.as_str(), doc.kind.as_str()) {
            ("networking.gloo.solo.io", "ExternalService") => external_service::import,
            ("networking.gloo.solo.io", "VirtualGateway") => virtual_gateway::import,
            ("security.policy.gloo.solo.io", "AccessPolicy") => access_policy::import,
            ("admin.gloo.solo.io", "Workspace") => workspace::import_workspace,
            ("admin.gloo.solo.io", "WorkspaceSettings") => workspace::import_settings,
            _ => return false,
        };
        if header_ok(cx, doc, &["v2"]) {
            decoder(self, cx, doc, model);
        }
        true
    }

    fn link(&mut self, model: &mut Model, diags: &mut Vec<Diagnostic>) {
        link::link(std::mem::take(self), model, diags);
    }
}

/// A string that is empty when not written (proto zero value) becomes `None`.
pub(super) fn opt_str(cx: &mut Cx, m: &Map, key: &str) -> Option<String> {
    m.str(cx, key).filter(|s| !s.is_empty())
}

/// `common.gloo.solo.io.PortSelector`: exactly one of `number` / `name`.
pub(super) enum PortSelector {
    Number(u16),
    Name(String),
}

pub(super) fn port_selector(cx: &mut Cx, node: &Node, path: &str) -> Option<PortSelector> {
    let m = map(cx, node, path, &["number", "name"])?;
    match (m.get("number"), m.get("name")) {
        (Some(_), Some(name)) => {
            cx.error(
                name,
                &m.path_of("name"),
                "set either `number` or `name`, not both",
            );
            None
        }
        (Some(_), None) => m.port(cx, "number").map(PortSelector::Number),
        (None, Some(_)) => m.str(cx, "name").map(PortSelector::Name),
        (None, None) => {
            cx.error(node, path, "a port selector needs `number` or `name`");
            None
        }
    }
}

/// Reads an `ObjectSelector`; `cluster` (checked for unsubstituted templates) is accepted
/// but not modelled; a cluster written as a template adds a caveat to `notes`.
pub(super) fn read_selector(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    allowed: &[&str],
    notes: &mut Vec<Caveat>,
) -> Option<ObjectSelector> {
    let m = map(cx, node, path, allowed)?;
    let selector = ObjectSelector {
        name: opt_str(cx, &m, "name"),
        namespace: opt_str(cx, &m, "namespace"),
        labels: m.labels(cx, "labels"),
        workspace: opt_str(cx, &m, "workspace"),
    };
    cluster(cx, &m, notes);
    Some(selector)
}

/// A `cluster` field. A value that still holds a shell template (`${CLUSTER_NAME}`, as the
/// Solo guides print it inside an unquoted heredoc) was applied without substitution: it is
/// a warning at its line and a caveat in `notes`, and is kept as written (a cluster of that
/// name exists nowhere).
pub(super) fn cluster(cx: &mut Cx, m: &Map, notes: &mut Vec<Caveat>) -> Option<String> {
    let value = opt_str(cx, m, "cluster")?;
    if is_template(&value) {
        if let Some(at) = m.get("cluster") {
            cx.warn(
                at,
                &m.path_of("cluster"),
                format!(
                    "cluster `{value}` is an unsubstituted template (the guide's shell expands it, `kubectl apply -f` does not): no cluster has that name"
                ),
            );
        }
        let caveat = Caveat {
            code: "unsubstituted_template".to_string(),
            message: if m.path.ends_with("serviceAccountSelector") {
                format!(
                    "`{}` names cluster `{value}`, an unsubstituted template: a source that gives no `source.cluster` is assumed to be in it; a source in any named cluster is not",
                    m.path_of("cluster")
                )
            } else {
                format!(
                    "`{}` names cluster `{value}`, an unsubstituted template: egress-policy does not know the clusters of external services and gateways, so it narrows nothing",
                    m.path_of("cluster")
                )
            },
            resource: cx.resource.as_deref().and_then(resource_of),
        };
        if !notes.contains(&caveat) {
            notes.push(caveat);
        }
    }
    Some(value)
}

/// Whether a value still holds a shell template such as `${CLUSTER_NAME}` or `$CLUSTER`.
pub(super) fn is_template(value: &str) -> bool {
    value.contains("${")
        || value
            .strip_prefix('$')
            .is_some_and(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
}

/// `Kind namespace/name` back to a reference.
fn resource_of(text: &str) -> Option<ResourceRef> {
    let (kind, rest) = text.split_once(' ')?;
    let (namespace, name) = rest.split_once('/')?;
    Some(ResourceRef::new(kind, namespace, name))
}
