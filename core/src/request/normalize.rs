//! The normalised request ([`Normalized`]): borrowed from the request wherever
//! normalisation leaves a value as it was, owned only where it changes it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use crate::model::{Labels, PathNormalization};

use super::path::normalize_path_split;
use super::view::{Item, RequestRef};
use super::{Jwt, Malformed, Protocol, Request, Workload};

/// A value borrowed from the request (or the engine), or shared when it had to be made.
#[derive(Debug)]
pub enum Shared<'a, T> {
    /// Borrowed as it was given.
    Borrowed(&'a T),
    /// Made (or copied) by the engine.
    Owned(Arc<T>),
}

impl<T> Clone for Shared<'_, T> {
    fn clone(&self) -> Self {
        match self {
            Shared::Borrowed(t) => Shared::Borrowed(t),
            Shared::Owned(t) => Shared::Owned(Arc::clone(t)),
        }
    }
}

impl<T> Deref for Shared<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        match self {
            Shared::Borrowed(t) => t,
            Shared::Owned(t) => t,
        }
    }
}

impl<T> AsRef<T> for Shared<'_, T> {
    #[inline]
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: PartialEq> PartialEq for Shared<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Clone> Shared<'_, T> {
    /// The same value, owning it.
    pub fn into_owned(self) -> Shared<'static, T> {
        match self {
            Shared::Borrowed(t) => Shared::Owned(Arc::new(t.clone())),
            Shared::Owned(t) => Shared::Owned(t),
        }
    }
}

/// Labels of a request that names none.
static NO_LABELS: Labels = Labels::new();
static NO_VERDICTS: BTreeMap<String, bool> = BTreeMap::new();

/// Request headers folded for matching: names lower-cased, the values of a repeated name
/// joined with `,` in order. Sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FoldedHeaders<'a> {
    entries: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> FoldedHeaders<'a> {
    /// The value of the header `name` (lower case).
    ///
    /// ```
    /// use egress_policy::request::{Headers, RequestRef};
    /// use egress_policy::model::PathNormalization;
    /// let pairs = [("X-A", "1"), ("x-a", "2"), ("b", "3")];
    /// let view = RequestRef { host: Some("h"), headers: Headers::Pairs(&pairs), ..Default::default() };
    /// let n = view.normalize(PathNormalization::Base).unwrap();
    /// assert_eq!(n.headers.get("x-a"), Some("1,2"));
    /// assert_eq!(n.headers.iter().collect::<Vec<_>>(), [("b", "3"), ("x-a", "1,2")]);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .binary_search_by(|(n, _)| n.as_ref().cmp(name))
            .ok()
            .and_then(|at| self.entries.get(at))
            .map(|(_, v)| v.as_ref())
    }

    /// `(name, value)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// How many distinct names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds one header line (or the joined values of a repeated one).
    fn add(&mut self, name: Cow<'a, str>, value: Cow<'a, str>) {
        match self
            .entries
            .binary_search_by(|(n, _)| n.as_ref().cmp(&name))
        {
            Ok(at) => {
                if let Some((_, existing)) = self.entries.get_mut(at) {
                    let existing = existing.to_mut();
                    existing.push(',');
                    existing.push_str(&value);
                }
            }
            Err(at) => self.entries.insert(at, (name, value)),
        }
    }

    /// The same headers, owning their text.
    pub fn into_owned(self) -> FoldedHeaders<'static> {
        FoldedHeaders {
            entries: self
                .entries
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }
}

