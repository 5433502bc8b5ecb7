//! The end of the road once authorization has spoken: the route an allowed request takes
//! (TLS origination included) and the final hops. Both evaluators call these, so the
//! decision's road reads the same whichever evaluator produced it.

use std::fmt;

use serde::Serialize;

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

/// What the closing hops read of an allowed request's route, borrowed from either
/// evaluator's form of it.
#[derive(Debug, Clone, Copy)]
pub struct RouteParts<'a> {
    /// Upstream host.
    pub host: &'a str,
    /// Upstream port.
    pub port: u16,
    /// The registry entry that matched the host.
    pub service: Option<&'a ResourceRef>,
    /// TLS origination: mode, SNI and the resource that asked for it.
    pub tls: Option<(TlsMode, &'a str, &'a ResourceRef)>,
}

impl<'a> From<&'a Route> for RouteParts<'a> {
    fn from(route: &'a Route) -> Self {
        RouteParts {
            host: &route.host,
            port: route.port,
            service: route.service.as_ref(),
            tls: route
                .tls
                .as_ref()
                .map(|t| (t.mode, t.sni.as_str(), &t.origin)),
        }
    }
}

/// A hop authorization adds after the road's own: serialized exactly as the [`Hop`] that
/// [`ClosingHop::to_hop`] makes, with its place and outcome written out only when
/// serialized (serde's `collect_str`: no intermediate `String` for serializers that
/// write text directly, as `serde_json` does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClosingHop<'a> {
    /// Where it happens.
    pub proxy: ProxyKind,
    /// The place in words.
    pub at: HopPlace<'a>,
    /// What happens.
    pub step: HopStep,
    /// The outcome in plain words.
    pub outcome: HopOutcome<'a>,
    /// The resource that decided this hop.
    pub resource: Option<&'a ResourceRef>,
}

impl ClosingHop<'_> {
    /// The owned hop.
    pub fn to_hop(&self) -> Hop {
        Hop {
            proxy: self.proxy,
            at: self.at.to_string(),
            step: self.step,
            outcome: self.outcome.to_string(),
            resource: self.resource.cloned(),
        }
    }
}

/// Where a closing hop happens: the enforcing proxy, or the upstream `host:port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopPlace<'a> {
    /// A place already in words (the enforcing proxy).
    Named(&'a str),
    /// The upstream host and port.
    Upstream(&'a str, u16),
}

impl fmt::Display for HopPlace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HopPlace::Named(text) => f.write_str(text),
            HopPlace::Upstream(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

impl Serialize for HopPlace<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            HopPlace::Named(text) => serializer.serialize_str(text),
            HopPlace::Upstream(..) => serializer.collect_str(self),
        }
    }
}

/// What a closing hop did, in the words [`fmt::Display`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopOutcome<'a> {
    /// `allowed (reason) by policy rule N, port P` (or `denied …`).
    Authorization {
        /// The authorization summary.
        allowed: bool,
        /// Its reason.
        reason: Reason,
        /// The deciding policy and rule.
        policy: Option<(&'a ResourceRef, Option<usize>)>,
        /// The port the proxy enforced on.
        port: u16,
    },
    /// `answers STATUS: message` (a direct response).
    Response(u16, &'a str),
    /// `originates TLS (MODE, SNI sni)`.
    Tls(TlsMode, &'a str),
    /// `leaves the mesh from PLACE`.
    Leave(&'a str),
}

impl fmt::Display for HopOutcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HopOutcome::Authorization {
                allowed,
                reason,
                policy,
                port,
            } => {
                f.write_str(if *allowed { "allowed (" } else { "denied (" })?;
                write!(f, "{reason})")?;
                match policy {
                    Some((p, Some(rule))) => write!(f, " by {p} rule {rule}")?,
                    Some((p, None)) => write!(f, " by {p}")?,
                    None => {}
                }
                write!(f, ", port {port}")
            }
            HopOutcome::Response(status, message) => write!(f, "answers {status}: {message}"),
            HopOutcome::Tls(mode, sni) => write!(f, "originates TLS ({mode}, SNI {sni})"),
            HopOutcome::Leave(from) => write!(f, "leaves the mesh from {from}"),
        }
    }
}

impl Serialize for HopOutcome<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The road's hops with the authorization hop and the final hop appended.
pub fn hops(road: &Road, authz: Option<AuthzSummary>, route: Option<&Route>) -> Vec<Hop> {
    let closing = closing_hops(road, authz, route.map(RouteParts::from));
    let mut hops = Vec::with_capacity(road.hops.len() + closing.len());
    hops.extend_from_slice(&road.hops);
    hops.extend(closing.iter().map(ClosingHop::to_hop));
    hops
}

/// The hops authorization appends to the road's: the authorization hop, then a direct
/// response, or TLS origination and the exit. None when the road did not reach an
/// enforcing proxy or authorization did not run.
pub fn closing_hops<'a>(
    road: &'a Road,
    authz: Option<AuthzSummary<'a>>,
    route: Option<RouteParts<'a>>,
) -> Vec<ClosingHop<'a>> {
    let mut hops = Vec::new();
    let End::Enforce(enforcement) = &road.end else {
        return hops;
    };
    let Some(authz) = authz else {
        return hops;
    };
    hops.reserve(3);
    hops.push(ClosingHop {
        proxy: enforcement.proxy,
        at: HopPlace::Named(&enforcement.at),
        step: HopStep::Authorization,
        outcome: HopOutcome::Authorization {
            allowed: authz.allowed,
            reason: authz.reason,
            policy: authz.policy,
            port: enforcement.port,
        },
        resource: authz.policy.map(|(p, _)| p),
    });
    if !authz.allowed {
        return hops;
    }
    if let Some((status, message, resource)) = &enforcement.answer {
        hops.push(ClosingHop {
            proxy: enforcement.proxy,
            at: HopPlace::Named(&enforcement.at),
            step: HopStep::Response,
            outcome: HopOutcome::Response(*status, message),
            resource: Some(resource),
        });
        return hops;
    }
    if let Some(route) = route {
        if let Some((mode, sni, origin)) = route.tls {
            hops.push(ClosingHop {
                proxy: enforcement.proxy,
                at: HopPlace::Named(&enforcement.at),
                step: HopStep::Tls,
                outcome: HopOutcome::Tls(mode, sni),
                resource: Some(origin),
            });
        }
        hops.push(ClosingHop {
            proxy: ProxyKind::Upstream,
            at: HopPlace::Upstream(route.host, route.port),
            step: HopStep::Leave,
            outcome: HopOutcome::Leave(&enforcement.at),
            resource: route.service,
        });
    }
    hops
}
