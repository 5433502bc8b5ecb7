//! `networking.istio.io` ServiceEntry, DestinationRule and VirtualService.

use std::net::IpAddr;

use crate::model::{
    Answer, AnswerKind, ExportTo, ExternalService, HeaderMutations, HttpRoute, IpBlock, L4Match,
    L4Route, Labels, Model, PortProtocol, Resolution, ResourceRef, RouteDestination, RouteMatch,
    ServicePort, TlsMode, TlsSetting, UriMatch, Vendor, VirtualService,
};
use crate::source::Node;

use super::super::decode::{is_dns_label, map, vocabulary_field, Case, Cx, Map};
use super::super::Doc;
use super::{enum_field, top_level, written, WaypointUse, USE_WAYPOINT, USE_WAYPOINT_NAMESPACE};

/// Most hosts one ServiceEntry may list.
const MAX_HOSTS: usize = 256;

/// ServiceEntry → [`ExternalService`] (SEMANTICS.md §2), pushed last onto
/// `model.services`; returns what its own `istio.io/use-waypoint` label says, which
/// [`link`](super::link) applies (the entry's `gateway` is unset until then).
pub(super) fn service_entry(cx: &mut Cx, doc: &Doc, model: &mut Model) -> Option<WaypointUse> {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let id = ResourceRef::new("ServiceEntry", &namespace, &doc.meta.name);
    let mut service = ExternalService {
        id,
        vendor: Vendor::Istio,
        location: doc.location(),
        hosts: Vec::new(),
        ports: Vec::new(),
        resolution: Resolution::None,
        export_to: Vec::new(),
        gateway: None,
        gateway_port: None,
        tls: None,
        addresses: Vec::new(),
        auto_allocated: false,
    };
    let spec = doc.spec(
        cx,
        &[
            "hosts",
            "addresses",
            "ports",
            "location",
            "resolution",
            "endpoints",
            "workloadSelector",
            "exportTo",
            "subjectAltNames",
        ],
        true,
    );
    if let Some(spec) = spec {
        if let Some(resolution) = vocabulary_field(cx, &spec, "resolution") {
            service.resolution = resolution;
        }
        enum_field(cx, &spec, "location", &["MESH_EXTERNAL", "MESH_INTERNAL"]);
        let has_endpoints = spec.get("endpoints").is_some_and(
            |n| !matches!(&n.value, crate::source::Value::Seq(items) if items.is_empty()),
        );
        let hosts = spec.str_list(cx, "hosts");
        if hosts.is_empty() {
            let node = spec.get("hosts").unwrap_or(spec.node);
            cx.error(
                node,
                &spec.path_of("hosts"),
                "at least one host is required",
            );
        }
        if hosts.len() > MAX_HOSTS {
            let node = spec.get("hosts").unwrap_or(spec.node);
            cx.error(
                node,
                &spec.path_of("hosts"),
                format!("{} hosts, more than the limit of {MAX_HOSTS}", hosts.len()),
            );
        }
        for item in hosts {
            let dns_without_endpoints = service.resolution.resolves_hosts() && !has_endpoints;
            match check_host(&item.value) {
                Err(problem) => cx.error(
                    item.node,
                    &item.path(),
                    format!("invalid host `{}`: {problem}", item.value),
                ),
                Ok(wildcard) => {
                    if wildcard && dns_without_endpoints {
                        cx.error(
                            item.node,
                            &item.path(),
                            format!(
                                "wildcard host `{}` cannot be resolved with resolution {}; use \
                                 NONE or DYNAMIC_DNS, or list `endpoints`",
                                item.value, service.resolution
                            ),
                        );
                    } else if is_partial_wildcard(&item.value)
                        && service.resolution != Resolution::DynamicDns
                    {
                        cx.warn(
                            item.node,
                            &item.path(),
                            format!(
                                "partial wildcard host `{}` is not supported by every proxy \
                                 unless resolution is DYNAMIC_DNS",
                                item.value
                            ),
                        );
                    }
                    service.hosts.push(item.value);
                }
            }
        }
        for item in spec.str_list(cx, "addresses") {
            if let Some(block) = IpBlock::parse(&item.value) {
                service.addresses.push(block);
            } else {
                cx.error(
                    item.node,
                    &item.path(),
                    format!(
                        "invalid address `{}`: expected an IP or a CIDR range",
                        item.value
                    ),
                );
            }
        }
        for (node, path) in spec.list(cx, "ports") {
            let Some(m) = map(
                cx,
                node,
                &path,
                &["number", "protocol", "name", "targetPort"],
            ) else {
                continue;
            };
            let Some(number) = service_port(cx, &m, "number", true) else {
                continue;
            };
            if service.ports.iter().any(|p| p.number == number) {
                cx.error(
                    m.get("number").unwrap_or(node),
                    &m.path_of("number"),
                    format!("port number {number} is listed more than once"),
                );
            }
            let name = m.str(cx, "name").unwrap_or_default();
            if !name.is_empty() && service.ports.iter().any(|p| p.name == name) {
                cx.error(
                    m.get("name").unwrap_or(node),
                    &m.path_of("name"),
                    format!("port name `{name}` is listed more than once"),
                );
            }
            service.ports.push(ServicePort {
                number,
                protocol: PortProtocol::from_any_case(&m.str(cx, "protocol").unwrap_or_default()),
                name,
                target_port: service_port(cx, &m, "targetPort", false),
            });
        }
        service.export_to = spec
            .str_list(cx, "exportTo")
            .into_iter()
            .map(|i| i.value)
            .collect();
    }
    // Istio allocates a VIP per non-wildcard host of an entry without `addresses`, unless
    // the entry opts out (pilot/pkg/model/service.go; networking.istio.io/enable-autoallocate-ip).
    service.auto_allocated = service.addresses.is_empty()
        && doc
            .meta
            .labels
            .get("networking.istio.io/enable-autoallocate-ip")
            .is_none_or(|v| v != "false");
    model.services.push(service);
    waypoint_label(&doc.meta.labels, &namespace)
}

