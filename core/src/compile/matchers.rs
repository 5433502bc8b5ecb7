//! Compiled forms of the model's patterns: lower-cased once, regexes built once, nothing
//! allocated when matching.

use std::sync::Arc;

use regex::Regex;

use crate::model::{
    Condition, Field, HostPattern, IpBlock, Labels, NamespacePattern, NamespaceSelector, Operation,
    PathPattern, Rule, ServiceAccountRef, Source, StringPattern, TrustDomainPattern,
};

use super::path_head::{common_prefix, list_head, PathHead};
use super::prepare::Digest;

/// Size limit for every regex the compiler builds from policy values.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn build_regex(pattern: &str) -> Option<Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .ok()
}

/// Compiled identity regexes by pattern text, shared by every rule of one compile (a
/// namespace or trust domain repeats across thousands of rules): a hit is a reference
/// count, not a copy.
#[derive(Debug, Default)]
pub(crate) struct RegexCache(std::cell::RefCell<std::collections::HashMap<String, UriRegex>>);

impl RegexCache {
    fn get(&self, pattern: String, fast: impl FnOnce() -> Option<UriRegex>) -> UriRegex {
        if let Some(found) = self.0.borrow().get(&pattern) {
            return found.clone();
        }
        let built = fast().unwrap_or_else(|| UriRegex::Regex(build_regex(&pattern)));
        self.0.borrow_mut().insert(pattern, built.clone());
        built
    }
}

/// An identity pattern over the peer URI. The literal forms are exactly their regexes
/// (`^(?s:.*LIT.*)$` is "contains", `^(?s:LIT.*)$` is "starts with") without running one.
/// A regex that failed to build (over the size limit) never matches: fail closed for
/// ALLOW, and the importer's validation keeps such values out in the first place.
#[derive(Debug, Clone)]
pub(crate) enum UriRegex {
    Contains(Arc<str>),
    StartsWith(Arc<str>),
    /// `^(?s:spiffe://.+/ns/NS/(.+/|)sa/SA(/.+)?)$` with literal `NS` and `SA`, kept as
    /// `/ns/NS/` and `sa/SA`.
    ServiceAccount {
        ns_part: Arc<[u8]>,
        sa_part: Arc<[u8]>,
    },
    Regex(Option<Regex>),
}

/// Every offset where `needle` starts in `hay` (overlapping occurrences included).
fn occurrences<'h>(hay: &'h [u8], needle: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    (0..hay.len().saturating_sub(needle.len()).saturating_add(1))
        .filter(move |at| hay.get(*at..).is_some_and(|rest| rest.starts_with(needle)))
}

/// The service-account regex, by hand: `spiffe://`, at least one byte, `/ns/NS/`, then
/// either `sa/SA` directly or at least one byte and `/` before it, then nothing or `/`
/// and at least one byte.
fn service_account_matches(uri: &str, ns_part: &[u8], sa_part: &[u8]) -> bool {
    let Some(body) = uri.as_bytes().strip_prefix(b"spiffe://") else {
        return false;
    };
    occurrences(body, ns_part).filter(|at| *at >= 1).any(|at| {
        let rest = body.get(at + ns_part.len()..).unwrap_or_default();
        occurrences(rest, sa_part).any(|j| {
            let lead = j == 0 || (j >= 2 && rest.get(j - 1) == Some(&b'/'));
            let tail = rest.get(j + sa_part.len()..).unwrap_or_default();
            lead && (tail.is_empty() || (tail.first() == Some(&b'/') && tail.len() >= 2))
        })
    })
}

impl UriRegex {
    fn matches(&self, uri: &str) -> bool {
        match self {
            UriRegex::Contains(lit) => uri.contains(&**lit),
            UriRegex::StartsWith(lit) => uri.starts_with(&**lit),
            UriRegex::ServiceAccount { ns_part, sa_part } => {
                service_account_matches(uri, ns_part, sa_part)
            }
            UriRegex::Regex(r) => r.as_ref().is_some_and(|r| r.is_match(uri)),
        }
    }
}

