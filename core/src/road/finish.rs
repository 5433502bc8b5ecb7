//! The end of the road once authorization has spoken: the route an allowed request takes
//! (TLS origination included) and the final hops. Both evaluators call these, so the
//! decision's road reads the same whichever evaluator produced it.

use crate::decision::{Hop, HopStep, ProxyKind, Reason, Route, RouteTls};
use crate::model::{registry_host_matches, Model, ResourceRef, TlsMode};

use super::{End, Exit, Road};

/// Port used when a gateway originates TLS towards a host that has no registry entry.
const TLS_PORT: u16 = 443;

/// The route an allowed request takes (for roads that end in an exit). Assumptions it
/// makes (a DestinationRule whose `workloadSelector` cannot be checked) are added to the
/// road's caveats, whatever the verdict, so both evaluators report the same.
pub fn route(model: &Model, road: &mut Road) -> Option<Route> {
    let route = route_of(model, road);
    if let Some(caveat) = unknown_selector(model, road) {
        if !road.caveats.contains(&caveat) {
            road.caveats.push(caveat);
        }
    }
    route
}

/// The caveat for a DestinationRule that selects the sender's pods by label when the
/// request gives none.
fn unknown_selector(model: &Model, road: &Road) -> Option<crate::model::Caveat> {
    let exit = match &road.end {
        End::Unenforced { exit } => exit,
        End::Enforce(e) => &e.exit,
        End::Stop { .. } => return None,
    };
    let (namespace, labels) = exit.tls_from.as_ref()?;
    if !labels.is_empty() {
        return None;
    }
    let dr = model.tls_settings.iter().find(|t| {
        t.workload_selector.is_some()
            && &t.origin.namespace == namespace
            && registry_host_matches(&t.host, &exit.host)
    })?;
    Some(crate::model::Caveat {
        code: "source_labels_unknown".to_string(),
        message: format!(
            "{} selects pods by label and the request gives no source.pod_labels: assuming it \
             does not select the sender",
            dr.origin
        ),
        resource: Some(dr.origin.clone()),
    })
}

fn route_of(model: &Model, road: &Road) -> Option<Route> {
    let (exit, gateways, gateway_ref) = match &road.end {
        End::Stop { .. } => return None,
        End::Unenforced { exit } => (exit, &[][..], None),
        End::Enforce(e) => (
            &e.exit,
            e.point.gateways.as_slice(),
            e.point.gateway_ref.as_ref(),
        ),
    };
    // The registry entry of where the request goes: the request's own, or the entry of
    // the host a route sent it to instead.
    let service = road
        .service
        .and_then(|s| model.services.get(s))
        .filter(|s| s.host_matches(&exit.host))
        .or_else(|| model.services.iter().find(|s| s.host_matches(&exit.host)))
        .or_else(|| road.service.and_then(|s| model.services.get(s)));
    let mut port = super::upstream_port(service, exit.port);
    let mut tls = destination_rule_tls(model, exit).or_else(|| {
        service.and_then(|s| s.tls.as_ref()).map(|t| RouteTls {
            mode: t.mode,
            sni: t.sni.clone().unwrap_or_else(|| exit.host.clone()),
            origin: t.origin.clone(),
        })
    });
    if tls.is_none() {
        if let Some(gateway) = gateways
            .iter()
            .filter_map(|g| model.gateways.get(*g))
            .find(|g| g.originates_tls)
        {
            tls = Some(RouteTls {
                mode: TlsMode::Simple,
                sni: exit.host.clone(),
                origin: gateway.id.clone(),
            });
            if service.is_none() {
                port = TLS_PORT;
            }
        }
    }
    if tls.as_ref().is_some_and(|t| t.mode == TlsMode::Disable) {
        tls = None;
    }
    let gateway = gateways
        .first()
        .and_then(|g| model.gateways.get(*g))
        .map(|g| g.id.clone())
        .or_else(|| gateway_ref.cloned());
    Some(Route {
        gateway,
        service: service.map(|s| s.id.clone()),
        host: exit.host.clone(),
        port,
        tls,
        headers: exit.headers.clone(),
        virtual_service: exit.virtual_service.clone(),
    })
}