/// What the entry's own `istio.io/use-waypoint` label says, if it carries one.
fn waypoint_label(labels: &Labels, namespace: &str) -> Option<WaypointUse> {
    let name = labels.get(USE_WAYPOINT).filter(|n| !n.is_empty())?;
    if name == "none" {
        return Some(WaypointUse::OptOut);
    }
    let waypoint_namespace = labels
        .get(USE_WAYPOINT_NAMESPACE)
        .filter(|n| !n.is_empty())
        .map_or(namespace, String::as_str);
    Some(WaypointUse::Named(ResourceRef::new(
        "Gateway",
        waypoint_namespace,
        name,
    )))
}

/// A port number 1..65535 (`required`: report when missing).
fn service_port(cx: &mut Cx, m: &Map, key: &str, required: bool) -> Option<u16> {
    let Some(node) = m.get(key) else {
        if required {
            cx.error(m.node, &m.path_of(key), format!("missing field `{key}`"));
        }
        return None;
    };
    let port = m.port(cx, key)?;
    if port == 0 {
        cx.error(node, &m.path_of(key), "port 0 is not a number in 1..65535");
        return None;
    }
    Some(port)
}

/// Istio's `ValidateWildcardDomain` plus the ServiceEntry rules: a lone `*` and IP
/// addresses are rejected; a `*` may only lead the first label. `Ok(true)` for wildcards.
fn check_host(host: &str) -> Result<bool, String> {
    if host == "*" {
        return Err("a lone `*` would capture every host".to_string());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Err("IP addresses are not hosts; list them under `addresses`".to_string());
    }
    if host.len() > 255 {
        return Err("longer than 255 characters".to_string());
    }
    let (first, rest) = match host.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (host, None),
    };
    let wildcard = first.starts_with('*');
    let first_ok = first == "*"
        || (first.len() <= 63
            && is_dns_label(
                first
                    .strip_prefix("*-")
                    .or_else(|| first.strip_prefix('*'))
                    .unwrap_or(first),
                Case::Any,
            ));
    if !first_ok {
        return Err(if first.contains('*') {
            "a `*` may only lead the first label".to_string()
        } else {
            format!("label `{first}` is not a DNS label")
        });
    }
    if let Some(rest) = rest {
        let labels: Vec<&str> = rest.split('.').collect();
        let last = labels.len().saturating_sub(1);
        for (i, label) in labels.iter().enumerate() {
            // A trailing dot (fully qualified name) leaves an empty last label.
            if i == last && label.is_empty() && i > 0 {
                continue;
            }
            if !is_dns_label(label, Case::Any) {
                return Err(if label.contains('*') {
                    "a `*` may only lead the first label".to_string()
                } else {
                    format!("label `{label}` is not a DNS label")
                });
            }
        }
    }
    Ok(wildcard)
}

