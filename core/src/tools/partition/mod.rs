//! The request space cut into classes that the policies cannot tell apart.
//!
//! `reach` and `diff` never guess requests: they enumerate, per dimension, the finite set of
//! values the loaded policies can distinguish, and evaluate one representative per class
//! with the engine.
//!
//! A dimension is one attribute of an HTTP request: the authority (host with optional
//! `:port`), the peer identity, the method and the path. Every policy, registry and routing
//! construct that reads a dimension is an *atomic predicate* on it (an exact, prefix,
//! suffix or presence pattern, a path template, a namespace glob, a port, a registry host,
//! a TSB namespace selector). Two values on which every atomic predicate agrees cannot be
//! told apart by the engine, so the engine decides them alike: a class is a truth vector
//! of the atomic predicates, and its representative is a concrete value with that vector.
//!
//! Representatives are built from the pattern texts: each exact value; each prefix `P`
//! followed by a filler character `c` that appears in no pattern text of the dimension;
//! `c` followed by each suffix `S`; `P + c + S` for every prefix/suffix pair; template
//! instances; `c` alone for "anything else". Because `c` occurs in no pattern, no longer
//! prefix or suffix and no exact value can match `P + c + S`, so for string patterns every
//! realizable truth vector is represented: the enumeration is exact. Identities are built
//! per SPIFFE segment (trust domain, namespace, service account) from the same texts, path
//! templates are instantiated with the filler (and with the other patterns' prefixes and
//! suffixes absorbed by their first and last operator), namespace globs with the filler and
//! with nothing. For those three the construction covers every combination the pattern
//! texts form, not every regular-language intersection; [`Partition::representative`] lets
//! tests check concrete requests against their representatives, and
//! `core/tests/tools_bruteforce.rs` does so on generated workloads of 1 000 rules.
//!
//! The product of all dimensions would be large, so the enumeration is conditional: for
//! one enforcement point and one authority class only the rules that can still match (their
//! policy attaches there and their `to` admits that authority) contribute identity
//! predicates, and for one identity class only the rules whose `from` admits it contribute
//! method and path predicates. Values that only appear in rules that cannot match do not
//! change the decision, so this keeps the enumeration exact.
//!
//! Requests are enumerated as HTTP requests without headers, JWT, source addresses, SNI or
//! CUSTOM verdicts; rules that read those are listed in the caveats of the reports.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::eval;
use crate::model::{
    registry_host_matches, Condition, Field, Model, NamespacePattern, NamespaceSelector,
    PathNormalization, PathPattern, Policy, Rule, ServiceAccountRef, Source, StringPattern,
    TemplatePart, TrustDomainPattern,
};
use crate::request::{normalize_path, Request, RequestSource, Workload};

/// Where requests are decided: at the gateway the registry (or a TSB `TrafficSetting`)
/// routes them to, or at a named proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// A short description: `routed` or the gateway / workload.
    pub label: String,
    /// The enforcing proxy named in the requests; `None` means routed.
    pub workload: Option<Workload>,
}

impl Point {
    /// Requests without `workload`: the registry or TSB routes choose the gateway.
    pub fn routed() -> Self {
        Point {
            label: "routed".to_string(),
            workload: None,
        }
    }

    /// Requests decided at the proxy `workload`.
    pub fn at(workload: Workload) -> Self {
        let labels: Vec<String> = workload
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        Point {
            label: format!("workload {}/{}", workload.namespace, labels.join(",")),
            workload: Some(workload),
        }
    }
}

/// One point per loaded gateway that pods can be selected by (non-empty labels), over all
/// `models`, without duplicates, labelled with the gateway.
pub fn gateway_points(models: &[&Model]) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::new();
    for model in models {
        for gateway in model.gateways.iter().filter(|g| !g.labels.is_empty()) {
            let workload = Workload {
                namespace: gateway.namespace.clone(),
                labels: gateway.labels.clone(),
            };
            if out.iter().any(|p| p.workload.as_ref() == Some(&workload)) {
                continue;
            }
            out.push(Point {
                label: format!("at {}", gateway.id),
                workload: Some(workload),
            });
        }
    }
    out
}

