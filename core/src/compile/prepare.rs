//! Request pre-digestion: everything `decide` needs, computed once per request.
//!
//! The digest borrows: the walked road, its route, enforcement point and candidate lists
//! from the engine's road memo, and the request's text. On a memo hit it reads the
//! request where it lies ([`Attrs::Lent`](super::lent::Attrs)): only the fields outside
//! the road key are checked, and a plain request (a path without anything to normalise) is
//! digested without allocating. Elsewhere it holds a [`Normalized`] that borrows wherever
//! normalisation leaves the text as it was.

use std::borrow::Cow;
use std::sync::Arc;

use crate::decision::Route;
use crate::model::{Condition, Labels, Model};
use crate::request::{
    check_own, digest, Malformed, Normalized, Own, Protocol, Request, RequestRef, Seen, Shared,
};
use crate::road::{self, End, Road};

use super::index::IndexKeys;
use super::lent::{Attrs, KnownOwned, Lent};
use super::matchers::method_bit;
use super::memo::Memo;
use super::road_key::{KeyBytes, RoadKey, SenderKey};
use super::{Compiled, PointCache};

/// A request digested for the compiled engine; it borrows from the request and the
/// engine. Building one allocates only for what normalisation changes (an upper-case
/// host, a path with something to normalise, folded headers when some rule reads them) and
/// on the first sight of a road; deciding on one never allocates.
#[derive(Debug, Clone)]
// The digest lives inline: boxing it would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum Prepared<'r> {
    /// Istio would reject the request before authorization (400).
    Malformed(Malformed),
    /// Ready to decide.
    Ready(Digest<'r>),
}

impl Prepared<'_> {
    /// The same prepared request, owning everything it borrowed from the request and the
    /// engine (for callers that keep prepared requests beyond the request's life).
    pub fn into_owned(self) -> Prepared<'static> {
        match self {
            Prepared::Malformed(m) => Prepared::Malformed(m),
            Prepared::Ready(d) => Prepared::Ready(d.into_owned()),
        }
    }
}

/// A well-formed request: normalised, host lower-cased, method mapped to a bit,
/// service-account labels resolved, road walked.
#[derive(Debug, Clone)]
pub struct Digest<'r> {
    /// The request's attributes (read where they lie on a memo hit; see [`Attrs`]).
    pub(crate) attrs: Attrs<'r>,
    /// The walked road with its route, enforcement point, index keys and what was derived
    /// from the road key's fields: lent by the engine's road memo, or the request's own.
    walked: Shared<'r, Walked>,
    /// The engine whose point and index keys `walked` holds; any other engine ignores
    /// them.
    engine: u64,
    /// Bit of the method in the standard set (0 for others).
    pub(crate) method_bit: u16,
    /// Whether only TCP-level attributes are visible.
    pub(crate) is_tcp: bool,
    /// Labels of the source's service account (Gloo selectors); looked up only when
    /// some rule reads them.
    pub(crate) account_labels: Option<Shared<'r, Labels>>,
}

/// Applies what the road decided to the request authorization sees: the port the
/// enforcing proxy listens on, and a JWT only when that proxy validated it.
fn apply(road: &Road, normalized: &mut Normalized<'_>) {
    if let Some(seen) = seen(road) {
        normalized.port = seen.port;
        if !seen.jwt_valid {
            normalized.jwt = None;
        }
        if !seen.peer_identity {
            normalized.forget_peer();
        }
    }
}

/// What the proxy that enforces on `road` makes of a request (`None`: nothing enforces):
/// what [`apply`] applies to a built digest and `Normalized::known` builds one with.
#[inline(always)]
fn seen(road: &Road) -> Option<Seen> {
    match &road.end {
        End::Enforce(e) => Some(Seen {
            port: e.port,
            jwt_valid: e.jwt_valid,
            peer_identity: e.peer_identity,
        }),
        _ => None,
    }
}

/// The peer URI of a principal written without its scheme.
fn peer_uri(peer: &str) -> Cow<'static, str> {
    Cow::Owned(format!("spiffe://{peer}"))
}

impl<'r> Prepared<'r> {
    /// Digests `request` for `model`'s mesh settings, walking its road (no memo).
    pub fn new(request: &'r Request, model: &'r Model) -> Self {
        match request.normalize(model.mesh.path_normalization) {
            Ok(normalized) => {
                // Walk the road first: authorization then sees the port the enforcing
                // proxy listens on, and a JWT only when that proxy validated it.
                let mut road = road::walk(model, &normalized);
                let route = road::route(model, &mut road);
                let walked = Walked {
                    seen: seen(&road),
                    known: KnownOwned::of(&normalized),
                    index_keys: None,
                    point: None,
                    route: route.map(Box::new),
                    road,
                };
                Prepared::Ready(Digest::full(
                    Box::new(normalized),
                    model,
                    Shared::Owned(Arc::new(walked)),
                    NO_ENGINE,
                    true,
                ))
            }
            Err(malformed) => Prepared::Malformed(malformed),
        }
    }

