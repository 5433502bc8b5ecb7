//! Cross-references between TSB resources, resolved once every document is read.

use crate::diagnostic::Diagnostic;
use crate::model::{Gateway, GatewayKind, Model, NamespaceSelector};

use super::TsbImporter;

/// Resolves references once everything is loaded: groups without a namespace selector take
/// their workspace's namespaces; egress routes get the namespaces of their TrafficSetting's
/// group (or workspace) as sources and the TSB egress gateway named by their host.
pub(super) fn link(state: TsbImporter, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    let Model {
        workspaces,
        groups,
        egress_routes,
        gateways,
        ..
    } = model;

    for (name, site) in &state.inheriting_groups {
        let workspace = name.split_once('/').map_or(name.as_str(), |(w, _)| w);
        let inherited: Vec<NamespaceSelector> = workspaces
            .iter()
            .filter(|w| w.name == workspace)
            .flat_map(|w| w.namespaces.iter().cloned())
            .collect();
        if inherited.is_empty() {
            diags.push(site.warning(format!(
                "group `{name}` selects no namespaces of its own and its workspace `{workspace}` is not loaded, so it covers no namespace"
            )));
        }
        for group in groups
            .iter_mut()
            .filter(|g| &g.name == name && g.namespaces.is_empty())
        {
            group.namespaces = inherited.clone();
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
        let scope = route.origin.namespace.as_str();
        let (sets, what) = if scope.contains('/') {
            (&*groups, "group")
        } else {
            (&*workspaces, "workspace")
        };
        route.sources = sets
            .iter()
            .filter(|s| s.name == scope)
            .flat_map(|s| s.namespaces.iter().cloned())
            .collect();
        if route.sources.is_empty() {
            diags.push(site.warning(format!(
                "{what} `{scope}` is not loaded (or selects no namespace), so this egress route covers no source"
            )));
        }
        let Some((namespace, fqdn)) = route.host.split_once('/') else {
            continue;
        };
        let service = fqdn.split('.').next().unwrap_or(fqdn);
        let names = |g: &&Gateway| {
            g.namespace == namespace
                && (g.id.name == service || g.labels.get("app").is_some_and(|a| a == service))
        };
        let mut found: Vec<&Gateway> = gateways
            .iter()
            .filter(|g| g.kind == GatewayKind::TsbEgressGateway)
            .filter(names)
            .collect();
        if found.is_empty() {
            found = gateways.iter().filter(names).collect();
        }
        match found.as_slice() {
            [] => diags.push(site.warning(format!(
                "egress host `{}` matches no loaded gateway in namespace `{namespace}` named `{service}` or labelled `app: {service}`; requests from these sources are not evaluated at a gateway",
                route.host
            ))),
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
}
