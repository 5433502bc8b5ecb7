//! The first hops: the sender's proxy (Sidecar scoping, outbound traffic policy), the
//! registry as the sender sees it, and the mesh-bound routes.

use crate::decision::{HopStep, ProxyKind, Reason};
use crate::model::{AllowedRoutes, Labels, Model, OutboundMode, ResourceRef, Sidecar, WaypointFor};
use crate::request::Normalized;

use super::gateway::{self, MeshRoute};
use super::{not_in_registry, point_name, proxy_kind, End, Enforcement, PointSpec, Road};

/// Label that puts a namespace's pods in ambient mode.
const DATAPLANE_MODE: &str = "istio.io/dataplane-mode";

/// The Sidecar that applies to a workload (sidecar.proto): the one whose
/// `workloadSelector` selects it in its namespace, else its namespace's default, else the
/// root namespace's default.
pub(crate) fn select_sidecar<'m>(
    model: &'m Model,
    namespace: &str,
    labels: &Labels,
    road: &mut Road,
) -> Option<&'m Sidecar> {
    let in_ns = || {
        model
            .sidecars
            .iter()
            .filter(|s| s.id.namespace == namespace)
    };
    let selecting = in_ns().find(|s| {
        s.workload_selector
            .as_ref()
            .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
    });
    if selecting.is_none() && labels.is_empty() {
        if let Some(unknown) = in_ns().find(|s| s.workload_selector.is_some()) {
            road.caveat(
                "source_labels_unknown",
                format!(
                    "{} selects pods by label and the request gives no source.pod_labels: \
                     assuming it does not select the sender",
                    unknown.id
                ),
                Some(&unknown.id),
            );
        }
    }
    selecting
        .or_else(|| in_ns().find(|s| s.workload_selector.is_none()))
        .or_else(|| {
            model.sidecars.iter().find(|s| {
                s.id.namespace == model.mesh.root_namespace && s.workload_selector.is_none()
            })
        })
}