/// A class of values of one dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ValueClass {
    /// What the class holds, in words (`httpbin.org`, `other methods`, `plaintext (no mTLS
    /// identity)`, …).
    pub label: String,
    /// The representative value (`None` for the plaintext identity).
    pub example: Option<String>,
}

/// One cell of the partition: a class per dimension and the request representing it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// Where the request is decided.
    pub point: String,
    /// The authority class.
    pub host: ValueClass,
    /// The identity class.
    pub identity: ValueClass,
    /// The method class.
    pub method: ValueClass,
    /// The path class.
    pub path: ValueClass,
    /// The representative request.
    pub request: Request,
}

/// Which authorities to enumerate.
#[derive(Debug, Clone, Copy)]
pub enum HostChoice<'a> {
    /// Every authority class.
    All,
    /// Just this authority.
    Only(&'a str),
}

/// Which identities to enumerate.
#[derive(Debug, Clone, Copy)]
pub enum IdentityChoice<'a> {
    /// Every identity class.
    All,
    /// Just this identity (`None`: plaintext). Istio form or `spiffe://` URI.
    Only(Option<&'a str>),
}

mod candidates;
mod contexts;
mod preds;

use candidates::*;
use preds::*;
pub(crate) use preds::{unmodelled, RuleAt};

// ------------------------------------------------------------------------------------------
// The partition

/// The partition of the request space for a set of models (one for `reach`, two for
/// `diff`): host classes are global, identity, method and path classes are computed per
/// point and host class (see the module documentation).
#[derive(Debug)]
pub struct Partition<'m> {
    models: Vec<&'m Model>,
    normalization: PathNormalization,
    host_preds: Vec<HostPred>,
    hosts: Vec<Rep<String>>,
    /// Contexts computed by [`Partition::representative`], by point and host class.
    host_cache: Mutex<HashMap<String, Arc<HostContext<'m>>>>,
    /// Identity contexts computed by [`Partition::representative`].
    identity_cache: Mutex<HashMap<IdentityKey, Arc<IdentityContext>>>,
}

/// A point and host class (as text) and an identity representative.
type IdentityKey = (String, Option<String>);

/// Identity, method and path classes for one point and authority.
#[derive(Debug)]
struct HostContext<'m> {
    rules: Vec<RuleAt<'m>>,
    id_preds: Vec<IdPred>,
    identities: Vec<Rep<Option<String>>>,
}

/// Method and path classes for one point, authority and identity.
#[derive(Debug)]
struct IdentityContext {
    method_preds: Vec<StringPattern>,
    methods: Vec<Rep<String>>,
    path_preds: Vec<PathPattern>,
    paths: Vec<Rep<String>>,
}

