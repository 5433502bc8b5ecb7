//! Request pre-digestion: everything `decide` needs, computed once per request.
//!
//! The digest borrows: the request's text wherever normalisation leaves it as it was
//! (see [`Normalized`]), and the walked road, its route and enforcement point from the
//! engine's road memo. On a memo hit a plain request (lower-case host, a path without
//! anything to normalise) is digested without allocating.

use std::borrow::Cow;
use std::sync::Arc;

use crate::decision::Reason;
use crate::decision::Route;
use crate::model::{Condition, Labels, Model};
use crate::request::{digest, Malformed, Normalized, Protocol, Request, RequestRef, Shared};
use crate::road::{self, End, Road};

use super::index::IndexKeys;
use super::matchers::method_bit;
use super::memo::Memo;
use super::road_key::{KeyBytes, RoadKey};
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
    /// The normalised request.
    pub(crate) normalized: Normalized<'r>,
    /// `:authority` lower-cased when it has upper-case letters (see
    /// [`Digest::authority_lower`]).
    lowered_authority: Option<String>,
    /// Bit of the method in the standard set (0 for others).
    pub(crate) method_bit: u16,
    /// Whether only TCP-level attributes are visible.
    pub(crate) is_tcp: bool,
    /// Labels of the source's service account (Gloo selectors); looked up only when
    /// some rule reads them.
    pub(crate) account_labels: Option<Shared<'r, Labels>>,
    /// The road the request takes (lent by the engine's road memo, or walked here).
    pub(crate) road: Shared<'r, Road>,
    /// The route an allowed request takes.
    pub(crate) route: Option<Shared<'r, Route>>,
    /// The engine-specific precomputed enforcement point: (engine id, point); ignored by
    /// any other engine.
    pub(crate) point: Option<(u64, Shared<'r, PointCache>)>,
    /// The keys the index is probed with on this road (pair keys; host keys for the
    /// authority the road was first walked with), from the same engine's road memo (with
    /// `point`); `decide` computes them when absent or for another authority.
    pub(crate) index_keys: Option<&'r IndexKeys>,
}

/// Applies what the road decided to the request authorization sees: the port the
/// enforcing proxy listens on, and a JWT only when that proxy validated it.
fn apply(road: &Road, normalized: &mut Normalized<'_>) {
    if let End::Enforce(enforcement) = &road.end {
        normalized.port = enforcement.port;
        if !enforcement.jwt_valid {
            normalized.jwt = None;
        }
        if !enforcement.peer_identity {
            normalized.forget_peer();
        }
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
            Ok(mut normalized) => {
                // Walk the road first: authorization then sees the port the enforcing
                // proxy listens on, and a JWT only when that proxy validated it.
                let mut road = road::walk(model, &normalized);
                let route = road::route(model, &mut road).map(|r| Shared::Owned(Arc::new(r)));
                apply(&road, &mut normalized);
                Prepared::Ready(Digest::new(
                    normalized,
                    model,
                    Shared::Owned(Arc::new(road)),
                    route,
                    None,
                    true,
                ))
            }
            Err(malformed) => Prepared::Malformed(malformed),
        }
    }

    /// Digests `request` for one compiled engine: the road comes from the engine's road
    /// memo (walked on first sight of what the road reads, see [`RoadKey`]) together with
    /// the engine's precomputed enforcement point. Another engine ignores the point.
    pub(crate) fn for_engine(
        request: &RequestRef<'r>,
        model: &'r Model,
        compiled: &'r Compiled,
    ) -> Self {
        let (normalized, peer) = match digest(
            request,
            model.mesh.path_normalization,
            compiled.route_reads.any_headers,
            false,
        ) {
            Ok(parts) => parts,
            Err(malformed) => return Prepared::Malformed(malformed),
        };
        // Filled in place: the digest is ~550 bytes, and every move of it is a `memcpy` of
        // that size.
        let mut prepared = Prepared::Ready(Digest::unwalked(normalized));
        if let Prepared::Ready(d) = &mut prepared {
            d.walk_through_memo(peer, model, compiled);
        }
        prepared
    }
}