/// The road from the sender's own proxy.
pub(crate) fn from_sender(model: &Model, req: &Normalized, road: &mut Road) {
    let namespace = req.origin_namespace.as_deref();
    let ambient = namespace
        .and_then(|ns| model.namespaces.get(ns))
        .and_then(|l| l.get(DATAPLANE_MODE))
        .is_some_and(|m| m == "ambient");
    let (proxy, at) = match (namespace, ambient) {
        (Some(ns), true) => (ProxyKind::Ztunnel, format!("ztunnel of {ns}")),
        (Some(ns), false) => (ProxyKind::Sidecar, sender_name(ns, req)),
        (None, _) => (ProxyKind::Client, "the sender".to_string()),
    };
    if namespace.is_none() && !model.sidecars.is_empty() {
        road.caveat(
            "source_unknown",
            "the sender's namespace is not known (no principal, no source.namespace): no \
             Sidecar applied, mesh defaults used"
                .to_string(),
            None,
        );
    }
    let sidecar = match namespace {
        Some(ns) if !ambient => select_sidecar(model, ns, &req.origin_labels, road),
        _ => None,
    };
    let mode = sidecar
        .and_then(|s| s.outbound)
        .unwrap_or(model.mesh.outbound);
    let egress_proxy = sidecar
        .and_then(|s| s.egress_proxy.as_ref())
        .or(model.mesh.egress_proxy.as_ref());
    let outcome = match sidecar {
        Some(s) => format!(
            "{} applies: outboundTrafficPolicy {}",
            s.id,
            mode_name(mode)
        ),
        None => format!(
            "no Sidecar applies: mesh outboundTrafficPolicy {}",
            mode_name(mode)
        ),
    };
    match sidecar {
        Some(s) => road.hop_by(proxy, &at, HopStep::Outbound, outcome, &s.id),
        None => road.hop(proxy, &at, HopStep::Outbound, outcome),
    }

    let service = super::registry_hop(model, req, namespace, sidecar, road, proxy, &at);
    let service_ref = service.and_then(|s| model.services.get(s));

    // Mesh-bound routes apply before the default destination (a VirtualService for an
    // unregistered host still routes under ALLOW_ANY, and under REGISTRY_ONLY only
    // registered hosts have a virtual host at all).
    // A TLS or TCP request to an unknown host still reaches the sidecar's listener on its
    // port when some visible entry declares that port, and the VirtualService filter chains
    // there (`sniHosts`) route it (pilot/pkg/networking/core/tls.go).
    let listener_on_port = req.protocol != crate::request::Protocol::Http
        && model.services.iter().any(|s| {
            s.vendor == crate::model::Vendor::Istio
                && s.ports.iter().any(|p| p.number == req.port)
                && namespace.is_none_or(|ns| {
                    crate::model::ExportTo {
                        values: s.export_to.clone(),
                    }
                    .visible_from(
                        &s.id.namespace,
                        ns,
                        &model.mesh.default_service_export_to,
                    )
                })
        });
    let routable = service.is_some() || mode != OutboundMode::RegistryOnly || listener_on_port;
    if routable {
        match gateway::mesh_route(model, req, namespace.unwrap_or(""), road, proxy, &at) {
            MeshRoute::Answer {
                status,
                message,
                resource,
            } => {
                road.end = End::Stop {
                    status,
                    reason: Reason::DirectResponse,
                    message,
                    resource: Some(resource),
                };
                return;
            }
            MeshRoute::ToGateway(arrival) => {
                gateway::arrive(model, req, road, *arrival);
                check_jwt(model, req, road);
                return;
            }
            MeshRoute::Direct(exit) => {
                if service_ref.and_then(|s| s.gateway.as_ref()).is_none() {
                    road.end = End::Unenforced { exit: *exit };
                    road.hop(
                        ProxyKind::Upstream,
                        &road_exit_name(road),
                        HopStep::Leave,
                        "leaves the mesh from the sender's proxy".to_string(),
                    );
                    return;
                }
            }
            MeshRoute::None => {}
        }
    }

    // Vendor signals: a waypoint or Gloo gateway of the registry entry, a TSB egress route.
    // A Gloo entry goes through its gateway only on `portMatch`; on a declared port the
    // sidecar sends it directly.
    let by_service = service_ref
        .filter(|s| s.gateway_port.is_none_or(|p| p == req.port))
        .and_then(|s| s.gateway.as_ref());
    let by_tsb = req.namespace.as_deref().and_then(|ns| {
        model
            .egress_routes
            .iter()
            .filter(|r| {
                r.sources
                    .iter()
                    .any(|s| s.selects(req.cluster.as_deref(), ns))
            })
            .find_map(|r| r.gateway.as_ref().map(|g| (g, r)))
    });
    if let Some(reference) = by_service {
        let origin = service_ref.map(|s| s.id.clone());
        // ztunnel captures by destination address; a sidecar routes by host.
        let destination = req.destination_ip.filter(|_| proxy != ProxyKind::Sidecar);
        match waypoint_capture(model, reference, service_ref, destination) {
            Capture::Captured => {
                enforce_at_reference(model, req, road, reference, origin.as_ref(), proxy, &at);
            }
            Capture::NotCaptured { why, caveat } => {
                if caveat {
                    road.caveat(
                        "waypoint_not_loaded",
                        format!(
                            "{reference} is not among the loaded resources: Istio does not \
                             capture traffic for a waypoint that does not exist, so the request \
                             is decided unenforced; if it exists in the cluster, its policies apply"
                        ),
                        Some(reference),
                    );
                }
                match &origin {
                    Some(o) => road.hop_by(proxy, &at, HopStep::Route, why, o),
                    None => road.hop(proxy, &at, HopStep::Route, why),
                }
                let exit =
                    super::exit_at(model, req, namespace.unwrap_or(""), &req.origin_labels, &[]);
                road.end = End::Unenforced { exit };
                road.hop(
                    ProxyKind::Upstream,
                    &road_exit_name(road),
                    HopStep::Leave,
                    "leaves the mesh without egress authorization".to_string(),
                );
            }
        }
        return;
    }
    if service.is_none() {
        if let Some((reference, route)) = by_tsb {
            for caveat in &route.caveats {
                road.caveat(
                    &caveat.code,
                    caveat.message.clone(),
                    caveat.resource.as_ref(),
                );
            }
            enforce_at_reference(model, req, road, reference, Some(&route.origin), proxy, &at);
            return;
        }
        if let Some(egress) = egress_proxy {
            road.hop(
                proxy,
                &at,
                HopStep::Route,
                format!(
                    "unknown host: outboundTrafficPolicy.egressProxy sends it to {}",
                    egress.host
                ),
            );
            match gateway::resolve_service(
                model,
                &egress.host,
                egress.port.unwrap_or(req.port),
                &[],
                road,
            ) {
                Some(arrival) => {
                    gateway::arrive(model, req, road, arrival);
                    check_jwt(model, req, road);
                }
                None => {
                    road.end = End::Stop {
                        status: 503,
                        reason: Reason::NoListener,
                        message: format!(
                            "egressProxy {} is not a known gateway service",
                            egress.host
                        ),
                        resource: sidecar.map(|s| s.id.clone()),
                    };
                }
            }
            return;
        }
        if mode == OutboundMode::RegistryOnly {
            road.hop(
                proxy,
                &at,
                HopStep::Route,
                "unknown host under REGISTRY_ONLY: BlackHoleCluster (502)".to_string(),
            );
            road.end = not_in_registry();
            return;
        }
    }
    let exit = super::exit_at(model, req, namespace.unwrap_or(""), &req.origin_labels, &[]);
    if let Some(entry) = service_ref.filter(|s| s.id.kind == "ServiceEntry") {
        unbound_waypoint_note(model, entry, road, proxy, &at);
    }
    road.hop(
        proxy,
        &at,
        HopStep::Route,
        if service.is_some() {
            "registered host without an egress gateway: sent directly".to_string()
        } else {
            "unknown host under ALLOW_ANY: PassthroughCluster".to_string()
        },
    );
    road.end = End::Unenforced { exit };
    road.hop(
        ProxyKind::Upstream,
        &road_exit_name(road),
        HopStep::Leave,
        "leaves the mesh without egress authorization".to_string(),
    );
}

