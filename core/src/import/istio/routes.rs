//! Gateway API routes (`HTTPRoute`, `GRPCRoute`, `TLSRoute`, `TCPRoute`) as Istio programs
//! them: a route whose parent is a `Gateway` applies at that gateway, a route whose parent
//! is a `ServiceEntry` or `Service` (GAMMA) applies to the mesh's traffic for that
//! service's hosts. Both become [`VirtualService`] entries of the model, so the road reads
//! one kind of route.

use crate::model::{
    HeaderMutations, HttpRoute, L4Match, L4Route, Labels, Model, ResourceRef, RouteDestination,
    RouteMatch, UriMatch, VirtualService,
};
use crate::source::Node;

use super::super::decode::{map, Cx, Map};
use super::super::Doc;
use super::top_level;

/// A mesh route's parent whose hosts are known only once every resource is loaded.
#[derive(Debug, Clone)]
pub(crate) struct PendingParent {
    /// Index of the route in `model.virtual_services`.
    pub route: usize,
    /// The ServiceEntry or Service.
    pub parent: ResourceRef,
}

/// `HTTPRoute` / `GRPCRoute` / `TLSRoute` / `TCPRoute` → [`VirtualService`].
pub(super) fn route(cx: &mut Cx, doc: &Doc, model: &mut Model, pending: &mut Vec<PendingParent>) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let kind = doc.kind.as_str();
    let mut vs = VirtualService::empty(
        ResourceRef::new(kind, &namespace, &doc.meta.name),
        Some(doc.location()),
    );
    let mut parents = Vec::new();
    if let Some(spec) = doc.spec(
        cx,
        &["parentRefs", "hostnames", "rules", "useDefaultGateways"],
        true,
    ) {
        vs.hosts = spec.str_values(cx, "hostnames");
        for (node, path) in spec.list(cx, "parentRefs") {
            let Some(parent) = map(
                cx,
                node,
                &path,
                &["group", "kind", "namespace", "name", "sectionName", "port"],
            ) else {
                continue;
            };
            let name = parent.str(cx, "name").unwrap_or_default();
            if name.is_empty() {
                cx.error(node, &parent.path_of("name"), "missing field `name`");
                continue;
            }
            let ns = parent
                .str(cx, "namespace")
                .unwrap_or_else(|| namespace.clone());
            match parent.str(cx, "kind").as_deref().unwrap_or("Gateway") {
                "Gateway" => vs.gateways.push(format!("{ns}/{name}")),
                kind @ ("ServiceEntry" | "Service") => {
                    if !vs.gateways.iter().any(|g| g == "mesh") {
                        vs.gateways.push("mesh".to_string());
                    }
                    parents.push(ResourceRef::new(kind, &ns, &name));
                }
                other => cx.warn(
                    node,
                    &parent.path_of("kind"),
                    format!("parentRef kind `{other}` is not modelled; the route ignores it"),
                ),
            }
        }
        for (node, path) in spec.list(cx, "rules") {
            match kind {
                "HTTPRoute" | "GRPCRoute" => {
                    if let Some(route) = http_rule(cx, node, &path, &namespace, kind) {
                        vs.http.push(route);
                    }
                }
                _ => {
                    if let Some(route) = l4_rule(cx, node, &path, &namespace) {
                        vs.l4.push(route);
                    }
                }
            }
        }
    }
    if vs.hosts.is_empty() && parents.is_empty() {
        // A route without hostnames takes every host its gateway's listeners accept.
        vs.hosts.push("*".to_string());
    }
    let index = model.virtual_services.len();
    for parent in parents {
        pending.push(PendingParent {
            route: index,
            parent,
        });
    }
    model.virtual_services.push(vs);
}

/// Fills the hosts of mesh routes from their parents: a ServiceEntry's `hosts`, a
/// Service's cluster-local name.
pub(crate) fn link(model: &mut Model, pending: &[PendingParent]) {
    for p in pending {
        let hosts: Vec<String> = match p.parent.kind.as_str() {
            "ServiceEntry" => model
                .services
                .iter()
                .filter(|s| s.id.kind == "ServiceEntry" && s.id.name == p.parent.name)
                .filter(|s| s.id.namespace == p.parent.namespace)
                .flat_map(|s| s.hosts.clone())
                .collect(),
            _ => vec![format!(
                "{}.{}.svc.cluster.local",
                p.parent.name, p.parent.namespace
            )],
        };
        if let Some(vs) = model.virtual_services.get_mut(p.route) {
            if vs.hosts.is_empty() {
                vs.hosts = hosts;
            }
        }
    }
}

