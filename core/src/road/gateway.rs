//! Mesh-bound routes, gateway services and what a classic egress gateway does before and
//! after authorization: listener, server hosts, the gateway-bound VirtualService.

use crate::decision::{HopStep, ProxyKind, Reason};
use crate::model::{
    kube_service_host, registry_host_matches, GatewayKind, HeaderMutations, HttpRoute, Labels,
    Model, ResourceRef, VirtualService, GATEWAY_NAME_LABEL,
};
use crate::request::{Normalized, Protocol};

use super::{point_name, proxy_kind, End, Enforcement, Exit, PointSpec, Road};

/// Istio's default egress gateway install (manifests/charts/gateways/istio-egress): the
/// Service `istio-egressgateway` selects these labels and maps 80→8080, 443→8443.
const DEFAULT_EGRESS_SERVICE: &str = "istio-egressgateway";
const DEFAULT_EGRESS_PORTS: &[(u16, u16)] = &[(80, 8080), (443, 8443), (15443, 15443)];

/// A request arriving at a gateway's Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayArrival {
    /// The Service host the request was sent to.
    pub service_host: String,
    /// Namespace of the gateway pods.
    pub namespace: String,
    /// Labels of the gateway pods (the Service's selector).
    pub labels: Labels,
    /// The Service port.
    pub service_port: u16,
    /// The port the gateway's Envoy listens on (`targetPort`).
    pub listener_port: u16,
    /// Header mutations of the mesh route that sent it here.
    pub headers: HeaderMutations,
    /// The mesh VirtualService that sent it here.
    pub via: Option<ResourceRef>,
}

/// What the mesh-bound routes of the sender do with the request.
pub(crate) enum MeshRoute {
    /// No mesh-bound route applies.
    None,
    /// A route answers itself.
    Answer {
        status: u16,
        message: String,
        resource: ResourceRef,
    },
    /// A route sends it to a gateway's Service.
    ToGateway(Box<GatewayArrival>),
    /// A route sends it out directly.
    Direct(Box<Exit>),
}

/// Whether a VirtualService is visible from `namespace` (`exportTo`).
fn visible(model: &Model, vs: &VirtualService, namespace: &str) -> bool {
    namespace.is_empty()
        || vs.export_to.visible_from(
            &vs.id.namespace,
            namespace,
            &model.mesh.default_virtual_service_export_to,
        )
}

/// The first HTTP route of the first VirtualService bound to one of `bound`
/// (`(gateway name, gateway namespace)`, or `("mesh", "")`) for `host` whose match holds.
pub(crate) fn http_route_at<'m>(
    model: &'m Model,
    req: &Normalized,
    host: &str,
    namespace: &str,
    bound: &[(String, String)],
) -> Option<(&'m VirtualService, &'m HttpRoute)> {
    if req.protocol != Protocol::Http {
        return None;
    }
    let mesh = bound.iter().any(|(n, _)| n == "mesh");
    model
        .virtual_services
        .iter()
        .filter(|vs| !mesh || visible(model, vs, namespace))
        .filter(|vs| vs.hosts.iter().any(|h| registry_host_matches(h, host)))
        .filter(|vs| bound.iter().any(|(n, ns)| vs.bound_to(&[], n, ns)))
        .find_map(|vs| {
            vs.http
                .iter()
                .find(|r| {
                    r.matches.is_empty()
                        || r.matches.iter().any(|m| {
                            bound.iter().any(|(n, ns)| vs.bound_to(&m.gateways, n, ns))
                                && m.holds(
                                    req.method.as_deref(),
                                    req.path.as_deref(),
                                    req.port,
                                    &req.headers,
                                )
                        })
                })
                .map(|r| (vs, r))
        })
}

/// The L4 (`tls` / `tcp`) route for a TLS or TCP request.
fn l4_route_at<'m>(
    model: &'m Model,
    req: &Normalized,
    namespace: &str,
    bound: &[(String, String)],
    port: u16,
) -> Option<(&'m VirtualService, &'m crate::model::RouteDestination)> {
    let name = super::registry_name(req).unwrap_or_default();
    let mesh = bound.iter().any(|(n, _)| n == "mesh");
    model
        .virtual_services
        .iter()
        .filter(|vs| !mesh || visible(model, vs, namespace))
        .filter(|vs| name.is_empty() || vs.hosts.iter().any(|h| registry_host_matches(h, name)))
        .filter(|vs| bound.iter().any(|(n, ns)| vs.bound_to(&[], n, ns)))
        .find_map(|vs| {
            vs.l4
                .iter()
                .find(|r| {
                    r.matches.is_empty()
                        || r.matches.iter().any(|m| {
                            bound.iter().any(|(n, ns)| vs.bound_to(&m.gateways, n, ns))
                                && m.holds(port, name)
                        })
                })
                .and_then(|r| r.destination.as_ref())
                .map(|d| (vs, d))
        })
}

