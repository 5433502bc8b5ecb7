//! `networking.istio.io` VirtualService: its `http`, `tls` and `tcp` routes, their match
//! criteria, header mutations, direct answers and destinations.

use crate::model::{
    Answer, AnswerKind, ExportTo, HeaderMutations, HttpRoute, L4Match, L4Route, Model, ResourceRef,
    RouteDestination, RouteMatch, UriMatch, VirtualService,
};
use crate::source::Node;

use super::super::super::decode::{map, Cx, Map};
use super::super::super::Doc;
use super::super::{top_level, written};

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
pub(crate) fn virtual_service(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let mut service = VirtualService::empty(
        ResourceRef::new("VirtualService", &namespace, &doc.meta.name),
        Some(doc.location()),
    );
    if let Some(spec) = doc.spec(
        cx,
        &["hosts", "gateways", "http", "tls", "tcp", "exportTo"],
        true,
    ) {
        service.hosts = spec.str_values(cx, "hosts");
        service.gateways = spec.str_values(cx, "gateways");
        service.export_to = ExportTo {
            values: spec.str_values(cx, "exportTo"),
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
    // Envoy applies the destination's (weighted cluster) mutations first, so the route's
    // `set` wins.
    route.headers = destination_headers.then(route_headers);
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
            sni_hosts: entry.str_values(cx, "sniHosts"),
            gateways: entry.str_values(cx, "gateways"),
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

/// `headers.request.{add,set,remove}` (`response` is accepted and not modelled).
fn header_mutations(cx: &mut Cx, headers: &Map) -> HeaderMutations {
    let Some(request) = headers.map(cx, "request", &["add", "set", "remove"]) else {
        return HeaderMutations::default();
    };
    HeaderMutations {
        add: request.labels(cx, "add"),
        set: request.labels(cx, "set"),
        remove: request.str_values(cx, "remove"),
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
