//! The road a request takes (SEMANTICS.md §9): from the sender's proxy through the
//! registry, mesh routes and gateway listeners to the proxy that enforces authorization,
//! and what happens after it (gateway routes, direct responses, TLS origination).
//!
//! Both evaluators walk the same road: the reference evaluator per request, the compiled
//! engine once per request at `prepare` time, so deciding stays allocation-free. Every
//! place where a resource the road needs is not loaded becomes a [`Caveat`], never a
//! silent default.

mod finish;
mod gateway;
mod source;

use crate::decision::{Caveat, Hop, HopStep, ProxyKind, Reason};
use crate::model::{
    registry_host_matches, ExternalService, GatewayKind, HeaderMutations, Labels, Model,
    OutboundMode, ResourceRef, Vendor, GATEWAY_NAME_LABEL,
};
use crate::request::{Normalized, Protocol};

pub use finish::{
    closing_hops, hops, route, AuthzSummary, ClosingHop, HopOutcome, HopPlace, RouteParts,
};
pub use gateway::GatewayArrival;

/// The proxy where authorization happens, by model indices (owned, so a prepared request
/// can keep it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PointSpec {
    /// Namespace of the proxy pods.
    pub namespace: String,
    /// Pod labels of the proxy.
    pub labels: Labels,
    /// Indices into `model.gateways` of the gateway resources this proxy implements.
    pub gateways: Vec<usize>,
    /// The gateway named by reference when its resource was not loaded.
    pub gateway_ref: Option<ResourceRef>,
}

/// How an allowed request leaves, as far as the road decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The host the request is sent to upstream.
    pub host: String,
    /// The service port it is routed on (DestinationRule `portLevelSettings` match it;
    /// the registry entry maps it to its `targetPort` upstream).
    pub port: u16,
    /// Header mutations of every route on the way.
    pub headers: HeaderMutations,
    /// The VirtualService whose route supplied the header mutations.
    pub virtual_service: Option<ResourceRef>,
    /// Namespace and pod labels of the proxy that originates upstream TLS (the gateway,
    /// or the sender's sidecar), for DestinationRule `workloadSelector` and `exportTo`.
    pub tls_from: Option<(String, Labels)>,
}

/// What the road ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Answered before any authorization (502, 404, 503, 401, direct responses).
    Stop {
        /// Status the client gets.
        status: u16,
        /// Reason code.
        reason: Reason,
        /// Message.
        message: String,
        /// The resource that answered.
        resource: Option<ResourceRef>,
    },
    /// Nothing enforces: the request leaves as it is.
    Unenforced {
        /// The exit.
        exit: Exit,
    },
    /// Authorization happens at `point`.
    Enforce(Box<Enforcement>),
}

/// Authorization at one proxy and what follows when it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enforcement {
    /// The enforcing proxy.
    pub point: PointSpec,
    /// What kind of proxy it is.
    pub proxy: ProxyKind,
    /// The proxy in words.
    pub at: String,
    /// The port authorization compares (`to.operation.ports`, `destination.port`): the
    /// port the proxy's Envoy listens on.
    pub port: u16,
    /// Whether the request's JWT was validated by a RequestAuthentication of this proxy
    /// (otherwise request principals and claims are absent).
    pub jwt_valid: bool,
    /// Whether the sender's mTLS identity reaches this proxy (a plaintext hop to a gateway
    /// server without `ISTIO_MUTUAL` carries none).
    pub peer_identity: bool,
    /// An answer given after authorization allows (`directResponse` at the gateway).
    pub answer: Option<(u16, String, ResourceRef)>,
    /// Where an allowed request goes.
    pub exit: Exit,
}

/// The walked road: hops, caveats, and its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Road {
    /// Hops in order (the authorization hop and the final hops are added by the
    /// evaluators once the verdict is known).
    pub hops: Vec<Hop>,
    /// Assumptions made on the way.
    pub caveats: Vec<Caveat>,
    /// The registry entry of the destination, by index into `model.services`.
    pub service: Option<usize>,
    /// How it ends.
    pub end: End,
}

