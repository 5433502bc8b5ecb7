//! Cross-references between TSB resources, resolved once every document is read.
//!
//! TSB's API server refuses a resource whose parent (workspace, group) does not exist: the
//! parent is part of the resource's name. An offline load can still lack them (the API
//! reference's own EgressGateway example names workspace `w1` and traffic group `t1` and
//! defines neither). Nothing here silently matches nobody: a missing workspace is assumed
//! to own every namespace (`*/*`), a missing group to cover its workspace's namespaces (what
//! TSB documents for a group without `namespaceSelector`); each assumption is a load
//! warning at the referencing line and a caveat on every decision that relies on it
//! (SEMANTICS.md §8.3).

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::model::{
    Caveat, Gateway, GatewayKind, Model, NamespaceSelector, NamespaceSet, ResourceRef,
};

use super::super::decode::Site;
use super::TsbImporter;

/// Workspaces and groups, with the caveats their use implies (empty: loaded as written).
struct Sets<'m> {
    workspaces: &'m mut Vec<NamespaceSet>,
    groups: &'m mut Vec<NamespaceSet>,
    /// `workspace:NAME` / `group:WS/NAME` → what was assumed about it.
    assumed: BTreeMap<String, Vec<Caveat>>,
}

impl Sets<'_> {
    /// Makes sure workspace `name` exists; returns what was assumed about it.
    fn workspace(&mut self, name: &str, site: &Site, diags: &mut Vec<Diagnostic>) -> Vec<Caveat> {
        let key = format!("workspace:{name}");
        if let Some(caveats) = self.assumed.get(&key) {
            if !caveats.is_empty() {
                push_once(diags, site.warning(missing_workspace(name)));
            }
            return caveats.clone();
        }
        let caveats = if self.workspaces.iter().any(|w| w.name == name) {
            Vec::new()
        } else {
            push_once(diags, site.warning(missing_workspace(name)));
            let id = ResourceRef::new("Workspace", "", name);
            self.workspaces.push(NamespaceSet {
                id: id.clone(),
                name: name.to_string(),
                namespaces: vec![NamespaceSelector {
                    cluster: "*".to_string(),
                    namespace: "*".to_string(),
                }],
            });
            vec![Caveat {
                code: "workspace_not_loaded".to_string(),
                message: format!(
                    "TSB workspace `{name}` is not loaded: assuming it owns every namespace of every cluster (`*/*`)"
                ),
                resource: Some(id),
            }]
        };
        self.assumed.insert(key, caveats.clone());
        caveats
    }

    /// Makes sure group `workspace/group` exists; returns what was assumed about it (and its
    /// workspace).
    fn group(&mut self, path: &str, site: &Site, diags: &mut Vec<Diagnostic>) -> Vec<Caveat> {
        let key = format!("group:{path}");
        if let Some(caveats) = self.assumed.get(&key) {
            if caveats.iter().any(|c| c.code == "group_not_loaded") {
                push_once(diags, site.warning(missing_group(path)));
            }
            return caveats.clone();
        }
        let (workspace, group) = path.split_once('/').unwrap_or((path, ""));
        let mut caveats = self.workspace(workspace, site, diags);
        if !self.groups.iter().any(|g| g.name == path) {
            push_once(diags, site.warning(missing_group(path)));
            let namespaces = self.namespaces_of_workspace(workspace);
            let id = ResourceRef::new("Group", workspace, group);
            self.groups.push(NamespaceSet {
                id: id.clone(),
                name: path.to_string(),
                namespaces,
            });
            caveats.push(Caveat {
                code: "group_not_loaded".to_string(),
                message: format!(
                    "TSB group `{group}` of workspace `{workspace}` is not loaded (TSB's API server would refuse what names it): assuming it covers every namespace of the workspace, as a group without `namespaceSelector` does"
                ),
                resource: Some(id),
            });
        }
        self.assumed.insert(key, caveats.clone());
        caveats
    }

    fn namespaces_of_workspace(&self, workspace: &str) -> Vec<NamespaceSelector> {
        self.workspaces
            .iter()
            .filter(|w| w.name == workspace)
            .flat_map(|w| w.namespaces.iter().cloned())
            .collect()
    }
}

fn missing_workspace(name: &str) -> String {
    format!(
        "workspace `{name}` is not loaded (TSB's API server refuses resources whose workspace does not exist): assuming it owns every namespace (`*/*`); decisions that rely on it carry caveat `workspace_not_loaded`"
    )
}

fn missing_group(path: &str) -> String {
    let (workspace, group) = path.split_once('/').unwrap_or((path, ""));
    format!(
        "group `{group}` of workspace `{workspace}` is not loaded (TSB's API server refuses resources whose group does not exist): assuming it covers the namespaces of workspace `{workspace}`; decisions that rely on it carry caveat `group_not_loaded`"
    )
}

fn push_once(diags: &mut Vec<Diagnostic>, diagnostic: Diagnostic) {
    if !diags.contains(&diagnostic) {
        diags.push(diagnostic);
    }
}

