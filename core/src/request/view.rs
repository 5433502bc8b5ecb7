//! The borrowed request view a proxy hands to the engine: its own `&str`s, no copies.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::model::Labels;

use super::{HeaderValue, Jwt, Protocol, Request, Workload};

/// The request headers as the caller holds them; the engine folds them (lower-cased
/// names, repeated values joined with `,` in order) only when some policy or route reads
/// headers.
#[derive(Debug, Clone, Copy, Default)]
pub enum Headers<'a> {
    /// No headers.
    #[default]
    None,
    /// `(name, value)` pairs in arrival order (a repeated name repeats the pair).
    Pairs(&'a [(&'a str, &'a str)]),
    /// Owned `(name, value)` pairs in arrival order (what proxy-wasm hands out).
    Owned(&'a [(String, String)]),
    /// One value per name (Envoy's `CheckRequest` header map, where Envoy already joined
    /// repeated lines). Names that differ only in case are folded in an unspecified
    /// order.
    Map(&'a HashMap<String, String>),
    /// The [`Request`] map.
    Request(&'a BTreeMap<String, HeaderValue>),
}

/// One header item: a value, or the values of a repeated header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item<'a> {
    One(&'a str),
    Many(&'a [String]),
}

impl<'a> Item<'a> {
    /// The value as matching sees it: repeated values joined with `,`.
    pub(crate) fn joined(self) -> Cow<'a, str> {
        match self {
            Item::One(v) => Cow::Borrowed(v),
            Item::Many([]) => Cow::Borrowed(""),
            Item::Many([one]) => Cow::Borrowed(one.as_str()),
            Item::Many(many) => Cow::Owned(many.join(",")),
        }
    }
}

impl<'a> Headers<'a> {
    /// Calls `f` with every `(name, item)` in order; stops at the first error.
    pub(crate) fn try_each<E>(
        self,
        mut f: impl FnMut(&'a str, Item<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Headers::None => Ok(()),
            Headers::Pairs(pairs) => pairs.iter().try_for_each(|(n, v)| f(n, Item::One(v))),
            Headers::Owned(pairs) => pairs.iter().try_for_each(|(n, v)| f(n, Item::One(v))),
            Headers::Map(map) => map.iter().try_for_each(|(n, v)| f(n, Item::One(v))),
            Headers::Request(map) => map.iter().try_for_each(|(n, v)| match v {
                HeaderValue::One(v) => f(n, Item::One(v)),
                HeaderValue::Many(vs) => f(n, Item::Many(vs)),
            }),
        }
    }

    /// Whether there is no header at all.
    pub fn is_empty(&self) -> bool {
        match self {
            Headers::None => true,
            Headers::Pairs(p) => p.is_empty(),
            Headers::Owned(p) => p.is_empty(),
            Headers::Map(m) => m.is_empty(),
            Headers::Request(m) => m.is_empty(),
        }
    }
}

/// A request as the enforcing proxy holds it, borrowed: the same attributes as
/// [`Request`] (see its fields for the meaning of each), without copying any of them.
/// [`Engine::prepare_ref`](crate::Engine::prepare_ref) digests it; a [`Request`] converts
/// to one for free ([`Request::view`], or `RequestRef::from(&request)`).
///
/// ```
/// use egress_policy::request::{Headers, RequestRef, Workload};
/// let engine = egress_policy::Engine::from_yaml("p.yaml", r#"
/// apiVersion: security.istio.io/v1
/// kind: AuthorizationPolicy
/// metadata: {name: only-get, namespace: istio-egress}
/// spec:
///   selector: {matchLabels: {app: istio-egressgateway}}
///   action: ALLOW
///   rules:
///   - to: [{operation: {methods: [GET]}}]
/// "#).unwrap();
/// // The proxy's own identity, built once.
/// let gateway: Workload = "istio-egress/app=istio-egressgateway".parse().unwrap();
/// let headers = [("user-agent", "curl/8"), ("accept", "*/*")];
/// let view = RequestRef {
///     workload: Some(&gateway),
///     principal: Some("cluster.local/ns/shop/sa/cart"),
///     host: Some("httpbin.org"),
///     method: Some("GET"),
///     path: Some("/get?x=1"),
///     headers: Headers::Pairs(&headers),
///     ..RequestRef::default()
/// };
/// let prepared = engine.prepare_ref(&view);
/// let verdict = engine.decide_prepared(&prepared);
/// assert!(verdict.allowed());
/// let post = RequestRef { method: Some("POST"), ..view };
/// assert_eq!(engine.decide_prepared(&engine.prepare_ref(&post)).status(), 403);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestRef<'a> {
    /// The sender's mTLS identity (Istio form or `spiffe://` URI); `None` for plaintext.
    pub principal: Option<&'a str>,
    /// The direct peer address.
    pub source_ip: Option<&'a str>,
    /// The original client address.
    pub remote_ip: Option<&'a str>,
    /// The source service account's labels (Gloo selectors).
    pub source_labels: Option<&'a Labels>,
    /// The source cluster.
    pub cluster: Option<&'a str>,
    /// The sender's namespace (see [`super::RequestSource::namespace`]).
    pub source_namespace: Option<&'a str>,
    /// The sender's pod labels.
    pub pod_labels: Option<&'a Labels>,
    /// The enforcing proxy; `None`: the gateway the registry routes to.
    pub workload: Option<&'a Workload>,
    /// The transport (see [`Request::protocol`]).
    pub protocol: Option<Protocol>,
    /// A full URL (see [`Request::url`]).
    pub url: Option<&'a str>,
    /// The raw `:authority`.
    pub host: Option<&'a str>,
    /// The destination port at the enforcing proxy.
    pub port: Option<u16>,
    /// `:method`.
    pub method: Option<&'a str>,
    /// `:path` with query.
    pub path: Option<&'a str>,
    /// Request headers.
    pub headers: Headers<'a>,
    /// TLS SNI.
    pub sni: Option<&'a str>,
    /// The validated JWT.
    pub jwt: Option<&'a Jwt>,
    /// CUSTOM provider verdicts by provider name.
    pub custom: Option<&'a BTreeMap<String, bool>>,
    /// The destination IP.
    pub destination_ip: Option<&'a str>,
}

impl Request {
    /// The borrowed view of this request (no copy).
    ///
    /// ```
    /// let request = egress_policy::Request { host: Some("a.com".into()), ..Default::default() };
    /// assert_eq!(request.view().host, Some("a.com"));
    /// ```
    #[inline]
    pub fn view(&self) -> RequestRef<'_> {
        RequestRef::from(self)
    }
}

impl<'a> From<&'a Request> for RequestRef<'a> {
    #[inline]
    fn from(r: &'a Request) -> Self {
        RequestRef {
            principal: r.source.principal.as_deref(),
            source_ip: r.source.ip.as_deref(),
            remote_ip: r.source.remote_ip.as_deref(),
            source_labels: Some(&r.source.labels),
            cluster: r.source.cluster.as_deref(),
            source_namespace: r.source.namespace.as_deref(),
            pod_labels: Some(&r.source.pod_labels),
            workload: r.workload.as_ref(),
            protocol: r.protocol,
            url: r.url.as_deref(),
            host: r.host.as_deref(),
            port: r.port,
            method: r.method.as_deref(),
            path: r.path.as_deref(),
            headers: Headers::Request(&r.headers),
            sni: r.sni.as_deref(),
            jwt: r.jwt.as_ref(),
            custom: Some(&r.custom),
            destination_ip: r.destination_ip.as_deref(),
        }
    }
}
