//! Decisions and explanations (README "Decision JSON").

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{HeaderMutations, ResourceRef, TlsMode};

/// The body Envoy's RBAC filter returns with a 403.
pub const ACCESS_DENIED: &str = "RBAC: access denied";

/// The stable reason code of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An ALLOW policy matched (and no DENY / CUSTOM denied).
    AllowedByPolicy,
    /// The enforcing gateway has no enforced ALLOW policy, and nothing denied.
    NoAllowPolicies,
    /// No gateway carried the request (ALLOW_ANY passthrough or a registered host without
    /// an egress gateway): nothing enforced it.
    Passthrough,
    /// A DENY policy matched.
    DeniedByPolicy,
    /// ALLOW policies exist and none matched.
    NoAllowMatch,
    /// The only ALLOW policies have no rules (allow-nothing).
    AllowNothing,
    /// A TSB EgressGateway with an empty `authorization` list.
    GatewayDeniesAll,
    /// A CUSTOM provider denied (or gave no verdict).
    DeniedByCustom,
    /// REGISTRY_ONLY and the host is in no registry entry (502).
    NotInRegistry,
    /// Istio rejects the request before authorization (400).
    MalformedRequest,
    /// A VirtualService answered (`directResponse`, `redirect`, `fault.abort`): the request
    /// never leaves; the status is the answer's.
    DirectResponse,
    /// The gateway has no server or route for the host (404).
    NoRoute,
    /// Nothing listens on the port at the gateway (503).
    NoListener,
    /// A JWT from an issuer no RequestAuthentication of the proxy accepts (401).
    InvalidToken,
}

impl Reason {
    /// The snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AllowedByPolicy => "allowed_by_policy",
            Reason::NoAllowPolicies => "no_allow_policies",
            Reason::Passthrough => "passthrough",
            Reason::DeniedByPolicy => "denied_by_policy",
            Reason::NoAllowMatch => "no_allow_match",
            Reason::AllowNothing => "allow_nothing",
            Reason::GatewayDeniesAll => "gateway_denies_all",
            Reason::DeniedByCustom => "denied_by_custom",
            Reason::NotInRegistry => "not_in_registry",
            Reason::MalformedRequest => "malformed_request",
            Reason::DirectResponse => "direct_response",
            Reason::NoRoute => "no_route",
            Reason::NoListener => "no_listener",
            Reason::InvalidToken => "invalid_token",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of proxy (or end point) a hop happens at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyKind {
    /// The sender itself, when no proxy of its own is known.
    Client,
    /// The sender's sidecar.
    Sidecar,
    /// The ambient node proxy.
    Ztunnel,
    /// An ambient waypoint.
    Waypoint,
    /// An egress gateway (classic, TSB, Gloo).
    EgressGateway,
    /// Another gateway (a Gateway-API gateway named in the request).
    Gateway,
    /// The destination outside the mesh.
    Upstream,
}

/// What a hop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopStep {
    /// The sender's outbound configuration (Sidecar, mesh defaults).
    Outbound,
    /// The registry lookup.
    Registry,
    /// A routing decision (VirtualService, egress route, waypoint).
    Route,
    /// A gateway's listener and server.
    Listener,
    /// Authorization policies.
    Authorization,
    /// A response given instead of forwarding.
    Response,
    /// TLS origination.
    Tls,
    /// The request leaves the mesh.
    Leave,
}

/// One step of the road a request takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// Where it happens.
    pub proxy: ProxyKind,
    /// The place in words (`sidecar of default/sleep`, `istio-system/istio-egressgateway`).
    pub at: String,
    /// What happens.
    pub step: HopStep,
    /// The outcome in plain words.
    pub outcome: String,
    /// The resource that decided this hop.
    pub resource: Option<ResourceRef>,
}

pub use crate::model::Caveat;

/// TLS origination applied on the way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTls {
    /// `SIMPLE`, `MUTUAL` or `ISTIO_MUTUAL`.
    pub mode: TlsMode,
    /// SNI sent upstream.
    pub sni: String,
    /// The resource that asked for it.
    pub origin: ResourceRef,
}

/// How an allowed request leaves the mesh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The gateway that carries the request, if any.
    pub gateway: Option<ResourceRef>,
    /// The registry entry that matched the host, if any.
    pub service: Option<ResourceRef>,
    /// Upstream host.
    pub host: String,
    /// Upstream port.
    pub port: u16,
    /// TLS origination, when the gateway originates TLS.
    pub tls: Option<RouteTls>,
    /// Request header mutations.
    pub headers: HeaderMutations,
    /// The VirtualService that supplied the header mutations.
    pub virtual_service: Option<ResourceRef>,
}