/// Resolves references once everything is loaded: groups without a namespace selector take
/// their workspace's namespaces; workspaces and groups that are named but not loaded are
/// assumed (with warnings and caveats); egress routes get the namespaces of their
/// TrafficSetting's group (or workspace) as sources and the TSB egress gateway named by
/// their host; policies whose rules name an assumed workspace or group record the
/// assumption in [`Model::assumptions`].
pub(super) fn link(state: TsbImporter, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    let Model {
        workspaces,
        groups,
        egress_routes,
        gateways,
        assumptions,
        ..
    } = model;
    let mut sets = Sets {
        workspaces,
        groups,
        assumed: BTreeMap::new(),
    };

    for (name, site) in &state.inheriting_groups {
        let workspace = name.split_once('/').map_or(name.as_str(), |(w, _)| w);
        let caveats = sets.workspace(workspace, site, diags);
        let inherited = sets.namespaces_of_workspace(workspace);
        for group in sets
            .groups
            .iter_mut()
            .filter(|g| &g.name == name && g.namespaces.is_empty())
        {
            group.namespaces = inherited.clone();
        }
        sets.assumed.insert(format!("group:{name}"), caveats);
    }

    for (policy, reference) in &state.rule_refs {
        let caveats = if reference.group {
            sets.group(&reference.name, &reference.site, diags)
        } else {
            sets.workspace(&reference.name, &reference.site, diags)
        };
        for caveat in caveats {
            let entry = (policy.clone(), caveat);
            if !assumptions.contains(&entry) {
                assumptions.push(entry);
            }
        }
    }

    for route in egress_routes.iter_mut() {
        let Some(site) = state
            .routes
            .iter()
            .find(|(origin, _)| origin == &route.origin)
            .map(|(_, site)| site)
        else {
            continue;
        };
        let scope = route.origin.namespace.clone();
        let (caveats, sources) = if scope.contains('/') {
            let caveats = sets.group(&scope, site, diags);
            let sources = sets
                .groups
                .iter()
                .filter(|g| g.name == scope)
                .flat_map(|g| g.namespaces.iter().cloned())
                .collect();
            (caveats, sources)
        } else {
            let caveats = sets.workspace(&scope, site, diags);
            (caveats, sets.namespaces_of_workspace(&scope))
        };
        route.sources = sources;
        route.caveats.extend(caveats);
        resolve_gateway(route, gateways, site, diags);
    }
}

/// The TSB egress gateway an egress route's host (`namespace/fqdn`) names: a gateway in that
/// namespace named like the service or labelled `app: <service>`; else the only TSB egress
/// gateway so named or labelled in another namespace (with a caveat); else the host itself,
/// as a gateway that is not loaded (the road then says so).
fn resolve_gateway(
    route: &mut crate::model::EgressRoute,
    gateways: &[Gateway],
    site: &Site,
    diags: &mut Vec<Diagnostic>,
) {
    let Some((namespace, fqdn)) = route.host.split_once('/') else {
        return;
    };
    let service = fqdn.split('.').next().unwrap_or(fqdn);
    let named =
        |g: &&Gateway| g.id.name == service || g.labels.get("app").is_some_and(|a| a == service);
    let mut found: Vec<&Gateway> = gateways
        .iter()
        .filter(|g| g.kind == GatewayKind::TsbEgressGateway && g.namespace == namespace)
        .filter(named)
        .collect();
    if found.is_empty() {
        found = gateways
            .iter()
            .filter(|g| g.namespace == namespace)
            .filter(named)
            .collect();
    }
    if found.is_empty() {
        let elsewhere: Vec<&Gateway> = gateways
            .iter()
            .filter(|g| g.kind == GatewayKind::TsbEgressGateway)
            .filter(named)
            .collect();
        if let [only] = elsewhere.as_slice() {
            diags.push(site.warning(format!(
                "egress host `{}` names namespace `{namespace}` but the only EgressGateway named or labelled `{service}` runs in namespace `{}`: assuming the sidecars reach {} through this host",
                route.host, only.namespace, only.id
            )));
            route.caveats.push(Caveat {
                code: "gateway_namespace_mismatch".to_string(),
                message: format!(
                    "{} sends unknown traffic to `{}`, but {} selects pods in namespace `{}`: assuming that gateway is the one the host reaches",
                    route.origin, route.host, only.id, only.namespace
                ),
                resource: Some(only.id.clone()),
            });
            route.gateway = Some(only.id.clone());
            return;
        }
    }
    match found.as_slice() {
        [] => {
            let reference = ResourceRef::new("EgressGateway", namespace, service);
            diags.push(site.warning(format!(
                "egress host `{}` matches no loaded gateway in namespace `{namespace}` named `{service}` or labelled `app: {service}`; requests from these sources are decided as if an unknown gateway forwarded them",
                route.host
            )));
            route.gateway = Some(reference);
        }
        [only] => route.gateway = Some(only.id.clone()),
        [first, ..] => {
            diags.push(site.warning(format!(
                "egress host `{}` matches {} gateways; using {}",
                route.host,
                found.len(),
                first.id
            )));
            route.gateway = Some(first.id.clone());
        }
    }
}