/// The road every digest starts with and none keeps: `Prepared::for_engine` replaces it
/// before it returns.
static UNWALKED: Road = Road {
    hops: Vec::new(),
    caveats: Vec::new(),
    service: None,
    end: End::Stop {
        status: 0,
        reason: Reason::NoAllowPolicies,
        message: String::new(),
        resource: None,
    },
};

/// A walked road with its route and the engine's enforcement point: what the road memo
/// keeps per [`RoadKey`].
#[derive(Debug, Clone)]
pub(crate) struct Walked {
    pub(crate) road: Road,
    pub(crate) route: Option<Route>,
    pub(crate) point: Option<Arc<PointCache>>,
    /// The index keys of a request on this road (see [`Digest::index_keys`]).
    pub(crate) index_keys: Option<IndexKeys>,
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

/// Walks the road of `n` in full (a memo miss).
pub(crate) fn walk(model: &Model, compiled: &Compiled, n: &Normalized<'_>) -> Walked {
    let mut road = road::walk(model, n);
    let route = road::route(model, &mut road);
    let point = match &road.end {
        End::Enforce(enforcement) => Some(compiled.resolve_point(model, &enforcement.point)),
        _ => None,
    };
    // Everything the pair keys read is in the road key: the peer (dropped where the
    // enforcing proxy sees no peer identity, as `apply` does) and the proxy's namespace.
    // The host keys hold for this request's authority; `decide` checks it.
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
            ))
        }
        _ => None,
    };
    Walked {
        road,
        route,
        point,
        index_keys,
    }
}

impl<'r> Digest<'r> {
    /// A digest of `normalized` on no road yet: what `Prepared::for_engine` finishes in
    /// place.
    #[inline(always)]
    fn unwalked(normalized: Normalized<'r>) -> Self {
        Digest {
            normalized,
            lowered_authority: None,
            method_bit: 0,
            is_tcp: false,
            account_labels: None,
            road: Shared::Borrowed(&UNWALKED),
            route: None,
            point: None,
            index_keys: None,
        }
    }

    /// Takes the road of the normalised request (whose peer is `peer`, its SPIFFE URI
    /// without the scheme) from `compiled`'s road memo, walking it on a miss, and finishes
    /// the digest.
    #[inline(always)]
    fn walk_through_memo(&mut self, peer: Option<&str>, model: &'r Model, compiled: &'r Compiled) {
        let normalized = &mut self.normalized;
        let mut key_bytes = KeyBytes::new();
        key_bytes.write(normalized, peer, compiled.route_reads);
        let hash = key_bytes.hash();
        let lent = |(key, walked): &'r (RoadKey, Walked), normalized: &mut Normalized<'r>| {
            if normalized.peer_uri.is_none() && peer.is_some() {
                normalized.peer_uri = key.peer_uri().map(Cow::Borrowed);
            }
            (
                Shared::Borrowed(&walked.road),
                walked.route.as_ref().map(Shared::Borrowed),
                walked.point.as_deref().map(Shared::Borrowed),
                walked.index_keys.as_ref(),
            )
        };
        let (road, route, point, index_keys) =
            match compiled.roads.find(hash, |(key, _)| key.is(&key_bytes)) {
                Some(found) => lent(found, normalized),
                None => {
                    if let (None, Some(peer)) = (&normalized.peer_uri, peer) {
                        normalized.peer_uri = Some(peer_uri(peer));
                    }
                    let walked = walk(model, compiled, normalized);
                    match compiled.roads.insert(hash, (key_bytes.to_key(), walked)) {
                        Ok(stored) => lent(stored, normalized),
                        Err(back) => {
                            // The memo is full: this road is the request's own.
                            let walked = match back {
                                Some((_, walked)) => walked,
                                None => walk(model, compiled, normalized),
                            };
                            (
                                Shared::Owned(Arc::new(walked.road)),
                                walked.route.map(|r| Shared::Owned(Arc::new(r))),
                                walked.point.map(Shared::Owned),
                                None,
                            )
                        }
                    }
                }
            };
        self.finish(
            model,
            road,
            route,
            point.map(|p| (compiled.id(), p)),
            compiled.reads_account_labels,
        );
        self.index_keys = index_keys;
    }

