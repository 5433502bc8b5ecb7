//! A failed rule in the user's terms: the path of the failing field in the file the user
//! wrote (through the rule's [`crate::model::Origin`]), where it is, the value the request
//! had and what the rule wanted (`method POST not in [GET, HEAD]`).

use crate::model::{Condition, Field, Labels, Model, Policy, Rule, Source, StringPattern};
use crate::request::Normalized;

use super::explain::{claim_values, source_account_labels, FieldMiss, Miss};

/// The request's value and the rule's wanted values for a failed rule.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// The request's value; `None` when the request does not carry it.
    pub(super) got: Option<String>,
    /// The values the rule wanted (or, for a `notX` field, the values that excluded it).
    pub(super) wanted: Vec<String>,
    /// The mismatch in words.
    pub(super) mismatch: Option<String>,
}

/// The failing field's path in the user's file and its `file:line:column` (the rule's own
/// location when the source texts were not kept).
pub(super) fn user_field(
    policy: &Policy,
    rule: &Rule,
    miss: &Miss,
    model: &Model,
) -> (Option<String>, Option<String>) {
    let model_path = miss.model_path();
    let Some(origin) = rule.origin.get() else {
        return (None, rule.location.as_ref().map(ToString::to_string));
    };
    let path = if model_path.is_empty() {
        origin.rule.clone()
    } else {
        origin.user_path(&model_path)
    };
    let file = rule.location.as_ref().map(|l| l.file.as_str());
    let location = model
        .sources
        .locate_in(&policy.id, &path, file)
        .or_else(|| rule.location.clone())
        .map(|l| l.to_string());
    (Some(path), location)
}

/// Shows SPIFFE identities without their scheme, as users write them.
fn bare(uri: &str) -> String {
    uri.strip_prefix("spiffe://").unwrap_or(uri).to_string()
}

fn shown<P>(field: &Field<P>, negated: bool, show: impl Fn(&P) -> String) -> Vec<String> {
    let list = if negated {
        &field.not_values
    } else {
        &field.values
    };
    list.iter().map(show).collect()
}

/// The detail of an IP-block condition: the request's address and the blocks it missed.
fn ip_detail<P: ToString>(
    label: &str,
    ip: Option<std::net::IpAddr>,
    field: &Field<P>,
    negated: bool,
) -> (String, &'static str, Option<String>, Vec<String>) {
    (
        label.to_string(),
        "not in",
        ip.map(|ip| ip.to_string()),
        shown(field, negated, ToString::to_string),
    )
}

/// The segment after `key` in a SPIFFE URI (`ns`, `sa`).
fn uri_part(uri: &str, key: &str) -> Option<String> {
    let segments: Vec<&str> = uri.split('/').collect();
    segments
        .windows(2)
        .find(|w| w.first() == Some(&key))
        .and_then(|w| w.get(1))
        .map(|s| s.to_string())
}

fn labels_text(labels: &Labels) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// What a field compares and how a value is shown in a sentence.
struct Attribute {
    /// `method`, `source`, `header x-team`.
    name: String,
    /// `does not match` for patterns, `not in` for sets.
    verb: &'static str,
    got: Option<String>,
    wanted: Vec<String>,
    /// The field as written (`notMethods`), for negated sentences.
    written: String,
    negated: bool,
}

impl Attribute {
    fn sentence(&self) -> String {
        let list = format!("[{}]", self.wanted.join(", "));
        match (&self.got, self.negated) {
            (Some(got), true) => format!("{} {got} is in {} {list}", self.name, self.written),
            (Some(got), false) => format!("{} {got} {} {list}", self.name, self.verb),
            (None, _) if self.wanted == ["*"] => {
                format!("{} absent (wanted: present)", self.name)
            }
            (None, _) => format!("{} absent (wanted: {list})", self.name),
        }
    }

    fn found(self) -> Found {
        Found {
            mismatch: Some(self.sentence()),
            got: self.got,
            wanted: self.wanted,
        }
    }
}