/// The sender's mesh-bound routes for the request.
pub(crate) fn mesh_route(
    model: &Model,
    req: &Normalized,
    namespace: &str,
    road: &mut Road,
    proxy: ProxyKind,
    at: &str,
) -> MeshRoute {
    let host = super::registry_name(req).unwrap_or_default().to_string();
    let mesh = [("mesh".to_string(), String::new())];
    let (vs, destination, port, headers) = match req.protocol {
        Protocol::Http => {
            let Some((vs, route)) = http_route_at(model, req, &host, namespace, &mesh) else {
                return MeshRoute::None;
            };
            if let Some(answer) = route.answer.as_ref().filter(|a| a.always) {
                road.hop_by(
                    proxy,
                    at,
                    HopStep::Response,
                    format!("{} answers with {} ({})", vs.id, answer.status, answer.kind),
                    &vs.id,
                );
                return MeshRoute::Answer {
                    status: answer.status,
                    message: format!("{} from {}", answer.kind, vs.id),
                    resource: vs.id.clone(),
                };
            }
            let Some(dest) = route.destination_host.clone() else {
                return MeshRoute::None;
            };
            (vs, dest, route.destination_port, route.headers.clone())
        }
        Protocol::Tls | Protocol::Tcp => {
            let Some((vs, dest)) = l4_route_at(model, req, namespace, &mesh, req.port) else {
                return MeshRoute::None;
            };
            (vs, dest.host.clone(), dest.port, HeaderMutations::default())
        }
    };
    let port = port.unwrap_or(req.port);
    let bound: Vec<(String, String)> = vs
        .gateways
        .iter()
        .filter(|g| *g != "mesh")
        .map(|g| match g.split_once('/') {
            Some((ns, name)) => (name.to_string(), ns.to_string()),
            None => (g.clone(), vs.id.namespace.clone()),
        })
        .collect();
    if let Some(mut arrival) = resolve_service(model, &destination, port, &bound, road) {
        road.hop_by(
            proxy,
            at,
            HopStep::Route,
            format!(
                "{} routes {host} to the gateway service {destination}:{port}",
                vs.id
            ),
            &vs.id,
        );
        arrival.headers = headers;
        arrival.via = Some(vs.id.clone());
        return MeshRoute::ToGateway(Box::new(arrival));
    }
    road.hop_by(
        proxy,
        at,
        HopStep::Route,
        format!("{} routes {host} to {destination}:{port}", vs.id),
        &vs.id,
    );
    MeshRoute::Direct(Box::new(Exit {
        host: destination,
        port,
        headers,
        virtual_service: Some(vs.id.clone()),
        tls_from: Some((namespace.to_string(), (*req.origin_labels).clone())),
    }))
}