/// A request after the one-time digest: lower-cased host split from its port, path
/// normalised per the mesh setting, principal parsed, headers folded. It borrows from the
/// request wherever the digest leaves a value as it was ([`Normalized::into_owned`]
/// detaches it).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized<'a> {
    /// Protocol.
    pub protocol: Protocol,
    /// SPIFFE URI of the peer (`spiffe://td/ns/x/sa/y`), if authenticated.
    pub peer_uri: Option<Cow<'a, str>>,
    /// Trust domain of the peer.
    pub trust_domain: Option<Cow<'a, str>>,
    /// Namespace of the peer (from the `/ns/<x>/` segment).
    pub namespace: Option<Cow<'a, str>>,
    /// Service account of the peer (from the `/sa/<x>` segment).
    pub service_account: Option<Cow<'a, str>>,
    /// Source labels from the request.
    pub source_labels: Shared<'a, Labels>,
    /// Source cluster.
    pub cluster: Option<Cow<'a, str>>,
    /// Direct peer IP.
    pub source_ip: Option<IpAddr>,
    /// Original client IP.
    pub remote_ip: Option<IpAddr>,
    /// Destination IP.
    pub destination_ip: Option<IpAddr>,
    /// Raw `:authority` as sent (authz `hosts` compare with this, port included).
    pub authority: Option<Cow<'a, str>>,
    /// Host without port, lower-cased (registry and routing use this).
    pub host: Option<Cow<'a, str>>,
    /// Destination port at the enforcing proxy.
    pub port: u16,
    /// Method.
    pub method: Option<Cow<'a, str>>,
    /// Path after normalisation, without query and fragment.
    pub path: Option<Cow<'a, str>>,
    /// The query string (without `?`), when the path had one: the upstream receives
    /// `path?query` (see [`Normalized::forwarded_path`]).
    pub query: Option<Cow<'a, str>>,
    /// Headers with lower-cased names; repeated values joined with `,`. Empty when the
    /// digest was told that nothing reads them.
    pub headers: FoldedHeaders<'a>,
    /// SNI.
    pub sni: Option<Cow<'a, str>>,
    /// JWT.
    pub jwt: Option<Shared<'a, Jwt>>,
    /// CUSTOM provider verdicts.
    pub custom: Shared<'a, BTreeMap<String, bool>>,
    /// The enforcing workload, when named.
    pub workload: Option<Shared<'a, Workload>>,
    /// The sender's namespace for the road: `source.namespace`, else the peer's.
    pub origin_namespace: Option<Cow<'a, str>>,
    /// The sender's pod labels.
    pub origin_labels: Shared<'a, Labels>,
}

fn owned(text: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    text.map(|t| Cow::Owned(t.into_owned()))
}

impl Normalized<'_> {
    /// Drops the mTLS peer identity (a plaintext hop to the enforcing proxy carries none);
    /// the road's origin namespace stays.
    pub fn forget_peer(&mut self) {
        self.peer_uri = None;
        self.trust_domain = None;
        self.namespace = None;
        self.service_account = None;
    }

    /// The path the upstream receives: the normalised path and the query.
    pub fn forwarded_path(&self) -> Option<String> {
        let path = self.path.as_deref()?;
        Some(match &self.query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        })
    }

    /// The same request, owning everything (it no longer borrows from the request).
    pub fn into_owned(self) -> Normalized<'static> {
        Normalized {
            protocol: self.protocol,
            peer_uri: owned(self.peer_uri),
            trust_domain: owned(self.trust_domain),
            namespace: owned(self.namespace),
            service_account: owned(self.service_account),
            source_labels: self.source_labels.into_owned(),
            cluster: owned(self.cluster),
            source_ip: self.source_ip,
            remote_ip: self.remote_ip,
            destination_ip: self.destination_ip,
            authority: owned(self.authority),
            host: owned(self.host),
            port: self.port,
            method: owned(self.method),
            path: owned(self.path),
            query: owned(self.query),
            headers: self.headers.into_owned(),
            sni: owned(self.sni),
            jwt: self.jwt.map(Shared::into_owned),
            custom: self.custom.into_owned(),
            workload: self.workload.map(Shared::into_owned),
            origin_namespace: owned(self.origin_namespace),
            origin_labels: self.origin_labels.into_owned(),
        }
    }
}

impl Request {
    /// Normalises the request once. Fails with the reason Istio would reject it with
    /// before authorization (400).
    pub fn normalize(&self, mode: PathNormalization) -> Result<Normalized<'_>, Malformed> {
        self.view().normalize(mode)
    }
}

impl<'a> RequestRef<'a> {
    /// Normalises the request once (see [`Request::normalize`]); the result borrows
    /// from the view's text wherever normalisation leaves it unchanged.
    pub fn normalize(&self, mode: PathNormalization) -> Result<Normalized<'a>, Malformed> {
        digest(self, mode, true, true).map(|(n, _)| n)
    }
}