/// `namespaces`: Istio's regex `.*/ns/<glob>/.*` with every `*` as `.*`.
fn namespace_regex(p: &NamespacePattern, cache: &RegexCache) -> UriRegex {
    let glob: Vec<String> = p.glob.split('*').map(regex::escape).collect();
    cache.get(format!("^(?s:.*/ns/{}/.*)$", glob.join(".*")), || {
        (!p.glob.contains('*')).then(|| UriRegex::Contains(format!("/ns/{}/", p.glob).into()))
    })
}

/// `serviceAccounts`: Istio's regex `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?`.
fn service_account_regex(p: &ServiceAccountRef, cache: &RegexCache) -> UriRegex {
    cache.get(
        format!(
            "^(?s:spiffe://.+/ns/{}/(.+/|)sa/{}(/.+)?)$",
            regex::escape(&p.namespace),
            regex::escape(&p.name)
        ),
        || {
            Some(UriRegex::ServiceAccount {
                ns_part: [&b"/ns/"[..], p.namespace.as_bytes(), &b"/"[..]]
                    .concat()
                    .into(),
                sa_part: [&b"sa/"[..], p.name.as_bytes()].concat().into(),
            })
        },
    )
}

/// `trustDomains`: exact ⇒ prefix `spiffe://td/`; `*` ⇒ any SPIFFE URI; `td*`/`*td` ⇒ bounded
/// by `[^/]*`.
fn trust_domain_regex(p: &TrustDomainPattern, cache: &RegexCache) -> UriRegex {
    let pattern = StringPattern::parse(&p.value);
    let body = match &pattern {
        StringPattern::Presence => "[^/]*".to_string(),
        StringPattern::Exact(td) => regex::escape(td),
        StringPattern::Prefix(td) => format!("{}[^/]*", regex::escape(td)),
        StringPattern::Suffix(td) => format!("[^/]*{}", regex::escape(td)),
    };
    cache.get(format!("^(?s:spiffe://{body}/.*)$"), || match &pattern {
        StringPattern::Exact(td) => Some(UriRegex::StartsWith(format!("spiffe://{td}/").into())),
        _ => None,
    })
}

fn map_field<P, Q>(field: &Field<P>, f: impl Fn(&P) -> Q) -> Field<Q> {
    Field {
        values: field.values.iter().map(&f).collect(),
        not_values: field.not_values.iter().map(&f).collect(),
    }
}

fn str_holds(field: &Field<StringPattern>, value: Option<&str>) -> bool {
    field.holds(|p| value.is_some_and(|v| p.matches(v)))
}

fn uri_holds(field: &Field<UriRegex>, uri: Option<&str>) -> bool {
    field.holds(|r| uri.is_some_and(|u| r.matches(u)))
}

fn ip_holds(field: &Field<IpBlock>, ip: Option<std::net::IpAddr>) -> bool {
    field.holds(|b| ip.is_some_and(|ip| b.contains(ip)))
}

/// One set field of a compiled `from[].source`; only set fields are stored.
#[derive(Debug, Clone)]
enum SourceCheck {
    Principals(Field<StringPattern>),
    Uri(Field<UriRegex>),
    RequestPrincipals(Field<StringPattern>),
    IpBlocks(Field<IpBlock>),
    RemoteIpBlocks(Field<IpBlock>),
    Members(Field<Vec<NamespaceSelector>>),
    AccountLabels(Field<Labels>),
}

impl SourceCheck {
    fn holds(&self, req: &Digest, drop_http: bool) -> bool {
        match self {
            SourceCheck::Principals(f) => str_holds(f, req.peer_uri()),
            SourceCheck::Uri(f) => uri_holds(f, req.peer_uri()),
            SourceCheck::RequestPrincipals(f) => {
                drop_http || str_holds(f, req.jwt().and_then(|j| j.principal.as_deref()))
            }
            SourceCheck::IpBlocks(f) => ip_holds(f, req.source_ip()),
            SourceCheck::RemoteIpBlocks(f) => ip_holds(f, req.remote_ip().or(req.source_ip())),
            SourceCheck::Members(f) => f.holds(|selectors| {
                req.namespace()
                    .is_some_and(|ns| selectors.iter().any(|s| s.selects(req.cluster(), ns)))
            }),
            SourceCheck::AccountLabels(f) => {
                let labels = req.account_labels.as_ref();
                f.holds(|wanted| labels.is_some_and(|have| labels_subset(wanted, have)))
            }
        }
    }
}

