//! Gloo `ExternalService` (`networking.gloo.solo.io/v2`): hosts, ports, client-side TLS and
//! egress gateway routes.

use crate::model::{
    ExternalService, IpBlock, Model, PortProtocol, Resolution, ResourceRef, ServicePort, TlsMode,
    TlsOrigination, Vendor,
};
use crate::source::{Node, Value};

use super::super::decode::{
    is_empty_list, list, map, quoted, required, upper_enum_field, Cx, Map, Site,
};
use super::super::Doc;
use super::{opt_str, port_selector, GlooImporter, PendingService, PortSelector};

const EXTERNAL_SERVICE_FIELDS: &[&str] =
    &["hosts", "addresses", "ports", "selector", "subjectAltNames"];

const PORT_FIELDS: &[&str] = &[
    "number",
    "targetPort",
    "name",
    "protocol",
    "clientsideTls",
    "egressGatewayRoutes",
];

/// `ExternalServiceSpec.Port.protocol` ("MUST be one of").
const PROTOCOLS: &[&str] = &["HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS"];

const TLS_CONFIG_FIELDS: &[&str] = &[
    "sni",
    "mode",
    "clientCertificate",
    "privateKey",
    "caCertificates",
    "credentialName",
    "insecureSkipVerify",
];

/// `TlsConfig.TLSMode` (the proto spells `DISABLE`; its comment says `DISABLED`).
const CLIENT_TLS_MODES: &[&str] = &["SIMPLE", "DISABLE", "DISABLED", "MUTUAL", "ISTIO_MUTUAL"];

/// Decodes an `ExternalService`.
pub(super) fn import(state: &mut GlooImporter, cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(cx, EXTERNAL_SERVICE_FIELDS, true) else {
        return;
    };
    let errors = cx.error_count();
    let namespace = doc.namespace();
    let id = ResourceRef::new("ExternalService", &namespace, &doc.meta.name);
    let hosts: Vec<String> = spec
        .str_list(cx, "hosts")
        .into_iter()
        .filter_map(|item| {
            let value = &item.value;
            let wildcard_ok = match value.strip_prefix("*.") {
                Some(rest) => !rest.is_empty() && !rest.contains('*'),
                None => !value.contains('*'),
            };
            if !wildcard_ok
                || value.contains(['/', ':'])
                || value.chars().any(char::is_whitespace)
            {
                cx.error(
                    item.node,
                    &item.path(),
                    format!(
                        "`{value}` is not a host name (an FQDN, optionally with a leading `*.` wildcard)"
                    ),
                );
                return None;
            }
            Some(item.value)
        })
        .collect();
    let addresses = spec.str_list(cx, "addresses");
    for item in &addresses {
        if IpBlock::parse(&item.value).is_none() {
            cx.error(
                item.node,
                &item.path(),
                format!("`{}` is not an IP address or CIDR block", item.value),
            );
        }
    }
    match (spec.get("hosts"), spec.get("addresses")) {
        (Some(_), Some(at)) => cx.error(
            at,
            &spec.path_of("addresses"),
            "`hosts` and `addresses` are mutually exclusive",
        ),
        (None, None) => cx.error(
            spec.node,
            &spec.path_of("hosts"),
            "an ExternalService needs `hosts` (or `addresses`)",
        ),
        (None, Some(at)) => cx.warn(
            at,
            &spec.path_of("addresses"),
            "egress-policy finds external services by host name; an address-only ExternalService is never selected",
        ),
        (Some(_), None) => {}
    }
    let selector = spec.labels(cx, "selector");
    spec.str_list(cx, "subjectAltNames");

    let mut ports = Vec::new();
    let mut tls = None;
    let mut gateway: Option<(ResourceRef, u16, Site)> = None;
    match required(cx, &spec, "ports", "") {
        Some(node) if is_empty_list(node) => cx.error(
            node,
            &spec.path_of("ports"),
            "an ExternalService needs at least one port",
        ),
        Some(node) => {
            for (item, path) in list(cx, node, &spec.path_of("ports")) {
                let Some(port) = map(cx, item, &path, PORT_FIELDS) else {
                    continue;
                };
                let context = PortContext {
                    id: &id,
                    hosts: &hosts,
                    has_addresses: !addresses.is_empty(),
                    has_endpoints: !selector.is_empty(),
                };
                if let Some(decoded) = external_port(cx, &port, &context) {
                    if tls.is_none() {
                        tls = decoded.tls;
                    }
                    if let Some((gateway_ref, port_match, site)) = decoded.gateway {
                        match &gateway {
                            None => gateway = Some((gateway_ref, port_match, site)),
                            Some((first, _, _)) if *first != gateway_ref => cx.warn(
                                item,
                                &path,
                                format!(
                                    "egress-policy routes an ExternalService through one gateway; this port's {gateway_ref} is ignored in favour of {first}"
                                ),
                            ),
                            Some(_) => {}
                        }
                    }
                    ports.push(decoded.port);
                }
            }
        }
        None => {}
    }
    if cx.error_count() != errors {
        return;
    }
    let gateway_site = gateway
        .as_ref()
        .map(|(r, _, site)| (r.clone(), site.clone()));
    state.services.push(PendingService {
        id: id.clone(),
        labels: doc.meta.labels.clone(),
        gateway: gateway_site,
        site: Site::new(cx, doc.node, ""),
    });
    model.services.push(ExternalService {
        id,
        vendor: Vendor::Gloo,
        location: doc.location(),
        hosts,
        ports,
        resolution: if selector.is_empty() {
            Resolution::Dns
        } else {
            Resolution::Static
        },
        export_to: Vec::new(),
        gateway_port: gateway.as_ref().map(|(_, port, _)| *port),
        gateway: gateway.map(|(r, _, _)| r),
        tls,
        addresses: Vec::new(),
        auto_allocated: false,
    });
}

