//! `when` conditions: the keys Istio accepts and what each reads (SEMANTICS.md §1.10).

#[allow(clippy::wildcard_imports)]
use super::*;

/// The attribute a `when` key names.
pub(super) enum Key {
    Header(String),
    SourceIp,
    RemoteIp,
    DestinationIp,
    SourceNamespace,
    SourcePrincipal,
    SourceServiceAccount,
    SourceTrustDomain,
    AuthPrincipal,
    AuthAudiences,
    AuthPresenter,
    AuthClaim(Vec<String>),
    DestinationPort,
    ConnectionSni,
    Experimental,
}

impl Key {
    /// Classifies a key like Istio's `ValidateAttribute`; `Err` says why it is rejected.
    pub(super) fn parse(key: &str) -> Result<Key, String> {
        let simple = match key {
            "source.ip" => Some(Key::SourceIp),
            "remote.ip" => Some(Key::RemoteIp),
            "destination.ip" => Some(Key::DestinationIp),
            "source.namespace" => Some(Key::SourceNamespace),
            "source.principal" => Some(Key::SourcePrincipal),
            "source.serviceAccount" => Some(Key::SourceServiceAccount),
            "source.trustDomain" => Some(Key::SourceTrustDomain),
            "request.auth.principal" => Some(Key::AuthPrincipal),
            "request.auth.audiences" => Some(Key::AuthAudiences),
            "request.auth.presenter" => Some(Key::AuthPresenter),
            "destination.port" => Some(Key::DestinationPort),
            "connection.sni" => Some(Key::ConnectionSni),
            _ => None,
        };
        if let Some(simple) = simple {
            return Ok(simple);
        }
        if let Some(rest) = key.strip_prefix("request.headers") {
            return match bracketed(rest).as_deref() {
                Some([name]) => Ok(Key::Header(name.to_ascii_lowercase())),
                _ => Err(format!(
                    "bad key `{key}`: expected `request.headers[<header name>]`"
                )),
            };
        }
        if let Some(rest) = key.strip_prefix("request.auth.claims") {
            return match bracketed(rest) {
                Some(path) => Ok(Key::AuthClaim(path)),
                None => Err(format!(
                    "bad key `{key}`: expected `request.auth.claims[<claim>]` or \
                     `request.auth.claims[<claim>][<nested claim>]...`"
                )),
            };
        }
        if key.starts_with("experimental.envoy.filters.") {
            let open = key.find('[');
            return match open {
                Some(open) if key.ends_with(']') && open + 2 < key.len() => Ok(Key::Experimental),
                _ => Err(format!("bad key `{key}`: should have the format `a[b]`")),
            };
        }
        Err(match key {
            "destination.namespace" => {
                format!("attribute `{key}` is not supported; the policy's namespace replaces it")
            }
            "destination.name" | "destination.user" => {
                format!("deprecated attribute `{key}` is only supported in v1alpha1")
            }
            _ if key.starts_with("destination.labels") => {
                format!("attribute `{key}` is not supported; `selector` replaces it")
            }
            _ => format!("unknown attribute `{key}`"),
        })
    }

    /// Keys that need an identity: not allowed with CUSTOM.
    pub(super) fn is_identity(&self) -> bool {
        matches!(
            self,
            Key::SourceNamespace
                | Key::SourcePrincipal
                | Key::SourceServiceAccount
                | Key::SourceTrustDomain
                | Key::AuthPrincipal
                | Key::AuthAudiences
                | Key::AuthPresenter
                | Key::AuthClaim(_)
        )
    }
}

/// `[a][b]...` into `["a", "b"]`; `None` when malformed or a name is empty.
pub(super) fn bracketed(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let name = inner.get(..close)?;
        if name.is_empty() || name.contains('[') {
            return None;
        }
        out.push(name.to_string());
        rest = inner.get(close + 1..)?;
    }
    (!out.is_empty()).then_some(out)
}

pub(super) fn decode_condition(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    ctx: &Ctx,
) -> Option<Condition> {
    let m = map(cx, node, path, &["key", "values", "notValues"])?;
    let key_node = m.get("key").unwrap_or(node);
    let key = match m.str(cx, "key") {
        Some(key) if !key.is_empty() => key,
        Some(_) => {
            cx.error(key_node, &m.path_of("key"), "`key` must not be empty");
            return None;
        }
        None => {
            if m.get("key").is_none() {
                cx.error(node, &m.path_of("key"), "missing field `key`");
            }
            return None;
        }
    };
    let parsed = match Key::parse(&key) {
        Ok(parsed) => parsed,
        Err(message) => {
            cx.error(key_node, &m.path_of("key"), message);
            return None;
        }
    };
    if ctx.custom && parsed.is_identity() {
        cx.error(
            key_node,
            &m.path_of("key"),
            format!("`{key}` is not supported with the CUSTOM action"),
        );
    }
    if !written(&m, "values") && !written(&m, "notValues") {
        cx.error(
            node,
            path,
            format!("at least one of `values` or `notValues` must be set for key `{key}`"),
        );
    }
    let (v, nv) = ("values", "notValues");
    Some(match parsed {
        Key::Header(name) => Condition::RequestHeader {
            name,
            field: pair(cx, &m, v, nv, ctx, strings),
        },
        Key::SourceIp => Condition::SourceIp(pair(cx, &m, v, nv, ctx, ip_blocks)),
        Key::RemoteIp => Condition::RemoteIp(pair(cx, &m, v, nv, ctx, ip_blocks)),
        Key::DestinationIp => Condition::DestinationIp(pair(cx, &m, v, nv, ctx, ip_blocks)),
        Key::SourceNamespace => Condition::SourceNamespace(pair(cx, &m, v, nv, ctx, namespaces)),
        Key::SourcePrincipal => Condition::SourcePrincipal(pair(cx, &m, v, nv, ctx, principals)),
        Key::SourceServiceAccount => {
            Condition::SourceServiceAccount(pair(cx, &m, v, nv, ctx, service_accounts))
        }
        Key::SourceTrustDomain => {
            Condition::SourceTrustDomain(pair(cx, &m, v, nv, ctx, trust_domains))
        }
        Key::AuthPrincipal => Condition::RequestAuthPrincipal(pair(cx, &m, v, nv, ctx, strings)),
        Key::AuthAudiences => Condition::RequestAuthAudiences(pair(cx, &m, v, nv, ctx, strings)),
        Key::AuthPresenter => Condition::RequestAuthPresenter(pair(cx, &m, v, nv, ctx, strings)),
        Key::AuthClaim(path) => Condition::RequestAuthClaim {
            path,
            field: pair(cx, &m, v, nv, ctx, strings),
        },
        Key::DestinationPort => Condition::DestinationPort(Field {
            values: ports(cx, &m, v),
            not_values: ports(cx, &m, nv),
        }),
        Key::ConnectionSni => Condition::ConnectionSni(pair(cx, &m, v, nv, ctx, strings)),
        Key::Experimental => Condition::Experimental {
            key,
            field: pair(cx, &m, v, nv, ctx, strings),
        },
    })
}