/// A ServiceEntry bound to no waypoint while a waypoint runs in its namespace: when the
/// Namespace is not loaded its `istio.io/use-waypoint` label cannot be known (caveat);
/// when it is loaded without the label, the hops say the waypoint does not capture it.
fn unbound_waypoint_note(
    model: &Model,
    entry: &crate::model::ExternalService,
    road: &mut Road,
    proxy: ProxyKind,
    at: &str,
) {
    let Some(waypoint) = model.gateways.iter().find(|g| {
        g.kind == crate::model::GatewayKind::Waypoint && g.namespace == entry.id.namespace
    }) else {
        return;
    };
    if model.namespaces.contains_key(&entry.id.namespace) {
        road.hop_by(
            proxy,
            at,
            HopStep::Route,
            format!(
                "{} has no istio.io/use-waypoint label and neither has its namespace: {} does \
                 not capture it, and its policies do not protect this host",
                entry.id, waypoint.id
            ),
            &entry.id,
        );
    } else {
        road.caveat(
            "namespace_not_loaded",
            format!(
                "Namespace {} is not loaded, so whether its istio.io/use-waypoint label sends \
                 {} through {} cannot be known: assuming it does not",
                entry.id.namespace, entry.id, waypoint.id
            ),
            Some(&entry.id),
        );
    }
}

/// Whether a waypoint named by a registry entry takes its traffic
/// (pilot/pkg/serviceregistry/ambient/waypoints.go).
enum Capture {
    Captured,
    NotCaptured { why: String, caveat: bool },
}