/// `*foo.example.com`: a wildcard that is not a whole label.
fn is_partial_wildcard(host: &str) -> bool {
    host.starts_with('*') && host.len() > 1 && !host.starts_with("*.")
}

const TLS_FIELDS: &[&str] = &[
    "mode",
    "clientCertificate",
    "privateKey",
    "caCertificates",
    "credentialName",
    "subjectAltNames",
    "sni",
    "insecureSkipVerify",
    "caCrl",
];

/// DestinationRule → [`TlsSetting`] (TLS origination on the way out).
pub(super) fn destination_rule(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let Some(spec) = doc.spec(
        cx,
        &[
            "host",
            "trafficPolicy",
            "subsets",
            "exportTo",
            "workloadSelector",
        ],
        true,
    ) else {
        return;
    };
    let host = spec.str(cx, "host").unwrap_or_default();
    if host.is_empty() {
        let node = spec.get("host").unwrap_or(spec.node);
        cx.error(node, &spec.path_of("host"), "missing field `host`");
    }
    let mut setting = TlsSetting {
        origin: ResourceRef::new("DestinationRule", &namespace, &doc.meta.name),
        host,
        mode: None,
        sni: None,
        ports: Vec::new(),
        workload_selector: spec
            .map(cx, "workloadSelector", &["matchLabels"])
            .map(|w| w.labels(cx, "matchLabels")),
        export_to: ExportTo {
            values: spec
                .str_list(cx, "exportTo")
                .into_iter()
                .map(|i| i.value)
                .collect(),
        },
        location: Some(doc.location()),
    };
    let policy_fields: &[&str] = &[
        "loadBalancer",
        "connectionPool",
        "outlierDetection",
        "tls",
        "portLevelSettings",
        "tunnel",
        "proxyProtocol",
        "retryBudget",
    ];
    if let Some(policy) = spec.map(cx, "trafficPolicy", policy_fields) {
        if let Some((mode, sni)) = client_tls(cx, &policy) {
            setting.mode = Some(mode);
            setting.sni = sni;
        }
        for (node, path) in policy.list(cx, "portLevelSettings") {
            let Some(level) = map(
                cx,
                node,
                &path,
                &[
                    "port",
                    "loadBalancer",
                    "connectionPool",
                    "outlierDetection",
                    "tls",
                ],
            ) else {
                continue;
            };
            let number = match level.map(cx, "port", &["number"]) {
                Some(port) => service_port(cx, &port, "number", true),
                None => {
                    cx.error(node, &level.path_of("port"), "missing field `port`");
                    None
                }
            };
            let tls = client_tls(cx, &level);
            if let (Some(number), Some((mode, sni))) = (number, tls) {
                setting.ports.push((number, mode, sni));
            }
        }
    }
    model.tls_settings.push(setting);
}

/// `tls` of a traffic policy: mode (default `DISABLE`, the proto zero value) and SNI.
fn client_tls(cx: &mut Cx, policy: &Map) -> Option<(TlsMode, Option<String>)> {
    let tls = policy.map(cx, "tls", TLS_FIELDS)?;
    let mode = if tls.get("mode").is_some() {
        vocabulary_field(cx, &tls, "mode")?
    } else {
        TlsMode::Disable
    };
    let sni = tls.str(cx, "sni").filter(|s| !s.is_empty());
    Some((mode, sni))
}

const HTTP_ROUTE_FIELDS: &[&str] = &[
    "name",
    "match",
    "route",
    "redirect",
    "directResponse",
    "delegate",
    "rewrite",
    "timeout",
    "retries",
    "fault",
    "mirror",
    "mirrors",
    "mirrorPercentage",
    "mirrorPercent",
    "mirror_percent",
    "corsPolicy",
    "headers",
];

const MATCH_FIELDS: &[&str] = &[
    "name",
    "uri",
    "scheme",
    "method",
    "authority",
    "headers",
    "port",
    "sourceLabels",
    "gateways",
    "queryParams",
    "ignoreUriCase",
    "withoutHeaders",
    "sourceNamespace",
    "statPrefix",
];