/// Normalises `r`. Folds the headers only when `fold_headers` (they are validated
/// either way). Returns the peer identity without its `spiffe://` scheme as well; when
/// `build_uri` is false and the principal was written without the scheme, `peer_uri` is
/// left `None` for the caller to fill (the engine borrows it from its road memo).
#[inline(always)]
pub(crate) fn digest<'a>(
    r: &RequestRef<'a>,
    mode: PathNormalization,
    fold_headers: bool,
    build_uri: bool,
) -> Result<(Normalized<'a>, Option<&'a str>), Malformed> {
    let (url_host, url_port, url_path) = match r.url {
        Some(url) => split_url(url)?,
        None => (None, None, None),
    };
    let https_url = r
        .url
        .and_then(|u| u.get(..8))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    let protocol = r.protocol.unwrap_or(if https_url {
        Protocol::Tls
    } else {
        Protocol::Http
    });
    // A client that speaks TLS itself names the URL's host in its SNI.
    let sni = r.sni.or_else(|| {
        (https_url && r.protocol.is_none())
            .then_some(url_host)
            .flatten()
    });
    let authority = r.host.or(url_host);
    let (host, authority_port) = match authority {
        Some(a) => split_authority(a)?,
        None => (None, None),
    };
    let default_port = match protocol {
        Protocol::Http => 80,
        Protocol::Tls => 443,
        Protocol::Tcp => 0,
    };
    let port = r
        .port
        .or(url_port)
        .or(authority_port)
        .unwrap_or(default_port);

    check_method(r.method)?;
    if protocol == Protocol::Http && authority.is_none() {
        return Err(Malformed::bad("an HTTP request needs `host` or `url`"));
    }
    let (path, query) = path_and_query(r.path.map(Cow::Borrowed).or(url_path), protocol, mode)?;
    let headers = fold(r, fold_headers)?;

    let peer = r
        .principal
        .filter(|p| !p.is_empty())
        .map(|p| p.strip_prefix("spiffe://").unwrap_or(p));
    let peer_uri = match r.principal {
        Some(p) if p.starts_with("spiffe://") => Some(Cow::Borrowed(p)),
        Some(p) if !p.is_empty() && build_uri => Some(Cow::Owned(format!("spiffe://{p}"))),
        _ => None,
    };
    let (trust_domain, namespace, service_account) = match peer {
        Some(rest) => parse_spiffe(rest),
        None => (None, None, None),
    };
    let origin_namespace = match (r.source_namespace, namespace) {
        (Some(written), Some(peer)) if written != peer => {
            return Err(Malformed::bad(format!(
                "source.namespace `{written}` disagrees with the principal's namespace `{peer}`"
            )));
        }
        (Some(""), _) => return Err(Malformed::bad("source.namespace is empty")),
        (Some(written), _) => Some(written),
        (None, peer) => peer,
    };

    let (source_ip, remote_ip) = (
        parse_ip("source.ip", r.source_ip)?,
        parse_ip("source.remote_ip", r.remote_ip)?,
    );
    let normalized = Normalized {
        protocol,
        peer_uri,
        trust_domain: trust_domain.map(Cow::Borrowed),
        namespace: namespace.map(Cow::Borrowed),
        service_account: service_account.map(Cow::Borrowed),
        source_labels: source_labels(r),
        cluster: r.cluster.map(Cow::Borrowed),
        source_ip,
        remote_ip,
        destination_ip: parse_ip("destination_ip", r.destination_ip)?,
        authority: authority.map(Cow::Borrowed),
        host,
        port,
        method: r.method.map(Cow::Borrowed),
        path,
        query,
        headers,
        sni: sni.map(Cow::Borrowed),
        jwt: r.jwt.map(Shared::Borrowed),
        custom: Shared::Borrowed(r.custom.unwrap_or(&NO_VERDICTS)),
        workload: r.workload.map(Shared::Borrowed),
        origin_namespace: origin_namespace.map(Cow::Borrowed),
        origin_labels: Shared::Borrowed(r.pod_labels.unwrap_or(&NO_LABELS)),
    };
    Ok((normalized, peer))
}

/// What [`digest`] derives from the request's authority, transport, principal and
/// destination address, as an earlier digest of a request with the same raw values found
/// it (the engine's road memo keeps it with the road: see `compile::road_key`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Known<'k> {
    pub(crate) protocol: Protocol,
    pub(crate) port: u16,
    pub(crate) host: Option<&'k str>,
    pub(crate) peer_uri: Option<&'k str>,
    pub(crate) trust_domain: Option<&'k str>,
    pub(crate) namespace: Option<&'k str>,
    pub(crate) service_account: Option<&'k str>,
    pub(crate) destination_ip: Option<IpAddr>,
}

