//! The attributes of a digested request, read where they lie.
//!
//! On a road memo hit the digest is not a normalised copy of the request: it is the few
//! words that point at what the memo derived from the keyed fields ([`KnownOwned`]), the
//! caller's own fields authorization reads, and what [`check_own`] made of the rest (path,
//! query, folded headers, addresses). `decide` reads every attribute through the
//! accessors below, which give what [`Normalized`] would hold for the same request after
//! its road (the prepare tests compare the two, field by field). Building, moving and
//! dropping the ~450-byte `Normalized` on every request was a quarter of `prepare`.
//!
//! [`check_own`]: crate::request::check_own

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::Labels;
use crate::request::{
    lower, FoldedHeaders, Jwt, Known, Normalized, Own, Protocol, RequestRef, Seen, Shared, Workload,
};

use super::prepare::Digest;

/// A digest's request attributes.
#[derive(Debug, Clone)]
// The hit is the hot variant: boxing it would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Attrs<'r> {
    /// A memo hit on a request without `url`: read where they lie.
    Lent(Lent<'r>),
    /// Normalised in full: a memo miss, a request with `url`, `Prepared::new`, and an
    /// owned digest. Boxed so that a digest stays a few words on the hot path.
    Full(Box<Normalized<'r>>),
}

/// [`Known`], owned by the road memo.
#[derive(Debug, Clone)]
pub(crate) struct KnownOwned {
    pub(super) protocol: Protocol,
    pub(super) port: u16,
    pub(super) host: Option<Box<str>>,
    pub(super) peer_uri: Option<Box<str>>,
    pub(super) trust_domain: Option<Box<str>>,
    pub(super) namespace: Option<Box<str>>,
    pub(super) service_account: Option<Box<str>>,
    pub(super) destination_ip: Option<IpAddr>,
    /// `:authority` lower-cased, when it has upper-case letters.
    pub(super) lowered_authority: Option<Box<str>>,
}

impl KnownOwned {
    /// What `n` (digested, not yet on its road) derived from the key's fields.
    pub(super) fn of(n: &Normalized<'_>) -> Self {
        let boxed = |t: &Option<Cow<'_, str>>| t.as_deref().map(Box::from);
        KnownOwned {
            protocol: n.protocol,
            port: n.port,
            host: boxed(&n.host),
            peer_uri: boxed(&n.peer_uri),
            trust_domain: boxed(&n.trust_domain),
            namespace: boxed(&n.namespace),
            service_account: boxed(&n.service_account),
            destination_ip: n.destination_ip,
            lowered_authority: match n.authority.as_deref().map(lower) {
                Some(Cow::Owned(lowered)) => Some(lowered.into()),
                _ => None,
            },
        }
    }

    #[inline(always)]
    pub(super) fn borrow(&self) -> Known<'_> {
        Known {
            protocol: self.protocol,
            port: self.port,
            host: self.host.as_deref(),
            peer_uri: self.peer_uri.as_deref(),
            trust_domain: self.trust_domain.as_deref(),
            namespace: self.namespace.as_deref(),
            service_account: self.service_account.as_deref(),
            destination_ip: self.destination_ip,
        }
    }
}

/// A memo hit's attributes: what the memo knows, the request's own fields as given, and
/// what the proxy that enforces on the road makes of them (`peer`, `jwt_valid`, `port`:
/// the road's [`Seen`], kept in the form the accessors read).
#[derive(Debug, Clone)]
pub(crate) struct Lent<'r> {
    known: &'r KnownOwned,
    own: Own<'r>,
    /// Whether the enforcing proxy sees the peer's mTLS identity.
    peer: bool,
    /// Whether the enforcing proxy validated the JWT.
    jwt_valid: bool,
    /// The port the enforcing proxy listens on.
    port: u16,
    authority: Option<&'r str>,
    method: Option<&'r str>,
    sni: Option<&'r str>,
    cluster: Option<&'r str>,
    source_namespace: Option<&'r str>,
    jwt: Option<&'r Jwt>,
    custom: Option<&'r BTreeMap<String, bool>>,
    workload: Option<&'r Workload>,
    source_labels: Option<&'r Labels>,
    pod_labels: Option<&'r Labels>,
}