fn waypoint_capture(
    model: &Model,
    reference: &ResourceRef,
    service: Option<&crate::model::ExternalService>,
    destination: Option<std::net::IpAddr>,
) -> Capture {
    let origin = service.map(|s| &s.id);
    if reference.kind != "Gateway" {
        return Capture::Captured;
    }
    let Some(gateway) = model.gateways.iter().find(|g| &g.id == reference) else {
        return Capture::NotCaptured {
            why: format!("{reference} is not loaded: no waypoint captures the traffic"),
            caveat: true,
        };
    };
    if gateway.kind != crate::model::GatewayKind::Waypoint {
        return Capture::Captured;
    }
    let traffic = model
        .waypoint_for
        .get(reference)
        .unwrap_or(&WaypointFor::Service);
    if !traffic.takes_service_traffic() {
        return Capture::NotCaptured {
            why: format!(
                "{reference} is labelled istio.io/waypoint-for: {traffic}: it does not take \
                 service traffic, which goes direct"
            ),
            caveat: false,
        };
    }
    // The HBONE listener's allowedRoutes (default Same) decides which namespaces may use it.
    let from = gateway
        .servers
        .iter()
        .find(|s| s.port == 15008 && s.protocol == crate::model::PortProtocol::Hbone)
        .map_or(AllowedRoutes::Same, |s| s.from_namespaces);
    if let Some(origin) = origin {
        if from == AllowedRoutes::Same && origin.namespace != gateway.namespace {
            return Capture::NotCaptured {
                why: format!(
                    "{reference} allows routes from its own namespace only (allowedRoutes Same): \
                     {origin} in {} cannot attach, so the traffic goes direct",
                    origin.namespace
                ),
                caveat: false,
            };
        }
    }
    // Ambient capture is by destination address: ztunnel sends a connection to the waypoint
    // when it goes to an address of the entry (its `addresses`, or the VIP Istio allocates,
    // which ztunnel's DNS proxy returns for the host). A client that resolved the host some
    // other way connects to the real address, which no entry claims: it goes direct.
    if let (Some(ip), Some(service)) = (destination, service) {
        if !service.captures_address(ip) {
            let known = match (service.addresses.is_empty(), service.auto_allocated) {
                (false, _) => "one of its `addresses`",
                (true, true) => "its auto-allocated VIP (240.240.0.0/16 or 2001:2::/48)",
                (true, false) => "an address it has (no `addresses`, auto-allocation off)",
            };
            return Capture::NotCaptured {
                why: format!(
                    "destination address {ip} is not {known}: ztunnel captures {} by destination \
                     address, so this connection (the host resolved without Istio's DNS proxy) \
                     goes direct, without the waypoint",
                    service.id
                ),
                caveat: false,
            };
        }
    }
    Capture::Captured
}

fn road_exit_name(road: &Road) -> String {
    match &road.end {
        End::Unenforced { exit } => format!("{}:{}", exit.host, exit.port),
        End::Enforce(e) => format!("{}:{}", e.exit.host, e.exit.port),
        End::Stop { .. } => String::new(),
    }
}

fn sender_name(namespace: &str, req: &Normalized) -> String {
    match req.service_account.as_deref() {
        Some(sa) => format!("sidecar of {namespace}/{sa}"),
        None => format!("sidecar in namespace {namespace}"),
    }
}

fn mode_name(mode: OutboundMode) -> &'static str {
    match mode {
        OutboundMode::AllowAny => "ALLOW_ANY",
        OutboundMode::RegistryOnly => "REGISTRY_ONLY",
        OutboundMode::AllowAnyDynamicDns => "ALLOW_ANY_DYNAMIC_DNS",
    }
}