    /// Digests `request` for one compiled engine: the road comes from the engine's road
    /// memo (walked on first sight of the raw fields the road reads, see [`RoadKey`])
    /// together with the engine's precomputed enforcement point and what the first digest
    /// derived from those fields. Another engine ignores the point.
    ///
    /// `sender`: the sender's half of the key, written and hashed once per connection
    /// (`request` then carries the connection's sender fields: `Connection::view`).
    pub(crate) fn for_engine(
        request: &RequestRef<'r>,
        sender: Option<&SenderKey>,
        model: &'r Model,
        compiled: &'r Compiled,
    ) -> Self {
        let (mode, fold) = (
            model.mesh.path_normalization,
            compiled.route_reads.any_headers,
        );
        let found = KeyBytes::with(
            sender,
            request,
            compiled.route_reads,
            |key, hash| match compiled.roads.find(hash, |s| s.key.is(key)) {
                Some(Stored { walked, .. }) => Ok(walked),
                None => Err((hash, key.to_key())),
            },
        );
        let (hash, key) = match found {
            // A hit: only the fields outside the road key are checked; the rest is lent
            // by the memo.
            Ok(walked) => {
                let known = &walked.known;
                return match request.url {
                    None => match check_own(request, mode, fold, known.protocol) {
                        Ok(own) => {
                            Prepared::Ready(Digest::lent(request, own, walked, model, compiled))
                        }
                        Err(malformed) => Prepared::Malformed(malformed),
                    },
                    // The URL's path is the request's own: digest in full, lend the rest.
                    Some(_) => match digest(request, mode, fold, false) {
                        Ok((mut normalized, _)) => {
                            normalized.peer_uri = known.peer_uri.as_deref().map(Cow::Borrowed);
                            Prepared::Ready(Digest::full(
                                Box::new(normalized),
                                model,
                                Shared::Borrowed(walked),
                                compiled.id(),
                                compiled.reads_account_labels,
                            ))
                        }
                        Err(malformed) => Prepared::Malformed(malformed),
                    },
                };
            }
            Err(miss) => miss,
        };
        match digest(request, mode, fold, false) {
            Ok((normalized, peer)) => Prepared::Ready(Digest::walk_into_memo(
                Box::new(normalized),
                peer,
                hash,
                key,
                model,
                compiled,
            )),
            Err(malformed) => Prepared::Malformed(malformed),
        }
    }
}

/// The engine id no compiled engine has (`Prepared::new` walks for none).
const NO_ENGINE: u64 = u64::MAX;

/// A walked road with its route and the engine's enforcement point: what the road memo
/// keeps per [`RoadKey`].
///
/// In this order (`repr(C)`): what a memo hit and then `decide` read of it come first,
/// so they share a few cache lines after the memo's hash and key; the road's hops,
/// caveats and exit, read for a full decision only, come last.
#[derive(Debug, Clone)]
#[repr(C)]
pub(crate) struct Walked {
    /// What the enforcing proxy makes of a request on this road (`seen(&road)`).
    pub(crate) seen: Option<Seen>,
    /// What the digest derived from the key's raw fields (lent on a memo hit).
    pub(crate) known: KnownOwned,
    /// The index keys of a request on this road (see [`Digest::index_keys`]).
    pub(crate) index_keys: Option<IndexKeys>,
    pub(crate) point: Option<Arc<PointCache>>,
    pub(crate) route: Option<Box<Route>>,
    pub(crate) road: Road,
}

/// A road memo entry: the key, then the road (`repr(C)`: the key's pointer shares the
/// hash's cache line).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Stored {
    key: RoadKey,
    walked: Walked,
}

/// Which request attributes the model reads beyond the road's fixed ones: what route
/// matches read (the road reads method, path and headers only through them), and whether
/// anything (a route match or a rule's `when`) reads headers at all.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RouteReads {
    pub(crate) method: bool,
    pub(crate) path: bool,
    pub(crate) headers: bool,
    /// Headers are folded at prepare time only when this holds.
    pub(crate) any_headers: bool,
}

