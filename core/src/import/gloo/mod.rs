//! Solo Gloo Mesh resources (SEMANTICS.md §5, §8.4): `ExternalService` and
//! `VirtualGateway` (`networking.gloo.solo.io/v2`) and `AccessPolicy`
//! (`security.policy.gloo.solo.io/v2`).
//!
//! Field sets follow the v2 protos (`solo-io/solo-apis api/gloo.solo.io/networking/v2/
//! {external_service,virtual_gateway}.proto`, `…/policy/v2/security/access_policy.proto`,
//! `…/common/v2/{selectors,references,port}.proto`). Which external services and gateways an
//! `AccessPolicy` selects, and whether an `ExternalService`'s egress `VirtualGateway` is
//! loaded, are resolved in [`link`].

use std::cell::Cell;

use crate::diagnostic::Diagnostic;
use crate::model::{
    Action, Condition, ExternalService, Field, Gateway, GatewayKind, IpBlock, Labels, Model,
    NamespacePattern, Operation, PathPattern, Policy, ResourceRef, Rule, Scope, ServiceAccountRef,
    ServicePort, Source, StringPattern, TlsOrigination, Vendor,
};
use crate::source::{Node, Value};

use super::decode::{join, list, map, Cx, Map};
use super::tsb::{enum_field, is_empty_list, quoted, required, values, Site};
use super::Doc;

#[cfg(test)]
mod tests;

/// Top-level keys of every Gloo document.
const DOC_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

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

const OBJECT_SELECTOR_FIELDS: &[&str] = &["labels", "name", "namespace", "cluster", "workspace"];

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

/// `ObjectSelector` fields that narrow by name, namespace and labels (cluster and
/// workspace are not modelled).
#[derive(Debug, Clone, Default, PartialEq)]
struct ObjectSelector {
    name: Option<String>,
    namespace: Option<String>,
    labels: Labels,
}

