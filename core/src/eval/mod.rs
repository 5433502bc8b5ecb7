//! The reference evaluator: SEMANTICS.md §1–§8 written as literally as possible.
//!
//! It is the oracle the compiled matcher must agree with, so it favours obviousness over
//! speed: every request walks every attached policy and rule in model order.
//!
//! Ties are broken deterministically: when several policies of the deciding action match,
//! the first in model (load) order decides, with its lowest matching rule index.

mod detail;
mod explain;

use explain::policy_verdict;
pub use explain::{first_matching_rule, rule_failure};

use crate::decision::{Caveat, Decision, DryRunOutcome, EnforcedAt, Explanation, Reason};
use crate::model::{
    Action, ExternalService, Gateway, GatewayKind, Labels, Model, Policy, ResourceRef, Scope,
    TargetKind, Vendor,
};
use crate::request::{Normalized, Request};
use crate::road::{self, AuthzSummary, End, PointSpec};

use crate::decision::ACCESS_DENIED;
use crate::model::GATEWAY_NAME_LABEL;

/// Decides one request against the model.
pub fn decide(model: &Model, request: &Request) -> Decision {
    explain(model, request).decision
}

/// The proxy where authorization happens for one request.
#[derive(Debug, Clone)]
pub struct EnforcementPoint<'m> {
    /// Namespace of the proxy.
    pub namespace: String,
    /// Pod labels of the proxy.
    pub labels: Labels,
    /// The gateway resources this proxy implements.
    pub gateways: Vec<&'m Gateway>,
    /// The gateway named by reference when its resource was not loaded.
    pub gateway_ref: Option<ResourceRef>,
}

impl EnforcementPoint<'_> {
    /// The gateway reported in routes and explanations.
    pub fn gateway_id(&self) -> Option<ResourceRef> {
        self.gateways
            .first()
            .map(|g| g.id.clone())
            .or_else(|| self.gateway_ref.clone())
    }

    fn gateway_api_name(&self) -> Option<&str> {
        self.labels.get(GATEWAY_NAME_LABEL).map(String::as_str)
    }

    fn is_waypoint(&self) -> bool {
        match self.gateways.first() {
            Some(gateway) => gateway.kind == GatewayKind::Waypoint,
            // A Gateway-API gateway that was not loaded: ambient egress uses waypoints.
            None => self.gateway_api_name().is_some(),
        }
    }
}

