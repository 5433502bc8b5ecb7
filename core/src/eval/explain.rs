//! Why a rule matched or not (SEMANTICS.md §1.3–§1.11): the rule check of the reference
//! evaluator, which reports the first field that failed, and the per-rule verdicts of an
//! explanation in the user's terms (the field's path in the file the user wrote, its line,
//! the value the request had and what the rule wanted: [`super::detail`]).

use crate::decision::{PolicyVerdict, RuleVerdict};
use crate::model::{
    Action, Condition, Field, Labels, Model, Operation, Policy, Rule, Source, StringPattern,
};
use crate::request::{Normalized, Protocol};

use super::detail;

/// Which field of a source or operation failed, and whether its `notX` twin did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FieldMiss {
    /// The Istio name of the field (`principals`, `methods`, `serviceAccountSelector.labels`).
    pub(super) field: &'static str,
    /// Whether a negative value (`notMethods`) excluded the request.
    pub(super) negated: bool,
}

impl FieldMiss {
    /// The field's name as written: `methods` or `notMethods`.
    pub(super) fn written(self) -> String {
        if !self.negated {
            return self.field.to_string();
        }
        let mut chars = self.field.chars();
        match chars.next() {
            Some(first) => format!("not{}{}", first.to_ascii_uppercase(), chars.as_str()),
            None => "not".to_string(),
        }
    }
}

/// Why a rule did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Miss {
    /// An ALLOW or CUSTOM rule with HTTP-only attributes, skipped for TCP/TLS traffic.
    HttpOnly,
    /// No source matched: each source's first failing field, in order.
    From(Vec<(usize, FieldMiss)>),
    /// No operation matched: each operation's first failing field, in order.
    To(Vec<(usize, FieldMiss)>),
    /// Condition `index` does not hold (`negated`: one of its `notValues` matched).
    When {
        /// Index in `when`.
        index: usize,
        /// Whether a `notValues` entry matched.
        negated: bool,
    },
}

impl Miss {
    /// The failing field as a model path (`from[0].source.notPrincipals`,
    /// `when[1].values`): what [`crate::model::Origin`] maps to the user's path.
    pub(super) fn model_path(&self) -> String {
        match self {
            Miss::HttpOnly => String::new(),
            Miss::From(misses) => misses
                .first()
                .map(|(i, m)| format!("from[{i}].source.{}", m.written()))
                .unwrap_or_default(),
            Miss::To(misses) => misses
                .first()
                .map(|(i, m)| format!("to[{i}].operation.{}", m.written()))
                .unwrap_or_default(),
            Miss::When { index, negated } => format!(
                "when[{index}].{}",
                if *negated { "notValues" } else { "values" }
            ),
        }
    }
}

/// Evaluates one field: `Some(false)` when its values are set and none matched,
/// `Some(true)` when one of its negative values matched, `None` when it holds
/// (the same as [`Field::holds`]).
fn check<P>(field: &Field<P>, mut matches: impl FnMut(&P) -> bool) -> Option<bool> {
    if !field.values.is_empty() && !field.values.iter().any(&mut matches) {
        return Some(false);
    }
    field.not_values.iter().any(matches).then_some(true)
}

fn miss(field: &'static str, negated: Option<bool>) -> Option<FieldMiss> {
    negated.map(|negated| FieldMiss { field, negated })
}

/// The first rule of `policy` that matches, if any.
pub fn first_matching_rule(policy: &Policy, req: &Normalized, model: &Model) -> Option<usize> {
    policy
        .rules
        .iter()
        .position(|rule| rule_miss(policy, rule, req, model).is_none())
}

/// Why a rule did not match: the first failing field path and a note. `None` when it matches.
pub fn rule_failure(
    policy: &Policy,
    rule: &Rule,
    req: &Normalized,
    model: &Model,
) -> Option<(String, String)> {
    rule_miss(policy, rule, req, model).map(|m| failure_text(&m, rule))
}

