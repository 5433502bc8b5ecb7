//! Value lists of AuthorizationPolicy fields: each list converted to its patterns, trust
//! domain aliases expanded (SEMANTICS.md §1.9).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Converts the (non-empty string) items of one list.
pub(super) type Convert<P> = fn(&mut Cx, &[Item], &Ctx) -> Vec<P>;

/// A field and its `not` counterpart.
pub(super) fn pair<P>(
    cx: &mut Cx,
    m: &Map,
    key: &str,
    not_key: &str,
    ctx: &Ctx,
    convert: Convert<P>,
) -> Field<P> {
    let values = m.str_list(cx, key);
    let not_values = m.str_list(cx, not_key);
    Field {
        values: convert(cx, &values, ctx),
        not_values: convert(cx, &not_values, ctx),
    }
}

pub(super) fn strings(_cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<StringPattern> {
    items
        .iter()
        .map(|i| StringPattern::parse(&i.value))
        .collect()
}

pub(super) fn hosts(_cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<HostPattern> {
    items.iter().map(|i| HostPattern::parse(&i.value)).collect()
}

pub(super) fn namespaces(_cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<NamespacePattern> {
    items
        .iter()
        .map(|i| NamespacePattern {
            glob: i.value.clone(),
        })
        .collect()
}

pub(super) fn paths(cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<PathPattern> {
    let mut out = Vec::new();
    for item in items {
        match PathPattern::parse(&item.value) {
            Ok(pattern) => out.push(pattern),
            Err(invalid) => cx.error(
                item.node,
                &item.path(),
                format!("invalid path template: {}", invalid.0),
            ),
        }
    }
    out
}

pub(super) fn ip_blocks(cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<IpBlock> {
    let mut out = Vec::new();
    for item in items {
        match IpBlock::parse(&item.value) {
            Some(block) => out.push(block),
            None => {
                let what = if item.value.contains('/') {
                    "CIDR range"
                } else {
                    "IP address"
                };
                cx.error(
                    item.node,
                    &item.path(),
                    format!("bad {what} `{}`", item.value),
                );
            }
        }
    }
    out
}

/// Principals, with trust domain aliases expanded (SEMANTICS.md §1.9), as patterns over the
/// peer's SPIFFE URI.
pub(super) fn principals(_cx: &mut Cx, items: &[Item], ctx: &Ctx) -> Vec<StringPattern> {
    items
        .iter()
        .flat_map(|i| expand_principal(&i.value, &ctx.bundle))
        .map(|v| StringPattern::parse(&v).with_leading("spiffe://"))
        .collect()
}

/// `serviceAccounts`: `ns/sa`, or a bare `sa` in the policy's namespace.
pub(super) fn service_accounts(cx: &mut Cx, items: &[Item], ctx: &Ctx) -> Vec<ServiceAccountRef> {
    let mut out = Vec::new();
    for item in items {
        let value = &item.value;
        let problem = if value.contains('*') {
            Some("wildcards are not supported")
        } else if value.matches('/').count() > 1 {
            Some("expected `<namespace>/<name>` or `<name>`")
        } else if value.starts_with('/') || value.ends_with('/') {
            Some("namespace and name must not be empty")
        } else {
            None
        };
        if let Some(problem) = problem {
            cx.error(
                item.node,
                &item.path(),
                format!("invalid service account `{value}`: {problem}"),
            );
            continue;
        }
        let (namespace, name) = value
            .split_once('/')
            .unwrap_or((ctx.namespace.as_str(), value.as_str()));
        out.push(ServiceAccountRef {
            namespace: namespace.to_string(),
            name: name.to_string(),
        });
    }
    out
}

/// `trustDomains`: validated, then values naming a member of the trust domain bundle
/// expand to the whole bundle (duplicates dropped).
pub(super) fn trust_domains(cx: &mut Cx, items: &[Item], ctx: &Ctx) -> Vec<TrustDomainPattern> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let value = &item.value;
        let stars = value.matches('*').count();
        let problem = if value.contains('/') {
            Some("a trust domain must not contain `/`")
        } else if stars > 1 {
            Some("at most one `*` is allowed")
        } else if stars == 1 && !value.starts_with('*') && !value.ends_with('*') {
            Some("`*` is only allowed at the start or the end")
        } else {
            None
        };
        if let Some(problem) = problem {
            cx.error(
                item.node,
                &item.path(),
                format!("invalid trust domain `{value}`: {problem}"),
            );
            continue;
        }
        let expanded: Vec<String> = if ctx.bundle.contains(value) {
            ctx.bundle.clone()
        } else {
            vec![value.clone()]
        };
        for v in expanded {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out.into_iter()
        .map(|value| TrustDomainPattern { value })
        .collect()
}

/// Ports written as strings (Istio's type) or integers.
pub(super) fn ports(cx: &mut Cx, m: &Map, key: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for (node, path) in m.list(cx, key) {
        if node.as_str() == Some("") {
            cx.error(node, &path, "empty string is not allowed");
        } else if let Some(port) = decode::port(cx, node, &path) {
            out.push(port);
        }
    }
    out
}

/// Istio's `ReplaceTrustDomainAliases` for one principal value (`pilot/pkg/security/
/// trustdomain/bundle.go`): a `<td>/ns/<ns>/sa/<sa>` value whose trust domain is in the
/// bundle (by the string forms) or is literally `cluster.local` becomes one value per bundle
/// member; everything else is kept as written.
pub(super) fn expand_principal(principal: &str, bundle: &[String]) -> Vec<String> {
    let parts: Vec<&str> = principal.split('/').collect();
    let (Some(domain), Some(rest)) = (parts.first(), parts.get(1..)) else {
        return vec![principal.to_string()];
    };
    if parts.len() != 5 || *domain == "*" {
        return vec![principal.to_string()];
    }
    let in_bundle = bundle.iter().any(|td| {
        td == domain
            || td == "*"
            || prefix_match(domain, td)
            || prefix_match(td, domain)
            || suffix_match(domain, td)
            || suffix_match(td, domain)
    });
    if !in_bundle && *domain != CLUSTER_LOCAL {
        return vec![principal.to_string()];
    }
    let tail = rest.join("/");
    let mut out: Vec<String> = Vec::new();
    for td in bundle {
        let replaced = if suffix_match(td, domain) {
            principal.to_string()
        } else {
            format!("{td}/{tail}")
        };
        if !out.contains(&replaced) {
            out.push(replaced);
        }
    }
    out
}

/// `pattern` ends in `*` and `text` starts with the rest.
pub(super) fn prefix_match(text: &str, pattern: &str) -> bool {
    pattern
        .strip_suffix('*')
        .is_some_and(|prefix| text.starts_with(prefix))
}

/// `pattern` starts with `*` and `text` ends with the rest.
pub(super) fn suffix_match(text: &str, pattern: &str) -> bool {
    pattern
        .strip_prefix('*')
        .is_some_and(|suffix| text.ends_with(suffix))
}
