//! The compiled engine's answer: borrowed, allocation-free, convertible to a [`Decision`].

use std::borrow::Cow;

use crate::decision::{Decision, DryRunOutcome, Reason, ACCESS_DENIED};
use crate::model::{HeaderMutations, Model, ResourceRef, TlsMode};
use crate::road::End;

use super::view::{CaveatsView, DecisionView, HopsView};
use super::{Compiled, CompiledOutcome, Digest};

/// Why a CUSTOM provider denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomNote {
    /// The provider's verdict was deny.
    Denied,
    /// The request carried no verdict for the provider (fail closed).
    NoVerdict,
    /// Several providers attach to the workload: Istio turns their rules into deny rules.
    MultipleProviders,
    /// The provider is not declared in the mesh config's `extensionProviders`: Istio turns
    /// the rules into deny rules.
    Undeclared,
}

/// TLS origination of a route; serialized as [`RouteTls`](crate::decision::RouteTls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VerdictTls<'a> {
    /// Mode.
    pub mode: TlsMode,
    /// SNI.
    pub sni: &'a str,
    /// The resource that configured it.
    pub origin: &'a ResourceRef,
}

/// The route of an allowed request; serialized as [`Route`](crate::decision::Route)
/// (`src/compile/view.rs`).
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

/// What authorization decided at the enforcing proxy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decided {
    pub(crate) outcome: CompiledOutcome,
    pub(crate) dry_run: Option<CompiledOutcome>,
    pub(crate) audit: bool,
    /// A named workload where no gateway runs and nothing attaches.
    pub(crate) no_proxy: bool,
    /// An enforced CUSTOM policy whose provider's verdict came from the request.
    pub(crate) custom_consulted: Option<u32>,
    /// How many candidate rules the index handed to the matcher (duplicates included).
    pub(crate) candidates: u32,
}

#[derive(Debug, Clone, Copy)]
enum Kind<'a> {
    Malformed(&'a crate::request::Malformed),
    /// The road ended before authorization.
    Stopped,
    Passthrough,
    Decided {
        compiled: &'a Compiled,
        decided: Decided,
    },
}

/// The owned essentials of a verdict — what a caller branches on — without the message,
/// route, road and caveats that [`Verdict::to_decision`] formats. Building one allocates
/// nothing; each field equals the same field of [`Verdict::to_decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Whether the request may leave.
    pub allowed: bool,
    /// HTTP status.
    pub status: u16,
    /// Reason code.
    pub reason: Reason,
    /// The deciding rule's index in the deciding policy.
    pub rule: Option<usize>,
    /// Whether an AUDIT policy matched.
    pub audit: bool,
}

/// A decision that borrows from the engine and the request; building one allocates
/// nothing. [`Verdict::to_decision`] turns it into the owned [`Decision`].
#[derive(Debug, Clone, Copy)]
pub struct Verdict<'a> {
    kind: Kind<'a>,
    model: Option<&'a Model>,
    digest: Option<&'a Digest<'a>>,
}

impl<'a> Verdict<'a> {
    pub(crate) fn malformed(message: &'a crate::request::Malformed) -> Self {
        Verdict {
            kind: Kind::Malformed(message),
            model: None,
            digest: None,
        }
    }

    pub(crate) fn stopped(model: &'a Model, digest: &'a Digest) -> Self {
        Verdict {
            kind: Kind::Stopped,
            model: Some(model),
            digest: Some(digest),
        }
    }

    pub(crate) fn passthrough(model: &'a Model, digest: &'a Digest) -> Self {
        Verdict {
            kind: Kind::Passthrough,
            model: Some(model),
            digest: Some(digest),
        }
    }

    pub(crate) fn from_outcome(
        compiled: &'a Compiled,
        model: &'a Model,
        digest: &'a Digest,
        decided: Decided,
    ) -> Self {
        Verdict {
            kind: Kind::Decided { compiled, decided },
            model: Some(model),
            digest: Some(digest),
        }
    }

