//! Authorization policies and their rules: who (`from`), what (`to`), when, per action.

use serde::{Deserialize, Serialize};

use super::{
    Action, HostPattern, IpBlock, Labels, Location, NamespacePattern, PathPattern, ResourceRef,
    RuleOrigin, Scope, ServiceAccountRef, StringPattern, TrustDomainPattern, Vendor,
};

/// A match field with positive and negative values (`principals` / `notPrincipals`).
///
/// Unset when both lists are empty. Values are OR-ed; the field holds when (no values or
/// some value matches) and no negative value matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field<P> {
    /// Positive values.
    pub values: Vec<P>,
    /// Negative values.
    pub not_values: Vec<P>,
}

impl<P> Default for Field<P> {
    fn default() -> Self {
        Field {
            values: Vec::new(),
            not_values: Vec::new(),
        }
    }
}

impl<P> Field<P> {
    fn shrink_to_fit(&mut self) {
        self.values.shrink_to_fit();
        self.not_values.shrink_to_fit();
    }

    /// Whether the policy set this field at all.
    pub fn is_set(&self) -> bool {
        !self.values.is_empty() || !self.not_values.is_empty()
    }

    /// Evaluates the field with `matches` deciding one value; `None` attribute means the
    /// request does not carry it (positive values fail, negative values hold).
    #[inline]
    pub fn holds(&self, mut matches: impl FnMut(&P) -> bool) -> bool {
        (self.values.is_empty() || self.values.iter().any(&mut matches))
            && !self.not_values.iter().any(matches)
    }
}

/// `from[].source`: who sends the request. All set fields must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `principals`: patterns over the peer's full SPIFFE URI (Istio values get
    /// `spiffe://` prepended; trust domain aliases already expanded).
    pub principals: Field<StringPattern>,
    /// `namespaces`.
    pub namespaces: Field<NamespacePattern>,
    /// `serviceAccounts`.
    pub service_accounts: Field<ServiceAccountRef>,
    /// `trustDomains`.
    pub trust_domains: Field<TrustDomainPattern>,
    /// `requestPrincipals`: patterns over the JWT `iss/sub`.
    pub request_principals: Field<StringPattern>,
    /// `ipBlocks`: the direct peer address.
    pub ip_blocks: Field<IpBlock>,
    /// `remoteIpBlocks`: the original client address.
    pub remote_ip_blocks: Field<IpBlock>,
    /// TSB: workspaces (by name) whose namespaces the source must be in.
    pub workspaces: Field<String>,
    /// TSB: groups (`workspace/group`) whose namespaces the source must be in.
    pub groups: Field<String>,
    /// Gloo: labels the source's service account must carry (all of them); several maps
    /// are alternatives.
    pub service_account_labels: Field<Labels>,
}

/// `to[].operation`: what is requested. All set fields must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// `hosts` (HTTP only).
    pub hosts: Field<HostPattern>,
    /// `ports`.
    pub ports: Field<u16>,
    /// `methods` (HTTP only).
    pub methods: Field<StringPattern>,
    /// `paths` (HTTP only).
    pub paths: Field<PathPattern>,
}

/// The attribute a `when` condition reads (SEMANTICS.md §1.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// `request.headers[name]` (name lower-cased). `*` means "present", even if empty.
    RequestHeader {
        /// Lower-cased header name.
        name: String,
        /// Values.
        field: Field<StringPattern>,
    },
    /// `source.ip`.
    SourceIp(Field<IpBlock>),
    /// `remote.ip`.
    RemoteIp(Field<IpBlock>),
    /// `destination.ip`.
    DestinationIp(Field<IpBlock>),
    /// `source.namespace`.
    SourceNamespace(Field<NamespacePattern>),
    /// `source.principal` (patterns over the SPIFFE URI).
    SourcePrincipal(Field<StringPattern>),
    /// `source.serviceAccount`.
    SourceServiceAccount(Field<ServiceAccountRef>),
    /// `source.trustDomain`.
    SourceTrustDomain(Field<TrustDomainPattern>),
    /// `request.auth.principal`.
    RequestAuthPrincipal(Field<StringPattern>),
    /// `request.auth.audiences`.
    RequestAuthAudiences(Field<StringPattern>),
    /// `request.auth.presenter`.
    RequestAuthPresenter(Field<StringPattern>),
    /// `request.auth.claims[a][b]`.
    RequestAuthClaim {
        /// Claim path.
        path: Vec<String>,
        /// Values.
        field: Field<StringPattern>,
    },
    /// `destination.port`.
    DestinationPort(Field<u16>),
    /// `connection.sni`.
    ConnectionSni(Field<StringPattern>),
    /// `experimental.envoy.filters.*[...]`: dynamic metadata the simulator never has.
    Experimental {
        /// The full key.
        key: String,
        /// Values.
        field: Field<StringPattern>,
    },
}