impl ObjectSelector {
    fn selects(&self, id: &ResourceRef, labels: &Labels) -> bool {
        self.name.as_ref().is_none_or(|n| *n == id.name)
            && self.namespace.as_ref().is_none_or(|n| *n == id.namespace)
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    fn selects_gateway(&self, gateway: &Gateway) -> bool {
        self.namespace
            .as_ref()
            .is_none_or(|n| *n == gateway.namespace)
            && self
                .labels
                .iter()
                .all(|(k, v)| gateway.labels.get(k) == Some(v))
    }
}

/// One `applyToDestinations` entry.
#[derive(Debug)]
struct DestinationTarget {
    external: bool,
    selector: ObjectSelector,
    site: Site,
}

/// Where an `AccessPolicy` applies, before resolution.
#[derive(Debug)]
enum Target {
    /// Neither `applyToDestinations` nor `applyToWorkloads`: every destination.
    All,
    /// `applyToDestinations`.
    Destinations(Vec<DestinationTarget>),
    /// `applyToWorkloads` (resolved against the loaded gateways).
    Workloads(Vec<ObjectSelector>),
}

#[derive(Debug)]
struct PendingService {
    id: ResourceRef,
    labels: Labels,
    gateway: Option<(ResourceRef, Site)>,
}

#[derive(Debug)]
struct PendingPolicy {
    id: ResourceRef,
    dry_run: bool,
    target: std::rc::Rc<Target>,
}

/// What [`import`] leaves for [`link`]: external service labels (the model keeps none) and
/// the unresolved targets of access policies. Kept per thread between the imports and the
/// link of one [`Loader::load`](super::Loader::load), which runs both on one thread;
/// [`link`] always drains it.
#[derive(Debug, Default)]
struct Pending {
    services: Vec<PendingService>,
    policies: Vec<Option<PendingPolicy>>,
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

/// Imports the document if it is a Gloo kind; returns whether it was.
pub(crate) fn import(cx: &mut Cx, doc: &Doc, model: &mut Model) -> bool {
    let handler: fn(&mut Cx, &Doc, &mut Model) = match (doc.group.as_str(), doc.kind.as_str()) {
        ("networking.gloo.solo.io", "ExternalService") => import_external_service,
        ("networking.gloo.solo.io", "VirtualGateway") => import_virtual_gateway,
        ("security.policy.gloo.solo.io", "AccessPolicy") => import_access_policy,
        _ => return false,
    };
    map(cx, doc.node, "", DOC_FIELDS);
    if doc.require_version(cx, "v2") {
        handler(cx, doc, model);
    }
    true
}

/// An upper-cased enum field (Gloo accepts protocol names in any case).
fn upper_enum(cx: &mut Cx, m: &Map, key: &str, allowed: &[&str]) -> Option<String> {
    let node = m.get(key)?;
    let path = m.path_of(key);
    let value = super::decode::string(cx, node, &path)?;
    let upper = value.to_ascii_uppercase();
    if allowed.contains(&upper.as_str()) {
        Some(upper)
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

/// A string that is empty when not written (proto zero value) becomes `None`.
fn opt_str(cx: &mut Cx, m: &Map, key: &str) -> Option<String> {
    m.str(cx, key).filter(|s| !s.is_empty())
}

/// `common.gloo.solo.io.PortSelector`: exactly one of `number` / `name`.
enum PortSelector {
    Number(u16),
    Name(String),
}

fn port_selector(cx: &mut Cx, node: &Node, path: &str) -> Option<PortSelector> {
    let m = map(cx, node, path, &["number", "name"])?;
    match (m.get("number"), m.get("name")) {
        (Some(_), Some(name)) => {
            cx.error(
                name,
                &m.path_of("name"),
                "set either `number` or `name`, not both",
            );
            None
        }
        (Some(_), None) => m.port(cx, "number").map(PortSelector::Number),
        (None, Some(_)) => m.str(cx, "name").map(PortSelector::Name),
        (None, None) => {
            cx.error(node, path, "a port selector needs `number` or `name`");
            None
        }
    }
}

// ------------------------------------------------------------------------------------------
// ExternalService

fn import_external_service(cx: &mut Cx, doc: &Doc, model: &mut Model) {
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
                    &item.path,
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
                &item.path,
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
    pending(|p| {
        p.services.push(PendingService {
            id: id.clone(),
            labels: doc.meta.labels.clone(),
            gateway: gateway_site,
        });
    });
    model.services.push(ExternalService {
        id,
        vendor: Vendor::Gloo,
        location: doc.location(),
        hosts,
        ports,
        resolution: if selector.is_empty() { "DNS" } else { "STATIC" }.to_string(),
        export_to: Vec::new(),
        gateway_port: gateway.as_ref().map(|(_, port, _)| *port),
        gateway: gateway.map(|(r, _, _)| r),
        tls,
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
    let protocol = protocol_node.and_then(|_| upper_enum(cx, port, "protocol", PROTOCOLS));
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
                if !matches!(p.as_str(), "HTTP" | "HTTP2" | "HTTPS") {
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
    let origination = |mode: &str, sni: Option<String>| TlsOrigination {
        mode: mode.to_string(),
        sni: sni.or_else(|| default_sni.clone()),
        origin: context.id.clone(),
    };
    match &node.value {
        Value::Bool(true) => return Some(Some(origination("SIMPLE", None))),
        Value::Bool(false) => return Some(None),
        _ => {}
    }
    let config = map(cx, node, path, TLS_CONFIG_FIELDS)?;
    let mode = match config.get("mode") {
        Some(_) => upper_enum(cx, &config, "mode", CLIENT_TLS_MODES)?,
        None => "SIMPLE".to_string(),
    };
    let sni = opt_str(cx, &config, "sni");
    let certificate = opt_str(cx, &config, "clientCertificate");
    let key = opt_str(cx, &config, "privateKey");
    let credential = opt_str(cx, &config, "credentialName");
    opt_str(cx, &config, "caCertificates");
    config.bool(cx, "insecureSkipVerify");
    match mode.as_str() {
        "DISABLE" | "DISABLED" => Some(None),
        "MUTUAL" if credential.is_none() && (certificate.is_none() || key.is_none()) => {
            cx.error(
                node,
                path,
                "mode `MUTUAL` needs `clientCertificate` and `privateKey` (or `credentialName`)",
            );
            None
        }
        _ => Some(Some(origination(&mode, sni))),
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
        opt_str(cx, &reference, "cluster");
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

// ------------------------------------------------------------------------------------------
// VirtualGateway

fn import_virtual_gateway(cx: &mut Cx, doc: &Doc, model: &mut Model) {
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
                ),
                None => Some(ObjectSelector::default()),
            };
            if let Some(selector) = selector {
                selectors.push(selector);
            }
        }
        if selectors.len() > 1 {
            cx.warn(
                node,
                &path,
                "egress-policy models one workload set per gateway; the first selector is used",
            );
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
    let namespace = doc.namespace();
    let first = selectors.into_iter().next().unwrap_or_default();
    model.gateways.push(Gateway {
        id: ResourceRef::new("VirtualGateway", &namespace, &doc.meta.name),
        kind: GatewayKind::GlooVirtualGateway,
        location: doc.location(),
        namespace: first.namespace.unwrap_or(namespace),
        labels: first.labels,
        ports,
        workspace: None,
        group: None,
        originates_tls: false,
        servers: Vec::new(),
    });
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
        map(cx, server, &listener.path_of("http"), &["*"]);
    }
    if let Some(server) = listener.get("tcp") {
        map(cx, server, &listener.path_of("tcp"), &[]);
    }
    upper_enum(cx, &listener, "appProtocol", APP_PROTOCOLS);
    if let Some(tls) = listener.get("tls") {
        if let Some(tls) = map(
            cx,
            tls,
            &listener.path_of("tls"),
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
                    &tls.path_of("files"),
                    &["serverCert", "privateKey", "caCerts", "crl", "ocspStaple"],
                );
            }
            if let Some(parameters) = tls.get("parameters") {
                map(
                    cx,
                    parameters,
                    &tls.path_of("parameters"),
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

/// Reads an `ObjectSelector`; `cluster` and `workspace` are accepted but not modelled.
fn read_selector(cx: &mut Cx, node: &Node, path: &str, allowed: &[&str]) -> Option<ObjectSelector> {
    let m = map(cx, node, path, allowed)?;
    let selector = ObjectSelector {
        name: opt_str(cx, &m, "name"),
        namespace: opt_str(cx, &m, "namespace"),
        labels: m.labels(cx, "labels"),
    };
    opt_str(cx, &m, "cluster");
    opt_str(cx, &m, "workspace");
    Some(selector)
}

// ------------------------------------------------------------------------------------------
// AccessPolicy

fn import_access_policy(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    let Some(spec) = doc.spec(
        cx,
        &["applyToDestinations", "applyToWorkloads", "config"],
        true,
    ) else {
        return;
    };
    let errors = cx.error_count();
    let id = ResourceRef::new("AccessPolicy", &doc.namespace(), &doc.meta.name);
    let target = access_target(cx, &spec);
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
                if let Some(authn) = map(cx, authn, &config.path_of("authn"), &["tlsMode"]) {
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
                    if let Some(entry) = authorization(cx, item, &item_path) {
                        entries.push(entry);
                    }
                    has_authz = true;
                }
            }
            if let Some(node) = config.get("authz") {
                let authz_path = config.path_of("authz");
                let entry = authorization(cx, node, &authz_path);
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
    let target = std::rc::Rc::new(target);
    for dry_run in [false, true] {
        let bucket: Vec<&(bool, Option<Rule>)> =
            entries.iter().filter(|(d, _)| *d == dry_run).collect();
        if bucket.is_empty() {
            continue;
        }
        let rules = bucket.iter().filter_map(|(_, r)| r.clone()).collect();
        let shared = std::rc::Rc::clone(&target);
        pending(|p| {
            p.policies.push(Some(PendingPolicy {
                id: id.clone(),
                dry_run,
                target: shared,
            }));
        });
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
fn access_target(cx: &mut Cx, spec: &Map) -> Option<Target> {
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
                Some(node) => {
                    read_selector(cx, node, &dest.path_of("selector"), OBJECT_SELECTOR_FIELDS)
                }
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
fn authorization(cx: &mut Cx, node: &Node, path: &str) -> Option<(bool, Option<Rule>)> {
    let authz = map(cx, node, path, AUTHORIZATION_FIELDS)?;
    let errors = cx.error_count();
    let dry_run = authz.bool(cx, "dryRun").unwrap_or(false);

    // Clients: absent or empty admits nobody; an empty selector admits everybody.
    let mut any_client = false;
    let mut sources = Vec::new();
    if let Some(clients) = authz.get("allowedClients") {
        for (item, item_path) in list(cx, clients, &authz.path_of("allowedClients")) {
            match client_source(cx, item, &item_path) {
                Some(Some(source)) => sources.push(source),
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
                    &item.path,
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
            Err(invalid) => cx.error(item.node, &item.path, invalid.0),
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
    Some((
        dry_run,
        Some(Rule {
            from,
            to,
            when,
            location: Some(node.location(cx.file)),
        }),
    ))
}

fn ip_list(cx: &mut Cx, m: &Map, key: &str) -> Vec<IpBlock> {
    let mut out = Vec::new();
    for item in m.str_list(cx, key) {
        match IpBlock::parse(&item.value) {
            Some(block) => out.push(block),
            None => cx.error(
                item.node,
                &item.path,
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
fn client_source(cx: &mut Cx, node: &Node, path: &str) -> Option<Option<Source>> {
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
        opt_str(cx, &selector, "cluster");
        if let Some(workspace) = selector.get("workspace") {
            cx.warn(
                workspace,
                &selector.path_of("workspace"),
                "egress-policy does not model Gloo workspaces; the selector admits matching service accounts of any workspace",
            );
        }
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
    }
    if let Some(node) = matcher {
        let matcher = map(
            cx,
            node,
            &client.path_of("requestIdentityMatcher"),
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

// ------------------------------------------------------------------------------------------
// Link

/// Resolves references once everything is loaded: warns about egress VirtualGateways that
/// are not loaded, and scopes each `AccessPolicy` to the external services
/// (`applyToDestinations`) or gateways (`applyToWorkloads`) it selects. A policy whose
/// selectors match nothing that egress involves is dropped.
pub(crate) fn link(model: &mut Model, diags: &mut Vec<Diagnostic>) {
    let mut state = PENDING.with(Cell::take);
    // Only entries of this load count (a load that unwound midway could leave others).
    state.services.retain(|p| {
        model
            .services
            .iter()
            .any(|s| s.vendor == Vendor::Gloo && s.id == p.id)
    });
    for service in &state.services {
        if let Some((gateway, site)) = &service.gateway {
            if !model.gateways.iter().any(|g| &g.id == gateway) {
                diags.push(site.warning(format!(
                    "{gateway} is not loaded; the external service's traffic is evaluated at a gateway without known labels"
                )));
            }
        }
    }
    let mut warnings: Vec<Diagnostic> = Vec::new();
    let mut out = Vec::with_capacity(model.policies.len());
    for policy in std::mem::take(&mut model.policies) {
        if policy.vendor != Vendor::Gloo || policy.id.kind != "AccessPolicy" {
            out.push(policy);
            continue;
        }
        let Some(entry) = state
            .policies
            .iter_mut()
            .find(|p| {
                p.as_ref()
                    .is_some_and(|p| p.id == policy.id && p.dry_run == policy.dry_run)
            })
            .and_then(Option::take)
        else {
            out.push(policy);
            continue;
        };
        match entry.target.as_ref() {
            Target::All => out.push(policy),
            Target::Destinations(destinations) => {
                let mut services: Vec<ResourceRef> = Vec::new();
                for destination in destinations.iter().filter(|d| d.external) {
                    let mut matched = false;
                    for service in &state.services {
                        if destination.selector.selects(&service.id, &service.labels) {
                            matched = true;
                            if !services.contains(&service.id) {
                                services.push(service.id.clone());
                            }
                        }
                    }
                    if !matched {
                        let warning = destination.site.warning(
                            "selects no loaded ExternalService, so it applies to no egress traffic"
                                .to_string(),
                        );
                        if !warnings.contains(&warning) {
                            warnings.push(warning);
                        }
                    }
                }
                if !services.is_empty() {
                    out.push(Policy {
                        scope: Scope::Services { services },
                        ..policy
                    });
                }
            }
            Target::Workloads(selectors) => {
                for gateway in model
                    .gateways
                    .iter()
                    .filter(|g| selectors.iter().any(|s| s.selects_gateway(g)))
                {
                    out.push(Policy {
                        scope: Scope::Gateway {
                            gateway: gateway.id.clone(),
                        },
                        ..policy.clone()
                    });
                }
            }
        }
    }
    state.policies.clear();
    model.policies = out;
    diags.extend(warnings);
}