struct PortContext<'a> {
    id: &'a ResourceRef,
    hosts: &'a [String],
    has_addresses: bool,
    has_endpoints: bool,
}

struct DecodedPort {
    port: ServicePort,
    tls: Option<TlsOrigination>,
    gateway: Option<(ResourceRef, u16, Site)>,
}

fn external_port(cx: &mut Cx, port: &Map, context: &PortContext) -> Option<DecodedPort> {
    let number = required(cx, port, "number", "").and_then(|_| port.port(cx, "number"));
    let protocol_node = required(
        cx,
        port,
        "protocol",
        &format!(": one of {}", quoted(PROTOCOLS)),
    );
    let protocol = protocol_node
        .and_then(|_| upper_enum_field(cx, port, "protocol", PROTOCOLS))
        .map(|p| PortProtocol::from_wire(&p));
    let name = port.str(cx, "name").unwrap_or_default();
    let target_port = match port.get("targetPort") {
        Some(node) => match port_selector(cx, node, &port.path_of("targetPort"))? {
            PortSelector::Number(n) => Some(n),
            PortSelector::Name(target) => {
                if context.has_endpoints {
                    cx.warn(
                        node,
                        &port.path_of("targetPort"),
                        format!(
                            "targetPort `{target}` names an ExternalEndpoint port, which egress-policy does not load; the service port is used"
                        ),
                    );
                } else {
                    cx.error(
                        node,
                        &port.path_of("targetPort"),
                        format!(
                            "targetPort `{target}` is given by name, which needs ExternalEndpoints (`spec.selector`); give a number"
                        ),
                    );
                }
                None
            }
        },
        None => None,
    };
    let tls = match port.get("clientsideTls") {
        Some(node) => client_tls(cx, node, &port.path_of("clientsideTls"), context)?,
        None => None,
    };
    let gateway = match port.get("egressGatewayRoutes") {
        Some(node) => {
            let path = port.path_of("egressGatewayRoutes");
            if context.has_addresses {
                cx.error(
                    node,
                    &path,
                    "egress gateway routes need an ExternalService with `hosts`, not `addresses`",
                );
            }
            if let Some(p) = &protocol {
                if !matches!(
                    p,
                    PortProtocol::Http | PortProtocol::Http2 | PortProtocol::Https
                ) {
                    cx.warn(
                        node,
                        &path,
                        format!(
                            "Gloo supports egress gateway routes only for HTTP, HTTP2 and HTTPS ports, not {p}"
                        ),
                    );
                }
            }
            egress_routes(cx, node, &path, &context.id.namespace)?
        }
        None => None,
    };
    Some(DecodedPort {
        port: ServicePort {
            number: number?,
            protocol: protocol?,
            name,
            target_port,
        },
        tls,
        gateway,
    })
}