/// Decides and explains one request.
pub fn explain(model: &Model, request: &Request) -> Explanation {
    let mut steps = Vec::new();
    let req = match request.normalize(model.mesh.path_normalization) {
        Ok(req) => req,
        Err(malformed) => {
            steps.push(format!(
                "rejected before authorization: {}",
                malformed.message
            ));
            return Explanation {
                decision: Decision {
                    allowed: false,
                    status: malformed.status,
                    reason: Reason::MalformedRequest,
                    message: malformed.message,
                    policy: None,
                    rule: None,
                    dry_run: None,
                    audit: false,
                    route: None,
                    hops: Vec::new(),
                    caveats: Vec::new(),
                },
                gateway: None,
                service: None,
                steps,
                policies: Vec::new(),
                enforced_at: None,
            };
        }
    };

    let mut road = road::walk(model, &req);
    let walked_route = road::route(model, &mut road);
    for hop in &road.hops {
        steps.push(format!("{}: {}", hop.at, hop.outcome));
    }
    let service = road.service.and_then(|s| model.services.get(s));
    let enforcement = match &road.end {
        End::Stop {
            status,
            reason,
            message,
            ..
        } => {
            return Explanation {
                decision: Decision {
                    allowed: false,
                    status: *status,
                    reason: *reason,
                    message: message.clone(),
                    policy: None,
                    rule: None,
                    dry_run: None,
                    audit: false,
                    route: None,
                    hops: road.hops.clone(),
                    caveats: road.caveats.clone(),
                },
                gateway: None,
                service: service.map(|s| s.id.clone()),
                steps,
                policies: Vec::new(),
                enforced_at: None,
            };
        }
        End::Unenforced { .. } => {
            steps.push(
                "no gateway carries this request: it leaves without egress authorization"
                    .to_string(),
            );
            return Explanation {
                decision: Decision {
                    allowed: true,
                    status: 200,
                    reason: Reason::Passthrough,
                    message: PASSTHROUGH.to_string(),
                    policy: None,
                    rule: None,
                    dry_run: None,
                    audit: false,
                    route: walked_route,
                    hops: road.hops.clone(),
                    caveats: road.caveats.clone(),
                },
                gateway: None,
                service: service.map(|s| s.id.clone()),
                steps,
                policies: Vec::new(),
                enforced_at: None,
            };
        }
        End::Enforce(enforcement) => enforcement.as_ref().clone(),
    };
    let point = EnforcementPoint::from_spec(model, &enforcement.point);
    let gateway = point.gateway_id();
    steps.push(format!(
        "enforced at {} (namespace {}), port {}",
        enforcement.at, point.namespace, enforcement.port
    ));
    // Authorization compares the port the proxy listens on, and sees a JWT only when a
    // RequestAuthentication there validated it.
    let mut areq = req.clone();
    areq.port = enforcement.port;
    if !enforcement.jwt_valid {
        areq.jwt = None;
    }
    if !enforcement.peer_identity {
        areq.forget_peer();
    }
    let req = areq;

    let attached = attached_policies(model, &point, service);
    steps.push(format!("{} policies attach here", attached.len()));
    for policy in &attached {
        for caveat in model.assumptions_of(&policy.id) {
            if !road.caveats.contains(caveat) {
                road.caveats.push(caveat.clone());
            }
        }
    }
    if req.workload.is_some() && point.gateways.is_empty() && attached.is_empty() {
        road.caveats.push(no_proxy_caveat(&point));
    }

    let enforced: Vec<&Policy> = attached.iter().copied().filter(|p| !p.dry_run).collect();
    let outcome = authorize(&enforced, &req, model);
    if outcome.reason == Reason::DeniedByCustom || outcome.custom_checked {
        if let Some(caveat) = custom_caveat(model, &outcome) {
            road.caveats.push(caveat);
        }
    }
    let dry_run = if attached.iter().any(|p| p.dry_run) {
        let with_dry_run = authorize(&attached, &req, model);
        Some(DryRunOutcome {
            allowed: with_dry_run.allowed,
            reason: with_dry_run.reason,
            policy: with_dry_run.policy.map(|(p, _)| p.id.clone()),
            rule: with_dry_run.policy.and_then(|(_, r)| r),
        })
    } else {
        None
    };
    let audit = enforced
        .iter()
        .filter(|p| p.action == Action::Audit)
        .any(|p| first_matching_rule(p, &req, model).is_some());

    let answered = outcome
        .allowed
        .then_some(())
        .and(enforcement.answer.as_ref());
    let route = if outcome.allowed && answered.is_none() {
        walked_route
    } else {
        None
    };
    let message = if let Some((status, text, _)) = answered {
        format!("{status}: {text}")
    } else if outcome.allowed {
        match outcome.policy {
            Some((p, Some(rule))) => format!("allowed by {} rule {rule}", p.id),
            _ => "allowed: no ALLOW policy applies".to_string(),
        }
    } else if outcome.reason == Reason::DeniedByCustom && outcome.note.is_some() {
        outcome.note.clone().unwrap_or_default()
    } else {
        ACCESS_DENIED.to_string()
    };
    steps.push(format!("verdict: {}", outcome.reason));
    let hops = road::hops(
        &road,
        Some(AuthzSummary {
            allowed: outcome.allowed,
            reason: outcome.reason,
            policy: outcome.policy.map(|(p, r)| (&p.id, r)),
        }),
        route.as_ref(),
    );

    let policies = attached
        .iter()
        .map(|p| policy_verdict(p, &req, model))
        .collect();
    let (allowed, status, reason) = match answered {
        Some((status, _, _)) => (false, *status, Reason::DirectResponse),
        None if outcome.allowed => (true, 200, outcome.reason),
        None => (false, 403, outcome.reason),
    };
    Explanation {
        decision: Decision {
            allowed,
            status,
            reason,
            message,
            policy: outcome.policy.map(|(p, _)| p.id.clone()),
            rule: outcome.policy.and_then(|(_, r)| r),
            dry_run,
            audit,
            route,
            hops,
            caveats: road.caveats,
        },
        gateway,
        service: service.map(|s| s.id.clone()),
        steps,
        policies,
        enforced_at: Some(EnforcedAt {
            proxy: enforcement.proxy,
            at: enforcement.at.clone(),
            port: enforcement.port,
            resource: point.gateway_id(),
        }),
    }
}

/// The message of a passthrough decision.
pub const PASSTHROUGH: &str = "passthrough: not enforced by any egress gateway";

/// The caveat for a named workload where no proxy is known to run.
pub fn no_proxy_caveat(point: &EnforcementPoint) -> Caveat {
    let labels: Vec<String> = point
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Caveat {
        code: "workload_matches_no_proxy".to_string(),
        message: format!(
            "no loaded gateway runs at namespace {} with labels {{{}}} and no policy \
             attaches there: decided as a proxy without policies",
            point.namespace,
            labels.join(", ")
        ),
        resource: None,
    }
}