/// What the dry-run policies would have decided had they been enforced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunOutcome {
    /// Whether the request would have been allowed.
    pub allowed: bool,
    /// The reason it would have had.
    pub reason: Reason,
    /// The policy that would have decided.
    pub policy: Option<ResourceRef>,
    /// The rule that would have decided.
    pub rule: Option<usize>,
}

/// The answer for one request. Deciding never fails: malformed requests are denied (400).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the request may leave.
    pub allowed: bool,
    /// HTTP status: 200, 400, 403 or 502.
    pub status: u16,
    /// Stable reason code.
    pub reason: Reason,
    /// What the client sees (`RBAC: access denied` for 403) or a short summary.
    pub message: String,
    /// The deciding policy.
    pub policy: Option<ResourceRef>,
    /// The deciding rule's index in that policy.
    pub rule: Option<usize>,
    /// Outcome of dry-run policies, when any applied.
    pub dry_run: Option<DryRunOutcome>,
    /// Whether an AUDIT policy matched.
    pub audit: bool,
    /// The route, when allowed.
    pub route: Option<Route>,
    /// The road the request takes, hop by hop.
    #[serde(default)]
    pub hops: Vec<Hop>,
    /// Every assumption made because something was missing or cannot be known.
    #[serde(default)]
    pub caveats: Vec<Caveat>,
}

impl Decision {
    /// The CLI's JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// How one rule fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleVerdict {
    /// Index in the policy.
    pub index: usize,
    /// Whether it matched.
    pub matched: bool,
    /// For a rule that did not match: the first field that failed, as a path such as
    /// `to[0].operation.methods`.
    pub failed_field: Option<String>,
    /// A human explanation of the failure or of a special treatment (TCP skipping).
    pub note: Option<String>,
    /// The failing field as a path in the file the user wrote: `spec.rules[0].to[0].
    /// operation.methods` (Istio), `spec.authorization[0].to` (TSB EgressGateway),
    /// `spec.config.authz.allowedClients[0].serviceAccountSelector.labels` (Gloo). For a
    /// rule skipped as a whole (TCP), the rule's path.
    #[serde(default)]
    pub field: Option<String>,
    /// `file:line:column` of that field (of the rule when the source texts were not kept).
    #[serde(default)]
    pub location: Option<String>,
    /// The request's value of the failing attribute (`POST`); `None` when the request does
    /// not carry it or the rule was skipped as a whole.
    #[serde(default)]
    pub got: Option<String>,
    /// What the rule wanted (`GET`, `HEAD`); for a `notX` field, the values that excluded
    /// the request.
    #[serde(default)]
    pub wanted: Vec<String>,
    /// The mismatch in words: `method POST not in [GET, HEAD]`, `header x-team absent
    /// (wanted: present)`, `method GET is in notMethods [GET]`.
    #[serde(default)]
    pub mismatch: Option<String>,
}

/// Where authorization was enforced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnforcedAt {
    /// The kind of proxy: sidecar, ztunnel, waypoint, egress gateway.
    pub proxy: ProxyKind,
    /// The proxy in words (`sidecar of default/sleep`, `istio-system/istio-egressgateway`).
    pub at: String,
    /// The port it listens on (the one authorization compares).
    pub port: u16,
    /// The gateway resource it implements, if any.
    pub resource: Option<ResourceRef>,
}

/// How one attached policy fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVerdict {
    /// The policy.
    pub policy: ResourceRef,
    /// `ALLOW`, `DENY`, `AUDIT` or `CUSTOM`.
    pub action: String,
    /// Whether it is a dry-run policy.
    pub dry_run: bool,
    /// Whether any rule matched.
    pub matched: bool,
    /// Every rule.
    pub rules: Vec<RuleVerdict>,
    /// File and line of the policy.
    pub location: String,
}

/// A decision with the reasoning behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The decision (identical to [`crate::Engine::decide`]).
    pub decision: Decision,
    /// The enforcing gateway, if any.
    pub gateway: Option<ResourceRef>,
    /// The registry entry, if any.
    pub service: Option<ResourceRef>,
    /// Steps of the pipeline in order, in plain words.
    pub steps: Vec<String>,
    /// Every policy attached at the enforcing point.
    pub policies: Vec<PolicyVerdict>,
    /// Where authorization was enforced; `None` when no proxy enforced the request
    /// (passthrough, rejected or answered before authorization).
    #[serde(default)]
    pub enforced_at: Option<EnforcedAt>,
}