/// The request's value and the wanted values of the field `miss` names.
pub(super) fn describe(miss: &Miss, rule: &Rule, req: &Normalized, model: &Model) -> Found {
    match miss {
        Miss::HttpOnly => Found::default(),
        Miss::From(misses) => misses
            .first()
            .and_then(|(i, m)| {
                let source = rule.from.as_ref()?.get(*i)?;
                Some(source_attribute(source, *m, req, model).found())
            })
            .unwrap_or_default(),
        Miss::To(misses) => misses
            .first()
            .and_then(|(i, m)| {
                let operation = rule.to.as_ref()?.get(*i)?;
                let n = m.negated;
                let (name, verb, got, wanted) = match m.field {
                    "hosts" => (
                        "host",
                        "does not match",
                        req.authority.as_deref().map(str::to_string),
                        shown(&operation.hosts, n, |h| h.raw.clone()),
                    ),
                    "ports" => (
                        "port",
                        "not in",
                        Some(req.port.to_string()),
                        shown(&operation.ports, n, u16::to_string),
                    ),
                    "methods" => (
                        "method",
                        "not in",
                        req.method.as_deref().map(str::to_string),
                        shown(&operation.methods, n, ToString::to_string),
                    ),
                    _ => (
                        "path",
                        "does not match",
                        req.path.as_deref().map(str::to_string),
                        shown(&operation.paths, n, ToString::to_string),
                    ),
                };
                Some(
                    Attribute {
                        name: name.to_string(),
                        verb,
                        got,
                        wanted,
                        written: m.written(),
                        negated: n,
                    }
                    .found(),
                )
            })
            .unwrap_or_default(),
        Miss::When { index, negated } => rule
            .when
            .get(*index)
            .map(|c| condition_attribute(c, *negated, req).found())
            .unwrap_or_default(),
    }
}

fn source_attribute(source: &Source, m: FieldMiss, req: &Normalized, model: &Model) -> Attribute {
    let n = m.negated;
    let uri = req.peer_uri.as_deref();
    let namespace_and_cluster = || {
        req.namespace.as_ref().map(|ns| match &req.cluster {
            Some(cluster) => format!("{cluster}/{ns}"),
            None => ns.to_string(),
        })
    };
    let (name, verb, got, wanted) = match m.field {
        "principals" => (
            "source",
            "not in",
            uri.map(bare),
            shown(&source.principals, n, |p| bare(&p.to_string())),
        ),
        "namespaces" => (
            "source namespace",
            "not in",
            uri.and_then(|u| uri_part(u, "ns")),
            shown(&source.namespaces, n, |p| p.glob.clone()),
        ),
        "serviceAccounts" => (
            "source service account",
            "not in",
            uri.and_then(|u| Some(format!("{}/{}", uri_part(u, "ns")?, uri_part(u, "sa")?))),
            shown(&source.service_accounts, n, |sa| {
                format!("{}/{}", sa.namespace, sa.name)
            }),
        ),
        "trustDomains" => (
            "source trust domain",
            "not in",
            uri.and_then(|u| bare(u).split('/').next().map(str::to_string)),
            shown(&source.trust_domains, n, |t| t.value.clone()),
        ),
        "requestPrincipals" => (
            "request principal",
            "not in",
            req.jwt.as_ref().and_then(|j| j.principal.clone()),
            shown(&source.request_principals, n, ToString::to_string),
        ),
        "ipBlocks" => (
            "source IP",
            "not in",
            req.source_ip.map(|ip| ip.to_string()),
            shown(&source.ip_blocks, n, ToString::to_string),
        ),
        "remoteIpBlocks" => (
            "remote IP",
            "not in",
            req.remote_ip.or(req.source_ip).map(|ip| ip.to_string()),
            shown(&source.remote_ip_blocks, n, ToString::to_string),
        ),
        "workspaces" => (
            "source namespace",
            "is in none of the workspaces",
            namespace_and_cluster(),
            shown(&source.workspaces, n, Clone::clone),
        ),
        "groups" => (
            "source namespace",
            "is in none of the groups",
            namespace_and_cluster(),
            shown(&source.groups, n, Clone::clone),
        ),
        _ => (
            "service account labels",
            "do not include",
            source_account_labels(model, req).map(labels_text),
            shown(&source.service_account_labels, n, labels_text),
        ),
    };
    // Without an mTLS identity there is no source to compare.
    let name = match (&got, m.field) {
        (None, "principals" | "namespaces" | "serviceAccounts" | "trustDomains") => "mTLS identity",
        _ => name,
    };
    Attribute {
        name: name.to_string(),
        verb,
        got,
        wanted,
        written: m.written(),
        negated: n,
    }
}

