//! TSB `TrafficSetting` (egress host) and the tenancy kinds: `Workspace`, the security /
//! traffic / gateway `Group`s, `Tenant` and `Organization`.

use crate::model::{EgressRoute, Model, NamespaceSelector, NamespaceSet, ResourceRef};
use crate::source::Node;

use super::super::decode::{
    enum_field, is_dns_label, is_empty_list, map, required, str_list, Case, Cx, Map, Site,
};
use super::super::Doc;
use super::{config_generation_metadata, group_path, spec_fields, TsbImporter};

/// `ReachabilitySettings.Mode` values.
const REACHABILITY_MODES: &[&str] = &[
    "UNSET",
    "NAMESPACE",
    "GROUP",
    "WORKSPACE",
    "CLUSTER",
    "CUSTOM",
];

const TRAFFIC_SETTING_FIELDS: &[&str] = &[
    "reachability",
    "resilience",
    "egress",
    "upstreamTrafficSettings",
    "inbound",
    "outbound",
    "rateLimiting",
];

const WORKSPACE_FIELDS: &[&str] = &[
    "namespaceSelector",
    "deletionProtectionEnabled",
    "isolationBoundary",
    "privileged",
    "profiles",
    "securityDomain",
];

const GROUP_FIELDS: &[&str] = &[
    "namespaceSelector",
    "configMode",
    "deletionProtectionEnabled",
    "profiles",
    "securityDomain",
];

const TENANT_FIELDS: &[&str] = &["deletionProtectionEnabled", "profiles", "securityDomain"];

const ORGANIZATION_FIELDS: &[&str] = &["deletionProtectionEnabled", "profiles", "systemNamespaces"];

/// Decodes a `TrafficSetting`: its egress host becomes an egress route.
pub(super) fn traffic_setting(state: &mut TsbImporter, cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(cx, &spec_fields(TRAFFIC_SETTING_FIELDS), false) else {
        return;
    };
    if let Some(node) = spec.get("reachability") {
        reachability(cx, node, &spec.path_of("reachability"));
    }
    let mut hosts: Vec<(String, &Node, String)> = Vec::new();
    if let Some(node) = spec.get("egress") {
        if let Some(host) = egress_host(cx, node, &spec.path_of("egress")) {
            hosts.push(host);
        }
    }
    if let Some(node) = spec.get("outbound") {
        let path = spec.path_of("outbound");
        if let Some(outbound) = map(
            cx,
            node,
            &path,
            &["egress", "reachability", "upstreamTrafficSettings"],
        ) {
            if let Some(node) = outbound.get("reachability") {
                reachability(cx, node, &outbound.path_of("reachability"));
            }
            if let Some(node) = outbound.get("egress") {
                if let Some(host) = egress_host(cx, node, &outbound.path_of("egress")) {
                    if let Some((old, old_node, old_path)) = hosts.first() {
                        if *old != host.0 {
                            cx.warn(
                                old_node,
                                old_path,
                                format!(
                                    "deprecated `spec.egress.host` `{old}` is ignored because `spec.outbound.egress.host` is set to `{}`",
                                    host.0
                                ),
                            );
                        }
                    }
                    hosts = vec![host];
                }
            }
        }
    }
    config_generation_metadata(cx, &spec);
    let Some((host, host_node, host_path)) = hosts.into_iter().next() else {
        return;
    };
    let Some(workspace) = required_workspace(
        cx,
        doc,
        "a TrafficSetting with an egress host needs its workspace",
        ": its sources are the namespaces of its workspace or group",
    ) else {
        return;
    };
    let scope = group_path(cx, doc, "trafficGroup").unwrap_or(workspace);
    let origin = ResourceRef::new("TrafficSetting", &scope, &doc.meta.name);
    let site = Site::new(cx, host_node, &host_path);
    state.routes.push((origin.clone(), site));
    model.egress_routes.push(EgressRoute {
        origin,
        sources: Vec::new(),
        host,
        gateway: None,
        caveats: Vec::new(),
    });
}

fn reachability(cx: &mut Cx, node: &Node, path: &str) {
    let Some(settings) = map(cx, node, path, &["mode", "hosts"]) else {
        return;
    };
    enum_field(cx, &settings, "mode", REACHABILITY_MODES);
    for item in settings.str_list(cx, "hosts") {
        if item.value.split('/').count() != 2 || item.value.split('/').any(str::is_empty) {
            cx.error(
                item.node,
                &item.path(),
                format!("`{}` is not `<namespace>/<fqdn>`", item.value),
            );
        }
    }
}

/// `egress: {host, port}`; returns the host, its node and path.
fn egress_host<'n>(cx: &mut Cx, node: &'n Node, path: &str) -> Option<(String, &'n Node, String)> {
    let egress = map(cx, node, path, &["host", "port"])?;
    egress.port(cx, "port");
    let host_node = required(
        cx,
        &egress,
        "host",
        ": the egress gateway service as `<namespace>/<fqdn>`",
    )?;
    let host = egress.str(cx, "host")?;
    let host_path = egress.path_of("host");
    let valid = matches!(host.split_once('/'), Some((ns, fqdn)) if is_dns_label(ns, Case::Lower) && !fqdn.is_empty() && !fqdn.contains('/'));
    if !valid {
        cx.error(
            host_node,
            &host_path,
            format!(
                "`{host}` is not `<namespace>/<fqdn>` (for example `istio-system/istio-egressgateway.istio-system.svc.cluster.local`)"
            ),
        );
        return None;
    }
    Some((host, host_node, host_path))
}

