//! The request JSON (README "Request") and its normalised form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Labels;

mod normalize;
mod path;
mod view;
pub(crate) use normalize::{check_own, digest, lower, Known, Own, Seen};
pub use normalize::{FoldedHeaders, Normalized, Shared};
pub use path::normalize_path;
pub(crate) use view::Item;
pub use view::{Headers, RequestRef};

/// The transport the enforcing proxy sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Plain HTTP (HTTP/1.1, HTTP/2, gRPC): every attribute is visible.
    #[default]
    Http,
    /// TLS passthrough: only the SNI and the port are visible.
    Tls,
    /// Opaque TCP: only the port and addresses are visible.
    Tcp,
}

/// The sender identity as the front ends take it (`--from`, `identity=`): empty or `none`
/// (any case) means a plaintext sender without an mTLS identity.
///
/// ```
/// use egress_policy::request::sender_identity;
/// assert_eq!(sender_identity("none"), None);
/// assert_eq!(sender_identity(""), None);
/// assert_eq!(sender_identity("cluster.local/ns/a/sa/b"), Some("cluster.local/ns/a/sa/b"));
/// ```
pub fn sender_identity(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("none"))
}

/// Who sends the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RequestSource {
    /// mTLS identity, Istio form (`cluster.local/ns/x/sa/y`) or `spiffe://` URI;
    /// absent means plaintext.
    #[serde(default)]
    pub principal: Option<String>,
    /// The direct peer address.
    #[serde(default)]
    pub ip: Option<String>,
    /// The original client address (`X-Forwarded-For`).
    #[serde(default)]
    pub remote_ip: Option<String>,
    /// The source workload's service account labels (Gloo selectors).
    #[serde(default)]
    pub labels: Labels,
    /// The source cluster (TSB `cluster/namespace` selectors).
    #[serde(default)]
    pub cluster: Option<String>,
    /// The sender's namespace, when known without (or in agreement with) an mTLS identity:
    /// decides which `Sidecar` applies and where the road starts. Never an identity:
    /// authorization reads the principal only.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The sender's pod labels (`Sidecar` workload selectors).
    #[serde(default)]
    pub pod_labels: Labels,
}

/// The proxy that enforces (namespace and pod labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Namespace of the enforcing proxy.
    pub namespace: String,
    /// Its pod labels; a Gateway-API gateway or waypoint carries
    /// `gateway.networking.k8s.io/gateway-name`.
    #[serde(default)]
    pub labels: Labels,
}

/// Why a workload spec (`NS/NAME` or `NS/key=value,...`) is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidWorkload(pub &'static str);

impl std::fmt::Display for InvalidWorkload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::str::FromStr for Workload {
    type Err = InvalidWorkload;

    /// Parses the workload syntax of the CLI's `--workload`: `NS/NAME` is the
    /// Gateway-API gateway (or waypoint) `NAME` in `NS`, whose pods carry
    /// `gateway.networking.k8s.io/gateway-name: NAME`; `NS/key=value,...` names pods by
    /// labels.
    ///
    /// ```
    /// use egress_policy::request::Workload;
    /// let w: Workload = "istio-egress/egress-waypoint".parse().unwrap();
    /// assert_eq!(w.labels["gateway.networking.k8s.io/gateway-name"], "egress-waypoint");
    /// let w: Workload = "istio-egress/app=istio-egressgateway".parse().unwrap();
    /// assert_eq!(w.labels["app"], "istio-egressgateway");
    /// assert!("nope".parse::<Workload>().is_err());
    /// ```
    fn from_str(value: &str) -> Result<Self, InvalidWorkload> {
        const SHAPE: &str = "expected NS/NAME or NS/key=value,...";
        let (namespace, rest) = value.split_once('/').ok_or(InvalidWorkload(SHAPE))?;
        let namespace = namespace.trim();
        if namespace.is_empty() {
            return Err(InvalidWorkload("the namespace is empty"));
        }
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(InvalidWorkload("the gateway name or labels are empty"));
        }
        let mut labels = Labels::new();
        if rest.contains('=') {
            for pair in rest.split(',') {
                match pair.split_once('=') {
                    Some((key, val)) if !key.trim().is_empty() => {
                        labels.insert(key.trim().to_string(), val.trim().to_string());
                    }
                    _ => {
                        return Err(InvalidWorkload(
                            "labels must be key=value pairs separated by commas",
                        ))
                    }
                }
            }
        } else if rest.contains('/') {
            return Err(InvalidWorkload(SHAPE));
        } else {
            labels.insert(
                crate::model::GATEWAY_NAME_LABEL.to_string(),
                rest.to_string(),
            );
        }
        Ok(Workload {
            namespace: namespace.to_string(),
            labels,
        })
    }
}

