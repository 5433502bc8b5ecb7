//! Tetrate Service Bridge resources (SEMANTICS.md §4, §8.3): `EgressGateway`, the egress
//! `Gateway` that replaces it, `TrafficSetting`, `Workspace`, the security / traffic / gateway `Group`s, `Tenant` and
//! `Organization`.
//!
//! Both spellings TSB accepts are read: the `tctl` form (hierarchy in
//! `metadata.{organization,tenant,workspace,group}`, API group `api.tsb.tetrate.io` for
//! workspaces, tenants and organizations) and the Kubernetes form (hierarchy in
//! `tsb.tetrate.io/*` annotations, with `trafficGroup` / `securityGroup` / `gatewayGroup`
//! naming the group, API group `tsb.tetrate.io`).
//!
//! Cross-references (group namespaces inherited from the workspace, the sources and the
//! gateway of an egress route) are resolved in [`link`], once every document is read.
//!
//! The decoders are in `egress_gateway.rs` (EgressGateway), `gateway.rs` (Gateway),
//! `settings.rs` (TrafficSetting,
//! Workspace, groups, tenancy) and `link.rs`.

mod egress_gateway;
mod gateway;
mod link;
mod settings;
#[cfg(test)]
mod tests;

use crate::diagnostic::Diagnostic;
use crate::model::{Model, Origin, ResourceRef, RuleOrigin};
use crate::source::{Node, Value};

use super::decode::{header_ok, map, Cx, Map, Site};
use super::{Doc, Importer};

/// The port sidecars send unknown traffic to at a TSB egress gateway (mTLS).
pub(crate) const EGRESS_PORT: u16 = 15443;

/// Fields every TSB spec may carry besides its own.
const COMMON_SPEC: &[&str] = &[
    "displayName",
    "description",
    "etag",
    "fqn",
    "configGenerationMetadata",
];

/// The importer of TSB kinds. What its decoders leave for [`link`](Importer::link) to
/// resolve is kept here, for one load.
#[derive(Debug, Default)]
pub(crate) struct TsbImporter {
    /// Egress routes by origin, with where their host was written.
    routes: Vec<(ResourceRef, Site)>,
    /// Groups (`workspace/group`) without `namespaceSelector`: they take the workspace's.
    inheriting_groups: Vec<(String, Site)>,
    /// Workspaces and groups named by the rules of a gateway policy, by policy.
    rule_refs: Vec<(ResourceRef, SetRef)>,
}

/// A workspace or group (`workspace/group`) a rule names, and where.
#[derive(Debug)]
pub(super) struct SetRef {
    /// A group (`workspace/group`) rather than a workspace.
    pub(super) group: bool,
    /// Its name.
    pub(super) name: String,
    /// Where the reference is written.
    pub(super) site: Site,
}

/// A decoder of one TSB kind.
type Decoder = fn(&mut TsbImporter, &mut Cx, &Doc, &mut Model);

impl Importer for TsbImporter {
    fn import(&mut self, cx: &mut Cx, doc: &Doc, model: &mut Model) -> bool {
        let decoder: Decoder = match (doc.group.as_str(), doc.kind.as_str()) {
            ("gateway.tsb.tetrate.io", "EgressGateway") => egress_gateway::import,
            ("gateway.tsb.tetrate.io", "Gateway") => gateway::import,
            ("traffic.tsb.tetrate.io", "TrafficSetting") => settings::traffic_setting,
            ("api.tsb.tetrate.io" | "tsb.tetrate.io", "Workspace") => settings::workspace,
            (
                "security.tsb.tetrate.io" | "traffic.tsb.tetrate.io" | "gateway.tsb.tetrate.io",
                "Group",
            ) => settings::group,
            ("api.tsb.tetrate.io" | "tsb.tetrate.io", "Tenant" | "Organization") => {
                settings::tenancy
            }
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

/// The spec's allowed keys: the kind's own plus the common ones.
pub(super) fn spec_fields(own: &[&'static str]) -> Vec<&'static str> {
    own.iter().chain(COMMON_SPEC.iter()).copied().collect()
}

/// The TSB group of a resource: `metadata.group` (tctl form) or the kind-specific
/// annotation (`tsb.tetrate.io/trafficGroup`, `securityGroup`, `gatewayGroup`).
fn tsb_group(doc: &Doc, annotation: &str) -> Option<String> {
    doc.meta.group.clone().or_else(|| {
        doc.meta
            .annotations
            .get(&format!("tsb.tetrate.io/{annotation}"))
            .cloned()
    })
}

/// `workspace/group` for a resource in a group; reports a group without a workspace.
pub(super) fn group_path(cx: &mut Cx, doc: &Doc, annotation: &str) -> Option<String> {
    let group = tsb_group(doc, annotation)?;
    match &doc.meta.workspace {
        Some(workspace) => Some(format!("{workspace}/{group}")),
        None => {
            cx.error(
                doc.node,
                "metadata.workspace",
                format!(
                    "group `{group}` is given but no workspace (`metadata.workspace` or annotation `tsb.tetrate.io/workspace`)"
                ),
            );
            None
        }
    }
}

/// Checks `spec.configGenerationMetadata` (labels and annotations TSB adds to what it
/// generates; nothing of it is modelled).
pub(super) fn config_generation_metadata(cx: &mut Cx, spec: &Map) {
    if let Some(node) = spec.get("configGenerationMetadata") {
        map(
            cx,
            node,
            spec.path_of("configGenerationMetadata"),
            &["labels", "annotations"],
        );
    }
}

/// Where the parts of an authorization entry at `path` were written. `from` is the entry's
/// `from` node: its sources come from `mode` (one source) or from the items of `resources`
/// and then `serviceAccounts` (one source each), in that order. `hosts` maps the model's
/// `to[k].operation.hosts` to the user's path of operation `k`'s hosts.
pub(super) fn rule_origin(
    path: &str,
    from: Option<&Node>,
    hosts: impl Fn(usize) -> String,
    operations: usize,
) -> RuleOrigin {
    let mut origin = Origin::at(path.to_string());
    let mut sources = Vec::new();
    if let Some(from) = from {
        for key in ["resources", "serviceAccounts"] {
            if let Some(Value::Seq(items)) = from.get(key).map(|n| &n.value) {
                sources.extend((0..items.len()).map(|i| format!("{path}.from.{key}[{i}]")));
            }
        }
        if sources.is_empty() && from.get("mode").is_some() {
            sources.push(format!("{path}.from.mode"));
        }
    }
    for (index, user) in sources.into_iter().enumerate() {
        origin.map(format!("from[{index}].source"), user, false);
    }
    for index in 0..operations {
        origin.map(format!("to[{index}].operation.hosts"), hosts(index), false);
    }
    RuleOrigin::new(origin)
}
