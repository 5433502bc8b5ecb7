//! How an allowed request leaves: gateway, upstream, TLS origination, header mutations
//! (SEMANTICS.md §8.2 step 5).

use crate::decision::{Route, RouteTls};
use crate::model::{registry_host_matches, ExternalService, HttpRoute, Model, RouteMatch};
use crate::request::Normalized;

use super::EnforcementPoint;

/// Port used when a gateway originates TLS towards a host that has no registry entry.
const TLS_PORT: u16 = 443;

/// Computes the route of an allowed request.
pub fn route_for(
    model: &Model,
    req: &Normalized,
    service: Option<&ExternalService>,
    point: Option<&EnforcementPoint>,
) -> Route {
    let host = req
        .host
        .clone()
        .or_else(|| req.sni.clone())
        .unwrap_or_default();
    let mut port = upstream_port(service, req.port);

    let mut tls = destination_rule_tls(model, &host, port).or_else(|| {
        service.and_then(|s| s.tls.as_ref()).map(|t| RouteTls {
            mode: t.mode.clone(),
            sni: t.sni.clone().unwrap_or_else(|| host.clone()),
            origin: t.origin.clone(),
        })
    });
    if tls.is_none() {
        if let Some(gateway) = point
            .into_iter()
            .flat_map(|p| p.gateways.iter())
            .find(|g| g.originates_tls)
        {
            tls = Some(RouteTls {
                mode: "SIMPLE".to_string(),
                sni: host.clone(),
                origin: gateway.id.clone(),
            });
            if service.is_none() {
                port = TLS_PORT;
            }
        }
    }
    if let Some(t) = &tls {
        if t.mode == "DISABLE" {
            tls = None;
        }
    }

    let (headers, virtual_service) = header_route(model, req, &host)
        .map(|(vs, route)| (route.headers.clone(), Some(vs)))
        .unwrap_or_default();

    Route {
        gateway: point.and_then(EnforcementPoint::gateway_id),
        service: service.map(|s| s.id.clone()),
        host,
        port,
        tls,
        headers,
        virtual_service,
    }
}

/// The service port the request arrives on, mapped to its `targetPort`. A Gloo entry
/// reached through `egressGatewayRoutes.portMatch` leaves on the entry's declared port.
fn upstream_port(service: Option<&ExternalService>, request_port: u16) -> u16 {
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

fn destination_rule_tls(model: &Model, host: &str, port: u16) -> Option<RouteTls> {
    model
        .tls_settings
        .iter()
        .filter(|t| registry_host_matches(&t.host, host))
        .find_map(|t| {
            let (mode, sni) = match t.ports.iter().find(|(p, _, _)| *p == port) {
                Some((_, mode, sni)) => (Some(mode.clone()), sni.clone().or(t.sni.clone())),
                None => (t.mode.clone(), t.sni.clone()),
            };
            mode.map(|mode| RouteTls {
                mode,
                sni: sni.unwrap_or_else(|| host.to_string()),
                origin: t.origin.clone(),
            })
        })
}

fn route_match_holds(m: &RouteMatch, req: &Normalized) -> bool {
    m.uri
        .as_ref()
        .is_none_or(|u| req.path.as_deref().is_some_and(|p| u.matches(p)))
        && m.method
            .as_ref()
            .is_none_or(|method| req.method.as_deref() == Some(method.as_str()))
        && m.port.is_none_or(|p| p == req.port)
        && m.headers.iter().all(|(name, matcher)| {
            req.headers
                .get(&name.to_ascii_lowercase())
                .is_some_and(|v| matcher.matches(v))
        })
}

/// The first VirtualService for the host and its first matching HTTP route.
fn header_route<'m>(
    model: &'m Model,
    req: &Normalized,
    host: &str,
) -> Option<(crate::model::ResourceRef, &'m HttpRoute)> {
    model
        .virtual_services
        .iter()
        .filter(|vs| vs.hosts.iter().any(|h| registry_host_matches(h, host)))
        .find_map(|vs| {
            vs.http
                .iter()
                .find(|r| {
                    r.matches.is_empty() || r.matches.iter().any(|m| route_match_holds(m, req))
                })
                .map(|r| (vs.id.clone(), r))
        })
}