/// The validated JWT of the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Jwt {
    /// `iss/sub`.
    #[serde(default)]
    pub principal: Option<String>,
    /// Audiences.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Authorized presenter (`azp`).
    #[serde(default)]
    pub presenter: Option<String>,
    /// Claims.
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// A header value: one string, or several (repeated header lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HeaderValue {
    /// One value.
    One(String),
    /// Repeated header; joined with `,` before matching, as Envoy does.
    Many(Vec<String>),
}

/// A request as the enforcing egress proxy sees it (README "Request JSON").
///
/// ```
/// let request: egress_policy::Request = serde_json::from_str(
///     r#"{"source": {"principal": "cluster.local/ns/a/sa/b"}, "host": "httpbin.org", "method": "GET", "path": "/get"}"#,
/// ).unwrap();
/// assert_eq!(request.host.as_deref(), Some("httpbin.org"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The sender.
    #[serde(default)]
    pub source: RequestSource,
    /// The enforcing proxy; when absent the engine uses the gateway the registry routes to.
    #[serde(default)]
    pub workload: Option<Workload>,
    /// `http`, `tls` or `tcp`. Absent: from the `url`'s scheme — `https://` means the client
    /// does TLS itself, so the proxy sees only the SNI (the URL's host) and the port — else
    /// `http`. Write `"protocol": "http"` for plain HTTP to port 443.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// A full URL, as a convenience: fills `host`, `path` and (for an explicit port or
    /// `https`) `port` when those are not given.
    #[serde(default)]
    pub url: Option<String>,
    /// The raw `:authority` (may include `:port`).
    #[serde(default)]
    pub host: Option<String>,
    /// The destination port at the enforcing proxy.
    #[serde(default)]
    pub port: Option<u16>,
    /// `:method`.
    #[serde(default)]
    pub method: Option<String>,
    /// `:path` with query.
    #[serde(default)]
    pub path: Option<String>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValue>,
    /// TLS SNI.
    #[serde(default)]
    pub sni: Option<String>,
    /// Validated JWT.
    #[serde(default)]
    pub jwt: Option<Jwt>,
    /// Verdicts of CUSTOM providers, by provider name (`true` = the provider allows).
    #[serde(default)]
    pub custom: BTreeMap<String, bool>,
    /// The destination IP, for `destination.ip` conditions.
    #[serde(default)]
    pub destination_ip: Option<String>,
}

/// Why a request is rejected before authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// What is wrong.
    pub message: String,
    /// The status Envoy answers with: 400, or 404 for a `:path` that is not absolute
    /// (`conn_manager_impl.cc`, AbsolutePath).
    pub status: u16,
}

impl Malformed {
    /// A request Envoy rejects with 400.
    pub fn bad(message: impl Into<String>) -> Self {
        Malformed {
            message: message.into(),
            status: 400,
        }
    }

    /// A request Envoy answers with 404 before routing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Malformed {
            message: message.into(),
            status: 404,
        }
    }
}