impl RouteReads {
    pub(crate) fn of(model: &Model) -> Self {
        let mut reads = RouteReads::default();
        for m in model
            .virtual_services
            .iter()
            .flat_map(|vs| vs.http.iter())
            .flat_map(|r| r.matches.iter())
        {
            reads.method |= m.method.is_some();
            reads.path |= m.uri.is_some();
            reads.headers |= !m.headers.is_empty();
        }
        reads.any_headers = reads.headers
            || model
                .policies
                .iter()
                .flat_map(|p| p.rules.iter())
                .flat_map(|r| r.when.iter())
                .any(|c| matches!(c, Condition::RequestHeader { .. }));
        reads
    }
}

/// Walks the road of `n` (digested, not yet on its road) in full: a memo miss.
pub(crate) fn walk(model: &Model, compiled: &Compiled, n: &Normalized<'_>) -> Walked {
    let known = KnownOwned::of(n);
    let mut road = road::walk(model, n);
    let route = road::route(model, &mut road);
    let point = match &road.end {
        End::Enforce(enforcement) => Some(compiled.resolve_point(model, &enforcement.point)),
        _ => None,
    };
    // Everything the pair keys read is in the road key: the peer (dropped where the
    // enforcing proxy sees no peer identity, as `apply` does) and the proxy's namespace.
    // The candidate lists hold for this request's authority; `decide` checks it.
    let index_keys = match &road.end {
        End::Enforce(e) => {
            let authority = match n.protocol {
                Protocol::Http => n.authority.as_deref().map(str::to_ascii_lowercase),
                Protocol::Tls | Protocol::Tcp => None,
            };
            Some(compiled.index.keys_of(
                n.peer_uri.as_deref().filter(|_| e.peer_identity),
                &e.point.namespace,
                authority.as_deref(),
                n.protocol != Protocol::Http,
            ))
        }
        _ => None,
    };
    Walked {
        seen: seen(&road),
        known,
        index_keys,
        point,
        route: route.map(Box::new),
        road,
    }
}

impl<'r> Digest<'r> {
    /// The digest of a memo hit on a request without `url`: its attributes lent
    /// (`Lent::new` of `request` and what `check_own` made of it, built in place: computing
    /// the service-account labels first saves moving the ~250-byte `Lent` into the digest),
    /// and everything else lent by the memo entry `walked`. Agrees with [`Digest::full`] on
    /// the same request (the prepare tests compare them).
    #[inline(always)]
    fn lent(
        request: &RequestRef<'r>,
        own: Own<'r>,
        walked: &'r Walked,
        model: &'r Model,
        compiled: &'r Compiled,
    ) -> Self {
        let known = &walked.known;
        let peer = Lent::sees_peer(walked.seen);
        let account_labels = account_labels(
            model,
            Lent::part_if(&known.namespace, peer),
            Lent::part_if(&known.service_account, peer),
            compiled.reads_account_labels,
            || Lent::claimed_labels(request.source_labels),
        );
        Digest {
            method_bit: request.method.map_or(0, method_bit),
            is_tcp: known.protocol != Protocol::Http,
            attrs: Attrs::Lent(Lent::new(request, known, own, walked.seen)),
            walked: Shared::Borrowed(walked),
            engine: compiled.id(),
            account_labels,
        }
    }

    /// Walks the road of `normalized` (whose peer is `peer`, its SPIFFE URI without the
    /// scheme) on a memo miss and stores it under `key` (hash `hash`); when the memo is
    /// full, the road is the request's own.
    fn walk_into_memo(
        mut normalized: Box<Normalized<'r>>,
        peer: Option<&str>,
        hash: u64,
        key: RoadKey,
        model: &'r Model,
        compiled: &'r Compiled,
    ) -> Self {
        if let (None, Some(peer)) = (&normalized.peer_uri, peer) {
            normalized.peer_uri = Some(peer_uri(peer));
        }
        let walked = walk(model, compiled, &normalized);
        let stored = Stored { key, walked };
        let walked = match compiled.roads.insert(hash, stored) {
            Ok(Stored { walked: stored, .. }) => {
                // Lend the stored copies, as a hit does.
                normalized.peer_uri = stored.known.peer_uri.as_deref().map(Cow::Borrowed);
                Shared::Borrowed(stored)
            }
            Err(Some(Stored { walked, .. })) => Shared::Owned(Arc::new(walked)),
            Err(None) => Shared::Owned(Arc::new(walk(model, compiled, &normalized))),
        };
        Digest::full(
            normalized,
            model,
            walked,
            compiled.id(),
            compiled.reads_account_labels,
        )
    }