/// The caveat for a CUSTOM verdict taken from the request because no mesh config declares
/// the providers.
fn custom_caveat(model: &Model, outcome: &AuthzOutcome) -> Option<Caveat> {
    if model.mesh.extension_providers.is_some() {
        return None;
    }
    let provider = outcome.custom_provider.as_deref()?;
    Some(Caveat {
        code: "extension_providers_unknown".to_string(),
        message: format!(
            "no mesh config is loaded, so whether CUSTOM provider `{provider}` is declared in \
             extensionProviders cannot be checked: the request's verdict for it was used"
        ),
        resource: None,
    })
}

/// The registry entry the request's destination belongs to (SEMANTICS.md §2, §8.2 step 2),
/// ignoring visibility: HTTP by host, TLS by SNI (or host), TCP by host when known, else by
/// port.
pub fn find_service<'m>(model: &'m Model, req: &Normalized) -> Option<&'m ExternalService> {
    let (service, _) = road::lookup(model, req, None, None);
    service.and_then(|s| model.services.get(s))
}

impl<'m> EnforcementPoint<'m> {
    /// The point a walked road names.
    pub fn from_spec(model: &'m Model, spec: &PointSpec) -> Self {
        EnforcementPoint {
            namespace: spec.namespace.clone(),
            labels: spec.labels.clone(),
            gateways: spec
                .gateways
                .iter()
                .filter_map(|g| model.gateways.get(*g))
                .collect(),
            gateway_ref: spec.gateway_ref.clone(),
        }
    }
}

/// The point named by the request's `workload`, else the gateway of `service`, else
/// `gateway`: what the tools enumerate when they reason about one gateway at a time.
pub fn point_via<'m>(
    model: &'m Model,
    req: &Normalized,
    service: Option<&'m ExternalService>,
    gateway: Option<&'m ResourceRef>,
) -> Option<EnforcementPoint<'m>> {
    if let Some(workload) = &req.workload {
        let gateways = model
            .gateways
            .iter()
            .filter(|g| {
                g.namespace == workload.namespace
                    && !g.labels.is_empty()
                    && g.labels
                        .iter()
                        .all(|(k, v)| workload.labels.get(k) == Some(v))
            })
            .collect();
        return Some(EnforcementPoint {
            namespace: workload.namespace.clone(),
            labels: workload.labels.clone(),
            gateways,
            gateway_ref: None,
        });
    }
    let reference = service.and_then(|s| s.gateway.as_ref()).or(gateway)?;
    match model.gateways.iter().find(|g| &g.id == reference) {
        Some(g) => Some(EnforcementPoint {
            namespace: g.namespace.clone(),
            labels: g.labels.clone(),
            gateways: vec![g],
            gateway_ref: None,
        }),
        None => Some(EnforcementPoint {
            namespace: reference.namespace.clone(),
            labels: reference.assumed_gateway_labels(),
            gateways: Vec::new(),
            gateway_ref: Some(reference.clone()),
        }),
    }
}

/// The proxy that enforces `req` (SEMANTICS.md §9), if any: the end of its road.
pub fn enforcement_point<'m>(model: &'m Model, req: &Normalized) -> Option<EnforcementPoint<'m>> {
    match road::walk(model, req).end {
        End::Enforce(e) => Some(EnforcementPoint::from_spec(model, &e.point)),
        _ => None,
    }
}

/// The policies that attach at `point` for a request to `service`, in model order
/// (SEMANTICS.md §1.1, §8.2 step 4).
pub fn attached_policies<'m>(
    model: &'m Model,
    point: &EnforcementPoint<'m>,
    service: Option<&ExternalService>,
) -> Vec<&'m Policy> {
    model
        .policies
        .iter()
        .filter(|p| attaches(model, p, point, service))
        .collect()
}

fn attaches(
    model: &Model,
    policy: &Policy,
    point: &EnforcementPoint,
    service: Option<&ExternalService>,
) -> bool {
    let root = model.mesh.root_namespace.as_str();
    match &policy.scope {
        Scope::Selector { match_labels } => {
            // Waypoints take only targetRefs; Gateway-API gateways also take selector and
            // namespace-wide policies (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, on by
            // default: pilot/pkg/features/pilot.go, pilot/pkg/model/policyattachment.go).
            !point.is_waypoint()
                && (policy.id.namespace == root || policy.id.namespace == point.namespace)
                && match_labels
                    .iter()
                    .all(|(k, v)| point.labels.get(k) == Some(v))
        }
        Scope::TargetRefs { targets } => {
            let Some(gateway_name) = point.gateway_api_name() else {
                return false;
            };
            targets.iter().any(|t| match t.kind {
                TargetKind::Gateway => t.name == gateway_name && t.namespace == point.namespace,
                TargetKind::GatewayClass => {
                    t.is_waypoint_class() && policy.id.namespace == root && point.is_waypoint()
                }
                TargetKind::ServiceEntry | TargetKind::Service => {
                    point.is_waypoint() && service.is_some_and(|s| t.names_service(&s.id))
                }
            })
        }
        Scope::Gateway { gateway } => point.gateways.iter().any(|g| &g.id == gateway),
        Scope::Services { services } => service.is_some_and(|s| {
            if services.is_empty() {
                s.vendor == Vendor::Gloo
            } else {
                services.contains(&s.id)
            }
        }),
    }
}