/// The `URI=` value of the last element of an `x-forwarded-client-cert` header: the peer
/// identity Envoy forwards (the element the nearest proxy added). Quoted values may contain
/// `,` and `;`.
///
/// ```
/// use egress_policy::request::xfcc_uri;
/// assert_eq!(xfcc_uri("By=x;URI=spiffe://a,Hash=1;uri=\"spiffe://b\""), Some("spiffe://b".into()));
/// assert_eq!(xfcc_uri("Hash=1"), None);
/// ```
pub fn xfcc_uri(header: &str) -> Option<String> {
    let element = split_outside_quotes(header, ',').pop()?;
    split_outside_quotes(&element, ';')
        .into_iter()
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("uri")
                .then(|| value.trim().trim_matches('"').to_string())
        })
        .find(|v| !v.is_empty())
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
            current.push(c);
        } else if c == separator && !quoted {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PathNormalization;

    fn base(p: &str) -> String {
        normalize_path(p, PathNormalization::Base).unwrap().0
    }

    #[test]
    fn base_normalization() {
        assert_eq!(base("/a/../b"), "/b");
        assert_eq!(base("/get/../post"), "/post");
        assert_eq!(base("/public/%2E%2E/private"), "/private");
        assert_eq!(base("/public/%2e%2e/private"), "/private");
        assert_eq!(base("/%41%5f%7E"), "/A_~");
        assert_eq!(base("/a\\b"), "/a/b");
        assert_eq!(base("/a//b"), "/a//b");
        assert_eq!(base("/a%2Fb"), "/a%2Fb");
        // Kept escapes are copied exactly (url_canon_path.cc), hex case included.
        assert_eq!(base("/a%2fb"), "/a%2fb");
        assert_eq!(base("/../../etc"), "/etc");
        assert_eq!(base("/a/./b/."), "/a/b/");
        assert_eq!(base("/a/b/.."), "/a/");
        assert_eq!(base("/get?x=/../y"), "/get");
        assert_eq!(base("/"), "/");
    }

    #[test]
    fn other_modes() {
        let n = |p: &str, m| normalize_path(p, m).unwrap().0;
        assert_eq!(n("/a/../b//c", PathNormalization::None), "/a/../b//c");
        assert_eq!(n("/a//b", PathNormalization::MergeSlashes), "/a/b");
        assert_eq!(n("/a%2Fb", PathNormalization::MergeSlashes), "/a%2Fb");
        assert_eq!(
            n(
                "/a%2F%2Fb%5C..%5Cc",
                PathNormalization::DecodeAndMergeSlashes
            ),
            "/a/c"
        );
    }

    #[test]
    fn nul_is_malformed() {
        assert!(normalize_path("/a%00b", PathNormalization::Base).is_err());
    }

    #[test]
    fn splits_urls_and_authorities() {
        use normalize::{split_authority, split_url};
        assert_eq!(
            split_url("https://Example.com:8443/a?b").unwrap(),
            (Some("Example.com:8443"), Some(8443), Some("/a?b".into()))
        );
        assert_eq!(
            split_url("http://example.com").unwrap(),
            (Some("example.com"), None, Some("/".into()))
        );
        assert!(split_url("ftp://example.com:21/").is_err());
        assert_eq!(
            split_authority("[::1]:80").unwrap(),
            (Some("::1".into()), Some(80))
        );
        assert!(split_authority("a.com:99999").is_err());
    }

    #[test]
    fn spiffe_parts() {
        assert_eq!(
            normalize::parse_spiffe("td/ns/a/sa/b"),
            (Some("td"), Some("a"), Some("b"))
        );
    }

    /// The old definition: split on every `/`, then the first `ns/<x>` and `sa/<x>` pairs.
    fn spiffe_by_split(rest: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
        let mut parts = rest.split('/');
        let trust_domain = parts.next();
        let (mut namespace, mut account) = (None, None);
        let mut previous: Option<&str> = None;
        for segment in parts {
            match previous {
                Some("ns") if namespace.is_none() => namespace = Some(segment),
                Some("sa") if account.is_none() => account = Some(segment),
                _ => {}
            }
            previous = Some(segment);
        }
        (trust_domain, namespace, account)
    }

    #[test]
    fn spiffe_fast_path_agrees_with_the_segment_walk() {
        // Every text of up to six segments over the segments that matter.
        let pieces = ["ns", "sa", "x", ""];
        let mut texts = vec![String::new()];
        let mut layer = vec![String::new()];
        for _ in 0..6 {
            let mut next = Vec::new();
            for prefix in &layer {
                for piece in pieces {
                    for joined in [format!("{prefix}/{piece}"), format!("{prefix}{piece}")] {
                        next.push(joined);
                    }
                }
            }
            next.sort();
            next.dedup();
            texts.extend(next.iter().cloned());
            layer = next;
        }
        for text in &texts {
            assert_eq!(
                normalize::parse_spiffe(text),
                spiffe_by_split(text),
                "{text:?}"
            );
        }
        assert_eq!(
            normalize::parse_spiffe("cluster.local/ns/sa/sa/b"),
            (Some("cluster.local"), Some("sa"), Some("sa"))
        );
    }
}
