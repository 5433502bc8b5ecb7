//! Gloo `AccessPolicy` (`security.policy.gloo.solo.io/v2`): authorizations and the
//! destinations or workloads they apply to.

use crate::model::{
    Action, Caveat, Condition, Field, IpBlock, Model, NamespacePattern, NamespaceSelector,
    NamespaceSet, Operation, Origin, PathPattern, Policy, ResourceRef, Rule, RuleOrigin, Scope,
    ServiceAccountRef, Source, StringPattern, Vendor,
};
use crate::source::{Node, Value};

use super::super::decode::{enum_field, is_empty_list, join, list, map, values, Cx, Map, Site};
use super::super::Doc;
use super::{
    cluster, opt_str, port_selector, read_selector, DestinationTarget, GlooImporter,
    ObjectSelector, PendingPolicy, Target, OBJECT_SELECTOR_FIELDS,
};

/// What decoding one `AccessPolicy` found besides its rules: caveats that hold wherever it
/// attaches, and the cluster-restricted client sets its selectors name.
#[derive(Default)]
struct Notes {
    caveats: Vec<Caveat>,
    clusters: Vec<NamespaceSet>,
}

/// The name of the client set "namespace `namespace` (or any) of cluster `cluster`".
fn cluster_set_name(cluster: &str, namespace: Option<&str>) -> String {
    format!("gloo cluster {cluster}/{}", namespace.unwrap_or("*"))
}

const AUTHORIZATION_FIELDS: &[&str] = &[
    "allowedClients",
    "allowedPaths",
    "allowedMethods",
    "match",
    "allowedIpBlocks",
    "allowedRemoteIpBlocks",
    "dryRun",
];

/// `common.gloo.solo.io.DestinationKind`.
const DESTINATION_KINDS: &[&str] = &["SERVICE", "VIRTUAL_DESTINATION", "EXTERNAL_SERVICE"];

/// Decodes an `AccessPolicy` into one policy per dry-run setting, scoped in `link`.
pub(super) fn import(state: &mut GlooImporter, cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(
        cx,
        &["applyToDestinations", "applyToWorkloads", "config"],
        true,
    ) else {
        return;
    };
    let errors = cx.error_count();
    let id = ResourceRef::new("AccessPolicy", &doc.namespace(), &doc.meta.name);
    let mut notes = Notes::default();
    let target = access_target(cx, &spec, &mut notes.caveats);
    let mut entries: Vec<(bool, Option<Rule>)> = Vec::new();
    let mut has_authz = false;
    if let Some(node) = spec.get("config") {
        let path = spec.path_of("config");
        if let Some(config) = map(
            cx,
            node,
            &path,
            &["authn", "authz", "enforcementLayers", "authzList"],
        ) {
            if let Some(authn) = config.get("authn") {
                if let Some(authn) = map(cx, authn, config.path_of("authn"), &["tlsMode"]) {
                    enum_field(cx, &authn, "tlsMode", &["DISABLE", "PERMISSIVE", "STRICT"]);
                }
            }
            if let Some(layers) = config.get("enforcementLayers") {
                let layers_path = config.path_of("enforcementLayers");
                if let Some(layers) = map(cx, layers, &layers_path, &["cni", "mesh"]) {
                    layers.bool(cx, "cni");
                    if layers.bool(cx, "mesh") == Some(false) {
                        cx.warn(
                            layers.node,
                            &layers_path,
                            "`mesh: false`: Gloo enforces this policy only in the CNI (L4); egress-policy still evaluates it as a mesh policy",
                        );
                    }
                }
            }
            let list_node = config.get("authzList").filter(|n| !is_empty_list(n));
            if let Some(node) = list_node {
                for (item, item_path) in list(cx, node, &config.path_of("authzList")) {
                    if let Some(entry) = authorization(cx, item, &item_path, &mut notes) {
                        entries.push(entry);
                    }
                    has_authz = true;
                }
            }
            if let Some(node) = config.get("authz") {
                let authz_path = config.path_of("authz");
                let entry = authorization(cx, node, &authz_path, &mut notes);
                if list_node.is_some() {
                    cx.warn(
                        node,
                        &authz_path,
                        "deprecated `authz` is ignored because `authzList` is set",
                    );
                } else {
                    entries.extend(entry);
                    has_authz = true;
                }
            }
        }
    }
    if !has_authz {
        cx.warn(
            spec.node,
            "spec.config.authz",
            "no `authz` or `authzList`: this access policy allows no client",
        );
        entries.push((false, None));
    }
    if cx.error_count() != errors {
        return;
    }
    let Some(target) = target else {
        return;
    };
    for caveat in notes.caveats {
        let entry = (id.clone(), caveat);
        if !model.assumptions.contains(&entry) {
            model.assumptions.push(entry);
        }
    }
    for set in notes.clusters {
        if !model.groups.iter().any(|g| g.name == set.name) {
            model.groups.push(set);
        }
    }
    let target = std::rc::Rc::new(target);
    for dry_run in [false, true] {
        let bucket: Vec<&(bool, Option<Rule>)> =
            entries.iter().filter(|(d, _)| *d == dry_run).collect();
        if bucket.is_empty() {
            continue;
        }
        let rules = bucket.iter().filter_map(|(_, r)| r.clone()).collect();
        let shared = std::rc::Rc::clone(&target);
        state.policies.push(Some(PendingPolicy {
            id: id.clone(),
            dry_run,
            target: shared,
            site: Site::new(cx, doc.node, ""),
        }));
        model.policies.push(Policy {
            id: id.clone(),
            vendor: Vendor::Gloo,
            location: doc.location(),
            action: Action::Allow,
            scope: Scope::Services {
                services: Vec::new(),
            },
            dry_run,
            rules,
        });
    }
}

