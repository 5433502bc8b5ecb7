//! TSB `Gateway` (`gateway.tsb.tetrate.io/v2`) in egress mode: the API that replaces
//! `EgressGateway` ("The functionality provided by the EgressGateway is now provided in
//! Gateway object"). Field names and meanings come from the TSB protos as rendered by
//! `tetratelabs/terraform-provider-tsb` (`docs/resources/gateway_gateway.md`); TSB publishes
//! no YAML example of an egress `Gateway` (SEMANTICS.md §8.3).
//!
//! A `Gateway` is an egress gateway when one of its `http` servers sets
//! `trafficMode: EGRESS` or when it writes `egressAuthorization`. Its `egressAuthorization`
//! becomes an ALLOW policy scoped to the gateway: "By default, access is denied for these
//! hosts", so no entry denies everything.

use crate::model::{
    Action, Caveat, Field, Gateway, GatewayKind, HostPattern, Model, Operation, PathPattern,
    Policy, ResourceRef, Rule, Scope, Source, StringPattern, Vendor,
};
use crate::source::Node;

use super::super::decode::{enum_field, is_empty_list, list, map, required, values, Cx, Map, Site};
use super::super::Doc;
use super::egress_gateway::{egress_from, service_account, workload_selector, GatewayContext};
use super::{
    config_generation_metadata, group_path, rule_origin, spec_fields, SetRef, TsbImporter,
    EGRESS_PORT,
};

const GATEWAY_FIELDS: &[&str] = &[
    "workloadSelector",
    "http",
    "tcp",
    "tls",
    "transit",
    "egressAuthorization",
    "extension",
    "waf",
    "wasmPlugins",
];

/// `trafficMode` values.
const TRAFFIC_MODES: &[&str] = &["AUTO", "INGRESS", "EGRESS", "TRANSIT"];

/// Decodes a `Gateway`; only its egress part is modelled.
pub(super) fn import(state: &mut TsbImporter, cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(cx, &spec_fields(GATEWAY_FIELDS), true) else {
        return;
    };
    let (namespace, labels) = workload_selector(cx, &spec);
    config_generation_metadata(cx, &spec);
    let mut egress_servers = 0usize;
    if let Some(node) = spec.get("http") {
        for (item, path) in list(cx, node, &spec.path_of("http")) {
            let Some(server) = map(cx, item, &path, &["*"]) else {
                continue;
            };
            server.str(cx, "name");
            server.str(cx, "hostname");
            if enum_field(cx, &server, "trafficMode", TRAFFIC_MODES).as_deref() == Some("EGRESS") {
                egress_servers += 1;
                if let Some(port) = server.get("port") {
                    // "If the trafficMode flag is set to EGRESS …, populating the port will
                    // result in an error": TSB configures 15443 itself.
                    cx.error(
                        port,
                        &server.path_of("port"),
                        "an EGRESS server takes no `port`: TSB configures the mTLS port 15443 itself",
                    );
                }
            }
        }
    }
    let authorization = spec.get("egressAuthorization");
    if egress_servers == 0 && authorization.is_none() {
        cx.warn(
            spec.node,
            "spec",
            "a TSB Gateway without an `http` server in `trafficMode: EGRESS` and without `egressAuthorization` is not an egress gateway; egress-policy ignores it",
        );
        return;
    }
    let group = group_path(cx, doc, "gatewayGroup");
    let mut gateway = GatewayContext {
        namespace: namespace.clone().unwrap_or_default(),
        workspace: doc.meta.workspace.clone(),
        group: group.clone(),
        refs: Vec::new(),
    };
    let mut rules = Vec::new();
    let errors = cx.error_count();
    if let Some(node) = authorization {
        for (item, path) in list(cx, node, &spec.path_of("egressAuthorization")) {
            if let Some(rule) = egress_rule(cx, item, &path, &mut gateway) {
                rules.push(rule);
            }
        }
    }
    let Some(namespace) = namespace else {
        return;
    };
    if cx.error_count() != errors {
        return;
    }
    let id = ResourceRef::new("Gateway", &namespace, &doc.meta.name);
    state
        .rule_refs
        .extend(gateway.refs.into_iter().map(|r| (id.clone(), r)));
    model.assumptions.push((
        id.clone(),
        Caveat {
            code: "tsb_egress_route_undocumented".to_string(),
            message: format!(
                "{id}: TSB documents no example of an egress Gateway nor how sidecars are sent to it; egress-policy decides there when the request names the gateway as its workload or a TrafficSetting `egress` host names it"
            ),
            resource: Some(id.clone()),
        },
    ));
    model.gateways.push(Gateway {
        id: id.clone(),
        kind: GatewayKind::TsbEgressGateway,
        location: doc.location(),
        namespace,
        labels,
        ports: vec![EGRESS_PORT],
        workspace: doc.meta.workspace.clone(),
        group,
        originates_tls: false,
        servers: Vec::new(),
    });
    model.policies.push(Policy {
        id: id.clone(),
        vendor: Vendor::Tsb,
        location: doc.location(),
        action: Action::Allow,
        scope: Scope::Gateway { gateway: id },
        dry_run: false,
        rules,
    });
}