/// What a request's own fields give beyond what the road memo knows (see [`Known`]).
#[derive(Debug, Clone)]
pub(crate) struct Own<'a> {
    pub(crate) path: Option<Cow<'a, str>>,
    pub(crate) query: Option<Cow<'a, str>>,
    pub(crate) headers: FoldedHeaders<'a>,
    pub(crate) source_ip: Option<IpAddr>,
    pub(crate) remote_ip: Option<IpAddr>,
}

/// The checks of [`digest`] for a request without `url` whose authority, port,
/// protocol, SNI, principal, source namespace and destination address are, byte for
/// byte, those of a request an earlier digest accepted and derived `known` from: those
/// checks passed then, so only the checks of the other fields run (in `digest`'s order,
/// so a request gets the same error from both). [`Normalized::known`] finishes it.
#[inline(always)]
pub(crate) fn check_own<'a>(
    r: &RequestRef<'a>,
    mode: PathNormalization,
    fold_headers: bool,
    protocol: Protocol,
) -> Result<Own<'a>, Malformed> {
    check_method(r.method)?;
    let (path, query) = path_and_query(r.path.map(Cow::Borrowed), protocol, mode)?;
    let headers = fold(r, fold_headers)?;
    Ok(Own {
        path,
        query,
        headers,
        source_ip: parse_ip("source.ip", r.source_ip)?,
        remote_ip: parse_ip("source.remote_ip", r.remote_ip)?,
    })
}

/// What the enforcing proxy makes of a request (see `road::End::Enforce`): the port it
/// listens on, whether it validated the JWT and whether the hop to it carries the peer's
/// mTLS identity.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub(crate) port: u16,
    pub(crate) jwt_valid: bool,
    pub(crate) peer_identity: bool,
}

impl<'a> Normalized<'a> {
    /// The digest of `r` from what the memo knows and what [`check_own`] found, as the
    /// enforcing proxy sees it (`seen`; `None`: as sent): what [`digest`] and then the
    /// road make of the same request, the peer URI set. Infallible, so the caller builds
    /// it in place.
    #[inline(always)]
    pub(crate) fn known(
        r: &RequestRef<'a>,
        known: &Known<'a>,
        own: Own<'a>,
        seen: Option<Seen>,
    ) -> Self {
        let peer = seen.is_none_or(|s| s.peer_identity);
        let peer_part = |part: Option<&'a str>| part.filter(|_| peer).map(Cow::Borrowed);
        Normalized {
            protocol: known.protocol,
            peer_uri: peer_part(known.peer_uri),
            trust_domain: peer_part(known.trust_domain),
            namespace: peer_part(known.namespace),
            service_account: peer_part(known.service_account),
            source_labels: source_labels(r),
            cluster: r.cluster.map(Cow::Borrowed),
            source_ip: own.source_ip,
            remote_ip: own.remote_ip,
            destination_ip: known.destination_ip,
            authority: r.host.map(Cow::Borrowed),
            host: known.host.map(Cow::Borrowed),
            port: seen.map_or(known.port, |s| s.port),
            method: r.method.map(Cow::Borrowed),
            path: own.path,
            query: own.query,
            headers: own.headers,
            sni: r.sni.map(Cow::Borrowed),
            jwt: r
                .jwt
                .filter(|_| seen.is_none_or(|s| s.jwt_valid))
                .map(Shared::Borrowed),
            custom: Shared::Borrowed(r.custom.unwrap_or(&NO_VERDICTS)),
            workload: r.workload.map(Shared::Borrowed),
            origin_namespace: r.source_namespace.or(known.namespace).map(Cow::Borrowed),
            origin_labels: Shared::Borrowed(r.pod_labels.unwrap_or(&NO_LABELS)),
        }
    }
}

/// The source labels `r` claims (none: empty).
#[inline(always)]
pub(crate) fn source_labels<'a>(r: &RequestRef<'a>) -> Shared<'a, Labels> {
    Shared::Borrowed(r.source_labels.unwrap_or(&NO_LABELS))
}

/// Istio answers 400 to a method that is empty or not upper case.
#[inline(always)]
fn check_method(method: Option<&str>) -> Result<(), Malformed> {
    match method {
        Some(m)
            if m.is_empty()
                || m.bytes()
                    .any(|b| b.is_ascii_lowercase() || !b.is_ascii_graphic()) =>
        {
            Err(Malformed::bad(format!("method `{m}` is not upper case")))
        }
        _ => Ok(()),
    }
}

type PathQuery<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>);