/// `applyToWorkloads` (preferred) or `applyToDestinations`.
fn access_target(cx: &mut Cx, spec: &Map, notes: &mut Vec<Caveat>) -> Option<Target> {
    let mut ok = true;
    let mut destinations = Vec::new();
    if let Some(node) = spec.get("applyToDestinations") {
        for (item, path) in list(cx, node, &spec.path_of("applyToDestinations")) {
            let Some(dest) = map(cx, item, &path, &["selector", "kind", "port"]) else {
                ok = false;
                continue;
            };
            let kind = match dest.get("kind") {
                Some(_) => match enum_field(cx, &dest, "kind", DESTINATION_KINDS) {
                    Some(kind) => kind,
                    None => {
                        ok = false;
                        continue;
                    }
                },
                None => "SERVICE".to_string(),
            };
            let external = kind == "EXTERNAL_SERVICE";
            if let Some(port) = dest.get("port") {
                let port_path = dest.path_of("port");
                if port_selector(cx, port, &port_path).is_some() && external {
                    cx.warn(
                        port,
                        &port_path,
                        "egress-policy applies access policies to every port of an ExternalService",
                    );
                }
            }
            let selector = match dest.get("selector") {
                Some(node) => read_selector(
                    cx,
                    node,
                    &dest.path_of("selector"),
                    OBJECT_SELECTOR_FIELDS,
                    notes,
                ),
                None => Some(ObjectSelector::default()),
            };
            match selector {
                Some(selector) => destinations.push(DestinationTarget {
                    external,
                    selector,
                    site: Site::new(cx, item, &path),
                }),
                None => ok = false,
            }
        }
    }
    let mut workloads = Vec::new();
    if let Some(node) = spec.get("applyToWorkloads") {
        for (item, path) in list(cx, node, &spec.path_of("applyToWorkloads")) {
            let Some(entry) = map(cx, item, &path, &["selector"]) else {
                ok = false;
                continue;
            };
            let selector = match entry.get("selector") {
                Some(node) => read_selector(
                    cx,
                    node,
                    &entry.path_of("selector"),
                    &["labels", "namespace", "cluster", "workspace"],
                    notes,
                ),
                None => Some(ObjectSelector::default()),
            };
            match selector {
                Some(selector) => workloads.push(selector),
                None => ok = false,
            }
        }
    }
    if !ok {
        return None;
    }
    if !workloads.is_empty() {
        if let Some(node) = spec
            .get("applyToDestinations")
            .filter(|n| !is_empty_list(n))
        {
            cx.warn(
                node,
                &spec.path_of("applyToDestinations"),
                "`applyToDestinations` is ignored because `applyToWorkloads` is set",
            );
        }
        return Some(Target::Workloads(workloads));
    }
    if !destinations.is_empty() {
        return Some(Target::Destinations(destinations));
    }
    Some(Target::All)
}