/// Match criteria egress-policy does not model: they are ignored with a warning.
const UNMODELLED_MATCH_FIELDS: &[&str] = &[
    "scheme",
    "authority",
    "sourceLabels",
    "queryParams",
    "withoutHeaders",
    "sourceNamespace",
];

/// VirtualService → [`VirtualService`]: what egress needs (matches, header mutations,
/// destination). Routing features it does not model are accepted without a look.
pub(super) fn virtual_service(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let mut service = VirtualService {
        id: ResourceRef::new("VirtualService", &namespace, &doc.meta.name),
        hosts: Vec::new(),
        gateways: Vec::new(),
        http: Vec::new(),
        l4: Vec::new(),
        export_to: ExportTo::default(),
        location: Some(doc.location()),
    };
    if let Some(spec) = doc.spec(
        cx,
        &["hosts", "gateways", "http", "tls", "tcp", "exportTo"],
        true,
    ) {
        service.hosts = spec
            .str_list(cx, "hosts")
            .into_iter()
            .map(|i| i.value)
            .collect();
        service.gateways = spec
            .str_list(cx, "gateways")
            .into_iter()
            .map(|i| i.value)
            .collect();
        service.export_to = ExportTo {
            values: spec
                .str_list(cx, "exportTo")
                .into_iter()
                .map(|i| i.value)
                .collect(),
        };
        for (node, path) in spec.list(cx, "http") {
            if let Some(route) = http_route(cx, node, &path) {
                service.http.push(route);
            }
        }
        for key in ["tls", "tcp"] {
            for (node, path) in spec.list(cx, key) {
                if let Some(route) = l4_route(cx, node, &path, key == "tls") {
                    service.l4.push(route);
                }
            }
        }
        // validation.go ValidateVirtualService: "http, tcp or tls must be provided".
        if !["http", "tcp", "tls"].iter().any(|k| written(&spec, k)) {
            cx.error(
                spec.node,
                &spec.path,
                "http, tcp or tls must be provided in a VirtualService (Istio's validation \
                 rejects it)",
            );
        }
    }
    model.virtual_services.push(service);
}

/// One `http[]` entry; `None` when every match entry is for sidecars only (`gateways:
/// [mesh]`), so the route never applies at a gateway.
fn http_route(cx: &mut Cx, node: &Node, path: &str) -> Option<HttpRoute> {
    let m = map(cx, node, path, HTTP_ROUTE_FIELDS)?;
    let mut route = HttpRoute {
        matches: Vec::new(),
        headers: HeaderMutations::default(),
        destination_host: None,
        destination_port: None,
        answer: answer(cx, &m),
    };
    for (item, item_path) in m.list(cx, "match") {
        if let MatchOutcome::Match(entry) = route_match(cx, item, &item_path) {
            route.matches.push(entry);
        }
    }
    let route_headers = m
        .map(cx, "headers", &["request", "response"])
        .map(|h| header_mutations(cx, &h))
        .unwrap_or_default();
    let mut destination_headers = HeaderMutations::default();
    for (i, (item, item_path)) in m.list(cx, "route").into_iter().enumerate() {
        let Some(dest) = map(cx, item, &item_path, &["destination", "weight", "headers"]) else {
            continue;
        };
        let headers = dest
            .map(cx, "headers", &["request", "response"])
            .map(|h| header_mutations(cx, &h))
            .unwrap_or_default();
        let Some(target) = dest.map(cx, "destination", &["host", "subset", "port"]) else {
            if dest.get("destination").is_none() {
                cx.error(
                    item,
                    &dest.path_of("destination"),
                    "missing field `destination`",
                );
            }
            continue;
        };
        let host = target.str(cx, "host").unwrap_or_default();
        if host.is_empty() {
            let at = target.get("host").unwrap_or(target.node);
            cx.error(at, &target.path_of("host"), "missing field `host`");
        }
        let port = target
            .map(cx, "port", &["number"])
            .and_then(|p| p.port(cx, "number"));
        // The first destination is the one egress reports; weighted splits are not modelled.
        if i == 0 {
            route.destination_host = (!host.is_empty()).then_some(host);
            route.destination_port = port;
            destination_headers = headers;
        }
    }
    route.headers = merge_headers(destination_headers, route_headers);
    Some(route)
}