impl Road {
    fn hop(&mut self, proxy: ProxyKind, at: &str, step: HopStep, outcome: String) {
        self.hops.push(Hop {
            proxy,
            at: at.to_string(),
            step,
            outcome,
            resource: None,
        });
    }

    fn hop_by(
        &mut self,
        proxy: ProxyKind,
        at: &str,
        step: HopStep,
        outcome: String,
        resource: &ResourceRef,
    ) {
        self.hops.push(Hop {
            proxy,
            at: at.to_string(),
            step,
            outcome,
            resource: Some(resource.clone()),
        });
    }

    fn caveat(&mut self, code: &str, message: String, resource: Option<&ResourceRef>) {
        if self
            .caveats
            .iter()
            .any(|c| c.code == code && c.message == message)
        {
            return;
        }
        self.caveats.push(Caveat {
            code: code.to_string(),
            message,
            resource: resource.cloned(),
        });
    }
}

/// The name a request is looked up by in the registry: HTTP by host, TLS by SNI (or host),
/// TCP by host when known.
pub fn registry_name<'n>(req: &'n Normalized<'_>) -> Option<&'n str> {
    match req.protocol {
        Protocol::Http | Protocol::Tcp => req.host.as_deref(),
        Protocol::Tls => req.sni.as_deref().or(req.host.as_deref()),
    }
}

/// Walks the road of `req` through `model`.
pub fn walk(model: &Model, req: &Normalized) -> Road {
    let mut road = Road {
        hops: Vec::new(),
        caveats: Vec::new(),
        service: None,
        end: End::Unenforced {
            exit: Exit {
                host: String::new(),
                port: req.port,
                headers: HeaderMutations::default(),
                virtual_service: None,
                tls_from: None,
            },
        },
    };
    if let Some(workload) = &req.workload {
        named_proxy(model, req, workload, &mut road);
    } else {
        source::from_sender(model, req, &mut road);
    }
    road
}

/// The registry entry for `name` on `port` seen from `namespace` (`None`: every entry),
/// with the reason the first host-matching entry was not usable, if any.
pub(crate) fn lookup(
    model: &Model,
    req: &Normalized,
    namespace: Option<&str>,
    sidecar: Option<&crate::model::Sidecar>,
) -> (Option<usize>, Option<String>) {
    let name = registry_name(req);
    let mut excluded = None;
    for (index, service) in model.services.iter().enumerate() {
        let host_ok = match name {
            Some(name) => service.host_matches(name),
            None => service.ports.iter().any(|p| p.number == req.port),
        };
        if !host_ok {
            continue;
        }
        if let Some(why) = unusable(model, service, req, namespace, sidecar) {
            excluded.get_or_insert(why);
            continue;
        }
        return (Some(index), None);
    }
    (None, excluded)
}