/// One `Authorization`: `(dryRun, rule)`; no rule when it admits no client.
fn authorization(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    notes: &mut Notes,
) -> Option<(bool, Option<Rule>)> {
    let authz = map(cx, node, path, AUTHORIZATION_FIELDS)?;
    let errors = cx.error_count();
    let dry_run = authz.bool(cx, "dryRun").unwrap_or(false);

    // Clients: absent or empty admits nobody; an empty selector admits everybody.
    let mut any_client = false;
    let mut sources = Vec::new();
    let mut clients_of_sources = Vec::new();
    if let Some(clients) = authz.get("allowedClients") {
        for (k, (item, item_path)) in list(cx, clients, &authz.path_of("allowedClients"))
            .into_iter()
            .enumerate()
        {
            match client_source(cx, item, &item_path, notes) {
                Some(Some(source)) => {
                    sources.push(source);
                    clients_of_sources.push(k);
                }
                Some(None) => any_client = true,
                None => {}
            }
        }
    }
    let no_client = !any_client && sources.is_empty();

    let ip_blocks = ip_list(cx, &authz, "allowedIpBlocks");
    let remote_ip_blocks = ip_list(cx, &authz, "allowedRemoteIpBlocks");
    let methods: Vec<StringPattern> = authz
        .str_list(cx, "allowedMethods")
        .into_iter()
        .map(|item| {
            if item.value != item.value.to_ascii_uppercase() {
                cx.warn(
                    item.node,
                    &item.path(),
                    format!(
                        "method `{}` is not upper case; Envoy rejects such requests before authorization, so it never matches",
                        item.value
                    ),
                );
            }
            StringPattern::parse(&item.value)
        })
        .collect();
    let mut paths = Vec::new();
    for item in authz.str_list(cx, "allowedPaths") {
        match PathPattern::parse(&item.value) {
            Ok(pattern) => paths.push(pattern),
            Err(invalid) => cx.error(item.node, &item.path(), invalid.0),
        }
    }
    let when = match authz.get("match") {
        Some(node) => header_conditions(cx, node, &authz.path_of("match")),
        None => Vec::new(),
    };
    if cx.error_count() != errors {
        return None;
    }
    if no_client {
        return Some((dry_run, None));
    }

    let mut from = if any_client { None } else { Some(sources) };
    if !ip_blocks.is_empty() || !remote_ip_blocks.is_empty() {
        let list = from.get_or_insert_with(|| vec![Source::default()]);
        for source in list.iter_mut() {
            source.ip_blocks = values(ip_blocks.clone());
            source.remote_ip_blocks = values(remote_ip_blocks.clone());
        }
    }
    let to = (!methods.is_empty() || !paths.is_empty()).then(|| {
        vec![Operation {
            methods: values(methods),
            paths: values(paths),
            ..Operation::default()
        }]
    });
    let mut rule = Rule {
        from,
        to,
        when,
        location: Some(node.location(cx.file)),
        ..Rule::default()
    };
    rule.origin = origin(node, path, &clients_of_sources, &rule);
    Some((dry_run, Some(rule)))
}

fn ip_list(cx: &mut Cx, m: &Map, key: &str) -> Vec<IpBlock> {
    let mut out = Vec::new();
    for item in m.str_list(cx, key) {
        match IpBlock::parse(&item.value) {
            Some(block) => out.push(block),
            None => cx.error(
                item.node,
                &item.path(),
                format!("`{}` is not an IP address or CIDR block", item.value),
            ),
        }
    }
    out
}

