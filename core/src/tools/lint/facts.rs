//! Facts about where traffic goes: the enforcement points traffic reaches, the registry
//! entries routed to each and the policies attached there.

use std::collections::{BTreeSet, HashMap};

use crate::eval::{self, EnforcementPoint};
use crate::model::{ExternalService, Gateway, Model, Policy};
use crate::request::Request;

// ------------------------------------------------------------------------------------------
// Facts about where traffic goes

/// An enforcement point that traffic can reach, with the registry entries routed to it.
pub(super) struct LintPoint<'m> {
    pub(super) point: EnforcementPoint<'m>,
    /// The gateway resource, when loaded.
    pub(super) gateway: Option<&'m Gateway>,
    /// Registry entries whose traffic the registry routes here.
    pub(super) services: Vec<usize>,
    /// Whether TSB `TrafficSetting`s route external traffic here.
    pub(super) routes: bool,
    /// Indexes of the policies attached here for requests to no registry entry (`None`) or
    /// to each registry entry.
    pub(super) attached: Vec<(Option<usize>, BTreeSet<usize>)>,
}

impl LintPoint<'_> {
    /// Whether policy `index` attaches here for requests to `service`.
    pub(super) fn attaches(&self, index: usize, service: Option<usize>) -> bool {
        self.attached
            .iter()
            .any(|(s, set)| *s == service && set.contains(&index))
    }

    /// Whether policy `index` attaches here for any request.
    pub(super) fn attaches_any(&self, index: usize) -> bool {
        self.attached.iter().any(|(_, set)| set.contains(&index))
    }
}

pub(super) struct Facts<'m> {
    pub(super) points: Vec<LintPoint<'m>>,
}

pub(super) fn normalized_for(
    model: &Model,
    host: Option<&str>,
) -> Option<crate::request::Normalized<'static>> {
    let request = Request {
        host: Some(host.unwrap_or("egress-policy.invalid").to_string()),
        ..Request::default()
    };
    request
        .normalize(model.mesh.path_normalization)
        .ok()
        .map(crate::request::Normalized::into_owned)
}

/// A host that the registry entry matches.
pub(super) fn service_host(service: &ExternalService) -> Option<String> {
    service.hosts.first().map(|h| match h.strip_prefix('*') {
        Some(suffix) => format!("q{suffix}"),
        None => h.clone(),
    })
}

impl<'m> Facts<'m> {
    pub(super) fn new(model: &'m Model) -> Self {
        let mut points: Vec<LintPoint<'m>> = Vec::new();
        let same = |a: &EnforcementPoint, b: &EnforcementPoint| {
            a.namespace == b.namespace && a.labels == b.labels && a.gateway_id() == b.gateway_id()
        };
        for gateway in &model.gateways {
            points.push(LintPoint {
                point: EnforcementPoint {
                    namespace: gateway.namespace.clone(),
                    labels: gateway.labels.clone(),
                    gateways: vec![gateway],
                    gateway_ref: None,
                },
                gateway: Some(gateway),
                services: Vec::new(),
                routes: false,
                attached: Vec::new(),
            });
        }
        let Some(n) = normalized_for(model, None) else {
            return Facts { points };
        };
        let index: HashMap<*const Policy, usize> = model
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p as *const Policy, i))
            .collect();
        for (si, service) in model.services.iter().enumerate() {
            if service.gateway.is_none() {
                continue;
            }
            let Some(point) = eval::point_via(model, &n, Some(service), None) else {
                continue;
            };
            match points.iter_mut().find(|p| same(&p.point, &point)) {
                Some(info) => info.services.push(si),
                None => points.push(LintPoint {
                    point,
                    gateway: None,
                    services: vec![si],
                    routes: false,
                    attached: Vec::new(),
                }),
            }
        }
        for route in &model.egress_routes {
            let Some(gateway) = &route.gateway else {
                continue;
            };
            let Some(point) = eval::point_via(model, &n, None, Some(gateway)) else {
                continue;
            };
            match points.iter_mut().find(|p| same(&p.point, &point)) {
                Some(info) => info.routes = true,
                None => points.push(LintPoint {
                    point,
                    gateway: None,
                    services: Vec::new(),
                    routes: true,
                    attached: Vec::new(),
                }),
            }
        }
        for info in &mut points {
            let options = std::iter::once(None).chain((0..model.services.len()).map(Some));
            for option in options {
                let service = option.and_then(|i| model.services.get(i));
                let set: BTreeSet<usize> = eval::attached_policies(model, &info.point, service)
                    .into_iter()
                    .filter_map(|p| index.get(&(p as *const Policy)).copied())
                    .collect();
                info.attached.push((option, set));
            }
        }
        Facts { points }
    }
}

impl Facts<'_> {
    /// Whether policy `index` applies where the registry routes `service`'s traffic.
    pub(super) fn applies_to_service(&self, index: usize, service: usize) -> bool {
        self.points
            .iter()
            .any(|p| p.services.contains(&service) && p.attaches(index, Some(service)))
    }
}