    /// A digest of `normalized` (digested, not yet on its road) on `walked` (whose point
    /// and index keys are `engine`'s): applies what the road decided to the request
    /// authorization sees, and computes what `decide` reads beyond the request.
    fn full(
        mut normalized: Box<Normalized<'r>>,
        model: &'r Model,
        walked: Shared<'r, Walked>,
        engine: u64,
        reads_account_labels: bool,
    ) -> Self {
        apply(&walked.road, &mut normalized);
        let account_labels = account_labels(
            model,
            normalized.namespace.as_deref(),
            normalized.service_account.as_deref(),
            reads_account_labels,
            || normalized.source_labels.clone(),
        );
        Digest {
            method_bit: normalized.method.as_deref().map_or(0, method_bit),
            is_tcp: normalized.protocol != Protocol::Http,
            attrs: Attrs::Full(normalized),
            walked,
            engine,
            account_labels,
        }
    }

    /// `:authority` lower-cased (authz `hosts` compare with it, port included).
    #[inline]
    pub(crate) fn authority_lower(&self) -> Option<&str> {
        self.walked
            .known
            .lowered_authority
            .as_deref()
            .or(self.authority())
    }

    /// The road the request takes.
    #[inline]
    pub(crate) fn road(&self) -> &Road {
        &self.walked.road
    }

    /// The route an allowed request takes.
    #[inline]
    pub(crate) fn route(&self) -> Option<&Route> {
        self.walked.route.as_deref()
    }

    /// The precomputed enforcement point, when `engine` walked the road.
    #[inline]
    pub(crate) fn point(&self, engine: u64) -> Option<&PointCache> {
        self.walked
            .point
            .as_deref()
            .filter(|_| self.engine == engine)
    }

    /// What `engine`'s index gives a request on this road (see [`IndexKeys`]), when
    /// `engine` walked it; `decide` probes the index otherwise (or for another authority).
    #[inline]
    pub(crate) fn index_keys(&self, engine: u64) -> Option<&IndexKeys> {
        self.walked
            .index_keys
            .as_ref()
            .filter(|_| self.engine == engine)
    }

    /// The same digest, owning everything.
    pub fn into_owned(self) -> Digest<'static> {
        let normalized = match self.attrs {
            Attrs::Lent(l) => l.to_normalized(),
            Attrs::Full(n) => *n,
        };
        Digest {
            attrs: Attrs::Full(Box::new(normalized.into_owned())),
            walked: self.walked.into_owned(),
            engine: self.engine,
            method_bit: self.method_bit,
            is_tcp: self.is_tcp,
            account_labels: self.account_labels.map(Shared::into_owned),
        }
    }
}

/// The labels of the source's service account when some rule reads them: a loaded
/// ServiceAccount's win over what the request claims (`claimed`).
#[inline(always)]
fn account_labels<'r>(
    model: &'r Model,
    namespace: Option<&str>,
    service_account: Option<&str>,
    reads: bool,
    claimed: impl FnOnce() -> Shared<'r, Labels>,
) -> Option<Shared<'r, Labels>> {
    match (namespace, service_account) {
        (Some(ns), Some(sa)) if reads => Some(
            model
                .service_accounts
                .iter()
                .find(|a| a.namespace == ns && a.name == sa)
                .map_or_else(claimed, |a| Shared::Borrowed(&a.labels)),
        ),
        _ => None,
    }
}

/// Walked roads by key hash: (key, road) index_keys the memo lends to prepared requests.
pub(crate) type RoadMemo = Memo<Stored>;

/// How many distinct roads (see `RoadKey`) an engine remembers.
pub const ROADS: usize = 16_384;

impl Compiled {
    /// How many roads the memo holds.
    pub fn memoized_roads(&self) -> usize {
        self.roads.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{generate_profile, Layout, Profile};
    use crate::Engine;

    fn digest<'a>(p: &'a Prepared<'a>) -> &'a Digest<'a> {
        match p {
            Prepared::Ready(d) => d,
            Prepared::Malformed(m) => panic!("malformed: {}", m.message),
        }
    }