impl<'m> Partition<'m> {
    /// Builds the authority classes of `models`.
    pub fn new(models: &[&'m Model]) -> Self {
        let normalization = models
            .first()
            .map(|m| m.mesh.path_normalization)
            .unwrap_or_default();
        let mut preds: BTreeSet<HostPred> = BTreeSet::new();
        let mut registry_exact: BTreeSet<String> = BTreeSet::new();
        let mut registry_wild: BTreeSet<String> = BTreeSet::new();
        for model in models {
            for policy in &model.policies {
                for rule in &policy.rules {
                    for op in rule.to.iter().flatten() {
                        for p in all_values(&op.hosts) {
                            preds.insert(HostPred::Authority(p.pattern.clone()));
                        }
                        for port in all_values(&op.ports) {
                            preds.insert(HostPred::Port(*port));
                        }
                    }
                    for c in &rule.when {
                        if let Condition::DestinationPort(f) = c {
                            for port in all_values(f) {
                                preds.insert(HostPred::Port(*port));
                            }
                        }
                    }
                }
            }
            for service in &model.services {
                // The registry routes a host on its declared ports only (SEMANTICS.md §9).
                for port in &service.ports {
                    preds.insert(HostPred::Port(port.number));
                }
                if let Some(port) = service.gateway_port {
                    preds.insert(HostPred::Port(port));
                }
                for host in &service.hosts {
                    let host = host.to_ascii_lowercase();
                    preds.insert(HostPred::Registry(host.clone()));
                    match host.strip_prefix('*') {
                        Some(suffix) => registry_wild.insert(suffix.to_string()),
                        None => registry_exact.insert(host),
                    };
                }
            }
        }
        let host_preds: Vec<HostPred> = preds.into_iter().collect();
        let candidates = host_candidates(&host_preds, &registry_exact, &registry_wild);
        let hosts = dedupe(candidates, |a| {
            host_view(a).map(|v| host_preds.iter().map(|p| p.holds(&v)).collect())
        });
        Partition {
            models: models.to_vec(),
            normalization,
            host_preds,
            hosts,
            host_cache: Mutex::new(HashMap::new()),
            identity_cache: Mutex::new(HashMap::new()),
        }
    }

    /// Number of authority classes.
    pub fn host_class_count(&self) -> usize {
        self.hosts.len()
    }

    /// Enumerates the cells at `point` for the chosen authorities and identities, calling
    /// `visit` once per cell.
    pub fn cells(
        &self,
        point: &Point,
        hosts: HostChoice,
        identities: IdentityChoice,
        mut visit: impl FnMut(Cell),
    ) {
        let host_list: Vec<(String, String)> = match hosts {
            HostChoice::All => self
                .hosts
                .iter()
                .map(|h| (h.value.clone(), h.label.clone()))
                .collect(),
            HostChoice::Only(authority) => vec![(authority.to_string(), authority.to_string())],
        };
        for (authority, host_label) in host_list {
            let Some(context) = self.host_context(point, &authority) else {
                continue;
            };
            let id_list: Vec<(Option<String>, String)> = match identities {
                IdentityChoice::All => context
                    .identities
                    .iter()
                    .map(|i| (i.value.clone(), i.label.clone()))
                    .collect(),
                IdentityChoice::Only(identity) => {
                    let label = identity.map_or_else(
                        || "plaintext (no mTLS identity)".to_string(),
                        |p| p.strip_prefix("spiffe://").unwrap_or(p).to_string(),
                    );
                    vec![(id_view(identity).uri, label)]
                }
            };
            for (principal, id_label) in id_list {
                let ic = self.identity_context(&context, principal.as_deref());
                for method in &ic.methods {
                    for path in &ic.paths {
                        visit(Cell {
                            point: point.label.clone(),
                            host: ValueClass {
                                label: host_label.clone(),
                                example: Some(authority.clone()),
                            },
                            identity: ValueClass {
                                label: id_label.clone(),
                                example: principal.clone(),
                            },
                            method: ValueClass {
                                label: method.label.clone(),
                                example: Some(method.value.clone()),
                            },
                            path: ValueClass {
                                label: path.label.clone(),
                                example: Some(path.value.clone()),
                            },
                            request: build_request(
                                point,
                                principal.as_deref(),
                                &authority,
                                &method.value,
                                &path.value,
                            ),
                        });
                    }
                }
            }
        }
    }

    /// The representative of the cell `request` falls in (same point, and the
    /// representative of its authority, identity, method and path classes), or `None` when
    /// the request is outside the enumerated space (not HTTP, carries headers, JWT, addresses,
    /// an explicit `port`, or a value no class represents — the last would be a bug).
    ///
    /// For any request in the space, every model of the partition decides the request and
    /// its representative alike; the tests hold the partition to that.
    pub fn representative(&self, request: &Request) -> Option<Request> {
        if request
            .protocol
            .is_some_and(|p| p != crate::request::Protocol::Http)
            || !request.headers.is_empty()
            || request.jwt.is_some()
            || request.port.is_some()
            || request.url.is_some()
            || request.sni.is_some()
            || request.source.ip.is_some()
            || request.source.remote_ip.is_some()
            || !request.source.labels.is_empty()
            || request.source.cluster.is_some()
            || !request.custom.is_empty()
            || request.destination_ip.is_some()
        {
            return None;
        }
        let point = match &request.workload {
            Some(w) => Point::at(w.clone()),
            None => Point::routed(),
        };
        let authority = request.host.as_deref()?;
        let view = host_view(authority)?;
        let vector: Vec<bool> = self.host_preds.iter().map(|p| p.holds(&view)).collect();
        let host = self.hosts.get(find_class(&self.hosts, &vector)?)?;
        let key = format!("{:?}\u{0}{}", point.workload, host.value);
        let cached = self
            .host_cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(&key).cloned());
        let context = match cached {
            Some(context) => context,
            None => {
                let context = Arc::new(self.host_context(&point, &host.value)?);
                if let Ok(mut cache) = self.host_cache.lock() {
                    cache.insert(key.clone(), Arc::clone(&context));
                }
                context
            }
        };
        let id = id_view(request.source.principal.as_deref());
        let vector: Vec<bool> = context.id_preds.iter().map(|p| p.holds(&id)).collect();
        let identity = context
            .identities
            .get(find_class(&context.identities, &vector)?)?;
        let id_key = (key, identity.value.clone());
        let cached = self
            .identity_cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(&id_key).cloned());
        let ic = match cached {
            Some(ic) => ic,
            None => {
                let ic = Arc::new(self.identity_context(&context, identity.value.as_deref()));
                if let Ok(mut cache) = self.identity_cache.lock() {
                    cache.insert(id_key, Arc::clone(&ic));
                }
                ic
            }
        };
        let method = request.method.as_deref()?;
        let vector: Vec<bool> = ic.method_preds.iter().map(|p| p.matches(method)).collect();
        let method = ic.methods.get(find_class(&ic.methods, &vector)?)?;
        let (path, _) =
            normalize_path(request.path.as_deref().unwrap_or("/"), self.normalization).ok()?;
        let vector: Vec<bool> = ic.path_preds.iter().map(|p| path_holds(p, &path)).collect();
        let path = ic.paths.get(find_class(&ic.paths, &vector)?)?;
        Some(build_request(
            &point,
            identity.value.as_deref(),
            &host.value,
            &method.value,
            &path.value,
        ))
    }

    /// The rules that may decide requests to `authority` at `point`, over all models.
    pub(crate) fn rules_for(&self, point: &Point, authority: &str) -> Vec<RuleAt<'m>> {
        let Some(view) = host_view(authority) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for model in &self.models {
            for policy in candidate_policies(model, point, authority) {
                for (index, rule) in policy.rules.iter().enumerate() {
                    if host_alive(rule, &view) {
                        out.push(RuleAt {
                            model,
                            policy,
                            index,
                            rule,
                        });
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_parts_reads_segments() {
        assert_eq!(
            spiffe_parts("spiffe://td/ns/a/sa/b"),
            (Some("td".into()), Some("a".into()), Some("b".into()))
        );
        assert_eq!(
            spiffe_parts("spiffe://td/ns/a/"),
            (Some("td".into()), Some("a".into()), None)
        );
        assert_eq!(
            spiffe_parts("/ns/a/sa/b"),
            (None, Some("a".into()), Some("b".into()))
        );
    }

    #[test]
    fn filler_avoids_used_characters() {
        let used: BTreeSet<char> = "qz".chars().collect();
        assert_eq!(filler(&used, "qzj"), 'j');
    }
}
