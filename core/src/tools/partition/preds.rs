//! The atomic predicates of the partition (module docs of [`super`]): what each dimension
//! of a request is tested against, the views of a value those tests read, and which rules
//! can still match.

#[allow(clippy::wildcard_imports)]
use super::*;
use std::borrow::Cow;
// ------------------------------------------------------------------------------------------
// Predicates

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum HostPred {
    /// A `hosts` pattern, lower-cased, over the lower-cased authority.
    Authority(StringPattern),
    /// A registry host, lower-cased, over the host without port.
    Registry(String),
    /// The destination port.
    Port(u16),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum IdPred {
    Authenticated,
    Principal(StringPattern),
    Namespace(String),
    ServiceAccount(String, String),
    TrustDomain(String),
    /// A TSB namespace selector (`cluster`, `namespace` globs).
    Selector(String, String),
    /// The derived namespace and service account equal these (a loaded ServiceAccount).
    Account(String, String),
    /// Both a namespace and a service account can be derived.
    HasAccount,
}

#[derive(Debug, Clone)]
pub(super) struct HostView {
    pub(super) authority: String,
    pub(super) host: String,
    pub(super) port: u16,
}

#[derive(Debug, Clone, Default)]
pub(super) struct IdView {
    pub(super) uri: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) account: Option<String>,
}

pub(super) fn host_view(authority: &str) -> Option<HostView> {
    let request = Request {
        host: Some(authority.to_string()),
        ..Request::default()
    };
    let n = request.normalize(PathNormalization::None).ok()?;
    Some(HostView {
        authority: n.authority?.to_ascii_lowercase(),
        host: n.host?.into_owned(),
        port: n.port,
    })
}

pub(super) fn id_view(principal: Option<&str>) -> IdView {
    let request = Request {
        source: RequestSource {
            principal: principal.map(str::to_string),
            ..RequestSource::default()
        },
        host: Some("x".to_string()),
        ..Request::default()
    };
    match request.normalize(PathNormalization::None) {
        Ok(n) => IdView {
            uri: n.peer_uri.map(Cow::into_owned),
            namespace: n.namespace.map(Cow::into_owned),
            account: n.service_account.map(Cow::into_owned),
        },
        Err(_) => IdView::default(),
    }
}

impl HostPred {
    pub(super) fn holds(&self, v: &HostView) -> bool {
        match self {
            HostPred::Authority(p) => p.matches(&v.authority),
            HostPred::Registry(r) => registry_host_matches(r, &v.host),
            HostPred::Port(n) => v.port == *n,
        }
    }
}

impl IdPred {
    pub(super) fn holds(&self, v: &IdView) -> bool {
        let uri = v.uri.as_deref();
        match self {
            IdPred::Authenticated => uri.is_some(),
            IdPred::Principal(p) => uri.is_some_and(|u| p.matches(u)),
            IdPred::Namespace(glob) => {
                uri.is_some_and(|u| NamespacePattern { glob: glob.clone() }.matches_uri(u))
            }
            IdPred::ServiceAccount(ns, name) => uri.is_some_and(|u| {
                ServiceAccountRef {
                    namespace: ns.clone(),
                    name: name.clone(),
                }
                .matches_uri(u)
            }),
            IdPred::TrustDomain(value) => uri.is_some_and(|u| {
                TrustDomainPattern {
                    value: value.clone(),
                }
                .matches_uri(u)
            }),
            IdPred::Selector(cluster, namespace) => v.namespace.as_deref().is_some_and(|ns| {
                NamespaceSelector {
                    cluster: cluster.clone(),
                    namespace: namespace.clone(),
                }
                .selects(None, ns)
            }),
            IdPred::Account(ns, sa) => {
                v.namespace.as_deref() == Some(ns) && v.account.as_deref() == Some(sa)
            }
            IdPred::HasAccount => v.namespace.is_some() && v.account.is_some(),
        }
    }
}

pub(super) fn path_holds(p: &PathPattern, path: &str) -> bool {
    p.matches(path)
}

// ------------------------------------------------------------------------------------------
// Candidates

/// Texts of string patterns, by form.
#[derive(Debug, Default)]
pub(super) struct Forms {
    pub(super) exact: BTreeSet<String>,
    pub(super) prefix: BTreeSet<String>,
    pub(super) suffix: BTreeSet<String>,
}

impl Forms {
    pub(super) fn add(&mut self, p: &StringPattern) {
        match p {
            StringPattern::Exact(t) => {
                self.exact.insert(t.clone());
            }
            StringPattern::Prefix(t) => {
                self.prefix.insert(t.clone());
            }
            StringPattern::Suffix(t) => {
                self.suffix.insert(t.clone());
            }
            StringPattern::Presence => {}
        }
    }

    pub(super) fn chars(&self, out: &mut BTreeSet<char>) {
        for text in self.exact.iter().chain(&self.prefix).chain(&self.suffix) {
            out.extend(text.chars());
        }
    }
}

/// A character that occurs in no pattern text (`used`), from `preferred` when possible.
pub(super) fn filler(used: &BTreeSet<char>, preferred: &str) -> char {
    preferred
        .chars()
        .find(|c| !used.contains(c))
        .or_else(|| {
            ('a'..='z')
                .chain('0'..='9')
                .chain('A'..='Z')
                .find(|c| !used.contains(c))
        })
        .unwrap_or('q')
}

/// A class with its representative and truth vector.
#[derive(Debug, Clone)]
pub(super) struct Rep<V> {
    pub(super) value: V,
    pub(super) label: String,
    pub(super) vector: Vec<bool>,
}