/// The failing field (Istio's positive name, as `failed_field` always reported it) and the
/// note listing every alternative's failure.
fn failure_text(miss: &Miss, rule: &Rule) -> (String, String) {
    let list = |misses: &[(usize, FieldMiss)], part: &str| -> Vec<String> {
        misses
            .iter()
            .map(|(i, m)| format!("{part}[{i}].{}.{}", part_name(part), m.field))
            .collect()
    };
    match miss {
        Miss::HttpOnly => (
            "rule".to_string(),
            "uses HTTP-only attributes, so it is skipped for TCP/TLS traffic".to_string(),
        ),
        Miss::From(misses) => {
            let all = list(misses, "from");
            let first = all.first().cloned().unwrap_or_default();
            (first, format!("no source matched ({})", all.join(", ")))
        }
        Miss::To(misses) => {
            let all = list(misses, "to");
            let first = all.first().cloned().unwrap_or_default();
            (first, format!("no operation matched ({})", all.join(", ")))
        }
        Miss::When { index, .. } => (
            format!("when[{index}]"),
            format!(
                "condition on `{}` does not hold",
                rule.when
                    .get(*index)
                    .map(Condition::key)
                    .unwrap_or_default()
            ),
        ),
    }
}

fn part_name(part: &str) -> &'static str {
    if part == "from" {
        "source"
    } else {
        "operation"
    }
}

/// Why a rule did not match, field by field. `None` when it matches.
pub(super) fn rule_miss(
    policy: &Policy,
    rule: &Rule,
    req: &Normalized,
    model: &Model,
) -> Option<Miss> {
    let tcp = req.protocol != Protocol::Http;
    // §1.11: over TCP, an ALLOW (or CUSTOM) rule with HTTP-only attributes is skipped;
    // DENY and AUDIT rules lose just those constraints.
    let narrows = matches!(policy.action, Action::Allow | Action::Custom(_));
    if tcp && narrows && rule.is_http_only() {
        return Some(Miss::HttpOnly);
    }
    let drop_http = tcp;
    if let Some(sources) = &rule.from {
        let mut failures = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            match source_failure(source, req, model, drop_http) {
                None => {
                    failures.clear();
                    break;
                }
                Some(field) => failures.push((i, field)),
            }
        }
        if !failures.is_empty() {
            return Some(Miss::From(failures));
        }
    }
    if let Some(operations) = &rule.to {
        let mut failures = Vec::new();
        for (i, operation) in operations.iter().enumerate() {
            match operation_failure(operation, req, drop_http) {
                None => {
                    failures.clear();
                    break;
                }
                Some(field) => failures.push((i, field)),
            }
        }
        if !failures.is_empty() {
            return Some(Miss::To(failures));
        }
    }
    for (index, condition) in rule.when.iter().enumerate() {
        if drop_http && condition.is_http_only() {
            continue;
        }
        if let Some(negated) = condition_check(condition, req) {
            return Some(Miss::When { index, negated });
        }
    }
    None
}

fn string_check(field: &Field<StringPattern>, value: Option<&str>) -> Option<bool> {
    check(field, |p| value.is_some_and(|v| p.matches(v)))
}