/// Why a host-matching entry does not serve this request (visibility, port), if it does not.
fn unusable(
    model: &Model,
    service: &ExternalService,
    req: &Normalized,
    namespace: Option<&str>,
    sidecar: Option<&crate::model::Sidecar>,
) -> Option<String> {
    if let Some(ns) = namespace {
        let hidden = model
            .registry_scopes
            .iter()
            .filter(|s| s.service == service.id)
            .find(|s| !s.shows(req.cluster.as_deref(), ns));
        if let Some(scope) = hidden {
            return Some(format!(
                "{} matches the host but is not in the registry of namespace {ns}: {}",
                service.id, scope.why
            ));
        }
    }
    if service.vendor == Vendor::Gloo {
        // `egressGatewayRoutes.portMatch`: clients reach the gateway on that port, the
        // entry directly on its declared ports, and on no other port.
        return match service.gateway_port {
            Some(p) if p != req.port && !service.ports.iter().any(|sp| sp.number == req.port) => {
                let declared: Vec<String> = service
                    .ports
                    .iter()
                    .map(|sp| sp.number.to_string())
                    .collect();
                Some(format!(
                    "{} matches the host but is reached on its gateway port {p} or its port(s) \
                     {} only, not {}",
                    service.id,
                    declared.join(", "),
                    req.port
                ))
            }
            _ => None,
        };
    }
    if service.vendor != Vendor::Istio {
        return None;
    }
    if let Some(ns) = namespace {
        let export = crate::model::ExportTo {
            values: service.export_to.clone(),
        };
        if !export.visible_from(
            &service.id.namespace,
            ns,
            &model.mesh.default_service_export_to,
        ) {
            return Some(format!(
                "{} matches the host but its exportTo does not include namespace {ns}",
                service.id
            ));
        }
        if let Some(sidecar) = sidecar {
            let name = registry_name(req).unwrap_or_default();
            let shown = service
                .hosts
                .iter()
                .filter(|h| registry_host_matches(h, name))
                .any(|h| sidecar.shows(&service.id.namespace, h));
            if !shown {
                return Some(format!(
                    "{} matches the host but {}'s egress.hosts hides it",
                    service.id, sidecar.id
                ));
            }
        }
    }
    if !service.ports.is_empty()
        && service.gateway_port.is_none()
        && !service.ports.iter().any(|p| p.number == req.port)
    {
        let declared: Vec<String> = service.ports.iter().map(|p| p.number.to_string()).collect();
        return Some(format!(
            "{} matches the host but declares port(s) {} only, not {}",
            service.id,
            declared.join(", "),
            req.port
        ));
    }
    None
}

/// A request that names its enforcing proxy (`workload`): evaluated there directly.
fn named_proxy(
    model: &Model,
    req: &Normalized,
    workload: &crate::request::Workload,
    road: &mut Road,
) {
    let gateways: Vec<usize> = model
        .gateways
        .iter()
        .enumerate()
        .filter(|(_, g)| {
            g.namespace == workload.namespace
                && !g.labels.is_empty()
                && g.labels
                    .iter()
                    .all(|(k, v)| workload.labels.get(k) == Some(v))
        })
        .map(|(i, _)| i)
        .collect();
    let proxy = proxy_kind(model, &gateways, &workload.labels);
    let at = point_name(model, &gateways, &workload.namespace, &workload.labels);
    road.hop(
        proxy,
        &at,
        HopStep::Route,
        "named in the request: evaluated at this proxy".to_string(),
    );
    let service = registry_hop(model, req, None, None, road, proxy, &at);
    if service.is_none() && model.mesh.outbound == OutboundMode::RegistryOnly {
        road.end = not_in_registry();
        return;
    }
    let exit = exit_at(model, req, &workload.namespace, &workload.labels, &gateways);
    road.end = End::Enforce(Box::new(Enforcement {
        point: PointSpec {
            namespace: workload.namespace.clone(),
            labels: workload.labels.clone(),
            gateways,
            gateway_ref: None,
        },
        proxy,
        at,
        port: req.port,
        jwt_valid: true,
        peer_identity: true,
        answer: None,
        exit,
    }));
    source::check_jwt(model, req, road);
}

/// Looks the request up in the registry as seen from `namespace` (and `sidecar`), records
/// the entry on the road and adds the registry hop; returns the entry's index.
pub(crate) fn registry_hop(
    model: &Model,
    req: &Normalized,
    namespace: Option<&str>,
    sidecar: Option<&crate::model::Sidecar>,
    road: &mut Road,
    proxy: ProxyKind,
    at: &str,
) -> Option<usize> {
    let (service, excluded) = lookup(model, req, namespace, sidecar);
    road.service = service;
    if let Some(s) = service.and_then(|s| model.services.get(s)) {
        for (_, caveat) in model.service_caveats.iter().filter(|(id, _)| *id == s.id) {
            road.caveat(
                &caveat.code,
                caveat.message.clone(),
                caveat.resource.as_ref(),
            );
        }
    }
    match service.and_then(|s| model.services.get(s)) {
        Some(s) => road.hop_by(
            proxy,
            at,
            HopStep::Registry,
            format!("host matches {}", s.id),
            &s.id,
        ),
        None => road.hop(
            proxy,
            at,
            HopStep::Registry,
            excluded.unwrap_or_else(|| "no registry entry matches the host".to_string()),
        ),
    }
    service
}