/// What an absent verdict map and label map read as.
static NO_VERDICTS: BTreeMap<String, bool> = BTreeMap::new();
static NO_LABELS: Labels = Labels::new();

impl<'r> Lent<'r> {
    /// The attributes of `r` on a memo hit: `known` from the memo, `own` from
    /// `check_own`, as the proxy that enforces on the road sees them (`seen`; `None`: as
    /// sent).
    #[inline(always)]
    pub(super) fn new(
        r: &RequestRef<'r>,
        known: &'r KnownOwned,
        own: Own<'r>,
        seen: Option<Seen>,
    ) -> Self {
        Lent {
            known,
            own,
            peer: Lent::sees_peer(seen),
            jwt_valid: seen.is_none_or(|s| s.jwt_valid),
            port: seen.map_or(known.port, |s| s.port),
            authority: r.host,
            method: r.method,
            sni: r.sni,
            cluster: r.cluster,
            source_namespace: r.source_namespace,
            jwt: r.jwt,
            custom: r.custom,
            workload: r.workload,
            source_labels: r.source_labels,
            pod_labels: r.pod_labels,
        }
    }

    /// Whether the proxy that makes `seen` of a request sees the peer's mTLS identity
    /// (`None`: as sent).
    #[inline(always)]
    pub(super) fn sees_peer(seen: Option<Seen>) -> bool {
        seen.is_none_or(|s| s.peer_identity)
    }