/// Keeps the first candidate of every distinct truth vector.
pub(super) fn dedupe<V>(
    candidates: Vec<(V, String)>,
    vector: impl Fn(&V) -> Option<Vec<bool>>,
) -> Vec<Rep<V>> {
    let mut seen: HashSet<Vec<bool>> = HashSet::new();
    let mut out = Vec::new();
    for (value, label) in candidates {
        let Some(v) = vector(&value) else {
            continue;
        };
        if seen.insert(v.clone()) {
            out.push(Rep {
                value,
                label,
                vector: v,
            });
        }
    }
    out
}

pub(super) fn find_class<V>(classes: &[Rep<V>], vector: &[bool]) -> Option<usize> {
    classes.iter().position(|c| c.vector == vector)
}

// ------------------------------------------------------------------------------------------
// Rules that can still match

/// A rule with its policy, from one of the models.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleAt<'m> {
    pub(crate) model: &'m Model,
    pub(crate) policy: &'m Policy,
    pub(crate) index: usize,
    pub(crate) rule: &'m Rule,
}

/// Policies that may decide a request to `authority` at `point` in `model` (over-approximated
/// for routed requests: the union over the TSB routes an identity may take).
pub(super) fn candidate_policies<'m>(
    model: &'m Model,
    point: &Point,
    authority: &str,
) -> Vec<&'m Policy> {
    let request = Request {
        host: Some(authority.to_string()),
        workload: point.workload.clone(),
        ..Request::default()
    };
    let Ok(n) = request.normalize(model.mesh.path_normalization) else {
        return Vec::new();
    };
    let service = eval::find_service(model, &n);
    let mut out: Vec<&Policy> = Vec::new();
    let mut add = |policies: Vec<&'m Policy>| {
        for p in policies {
            if !out.iter().any(|q| std::ptr::eq(*q, p)) {
                out.push(p);
            }
        }
    };
    if point.workload.is_some() || service.is_some_and(|s| s.gateway.is_some()) {
        if let Some(ep) = eval::point_via(model, &n, service, None) {
            add(eval::attached_policies(model, &ep, service));
        }
    } else {
        for route in &model.egress_routes {
            if let Some(gateway) = &route.gateway {
                if let Some(ep) = eval::point_via(model, &n, service, Some(gateway)) {
                    add(eval::attached_policies(model, &ep, service));
                }
            }
        }
    }
    out
}

/// Whether the rule's `to` and port conditions admit this authority and port.
pub(super) fn host_alive(rule: &Rule, view: &HostView) -> bool {
    let ops = match &rule.to {
        None => true,
        Some(ops) => ops.iter().any(|op| {
            op.hosts.holds(|p| p.matches(&view.authority)) && op.ports.holds(|p| *p == view.port)
        }),
    };
    ops && rule.when.iter().all(|c| match c {
        Condition::DestinationPort(f) => f.holds(|p| *p == view.port),
        _ => true,
    })
}

pub(super) fn source_identity_alive(source: &Source, v: &IdView) -> bool {
    let uri = v.uri.as_deref();
    source
        .principals
        .holds(|p| uri.is_some_and(|u| p.matches(u)))
        && source
            .namespaces
            .holds(|p| uri.is_some_and(|u| p.matches_uri(u)))
        && source
            .service_accounts
            .holds(|p| uri.is_some_and(|u| p.matches_uri(u)))
        && source
            .trust_domains
            .holds(|p| uri.is_some_and(|u| p.matches_uri(u)))
}

/// Whether the rule's `from` and identity conditions admit this identity (other source
/// fields are assumed to hold: over-approximation keeps the enumeration exact).
pub(super) fn identity_alive(rule: &Rule, v: &IdView) -> bool {
    let uri = v.uri.as_deref();
    let from = match &rule.from {
        None => true,
        Some(sources) => sources.iter().any(|s| source_identity_alive(s, v)),
    };
    from && rule.when.iter().all(|c| match c {
        Condition::SourcePrincipal(f) => f.holds(|p| uri.is_some_and(|u| p.matches(u))),
        Condition::SourceNamespace(f) => f.holds(|p| uri.is_some_and(|u| p.matches_uri(u))),
        Condition::SourceServiceAccount(f) => f.holds(|p| uri.is_some_and(|u| p.matches_uri(u))),
        Condition::SourceTrustDomain(f) => f.holds(|p| uri.is_some_and(|u| p.matches_uri(u))),
        _ => true,
    })
}

pub(super) fn all_values<P>(field: &Field<P>) -> impl Iterator<Item = &P> {
    field.values.iter().chain(&field.not_values)
}

/// What a rule reads that the enumeration leaves absent, for the caveats.
pub(crate) fn unmodelled(policy: &Policy, rule: &Rule) -> Vec<String> {
    let mut out = Vec::new();
    if let crate::model::Action::Custom(provider) = &policy.action {
        out.push(format!("the verdict of CUSTOM provider `{provider}`"));
    }
    for source in rule.from.iter().flatten() {
        if source.request_principals.is_set() {
            out.push("requestPrincipals (JWT)".to_string());
        }
        if source.ip_blocks.is_set() || source.remote_ip_blocks.is_set() {
            out.push("source IP blocks".to_string());
        }
    }
    for condition in &rule.when {
        match condition {
            Condition::SourcePrincipal(_)
            | Condition::SourceNamespace(_)
            | Condition::SourceServiceAccount(_)
            | Condition::SourceTrustDomain(_)
            | Condition::DestinationPort(_) => {}
            other => out.push(other.key()),
        }
    }
    out.sort();
    out.dedup();
    out
}