/// The normalised path (`/` for an HTTP request without one) and the query.
#[inline(always)]
fn path_and_query(
    raw_path: Option<Cow<'_, str>>,
    protocol: Protocol,
    mode: PathNormalization,
) -> Result<PathQuery<'_>, Malformed> {
    Ok(match raw_path {
        Some(Cow::Borrowed(raw)) => {
            let (matched, query) = normalize_path_split(raw, mode)?;
            (Some(matched), query.map(Cow::Borrowed))
        }
        Some(Cow::Owned(raw)) => {
            let (matched, query) = normalize_path_split(&raw, mode)?;
            (
                Some(Cow::Owned(matched.into_owned())),
                query.map(|q| Cow::Owned(q.to_string())),
            )
        }
        None if protocol == Protocol::Http => (Some(Cow::Borrowed("/")), None),
        None => (None, None),
    })
}

/// Checks every header name; folds the headers only when `fold_headers`.
#[inline(always)]
fn fold<'a>(r: &RequestRef<'a>, fold_headers: bool) -> Result<FoldedHeaders<'a>, Malformed> {
    let mut headers = FoldedHeaders::default();
    r.headers.try_each(|name, item: Item<'a>| {
        if !header_name_ok(name) {
            return Err(Malformed::bad(format!("header name `{name}` is not valid")));
        }
        if fold_headers {
            headers.add(lower(name), item.joined());
        }
        Ok(())
    })?;
    Ok(headers)
}

/// Whether `name` is a header name Envoy accepts here: not empty, no whitespace and no
/// control character. ASCII names (all but a few) are checked byte by byte: below 0x80
/// the whitespace and control characters are exactly the bytes up to 0x20 and 0x7F.
#[inline(always)]
fn header_name_ok(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    if bytes.iter().all(|&b| b > b' ' && b < 0x7F) {
        return true;
    }
    // Anything else: the character rule itself (a non-ASCII name may still be valid).
    !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `text` lower-cased, borrowed when it has no upper-case letter.
pub(crate) fn lower(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

#[inline(always)]
fn parse_ip(field: &str, text: Option<&str>) -> Result<Option<IpAddr>, Malformed> {
    match text {
        None => Ok(None),
        Some(t) => parse_ip_text(field, t).map(Some),
    }
}

/// The address `text` is (kept out of line: most requests name none).
#[inline(never)]
fn parse_ip_text(field: &str, text: &str) -> Result<IpAddr, Malformed> {
    text.parse()
        .map_err(|_| Malformed::bad(format!("{field} `{text}` is not an IP address")))
}

type Spiffe<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

/// Splits `td/ns/x/sa/y` (a SPIFFE URI without its scheme) into trust domain, namespace
/// and service account.
pub(super) fn parse_spiffe(rest: &str) -> Spiffe<'_> {
    // The shape every mesh identity has, `td/ns/<x>/sa/<y>` with no other `/`, found with
    // byte loops (`memchr`'s set-up costs more than these short texts); anything else goes
    // through the segment walk, which defines the result
    // (`spiffe_fast_path_agrees_with_the_segment_walk` compares both).
    let slash = |text: &str| text.bytes().position(|b| b == b'/');
    let Some(first) = slash(rest) else {
        return (Some(rest), None, None);
    };
    let (trust_domain, tail) = (rest.get(..first), rest.get(first + 1..).unwrap_or_default());
    if let Some(after_ns) = tail.strip_prefix("ns/") {
        if let Some(end) = slash(after_ns) {
            let namespace = after_ns.get(..end).unwrap_or_default();
            let after = after_ns.get(end + 1..).unwrap_or_default();
            if let Some(account) = after.strip_prefix("sa/") {
                // `ns/sa/sa/y` reads `sa` as the account's marker too: the walk decides.
                if namespace != "sa" && slash(account).is_none() {
                    return (trust_domain, Some(namespace), Some(account));
                }
            }
        }
    }
    spiffe_segments(trust_domain, tail)
}

/// The first `ns/<x>` and the first `sa/<x>` pairs of segments of `tail` (what follows the
/// trust domain), read segment by segment.
fn spiffe_segments<'a>(trust_domain: Option<&'a str>, tail: &'a str) -> Spiffe<'a> {
    let (mut namespace, mut account) = (None, None);
    let mut previous: Option<&str> = None;
    for segment in tail.split('/') {
        match previous {
            Some("ns") if namespace.is_none() => namespace = Some(segment),
            Some("sa") if account.is_none() => account = Some(segment),
            _ => {}
        }
        previous = Some(segment);
    }
    (trust_domain, namespace, account)
}

/// Byte classes of an authority (see [`AUTHORITY_BYTES`]).
const INVALID: u8 = 1;
const UPPER: u8 = 2;
const NON_ASCII: u8 = 4;
const COLON: u8 = 8;

/// The class of every byte: ASCII whitespace, controls and `/` are invalid in an
/// authority (`char::is_whitespace`/`is_control` on ASCII), `A`-`Z` are upper case,
/// bytes from 0x80 start non-ASCII characters (checked character by character).
// Indexing in a constant is checked when the crate compiles: it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const AUTHORITY_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let byte = b as u8;
        table[b] = if byte >= 0x80 {
            NON_ASCII
        } else if byte.is_ascii_whitespace() || byte.is_ascii_control() || byte == b'/' {
            INVALID
        } else if byte.is_ascii_uppercase() {
            UPPER
        } else if byte == b':' {
            COLON
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Splits an authority into lower-cased host and port.
pub(super) fn split_authority(
    authority: &str,
) -> Result<(Option<Cow<'_, str>>, Option<u16>), Malformed> {
    if authority.is_empty() {
        return Ok((None, None));
    }
    // One pass over the authority, a table lookup per byte: whether it is valid ASCII,
    // where its last `:` is, and whether it has upper-case letters (then the host is
    // lower-cased).
    let mut seen = 0u8;
    let mut last_colon = None;
    for (at, &b) in authority.as_bytes().iter().enumerate() {
        let class = AUTHORITY_BYTES.get(usize::from(b)).copied().unwrap_or(0);
        seen |= class;
        if class & COLON != 0 {
            last_colon = Some(at);
        }
    }
    let (ascii_invalid, non_ascii, upper) = (
        seen & INVALID != 0,
        seen & NON_ASCII != 0,
        seen & UPPER != 0,
    );
    let invalid = if !non_ascii {
        ascii_invalid
    } else {
        // `char::is_whitespace` and `is_control` beyond ASCII need the characters.
        authority
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    };
    if invalid {
        return Err(Malformed::bad(format!(
            "host `{authority}` is not a valid authority"
        )));
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => {
                return Err(Malformed::bad(format!(
                    "host `{authority}` has an unclosed `[`"
                )))
            }
        }
    } else {
        match last_colon {
            Some(at) => (
                authority.get(..at).unwrap_or_default(),
                authority.get(at + 1..),
            ),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| Malformed::bad(format!("host `{authority}` has an invalid port")))?,
        ),
        None => None,
    };
    let host = if upper {
        lower(host)
    } else {
        Cow::Borrowed(host)
    };
    Ok((Some(host), port))
}