fn condition_attribute(condition: &Condition, negated: bool, req: &Normalized) -> Attribute {
    let uri = req.peer_uri.as_deref();
    let strings = |f: &Field<StringPattern>| shown(f, negated, ToString::to_string);
    let list = |values: &[String]| match values {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(format!("[{}]", many.join(", "))),
    };
    let (name, verb, got, wanted) = match condition {
        Condition::RequestHeader { name, field } => (
            format!("header {name}"),
            "does not match",
            req.headers.get(name).map(str::to_string),
            strings(field),
        ),
        Condition::SourceIp(f) => ip_detail("source IP", req.source_ip, f, negated),
        Condition::RemoteIp(f) => {
            ip_detail("remote IP", req.remote_ip.or(req.source_ip), f, negated)
        }
        Condition::DestinationIp(f) => ip_detail("destination IP", req.destination_ip, f, negated),
        Condition::SourceNamespace(f) => (
            "source namespace".into(),
            "not in",
            uri.and_then(|u| uri_part(u, "ns")),
            shown(f, negated, |p| p.glob.clone()),
        ),
        Condition::SourcePrincipal(f) => (
            "source".into(),
            "not in",
            uri.map(bare),
            shown(f, negated, |p| bare(&p.to_string())),
        ),
        Condition::SourceServiceAccount(f) => (
            "source service account".into(),
            "not in",
            uri.and_then(|u| Some(format!("{}/{}", uri_part(u, "ns")?, uri_part(u, "sa")?))),
            shown(f, negated, |sa| format!("{}/{}", sa.namespace, sa.name)),
        ),
        Condition::SourceTrustDomain(f) => (
            "source trust domain".into(),
            "not in",
            uri.and_then(|u| bare(u).split('/').next().map(str::to_string)),
            shown(f, negated, |t| t.value.clone()),
        ),
        Condition::RequestAuthPrincipal(f) => (
            "request principal".into(),
            "not in",
            req.jwt.as_ref().and_then(|j| j.principal.clone()),
            strings(f),
        ),
        Condition::RequestAuthAudiences(f) => (
            "JWT audiences".into(),
            "not in",
            req.jwt.as_ref().and_then(|j| list(&j.audiences)),
            strings(f),
        ),
        Condition::RequestAuthPresenter(f) => (
            "JWT presenter".into(),
            "not in",
            req.jwt.as_ref().and_then(|j| j.presenter.clone()),
            strings(f),
        ),
        Condition::RequestAuthClaim { path, field } => (
            format!("JWT claim {}", path.join(".")),
            "not in",
            list(&claim_values(req, path)),
            strings(field),
        ),
        Condition::DestinationPort(f) => (
            "destination port".into(),
            "not in",
            Some(req.port.to_string()),
            shown(f, negated, u16::to_string),
        ),
        Condition::ConnectionSni(f) => (
            "SNI".into(),
            "does not match",
            req.sni.as_deref().map(str::to_string),
            strings(f),
        ),
        Condition::Experimental { key, field } => (key.clone(), "not in", None, strings(field)),
    };
    Attribute {
        name,
        verb,
        got,
        wanted,
        written: if negated { "notValues" } else { "values" }.to_string(),
        negated,
    }
}