/// One `egressAuthorization` entry (`EgressAuthorizationSettings`): `from`, `to`,
/// `identityMatch`.
fn egress_rule(cx: &mut Cx, node: &Node, path: &str, gateway: &mut GatewayContext) -> Option<Rule> {
    let entry = map(cx, node, path, &["from", "to", "identityMatch"])?;
    enum_field(
        cx,
        &entry,
        "identityMatch",
        &["SOURCE_IDENTITY", "PEER_CERTIFICATE", "PERMISSIVE"],
    );
    let to = egress_hosts(cx, &entry);
    let from = match entry.get("from") {
        None => Some(None),
        Some(from) => egress_sources(cx, from, &entry.path_of("from"), gateway),
    };
    let to = to?;
    let origin = rule_origin(
        path,
        entry.get("from"),
        |k| format!("{path}.to[{k}].host.exact"),
        to.len(),
    );
    let mut rule = Rule {
        from: from?,
        to: Some(to),
        when: Vec::new(),
        location: Some(node.location(cx.file)),
        origin,
    };
    if let Some(origin) = rule.origin.0.as_deref_mut() {
        for k in 0..rule.to.as_ref().map_or(0, Vec::len) {
            origin.map(
                format!("to[{k}].operation"),
                format!("{path}.to[{k}]"),
                true,
            );
        }
    }
    Some(rule)
}

/// `from`: `resources` (TSB FQNs of workspaces and groups) and `serviceAccounts`, or the
/// deprecated `mode`.
fn egress_sources(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    gateway: &mut GatewayContext,
) -> Option<Option<Vec<Source>>> {
    if node.get("mode").is_some() {
        cx.warn(
            node,
            path,
            "`from.mode` is deprecated for egressAuthorization: use `resources` or `serviceAccounts`",
        );
        return egress_from(cx, node, path, gateway);
    }
    let from = map(
        cx,
        node,
        path,
        &["resources", "serviceAccounts", "identityMatch"],
    )?;
    let mut sources = Vec::new();
    let mut ok = true;
    for item in from.str_list(cx, "resources") {
        match fqn_source(&item.value) {
            Some((group, name, source)) => {
                gateway.refs.push(SetRef {
                    group,
                    name,
                    site: Site::new(cx, item.node, &item.path()),
                });
                sources.push(source);
            }
            None => {
                cx.error(
                    item.node,
                    &item.path(),
                    format!(
                        "`{}` is not the FQN of a workspace or group (`organizations/<o>/tenants/<t>/workspaces/<w>` or `…/workspaces/<w>/securitygroups/<g>`)",
                        item.value
                    ),
                );
                ok = false;
            }
        }
    }
    if sources.is_empty() && ok && !from.has("serviceAccounts") {
        // "If not set, any source is allowed."
        return Some(None);
    }
    for item in from.str_list(cx, "serviceAccounts") {
        match service_account(cx, &item, &gateway.namespace) {
            Some(source) => sources.push(source),
            None => ok = false,
        }
    }
    ok.then_some(Some(sources))
}

/// A workspace or group FQN as a source: `(is group, name, source)`.
fn fqn_source(fqn: &str) -> Option<(bool, String, Source)> {
    let parts: Vec<&str> = fqn.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["organizations", _, "tenants", _, "workspaces", workspace] if !workspace.is_empty() => {
            Some((
                false,
                (*workspace).to_string(),
                Source {
                    workspaces: values(vec![(*workspace).to_string()]),
                    ..Source::default()
                },
            ))
        }
        ["organizations", _, "tenants", _, "workspaces", workspace, kind, group]
            if matches!(*kind, "securitygroups" | "trafficgroups" | "gatewaygroups")
                && !workspace.is_empty()
                && !group.is_empty() =>
        {
            let name = format!("{workspace}/{group}");
            Some((
                true,
                name.clone(),
                Source {
                    groups: values(vec![name]),
                    ..Source::default()
                },
            ))
        }
        _ => None,
    }
}

