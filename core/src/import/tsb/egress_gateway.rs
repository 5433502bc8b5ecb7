//! TSB `EgressGateway` (`gateway.tsb.tetrate.io/v2`): the gateway and its
//! `authorization` rules, as an ALLOW policy scoped to the gateway.

use crate::model::{
    Field, Gateway, GatewayKind, HostPattern, Labels, Model, NamespacePattern, Operation, Policy,
    ResourceRef, Rule, Scope, ServiceAccountRef, Source, StringPattern, Vendor,
};
use crate::source::Node;

use super::super::decode::{
    enum_field, is_dns_label, is_dns_subdomain, is_empty_list, list, map, required, str_list,
    values, Case, Cx, Item, Map, Site,
};
use super::super::Doc;
use super::{
    config_generation_metadata, group_path, rule_origin, spec_fields, SetRef, TsbImporter,
    EGRESS_PORT,
};

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

const EGRESS_GATEWAY_FIELDS: &[&str] = &["workloadSelector", "authorization", "extension"];

/// What an `authorization` entry needs to know about its gateway.
pub(super) struct GatewayContext {
    pub(super) namespace: String,
    pub(super) workspace: Option<String>,
    pub(super) group: Option<String>,
    /// The workspaces and groups its rules name (`mode: WORKSPACE` / `GROUP`), with where.
    pub(super) refs: Vec<SetRef>,
}

/// Decodes an `EgressGateway`.
pub(super) fn import(state: &mut TsbImporter, cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(cx, &spec_fields(EGRESS_GATEWAY_FIELDS), true) else {
        return;
    };
    let (namespace, labels) = workload_selector(cx, &spec);
    if let Some(node) = spec.get("extension") {
        for (item, path) in list(cx, node, &spec.path_of("extension")) {
            map(cx, item, &path, &["fqn", "config", "match"]);
        }
    }
    config_generation_metadata(cx, &spec);
    let group = group_path(cx, doc, "gatewayGroup");
    let mut gateway = GatewayContext {
        namespace: namespace.clone().unwrap_or_default(),
        workspace: doc.meta.workspace.clone(),
        group: group.clone(),
        refs: Vec::new(),
    };
    let rules = authorization(cx, &spec, &mut gateway);
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
    state
        .rule_refs
        .extend(gateway.refs.into_iter().map(|r| (id.clone(), r)));
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

/// `spec.workloadSelector` (required): the gateway pods' namespace and labels.
pub(super) fn workload_selector(cx: &mut Cx, spec: &Map) -> (Option<String>, Labels) {
    let mut namespace = None;
    let mut labels = Labels::new();
    if let Some(node) = required(cx, spec, "workloadSelector", "") {
        if let Some(selector) = map(
            cx,
            node,
            spec.path_of("workloadSelector"),
            &["namespace", "labels"],
        ) {
            if required(cx, &selector, "namespace", "").is_some() {
                namespace = selector.str(cx, "namespace");
                if let (Some(ns), Some(at)) = (&namespace, selector.get("namespace")) {
                    if !is_dns_label(ns, Case::Lower) {
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
    (namespace, labels)
}

/// `spec.authorization`: `None` when not written; an empty list denies everything.
fn authorization(cx: &mut Cx, spec: &Map, gateway: &mut GatewayContext) -> Option<Vec<Rule>> {
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
            let operations = to.as_ref().map_or(0, Vec::len);
            let origin = rule_origin(
                &path,
                entry.get("from"),
                |_| entry.path_of("to"),
                operations,
            );
            rules.push(Rule {
                from,
                to,
                when: Vec::new(),
                location: Some(item.location(cx.file)),
                origin,
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
                &item.path(),
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
                &item.path(),
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
pub(super) fn egress_from(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    gateway: &mut GatewayContext,
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
        "WORKSPACE" => match gateway.workspace.clone() {
            Some(workspace) => Some(vec![Source {
                workspaces: values(vec![{
                    gateway.refs.push(SetRef {
                        group: false,
                        name: workspace.clone(),
                        site: Site::new(cx, at, &mode_path),
                    });
                    workspace
                }]),
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
        "GROUP" => match gateway.group.clone() {
            Some(group) => Some(vec![Source {
                groups: values(vec![{
                    gateway.refs.push(SetRef {
                        group: true,
                        name: group.clone(),
                        site: Site::new(cx, at, &mode_path),
                    });
                    group
                }]),
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
pub(super) fn service_account(cx: &mut Cx, item: &Item, gateway_namespace: &str) -> Option<Source> {
    let parts: Vec<&str> = item.value.split('/').collect();
    let (namespace, account) = match parts.as_slice() {
        [namespace, account] => (*namespace, *account),
        _ => {
            cx.error(
                item.node,
                &item.path(),
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
    if !is_dns_label(namespace, Case::Lower) {
        cx.error(
            item.node,
            &item.path(),
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
            &item.path(),
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
