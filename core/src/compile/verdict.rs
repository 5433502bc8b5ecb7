//! The compiled engine's answer: borrowed, allocation-free, convertible to a [`Decision`].

use crate::decision::{Decision, DryRunOutcome, Reason, Route, RouteTls};
use crate::eval::ACCESS_DENIED;
use crate::model::{HeaderMutations, Model, ResourceRef};

use super::{Compiled, Outcome};

/// Why a CUSTOM provider denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomNote {
    /// The provider's verdict was deny.
    Denied,
    /// The request carried no verdict for the provider (fail closed).
    NoVerdict,
    /// Several providers attach to the workload: Istio turns their rules into deny rules.
    MultipleProviders,
}

/// TLS origination of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerdictTls<'a> {
    /// Mode.
    pub mode: &'a str,
    /// SNI.
    pub sni: &'a str,
    /// The resource that configured it.
    pub origin: &'a ResourceRef,
}

/// The route of an allowed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerdictRoute<'a> {
    /// Gateway.
    pub gateway: Option<&'a ResourceRef>,
    /// Registry entry.
    pub service: Option<&'a ResourceRef>,
    /// Upstream host.
    pub host: &'a str,
    /// Upstream port.
    pub port: u16,
    /// TLS origination.
    pub tls: Option<VerdictTls<'a>>,
    /// Header mutations and the VirtualService they come from.
    pub headers: Option<(&'a ResourceRef, &'a HeaderMutations)>,
}

#[derive(Debug, Clone, Copy)]
enum Kind<'a> {
    Malformed(&'a str),
    NotInRegistry,
    Passthrough,
    Decided {
        compiled: &'a Compiled,
        model: &'a Model,
        outcome: Outcome,
        dry_run: Option<Outcome>,
        audit: bool,
    },
}

/// A decision that borrows from the engine and the request; building one allocates
/// nothing. [`Verdict::to_decision`] turns it into the owned [`Decision`].
#[derive(Debug, Clone, Copy)]
pub struct Verdict<'a> {
    kind: Kind<'a>,
    route: Option<VerdictRoute<'a>>,
}

const NOT_IN_REGISTRY: &str =
    "no registry entry for the destination (outboundTrafficPolicy REGISTRY_ONLY)";
const PASSTHROUGH: &str = "passthrough: not enforced by any egress gateway";

impl<'a> Verdict<'a> {
    pub(crate) fn malformed(message: &'a str) -> Self {
        Verdict {
            kind: Kind::Malformed(message),
            route: None,
        }
    }

    pub(crate) fn not_in_registry() -> Self {
        Verdict {
            kind: Kind::NotInRegistry,
            route: None,
        }
    }

    pub(crate) fn passthrough(route: VerdictRoute<'a>) -> Self {
        Verdict {
            kind: Kind::Passthrough,
            route: Some(route),
        }
    }

    pub(crate) fn from_outcome(
        compiled: &'a Compiled,
        model: &'a Model,
        outcome: Outcome,
        dry_run: Option<Outcome>,
        audit: bool,
        route: Option<VerdictRoute<'a>>,
    ) -> Self {
        Verdict {
            kind: Kind::Decided {
                compiled,
                model,
                outcome,
                dry_run,
                audit,
            },
            route,
        }
    }