/// A compiled `from[].source`: the AND of its set fields.
#[derive(Debug, Clone)]
pub(crate) struct CSource {
    checks: Box<[SourceCheck]>,
    /// See [`CSource::index_keys`].
    keys: Option<Box<[(u8, u64)]>>,
}

impl CSource {
    fn compile(
        s: &Source,
        resolve: &dyn Fn(bool, &str) -> Vec<NamespaceSelector>,
        regexes: &RegexCache,
    ) -> Self {
        let mut checks = Vec::new();
        if s.principals.is_set() {
            checks.push(SourceCheck::Principals(s.principals.clone()));
        }
        if s.namespaces.is_set() {
            checks.push(SourceCheck::Uri(map_field(&s.namespaces, |p| {
                namespace_regex(p, regexes)
            })));
        }
        if s.service_accounts.is_set() {
            checks.push(SourceCheck::Uri(map_field(&s.service_accounts, |p| {
                service_account_regex(p, regexes)
            })));
        }
        if s.trust_domains.is_set() {
            checks.push(SourceCheck::Uri(map_field(&s.trust_domains, |p| {
                trust_domain_regex(p, regexes)
            })));
        }
        if s.request_principals.is_set() {
            checks.push(SourceCheck::RequestPrincipals(s.request_principals.clone()));
        }
        if s.ip_blocks.is_set() {
            checks.push(SourceCheck::IpBlocks(s.ip_blocks.clone()));
        }
        if s.remote_ip_blocks.is_set() {
            checks.push(SourceCheck::RemoteIpBlocks(s.remote_ip_blocks.clone()));
        }
        if s.workspaces.is_set() {
            checks.push(SourceCheck::Members(map_field(&s.workspaces, |w| {
                resolve(false, w)
            })));
        }
        if s.groups.is_set() {
            checks.push(SourceCheck::Members(map_field(&s.groups, |g| {
                resolve(true, g)
            })));
        }
        if s.service_account_labels.is_set() {
            checks.push(SourceCheck::AccountLabels(s.service_account_labels.clone()));
        }
        CSource {
            checks: checks.into_boxed_slice(),
            keys: source_keys(s),
        }
    }

    /// Whether this source reads the labels of the peer's service account.
    pub(crate) fn reads_account_labels(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c, SourceCheck::AccountLabels(_)))
    }

    /// Index keys under which this source can match (`(tag, hash of tag and text)`, one
    /// of which the peer must carry), or `None` when any peer might match.
    pub(crate) fn index_keys(&self) -> Option<&[(u8, u64)]> {
        self.keys.as_deref()
    }

    fn matches(&self, req: &Digest, drop_http: bool) -> bool {
        self.checks.iter().all(|c| c.holds(req, drop_http))
    }
}

/// The most selective positive field of `s` that names whole identity parts, as index
/// keys: exact `principals`, then the namespaces of `serviceAccounts`, then glob-free
/// `namespaces`, then exact `trustDomains`. Every key is something a matching peer URI
/// must contain (see `Compiled::for_each_source_key` for the request side), so keying
/// only narrows candidates; each is still checked in full.
fn source_keys(s: &Source) -> Option<Box<[(u8, u64)]>> {
    use super::hash::{key_hash, TAG_NAMESPACE, TAG_PRINCIPAL, TAG_TRUST_DOMAIN};
    let plain = |t: &str| !t.is_empty() && !t.contains('/');
    let key = |tag: u8, text: &str| (tag, key_hash(tag, text));
    let principals = s.principals.values.iter().map(|p| match p {
        StringPattern::Exact(t) => Some(key(TAG_PRINCIPAL, t)),
        _ => None,
    });
    let accounts = s
        .service_accounts
        .values
        .iter()
        .map(|a| plain(&a.namespace).then(|| key(TAG_NAMESPACE, &a.namespace)));
    let namespaces =
        s.namespaces.values.iter().map(|n| {
            (plain(&n.glob) && !n.glob.contains('*')).then(|| key(TAG_NAMESPACE, &n.glob))
        });
    let domains = s
        .trust_domains
        .values
        .iter()
        .map(|d| match StringPattern::parse(&d.value) {
            StringPattern::Exact(td) if plain(&td) => Some(key(TAG_TRUST_DOMAIN, &td)),
            _ => None,
        });
    let all = |keys: Option<Vec<(u8, u64)>>| keys.filter(|k| !k.is_empty());
    all(principals.collect())
        .or_else(|| all(accounts.collect()))
        .or_else(|| all(namespaces.collect()))
        .or_else(|| all(domains.collect()))
        .map(Vec::into_boxed_slice)
}