/// Whether `host:port` is a gateway's Service, and where its pods are. `bound` are the
/// Gateway resources the routing VirtualService is bound to besides `mesh` (their selector
/// stands in for a Service that is not loaded).
pub fn resolve_service(
    model: &Model,
    host: &str,
    port: u16,
    bound: &[(String, String)],
    road: &mut Road,
) -> Option<GatewayArrival> {
    let (name, namespace) = kube_service_host(host)?;
    if let Some(service) = model.kube_services.iter().find(|s| s.is_named_by(host)) {
        let is_gateway = model.gateways.iter().any(|g| {
            !g.labels.is_empty()
                && g.labels
                    .iter()
                    .all(|(k, v)| service.selector.get(k) == Some(v))
                && (g.kind == GatewayKind::IstioGateway || g.namespace == service.id.namespace)
        }) || service
            .selector
            .get("istio")
            .is_some_and(|v| v == "egressgateway");
        if !is_gateway {
            return None;
        }
        let listener_port = match service.ports.iter().find(|p| p.port == port) {
            Some(p) => p.target_port,
            None => {
                road.caveat(
                    "gateway_port_not_declared",
                    format!(
                        "{} declares no port {port}: assuming the gateway listens on {port}",
                        service.id
                    ),
                    Some(&service.id),
                );
                port
            }
        };
        return Some(GatewayArrival {
            service_host: host.to_string(),
            namespace: service.id.namespace.clone(),
            labels: service.selector.clone(),
            service_port: port,
            listener_port,
            headers: HeaderMutations::default(),
            via: None,
        });
    }
    // Not loaded: a namespace is needed to place the pods.
    let namespace = namespace?;
    let reference = ResourceRef::new("Service", &namespace, &name);
    if name == DEFAULT_EGRESS_SERVICE {
        let listener_port = DEFAULT_EGRESS_PORTS
            .iter()
            .find(|(p, _)| *p == port)
            .map_or(port, |(_, t)| *t);
        road.caveat(
            "gateway_service_not_loaded",
            format!(
                "Service {namespace}/{name} is not loaded: assuming Istio's default egress \
                 gateway install (selector app=istio-egressgateway, istio=egressgateway; \
                 port {port} → container port {listener_port})"
            ),
            Some(&reference),
        );
        let labels: Labels = [
            ("app".to_string(), DEFAULT_EGRESS_SERVICE.to_string()),
            ("istio".to_string(), "egressgateway".to_string()),
        ]
        .into_iter()
        .collect();
        return Some(GatewayArrival {
            service_host: host.to_string(),
            namespace,
            labels,
            service_port: port,
            listener_port,
            headers: HeaderMutations::default(),
            via: None,
        });
    }
    // A Gateway-API gateway's generated Service is `<gateway>-<class>`.
    if let Some(gw) = model.gateways.iter().find(|g| {
        g.kind != GatewayKind::IstioGateway
            && g.namespace == namespace
            && name
                .strip_prefix(g.id.name.as_str())
                .is_some_and(|rest| rest.starts_with('-'))
    }) {
        road.caveat(
            "gateway_service_not_loaded",
            format!(
                "Service {namespace}/{name} is not loaded: assuming it is the Service Istio \
                 generates for {} (listening on port {port})",
                gw.id
            ),
            Some(&reference),
        );
        return Some(GatewayArrival {
            service_host: host.to_string(),
            namespace,
            labels: gw.labels.clone(),
            service_port: port,
            listener_port: port,
            headers: HeaderMutations::default(),
            via: None,
        });
    }
    let selector = bound.iter().find_map(|(n, ns)| {
        model
            .gateways
            .iter()
            .find(|g| {
                g.kind == GatewayKind::IstioGateway && &g.id.name == n && &g.id.namespace == ns
            })
            .filter(|g| !g.labels.is_empty())
    })?;
    road.caveat(
        "gateway_service_not_loaded",
        format!(
            "Service {namespace}/{name} is not loaded: assuming it selects the pods of {} and \
             that its port {port} is the container port",
            selector.id
        ),
        Some(&reference),
    );
    Some(GatewayArrival {
        service_host: host.to_string(),
        namespace,
        labels: selector.labels.clone(),
        service_port: port,
        listener_port: port,
        headers: HeaderMutations::default(),
        via: None,
    })
}