    /// Whether the request may leave.
    pub fn allowed(&self) -> bool {
        match self.kind {
            Kind::Malformed(_) | Kind::NotInRegistry => false,
            Kind::Passthrough => true,
            Kind::Decided { outcome, .. } => outcome.allowed(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self.kind {
            Kind::Malformed(_) => 400,
            Kind::NotInRegistry => 502,
            _ if self.allowed() => 200,
            _ => 403,
        }
    }

    /// Reason code.
    pub fn reason(&self) -> Reason {
        match self.kind {
            Kind::Malformed(_) => Reason::MalformedRequest,
            Kind::NotInRegistry => Reason::NotInRegistry,
            Kind::Passthrough => Reason::Passthrough,
            Kind::Decided { outcome, .. } => reason_of(outcome),
        }
    }

    /// The deciding policy and rule index.
    pub fn policy(&self) -> Option<(&'a ResourceRef, Option<usize>)> {
        match self.kind {
            Kind::Decided {
                compiled,
                model,
                outcome,
                ..
            } => policy_of(compiled, model, outcome),
            _ => None,
        }
    }

    /// Whether an AUDIT policy matched.
    pub fn audit(&self) -> bool {
        matches!(self.kind, Kind::Decided { audit: true, .. })
    }

    /// The route, when allowed.
    pub fn route(&self) -> Option<&VerdictRoute<'a>> {
        self.route.as_ref()
    }

    /// The owned decision, identical to the reference evaluator's.
    pub fn to_decision(&self) -> Decision {
        let policy = self.policy();
        let (message, dry_run) = match self.kind {
            Kind::Malformed(m) => (m.to_string(), None),
            Kind::NotInRegistry => (NOT_IN_REGISTRY.to_string(), None),
            Kind::Passthrough => (PASSTHROUGH.to_string(), None),
            Kind::Decided {
                compiled,
                model,
                outcome,
                dry_run,
                ..
            } => {
                let message = match (outcome, policy) {
                    (Outcome::Allow(_), Some((p, Some(rule)))) => allowed_message(p, rule),
                    (Outcome::Allow(_) | Outcome::NoAllowPolicies, _) => {
                        "allowed: no ALLOW policy applies".to_string()
                    }
                    (Outcome::Custom(id, note), _) => custom_message(compiled, model, id, note),
                    _ => ACCESS_DENIED.to_string(),
                };
                let dry_run = dry_run.map(|o| {
                    let p = policy_of(compiled, model, o);
                    DryRunOutcome {
                        allowed: o.allowed(),
                        reason: reason_of(o),
                        policy: p.map(|(r, _)| r.clone()),
                        rule: p.and_then(|(_, r)| r),
                    }
                });
                (message, dry_run)
            }
        };
        Decision {
            allowed: self.allowed(),
            status: self.status(),
            reason: self.reason(),
            message,
            policy: policy.map(|(p, _)| p.clone()),
            rule: policy.and_then(|(_, r)| r),
            dry_run,
            audit: self.audit(),
            route: self.route.map(|r| Route {
                gateway: r.gateway.cloned(),
                service: r.service.cloned(),
                host: r.host.to_string(),
                port: r.port,
                tls: r.tls.map(|t| RouteTls {
                    mode: t.mode.to_string(),
                    sni: t.sni.to_string(),
                    origin: t.origin.clone(),
                }),
                headers: r.headers.map(|(_, h)| h.clone()).unwrap_or_default(),
                virtual_service: r.headers.map(|(vs, _)| vs.clone()),
            }),
        }
    }
}

fn reason_of(outcome: Outcome) -> Reason {
    match outcome {
        Outcome::Custom(..) => Reason::DeniedByCustom,
        Outcome::Deny(_) => Reason::DeniedByPolicy,
        Outcome::NoAllowPolicies => Reason::NoAllowPolicies,
        Outcome::Allow(_) => Reason::AllowedByPolicy,
        Outcome::GatewayDeniesAll(_) => Reason::GatewayDeniesAll,
        Outcome::AllowNothing(_) => Reason::AllowNothing,
        Outcome::NoAllowMatch => Reason::NoAllowMatch,
    }
}

fn rule_ref<'a>(
    compiled: &'a Compiled,
    model: &'a Model,
    id: u32,
) -> Option<(&'a ResourceRef, Option<usize>)> {
    let rule = compiled.rules.get(id as usize)?;
    let policy = model.policies.get(rule.policy as usize)?;
    Some((&policy.id, Some(rule.index as usize)))
}

fn policy_of<'a>(
    compiled: &'a Compiled,
    model: &'a Model,
    outcome: Outcome,
) -> Option<(&'a ResourceRef, Option<usize>)> {
    match outcome {
        Outcome::Custom(id, _) | Outcome::Deny(id) | Outcome::Allow(id) => {
            rule_ref(compiled, model, id)
        }
        Outcome::GatewayDeniesAll(p) | Outcome::AllowNothing(p) => {
            model.policies.get(p as usize).map(|p| (&p.id, None))
        }
        Outcome::NoAllowPolicies | Outcome::NoAllowMatch => None,
    }
}

fn custom_message(compiled: &Compiled, model: &Model, id: u32, note: CustomNote) -> String {
    match note {
        CustomNote::Denied => ACCESS_DENIED.to_string(),
        CustomNote::MultipleProviders => format!(
            "{ACCESS_DENIED} (more than one CUSTOM provider on this workload: the rules are turned into deny rules)"
        ),
        CustomNote::NoVerdict => {
            let provider = compiled
                .rules
                .get(id as usize)
                .and_then(|r| model.policies.get(r.policy as usize))
                .map(|p| match &p.action {
                    crate::model::Action::Custom(name) => name.as_str(),
                    _ => "",
                })
                .unwrap_or_default();
            format!("{ACCESS_DENIED} (no verdict given for CUSTOM provider `{provider}`)")
        }
    }
}

/// `allowed by Kind ns/name rule N`, built without the formatting machinery (this runs
/// for every allowed request).
fn allowed_message(policy: &ResourceRef, rule: usize) -> String {
    let mut rule_digits = [0u8; 20];
    let mut at = rule_digits.len();
    let mut n = rule;
    loop {
        at -= 1;
        if let Some(slot) = rule_digits.get_mut(at) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    let digits = std::str::from_utf8(rule_digits.get(at..).unwrap_or_default()).unwrap_or("0");
    let mut message = String::with_capacity(
        24 + policy.kind.len() + policy.namespace.len() + policy.name.len() + digits.len(),
    );
    for part in [
        "allowed by ",
        policy.kind.as_str(),
        " ",
        policy.namespace.as_str(),
        "/",
        policy.name.as_str(),
        " rule ",
        digits,
    ] {
        message.push_str(part);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_message_matches_the_reference_format() {
        let p = ResourceRef::new("AuthorizationPolicy", "ns", "name");
        for rule in [0usize, 7, 10, 12345] {
            assert_eq!(
                allowed_message(&p, rule),
                format!("allowed by {p} rule {rule}")
            );
        }
    }
}