/// The nine methods with a bit each; others fall back to string patterns.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The bit of a standard method (0 when the method is not one of [`METHODS`]).
pub(crate) fn method_bit(method: &str) -> u16 {
    METHODS
        .iter()
        .position(|m| *m == method)
        .map_or(0, |i| 1 << i)
}

/// Methods: a bitset when every value is an exact standard method, else the patterns.
#[derive(Debug, Clone)]
enum MethodMatcher {
    Bits { values: u16, not_values: u16 },
    Patterns(Field<StringPattern>),
}

impl MethodMatcher {
    fn compile(field: &Field<StringPattern>) -> Self {
        let bits = |values: &[StringPattern]| -> Option<u16> {
            values.iter().try_fold(0u16, |acc, p| match p {
                StringPattern::Exact(m) if method_bit(m) != 0 => Some(acc | method_bit(m)),
                _ => None,
            })
        };
        match (bits(&field.values), bits(&field.not_values)) {
            (Some(values), Some(not_values)) => MethodMatcher::Bits { values, not_values },
            _ => MethodMatcher::Patterns(field.clone()),
        }
    }

    /// The standard methods (bits) this matcher can accept: every bit when it reads
    /// patterns.
    fn accepts(&self) -> u16 {
        match self {
            MethodMatcher::Bits { values, not_values } => {
                let values = if *values == 0 { u16::MAX } else { *values };
                values & !not_values
            }
            MethodMatcher::Patterns(_) => u16::MAX,
        }
    }

    fn holds(&self, req: &Digest) -> bool {
        match self {
            MethodMatcher::Bits { values, not_values } => match req.method() {
                // A non-standard method has no bit: it matches no exact standard value.
                Some(_) => {
                    (*values == 0 || values & req.method_bit != 0)
                        && not_values & req.method_bit == 0
                }
                None => *values == 0,
            },
            MethodMatcher::Patterns(field) => str_holds(field, req.method()),
        }
    }
}

/// One set field of a compiled `to[].operation`.
#[derive(Debug, Clone)]
enum OperationCheck {
    Hosts(Field<StringPattern>),
    Ports(Field<u16>),
    Methods(MethodMatcher),
    Paths(Field<PathPattern>),
}

/// A compiled `to[].operation`: the AND of its set fields.
#[derive(Debug, Clone)]
pub(crate) struct COperation {
    checks: Box<[OperationCheck]>,
}

impl COperation {
    fn compile(o: &Operation) -> Self {
        let mut checks = Vec::new();
        if o.hosts.is_set() {
            checks.push(OperationCheck::Hosts(map_field(
                &o.hosts,
                |h: &HostPattern| h.pattern.clone(),
            )));
        }
        if o.ports.is_set() {
            checks.push(OperationCheck::Ports(o.ports.clone()));
        }
        if o.methods.is_set() {
            checks.push(OperationCheck::Methods(MethodMatcher::compile(&o.methods)));
        }
        if o.paths.is_set() {
            checks.push(OperationCheck::Paths(o.paths.clone()));
        }
        COperation {
            checks: checks.into_boxed_slice(),
        }
    }

