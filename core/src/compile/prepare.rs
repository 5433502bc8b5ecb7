//! Request pre-digestion: everything `decide` needs, computed once per request.

use std::sync::Arc;

use crate::decision::Route;
use crate::model::{Labels, Model};
use crate::request::{Malformed, Normalized, Protocol, Request};
use crate::road::{self, End, Road};

use super::hash;
use super::matchers::method_bit;
use super::{Compiled, PointInfo};

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
    /// `:authority` lower-cased (authz `hosts` compare with it, port included).
    pub(crate) authority_lower: Option<String>,
    /// Bit of the method in the standard set (0 for others).
    pub(crate) method_bit: u16,
    /// Whether only TCP-level attributes are visible.
    pub(crate) is_tcp: bool,
    /// Labels of the source's service account (Gloo selectors).
    pub(crate) account_labels: Option<Labels>,
    /// The road the request takes (walked once here, so deciding allocates nothing).
    pub(crate) road: Road,
    /// The route an allowed request takes.
    pub(crate) route: Option<Route>,
    /// The engine-specific precomputed enforcement point: (engine id, point); ignored by
    /// any other engine.
    pub(crate) point: Option<(u64, Arc<PointInfo>)>,
    /// Index keys of the authority: exact, then every `.suffix` tail.
    pub(crate) host_keys: Vec<u64>,
    /// Index key of the peer URI (or "any" for plaintext).
    pub(crate) principal_key: u64,
}

impl Prepared {
    /// Digests `request` for `model`'s mesh settings.
    pub fn new(request: &Request, model: &Model) -> Self {
        match request.normalize(model.mesh.path_normalization) {
            Ok(mut normalized) => {
                // Walk the road first: authorization then sees the port the enforcing
                // proxy listens on, and a JWT only when that proxy validated it.
                let mut road = road::walk(model, &normalized);
                let route = road::route(model, &mut road);
                if let End::Enforce(enforcement) = &road.end {
                    normalized.port = enforcement.port;
                    if !enforcement.jwt_valid {
                        normalized.jwt = None;
                    }
                    if !enforcement.peer_identity {
                        normalized.forget_peer();
                    }
                }
                Prepared::Ready(Box::new(Digest::new(normalized, model, road, route)))
            }
            Err(malformed) => Prepared::Malformed(malformed),
        }
    }

    /// Digests `request` for one compiled engine, also resolving its `workload` to the
    /// engine's precomputed enforcement point. Another engine ignores that part.
    pub(crate) fn for_engine(request: &Request, model: &Model, compiled: &Compiled) -> Self {
        let mut prepared = Prepared::new(request, model);
        if let Prepared::Ready(digest) = &mut prepared {
            if let End::Enforce(enforcement) = &digest.road.end {
                digest.point = Some((
                    compiled.id(),
                    compiled.resolve_point(model, &enforcement.point),
                ));
            }
        }
        prepared
    }
}

impl Digest {
    fn new(normalized: Normalized, model: &Model, road: Road, route: Option<Route>) -> Self {
        // Labels from a loaded ServiceAccount win over what the request claims.
        let account_labels = match (
            normalized.namespace.as_deref(),
            normalized.service_account.as_deref(),
        ) {
            (Some(ns), Some(sa)) => Some(
                model
                    .service_accounts
                    .iter()
                    .find(|a| a.namespace == ns && a.name == sa)
                    .map(|a| a.labels.clone())
                    .unwrap_or_else(|| normalized.source_labels.clone()),
            ),
            _ => None,
        };
        let authority_lower = normalized
            .authority
            .as_ref()
            .map(|a| a.to_ascii_lowercase());
        let dots = authority_lower
            .as_deref()
            .map_or(0, |a| a.bytes().filter(|b| *b == b'.').count());
        let mut host_keys = Vec::with_capacity(dots + 2);
        if let Some(authority) = &authority_lower {
            host_keys.push(hash::key_hash(hash::TAG_EXACT_HOST, authority));
            for (at, _) in authority.match_indices('.') {
                if let Some(tail) = authority.get(at..) {
                    host_keys.push(hash::key_hash(hash::TAG_HOST_SUFFIX, tail));
                }
            }
        }
        host_keys.push(hash::ANY);
        let principal_key = normalized
            .peer_uri
            .as_deref()
            .map_or(hash::ANY, |u| hash::key_hash(hash::TAG_PRINCIPAL, u));
        Digest {
            road,
            route,
            point: None,
            host_keys,
            principal_key,
            authority_lower,
            method_bit: normalized.method.as_deref().map_or(0, method_bit),
            is_tcp: normalized.protocol != Protocol::Http,
            account_labels,
            normalized,
        }
    }
}