impl Condition {
    /// Whether the attribute exists only for HTTP requests (SEMANTICS.md §1.11).
    pub fn is_http_only(&self) -> bool {
        matches!(
            self,
            Condition::RequestHeader { .. }
                | Condition::RequestAuthPrincipal(_)
                | Condition::RequestAuthAudiences(_)
                | Condition::RequestAuthPresenter(_)
                | Condition::RequestAuthClaim { .. }
        )
    }

    /// The Istio key, such as `request.headers[x-team]`.
    pub fn key(&self) -> String {
        match self {
            Condition::RequestHeader { name, .. } => format!("request.headers[{name}]"),
            Condition::SourceIp(_) => "source.ip".into(),
            Condition::RemoteIp(_) => "remote.ip".into(),
            Condition::DestinationIp(_) => "destination.ip".into(),
            Condition::SourceNamespace(_) => "source.namespace".into(),
            Condition::SourcePrincipal(_) => "source.principal".into(),
            Condition::SourceServiceAccount(_) => "source.serviceAccount".into(),
            Condition::SourceTrustDomain(_) => "source.trustDomain".into(),
            Condition::RequestAuthPrincipal(_) => "request.auth.principal".into(),
            Condition::RequestAuthAudiences(_) => "request.auth.audiences".into(),
            Condition::RequestAuthPresenter(_) => "request.auth.presenter".into(),
            Condition::RequestAuthClaim { path, .. } => {
                let parts: Vec<String> = path.iter().map(|p| format!("[{p}]")).collect();
                format!("request.auth.claims{}", parts.concat())
            }
            Condition::DestinationPort(_) => "destination.port".into(),
            Condition::ConnectionSni(_) => "connection.sni".into(),
            Condition::Experimental { key, .. } => key.clone(),
        }
    }
}

/// One rule: `from`, `to`, `when`. `None` lists were not written (match anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `from`: any source may match; `None` when absent.
    pub from: Option<Vec<Source>>,
    /// `to`: any operation may match; `None` when absent.
    pub to: Option<Vec<Operation>>,
    /// `when`: all conditions must hold.
    pub when: Vec<Condition>,
    /// Where the rule starts in its file.
    pub location: Option<Location>,
    /// Where its parts were written, in the user's terms.
    #[serde(default, skip_serializing_if = "RuleOrigin::is_none")]
    pub origin: RuleOrigin,
}

impl Rule {
    /// Whether the rule reads an attribute only HTTP requests carry (`requestPrincipals`,
    /// `hosts`, `methods`, `paths` or an HTTP-only `when` key): such a rule never matches
    /// TCP traffic in an ALLOW or CUSTOM policy (SEMANTICS.md §1.11).
    pub fn is_http_only(&self) -> bool {
        self.from
            .iter()
            .flatten()
            .any(|s| s.request_principals.is_set())
            || self
                .to
                .iter()
                .flatten()
                .any(|o| o.hosts.is_set() || o.methods.is_set() || o.paths.is_set())
            || self.when.iter().any(Condition::is_http_only)
    }
}

/// One authorization policy in vendor-neutral form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The resource this policy came from.
    pub id: ResourceRef,
    /// The product that defined it.
    pub vendor: Vendor,
    /// Where the resource starts.
    pub location: Location,
    /// The action.
    pub action: Action,
    /// Where it attaches.
    pub scope: Scope,
    /// `istio.io/dry-run`: evaluated and reported, never enforced.
    pub dry_run: bool,
    /// The rules. Empty: an ALLOW policy that allows nothing (still counts as an ALLOW policy).
    pub rules: Vec<Rule>,
}

impl Policy {
    /// Releases the spare capacity of the rules' lists. The loader calls it on each policy
    /// as soon as it is imported, so a load never holds the grown lists of every policy
    /// at once (a `Source` is ~500 bytes: a list of one grown to four wastes 1.5 KB).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.rules.shrink_to_fit();
        for rule in &mut self.rules {
            rule.when.shrink_to_fit();
            for source in rule.from.iter_mut().flatten() {
                source.principals.shrink_to_fit();
                source.namespaces.shrink_to_fit();
                source.service_accounts.shrink_to_fit();
                source.trust_domains.shrink_to_fit();
                source.request_principals.shrink_to_fit();
                source.ip_blocks.shrink_to_fit();
                source.remote_ip_blocks.shrink_to_fit();
                source.workspaces.shrink_to_fit();
                source.groups.shrink_to_fit();
                source.service_account_labels.shrink_to_fit();
            }
            if let Some(from) = &mut rule.from {
                from.shrink_to_fit();
            }
            for operation in rule.to.iter_mut().flatten() {
                operation.hosts.shrink_to_fit();
                operation.ports.shrink_to_fit();
                operation.methods.shrink_to_fit();
                operation.paths.shrink_to_fit();
            }
            if let Some(to) = &mut rule.to {
                to.shrink_to_fit();
            }
        }
    }
}
