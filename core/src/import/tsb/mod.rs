//! Tetrate Service Bridge resources (SEMANTICS.md §4, §8.3): `EgressGateway`,
//! `TrafficSetting`, `Workspace`, the security / traffic / gateway `Group`s, `Tenant` and
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
//! The small decoding helpers marked `pub(super)` here are shared with the Gloo importer.

use std::cell::Cell;

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::model::{
    EgressRoute, Field, Gateway, GatewayKind, HostPattern, Model, NamespacePattern,
    NamespaceSelector, NamespaceSet, Operation, Policy, ResourceRef, Rule, Scope,
    ServiceAccountRef, Source, StringPattern, Vendor,
};
use crate::source::{Node, Value};

use super::decode::{list, map, str_list, string, Cx, Item, Map};
use super::Doc;

#[cfg(test)]
mod tests;

/// The port sidecars send unknown traffic to at a TSB egress gateway (mTLS).
pub(crate) const EGRESS_PORT: u16 = 15443;

/// `AuthorizationSettings.Mode` values (terraform-provider-tsb docs list them in strictness
/// order: `UNSET`, `DISABLED`, `CLUSTER`, `WORKSPACE`, `NAMESPACE`, `GROUP`, `RULES`, `CUSTOM`).
const AUTHZ_MODES: &[&str] = &[
    "UNSET",
    "DISABLED",
    "CLUSTER",
    "WORKSPACE",
    "NAMESPACE",
    "GROUP",
    "RULES",
    "CUSTOM",
];

/// `AuthorizationSettings.identityMatch` values.
const IDENTITY_MATCH: &[&str] = &["SOURCE_IDENTITY", "PEER_CERTIFICATE", "PERMISSIVE"];

/// `ReachabilitySettings.Mode` values.
const REACHABILITY_MODES: &[&str] = &[
    "UNSET",
    "NAMESPACE",
    "GROUP",
    "WORKSPACE",
    "CLUSTER",
    "CUSTOM",
];

/// Top-level keys of every TSB document.
const DOC_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// Fields every TSB spec may carry besides its own.
const COMMON_SPEC: &[&str] = &[
    "displayName",
    "description",
    "etag",
    "fqn",
    "configGenerationMetadata",
];

const EGRESS_GATEWAY_FIELDS: &[&str] = &["workloadSelector", "authorization", "extension"];

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

/// Where something was written, for diagnostics raised in [`link`] (shared with Gloo).
#[derive(Debug, Clone)]
pub(super) struct Site {
    location: Location,
    resource: Option<String>,
    field: String,
}

impl Site {
    pub(super) fn new(cx: &Cx, node: &Node, field: &str) -> Self {
        Site {
            location: node.location(cx.file),
            resource: cx.resource.clone(),
            field: field.to_string(),
        }
    }

    pub(super) fn warning(&self, message: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            location: self.location.clone(),
            resource: self.resource.clone(),
            field: (!self.field.is_empty()).then(|| self.field.clone()),
            message,
        }
    }
}

/// What [`import`] leaves for [`link`] to resolve.
///
/// The model has no room for source locations of egress routes and groups, so they are
/// kept here, per thread, between the imports and the link of one
/// [`Loader::load`](super::Loader::load) (which runs both on one thread without yielding);
/// [`link`] always drains it.
#[derive(Debug, Default)]
struct Pending {
    /// Egress routes by origin, with where their host was written.
    routes: Vec<(ResourceRef, Site)>,
    /// Groups (`workspace/group`) without `namespaceSelector`: they take the workspace's.
    inheriting_groups: Vec<(String, Site)>,
}

thread_local! {
    static PENDING: Cell<Pending> = Cell::new(Pending::default());
}

fn pending(update: impl FnOnce(&mut Pending)) {
    PENDING.with(|cell| {
        let mut state = cell.take();
        update(&mut state);
        cell.set(state);
    });
}

