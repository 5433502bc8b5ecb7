//! Request pre-digestion: everything `decide` needs, computed once per request.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::decision::Route;
use crate::model::{Labels, Model};
use crate::request::{Malformed, Normalized, Protocol, Request, Workload};
use crate::road::{self, End, Road};

use super::hash::{self, FxHasher};
use super::matchers::method_bit;
use super::{Compiled, PointCache};

/// A request digested for the compiled engine. Building one allocates; deciding on one
/// does not.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Istio would reject the request before authorization (400).
    Malformed(Malformed),
    /// Ready to decide.
    Ready(Box<Digest>),
}

/// A well-formed request: normalised, host lower-cased, method mapped to a bit,
/// service-account labels resolved.
#[derive(Debug, Clone)]
pub struct Digest {
    /// The normalised request.
    pub(crate) normalized: Normalized,
    /// `:authority` lower-cased when it has upper-case letters (see
    /// [`Digest::authority_lower`]).
    lowered_authority: Option<String>,
    /// Bit of the method in the standard set (0 for others).
    pub(crate) method_bit: u16,
    /// Whether only TCP-level attributes are visible.
    pub(crate) is_tcp: bool,
    /// Labels of the source's service account (Gloo selectors); looked up only when
    /// some rule reads them.
    pub(crate) account_labels: Option<Labels>,
    /// The road the request takes (walked once here, or shared from the engine's road
    /// memo, so deciding allocates nothing).
    pub(crate) road: Arc<Road>,
    /// The route an allowed request takes.
    pub(crate) route: Option<Arc<Route>>,
    /// The engine-specific precomputed enforcement point: (engine id, point); ignored by
    /// any other engine.
    pub(crate) point: Option<(u64, Arc<PointCache>)>,
}

/// Applies what the road decided to the request authorization sees: the port the
/// enforcing proxy listens on, and a JWT only when that proxy validated it.
fn apply(road: &Road, normalized: &mut Normalized) {
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

impl Prepared {
    /// Digests `request` for `model`'s mesh settings.
    pub fn new(request: &Request, model: &Model) -> Self {
        match request.normalize(model.mesh.path_normalization) {
            Ok(mut normalized) => {
                // Walk the road first: authorization then sees the port the enforcing
                // proxy listens on, and a JWT only when that proxy validated it.
                let mut road = road::walk(model, &normalized);
                let route = road::route(model, &mut road).map(Arc::new);
                apply(&road, &mut normalized);
                Prepared::Ready(Box::new(Digest::new(
                    normalized,
                    model,
                    Arc::new(road),
                    route,
                    None,
                    true,
                )))
            }
            Err(malformed) => Prepared::Malformed(malformed),
        }
    }

    /// Digests `request` for one compiled engine: the road comes from the engine's road
    /// memo (walked on first sight of what the road reads, see [`RoadKey`]) together with
    /// the engine's precomputed enforcement point. Another engine ignores the point.
    pub(crate) fn for_engine(request: &Request, model: &Model, compiled: &Compiled) -> Self {
        match request.normalize(model.mesh.path_normalization) {
            Ok(mut normalized) => {
                let walked = compiled.walked(model, &normalized);
                apply(&walked.road, &mut normalized);
                let point = walked.point.map(|p| (compiled.id(), p));
                Prepared::Ready(Box::new(Digest::new(
                    normalized,
                    model,
                    walked.road,
                    walked.route,
                    point,
                    compiled.reads_account_labels,
                )))
            }
            Err(malformed) => Prepared::Malformed(malformed),
        }
    }
}

/// A walked road with its route and the engine's enforcement point: what the road memo
/// keeps per [`RoadKey`].
#[derive(Debug, Clone)]
pub(crate) struct Walked {
    pub(crate) road: Arc<Road>,
    pub(crate) route: Option<Arc<Route>>,
    pub(crate) point: Option<Arc<PointCache>>,
}

/// Which request attributes the model's route matches read (the road reads method, path
/// and headers only through them).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RouteReads {
    pub(crate) method: bool,
    pub(crate) path: bool,
    pub(crate) headers: bool,
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
        reads
    }
}