    /// The answer a gateway route gives after authorization allowed (`directResponse`).
    fn answer(&self) -> Option<&'a (u16, String, ResourceRef)> {
        match (self.kind, self.digest.map(|d| &d.road().end)) {
            (Kind::Decided { decided, .. }, Some(End::Enforce(e))) if decided.outcome.allowed() => {
                e.answer.as_ref()
            }
            _ => None,
        }
    }

    /// How many candidate rules the index returned for this decision (each checked in
    /// full; a rule filed under several keys of the request counts once per key). Zero
    /// when authorization did not run (malformed, stopped or unenforced requests).
    pub fn candidates_examined(&self) -> usize {
        match self.kind {
            Kind::Decided { decided, .. } => decided.candidates as usize,
            _ => 0,
        }
    }

    /// Whether authorization ran (the request reached an enforcing proxy).
    pub fn authorized(&self) -> bool {
        matches!(self.kind, Kind::Decided { .. })
    }

    /// Whether the request may leave.
    pub fn allowed(&self) -> bool {
        match self.kind {
            Kind::Malformed(_) | Kind::Stopped => false,
            Kind::Passthrough => true,
            Kind::Decided { decided, .. } => decided.outcome.allowed() && self.answer().is_none(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        match (self.kind, self.digest.map(|d| &d.road().end)) {
            (Kind::Malformed(m), _) => m.status,
            (Kind::Stopped, Some(End::Stop { status, .. })) => *status,
            _ if self.allowed() => 200,
            _ => match self.answer() {
                Some((status, _, _)) => *status,
                None => 403,
            },
        }
    }

    /// Reason code.
    pub fn reason(&self) -> Reason {
        match (self.kind, self.digest.map(|d| &d.road().end)) {
            (Kind::Malformed(_), _) => Reason::MalformedRequest,
            (Kind::Stopped, Some(End::Stop { reason, .. })) => *reason,
            (Kind::Stopped, _) => Reason::NotInRegistry,
            (Kind::Passthrough, _) => Reason::Passthrough,
            (Kind::Decided { decided, .. }, _) => {
                if self.answer().is_some() {
                    Reason::DirectResponse
                } else {
                    reason_of(decided.outcome)
                }
            }
        }
    }

    /// The deciding policy and rule index.
    pub fn policy(&self) -> Option<(&'a ResourceRef, Option<usize>)> {
        match (self.kind, self.model) {
            (Kind::Decided { compiled, decided }, Some(model)) => {
                policy_of(compiled, model, decided.outcome)
            }
            _ => None,
        }
    }

    /// Whether an AUDIT policy matched.
    pub fn audit(&self) -> bool {
        matches!(self.kind, Kind::Decided { decided, .. } if decided.audit)
    }

    /// The route, when allowed.
    pub fn route(&self) -> Option<VerdictRoute<'a>> {
        if !self.allowed() {
            return None;
        }
        let route = self.digest?.route()?;
        Some(VerdictRoute {
            gateway: route.gateway.as_ref(),
            service: route.service.as_ref(),
            host: &route.host,
            port: route.port,
            tls: route.tls.as_ref().map(|t| VerdictTls {
                mode: t.mode,
                sni: &t.sni,
                origin: &t.origin,
            }),
            headers: route
                .virtual_service
                .as_ref()
                .map(|vs| (vs, &route.headers)),
        })
    }

    /// The verdict's [`Summary`]: outcome, status, reason, rule and audit, owned and
    /// allocation-free (for bindings that format the rest only when asked).
    pub fn summary(&self) -> Summary {
        Summary {
            allowed: self.allowed(),
            status: self.status(),
            reason: self.reason(),
            rule: self.policy().and_then(|(_, rule)| rule),
            audit: self.audit(),
        }
    }

    /// The owned decision, identical to the reference evaluator's.
    pub fn to_decision(&self) -> Decision {
        self.view().to_decision()
    }

    /// The decision as a borrowed view: serialized, the same JSON as
    /// [`Verdict::to_decision`]'s, without copying the resource names, road and route
    /// the engine and the request already hold.
    ///
    /// ```
    /// use egress_policy::Engine;
    ///
    /// let engine = Engine::from_yaml("p.yaml", "")?;
    /// let request = egress_policy::Request { host: Some("httpbin.org".into()), ..Default::default() };
    /// let prepared = engine.prepare(&request);
    /// let verdict = engine.decide_prepared(&prepared);
    /// assert_eq!(
    ///     serde_json::to_string(&verdict.view()).unwrap(),
    ///     serde_json::to_string(&verdict.to_decision()).unwrap(),
    /// );
    /// # Ok::<(), egress_policy::Error>(())
    /// ```
    pub fn view(&self) -> DecisionView<'a> {
        let policy = self.policy();
        let road = self.digest.map(|d| d.road());
        let caveats_road: &'a [crate::decision::Caveat] = road.map_or(&[], |r| &r.caveats);
        let mut added = Vec::new();
        let (message, dry_run): (Cow<'a, str>, _) = match (self.kind, self.model) {
            (Kind::Malformed(m), _) => (Cow::Borrowed(&m.message), None),
            (Kind::Stopped, _) => match road.map(|r| &r.end) {
                Some(End::Stop { message, .. }) => (Cow::Borrowed(message), None),
                _ => (Cow::Borrowed(""), None),
            },
            (Kind::Passthrough, _) => (Cow::Borrowed(crate::eval::PASSTHROUGH), None),
            (Kind::Decided { compiled, decided }, Some(model)) => {
                let message = match (self.answer(), decided.outcome, policy) {
                    (Some((status, text, _)), _, _) => Cow::Owned(format!("{status}: {text}")),
                    (None, CompiledOutcome::Allow(_), Some((p, Some(rule)))) => {
                        Cow::Owned(allowed_message(p, rule))
                    }
                    (None, CompiledOutcome::Allow(_) | CompiledOutcome::NoAllowPolicies, _) => {
                        Cow::Borrowed("allowed: no ALLOW policy applies")
                    }
                    (None, CompiledOutcome::Custom(id, note), _) => {
                        Cow::Owned(custom_message(compiled, model, id, note))
                    }
                    _ => Cow::Borrowed(ACCESS_DENIED),
                };
                let dry_run = decided.dry_run.map(|o| {
                    let p = policy_of(compiled, model, o);
                    DryRunOutcome {
                        allowed: o.allowed(),
                        reason: reason_of(o),
                        policy: p.map(|(r, _)| r.clone()),
                        rule: p.and_then(|(_, r)| r),
                    }
                });
                if let Some(digest) = self.digest {
                    compiled.attached_caveats(model, digest, caveats_road, &mut added);
                }
                if let (Some(End::Enforce(e)), true) = (road.map(|r| &r.end), decided.no_proxy) {
                    let point = crate::eval::EnforcementPoint::from_spec(model, &e.point);
                    added.push(crate::eval::no_proxy_caveat(&point));
                }
                if model.mesh.extension_providers.is_none() {
                    if let Some(provider) = decided
                        .custom_consulted
                        .and_then(|p| model.policies.get(p as usize))
                        .and_then(|p| match &p.action {
                            crate::model::Action::Custom(name) => Some(name.as_str()),
                            _ => None,
                        })
                    {
                        added.push(crate::decision::Caveat {
                            code: "extension_providers_unknown".to_string(),
                            message: format!(
                                "no mesh config is loaded, so whether CUSTOM provider `{provider}` is declared in \
                                 extensionProviders cannot be checked: the request's verdict for it was used"
                            ),
                            resource: None,
                        });
                    }
                }
                (message, dry_run)
            }
            (Kind::Decided { .. }, None) => (Cow::Borrowed(""), None),
        };
        let route = self.route();
        let authz = match self.kind {
            Kind::Decided { decided, .. } => Some(crate::road::AuthzSummary {
                allowed: decided.outcome.allowed(),
                reason: reason_of(decided.outcome),
                policy,
            }),
            _ => None,
        };
        let hops = match road {
            Some(road) => HopsView {
                road: &road.hops,
                added: crate::road::closing_hops(
                    road,
                    authz,
                    route.map(|r| crate::road::RouteParts {
                        host: r.host,
                        port: r.port,
                        service: r.service,
                        tls: r.tls.map(|t| (t.mode, t.sni, t.origin)),
                    }),
                ),
            },
            None => HopsView::default(),
        };
        DecisionView {
            allowed: self.allowed(),
            status: self.status(),
            reason: self.reason(),
            message,
            policy: policy.map(|(p, _)| p),
            rule: policy.and_then(|(_, r)| r),
            dry_run,
            audit: self.audit(),
            route,
            hops,
            caveats: CaveatsView {
                road: caveats_road,
                added,
            },
        }
    }
}

