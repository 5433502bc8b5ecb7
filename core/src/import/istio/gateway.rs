//! Gateways: Gateway API `Gateway` (waypoints included) and `networking.istio.io`
//! `Gateway` (classic egress gateway deployments).

use crate::model::{
    AllowedRoutes, Gateway, GatewayKind, GatewayServer, Labels, Model, PortProtocol, ResourceRef,
    ServerTlsMode, WaypointFor, WAYPOINT_CLASS,
};

use super::super::decode::{map, Cx, Map};
use super::super::Doc;
use super::{enum_field, top_level};

/// Label Istio puts on the pods of a Gateway API gateway.
use crate::model::GATEWAY_NAME_LABEL;

/// `gateway.networking.k8s.io` `GatewayClass`: only its `istio.io/waypoint-for` label
/// matters here (the traffic its waypoints take when they carry no label of their own).
pub(super) fn gateway_class(cx: &mut Cx, doc: &Doc) -> Option<WaypointFor> {
    top_level(cx, doc);
    doc.spec(
        cx,
        &["controllerName", "parametersRef", "description"],
        false,
    );
    doc.meta
        .labels
        .get("istio.io/waypoint-for")
        .map(|traffic| WaypointFor::from_wire(traffic))
}

/// `gateway.networking.k8s.io` `Gateway`. Returns a waypoint without its own
/// `istio.io/waypoint-for` label, with its class, for the class's label to apply at link.
pub(super) fn kubernetes_gateway(
    cx: &mut Cx,
    doc: &Doc,
    model: &mut Model,
) -> Option<(ResourceRef, String)> {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let mut kind = GatewayKind::KubernetesGateway;
    let mut class_name = String::new();
    let mut ports = Vec::new();
    let mut servers = Vec::new();
    if let Some(spec) = doc.spec(
        cx,
        &[
            "gatewayClassName",
            "listeners",
            "addresses",
            "infrastructure",
            "backendTLS",
            "allowedListeners",
            "tls",
            "defaultScope",
        ],
        true,
    ) {
        class_name = spec.str(cx, "gatewayClassName").unwrap_or_default();
        match spec.str(cx, "gatewayClassName") {
            Some(class) if class == WAYPOINT_CLASS => kind = GatewayKind::Waypoint,
            Some(class) if !class.is_empty() => {}
            _ => {
                let node = spec.get("gatewayClassName").unwrap_or(spec.node);
                cx.error(
                    node,
                    &spec.path_of("gatewayClassName"),
                    "missing field `gatewayClassName`",
                );
            }
        }
        for (node, path) in spec.list(cx, "listeners") {
            let Some(listener) = map(
                cx,
                node,
                &path,
                &[
                    "name",
                    "hostname",
                    "port",
                    "protocol",
                    "tls",
                    "allowedRoutes",
                ],
            ) else {
                continue;
            };
            let from = listener
                .map(cx, "allowedRoutes", &["namespaces", "kinds"])
                .and_then(|a| a.map(cx, "namespaces", &["from", "selector"]))
                .and_then(|n| enum_field(cx, &n, "from", &["All", "Same", "Selector", "None"]))
                .and_then(|from| AllowedRoutes::from_wire(&from))
                .unwrap_or(AllowedRoutes::Same);
            let hostname = listener.str(cx, "hostname").filter(|h| !h.is_empty());
            let tls_mode = listener
                .map(
                    cx,
                    "tls",
                    &["mode", "certificateRefs", "options", "frontendValidation"],
                )
                .and_then(|t| t.str(cx, "mode"))
                .map(|mode| ServerTlsMode::from_wire(&mode));
            if let Some(port) = required_port(cx, &listener, "port") {
                push_unique(&mut ports, port);
                servers.push(GatewayServer {
                    port,
                    protocol: PortProtocol::from_any_case(
                        &listener.str(cx, "protocol").unwrap_or_default(),
                    ),
                    hosts: hostname.into_iter().collect(),
                    tls_mode,
                    from_namespaces: from,
                });
            }
        }
    }
    let id = ResourceRef::new("Gateway", &namespace, &doc.meta.name);
    let unlabelled = match doc.meta.labels.get("istio.io/waypoint-for") {
        Some(traffic) => {
            model
                .waypoint_for
                .insert(id.clone(), WaypointFor::from_wire(traffic));
            None
        }
        None => (kind == GatewayKind::Waypoint).then(|| (id.clone(), class_name.clone())),
    };
    let mut labels = Labels::new();
    labels.insert(GATEWAY_NAME_LABEL.to_string(), doc.meta.name.clone());
    model.gateways.push(Gateway {
        id,
        kind,
        location: doc.location(),
        namespace,
        labels,
        ports,
        workspace: None,
        group: None,
        originates_tls: false,
        servers,
    });
    unlabelled
}

/// `networking.istio.io` `Gateway`: its `selector` names the gateway pods.
pub(super) fn istio_gateway(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let mut labels = Labels::new();
    let mut ports = Vec::new();
    let mut servers = Vec::new();
    if let Some(spec) = doc.spec(cx, &["selector", "servers"], true) {
        labels = spec.labels(cx, "selector");
        for (node, path) in spec.list(cx, "servers") {
            let Some(server) = map(
                cx,
                node,
                &path,
                &["port", "bind", "hosts", "tls", "defaultEndpoint", "name"],
            ) else {
                continue;
            };
            let hosts: Vec<String> = server.str_values(cx, "hosts");
            let tls_mode = server
                .map(
                    cx,
                    "tls",
                    &[
                        "httpsRedirect",
                        "mode",
                        "serverCertificate",
                        "privateKey",
                        "caCertificates",
                        "caCrl",
                        "credentialName",
                        "credentialNames",
                        "tlsCertificates",
                        "subjectAltNames",
                        "verifyCertificateSpki",
                        "verifyCertificateHash",
                        "minProtocolVersion",
                        "maxProtocolVersion",
                        "cipherSuites",
                    ],
                )
                .and_then(|t| t.str(cx, "mode"))
                .map(|mode| ServerTlsMode::from_wire(&mode));
            match server.map(cx, "port", &["number", "protocol", "name", "targetPort"]) {
                Some(port) => {
                    if let Some(number) = required_port(cx, &port, "number") {
                        push_unique(&mut ports, number);
                        servers.push(GatewayServer {
                            from_namespaces: AllowedRoutes::NotApplicable,
                            port: number,
                            protocol: PortProtocol::from_any_case(
                                &port.str(cx, "protocol").unwrap_or_default(),
                            ),
                            hosts,
                            tls_mode,
                        });
                    }
                }
                None => {
                    if server.get("port").is_none() {
                        cx.error(node, &server.path_of("port"), "missing field `port`");
                    }
                }
            }
        }
    }
    model.gateways.push(Gateway {
        id: ResourceRef::new("Gateway", &namespace, &doc.meta.name),
        kind: GatewayKind::IstioGateway,
        location: doc.location(),
        namespace,
        labels,
        ports,
        workspace: None,
        group: None,
        originates_tls: false,
        servers,
    });
}

/// A port 1..65535 that must be written.
fn required_port(cx: &mut Cx, m: &Map, key: &str) -> Option<u16> {
    let Some(node) = m.get(key) else {
        cx.error(m.node, &m.path_of(key), format!("missing field `{key}`"));
        return None;
    };
    let port = m.port(cx, key)?;
    if port == 0 {
        cx.error(node, &m.path_of(key), "port 0 is not a number in 1..65535");
        return None;
    }
    Some(port)
}

fn push_unique(ports: &mut Vec<u16>, port: u16) {
    if !ports.contains(&port) {
        ports.push(port);
    }
}