/// Everything `road::walk` and `road::route` read of a normalised request (SEMANTICS §9):
/// protocol, registry name (host, SNI), port, sender (origin namespace and labels, peer
/// namespace, service account, cluster), named workload, the JWT's issuer, and method,
/// path and headers only when some route match reads them. Two requests with equal keys
/// walk the same road.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoadKey {
    protocol: Protocol,
    host: Option<String>,
    sni: Option<String>,
    port: u16,
    origin_namespace: Option<String>,
    origin_labels: Labels,
    namespace: Option<String>,
    peer_uri: Option<String>,
    cluster: Option<String>,
    service_account: Option<String>,
    workload: Option<Workload>,
    /// `None`: no JWT; `Some(issuer)` otherwise.
    issuer: Option<Option<String>>,
    method: Option<String>,
    path: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    /// Ambient capture reads the destination address.
    destination_ip: Option<std::net::IpAddr>,
}

/// The issuer part of a JWT principal (`iss/sub`), as the road's JWT check reads it.
fn issuer(n: &Normalized) -> Option<Option<&str>> {
    n.jwt.as_ref().map(|j| {
        j.principal
            .as_deref()
            .and_then(|p| p.rsplit_once('/').map(|(iss, _)| iss))
    })
}

impl RoadKey {
    /// The owned key of `n` (built on a memo miss only).
    pub(crate) fn of(n: &Normalized, reads: RouteReads) -> Self {
        RoadKey {
            protocol: n.protocol,
            host: n.host.clone(),
            sni: n.sni.clone(),
            port: n.port,
            origin_namespace: n.origin_namespace.clone(),
            origin_labels: n.origin_labels.clone(),
            namespace: n.namespace.clone(),
            peer_uri: n.peer_uri.clone(),
            cluster: n.cluster.clone(),
            service_account: n.service_account.clone(),
            workload: n.workload.clone(),
            issuer: issuer(n).map(|i| i.map(str::to_string)),
            method: n.method.clone().filter(|_| reads.method),
            path: n.path.clone().filter(|_| reads.path),
            headers: reads.headers.then(|| n.headers.clone()),
            destination_ip: n.destination_ip,
        }
    }

    /// Whether `n` has this key (no allocation).
    pub(crate) fn same(&self, n: &Normalized, reads: RouteReads) -> bool {
        self.protocol == n.protocol
            && self.port == n.port
            && self.host == n.host
            && self.sni == n.sni
            && self.origin_namespace == n.origin_namespace
            && self.origin_labels == n.origin_labels
            && self.namespace == n.namespace
            && self.peer_uri == n.peer_uri
            && self.cluster == n.cluster
            && self.service_account == n.service_account
            && self.workload == n.workload
            && self.issuer.as_ref().map(|i| i.as_deref()) == issuer(n)
            && (!reads.method || self.method == n.method)
            && (!reads.path || self.path == n.path)
            && (!reads.headers || self.headers.as_ref() == Some(&n.headers))
            && self.destination_ip == n.destination_ip
    }