/// `directResponse`, `redirect` or `fault.abort`: the proxy answers instead of forwarding.
fn answer(cx: &mut Cx, m: &Map) -> Option<Answer> {
    if let Some(direct) = m.map(cx, "directResponse", &["status", "body"]) {
        let status = direct.port(cx, "status").unwrap_or(200);
        return Some(Answer {
            status,
            kind: AnswerKind::DirectResponse,
            always: true,
        });
    }
    if let Some(redirect) = m.map(
        cx,
        "redirect",
        &[
            "uri",
            "authority",
            "port",
            "derivePort",
            "scheme",
            "redirectCode",
        ],
    ) {
        let status = redirect.port(cx, "redirectCode").unwrap_or(301);
        return Some(Answer {
            status,
            kind: AnswerKind::Redirect,
            always: true,
        });
    }
    let fault = m.map(cx, "fault", &["delay", "abort"])?;
    let abort = fault.map(
        cx,
        "abort",
        &["httpStatus", "grpcStatus", "http2Error", "percentage"],
    )?;
    let status = abort.port(cx, "httpStatus").unwrap_or(503);
    let always = match abort.map(cx, "percentage", &["value"]) {
        None => true,
        Some(p) => p
            .get("value")
            .and_then(|v| match &v.value {
                crate::source::Value::Int(n) => Some(*n as f64),
                crate::source::Value::Float(f) => Some(*f),
                _ => None,
            })
            .is_some_and(|v| v >= 100.0),
    };
    Some(Answer {
        status,
        kind: AnswerKind::FaultAbort,
        always,
    })
}

/// A `tls[]` or `tcp[]` route.
fn l4_route(cx: &mut Cx, node: &Node, path: &str, tls: bool) -> Option<L4Route> {
    let m = map(cx, node, path, &["match", "route"])?;
    let mut route = L4Route {
        matches: Vec::new(),
        destination: None,
    };
    let match_fields: &[&str] = if tls {
        &[
            "sniHosts",
            "destinationSubnets",
            "port",
            "sourceLabels",
            "gateways",
            "sourceNamespace",
        ]
    } else {
        &[
            "destinationSubnets",
            "port",
            "sourceLabels",
            "gateways",
            "sourceNamespace",
            "sourceSubnet",
        ]
    };
    for (item, item_path) in m.list(cx, "match") {
        let Some(entry) = map(cx, item, &item_path, match_fields) else {
            continue;
        };
        route.matches.push(L4Match {
            port: entry.port(cx, "port"),
            sni_hosts: entry
                .str_list(cx, "sniHosts")
                .into_iter()
                .map(|i| i.value)
                .collect(),
            gateways: entry
                .str_list(cx, "gateways")
                .into_iter()
                .map(|i| i.value)
                .collect(),
        });
    }
    for (i, (item, item_path)) in m.list(cx, "route").into_iter().enumerate() {
        let Some(dest) = map(cx, item, &item_path, &["destination", "weight"]) else {
            continue;
        };
        let Some(target) = dest.map(cx, "destination", &["host", "subset", "port"]) else {
            continue;
        };
        if i == 0 {
            route.destination = Some(RouteDestination {
                host: target.str(cx, "host").unwrap_or_default(),
                port: target
                    .map(cx, "port", &["number"])
                    .and_then(|p| p.port(cx, "number")),
                subset: target.str(cx, "subset"),
            });
        }
    }
    Some(route)
}

/// Envoy applies the destination's (weighted cluster) header mutations first and the
/// route's after them, so route-level `set` wins.
fn merge_headers(mut first: HeaderMutations, then: HeaderMutations) -> HeaderMutations {
    first.add.extend(then.add);
    first.set.extend(then.set);
    for name in then.remove {
        if !first.remove.contains(&name) {
            first.remove.push(name);
        }
    }
    first
}

/// `headers.request.{add,set,remove}` (`response` is accepted and not modelled).
fn header_mutations(cx: &mut Cx, headers: &Map) -> HeaderMutations {
    let Some(request) = headers.map(cx, "request", &["add", "set", "remove"]) else {
        return HeaderMutations::default();
    };
    HeaderMutations {
        add: request.labels(cx, "add"),
        set: request.labels(cx, "set"),
        remove: request
            .str_list(cx, "remove")
            .into_iter()
            .map(|i| i.value)
            .collect(),
    }
}