/// `match.request.headers`: one condition per header.
fn header_conditions(cx: &mut Cx, node: &Node, path: &str) -> Vec<Condition> {
    let mut out = Vec::new();
    let Some(spec) = map(cx, node, path, &["request"]) else {
        return out;
    };
    let Some(request) = spec.map(cx, "request", &["headers"]) else {
        return out;
    };
    let Some(headers) = request.map(cx, "headers", &["*"]) else {
        return out;
    };
    let Value::Map(entries) = &headers.node.value else {
        return out;
    };
    for (key, value) in entries {
        let header_path = join(&headers.path, &key.name);
        let Some(header) = map(cx, value, &header_path, &["values", "notValues"]) else {
            continue;
        };
        let field = Field {
            values: header
                .str_list(cx, "values")
                .iter()
                .map(|i| StringPattern::parse(&i.value))
                .collect(),
            not_values: header
                .str_list(cx, "notValues")
                .iter()
                .map(|i| StringPattern::parse(&i.value))
                .collect(),
        };
        if !field.is_set() {
            cx.error(
                value,
                &header_path,
                "a header match needs `values` or `notValues`",
            );
            continue;
        }
        out.push(Condition::RequestHeader {
            name: key.name.to_ascii_lowercase(),
            field,
        });
    }
    out
}

/// One `allowedClients` entry (`IdentitySelector`): `Some(None)` admits any client.
fn client_source(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    notes: &mut Notes,
) -> Option<Option<Source>> {
    let client = map(
        cx,
        node,
        path,
        &[
            "serviceAccountSelector",
            "externalWorkloadSelector",
            "requestIdentityMatcher",
        ],
    )?;
    if let Some(external) = client.get("externalWorkloadSelector") {
        cx.error(
            external,
            &client.path_of("externalWorkloadSelector"),
            "`externalWorkloadSelector` (VM identities) is not supported by egress-policy",
        );
        return None;
    }
    let account = client.get("serviceAccountSelector");
    let matcher = client.get("requestIdentityMatcher");
    if account.is_none() && matcher.is_none() {
        return Some(None);
    }
    let mut source = Source::default();
    if let Some(node) = account {
        let account_path = client.path_of("serviceAccountSelector");
        let selector = map(cx, node, &account_path, OBJECT_SELECTOR_FIELDS)?;
        let name = opt_str(cx, &selector, "name");
        let namespace = opt_str(cx, &selector, "namespace");
        let labels = selector.labels(cx, "labels");
        let in_cluster = cluster(cx, &selector, &mut notes.caveats);
        // `workspace`: "Only select objects in the given workspace"; resolved in `link`
        // (a workspace that is not loaded leaves the selector unnarrowed, with a caveat).
        let in_workspace = opt_str(cx, &selector, "workspace");
        for (key, value) in [("name", &name), ("namespace", &namespace)] {
            if let (Some(text), Some(at)) = (value, selector.get(key)) {
                if text.contains('*') {
                    cx.error(
                        at,
                        &selector.path_of(key),
                        format!("wildcards in serviceAccountSelector.{key} are not supported"),
                    );
                    return None;
                }
            }
        }
        match (name, namespace) {
            (Some(name), Some(namespace)) => {
                source.service_accounts = values(vec![ServiceAccountRef { namespace, name }]);
            }
            (None, Some(namespace)) => {
                source.namespaces = values(vec![NamespacePattern { glob: namespace }]);
            }
            (Some(name), None) => {
                source.principals = values(vec![StringPattern::Suffix(format!("/sa/{name}"))]);
            }
            (None, None) if labels.is_empty() => {
                // `{}` or cluster-only: any service account, that is any mTLS identity.
                source.principals = values(vec![StringPattern::Presence]);
            }
            (None, None) => {}
        }
        if !labels.is_empty() {
            source.service_account_labels = values(vec![labels]);
        }
        if let Some(workspace) = in_workspace {
            source.workspaces = values(vec![super::scope::set_name(&workspace)]);
        }
        if let Some(in_cluster) = in_cluster {
            // ObjectSelector.cluster: "Only select objects in the matching cluster". The
            // source's cluster is the request's `source.cluster`.
            let name = cluster_set_name(&in_cluster, namespace_of(&source));
            if !notes.clusters.iter().any(|c| c.name == name) {
                notes.clusters.push(NamespaceSet {
                    id: ResourceRef::new("Cluster", "", &in_cluster),
                    name: name.clone(),
                    namespaces: vec![NamespaceSelector {
                        cluster: in_cluster.clone(),
                        namespace: namespace_of(&source).unwrap_or("*").to_string(),
                    }],
                });
            }
            source.groups = values(vec![name]);
            let caveat = Caveat {
                code: "source_cluster_assumed".to_string(),
                message: format!(
                    "`{account_path}` only selects service accounts of cluster `{in_cluster}`: a request that gives no `source.cluster` is assumed to come from that cluster"
                ),
                resource: None,
            };
            if !super::is_template(&in_cluster) && !notes.caveats.contains(&caveat) {
                notes.caveats.push(caveat);
            }
        }
    }
    if let Some(node) = matcher {
        let matcher = map(
            cx,
            node,
            client.path_of("requestIdentityMatcher"),
            &["requestPrincipals", "notRequestPrincipals"],
        )?;
        source.request_principals = Field {
            values: matcher
                .str_list(cx, "requestPrincipals")
                .iter()
                .map(|i| StringPattern::parse(&i.value))
                .collect(),
            not_values: matcher
                .str_list(cx, "notRequestPrincipals")
                .iter()
                .map(|i| StringPattern::parse(&i.value))
                .collect(),
        };
    }
    Some(Some(source))
}