    /// A part of the peer's identity, when the enforcing proxy sees it.
    #[inline(always)]
    pub(super) fn peer_part(&self, part: &'r Option<Box<str>>) -> Option<&'r str> {
        Lent::part_if(part, self.peer)
    }

    /// `part`, when `peer` (the enforcing proxy sees the peer's identity).
    #[inline(always)]
    pub(super) fn part_if(part: &'r Option<Box<str>>, peer: bool) -> Option<&'r str> {
        part.as_deref().filter(|_| peer)
    }

    /// The source labels `claimed` (none: empty).
    #[inline(always)]
    pub(super) fn claimed_labels(claimed: Option<&'r Labels>) -> Shared<'r, Labels> {
        Shared::Borrowed(claimed.unwrap_or(&NO_LABELS))
    }

    /// The same attributes as a [`Normalized`] (what `digest` and the road make of the
    /// request).
    pub(super) fn to_normalized(&self) -> Normalized<'r> {
        let r = RequestRef {
            host: self.authority,
            method: self.method,
            sni: self.sni,
            cluster: self.cluster,
            source_namespace: self.source_namespace,
            jwt: self.jwt,
            custom: self.custom,
            workload: self.workload,
            source_labels: self.source_labels,
            pod_labels: self.pod_labels,
            ..RequestRef::default()
        };
        // What the road's `Seen` gave (`None` reads as this one: the request as sent).
        let seen = Seen {
            port: self.port,
            jwt_valid: self.jwt_valid,
            peer_identity: self.peer,
        };
        Normalized::known(&r, &self.known.borrow(), self.own.clone(), Some(seen))
    }
}

/// The attributes `decide` reads, each as [`Normalized`]'s field of the same name holds
/// it after the road.
impl<'r> Digest<'r> {
    /// The peer's SPIFFE URI, when the enforcing proxy sees it.
    #[inline]
    pub(crate) fn peer_uri(&self) -> Option<&str> {
        match &self.attrs {
            Attrs::Lent(l) => l.peer_part(&l.known.peer_uri),
            Attrs::Full(n) => n.peer_uri.as_deref(),
        }
    }

    /// The peer's namespace, when the enforcing proxy sees it.
    #[inline]
    pub(crate) fn namespace(&self) -> Option<&str> {
        match &self.attrs {
            Attrs::Lent(l) => l.peer_part(&l.known.namespace),
            Attrs::Full(n) => n.namespace.as_deref(),
        }
    }

    /// The source cluster.
    #[inline]
    pub(crate) fn cluster(&self) -> Option<&str> {
        match &self.attrs {
            Attrs::Lent(l) => l.cluster,
            Attrs::Full(n) => n.cluster.as_deref(),
        }
    }

    /// The JWT, when the enforcing proxy validated it.
    #[inline]
    pub(crate) fn jwt(&self) -> Option<&Jwt> {
        match &self.attrs {
            Attrs::Lent(l) => l.jwt.filter(|_| l.jwt_valid),
            Attrs::Full(n) => n.jwt.as_deref(),
        }
    }

    /// The direct peer's address.
    #[inline]
    pub(crate) fn source_ip(&self) -> Option<IpAddr> {
        match &self.attrs {
            Attrs::Lent(l) => l.own.source_ip,
            Attrs::Full(n) => n.source_ip,
        }
    }

    /// The original client's address.
    #[inline]
    pub(crate) fn remote_ip(&self) -> Option<IpAddr> {
        match &self.attrs {
            Attrs::Lent(l) => l.own.remote_ip,
            Attrs::Full(n) => n.remote_ip,
        }
    }

    /// The destination address.
    #[inline]
    pub(crate) fn destination_ip(&self) -> Option<IpAddr> {
        match &self.attrs {
            Attrs::Lent(l) => l.known.destination_ip,
            Attrs::Full(n) => n.destination_ip,
        }
    }

    /// The port the enforcing proxy listens on.
    #[inline]
    pub(crate) fn port(&self) -> u16 {
        match &self.attrs {
            Attrs::Lent(l) => l.port,
            Attrs::Full(n) => n.port,
        }
    }

    /// `:method`.
    #[inline]
    pub(crate) fn method(&self) -> Option<&str> {
        match &self.attrs {
            Attrs::Lent(l) => l.method,
            Attrs::Full(n) => n.method.as_deref(),
        }
    }

    /// The normalised path, without query.
    #[inline]
    pub(crate) fn path(&self) -> Option<&str> {
        match &self.attrs {
            Attrs::Lent(l) => l.own.path.as_deref(),
            Attrs::Full(n) => n.path.as_deref(),
        }
    }

    /// The folded headers (empty when nothing reads headers).
    #[inline]
    pub(crate) fn headers(&self) -> &FoldedHeaders<'_> {
        match &self.attrs {
            Attrs::Lent(l) => &l.own.headers,
            Attrs::Full(n) => &n.headers,
        }
    }

    /// The SNI.
    #[inline]
    pub(crate) fn sni(&self) -> Option<&str> {
        match &self.attrs {
            Attrs::Lent(l) => l.sni,
            Attrs::Full(n) => n.sni.as_deref(),
        }
    }

    /// CUSTOM providers' verdicts.
    #[inline]
    pub(crate) fn custom(&self) -> &BTreeMap<String, bool> {
        match &self.attrs {
            Attrs::Lent(l) => l.custom.unwrap_or(&NO_VERDICTS),
            Attrs::Full(n) => &n.custom,
        }
    }

    /// The enforcing workload, when the request names it.
    #[inline]
    pub(crate) fn workload(&self) -> Option<&Workload> {
        match &self.attrs {
            Attrs::Lent(l) => l.workload,
            Attrs::Full(n) => n.workload.as_deref(),
        }
    }

    /// The raw `:authority`.
    #[inline]
    pub(crate) fn authority(&self) -> Option<&str> {
        match &self.attrs {
            Attrs::Lent(l) => l.authority,
            Attrs::Full(n) => n.authority.as_deref(),
        }
    }

    /// The request's attributes as a [`Normalized`] (borrowed when the digest holds one).
    pub fn normalized(&self) -> Cow<'_, Normalized<'r>> {
        match &self.attrs {
            Attrs::Lent(l) => Cow::Owned(l.to_normalized()),
            Attrs::Full(n) => Cow::Borrowed(n),
        }
    }
}

/// Asserts that every accessor gives what [`Digest::normalized`] holds in the field of
/// the same name (the prepare tests call it on fresh digests and on memo hits).
#[cfg(test)]
pub(super) fn assert_accessors_read_normalized(d: &Digest<'_>) {
    let n = d.normalized();
    assert_eq!(d.peer_uri(), n.peer_uri.as_deref(), "peer_uri");
    assert_eq!(d.namespace(), n.namespace.as_deref(), "namespace");
    assert_eq!(d.cluster(), n.cluster.as_deref(), "cluster");
    assert_eq!(d.jwt(), n.jwt.as_deref(), "jwt");
    assert_eq!(d.source_ip(), n.source_ip, "source_ip");
    assert_eq!(d.remote_ip(), n.remote_ip, "remote_ip");
    assert_eq!(d.destination_ip(), n.destination_ip, "destination_ip");
    assert_eq!(d.port(), n.port, "port");
    assert_eq!(d.method(), n.method.as_deref(), "method");
    assert_eq!(d.path(), n.path.as_deref(), "path");
    assert_eq!(d.headers(), &n.headers, "headers");
    assert_eq!(d.sni(), n.sni.as_deref(), "sni");
    assert_eq!(d.custom(), &*n.custom, "custom");
    assert_eq!(d.workload(), n.workload.as_deref(), "workload");
    assert_eq!(d.authority(), n.authority.as_deref(), "authority");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{Compiled, Prepared};
    use crate::request::{HeaderValue, Request};
    use crate::Engine;

    /// What `decide` reads of a digest, through the accessors (the headers only when
    /// some rule reads them: `Prepared::new` always folds them, an engine only then).
    fn read(p: &Prepared<'_>, headers: bool) -> String {
        let Prepared::Ready(d) = p else {
            return format!("{p:?}");
        };
        assert_accessors_read_normalized(d);
        format!(
            "{:?}",
            (
                (d.peer_uri(), d.namespace(), d.cluster(), d.jwt()),
                (d.source_ip(), d.remote_ip(), d.destination_ip(), d.port()),
                (
                    d.method(),
                    d.path(),
                    d.headers().len() * usize::from(headers),
                    d.sni()
                ),
                (d.custom(), d.workload(), d.authority_lower()),
            )
        )
    }

    /// Istio's egress gateway task with its plaintext sidecar-to-gateway hop (the
    /// gateway sees no peer identity) and no RequestAuthentication (no JWT is
    /// validated): a memo hit must read the request as the road leaves it, as a fresh
    /// digest does.
    #[test]
    fn a_hit_reads_what_the_enforcing_proxy_sees() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/istio-task-egress-gateway-authz-plaintext.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let vector: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let files: Vec<(String, String)> = vector["policy_files"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, lines)| {
                let lines: Vec<String> = serde_json::from_value(lines.clone()).unwrap_or_default();
                (name.clone(), lines.join("\n"))
            })
            .collect();
        let engine = Engine::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .unwrap_or_else(|e| panic!("{e}"));
        let model = engine.model();
        let compiled = Compiled::new(model);
        let base = Request {
            host: Some("edition.cnn.com".into()),
            method: Some("GET".into()),
            path: Some("/politics?x=1".into()),
            ..Request::default()
        };
        let mut requests = Vec::new();
        for principal in [None, Some("cluster.local/ns/default/sa/sleep")] {
            for jwt in [false, true] {
                let mut r = base.clone();
                r.source.principal = principal.map(String::from);
                r.source.cluster = Some("east".into());
                r.source.ip = Some("10.0.0.7".into());
                r.source.remote_ip = Some("192.0.2.1".into());
                r.custom.insert("ext".into(), true);
                r.headers
                    .insert("X-Team".into(), HeaderValue::One("a".into()));
                if jwt {
                    r.jwt = Some(crate::request::Jwt {
                        principal: Some("https://issuer.example/user-1".into()),
                        ..Default::default()
                    });
                }
                requests.push(r.clone());
                r.workload = "istio-system/app=istio-egressgateway,istio=egressgateway"
                    .parse()
                    .ok();
                requests.push(r);
            }
        }
        let mut peers_hidden = 0;
        for pass in ["first sight", "hit"] {
            for r in &requests {
                let fresh = Prepared::new(r, model);
                let memo = Prepared::for_engine(&r.view(), None, model, &compiled);
                let headers = compiled.route_reads.any_headers;
                assert_eq!(read(&fresh, headers), read(&memo, headers), "{pass}: {r:?}");
                if let Prepared::Ready(d) = &memo {
                    let lent = matches!(d.attrs, Attrs::Lent(_));
                    assert_eq!(lent, pass == "hit", "{pass}: {r:?}");
                    peers_hidden +=
                        usize::from(r.source.principal.is_some() && d.peer_uri().is_none());
                }
            }
        }
        // The case the test is for: the gateway does not see the sender's identity.
        assert!(peers_hidden > 0);
    }
}