enum MatchOutcome {
    Match(RouteMatch),
    Invalid,
}

fn route_match(cx: &mut Cx, node: &Node, path: &str) -> MatchOutcome {
    let Some(m) = map(cx, node, path, MATCH_FIELDS) else {
        return MatchOutcome::Invalid;
    };
    let gateways: Vec<String> = m
        .str_list(cx, "gateways")
        .into_iter()
        .map(|g| g.value)
        .collect();
    for key in UNMODELLED_MATCH_FIELDS {
        if let Some(value) = m.get(key) {
            cx.warn(
                value,
                &m.path_of(key),
                format!(
                    "egress-policy does not model `{key}` matches; this match entry is \
                     evaluated as if it did not test `{key}`"
                ),
            );
        }
    }
    let ignore_case = m.bool(cx, "ignoreUriCase").unwrap_or(false);
    let mut entry = RouteMatch {
        gateways,
        ..RouteMatch::default()
    };
    if let Some(uri) = string_match(cx, &m, "uri") {
        entry.uri = Some(if ignore_case {
            case_insensitive(uri)
        } else {
            uri
        });
    }
    if let Some(method_node) = m.get("method") {
        match string_match(cx, &m, "method") {
            Some(UriMatch::Exact(method)) => entry.method = Some(method),
            Some(_) => cx.warn(
                method_node,
                &m.path_of("method"),
                "egress-policy models only `exact` method matches; this match entry is \
                 evaluated as if it did not test the method",
            ),
            None => {}
        }
    }
    entry.port = m.port(cx, "port");
    if let Some(headers) = m.map(cx, "headers", &["*"]) {
        if let crate::source::Value::Map(entries) = &headers.node.value {
            for (key, value) in entries {
                let value_path = headers.path_of(&key.name);
                let Some(sm) = map(cx, value, &value_path, &["exact", "prefix", "regex"]) else {
                    continue;
                };
                let matcher = one_string_match(cx, &sm)
                    // `{}`: the header must be present, with any value.
                    .unwrap_or_else(|| UriMatch::Regex(".*".to_string()));
                entry.headers.push((key.name.to_ascii_lowercase(), matcher));
            }
        }
    }
    MatchOutcome::Match(entry)
}

/// A `StringMatch` field (`exact` | `prefix` | `regex`); `{}` is no constraint.
fn string_match(cx: &mut Cx, m: &Map, key: &str) -> Option<UriMatch> {
    let sm = m.map(cx, key, &["exact", "prefix", "regex"])?;
    one_string_match(cx, &sm)
}

fn one_string_match(cx: &mut Cx, sm: &Map) -> Option<UriMatch> {
    let set: Vec<&str> = ["exact", "prefix", "regex"]
        .into_iter()
        .filter(|k| sm.get(k).is_some())
        .collect();
    if set.len() > 1 {
        cx.error(
            sm.node,
            &sm.path,
            format!(
                "only one of `exact`, `prefix` or `regex` may be set, found {}",
                set.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        );
        return None;
    }
    let key = set.first()?;
    let text = sm.str(cx, key)?;
    Some(match *key {
        "exact" => UriMatch::Exact(text),
        "prefix" => UriMatch::Prefix(text),
        _ => {
            if let Err(err) = regex::Regex::new(&text) {
                let node = sm.get("regex").unwrap_or(sm.node);
                let rendered = err.to_string();
                let last = rendered.lines().last().unwrap_or_default().trim();
                let reason = last.strip_prefix("error: ").unwrap_or(last);
                cx.error(
                    node,
                    &sm.path_of("regex"),
                    format!("invalid regex `{text}`: {reason}"),
                );
                return None;
            }
            UriMatch::Regex(text)
        }
    })
}

/// `ignoreUriCase: true` as an equivalent case-insensitive regex.
fn case_insensitive(uri: UriMatch) -> UriMatch {
    match uri {
        UriMatch::Exact(text) => UriMatch::Regex(format!("(?i-u:{})", regex::escape(&text))),
        UriMatch::Prefix(text) => {
            UriMatch::Regex(format!("(?i-u:{})(?s:.*)", regex::escape(&text)))
        }
        regex => regex,
    }
}
