//! Gloo `VirtualGateway` (`networking.gloo.solo.io/v2`): the egress gateway a route names.

use crate::model::{Gateway, GatewayKind, Model, ResourceRef};
use crate::source::Node;

use super::super::decode::{enum_field, is_empty_list, list, map, required, upper_enum_field, Cx};
use super::super::Doc;
use super::{
    port_selector, read_selector, GlooImporter, ObjectSelector, PortSelector,
    OBJECT_SELECTOR_FIELDS,
};

const LISTENER_FIELDS: &[&str] = &[
    "port",
    "tls",
    "httpsRedirect",
    "http",
    "tcp",
    "allowedRouteTables",
    "exposedExternalServices",
    "appProtocol",
];

const APP_PROTOCOLS: &[&str] = &[
    "GRPC",
    "GRPC-WEB",
    "HTTP",
    "HTTP_PROXY",
    "HTTP2",
    "HTTPS",
    "TCP",
    "TLS",
    "MONGO",
    "REDIS",
    "MYSQL",
];

const GATEWAY_TLS_MODES: &[&str] = &[
    "PASSTHROUGH",
    "SIMPLE",
    "MUTUAL",
    "AUTO_PASSTHROUGH",
    "ISTIO_MUTUAL",
];

/// Decodes a `VirtualGateway` into a gateway.
pub(super) fn import(_: &mut GlooImporter, cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(cx, &["workloads", "listeners"], true) else {
        return;
    };
    let errors = cx.error_count();
    let mut selectors = Vec::new();
    if let Some(node) = spec.get("workloads") {
        let path = spec.path_of("workloads");
        for (item, item_path) in list(cx, node, &path) {
            let Some(workload) = map(cx, item, &item_path, &["selector", "kind", "port"]) else {
                continue;
            };
            enum_field(cx, &workload, "kind", &["KUBE", "VM"]);
            if let Some(port) = workload.get("port") {
                port_selector(cx, port, &workload.path_of("port"));
            }
            let selector = match workload.get("selector") {
                Some(node) => read_selector(
                    cx,
                    node,
                    &workload.path_of("selector"),
                    OBJECT_SELECTOR_FIELDS,
                    &mut Vec::new(),
                ),
                None => Some(ObjectSelector::default()),
            };
            if let Some(selector) = selector {
                selectors.push(selector);
            }
        }
    }
    let mut ports: Vec<u16> = Vec::new();
    match required(
        cx,
        &spec,
        "listeners",
        ": a VirtualGateway needs at least one listener",
    ) {
        Some(node) if is_empty_list(node) => cx.error(
            node,
            &spec.path_of("listeners"),
            "a VirtualGateway needs at least one listener",
        ),
        Some(node) => {
            for (item, path) in list(cx, node, &spec.path_of("listeners")) {
                if let Some(port) = listener(cx, item, &path) {
                    if !ports.contains(&port) {
                        ports.push(port);
                    }
                }
            }
        }
        None => {}
    }
    if cx.error_count() != errors {
        return;
    }
    // "A gateway workload is selected if it matches any of the provided selectors": one
    // gateway entry per selector, all with the VirtualGateway's id (the first is where its
    // routes arrive; policies selecting any of them attach).
    let namespace = doc.namespace();
    if selectors.is_empty() {
        selectors.push(ObjectSelector::default());
    }
    for selector in selectors {
        let gateway = Gateway {
            id: ResourceRef::new("VirtualGateway", &namespace, &doc.meta.name),
            kind: GatewayKind::GlooVirtualGateway,
            location: doc.location(),
            namespace: selector.namespace.unwrap_or_else(|| namespace.clone()),
            labels: selector.labels,
            ports: ports.clone(),
            workspace: None,
            group: None,
            originates_tls: false,
            servers: Vec::new(),
        };
        if !model.gateways.contains(&gateway) {
            model.gateways.push(gateway);
        }
    }
}

/// One listener; returns its port number when given by number.
fn listener(cx: &mut Cx, node: &Node, path: &str) -> Option<u16> {
    let listener = map(cx, node, path, LISTENER_FIELDS)?;
    let both = |cx: &mut Cx, a: &str, b: &str| {
        if listener.has(a) && listener.has(b) {
            if let Some(at) = listener.node.get(b) {
                cx.error(
                    at,
                    &listener.path_of(b),
                    format!("`{a}` and `{b}` are mutually exclusive"),
                );
            }
        }
    };
    both(cx, "tls", "httpsRedirect");
    both(cx, "http", "tcp");
    listener.bool(cx, "httpsRedirect");
    // `http` preserves unknown fields in the CRD schema; `tcp` is an empty message.
    if let Some(server) = listener.get("http") {
        map(cx, server, listener.path_of("http"), &["*"]);
    }
    if let Some(server) = listener.get("tcp") {
        map(cx, server, listener.path_of("tcp"), &[]);
    }
    upper_enum_field(cx, &listener, "appProtocol", APP_PROTOCOLS);
    if let Some(tls) = listener.get("tls") {
        if let Some(tls) = map(
            cx,
            tls,
            listener.path_of("tls"),
            &[
                "secretName",
                "files",
                "verifySubjectAltName",
                "parameters",
                "mode",
            ],
        ) {
            enum_field(cx, &tls, "mode", GATEWAY_TLS_MODES);
            tls.str(cx, "secretName");
            tls.str_list(cx, "verifySubjectAltName");
            if let Some(files) = tls.get("files") {
                map(
                    cx,
                    files,
                    tls.path_of("files"),
                    &["serverCert", "privateKey", "caCerts", "crl", "ocspStaple"],
                );
            }
            if let Some(parameters) = tls.get("parameters") {
                map(
                    cx,
                    parameters,
                    tls.path_of("parameters"),
                    &[
                        "minimumProtocolVersion",
                        "maximumProtocolVersion",
                        "cipherSuites",
                        "ecdhCurves",
                    ],
                );
            }
        }
    }
    for (key, extra) in [
        (
            "allowedRouteTables",
            &["host", "selector", "allowedRoutes"][..],
        ),
        ("exposedExternalServices", &["host", "selector"][..]),
    ] {
        let Some(filters) = listener.get(key) else {
            continue;
        };
        for (item, item_path) in list(cx, filters, &listener.path_of(key)) {
            let Some(filter) = map(cx, item, &item_path, extra) else {
                continue;
            };
            if required(cx, &filter, "host", "").is_some() {
                filter.str(cx, "host");
            }
            if let Some(selector) = filter.get("selector") {
                read_selector(
                    cx,
                    selector,
                    &filter.path_of("selector"),
                    OBJECT_SELECTOR_FIELDS,
                    &mut Vec::new(),
                );
            }
        }
    }
    let port_node = required(
        cx,
        &listener,
        "port",
        ": the gateway service port to listen on",
    )?;
    match port_selector(cx, port_node, &listener.path_of("port"))? {
        PortSelector::Number(n) => Some(n),
        PortSelector::Name(name) => {
            cx.warn(
                port_node,
                &listener.path_of("port"),
                format!("listener port `{name}` is given by name; egress-policy does not know its number"),
            );
            None
        }
    }
}