    /// The lower-cased positive host patterns (empty when `hosts` is not set).
    pub(crate) fn host_values(&self) -> &[StringPattern] {
        self.checks
            .iter()
            .find_map(|c| match c {
                OperationCheck::Hosts(f) => Some(f.values.as_slice()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The standard methods (bits) an HTTP request may carry to match (every bit when
    /// `methods` is not set or reads patterns).
    fn method_mask(&self) -> u16 {
        self.checks
            .iter()
            .find_map(|c| match c {
                OperationCheck::Methods(m) => Some(m.accepts()),
                _ => None,
            })
            .unwrap_or(u16::MAX)
    }

    /// What every path this operation accepts starts with (`None`: `paths` names no
    /// positive value).
    fn path_head(&self) -> Option<&[u8]> {
        self.checks.iter().find_map(|c| match c {
            OperationCheck::Paths(f) => list_head(&f.values),
            _ => None,
        })
    }

    fn matches(&self, req: &Digest, drop_http: bool) -> bool {
        self.checks.iter().all(|c| match c {
            OperationCheck::Hosts(f) => drop_http || str_holds(f, req.authority_lower()),
            OperationCheck::Ports(f) => {
                let port = req.port();
                f.holds(|p| *p == port)
            }
            OperationCheck::Methods(m) => drop_http || m.holds(req),
            OperationCheck::Paths(f) => {
                drop_http || {
                    let path = req.path();
                    f.holds(|p| path.is_some_and(|v| p.matches(v)))
                }
            }
        })
    }
}

/// A compiled `when` condition.
#[derive(Debug, Clone)]
enum CCondition {
    Header(String, Field<StringPattern>),
    SourceIp(Field<IpBlock>),
    RemoteIp(Field<IpBlock>),
    DestinationIp(Field<IpBlock>),
    Uri(Field<UriRegex>),
    Principal(Field<StringPattern>),
    AuthPrincipal(Field<StringPattern>),
    Audiences(Field<StringPattern>),
    Presenter(Field<StringPattern>),
    Claim(Vec<String>, Field<StringPattern>),
    DestinationPort(Field<u16>),
    Sni(Field<StringPattern>),
    Never(Field<StringPattern>),
}

impl CCondition {
    fn compile(c: &Condition, regexes: &RegexCache) -> (Self, bool) {
        let compiled = match c {
            Condition::RequestHeader { name, field } => {
                CCondition::Header(name.to_ascii_lowercase(), field.clone())
            }
            Condition::SourceIp(f) => CCondition::SourceIp(f.clone()),
            Condition::RemoteIp(f) => CCondition::RemoteIp(f.clone()),
            Condition::DestinationIp(f) => CCondition::DestinationIp(f.clone()),
            Condition::SourceNamespace(f) => {
                CCondition::Uri(map_field(f, |p| namespace_regex(p, regexes)))
            }
            Condition::SourcePrincipal(f) => CCondition::Principal(f.clone()),
            Condition::SourceServiceAccount(f) => {
                CCondition::Uri(map_field(f, |p| service_account_regex(p, regexes)))
            }
            Condition::SourceTrustDomain(f) => {
                CCondition::Uri(map_field(f, |p| trust_domain_regex(p, regexes)))
            }
            Condition::RequestAuthPrincipal(f) => CCondition::AuthPrincipal(f.clone()),
            Condition::RequestAuthAudiences(f) => CCondition::Audiences(f.clone()),
            Condition::RequestAuthPresenter(f) => CCondition::Presenter(f.clone()),
            Condition::RequestAuthClaim { path, field } => {
                CCondition::Claim(path.clone(), field.clone())
            }
            Condition::DestinationPort(f) => CCondition::DestinationPort(f.clone()),
            Condition::ConnectionSni(f) => CCondition::Sni(f.clone()),
            Condition::Experimental { field, .. } => CCondition::Never(field.clone()),
        };
        (compiled, c.is_http_only())
    }

    fn holds(&self, req: &Digest) -> bool {
        let jwt = req.jwt();
        match self {
            CCondition::Header(name, field) => {
                let value = req.headers().get(name.as_str());
                field.holds(|p| match value {
                    Some(_) if *p == StringPattern::Presence => true,
                    Some(v) => p.matches(v),
                    None => false,
                })
            }
            CCondition::SourceIp(f) => ip_holds(f, req.source_ip()),
            CCondition::RemoteIp(f) => ip_holds(f, req.remote_ip().or(req.source_ip())),
            CCondition::DestinationIp(f) => ip_holds(f, req.destination_ip()),
            CCondition::Uri(f) => uri_holds(f, req.peer_uri()),
            CCondition::Principal(f) => str_holds(f, req.peer_uri()),
            CCondition::AuthPrincipal(f) => str_holds(f, jwt.and_then(|j| j.principal.as_deref())),
            CCondition::Audiences(f) => {
                f.holds(|p| jwt.is_some_and(|j| j.audiences.iter().any(|a| p.matches(a))))
            }
            CCondition::Presenter(f) => str_holds(f, jwt.and_then(|j| j.presenter.as_deref())),
            CCondition::Claim(path, f) => {
                let value = jwt.and_then(|j| {
                    let (first, rest) = path.split_first()?;
                    rest.iter()
                        .try_fold(j.claims.get(first.as_str())?, |v, k| v.get(k.as_str()))
                });
                f.holds(|p| claim_matches(value, p))
            }
            CCondition::DestinationPort(f) => {
                let port = req.port();
                f.holds(|p| *p == port)
            }
            CCondition::Sni(f) => str_holds(f, req.sni()),
            CCondition::Never(f) => str_holds(f, None),
        }
    }
}

/// A claim value matches when it is a string that matches, a list with a matching string
/// element, or a number/boolean whose text matches.
fn claim_matches(value: Option<&serde_json::Value>, p: &StringPattern) -> bool {
    use std::fmt::Write;
    match value {
        Some(serde_json::Value::String(s)) => p.matches(s),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .any(|i| i.as_str().is_some_and(|s| p.matches(s))),
        Some(serde_json::Value::Bool(b)) => p.matches(if *b { "true" } else { "false" }),
        Some(serde_json::Value::Number(num)) => {
            // Numbers in claims are rare; rendering one may allocate.
            let mut text = String::new();
            let _ = write!(text, "{num}");
            p.matches(&text)
        }
        _ => false,
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct CRule {
    /// Index of the policy in the model.
    pub policy: u32,
    /// Index of the rule in the policy.
    pub index: u32,
    /// Sources, when `from` is written.
    pub from: Option<Vec<CSource>>,
    /// Operations, when `to` is written.
    pub to: Option<Vec<COperation>>,
    when: Vec<(CCondition, bool)>,
    /// Whether the rule uses attributes TCP traffic does not have.
    pub http_only: bool,
}

impl CRule {
    pub(crate) fn compile(
        policy: u32,
        index: u32,
        rule: &Rule,
        resolve: &dyn Fn(bool, &str) -> Vec<NamespaceSelector>,
        regexes: &RegexCache,
    ) -> Self {
        let http_only = rule.is_http_only();
        CRule {
            policy,
            index,
            from: rule.from.as_ref().map(|f| {
                f.iter()
                    .map(|s| CSource::compile(s, resolve, regexes))
                    .collect()
            }),
            to: rule
                .to
                .as_ref()
                .map(|t| t.iter().map(COperation::compile).collect()),
            when: rule
                .when
                .iter()
                .map(|c| CCondition::compile(c, regexes))
                .collect(),
            http_only,
        }
    }

    /// Whether some source of this rule reads the labels of the peer's service account.
    pub(crate) fn reads_account_labels(&self) -> bool {
        self.from
            .as_ref()
            .is_some_and(|f| f.iter().any(CSource::reads_account_labels))
    }

    /// The standard methods (bits) an HTTP request with a standard method must carry for
    /// this rule to match: the union over its operations (every bit without `to`). A
    /// necessary condition only, used to skip candidates before the full check.
    pub(crate) fn method_mask(&self) -> u16 {
        self.to.as_ref().map_or(u16::MAX, |ops| {
            ops.iter().fold(0, |acc, o| acc | o.method_mask())
        })
    }

    /// The bytes every path of an HTTP request this rule matches starts with: the common
    /// literal head of its operations' `paths` ([`PathHead::ANY`] when an operation leaves
    /// the path open). A necessary condition only, used to skip candidates.
    pub(crate) fn path_head(&self) -> PathHead {
        let Some(ops) = &self.to else {
            return PathHead::ANY;
        };
        let mut common: Option<&[u8]> = None;
        for op in ops {
            let Some(head) = op.path_head() else {
                return PathHead::ANY;
            };
            common = Some(common.map_or(head, |c| common_prefix(c, head)));
        }
        common.map_or(PathHead::ANY, PathHead::of)
    }

    /// Full check of the rule; `narrows` is true for ALLOW and CUSTOM (SEMANTICS §1.11).
    pub(crate) fn matches(&self, req: &Digest, narrows: bool) -> bool {
        let tcp = req.is_tcp;
        if tcp && narrows && self.http_only {
            return false;
        }
        if let Some(sources) = &self.from {
            if !sources.iter().any(|s| s.matches(req, tcp)) {
                return false;
            }
        }
        if let Some(ops) = &self.to {
            if !ops.iter().any(|o| o.matches(req, tcp)) {
                return false;
            }
        }
        self.when
            .iter()
            .all(|(c, http_only)| (tcp && *http_only) || c.holds(req))
    }
}

/// Labels subset check.
pub(crate) fn labels_subset(wanted: &Labels, have: &Labels) -> bool {
    wanted.iter().all(|(k, v)| have.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written identity matchers agree with the regexes they replace.
    #[test]
    fn literal_matchers_agree_with_their_regexes() {
        let uris = [
            "spiffe://cluster.local/ns/a/sa/b",
            "spiffe://cluster.local/ns/a/sa/b/extra",
            "spiffe://cluster.local/ns/a/sa/b/",
            "spiffe://cluster.local/ns/a/x/sa/b",
            "spiffe://cluster.local/ns/a//sa/b",
            "spiffe://cluster.local/ns/a/xsa/b",
            "spiffe://cluster.local/ns/a/sa/bb",
            "spiffe:///ns/a/sa/b",
            "spiffe://x/ns/a/ns/a/sa/b",
            "spiffe://td/ns/ns/a/sa/b",
            "spiffe://td/ns/a/sa/b/sa/b",
            "spiffe://td/ns/a/sa/sa/b",
            "spiffe://td/ns/a/\nsa/b",
            "spiffe://td/ns/a/q/\nsa/b",
            "spiffe://cluster.local/ns/ab/sa/b",
            "spiffe://other/ns/a/sa/b",
            "cluster.local/ns/a/sa/b",
            "spiffe://cluster.local/",
            "spiffe://cluster.localx/ns/a/",
            "",
        ];
        let cache = RegexCache::default();
        let regex = |pattern: &str| UriRegex::Regex(build_regex(pattern));
        for (ns, sa) in [("a", "b"), ("ns", "a"), ("a", "sa/b"), ("a.b", "c+d")] {
            let fast = service_account_regex(
                &ServiceAccountRef {
                    namespace: ns.into(),
                    name: sa.into(),
                },
                &cache,
            );
            assert!(matches!(fast, UriRegex::ServiceAccount { .. }));
            let slow = regex(&format!(
                "^(?s:spiffe://.+/ns/{}/(.+/|)sa/{}(/.+)?)$",
                regex::escape(ns),
                regex::escape(sa)
            ));
            for uri in uris {
                assert_eq!(fast.matches(uri), slow.matches(uri), "{ns}/{sa} on {uri}");
            }
        }
        for glob in ["a", "ns", "", "a.b"] {
            let fast = namespace_regex(&NamespacePattern { glob: glob.into() }, &cache);
            assert!(matches!(fast, UriRegex::Contains(_)));
            let slow = regex(&format!("^(?s:.*/ns/{}/.*)$", regex::escape(glob)));
            for uri in uris {
                assert_eq!(fast.matches(uri), slow.matches(uri), "ns {glob} on {uri}");
            }
        }
        for td in ["cluster.local", "other", "td"] {
            let fast = trust_domain_regex(&TrustDomainPattern { value: td.into() }, &cache);
            assert!(matches!(fast, UriRegex::StartsWith(_)));
            let slow = regex(&format!("^(?s:spiffe://{}/.*)$", regex::escape(td)));
            for uri in uris {
                assert_eq!(fast.matches(uri), slow.matches(uri), "td {td} on {uri}");
            }
        }
    }
}