/// The 502 of `REGISTRY_ONLY` for an unknown host.
pub(crate) fn not_in_registry() -> End {
    End::Stop {
        status: 502,
        reason: Reason::NotInRegistry,
        message: "no registry entry for the destination (outboundTrafficPolicy REGISTRY_ONLY)"
            .to_string(),
        resource: None,
    }
}

/// What kind of proxy implements `gateways` (or carries `labels`).
pub(crate) fn proxy_kind(model: &Model, gateways: &[usize], labels: &Labels) -> ProxyKind {
    match gateways
        .first()
        .and_then(|g| model.gateways.get(*g))
        .map(|g| g.kind)
    {
        Some(GatewayKind::Waypoint) => ProxyKind::Waypoint,
        Some(GatewayKind::KubernetesGateway) => ProxyKind::Gateway,
        Some(_) => ProxyKind::EgressGateway,
        None if labels.contains_key(GATEWAY_NAME_LABEL) => ProxyKind::Waypoint,
        None => ProxyKind::EgressGateway,
    }
}

/// A proxy in words: its gateway resource, else namespace and labels.
pub(crate) fn point_name(
    model: &Model,
    gateways: &[usize],
    namespace: &str,
    labels: &Labels,
) -> String {
    if let Some(g) = gateways.first().and_then(|g| model.gateways.get(*g)) {
        return format!("{} (pods in {namespace})", g.id);
    }
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if labels.is_empty() {
        format!("namespace {namespace}")
    } else {
        format!("{namespace} ({})", labels.join(","))
    }
}

/// The exit of a request leaving from a proxy in `namespace` with `labels`: mesh-bound
/// routes (at sidecars and waypoints) or routes bound to the proxy's gateways.
pub(crate) fn exit_at(
    model: &Model,
    req: &Normalized,
    namespace: &str,
    labels: &Labels,
    gateways: &[usize],
) -> Exit {
    let host = req
        .host
        .as_deref()
        .or(req.sni.as_deref())
        .unwrap_or_default()
        .to_string();
    let mut exit = Exit {
        host: host.clone(),
        port: req.port,
        headers: HeaderMutations::default(),
        virtual_service: None,
        tls_from: Some((namespace.to_string(), labels.clone())),
    };
    let bound: Vec<(String, String)> = gateways
        .iter()
        .filter_map(|g| model.gateways.get(*g))
        .filter(|g| {
            matches!(
                g.kind,
                GatewayKind::IstioGateway | GatewayKind::KubernetesGateway
            )
        })
        .map(|g| (g.id.name.clone(), g.id.namespace.clone()))
        .collect();
    let found = if bound.is_empty() {
        gateway::http_route_at(
            model,
            req,
            &host,
            namespace,
            &[("mesh".to_string(), String::new())],
        )
    } else {
        gateway::http_route_at(model, req, &host, namespace, &bound)
    };
    if let Some((vs, route)) = found {
        exit.headers = route.headers.clone();
        exit.virtual_service = Some(vs.id.clone());
        if let Some(dest) = &route.destination_host {
            let internal =
                crate::model::kube_service_host(dest).is_some_and(|(_, ns)| ns.is_some());
            if !dest.is_empty() && !internal {
                exit.host = dest.clone();
            }
        }
        if let Some(port) = route.destination_port {
            exit.port = port;
        }
    }
    exit
}

/// The service port the request arrives on, mapped to its `targetPort`. A Gloo entry
/// reached through `egressGatewayRoutes.portMatch` leaves on the entry's declared port.
pub(crate) fn upstream_port(service: Option<&ExternalService>, request_port: u16) -> u16 {
    let Some(service) = service else {
        return request_port;
    };
    let chosen = service
        .ports
        .iter()
        .find(|p| p.number == request_port)
        .or_else(|| {
            (service.gateway_port == Some(request_port))
                .then(|| service.ports.first())
                .flatten()
        });
    chosen
        .map(|p| p.target_port.unwrap_or(p.number))
        .unwrap_or(request_port)
}