/// The request at a classic egress gateway: listener, server hosts, gateway-bound route,
/// then enforcement there.
pub(crate) fn arrive(model: &Model, req: &Normalized, road: &mut Road, arrival: GatewayArrival) {
    let gateways: Vec<usize> = model
        .gateways
        .iter()
        .enumerate()
        .filter(|(_, g)| match g.kind {
            GatewayKind::IstioGateway => {
                !g.labels.is_empty()
                    && g.labels
                        .iter()
                        .all(|(k, v)| arrival.labels.get(k) == Some(v))
            }
            _ => {
                g.namespace == arrival.namespace
                    && g.labels
                        .get(GATEWAY_NAME_LABEL)
                        .is_some_and(|n| arrival.labels.get(GATEWAY_NAME_LABEL) == Some(n))
            }
        })
        .map(|(i, _)| i)
        .collect();
    let proxy = match proxy_kind(model, &gateways, &arrival.labels) {
        ProxyKind::Waypoint if !arrival.labels.contains_key(GATEWAY_NAME_LABEL) => {
            ProxyKind::EgressGateway
        }
        other => other,
    };
    let at = point_name(model, &gateways, &arrival.namespace, &arrival.labels);
    let host = super::registry_name(req).unwrap_or_default().to_string();
    let istio: Vec<&crate::model::Gateway> = gateways
        .iter()
        .filter_map(|g| model.gateways.get(*g))
        .filter(|g| {
            matches!(
                g.kind,
                GatewayKind::IstioGateway | GatewayKind::KubernetesGateway
            )
        })
        .collect();
    let mut exit = Exit {
        host: host.clone(),
        port: req.port,
        headers: arrival.headers.clone(),
        virtual_service: arrival.via.clone(),
        tls_from: Some((arrival.namespace.clone(), arrival.labels.clone())),
    };
    let mut answer = None;
    let mut peer_identity = true;
    if istio.is_empty() {
        road.caveat(
            "gateway_config_not_loaded",
            format!(
                "no networking Gateway selecting the pods of {} is loaded: assuming it \
                 accepts {host} on port {}",
                arrival.service_host, arrival.service_port
            ),
            None,
        );
        road.hop(
            proxy,
            &at,
            HopStep::Listener,
            format!(
                "listens on {} (Service port {})",
                arrival.listener_port, arrival.service_port
            ),
        );
    } else {
        let servers: Vec<(&crate::model::Gateway, &crate::model::GatewayServer)> = istio
            .iter()
            .flat_map(|g| g.servers.iter().map(move |s| (*g, s)))
            .filter(|(_, s)| s.port == arrival.service_port)
            .collect();
        if servers.is_empty() {
            road.hop(
                proxy,
                &at,
                HopStep::Listener,
                format!("no Gateway server on port {}", arrival.service_port),
            );
            road.end = End::Stop {
                status: 503,
                reason: Reason::NoListener,
                message: format!(
                    "no Gateway server listens on port {} of {}",
                    arrival.service_port, arrival.service_host
                ),
                resource: istio.first().map(|g| g.id.clone()),
            };
            return;
        }
        let bound: Vec<(String, String)> = servers
            .iter()
            .map(|(g, _)| (g.id.name.clone(), g.id.namespace.clone()))
            .collect();
        // The gateway's route: HTTP routes for HTTP servers, tls/tcp routes otherwise.
        let gw_req = Normalized {
            port: arrival.service_port,
            ..req.clone()
        };
        let routed: Option<(&VirtualService, Option<&HttpRoute>, String, Option<u16>)> = match req
            .protocol
        {
            Protocol::Http => http_route_at(model, &gw_req, &host, "", &bound).map(|(vs, r)| {
                (
                    vs,
                    Some(r),
                    r.destination_host.clone().unwrap_or_else(|| host.clone()),
                    r.destination_port,
                )
            }),
            _ => l4_route_at(model, &gw_req, "", &bound, arrival.service_port)
                .map(|(vs, d)| (vs, None, d.host.clone(), d.port)),
        };
        let served = routed.as_ref().and_then(|(vs, ..)| {
            servers.iter().find(|(g, s)| {
                s.serves(&g.id.namespace, &vs.id.namespace, &host)
                    && vs.bound_to(&[], &g.id.name, &g.id.namespace)
            })
        });
        let (Some((vs, route, dest_host, dest_port)), Some((gw, server))) = (routed, served) else {
            let detail = format!(
                "no VirtualService binds {host} to a Gateway server on port {}",
                arrival.service_port
            );
            road.hop(proxy, &at, HopStep::Listener, detail.clone());
            road.end = End::Stop {
                status: 404,
                reason: Reason::NoRoute,
                message: detail,
                resource: servers.first().map(|(g, _)| g.id.clone()),
            };
            return;
        };
        road.hop_by(
            proxy,
            &at,
            HopStep::Listener,
            format!(
                "{} server on port {} ({}) accepts {host}; Envoy listens on {}",
                gw.id, server.port, server.protocol, arrival.listener_port
            ),
            &gw.id,
        );
        // The sender's identity reaches the gateway only over Istio mTLS: a classic server
        // without `tls.mode: ISTIO_MUTUAL` takes the sidecar's plaintext (the egress-gateway
        // task's TLS-origination variant sets it up for exactly this reason).
        if gw.kind == GatewayKind::IstioGateway {
            peer_identity = server.carries_peer_identity();
            if !peer_identity && req.peer_uri.is_some() {
                road.hop_by(
                    proxy,
                    &at,
                    HopStep::Listener,
                    format!(
                        "the server is not ISTIO_MUTUAL: the sidecar's connection is plaintext, \
                         so the sender's identity does not reach {}",
                        gw.id
                    ),
                    &gw.id,
                );
            }
        } else if req.peer_uri.is_some() {
            road.caveat(
                "peer_identity_assumed",
                format!(
                    "whether the sender's sidecar uses mTLS to {} cannot be known from the \
                     resources: assuming its identity reaches the gateway",
                    gw.id
                ),
                Some(&gw.id),
            );
        }
        if let Some(a) = route.and_then(|r| r.answer.as_ref()).filter(|a| a.always) {
            answer = Some((
                a.status,
                format!("{} from {}", a.kind, vs.id),
                vs.id.clone(),
            ));
        }
        if let Some(r) = route {
            exit.headers = exit.headers.then(r.headers.clone());
        }
        exit.virtual_service = Some(vs.id.clone());
        exit.host = dest_host;
        exit.port = dest_port.unwrap_or(req.port);
    }
    road.end = End::Enforce(Box::new(Enforcement {
        point: PointSpec {
            namespace: arrival.namespace.clone(),
            labels: arrival.labels.clone(),
            gateways,
            gateway_ref: None,
        },
        proxy,
        at,
        port: arrival.listener_port,
        jwt_valid: true,
        peer_identity,
        answer,
        exit,
    }));
}