fn reason_of(outcome: CompiledOutcome) -> Reason {
    match outcome {
        CompiledOutcome::Custom(..) => Reason::DeniedByCustom,
        CompiledOutcome::Deny(_) => Reason::DeniedByPolicy,
        CompiledOutcome::NoAllowPolicies => Reason::NoAllowPolicies,
        CompiledOutcome::Allow(_) => Reason::AllowedByPolicy,
        CompiledOutcome::GatewayDeniesAll(_) => Reason::GatewayDeniesAll,
        CompiledOutcome::AllowNothing(_) => Reason::AllowNothing,
        CompiledOutcome::NoAllowMatch => Reason::NoAllowMatch,
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
    outcome: CompiledOutcome,
) -> Option<(&'a ResourceRef, Option<usize>)> {
    match outcome {
        CompiledOutcome::Custom(id, _) | CompiledOutcome::Deny(id) | CompiledOutcome::Allow(id) => {
            rule_ref(compiled, model, id)
        }
        CompiledOutcome::GatewayDeniesAll(p) | CompiledOutcome::AllowNothing(p) => {
            model.policies.get(p as usize).map(|p| (&p.id, None))
        }
        CompiledOutcome::NoAllowPolicies | CompiledOutcome::NoAllowMatch => None,
    }
}

fn custom_message(compiled: &Compiled, model: &Model, id: u32, note: CustomNote) -> String {
    match note {
        CustomNote::Denied => ACCESS_DENIED.to_string(),
        CustomNote::Undeclared => format!(
            "{ACCESS_DENIED} (CUSTOM provider `{}` is not declared in the mesh config's extensionProviders: Istio turns the rules into deny rules)",
            provider_of(compiled, model, id)
        ),
        CustomNote::MultipleProviders => format!(
            "{ACCESS_DENIED} (more than one CUSTOM provider on this workload: the rules are turned into deny rules)"
        ),
        CustomNote::NoVerdict => format!(
            "{ACCESS_DENIED} (no verdict given for CUSTOM provider `{}`)",
            provider_of(compiled, model, id)
        ),
    }
}

fn provider_of<'a>(compiled: &'a Compiled, model: &'a Model, rule: u32) -> &'a str {
    compiled
        .rules
        .get(rule as usize)
        .and_then(|r| model.policies.get(r.policy as usize))
        .map(|p| match &p.action {
            crate::model::Action::Custom(name) => name.as_str(),
            _ => "",
        })
        .unwrap_or_default()
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
