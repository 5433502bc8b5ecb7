//! Request pre-digestion: everything `decide` needs, computed once per request.

use crate::model::{Labels, Model};
use crate::request::{Malformed, Normalized, Protocol, Request};

use super::matchers::method_bit;

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
    /// The registry lookup name (host, or SNI for TLS) lower-cased.
    pub(crate) registry_name_lower: Option<String>,
    /// The route host (host, else SNI) lower-cased.
    pub(crate) route_host_lower: Option<String>,
}

impl Prepared {
    /// Digests `request` for `model`'s mesh settings.
    pub fn new(request: &Request, model: &Model) -> Self {
        match request.normalize(model.mesh.path_normalization) {
            Ok(normalized) => Prepared::Ready(Box::new(Digest::new(normalized, model))),
            Err(malformed) => Prepared::Malformed(malformed),
        }
    }
}

impl Digest {
    fn new(normalized: Normalized, model: &Model) -> Self {
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
        let registry_name = match normalized.protocol {
            Protocol::Http | Protocol::Tcp => normalized.host.as_deref(),
            Protocol::Tls => normalized.sni.as_deref().or(normalized.host.as_deref()),
        };
        Digest {
            registry_name_lower: registry_name.map(str::to_ascii_lowercase),
            route_host_lower: normalized
                .host
                .as_deref()
                .or(normalized.sni.as_deref())
                .map(str::to_ascii_lowercase),
            authority_lower: normalized
                .authority
                .as_ref()
                .map(|a| a.to_ascii_lowercase()),
            method_bit: normalized.method.as_deref().map_or(0, method_bit),
            is_tcp: normalized.protocol != Protocol::Http,
            account_labels,
            normalized,
        }
    }
}