/// `to`: hosts (exact only, as TSB documents), methods and paths.
fn egress_hosts(cx: &mut Cx, entry: &Map) -> Option<Vec<Operation>> {
    let node = required(
        cx,
        entry,
        "to",
        ": list the external hosts (`host: {exact: …}`) this entry allows",
    )?;
    let path = entry.path_of("to");
    if is_empty_list(node) {
        cx.error(node, &path, "`to` must list at least one host");
        return None;
    }
    let mut operations = Vec::new();
    let mut ok = true;
    for (item, item_path) in list(cx, node, &path) {
        let Some(to) = map(cx, item, &item_path, &["host", "methods", "paths"]) else {
            ok = false;
            continue;
        };
        let Some(host_node) = required(cx, &to, "host", "") else {
            ok = false;
            continue;
        };
        let Some(host) = map(
            cx,
            host_node,
            to.path_of("host"),
            &["exact", "prefix", "regex"],
        ) else {
            ok = false;
            continue;
        };
        let exact = host.str(cx, "exact");
        for other in ["prefix", "regex"] {
            if let Some(at) = host.get(other) {
                cx.error(
                    at,
                    &host.path_of(other),
                    format!("`{other}` hosts are not supported: TSB documents \"Only exact hostnames are supported\""),
                );
                ok = false;
            }
        }
        let Some(exact) = exact else {
            if ok {
                cx.error(host_node, &to.path_of("host"), "`host` needs `exact`");
            }
            ok = false;
            continue;
        };
        let methods: Vec<StringPattern> = to
            .str_list(cx, "methods")
            .iter()
            .map(|i| StringPattern::parse(&i.value))
            .collect();
        let mut paths = Vec::new();
        for item in to.str_list(cx, "paths") {
            match PathPattern::parse(&item.value) {
                Ok(pattern) => paths.push(pattern),
                Err(invalid) => {
                    cx.error(item.node, &item.path(), invalid.0);
                    ok = false;
                }
            }
        }
        operations.push(Operation {
            hosts: Field {
                values: vec![HostPattern::parse(&exact)],
                not_values: Vec::new(),
            },
            methods: values(methods),
            paths: values(paths),
            ..Operation::default()
        });
    }
    ok.then_some(operations)
}

#[cfg(test)]
mod tests {
    use crate::import::test_support::{self as support};
    use crate::model::{GatewayKind, Scope};

    const FILE: &str = "gateway.yaml";

    fn gateway(spec: &str) -> String {
        format!(
            "apiVersion: gateway.tsb.tetrate.io/v2\nkind: Gateway\nmetadata: {{name: gw, workspace: w1}}\nspec:\n  workloadSelector: {{namespace: egress, labels: {{app: gw}}}}\n{spec}"
        )
    }

    #[test]
    fn egress_servers_and_authorization_make_an_egress_gateway() {
        let model = support::load(
            FILE,
            &gateway("  http:\n  - name: h\n    hostname: httpbin.org\n    trafficMode: EGRESS\n"),
        );
        assert_eq!(model.gateways.len(), 1);
        assert_eq!(model.gateways[0].kind, GatewayKind::TsbEgressGateway);
        assert_eq!(model.gateways[0].ports, vec![super::EGRESS_PORT]);
        let policy = &model.policies[0];
        assert!(policy.rules.is_empty(), "denied by default");
        assert!(matches!(policy.scope, Scope::Gateway { .. }));
        assert!(model
            .assumptions_of(&policy.id)
            .any(|c| c.code == "tsb_egress_route_undocumented"));

        // An ingress gateway is not egress: skipped with a warning.
        let model = support::load(
            FILE,
            &gateway("  http:\n  - name: h\n    hostname: a.com\n    port: 443\n    trafficMode: INGRESS\n"),
        );
        assert!(model.gateways.is_empty() && model.policies.is_empty());
        assert!(model.warnings[0].message.contains("not an egress gateway"));
    }

    #[test]
    fn egress_gateway_errors_are_located() {
        let text = gateway(
            "  http:\n  - name: h\n    port: 8080\n    trafficMode: EGRESS\n  egressAuthorization:\n  - to:\n    - host: {prefix: httpbin}\n  - from: {resources: [workspaces/w1]}\n    to: [{host: {exact: a.com}}]\n  - to: []\n",
        );
        let errors = support::errors(FILE, &text);
        let got: Vec<(Option<&str>, &str)> = errors
            .iter()
            .map(|d| (d.field.as_deref(), d.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 4, "{got:#?}");
        let expected = [
            ("8080", "spec.http[0].port", "takes no `port`"),
            (
                "httpbin}",
                "spec.egressAuthorization[0].to[0].host.prefix",
                "Only exact hostnames",
            ),
            (
                "workspaces/w1",
                "spec.egressAuthorization[1].from.resources[0]",
                "not the FQN",
            ),
            (
                "[]\n",
                "spec.egressAuthorization[2].to",
                "at least one host",
            ),
        ];
        for (d, (needle, field, message)) in errors.iter().zip(expected) {
            support::assert_diag_in(
                FILE,
                d,
                &text,
                needle,
                ("Gateway default/gw", field, message),
            );
        }
    }
}