type UrlParts<'a> = (Option<&'a str>, Option<u16>, Option<Cow<'a, str>>);

/// Splits `scheme://authority/path?query` without resolving anything.
pub(super) fn split_url(url: &str) -> Result<UrlParts<'_>, Malformed> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Malformed::bad(format!("url `{url}` has no scheme")))?;
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(at) => (
            rest.get(..at).unwrap_or_default(),
            rest.get(at..).unwrap_or_default(),
        ),
        None => (rest, "/"),
    };
    let path = if path.starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("/{path}"))
    };
    let (_, explicit_port) = split_authority(authority)?;
    let port = if scheme.eq_ignore_ascii_case("https") {
        explicit_port.or(Some(443))
    } else if scheme.eq_ignore_ascii_case("http") {
        explicit_port
    } else {
        return Err(Malformed::bad(format!(
            "url scheme `{}` is not http or https",
            scheme.to_ascii_lowercase()
        )));
    };
    Ok((Some(authority), port, Some(path)))
}

#[cfg(test)]
mod tests {
    use super::header_name_ok;

    /// The byte check agrees with the character rule it stands for, on every ASCII
    /// character and on non-ASCII names.
    #[test]
    fn header_name_check_is_the_character_rule() {
        let rule =
            |n: &str| !n.is_empty() && !n.chars().any(|c| c.is_whitespace() || c.is_control());
        for b in 0u8..0x80 {
            let name = format!("x{}y", char::from(b));
            assert_eq!(header_name_ok(&name), rule(&name), "byte {b:#x}");
        }
        for name in ["", "é", "x\u{85}", "x\u{a0}", "x\u{2003}", "ünï", "a\u{9f}"] {
            assert_eq!(header_name_ok(name), rule(name), "{name:?}");
        }
    }
}