    /// A digest of `normalized` on `road` (see [`Digest::finish`]).
    fn new(
        normalized: Normalized<'r>,
        model: &'r Model,
        road: Shared<'r, Road>,
        route: Option<Shared<'r, Route>>,
        point: Option<(u64, Shared<'r, PointCache>)>,
        reads_account_labels: bool,
    ) -> Self {
        let mut digest = Digest::unwalked(normalized);
        digest.finish(model, road, route, point, reads_account_labels);
        digest
    }

    /// Puts the request on its road: applies what the road decided to the request
    /// authorization sees, and computes what `decide` reads beyond the request.
    #[inline(always)]
    fn finish(
        &mut self,
        model: &'r Model,
        road: Shared<'r, Road>,
        route: Option<Shared<'r, Route>>,
        point: Option<(u64, Shared<'r, PointCache>)>,
        reads_account_labels: bool,
    ) {
        let normalized = &mut self.normalized;
        apply(&road, normalized);
        // Labels from a loaded ServiceAccount win over what the request claims.
        self.account_labels = match (
            normalized.namespace.as_deref(),
            normalized.service_account.as_deref(),
        ) {
            (Some(ns), Some(sa)) if reads_account_labels => Some(
                model
                    .service_accounts
                    .iter()
                    .find(|a| a.namespace == ns && a.name == sa)
                    .map(|a| Shared::Borrowed(&a.labels))
                    .unwrap_or_else(|| normalized.source_labels.clone()),
            ),
            _ => None,
        };
        self.lowered_authority = normalized
            .authority
            .as_deref()
            .filter(|a| a.bytes().any(|b| b.is_ascii_uppercase()))
            .map(str::to_ascii_lowercase);
        self.method_bit = normalized.method.as_deref().map_or(0, method_bit);
        self.is_tcp = normalized.protocol != Protocol::Http;
        self.road = road;
        self.route = route;
        self.point = point;
    }

    /// `:authority` lower-cased (authz `hosts` compare with it, port included).
    #[inline]
    pub(crate) fn authority_lower(&self) -> Option<&str> {
        self.lowered_authority
            .as_deref()
            .or(self.normalized.authority.as_deref())
    }

    /// The same digest, owning everything.
    pub fn into_owned(self) -> Digest<'static> {
        Digest {
            normalized: self.normalized.into_owned(),
            lowered_authority: self.lowered_authority,
            method_bit: self.method_bit,
            is_tcp: self.is_tcp,
            account_labels: self.account_labels.map(Shared::into_owned),
            road: self.road.into_owned(),
            route: self.route.map(Shared::into_owned),
            point: self.point.map(|(id, p)| (id, p.into_owned())),
            // Borrowed from the memo: recomputed by `decide` once owned.
            index_keys: None,
        }
    }
}

/// Walked roads by key hash: (key, road) index_keys the memo lends to prepared requests.
pub(crate) type RoadMemo = Memo<(RoadKey, Walked)>;

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
                let memo = Prepared::for_engine(&request.view(), model, &compiled);
                let (fresh, memo) = (digest(&fresh), digest(&memo));
                assert_eq!(fresh.road, memo.road, "{profile}: {request:?}");
                assert_eq!(fresh.route, memo.route, "{profile}: {request:?}");
                assert_eq!(fresh.normalized.port, memo.normalized.port);
                assert_eq!(fresh.normalized.jwt, memo.normalized.jwt);
            }
            let roads = compiled.memoized_roads();
            assert!(roads > 0 && roads < w.requests.len(), "{profile}: {roads}");
            for request in &w.requests {
                let again = Prepared::for_engine(&request.view(), model, &compiled);
                assert!(digest(&again).point.is_some());
            }
            assert_eq!(compiled.memoized_roads(), roads, "{profile}: no new walks");
        }
    }
}