fn source_failure(
    source: &Source,
    req: &Normalized,
    model: &Model,
    drop_http: bool,
) -> Option<FieldMiss> {
    let uri = req.peer_uri.as_deref();
    let by_uri = |matches: &dyn Fn(&str) -> bool| uri.is_some_and(matches);
    let found = miss("principals", string_check(&source.principals, uri))
        .or_else(|| {
            let c = check(&source.namespaces, |p| by_uri(&|u| p.matches_uri(u)));
            miss("namespaces", c)
        })
        .or_else(|| {
            let c = check(&source.service_accounts, |p| by_uri(&|u| p.matches_uri(u)));
            miss("serviceAccounts", c)
        })
        .or_else(|| {
            let c = check(&source.trust_domains, |p| by_uri(&|u| p.matches_uri(u)));
            miss("trustDomains", c)
        });
    if found.is_some() {
        return found;
    }
    if !drop_http {
        let principal = req.jwt.as_ref().and_then(|j| j.principal.as_deref());
        let c = string_check(&source.request_principals, principal);
        if c.is_some() {
            return miss("requestPrincipals", c);
        }
    }
    let remote = req.remote_ip.or(req.source_ip);
    let found = miss(
        "ipBlocks",
        check(&source.ip_blocks, |b| {
            req.source_ip.is_some_and(|ip| b.contains(ip))
        }),
    )
    .or_else(|| {
        let c = check(&source.remote_ip_blocks, |b| {
            remote.is_some_and(|ip| b.contains(ip))
        });
        miss("remoteIpBlocks", c)
    });
    if found.is_some() {
        return found;
    }
    let namespace = req.namespace.as_deref();
    let in_set = |sets: &[crate::model::NamespaceSet], name: &str| {
        namespace.is_some_and(|ns| {
            sets.iter().filter(|s| s.name == name).any(|s| {
                s.namespaces
                    .iter()
                    .any(|sel| sel.selects(req.cluster.as_deref(), ns))
            })
        })
    };
    let found = miss(
        "workspaces",
        check(&source.workspaces, |w| in_set(&model.workspaces, w)),
    )
    .or_else(|| {
        miss(
            "groups",
            check(&source.groups, |g| in_set(&model.groups, g)),
        )
    });
    if found.is_some() {
        return found;
    }
    if source.service_account_labels.is_set() {
        let labels = source_account_labels(model, req);
        let c = check(&source.service_account_labels, |wanted| {
            labels.is_some_and(|have| wanted.iter().all(|(k, v)| have.get(k) == Some(v)))
        });
        return miss("serviceAccountSelector.labels", c);
    }
    None
}

/// The labels of the source's service account: from a loaded ServiceAccount object when
/// there is one (the request cannot override those), else from `source.labels`. A source
/// without an mTLS identity has none.
pub(super) fn source_account_labels<'a>(
    model: &'a Model,
    req: &'a Normalized,
) -> Option<&'a Labels> {
    let (namespace, name) = (req.namespace.as_deref()?, req.service_account.as_deref()?);
    model
        .service_accounts
        .iter()
        .find(|sa| sa.namespace == namespace && sa.name == name)
        .map(|sa| &sa.labels)
        .or(Some(&req.source_labels))
}

fn operation_failure(
    operation: &Operation,
    req: &Normalized,
    drop_http: bool,
) -> Option<FieldMiss> {
    if !drop_http {
        let authority = req.authority.as_deref();
        let c = check(&operation.hosts, |p| {
            authority.is_some_and(|a| p.matches(a))
        });
        if c.is_some() {
            return miss("hosts", c);
        }
    }
    let c = check(&operation.ports, |p| *p == req.port);
    if c.is_some() {
        return miss("ports", c);
    }
    if !drop_http {
        let c = string_check(&operation.methods, req.method.as_deref());
        if c.is_some() {
            return miss("methods", c);
        }
        let path = req.path.as_deref();
        let c = check(&operation.paths, |p| path.is_some_and(|v| p.matches(v)));
        if c.is_some() {
            return miss("paths", c);
        }
    }
    None
}