/// The destination of the first `backendRefs` entry.
fn backend(cx: &mut Cx, m: &Map, namespace: &str) -> Option<RouteDestination> {
    let (node, path) = m.list(cx, "backendRefs").into_iter().next()?;
    let b = map(
        cx,
        node,
        &path,
        &[
            "group",
            "kind",
            "name",
            "namespace",
            "port",
            "weight",
            "filters",
        ],
    )?;
    let name = b.str(cx, "name").unwrap_or_default();
    let ns = b
        .str(cx, "namespace")
        .unwrap_or_else(|| namespace.to_string());
    let host = match b.str(cx, "kind").as_deref().unwrap_or("Service") {
        // Istio's `networking.istio.io/Hostname` backend names the host itself.
        "Hostname" => name,
        "ServiceEntry" => name,
        _ => format!("{name}.{ns}.svc.cluster.local"),
    };
    Some(RouteDestination {
        host,
        port: b.port(cx, "port"),
        subset: None,
    })
}

fn http_rule(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    namespace: &str,
    kind: &str,
) -> Option<HttpRoute> {
    let m = map(
        cx,
        node,
        path,
        &[
            "name",
            "matches",
            "filters",
            "backendRefs",
            "timeouts",
            "retry",
            "sessionPersistence",
        ],
    )?;
    let mut route = HttpRoute {
        matches: Vec::new(),
        headers: HeaderMutations::default(),
        destination_host: None,
        destination_port: None,
        answer: None,
    };
    for (item, item_path) in m.list(cx, "matches") {
        let Some(entry) = map(
            cx,
            item,
            &item_path,
            &["path", "headers", "queryParams", "method"],
        ) else {
            continue;
        };
        let mut rm = RouteMatch::default();
        if kind == "HTTPRoute" {
            if let Some(p) = entry.map(cx, "path", &["type", "value"]) {
                let value = p.str(cx, "value").unwrap_or_else(|| "/".to_string());
                rm.uri = Some(match p.str(cx, "type").as_deref().unwrap_or("PathPrefix") {
                    "Exact" => UriMatch::Exact(value),
                    "RegularExpression" => UriMatch::Regex(value),
                    // PathPrefix matches whole segments: `/a` matches `/a` and `/a/b`.
                    _ if value == "/" => UriMatch::Prefix(value),
                    _ => UriMatch::Regex(format!(
                        "{}(/.*)?",
                        regex::escape(value.trim_end_matches('/'))
                    )),
                });
            }
            if let Some(method) = entry.str(cx, "method") {
                rm.method = Some(method);
            }
        } else if let Some(method) = entry.get("method") {
            cx.warn(
                method,
                &entry.path_of("method"),
                "GRPCRoute method matches are not modelled; the match is evaluated without them",
            );
        }
        for (h, h_path) in entry.list(cx, "headers") {
            let Some(header) = map(cx, h, &h_path, &["type", "name", "value"]) else {
                continue;
            };
            let name = header
                .str(cx, "name")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let value = header.str(cx, "value").unwrap_or_default();
            let matcher = match header.str(cx, "type").as_deref() {
                Some("RegularExpression") => UriMatch::Regex(value),
                _ => UriMatch::Exact(value),
            };
            rm.headers.push((name, matcher));
        }
        route.matches.push(rm);
    }
    for (f, f_path) in m.list(cx, "filters") {
        let Some(filter) = map(cx, f, &f_path, &["*"]) else {
            continue;
        };
        match filter.str(cx, "type").as_deref() {
            Some("RequestHeaderModifier") => {
                if let Some(modifier) =
                    filter.map(cx, "requestHeaderModifier", &["set", "add", "remove"])
                {
                    let pairs = |cx: &mut Cx, key: &str| -> Labels {
                        modifier
                            .list(cx, key)
                            .into_iter()
                            .filter_map(|(n, p)| {
                                let pair = map(cx, n, &p, &["name", "value"])?;
                                Some((
                                    pair.str(cx, "name")
                                        .unwrap_or_default()
                                        .to_ascii_lowercase(),
                                    pair.str(cx, "value").unwrap_or_default(),
                                ))
                            })
                            .collect()
                    };
                    route.headers.set.extend(pairs(cx, "set"));
                    route.headers.add.extend(pairs(cx, "add"));
                    route.headers.remove.extend(
                        modifier
                            .str_list(cx, "remove")
                            .into_iter()
                            .map(|i| i.value.to_ascii_lowercase()),
                    );
                }
            }
            Some("RequestRedirect") => {
                let code = filter
                    .map(cx, "requestRedirect", &["*"])
                    .and_then(|r| r.port(cx, "statusCode"))
                    .unwrap_or(302);
                route.answer = Some(crate::model::Answer {
                    status: code,
                    kind: crate::model::AnswerKind::RequestRedirect,
                    always: true,
                });
            }
            _ => {}
        }
    }
    if let Some(dest) = backend(cx, &m, namespace) {
        route.destination_host = Some(dest.host);
        route.destination_port = dest.port;
    }
    Some(route)
}

fn l4_rule(cx: &mut Cx, node: &Node, path: &str, namespace: &str) -> Option<L4Route> {
    let m = map(cx, node, path, &["name", "backendRefs"])?;
    Some(L4Route {
        matches: vec![L4Match::default()],
        destination: backend(cx, &m, namespace),
    })
}