    #[test]
    fn memoized_roads_equal_fresh_walks_and_are_reused() {
        for profile in [Profile::Gateways, Profile::Conditions, Profile::Mixed] {
            let w = generate_profile(200, 5, profile, Layout::Files);
            let engine = Engine::from_files(w.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .unwrap_or_else(|e| panic!("{e}"));
            let model = engine.model();
            let compiled = Compiled::new(model);
            for request in &w.requests {
                let fresh = Prepared::new(request, model);
                let memo = Prepared::for_engine(&request.view(), None, model, &compiled);
                let (fresh, memo) = (digest(&fresh), digest(&memo));
                assert_eq!(fresh.road(), memo.road(), "{profile}: {request:?}");
                assert_eq!(fresh.route(), memo.route(), "{profile}: {request:?}");
                assert_eq!(fresh.normalized().port, memo.normalized().port);
                assert_eq!(fresh.normalized().jwt, memo.normalized().jwt);
            }
            let roads = compiled.memoized_roads();
            assert!(roads > 0 && roads < w.requests.len(), "{profile}: {roads}");
            for request in &w.requests {
                let again = Prepared::for_engine(&request.view(), None, model, &compiled);
                assert!(digest(&again).point(compiled.id()).is_some());
            }
            assert_eq!(compiled.memoized_roads(), roads, "{profile}: no new walks");
        }
    }
    /// A memo hit skips the checks of the keyed fields and lends what the first digest
    /// derived from them: every request must come out as a fresh digest makes it, on its
    /// first sight and on a hit, malformed ones with the same message.
    #[test]
    fn memo_hits_digest_as_fresh_digests_do() {
        let w = generate_profile(60, 9, Profile::Mixed, Layout::Files);
        let engine = Engine::from_files(w.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .unwrap_or_else(|e| panic!("{e}"));
        let model = engine.model();
        let compiled = Compiled::new(model);
        let mut requests = Vec::new();
        for base in w.requests.iter().take(20) {
            let mut upper = base.clone();
            upper.host = base.host.as_ref().map(|h| h.to_ascii_uppercase());
            let mut spiffe = base.clone();
            spiffe.source.principal = base.source.principal.as_ref().map(|p| {
                if p.starts_with("spiffe://") {
                    p.clone()
                } else {
                    format!("spiffe://{p}")
                }
            });
            let mut url = base.clone();
            url.url = base
                .host
                .as_ref()
                .map(|h| format!("https://{h}{}", base.path.as_deref().unwrap_or("/x")));
            url.path = None;
            // The same origin, another path and a query: one road, the path its own.
            let mut url_other = url.clone();
            url_other.url = base
                .host
                .as_ref()
                .map(|h| format!("https://{h}/other/../p?x=1"));
            let variants = [
                ("method", "get"),
                ("path", "/a/%00"),
                ("path", "a"),
                ("path", "/a//b/../c?q=1"),
                ("header", "bad name"),
                ("source_ip", "not-an-ip"),
                ("remote_ip", "10.0.0.1"),
                ("host", "a b"),
                ("namespace", "other-ns"),
            ];
            for r in [base.clone(), upper, spiffe, url, url_other] {
                requests.push(r.clone());
                for (field, value) in variants {
                    let mut v = r.clone();
                    match field {
                        "method" => v.method = Some(value.into()),
                        "path" => v.path = Some(value.into()),
                        "header" => {
                            v.headers
                                .insert(value.into(), crate::request::HeaderValue::One("1".into()));
                        }
                        "source_ip" => v.source.ip = Some(value.into()),
                        "remote_ip" => v.source.remote_ip = Some(value.into()),
                        "host" => v.host = Some(value.into()),
                        _ => v.source.namespace = Some(value.into()),
                    }
                    requests.push(v);
                }
            }
        }
        type Summary = (
            Normalized<'static>,
            Road,
            Option<Route>,
            Option<String>,
            Option<Labels>,
            u16,
            bool,
        );
        // `Prepared::new` always looks the account's labels up; an engine only when a rule
        // reads them.
        let labels = compiled.reads_account_labels;
        let summary = |p: &Prepared<'_>| -> Result<Summary, Malformed> {
            match p {
                Prepared::Malformed(m) => Err(m.clone()),
                Prepared::Ready(d) => Ok((
                    d.normalized().into_owned().into_owned(),
                    d.road().clone(),
                    d.route().cloned(),
                    d.authority_lower().map(str::to_string),
                    d.account_labels.as_deref().cloned().filter(|_| labels),
                    d.method_bit,
                    d.is_tcp,
                )),
            }
        };
        for pass in ["first sight", "hit"] {
            for request in &requests {
                let fresh = Prepared::new(request, model);
                let memo = Prepared::for_engine(&request.view(), None, model, &compiled);
                assert_eq!(summary(&fresh), summary(&memo), "{pass}: {request:?}");
                for p in [&fresh, &memo] {
                    if let Prepared::Ready(d) = p {
                        super::super::lent::assert_accessors_read_normalized(d);
                    }
                }
            }
        }
        assert!(compiled.memoized_roads() > 0);
    }
}