/// Enforcement at a gateway named by reference (waypoint label, Gloo route, TSB
/// TrafficSetting).
fn enforce_at_reference(
    model: &Model,
    req: &Normalized,
    road: &mut Road,
    reference: &ResourceRef,
    origin: Option<&ResourceRef>,
    from: ProxyKind,
    from_at: &str,
) {
    let loaded = model.gateways.iter().position(|g| &g.id == reference);
    let (namespace, labels, mut gateways, gateway_ref) = match loaded
        .and_then(|i| model.gateways.get(i).map(|g| (i, g)))
    {
        Some((i, g)) => (g.namespace.clone(), g.labels.clone(), vec![i], None),
        None => {
            let labels = reference.assumed_gateway_labels();
            road.caveat(
                "gateway_not_loaded",
                format!("{reference} is not among the loaded resources: assuming it exists and enforces"),
                Some(reference),
            );
            (
                reference.namespace.clone(),
                labels,
                Vec::new(),
                Some(reference.clone()),
            )
        }
    };
    // The proxy implements every gateway resource that selects its pods.
    for (i, g) in model.gateways.iter().enumerate() {
        if !gateways.contains(&i)
            && g.namespace == namespace
            && !g.labels.is_empty()
            && g.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
        {
            gateways.push(i);
        }
    }
    gateways.sort_unstable();
    let proxy = proxy_kind(model, &gateways, &labels);
    let at = match &gateway_ref {
        Some(r) => format!("{r} (not loaded)"),
        None => point_name(model, &gateways, &namespace, &labels),
    };
    let outcome = match origin {
        Some(o) => format!("{o} sends the request to {reference}"),
        None => format!("sent to {reference}"),
    };
    match origin {
        Some(o) => road.hop_by(from, from_at, HopStep::Route, outcome, o),
        None => road.hop(from, from_at, HopStep::Route, outcome),
    }
    let exit = super::exit_at(model, req, &namespace, &labels, &gateways);
    road.end = End::Enforce(Box::new(Enforcement {
        point: PointSpec {
            namespace,
            labels,
            gateways,
            gateway_ref,
        },
        proxy,
        at,
        port: req.port,
        jwt_valid: true,
        peer_identity: true,
        answer: None,
        exit,
    }));
    check_jwt(model, req, road);
}

/// Request principals exist only for a JWT a RequestAuthentication of the enforcing proxy
/// validated (request_authentication.proto): a token from an issuer none of them lists is
/// rejected with 401; without any RequestAuthentication the token is not validated and
/// carries no principal.
pub(crate) fn check_jwt(model: &Model, req: &Normalized, road: &mut Road) {
    let Some(jwt) = &req.jwt else {
        return;
    };
    let End::Enforce(enforcement) = &mut road.end else {
        return;
    };
    let point = &enforcement.point;
    let root = &model.mesh.root_namespace;
    let gateway_name = point.labels.get(crate::model::GATEWAY_NAME_LABEL);
    let applicable: Vec<&crate::model::RequestAuthn> = model
        .request_authns
        .iter()
        .filter(|ra| {
            if !ra.target_gateways.is_empty() {
                return gateway_name.is_some_and(|name| {
                    ra.target_gateways
                        .iter()
                        .any(|t| t == &format!("{}/{name}", point.namespace))
                });
            }
            (ra.id.namespace == point.namespace || &ra.id.namespace == root)
                && ra
                    .selector
                    .as_ref()
                    .is_none_or(|sel| sel.iter().all(|(k, v)| point.labels.get(k) == Some(v)))
        })
        .collect();
    if applicable.is_empty() {
        enforcement.jwt_valid = false;
        let at = enforcement.at.clone();
        road.caveat(
            "request_authentication_missing",
            format!(
                "the request carries a JWT but no RequestAuthentication applies at {at}: \
                 the token is not validated, so requestPrincipals and request.auth.* are empty"
            ),
            None,
        );
        return;
    }
    let issuer = jwt
        .principal
        .as_deref()
        .and_then(|p| p.rsplit_once('/').map(|(iss, _)| iss));
    let accepted = issuer.is_some_and(|iss| {
        applicable
            .iter()
            .any(|ra| ra.issuers.iter().any(|(i, _)| i == iss))
    });
    if !accepted {
        let resource = applicable.first().map(|ra| ra.id.clone());
        road.end = End::Stop {
            status: 401,
            reason: Reason::InvalidToken,
            message: "Jwt issuer is not configured".to_string(),
            resource,
        };
    }
}