    /// The hash of `n`'s key (no allocation).
    pub(crate) fn hash(n: &Normalized, reads: RouteReads) -> u64 {
        let mut h = FxHasher::default();
        n.protocol.hash(&mut h);
        n.port.hash(&mut h);
        n.host.hash(&mut h);
        n.sni.hash(&mut h);
        n.origin_namespace.hash(&mut h);
        n.origin_labels.hash(&mut h);
        n.namespace.hash(&mut h);
        n.peer_uri.hash(&mut h);
        n.cluster.hash(&mut h);
        n.service_account.hash(&mut h);
        if let Some(w) = &n.workload {
            w.namespace.hash(&mut h);
            w.labels.hash(&mut h);
        }
        issuer(n).hash(&mut h);
        n.destination_ip.hash(&mut h);
        if reads.method {
            n.method.hash(&mut h);
        }
        if reads.path {
            n.path.hash(&mut h);
        }
        if reads.headers {
            n.headers.hash(&mut h);
        }
        // The memo's table uses the hash as it is: spread the bits.
        let mut x = h.finish();
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

/// Walks the road of `n` in full (a memo miss).
pub(crate) fn walk(model: &Model, compiled: &Compiled, n: &Normalized) -> Walked {
    let mut road = road::walk(model, n);
    let route = road::route(model, &mut road).map(Arc::new);
    let point = match &road.end {
        End::Enforce(enforcement) => Some(compiled.resolve_point(model, &enforcement.point)),
        _ => None,
    };
    Walked {
        road: Arc::new(road),
        route,
        point,
    }
}

impl Digest {
    fn new(
        normalized: Normalized,
        model: &Model,
        road: Arc<Road>,
        route: Option<Arc<Route>>,
        point: Option<(u64, Arc<PointCache>)>,
        reads_account_labels: bool,
    ) -> Self {
        // Labels from a loaded ServiceAccount win over what the request claims.
        let account_labels = match (
            normalized.namespace.as_deref(),
            normalized.service_account.as_deref(),
        ) {
            (Some(ns), Some(sa)) if reads_account_labels => Some(
                model
                    .service_accounts
                    .iter()
                    .find(|a| a.namespace == ns && a.name == sa)
                    .map(|a| a.labels.clone())
                    .unwrap_or_else(|| normalized.source_labels.clone()),
            ),
            _ => None,
        };
        let lowered_authority = normalized
            .authority
            .as_ref()
            .filter(|a| a.bytes().any(|b| b.is_ascii_uppercase()))
            .map(|a| a.to_ascii_lowercase());
        Digest {
            road,
            route,
            point,
            lowered_authority,
            method_bit: normalized.method.as_deref().map_or(0, method_bit),
            is_tcp: normalized.protocol != Protocol::Http,
            account_labels,
            normalized,
        }
    }
}

impl Digest {
    /// `:authority` lower-cased (authz `hosts` compare with it, port included).
    #[inline]
    pub(crate) fn authority_lower(&self) -> Option<&str> {
        self.lowered_authority
            .as_deref()
            .or(self.normalized.authority.as_deref())
    }
}

/// Walked roads by key hash (collisions share a list).
#[derive(Debug, Default)]
pub(crate) struct RoadMemo {
    entries: HashMap<u64, Vec<(RoadKey, Walked)>, hash::IdentityBuild>,
    len: usize,
}

/// How many distinct roads (see `RoadKey`) an engine remembers.
pub const ROADS: usize = 16_384;

impl Compiled {
    /// The road of `n` (with its route and enforcement point) from the memo, walking it
    /// on first sight.
    pub(crate) fn walked(&self, model: &Model, n: &Normalized) -> Walked {
        let reads = self.route_reads;
        let hash = RoadKey::hash(n, reads);
        if let Ok(memo) = self.roads.read() {
            if let Some(found) = memo
                .entries
                .get(&hash)
                .and_then(|list| list.iter().find(|(key, _)| key.same(n, reads)))
            {
                return found.1.clone();
            }
        }
        let walked = walk(model, self, n);
        if let Ok(mut memo) = self.roads.write() {
            if memo.len < ROADS {
                let list = memo.entries.entry(hash).or_default();
                if !list.iter().any(|(key, _)| key.same(n, reads)) {
                    list.push((RoadKey::of(n, reads), walked.clone()));
                    memo.len += 1;
                }
            }
        }
        walked
    }

    /// How many roads the memo holds.
    pub fn memoized_roads(&self) -> usize {
        self.roads.read().map_or(0, |m| m.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{generate_profile, Layout, Profile};
    use crate::Engine;

    fn digest(p: &Prepared) -> &Digest {
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
                let memo = Prepared::for_engine(request, model, &compiled);
                let (fresh, memo) = (digest(&fresh), digest(&memo));
                assert_eq!(fresh.road, memo.road, "{profile}: {request:?}");
                assert_eq!(fresh.route, memo.route, "{profile}: {request:?}");
                assert_eq!(fresh.normalized.port, memo.normalized.port);
                assert_eq!(fresh.normalized.jwt, memo.normalized.jwt);
            }
            let roads = compiled.memoized_roads();
            assert!(roads > 0 && roads < w.requests.len(), "{profile}: {roads}");
            for request in &w.requests {
                let again = Prepared::for_engine(request, model, &compiled);
                assert!(digest(&again).point.is_some());
            }
            assert_eq!(compiled.memoized_roads(), roads, "{profile}: no new walks");
        }
    }
}
