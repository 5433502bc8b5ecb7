//! Pattern logic: host keys for the overlap index, contradictions between conditions,
//! and subsumption (does every request matching one rule match another? sound, not
//! complete).

use crate::model::{
    glob_match, Condition, ExternalService, Field, IpBlock, Labels, NamespacePattern, Operation,
    PathPattern, Rule, ServiceAccountRef, Source, StringPattern, TrustDomainPattern,
};

/// How a rule constrains hosts, for the overlap index.
pub(super) enum HostKey {
    /// An exact host value (lower-cased).
    Exact(String),
    /// A suffix host value (`*.example.com` → `.example.com`).
    Suffix(String),
}

/// The exact and suffix host values of a rule whose every operation lists only such values;
/// `None` when the rule may match hosts in another way.
pub(super) fn host_keys(rule: &Rule) -> Option<Vec<HostKey>> {
    let ops = rule.to.as_ref()?;
    let mut out = Vec::new();
    for op in ops {
        if op.hosts.values.is_empty() {
            return None;
        }
        for host in &op.hosts.values {
            match &host.pattern {
                StringPattern::Exact(t) => out.push(HostKey::Exact(t.clone())),
                StringPattern::Suffix(t) => out.push(HostKey::Suffix(t.clone())),
                _ => return None,
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The lower-cased exact hosts a rule is limited to, when every operation lists only exact
/// hosts; `None` when the rule may match other hosts.
pub(super) fn exact_hosts(rule: &Rule) -> Option<Vec<String>> {
    let ops = rule.to.as_ref()?;
    let mut out = Vec::new();
    for op in ops {
        if op.hosts.values.is_empty() {
            return None;
        }
        for host in &op.hosts.values {
            match &host.pattern {
                StringPattern::Exact(t) => out.push(t.clone()),
                _ => return None,
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

pub(super) fn labels_yaml(labels: &Labels) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    parts.join(", ")
}

/// The first registered port whose client-side traffic is not HTTP: `(port, protocol,
/// is_tls)`.
pub(super) fn opaque_port(service: &ExternalService) -> Option<(u16, String, bool)> {
    if service.gateway_port.is_some() && service.tls.is_some() {
        // Gloo: clients send plain HTTP to the gateway, which originates TLS.
        return None;
    }
    service.ports.iter().find_map(|p| {
        let protocol = p.protocol.as_str().to_ascii_uppercase();
        match protocol.as_str() {
            "HTTP" | "HTTP2" | "GRPC" | "GRPC-WEB" => None,
            "HTTPS" | "TLS" => Some((p.number, protocol, true)),
            _ => Some((p.number, protocol, false)),
        }
    })
}

/// Whether some host matched by the policy `hosts` pattern is matched by the registry host.
pub(super) fn overlaps(pattern: &StringPattern, registry: &str) -> bool {
    let registry = registry.to_ascii_lowercase();
    let host_part = |t: &str| -> String {
        match t.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() || p.is_empty() => h.to_string(),
            _ => t.to_string(),
        }
    };
    match pattern {
        StringPattern::Presence => true,
        StringPattern::Exact(t) => crate::model::registry_host_matches(&registry, &host_part(t)),
        StringPattern::Prefix(p) => {
            if p.contains(':') {
                crate::model::registry_host_matches(&registry, &host_part(p))
            } else {
                match registry.strip_prefix('*') {
                    Some(_) => true,
                    None => registry.starts_with(p.as_str()),
                }
            }
        }
        StringPattern::Suffix(s) => {
            let s = host_part(s);
            match registry.strip_prefix('*') {
                Some(r) => r.ends_with(&s) || s.ends_with(r),
                None => registry.ends_with(&s),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Contradictions

pub(super) fn exact_values(field: &Field<StringPattern>) -> Option<Vec<&str>> {
    if field.values.is_empty() {
        return None;
    }
    field
        .values
        .iter()
        .map(|p| match p {
            StringPattern::Exact(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Exact values all excluded by the field's own negative values.
pub(super) fn self_excluded(field: &Field<StringPattern>, name: &str) -> Option<String> {
    let values = exact_values(field)?;
    values
        .iter()
        .all(|v| field.not_values.iter().any(|n| n.matches(v)))
        .then(|| {
            format!(
                "every `{name}` value is also excluded by `not{}`",
                capitalize(name)
            )
        })
}

pub(super) fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

pub(super) fn condition_contradiction(condition: &Condition) -> Option<String> {
    let key = condition.key();
    match condition {
        Condition::DestinationPort(f) => (!f.values.is_empty()
            && f.values.iter().all(|v| f.not_values.contains(v)))
        .then(|| format!("every `{key}` value is also in its `notValues`")),
        Condition::RequestHeader { field, .. }
        | Condition::SourcePrincipal(field)
        | Condition::RequestAuthPrincipal(field)
        | Condition::RequestAuthAudiences(field)
        | Condition::RequestAuthPresenter(field)
        | Condition::RequestAuthClaim { field, .. }
        | Condition::ConnectionSni(field)
        | Condition::Experimental { field, .. } => {
            let values = exact_values(field)?;
            values
                .iter()
                .all(|v| field.not_values.iter().any(|n| n.matches(v)))
                .then(|| format!("every `{key}` value is also in its `notValues`"))
        }
        _ => None,
    }
}

/// Why no identity can satisfy this source (with the rule's identity conditions).
pub(super) fn source_contradiction(source: &Source, when: &[Condition]) -> Option<String> {
    if let Some(reason) = self_excluded(&source.principals, "principals") {
        return Some(reason);
    }
    if source
        .principals
        .not_values
        .contains(&StringPattern::Presence)
    {
        let needs_identity = !source.principals.values.is_empty()
            || !source.namespaces.values.is_empty()
            || !source.service_accounts.values.is_empty()
            || !source.trust_domains.values.is_empty();
        if needs_identity {
            return Some(
                "`notPrincipals: [\"*\"]` admits only plaintext requests, which have no identity to match the other source fields"
                    .to_string(),
            );
        }
    }
    // Exact principals: check each against the other identity fields.
    let uris = exact_values(&source.principals)?;
    let ok = |uri: &str| -> bool {
        let in_field = |f: &Field<NamespacePattern>| f.holds(|p| p.matches_uri(uri));
        let sa = |f: &Field<ServiceAccountRef>| f.holds(|p| p.matches_uri(uri));
        let td = |f: &Field<TrustDomainPattern>| f.holds(|p| p.matches_uri(uri));
        !source.principals.not_values.iter().any(|n| n.matches(uri))
            && in_field(&source.namespaces)
            && sa(&source.service_accounts)
            && td(&source.trust_domains)
            && when.iter().all(|c| match c {
                Condition::SourcePrincipal(f) => f.holds(|p| p.matches(uri)),
                Condition::SourceNamespace(f) => in_field(f),
                Condition::SourceServiceAccount(f) => sa(f),
                Condition::SourceTrustDomain(f) => td(f),
                _ => true,
            })
    };
    if uris.iter().any(|u| ok(u)) {
        return None;
    }
    let shown: Vec<String> = uris
        .iter()
        .map(|u| format!("`{}`", u.strip_prefix("spiffe://").unwrap_or(u)))
        .collect();
    let mut others: Vec<&str> = Vec::new();
    if source.namespaces.is_set() {
        others.push("namespaces");
    }
    if source.service_accounts.is_set() {
        others.push("serviceAccounts");
    }
    if source.trust_domains.is_set() {
        others.push("trustDomains");
    }
    if when.iter().any(|c| {
        matches!(
            c,
            Condition::SourcePrincipal(_)
                | Condition::SourceNamespace(_)
                | Condition::SourceServiceAccount(_)
                | Condition::SourceTrustDomain(_)
        )
    }) {
        others.push("the `source.*` conditions");
    }
    if others.is_empty() {
        others.push("notPrincipals");
    }
    Some(format!(
        "principal{} {} cannot satisfy {}",
        if shown.len() == 1 { "" } else { "s" },
        shown.join(", "),
        others.join(" and ")
    ))
}

pub(super) fn operation_contradiction(op: &Operation, when: &[Condition]) -> Option<String> {
    if let Some(reason) = self_excluded(&op.methods, "methods") {
        return Some(reason);
    }
    let hosts = &op.hosts;
    if !hosts.values.is_empty()
        && hosts.values.iter().all(|h| match &h.pattern {
            StringPattern::Exact(t) => hosts.not_values.iter().any(|n| n.matches(t)),
            _ => false,
        })
    {
        return Some("every `hosts` value is also excluded by `notHosts`".to_string());
    }
    let paths = &op.paths;
    if !paths.values.is_empty()
        && paths.values.iter().all(|p| match p {
            PathPattern::String {
                pattern: StringPattern::Exact(t),
            } => paths.not_values.iter().any(|n| n.matches(t)),
            _ => false,
        })
    {
        return Some("every `paths` value is also excluded by `notPaths`".to_string());
    }
    let ports = &op.ports;
    if !ports.values.is_empty() && ports.values.iter().all(|p| ports.not_values.contains(p)) {
        return Some("every `ports` value is also in `notPorts`".to_string());
    }
    for c in when {
        if let Condition::DestinationPort(f) = c {
            if !ports.values.is_empty()
                && !f.values.is_empty()
                && !ports.values.iter().any(|p| f.values.contains(p))
            {
                return Some(
                    "`ports` and the `destination.port` condition share no port".to_string(),
                );
            }
        }
    }
    None
}

// ------------------------------------------------------------------------------------------
// Subsumption: does every request matching `inner` match `outer`? (Sound, not complete.)

pub(super) fn subsumes(outer: &Rule, inner: &Rule) -> bool {
    let from = match (&outer.from, &inner.from) {
        (None, _) => true,
        (Some(os), None) => os.iter().any(source_is_any),
        (Some(os), Some(is)) => is.iter().all(|i| os.iter().any(|o| source_subsumes(o, i))),
    };
    let to = match (&outer.to, &inner.to) {
        (None, _) => true,
        (Some(os), None) => os.iter().any(|o| *o == Operation::default()),
        (Some(os), Some(is)) => is
            .iter()
            .all(|i| os.iter().any(|o| operation_subsumes(o, i))),
    };
    from && to
        && outer
            .when
            .iter()
            .all(|oc| inner.when.iter().any(|ic| condition_subsumes(oc, ic)))
}

pub(super) fn source_is_any(s: &Source) -> bool {
    *s == Source::default()
}

pub(super) fn string_covers(outer: &StringPattern, inner: &StringPattern) -> bool {
    use StringPattern::{Exact, Prefix, Presence, Suffix};
    match (outer, inner) {
        (Presence, _) => true,
        (Exact(a), Exact(b)) => a == b,
        (Prefix(a), Exact(b) | Prefix(b)) => b.starts_with(a.as_str()),
        (Suffix(a), Exact(b) | Suffix(b)) => b.ends_with(a.as_str()),
        _ => false,
    }
}

pub(super) fn string_disjoint(negative: &StringPattern, inner: &StringPattern) -> bool {
    match inner {
        StringPattern::Exact(t) => !negative.matches(t),
        _ => false,
    }
}

/// Every value admitted by `inner` is admitted by `outer` (field by field).
pub(super) fn field_subsumes<P>(
    outer: &Field<P>,
    inner: &Field<P>,
    covers: impl Fn(&P, &P) -> bool,
    disjoint: impl Fn(&P, &P) -> bool,
) -> bool {
    if !outer.is_set() {
        return true;
    }
    let positive = outer.values.is_empty()
        || (!inner.values.is_empty()
            && inner
                .values
                .iter()
                .all(|iv| outer.values.iter().any(|ov| covers(ov, iv))));
    let negative = outer.not_values.iter().all(|on| {
        inner.not_values.iter().any(|inn| covers(inn, on))
            || (!inner.values.is_empty() && inner.values.iter().all(|iv| disjoint(on, iv)))
    });
    positive && negative
}

pub(super) fn strings(outer: &Field<StringPattern>, inner: &Field<StringPattern>) -> bool {
    field_subsumes(outer, inner, string_covers, string_disjoint)
}

pub(super) fn equal<P: PartialEq>(outer: &Field<P>, inner: &Field<P>) -> bool {
    field_subsumes(outer, inner, |a, b| a == b, |a, b| a != b)
}

pub(super) fn source_subsumes(o: &Source, i: &Source) -> bool {
    let uris = exact_values(&i.principals).filter(|_| i.principals.not_values.is_empty());
    let via_uris =
        |check: &dyn Fn(&str) -> bool| uris.as_ref().is_some_and(|u| u.iter().all(|u| check(u)));
    let namespaces = field_subsumes(
        &o.namespaces,
        &i.namespaces,
        |a, b| {
            a.glob == "*"
                || a.glob == b.glob
                || (!b.glob.contains('*') && glob_match(&a.glob, &b.glob))
        },
        |_, _| false,
    ) || via_uris(&|u| o.namespaces.holds(|p| p.matches_uri(u)));
    let accounts = equal(&o.service_accounts, &i.service_accounts)
        || via_uris(&|u| o.service_accounts.holds(|p| p.matches_uri(u)));
    let domains = field_subsumes(
        &o.trust_domains,
        &i.trust_domains,
        |a, b| a.value == "*" || a.value == b.value,
        |_, _| false,
    ) || via_uris(&|u| o.trust_domains.holds(|p| p.matches_uri(u)));
    let principals = strings(&o.principals, &i.principals)
        || via_uris(&|u| o.principals.holds(|p| p.matches(u)));
    principals
        && namespaces
        && accounts
        && domains
        && strings(&o.request_principals, &i.request_principals)
        && field_subsumes(&o.ip_blocks, &i.ip_blocks, ip_covers, |_, _| false)
        && field_subsumes(
            &o.remote_ip_blocks,
            &i.remote_ip_blocks,
            ip_covers,
            |_, _| false,
        )
        && equal(&o.workspaces, &i.workspaces)
        && equal(&o.groups, &i.groups)
        && field_subsumes(
            &o.service_account_labels,
            &i.service_account_labels,
            |a, b| a.iter().all(|(k, v)| b.get(k) == Some(v)),
            |_, _| false,
        )
}

pub(super) fn ip_covers(outer: &IpBlock, inner: &IpBlock) -> bool {
    outer.prefix <= inner.prefix && outer.contains(inner.addr)
}

pub(super) fn operation_subsumes(o: &Operation, i: &Operation) -> bool {
    field_subsumes(
        &o.hosts,
        &i.hosts,
        |a, b| string_covers(&a.pattern, &b.pattern),
        |a, b| string_disjoint(&a.pattern, &b.pattern),
    ) && equal(&o.ports, &i.ports)
        && strings(&o.methods, &i.methods)
        && field_subsumes(&o.paths, &i.paths, path_covers, path_disjoint)
}

pub(super) fn path_covers(outer: &PathPattern, inner: &PathPattern) -> bool {
    match (outer, inner) {
        (PathPattern::String { pattern: a }, PathPattern::String { pattern: b }) => {
            string_covers(a, b)
        }
        (
            PathPattern::Template { .. },
            PathPattern::String {
                pattern: StringPattern::Exact(t),
            },
        ) => outer.matches(t),
        (
            PathPattern::String {
                pattern: StringPattern::Presence,
            },
            _,
        ) => true,
        (a, b) => a == b,
    }
}

pub(super) fn path_disjoint(negative: &PathPattern, inner: &PathPattern) -> bool {
    match inner {
        PathPattern::String {
            pattern: StringPattern::Exact(t),
        } => !negative.matches(t),
        _ => false,
    }
}

pub(super) fn condition_subsumes(outer: &Condition, inner: &Condition) -> bool {
    use Condition as C;
    match (outer, inner) {
        (C::RequestHeader { name: a, field: f }, C::RequestHeader { name: b, field: g }) => {
            a == b && strings(f, g)
        }
        (C::RequestAuthClaim { path: a, field: f }, C::RequestAuthClaim { path: b, field: g }) => {
            a == b && strings(f, g)
        }
        (C::Experimental { key: a, field: f }, C::Experimental { key: b, field: g }) => {
            a == b && strings(f, g)
        }
        (C::SourcePrincipal(f), C::SourcePrincipal(g))
        | (C::RequestAuthPrincipal(f), C::RequestAuthPrincipal(g))
        | (C::RequestAuthAudiences(f), C::RequestAuthAudiences(g))
        | (C::RequestAuthPresenter(f), C::RequestAuthPresenter(g))
        | (C::ConnectionSni(f), C::ConnectionSni(g)) => strings(f, g),
        (C::SourceIp(f), C::SourceIp(g))
        | (C::RemoteIp(f), C::RemoteIp(g))
        | (C::DestinationIp(f), C::DestinationIp(g)) => {
            field_subsumes(f, g, ip_covers, |_, _| false)
        }
        (C::DestinationPort(f), C::DestinationPort(g)) => equal(f, g),
        (C::SourceNamespace(f), C::SourceNamespace(g)) => equal(f, g),
        (C::SourceServiceAccount(f), C::SourceServiceAccount(g)) => equal(f, g),
        (C::SourceTrustDomain(f), C::SourceTrustDomain(g)) => equal(f, g),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_cover_rules() {
        let p = StringPattern::parse;
        assert!(string_covers(&p("*"), &p("GET")));
        assert!(string_covers(&p("/api/*"), &p("/api/v1/*")));
        assert!(!string_covers(&p("/api/v1/*"), &p("/api/*")));
        assert!(string_covers(&p("*.example.com"), &p("a.example.com")));
        assert!(!string_covers(&p("a.example.com"), &p("*.example.com")));
    }

    #[test]
    fn overlap_of_hosts_and_registry() {
        let p = StringPattern::parse;
        assert!(overlaps(&p("httpbin.org"), "httpbin.org"));
        assert!(overlaps(&p("httpbin.org:8080"), "httpbin.org"));
        assert!(overlaps(&p("*.example.com"), "*.example.com"));
        assert!(overlaps(&p("*.example.com"), "api.example.com"));
        assert!(!overlaps(&p("*.example.com"), "example.org"));
        assert!(overlaps(&p("api.*"), "api.example.com"));
        assert!(!overlaps(&p("other.org"), "httpbin.org"));
    }
}