// ------------------------------------------------------------------------------------------
// Workspace, groups, tenancy

/// Decodes a `Workspace` and the namespaces it owns.
pub(super) fn workspace(_: &mut TsbImporter, cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(cx, &spec_fields(WORKSPACE_FIELDS), true) else {
        return;
    };
    common_spec(cx, &spec);
    let node = required(
        cx,
        &spec,
        "namespaceSelector",
        ": a workspace owns the namespaces it selects",
    );
    let Some(namespaces) =
        node.and_then(|n| namespace_selector(cx, n, &spec.path_of("namespaceSelector"), true))
    else {
        return;
    };
    let tenant = doc.meta.tenant.clone().unwrap_or_default();
    model.workspaces.push(NamespaceSet {
        id: ResourceRef::new("Workspace", &tenant, &doc.meta.name),
        name: doc.meta.name.clone(),
        namespaces,
    });
}

/// Decodes a security, traffic or gateway `Group`.
pub(super) fn group(state: &mut TsbImporter, cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let spec = doc.spec(cx, &spec_fields(GROUP_FIELDS), false);
    let mut namespaces = None;
    if let Some(spec) = &spec {
        common_spec(cx, spec);
        enum_field(cx, spec, "configMode", &["BRIDGED", "DIRECT"]);
        if let Some(node) = spec.get("namespaceSelector") {
            match namespace_selector(cx, node, &spec.path_of("namespaceSelector"), false) {
                Some(selected) => namespaces = Some(selected),
                None => return,
            }
        }
    }
    let Some(workspace) = required_workspace(cx, doc, "a Group needs its workspace", "") else {
        return;
    };
    let name = format!("{workspace}/{}", doc.meta.name);
    let namespaces = match namespaces {
        Some(selected) if !selected.is_empty() => selected,
        _ => {
            let at = spec
                .as_ref()
                .and_then(|s| s.get("namespaceSelector"))
                .unwrap_or(doc.node);
            let site = Site::new(cx, at, "spec.namespaceSelector");
            let inherit = name.clone();
            state.inheriting_groups.push((inherit, site));
            Vec::new()
        }
    };
    model.groups.push(NamespaceSet {
        id: ResourceRef::new("Group", &workspace, &doc.meta.name),
        name,
        namespaces,
    });
}

/// Checks a `Tenant` or `Organization` (nothing of it is modelled).
pub(super) fn tenancy(_: &mut TsbImporter, cx: &mut Cx, doc: &Doc, _model: &mut Model) {
    let own = if doc.kind == "Organization" {
        ORGANIZATION_FIELDS
    } else {
        TENANT_FIELDS
    };
    if let Some(spec) = doc.spec(cx, &spec_fields(own), false) {
        common_spec(cx, &spec);
        spec.str_list(cx, "systemNamespaces");
        spec.str_list(cx, "profiles");
    }
}

/// Checks the shape of the fields every TSB spec may carry.
fn common_spec(cx: &mut Cx, spec: &Map) {
    spec.str(cx, "displayName");
    spec.str(cx, "description");
    spec.str(cx, "etag");
    spec.bool(cx, "deletionProtectionEnabled");
    config_generation_metadata(cx, spec);
}

/// `namespaceSelector.names`: `cluster/namespace` entries, `*` (or a `prefix*` glob) allowed
/// in either part. `None` when anything is wrong.
fn namespace_selector(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    required_names: bool,
) -> Option<Vec<NamespaceSelector>> {
    let selector = map(cx, node, path, &["names"])?;
    let names_node = if required_names {
        required(
            cx,
            &selector,
            "names",
            ": list `<cluster>/<namespace>` entries such as `*/ns1`",
        )?
    } else {
        match selector.get("names") {
            Some(names) => names,
            None => return Some(Vec::new()),
        }
    };
    let names_path = selector.path_of("names");
    if required_names && is_empty_list(names_node) {
        cx.error(
            names_node,
            &names_path,
            "`names` must select at least one `<cluster>/<namespace>`",
        );
        return None;
    }
    let errors = cx.error_count();
    let mut out = Vec::new();
    for item in str_list(cx, names_node, &names_path) {
        let parts: Vec<&str> = item.value.split('/').collect();
        match parts.as_slice() {
            [cluster, namespace]
                if valid_selector_part(cluster) && valid_selector_part(namespace) =>
            {
                out.push(NamespaceSelector {
                    cluster: (*cluster).to_string(),
                    namespace: (*namespace).to_string(),
                });
            }
            _ => cx.error(
                item.node,
                &item.path(),
                format!(
                    "`{}` is not `<cluster>/<namespace>` (use `*` for any cluster or namespace, as in `*/ns1` or `c1/*`)",
                    item.value
                ),
            ),
        }
    }
    (cx.error_count() == errors).then_some(out)
}

/// A cluster or namespace part: a name, `*`, or a name with `*` wildcards.
fn valid_selector_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '*'))
}

/// The resource's workspace; reports `what` (then where a workspace is written, then `why`)
/// when it has none.
fn required_workspace(cx: &mut Cx, doc: &Doc, what: &str, why: &str) -> Option<String> {
    let workspace = doc.meta.workspace.clone();
    if workspace.is_none() {
        cx.error(
            doc.node,
            "metadata.workspace",
            format!("{what} (`metadata.workspace` or annotation `tsb.tetrate.io/workspace`){why}"),
        );
    }
    workspace
}