/// The DestinationRule TLS setting for the exit's host and port, as the originating proxy
/// sees it: visible by `exportTo`, and selecting the proxy when it has a
/// `workloadSelector` (which only applies in the DestinationRule's own namespace).
fn destination_rule_tls(model: &Model, exit: &Exit) -> Option<RouteTls> {
    let (namespace, labels) = match &exit.tls_from {
        Some((ns, labels)) => (ns.as_str(), Some(labels)),
        None => ("", None),
    };
    model
        .tls_settings
        .iter()
        .filter(|t| registry_host_matches(&t.host, &exit.host))
        .filter(|t| {
            namespace.is_empty()
                || t.export_to.visible_from(
                    &t.origin.namespace,
                    namespace,
                    &model.mesh.default_destination_rule_export_to,
                )
        })
        .filter(|t| match (&t.workload_selector, labels) {
            (None, _) => true,
            (Some(selector), Some(labels)) => {
                t.origin.namespace == namespace
                    && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            }
            (Some(_), None) => false,
        })
        .find_map(|t| {
            let (mode, sni) = match t.ports.iter().find(|(p, _, _)| *p == exit.port) {
                Some((_, mode, sni)) => (Some(*mode), sni.clone().or(t.sni.clone())),
                None => (t.mode, t.sni.clone()),
            };
            mode.map(|mode| RouteTls {
                mode,
                sni: sni.unwrap_or_else(|| exit.host.clone()),
                origin: t.origin.clone(),
            })
        })
}

/// What authorization decided, for the authorization hop.
#[derive(Debug, Clone, Copy)]
pub struct AuthzSummary<'a> {
    /// Whether it allowed.
    pub allowed: bool,
    /// The reason.
    pub reason: Reason,
    /// The deciding policy and rule.
    pub policy: Option<(&'a ResourceRef, Option<usize>)>,
}

/// The road's hops with the authorization hop and the final hop appended.
pub fn hops(road: &Road, authz: Option<AuthzSummary>, route: Option<&Route>) -> Vec<Hop> {
    let mut hops = road.hops.clone();
    let End::Enforce(enforcement) = &road.end else {
        return hops;
    };
    let Some(authz) = authz else {
        return hops;
    };
    let decided_by = match authz.policy {
        Some((p, Some(rule))) => format!(" by {p} rule {rule}"),
        Some((p, None)) => format!(" by {p}"),
        None => String::new(),
    };
    hops.push(Hop {
        proxy: enforcement.proxy,
        at: enforcement.at.clone(),
        step: HopStep::Authorization,
        outcome: format!(
            "{} ({}){decided_by}, port {}",
            if authz.allowed { "allowed" } else { "denied" },
            authz.reason,
            enforcement.port
        ),
        resource: authz.policy.map(|(p, _)| p.clone()),
    });
    if !authz.allowed {
        return hops;
    }
    if let Some((status, message, resource)) = &enforcement.answer {
        hops.push(Hop {
            proxy: enforcement.proxy,
            at: enforcement.at.clone(),
            step: HopStep::Response,
            outcome: format!("answers {status}: {message}"),
            resource: Some(resource.clone()),
        });
        return hops;
    }
    if let Some(route) = route {
        if let Some(tls) = &route.tls {
            hops.push(Hop {
                proxy: enforcement.proxy,
                at: enforcement.at.clone(),
                step: HopStep::Tls,
                outcome: format!("originates TLS ({}, SNI {})", tls.mode, tls.sni),
                resource: Some(tls.origin.clone()),
            });
        }
        hops.push(Hop {
            proxy: ProxyKind::Upstream,
            at: format!("{}:{}", route.host, route.port),
            step: HopStep::Leave,
            outcome: format!("leaves the mesh from {}", enforcement.at),
            resource: route.service.clone(),
        });
    }
    hops
}