/// `clientsideTls`: a `TlsConfig` object (or, leniently, `true` for `SIMPLE`).
fn client_tls(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    context: &PortContext,
) -> Option<Option<TlsOrigination>> {
    let default_sni = match context.hosts {
        [only] => Some(only.clone()),
        _ => None,
    };
    let origination = |mode: TlsMode, sni: Option<String>| TlsOrigination {
        mode,
        sni: sni.or_else(|| default_sni.clone()),
        origin: context.id.clone(),
    };
    match &node.value {
        Value::Bool(true) => return Some(Some(origination(TlsMode::Simple, None))),
        Value::Bool(false) => return Some(None),
        _ => {}
    }
    let config = map(cx, node, path, TLS_CONFIG_FIELDS)?;
    let mode = match config.get("mode") {
        Some(_) => upper_enum_field(cx, &config, "mode", CLIENT_TLS_MODES)?,
        None => "SIMPLE".to_string(),
    };
    let sni = opt_str(cx, &config, "sni");
    let certificate = opt_str(cx, &config, "clientCertificate");
    let key = opt_str(cx, &config, "privateKey");
    let credential = opt_str(cx, &config, "credentialName");
    opt_str(cx, &config, "caCertificates");
    config.bool(cx, "insecureSkipVerify");
    // `DISABLED` is Gloo's spelling of `DISABLE`; neither originates TLS.
    match TlsMode::from_wire(&mode) {
        None | Some(TlsMode::Disable) => Some(None),
        Some(TlsMode::Mutual)
            if credential.is_none() && (certificate.is_none() || key.is_none()) =>
        {
            cx.error(
                node,
                path,
                "mode `MUTUAL` needs `clientCertificate` and `privateKey` (or `credentialName`)",
            );
            None
        }
        Some(mode) => Some(Some(origination(mode, sni))),
    }
}

/// `egressGatewayRoutes {portMatch, virtualGatewayRefs}`: the first referenced gateway.
fn egress_routes(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    namespace: &str,
) -> Option<Option<(ResourceRef, u16, Site)>> {
    let routes = map(cx, node, path, &["portMatch", "virtualGatewayRefs"])?;
    let port_match = match routes.get("portMatch") {
        Some(_) => routes.port(cx, "portMatch")?,
        None => 80,
    };
    let refs_node = required(
        cx,
        &routes,
        "virtualGatewayRefs",
        ": name the egress VirtualGateway(s)",
    )?;
    let refs_path = routes.path_of("virtualGatewayRefs");
    if is_empty_list(refs_node) {
        cx.error(
            refs_node,
            &refs_path,
            "`virtualGatewayRefs` must name at least one VirtualGateway",
        );
        return None;
    }
    let mut first = None;
    let mut count = 0usize;
    for (item, item_path) in list(cx, refs_node, &refs_path) {
        let Some(reference) = map(cx, item, &item_path, &["name", "namespace", "cluster"]) else {
            continue;
        };
        required(cx, &reference, "name", "")?;
        let name = reference.str(cx, "name")?;
        let ns = opt_str(cx, &reference, "namespace").unwrap_or_else(|| namespace.to_string());
        super::cluster(cx, &reference, &mut Vec::new());
        count += 1;
        if first.is_none() {
            first = Some((
                ResourceRef::new("VirtualGateway", &ns, &name),
                Site::new(cx, item, &item_path),
            ));
        }
    }
    if count > 1 {
        cx.warn(
            refs_node,
            &refs_path,
            "Gloo load-balances across several egress gateways; egress-policy evaluates at the first one",
        );
    }
    Some(first.map(|(r, site)| (r, port_match, site)))
}