/// The values of JWT claim `path` (nested keys), as strings.
pub(super) fn claim_values(req: &Normalized, path: &[String]) -> Vec<String> {
    let Some(jwt) = &req.jwt else {
        return Vec::new();
    };
    let Some((first, rest)) = path.split_first() else {
        return Vec::new();
    };
    let mut value = jwt.claims.get(first);
    for key in rest {
        value = value.and_then(|v| v.get(key));
    }
    match value {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::Bool(b)) => vec![b.to_string()],
        Some(serde_json::Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn any_of(field: &Field<StringPattern>, values: &[String]) -> Option<bool> {
    check(field, |p| values.iter().any(|v| p.matches(v)))
}

/// Whether a condition fails: `Some(negated)` as [`check`], `None` when it holds.
fn condition_check(condition: &Condition, req: &Normalized) -> Option<bool> {
    let uri = req.peer_uri.as_deref();
    match condition {
        Condition::RequestHeader { name, field } => {
            let value = req.headers.get(name);
            // `*` on headers means "present", even with an empty value (SEMANTICS §1.10).
            check(field, |p| match (p, value) {
                (StringPattern::Presence, Some(_)) => true,
                (_, Some(v)) => p.matches(v),
                (_, None) => false,
            })
        }
        Condition::SourceIp(field) => {
            check(field, |b| req.source_ip.is_some_and(|ip| b.contains(ip)))
        }
        Condition::RemoteIp(field) => {
            let remote = req.remote_ip.or(req.source_ip);
            check(field, |b| remote.is_some_and(|ip| b.contains(ip)))
        }
        Condition::DestinationIp(field) => check(field, |b| {
            req.destination_ip.is_some_and(|ip| b.contains(ip))
        }),
        Condition::SourceNamespace(field) => {
            check(field, |p| uri.is_some_and(|u| p.matches_uri(u)))
        }
        Condition::SourcePrincipal(field) => string_check(field, uri),
        Condition::SourceServiceAccount(field) => {
            check(field, |p| uri.is_some_and(|u| p.matches_uri(u)))
        }
        Condition::SourceTrustDomain(field) => {
            check(field, |p| uri.is_some_and(|u| p.matches_uri(u)))
        }
        Condition::RequestAuthPrincipal(field) => {
            string_check(field, req.jwt.as_ref().and_then(|j| j.principal.as_deref()))
        }
        Condition::RequestAuthAudiences(field) => any_of(
            field,
            req.jwt
                .as_ref()
                .map(|j| j.audiences.as_slice())
                .unwrap_or(&[]),
        ),
        Condition::RequestAuthPresenter(field) => {
            string_check(field, req.jwt.as_ref().and_then(|j| j.presenter.as_deref()))
        }
        Condition::RequestAuthClaim { path, field } => any_of(field, &claim_values(req, path)),
        Condition::DestinationPort(field) => check(field, |p| *p == req.port),
        Condition::ConnectionSni(field) => string_check(field, req.sni.as_deref()),
        // Dynamic metadata is never present in a simulated request.
        Condition::Experimental { field, .. } => string_check(field, None),
    }
}

/// How every rule of `policy` fared, in the user's terms.
pub(super) fn policy_verdict(policy: &Policy, req: &Normalized, model: &Model) -> PolicyVerdict {
    let rules: Vec<RuleVerdict> = policy
        .rules
        .iter()
        .enumerate()
        .map(|(index, rule)| match rule_miss(policy, rule, req, model) {
            None => RuleVerdict {
                index,
                matched: true,
                failed_field: None,
                note: None,
                field: None,
                location: None,
                got: None,
                wanted: Vec::new(),
                mismatch: None,
            },
            Some(miss) => {
                let (failed_field, note) = failure_text(&miss, rule);
                let found = detail::describe(&miss, rule, req, model);
                let (field, location) = detail::user_field(policy, rule, &miss, model);
                RuleVerdict {
                    index,
                    matched: false,
                    failed_field: Some(failed_field),
                    note: Some(note),
                    field,
                    location,
                    got: found.got,
                    wanted: found.wanted,
                    mismatch: found.mismatch,
                }
            }
        })
        .collect();
    PolicyVerdict {
        policy: policy.id.clone(),
        action: policy.action.as_str().to_string(),
        dry_run: policy.dry_run,
        matched: rules.iter().any(|r| r.matched),
        rules,
        location: policy.location.to_string(),
    }
}