/// The namespace a client source is restricted to, if one.
fn namespace_of(source: &Source) -> Option<&str> {
    source
        .service_accounts
        .values
        .first()
        .map(|sa| sa.namespace.as_str())
        .or_else(|| source.namespaces.values.first().map(|n| n.glob.as_str()))
}

/// Where the parts of the rule decoded from the `Authorization` at `path` were written:
/// source `j` comes from `allowedClients[clients[j]]`, the IP blocks, methods and paths from
/// the `allowed*` lists, condition `h` from the `h`-th header of `match.request.headers`.
fn origin(node: &Node, path: &str, clients: &[usize], rule: &Rule) -> RuleOrigin {
    let mut origin = Origin::at(path.to_string());
    for j in 0..rule.from.as_ref().map_or(0, Vec::len) {
        let source = format!("from[{j}].source");
        for (field, user) in [
            ("ipBlocks", "allowedIpBlocks"),
            ("notIpBlocks", "allowedIpBlocks"),
            ("remoteIpBlocks", "allowedRemoteIpBlocks"),
            ("notRemoteIpBlocks", "allowedRemoteIpBlocks"),
        ] {
            origin.map(format!("{source}.{field}"), format!("{path}.{user}"), false);
        }
        let Some(k) = clients.get(j) else {
            continue;
        };
        let client = format!("{path}.allowedClients[{k}]");
        let selector = format!("{client}.serviceAccountSelector");
        let named = node
            .get("allowedClients")
            .and_then(|c| match &c.value {
                Value::Seq(items) => items.get(*k),
                _ => None,
            })
            .and_then(|c| c.get("serviceAccountSelector"))
            .is_some_and(|s| s.get("name").is_some());
        let principal = if named {
            format!("{selector}.name")
        } else {
            selector.clone()
        };
        let matcher = format!("{client}.requestIdentityMatcher");
        for (field, user) in [
            ("principals", principal),
            ("serviceAccounts", selector.clone()),
            ("namespaces", format!("{selector}.namespace")),
            ("groups", format!("{selector}.cluster")),
            ("requestPrincipals", format!("{matcher}.requestPrincipals")),
            (
                "notRequestPrincipals",
                format!("{matcher}.notRequestPrincipals"),
            ),
        ] {
            origin.map(format!("{source}.{field}"), user, false);
        }
        origin.map(source, client, true);
    }
    origin.map(
        "to[0].operation.methods",
        format!("{path}.allowedMethods"),
        false,
    );
    origin.map(
        "to[0].operation.paths",
        format!("{path}.allowedPaths"),
        false,
    );
    let headers = node
        .get("match")
        .and_then(|m| m.get("request"))
        .and_then(|r| r.get("headers"));
    if let Some(Value::Map(entries)) = headers.map(|h| &h.value) {
        for (h, (key, _)) in entries.iter().enumerate() {
            let user = join(&format!("{path}.match.request.headers"), &key.name);
            origin.map(format!("when[{h}]"), user, true);
        }
    }
    RuleOrigin::new(origin)
}