/// The result of applying §1.2 to a policy set.
#[derive(Debug, Clone)]
struct AuthzOutcome<'m> {
    allowed: bool,
    reason: Reason,
    policy: Option<(&'m Policy, Option<usize>)>,
    note: Option<String>,
    /// A CUSTOM policy matched and its provider's verdict came from the request.
    custom_checked: bool,
    /// That provider.
    custom_provider: Option<String>,
}

/// CUSTOM, then DENY, then ALLOW (SEMANTICS.md §1.2). `policies` are all treated as
/// enforced; the caller filters dry-run ones.
fn authorize<'m>(policies: &[&'m Policy], req: &Normalized, model: &Model) -> AuthzOutcome<'m> {
    let customs: Vec<&Policy> = policies
        .iter()
        .copied()
        .filter(|p| matches!(p.action, Action::Custom(_)))
        .collect();
    let mut providers: Vec<&str> = customs
        .iter()
        .filter_map(|p| match &p.action {
            Action::Custom(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    providers.sort_unstable();
    providers.dedup();
    // The provider whose verdict was read from the request, if any.
    let mut consulted: Option<String> = None;
    for policy in &customs {
        let Action::Custom(provider) = &policy.action else {
            continue;
        };
        if let Some(rule) = first_matching_rule(policy, req, model) {
            let declared = model
                .mesh
                .extension_providers
                .as_ref()
                .is_none_or(|list| list.iter().any(|p| p == provider));
            let verdict = if providers.len() > 1 {
                Err(format!(
                    "{ACCESS_DENIED} (more than one CUSTOM provider on this workload: the rules are turned into deny rules)"
                ))
            } else if !declared {
                Err(format!(
                    "{ACCESS_DENIED} (CUSTOM provider `{provider}` is not declared in the mesh config's extensionProviders: Istio turns the rules into deny rules)"
                ))
            } else {
                consulted = Some(provider.clone());
                match req.custom.get(provider) {
                    Some(true) => Ok(()),
                    Some(false) => Err(ACCESS_DENIED.to_string()),
                    None => Err(format!(
                        "{ACCESS_DENIED} (no verdict given for CUSTOM provider `{provider}`)"
                    )),
                }
            };
            if let Err(note) = verdict {
                return AuthzOutcome {
                    allowed: false,
                    reason: Reason::DeniedByCustom,
                    policy: Some((policy, Some(rule))),
                    note: Some(note),
                    custom_checked: consulted.is_some(),
                    custom_provider: consulted.clone(),
                };
            }
        }
    }
    for policy in policies.iter().filter(|p| p.action == Action::Deny) {
        if let Some(rule) = first_matching_rule(policy, req, model) {
            return AuthzOutcome {
                allowed: false,
                reason: Reason::DeniedByPolicy,
                policy: Some((policy, Some(rule))),
                note: None,
                custom_checked: consulted.is_some(),
                custom_provider: consulted.clone(),
            };
        }
    }
    let allows: Vec<&Policy> = policies
        .iter()
        .copied()
        .filter(|p| p.action == Action::Allow)
        .collect();
    if allows.is_empty() {
        return AuthzOutcome {
            allowed: true,
            reason: Reason::NoAllowPolicies,
            policy: None,
            note: None,
            custom_checked: consulted.is_some(),
            custom_provider: consulted.clone(),
        };
    }
    for policy in &allows {
        if let Some(rule) = first_matching_rule(policy, req, model) {
            return AuthzOutcome {
                allowed: true,
                reason: Reason::AllowedByPolicy,
                policy: Some((policy, Some(rule))),
                note: None,
                custom_checked: consulted.is_some(),
                custom_provider: consulted.clone(),
            };
        }
    }
    // No ALLOW matched. When every ALLOW policy is rule-less, name the policy that denies all.
    if allows.iter().all(|p| p.rules.is_empty()) {
        let tsb = allows.iter().find(|p| p.vendor == Vendor::Tsb);
        let (policy, reason) = match tsb {
            Some(p) => (Some(*p), Reason::GatewayDeniesAll),
            None => (allows.first().copied(), Reason::AllowNothing),
        };
        return AuthzOutcome {
            allowed: false,
            reason,
            policy: policy.map(|p| (p, None)),
            note: None,
            custom_checked: consulted.is_some(),
            custom_provider: consulted.clone(),
        };
    }
    AuthzOutcome {
        allowed: false,
        reason: Reason::NoAllowMatch,
        policy: None,
        note: None,
        custom_checked: consulted.is_some(),
        custom_provider: consulted.clone(),
    }
}