/// Imports the document if it is a TSB kind; returns whether it was.
pub(crate) fn import(cx: &mut Cx, doc: &Doc, model: &mut Model) -> bool {
    let kind = doc.kind.as_str();
    let handler: fn(&mut Cx, &Doc, &mut Model) = match (doc.group.as_str(), kind) {
        ("gateway.tsb.tetrate.io", "EgressGateway") => import_egress_gateway,
        ("traffic.tsb.tetrate.io", "TrafficSetting") => import_traffic_setting,
        ("api.tsb.tetrate.io" | "tsb.tetrate.io", "Workspace") => import_workspace,
        (
            "security.tsb.tetrate.io" | "traffic.tsb.tetrate.io" | "gateway.tsb.tetrate.io",
            "Group",
        ) => import_group,
        ("api.tsb.tetrate.io" | "tsb.tetrate.io", "Tenant" | "Organization") => import_tenancy,
        _ => return false,
    };
    map(cx, doc.node, "", DOC_FIELDS);
    if doc.require_version(cx, "v2") {
        handler(cx, doc, model);
    }
    true
}

/// The spec's allowed keys: the kind's own plus the common ones.
fn spec_fields(own: &[&'static str]) -> Vec<&'static str> {
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
fn group_path(cx: &mut Cx, doc: &Doc, annotation: &str) -> Option<String> {
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

/// A required field: reports it when missing (or null).
pub(super) fn required<'n>(cx: &mut Cx, m: &Map<'n>, key: &str, hint: &str) -> Option<&'n Node> {
    let node = m.get(key);
    if node.is_none() {
        cx.error(
            m.node,
            &m.path_of(key),
            format!("missing field `{key}`{hint}"),
        );
    }
    node
}

/// A string field restricted to `allowed`; reports other values.
pub(super) fn enum_field(cx: &mut Cx, m: &Map, key: &str, allowed: &[&str]) -> Option<String> {
    let node = m.get(key)?;
    let path = m.path_of(key);
    let value = string(cx, node, &path)?;
    if allowed.contains(&value.as_str()) {
        Some(value)
    } else {
        cx.error(
            node,
            &path,
            format!(
                "unknown {key} `{value}`, expected one of {}",
                quoted(allowed)
            ),
        );
        None
    }
}

pub(super) fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the node is an empty list.
pub(super) fn is_empty_list(node: &Node) -> bool {
    matches!(&node.value, Value::Seq(items) if items.is_empty())
}

/// RFC 1123 label (Kubernetes namespace names).
pub(super) fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// RFC 1123 subdomain (Kubernetes service account names).
pub(super) fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253 && text.split('.').all(is_dns_label)
}

// ------------------------------------------------------------------------------------------
// EgressGateway

/// What an `authorization` entry needs to know about its gateway.
struct GatewayContext {
    namespace: String,
    workspace: Option<String>,
    group: Option<String>,
}

fn import_egress_gateway(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(cx, &spec_fields(EGRESS_GATEWAY_FIELDS), true) else {
        return;
    };
    let mut namespace = None;
    let mut labels = Default::default();
    if let Some(node) = required(cx, &spec, "workloadSelector", "") {
        if let Some(selector) = map(
            cx,
            node,
            &spec.path_of("workloadSelector"),
            &["namespace", "labels"],
        ) {
            if required(cx, &selector, "namespace", "").is_some() {
                namespace = selector.str(cx, "namespace");
                if let (Some(ns), Some(at)) = (&namespace, selector.get("namespace")) {
                    if !is_dns_label(ns) {
                        cx.error(
                            at,
                            &selector.path_of("namespace"),
                            format!("`{ns}` is not a Kubernetes namespace name"),
                        );
                    }
                }
            }
            labels = selector.labels(cx, "labels");
        }
    }
    if let Some(node) = spec.get("extension") {
        for (item, path) in list(cx, node, &spec.path_of("extension")) {
            map(cx, item, &path, &["fqn", "config", "match"]);
        }
    }
    if let Some(node) = spec.get("configGenerationMetadata") {
        map(
            cx,
            node,
            &spec.path_of("configGenerationMetadata"),
            &["labels", "annotations"],
        );
    }
    let group = group_path(cx, doc, "gatewayGroup");
    let gateway = GatewayContext {
        namespace: namespace.clone().unwrap_or_default(),
        workspace: doc.meta.workspace.clone(),
        group: group.clone(),
    };
    let rules = authorization(cx, &spec, &gateway);
    let rules = match rules {
        Some(rules) => rules,
        None => {
            // TSB's API reference says an empty list denies all traffic, and a proto3 list
            // cannot tell "absent" from "empty": an unwritten list denies everything too.
            cx.warn(
                spec.node,
                "spec.authorization",
                "no `authorization` written: like TSB, this gateway denies all traffic; list the allowed sources and hosts, or write `authorization: []` to make the deny-all explicit",
            );
            Vec::new()
        }
    };
    let Some(namespace) = namespace else {
        return;
    };
    let id = ResourceRef::new("EgressGateway", &namespace, &doc.meta.name);
    model.gateways.push(Gateway {
        id: id.clone(),
        kind: GatewayKind::TsbEgressGateway,
        location: doc.location(),
        namespace,
        labels,
        ports: vec![EGRESS_PORT],
        workspace: doc.meta.workspace.clone(),
        group,
        originates_tls: true,
        servers: Vec::new(),
    });
    model.policies.push(Policy {
        id: id.clone(),
        vendor: Vendor::Tsb,
        location: doc.location(),
        action: crate::model::Action::Allow,
        scope: Scope::Gateway { gateway: id },
        dry_run: false,
        rules,
    });
}

/// `spec.authorization`: `None` when not written; an empty list denies everything.
fn authorization(cx: &mut Cx, spec: &Map, gateway: &GatewayContext) -> Option<Vec<Rule>> {
    let node = spec.get("authorization")?;
    let mut rules = Vec::new();
    for (item, path) in list(cx, node, &spec.path_of("authorization")) {
        let Some(entry) = map(cx, item, &path, &["from", "to"]) else {
            continue;
        };
        let to = egress_to(cx, &entry);
        let from = match entry.get("from") {
            Some(from) => egress_from(cx, from, &entry.path_of("from"), gateway),
            None => Some(None),
        };
        if let (Some(from), Some(to)) = (from, to) {
            rules.push(Rule {
                from,
                to,
                when: Vec::new(),
                location: Some(item.location(cx.file)),
            });
        }
    }
    Some(rules)
}

/// `authorization[].to`: hosts; `*` anywhere in the list means any host (`None`).
fn egress_to(cx: &mut Cx, entry: &Map) -> Option<Option<Vec<Operation>>> {
    let node = required(
        cx,
        entry,
        "to",
        ": list the external hosts this rule allows (`*` for any host)",
    )?;
    let path = entry.path_of("to");
    if is_empty_list(node) {
        cx.error(
            node,
            &path,
            "`to` must list at least one host (`*` allows any host)",
        );
        return None;
    }
    let items = str_list(cx, node, &path);
    let mut ok = true;
    let mut seen: Vec<String> = Vec::new();
    for item in &items {
        if item.value.contains('/') || item.value.chars().any(char::is_whitespace) {
            cx.error(
                item.node,
                &item.path,
                format!(
                    "`{}` is not a host name (write `example.com`, `*.example.com` or `*`)",
                    item.value
                ),
            );
            ok = false;
        }
        let folded = item.value.to_ascii_lowercase();
        if seen.contains(&folded) {
            cx.error(
                item.node,
                &item.path,
                format!("host `{}` is listed more than once", item.value),
            );
            ok = false;
        }
        seen.push(folded);
    }
    if !ok {
        return None;
    }
    if items.iter().any(|i| i.value == "*") {
        return Some(None);
    }
    Some(Some(vec![Operation {
        hosts: Field {
            values: items.iter().map(|i| HostPattern::parse(&i.value)).collect(),
            not_values: Vec::new(),
        },
        ..Operation::default()
    }]))
}

/// `authorization[].from` (`tsb.security.v2.AuthorizationSettings`) as alternative sources;
/// `Some(None)` admits any source.
fn egress_from(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    gateway: &GatewayContext,
) -> Option<Option<Vec<Source>>> {
    let from = map(
        cx,
        node,
        path,
        &["mode", "serviceAccounts", "rules", "http", "identityMatch"],
    )?;
    let mode_node = from.get("mode");
    let mode = enum_field(cx, &from, "mode", AUTHZ_MODES);
    enum_field(cx, &from, "identityMatch", IDENTITY_MATCH);
    if mode_node.is_some() && mode.is_none() {
        return None;
    }
    if let Some(http) = from.get("http") {
        let http_path = from.path_of("http");
        map(cx, http, &http_path, &["external", "local"]);
        cx.warn(
            http,
            &http_path,
            "HTTP authorization (external service or local JWT rules) is not simulated; egress-policy decides on `mode` and `to` only",
        );
    }
    let mode = mode.unwrap_or_else(|| "UNSET".to_string());
    let mut ok = true;
    if mode != "CUSTOM" {
        if let Some(accounts) = from.get("serviceAccounts") {
            cx.error(
                accounts,
                &from.path_of("serviceAccounts"),
                format!("`serviceAccounts` only applies with mode `CUSTOM`, not `{mode}`"),
            );
            ok = false;
        }
    }
    if mode != "RULES" {
        if let Some(rules) = from.get("rules") {
            cx.error(
                rules,
                &from.path_of("rules"),
                format!("`rules` only applies with mode `RULES`, not `{mode}`"),
            );
            ok = false;
        }
    }
    let at = mode_node.unwrap_or(node);
    let mode_path = from.path_of("mode");
    let sources = match mode.as_str() {
        "UNSET" => {
            cx.warn(
                at,
                path,
                "`from` sets no `mode`: the rule admits any source",
            );
            None
        }
        "DISABLED" => None,
        "CLUSTER" => {
            cx.warn(
                at,
                &mode_path,
                "mode `CLUSTER`: egress-policy does not know which cluster a source is in, so any mTLS identity is admitted",
            );
            Some(vec![Source {
                principals: values(vec![StringPattern::Presence]),
                ..Source::default()
            }])
        }
        "WORKSPACE" => match &gateway.workspace {
            Some(workspace) => Some(vec![Source {
                workspaces: values(vec![workspace.clone()]),
                ..Source::default()
            }]),
            None => {
                cx.error(
                    at,
                    &mode_path,
                    "mode `WORKSPACE` needs the gateway's workspace (`metadata.workspace` or annotation `tsb.tetrate.io/workspace`)",
                );
                return None;
            }
        },
        "GROUP" => match &gateway.group {
            Some(group) => Some(vec![Source {
                groups: values(vec![group.clone()]),
                ..Source::default()
            }]),
            None => {
                cx.error(
                    at,
                    &mode_path,
                    "mode `GROUP` needs the gateway's group (`metadata.group` or annotation `tsb.tetrate.io/gatewayGroup`)",
                );
                return None;
            }
        },
        "NAMESPACE" => Some(vec![Source {
            namespaces: values(vec![NamespacePattern {
                glob: gateway.namespace.clone(),
            }]),
            ..Source::default()
        }]),
        "CUSTOM" => Some(custom_accounts(cx, &from, gateway)?),
        _ => {
            // RULES: fqn-based allow/deny between TSB resources; not modelled.
            cx.error(
                at,
                &mode_path,
                "mode `RULES` is not supported for EgressGateway authorization by egress-policy; use `CUSTOM`, `WORKSPACE`, `GROUP` or `NAMESPACE`",
            );
            return None;
        }
    };
    ok.then_some(sources)
}

pub(super) fn values<P>(values: Vec<P>) -> Field<P> {
    Field {
        values,
        not_values: Vec::new(),
    }
}

/// `mode: CUSTOM` `serviceAccounts`: one source per entry (entries are alternatives).
fn custom_accounts(cx: &mut Cx, from: &Map, gateway: &GatewayContext) -> Option<Vec<Source>> {
    let node = required(
        cx,
        from,
        "serviceAccounts",
        ": mode `CUSTOM` lists the allowed `<namespace>/<service-account>`s",
    )?;
    let path = from.path_of("serviceAccounts");
    if is_empty_list(node) {
        cx.error(
            node,
            &path,
            "mode `CUSTOM` needs at least one `<namespace>/<service-account>`",
        );
        return None;
    }
    let mut sources = Vec::new();
    let mut ok = true;
    for item in str_list(cx, node, &path) {
        match service_account(cx, &item, &gateway.namespace) {
            Some(source) => sources.push(source),
            None => ok = false,
        }
    }
    ok.then_some(sources)
}

/// One `serviceAccounts` entry: `ns/sa`, `ns/*` (the whole namespace) or `./…` (the
/// gateway's namespace).
fn service_account(cx: &mut Cx, item: &Item, gateway_namespace: &str) -> Option<Source> {
    let parts: Vec<&str> = item.value.split('/').collect();
    let (namespace, account) = match parts.as_slice() {
        [namespace, account] => (*namespace, *account),
        _ => {
            cx.error(
                item.node,
                &item.path,
                format!(
                    "`{}` is not `<namespace>/<service-account>` (`ns/sa`, `ns/*` and `./sa` are accepted)",
                    item.value
                ),
            );
            return None;
        }
    };
    let namespace = if namespace == "." {
        gateway_namespace
    } else {
        namespace
    };
    if !is_dns_label(namespace) {
        cx.error(
            item.node,
            &item.path,
            format!(
                "`{}`: `{namespace}` is not a Kubernetes namespace name",
                item.value
            ),
        );
        return None;
    }
    if account == "*" {
        return Some(Source {
            namespaces: values(vec![NamespacePattern {
                glob: namespace.to_string(),
            }]),
            ..Source::default()
        });
    }
    if !is_dns_subdomain(account) {
        cx.error(
            item.node,
            &item.path,
            format!(
                "`{}`: `{account}` is not a service account name (or `*`)",
                item.value
            ),
        );
        return None;
    }
    Some(Source {
        service_accounts: values(vec![ServiceAccountRef {
            namespace: namespace.to_string(),
            name: account.to_string(),
        }]),
        ..Source::default()
    })
}

// ------------------------------------------------------------------------------------------
// TrafficSetting

fn import_traffic_setting(cx: &mut Cx, doc: &Doc, model: &mut Model) {
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
    if let Some(node) = spec.get("configGenerationMetadata") {
        map(
            cx,
            node,
            &spec.path_of("configGenerationMetadata"),
            &["labels", "annotations"],
        );
    }
    let Some((host, host_node, host_path)) = hosts.into_iter().next() else {
        return;
    };
    let Some(workspace) = doc.meta.workspace.clone() else {
        cx.error(
            doc.node,
            "metadata.workspace",
            "a TrafficSetting with an egress host needs its workspace (`metadata.workspace` or annotation `tsb.tetrate.io/workspace`): its sources are the namespaces of its workspace or group",
        );
        return;
    };
    let scope = group_path(cx, doc, "trafficGroup").unwrap_or(workspace);
    let origin = ResourceRef::new("TrafficSetting", &scope, &doc.meta.name);
    let site = Site::new(cx, host_node, &host_path);
    pending(|p| p.routes.push((origin.clone(), site)));
    model.egress_routes.push(EgressRoute {
        origin,
        sources: Vec::new(),
        host,
        gateway: None,
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
                &item.path,
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
    let valid = matches!(host.split_once('/'), Some((ns, fqdn)) if is_dns_label(ns) && !fqdn.is_empty() && !fqdn.contains('/'));
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

fn import_workspace(cx: &mut Cx, doc: &Doc, model: &mut Model) {
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

fn import_group(cx: &mut Cx, doc: &Doc, model: &mut Model) {
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
    let Some(workspace) = doc.meta.workspace.clone() else {
        cx.error(
            doc.node,
            "metadata.workspace",
            "a Group needs its workspace (`metadata.workspace` or annotation `tsb.tetrate.io/workspace`)",
        );
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
            pending(|p| p.inheriting_groups.push((inherit, site)));
            Vec::new()
        }
    };
    model.groups.push(NamespaceSet {
        id: ResourceRef::new("Group", &workspace, &doc.meta.name),
        name,
        namespaces,
    });
}

fn import_tenancy(cx: &mut Cx, doc: &Doc, _model: &mut Model) {
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
    if let Some(node) = spec.get("configGenerationMetadata") {
        map(
            cx,
            node,
            &spec.path_of("configGenerationMetadata"),
            &["labels", "annotations"],
        );
    }
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
                &item.path,
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

// ------------------------------------------------------------------------------------------
// Link

/// Resolves references once everything is loaded: groups without a namespace selector take
/// their workspace's namespaces; egress routes get the namespaces of their TrafficSetting's
/// group (or workspace) as sources and the TSB egress gateway named by their host.
pub(crate) fn link(model: &mut Model, diags: &mut Vec<Diagnostic>) {
    let mut state = PENDING.with(Cell::take);
    // Only entries of this load count (a load that unwound midway could leave others).
    state
        .inheriting_groups
        .retain(|(name, _)| model.groups.iter().any(|g| &g.name == name));
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
