//! Gloo `Workspace` and `WorkspaceSettings` (`admin.gloo.solo.io/v2`): which namespaces
//! form a workspace, what it exports and imports, and whether its services are isolated.
//!
//! Field sets follow `solo-io/solo-apis api/gloo.solo.io/admin/v2/{workspace,
//! workspace_settings}.proto` and `…/common/v2/selectors.proto` (`ClusterSelector`,
//! `WorkspaceSelector`), branch `gloo-mesh-v2.6.x`. What they change is resolved in
//! `scope.rs`.

use crate::diagnostic::Location;
use crate::model::{Labels, Model, ResourceRef};

use super::super::decode::{enum_field, list, map, Cx, Map, Site};
use super::super::Doc;
use super::{opt_str, GlooImporter};

/// One `workloadClusters` entry.
#[derive(Debug, Clone)]
pub(super) struct ClusterEntry {
    /// `name` (`*` globs); `None`: every cluster.
    pub(super) cluster: Option<String>,
    /// `selector` (KubernetesCluster labels, which egress-policy does not know).
    pub(super) cluster_labels: Labels,
    /// `namespaces[]`: name glob (`None`: any name) and namespace labels (ANDed).
    pub(super) namespaces: Vec<(Option<String>, Labels)>,
}

/// A decoded `Workspace`.
#[derive(Debug, Clone)]
pub(super) struct PendingWorkspace {
    pub(super) id: ResourceRef,
    pub(super) labels: Labels,
    pub(super) clusters: Vec<ClusterEntry>,
    pub(super) site: Site,
}

/// `WorkspaceSelector`: `name` (`*` globs) and `selector` (workspace labels), ANDed.
#[derive(Debug, Clone, Default)]
pub(super) struct WorkspaceSelector {
    pub(super) name: Option<String>,
    pub(super) labels: Labels,
}

/// `TypedObjectSelector`: which resources an import or export covers.
#[derive(Debug, Clone, Default)]
pub(super) struct ResourceSelector {
    /// `kind` (`ALL` when not written).
    pub(super) kind: String,
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) labels: Labels,
}

/// `WorkspaceObjectSelector`: workspaces and the resources shared with them.
#[derive(Debug, Clone, Default)]
pub(super) struct Sharing {
    pub(super) workspaces: Vec<WorkspaceSelector>,
    /// Empty: every resource.
    pub(super) resources: Vec<ResourceSelector>,
}

/// A decoded `WorkspaceSettings`.
#[derive(Debug, Clone)]
pub(super) struct PendingSettings {
    pub(super) id: ResourceRef,
    pub(super) location: Location,
    pub(super) import_from: Vec<Sharing>,
    pub(super) export_to: Vec<Sharing>,
    /// `options.serviceIsolation.enabled`, when written.
    pub(super) isolation: Option<bool>,
    /// `options.serviceIsolation.trimProxyConfig` or `options.trimAllProxyConfig`.
    pub(super) trim: bool,
    pub(super) site: Site,
}

impl PendingSettings {
    /// The `global` settings of the admin namespace apply to every workspace and override
    /// each workspace's own ("global workspace settings override settings defined in
    /// individual workspaces", workspace_settings.proto).
    pub(super) fn is_global(&self) -> bool {
        self.id.name == "global" && self.id.namespace == ADMIN_NAMESPACE
    }
}

/// The Gloo admin namespace ("typically `gloo-mesh`").
pub(super) const ADMIN_NAMESPACE: &str = "gloo-mesh";

/// `TypedObjectSelector.ObjectKind`.
const OBJECT_KINDS: &[&str] = &[
    "ALL",
    "ROUTE_TABLE",
    "SERVICE",
    "VIRTUAL_DESTINATION",
    "EXTERNAL_SERVICE",
    "API_DOC",
    "GRAPHQL_RESOLVER_MAP",
    "GRAPHQL_SCHEMA",
    "GRAPHQL_STITCHED_SCHEMA",
    "EXTERNAL_WORKLOAD",
];

/// Decodes a `Workspace`. A workspace without `workloadClusters` contains no namespace
/// ("When this is not specified, the workspace contains no workload clusters").
pub(super) fn import_workspace(state: &mut GlooImporter, cx: &mut Cx, doc: &Doc, _: &mut Model) {
    let errors = cx.error_count();
    let mut clusters = Vec::new();
    if let Some(spec) = doc.spec(cx, &["workloadClusters"], false) {
        for (item, path) in spec.list(cx, "workloadClusters") {
            let Some(entry) = map(
                cx,
                item,
                &path,
                &["name", "selector", "namespaces", "configEnabled"],
            ) else {
                continue;
            };
            entry.bool(cx, "configEnabled");
            let cluster_labels = entry.labels(cx, "selector");
            if !cluster_labels.is_empty() {
                if let Some(at) = entry.get("selector") {
                    cx.warn(
                        at,
                        &entry.path_of("selector"),
                        "egress-policy does not know KubernetesCluster labels: this entry is taken to select every cluster",
                    );
                }
            }
            let mut namespaces = Vec::new();
            for (ns, ns_path) in entry.list(cx, "namespaces") {
                let Some(ns) = map(cx, ns, &ns_path, &["name", "labels", "configEnabled"]) else {
                    continue;
                };
                ns.bool(cx, "configEnabled");
                namespaces.push((opt_str(cx, &ns, "name"), ns.labels(cx, "labels")));
            }
            if namespaces.is_empty() {
                cx.warn(
                    item,
                    &path,
                    "no `namespaces`: Gloo reports an error and the entry selects nothing",
                );
            }
            clusters.push(ClusterEntry {
                cluster: opt_str(cx, &entry, "name"),
                cluster_labels,
                namespaces,
            });
        }
    }
    if cx.error_count() != errors {
        return;
    }
    let id = ResourceRef::new("Workspace", &doc.namespace(), &doc.meta.name);
    if let Some(first) = state.workspaces.iter().find(|w| w.id.name == doc.meta.name) {
        cx.warn(
            doc.node,
            "metadata.name",
            format!(
                "a second Workspace `{}` (the first is {}): it is ignored",
                doc.meta.name, first.id
            ),
        );
        return;
    }
    state.workspaces.push(PendingWorkspace {
        id,
        labels: doc.meta.labels.clone(),
        clusters,
        site: Site::new(cx, doc.node, ""),
    });
}

/// Decodes a `WorkspaceSettings`.
pub(super) fn import_settings(state: &mut GlooImporter, cx: &mut Cx, doc: &Doc, _: &mut Model) {
    let errors = cx.error_count();
    let mut import_from = Vec::new();
    let mut export_to = Vec::new();
    let mut isolation = None;
    let mut trim = false;
    if let Some(spec) = doc.spec(cx, &["importFrom", "exportTo", "options"], false) {
        import_from = sharing_list(cx, &spec, "importFrom");
        export_to = sharing_list(cx, &spec, "exportTo");
        if let Some(options) = spec.map(
            cx,
            "options",
            &[
                "serviceIsolation",
                "federation",
                "eastWestGateways",
                "virtualDestClientMode",
                "trimAllProxyConfig",
            ],
        ) {
            if options.bool(cx, "trimAllProxyConfig") == Some(true) {
                trim = true;
            }
            if let Some(si) = options.map(
                cx,
                "serviceIsolation",
                &["enabled", "trimProxyConfig", "enforcementLayers"],
            ) {
                isolation = Some(si.bool(cx, "enabled").unwrap_or(false));
                if si.bool(cx, "trimProxyConfig") == Some(true) {
                    trim = true;
                }
                if let Some(layers) = si.map(cx, "enforcementLayers", &["cni", "mesh"]) {
                    layers.bool(cx, "cni");
                    if layers.bool(cx, "mesh") == Some(false) {
                        cx.warn(
                            layers.node,
                            &layers.path,
                            "`mesh: false`: Gloo enforces service isolation only in the CNI (L4); egress-policy still evaluates it at the mesh proxy",
                        );
                    }
                }
            }
            // Federation, east-west gateways and the virtual destination client mode
            // concern traffic between clusters inside the mesh, not egress: accepted as
            // written.
        }
    }
    if cx.error_count() != errors {
        return;
    }
    state.settings.push(PendingSettings {
        id: ResourceRef::new("WorkspaceSettings", &doc.namespace(), &doc.meta.name),
        location: doc.location(),
        import_from,
        export_to,
        isolation,
        trim,
        site: Site::new(cx, doc.node, ""),
    });
}

/// `importFrom` / `exportTo`.
fn sharing_list(cx: &mut Cx, spec: &Map, key: &str) -> Vec<Sharing> {
    let mut out = Vec::new();
    for (item, path) in spec.list(cx, key) {
        let Some(entry) = map(cx, item, &path, &["workspaces", "resources"]) else {
            continue;
        };
        let mut sharing = Sharing::default();
        for (ws, ws_path) in entry.list(cx, "workspaces") {
            if let Some(ws) = map(cx, ws, &ws_path, &["name", "selector"]) {
                sharing.workspaces.push(WorkspaceSelector {
                    name: opt_str(cx, &ws, "name"),
                    labels: ws.labels(cx, "selector"),
                });
            }
        }
        if let Some(node) = entry.get("resources") {
            for (res, res_path) in list(cx, node, &entry.path_of("resources")) {
                let Some(res) = map(
                    cx,
                    res,
                    &res_path,
                    &["kind", "labels", "name", "namespace", "cluster"],
                ) else {
                    continue;
                };
                let kind = match res.get("kind") {
                    Some(_) => enum_field(cx, &res, "kind", OBJECT_KINDS).unwrap_or_default(),
                    None => "ALL".to_string(),
                };
                opt_str(cx, &res, "cluster");
                sharing.resources.push(ResourceSelector {
                    kind,
                    name: opt_str(cx, &res, "name"),
                    namespace: opt_str(cx, &res, "namespace"),
                    labels: res.labels(cx, "labels"),
                });
            }
        }
        out.push(sharing);
    }
    out
}
