//! The compiled engine: indexes built once so that a decision looks at a handful of
//! candidate rules instead of every rule, and allocates nothing.
//!
//! It must decide exactly like the reference evaluator in [`crate::eval`] (same verdict,
//! status, reason, deciding policy and rule, route); the differential property tests in
//! `core/tests/differential.rs` hold it to that.
//!
//! Candidate rules come from a two-level index: the lower-cased `:authority` (exact, then
//! every `.suffix` tail for `*.example.com` patterns, then rules that constrain the host in
//! no indexable way) and, inside each host bucket, the exact peer SPIFFE URI (or "any").
//! Because the deciding rule is the *first* matching one per action in model order, and
//! rule ids follow model order, every candidate list is scanned while keeping the lowest
//! matching id per action; no merge (and no allocation) is needed.

mod hash;
mod matchers;
mod prepare;
mod verdict;

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{
    Action, GatewayKind, Labels, Model, OutboundMode, ResourceRef, Scope, StringPattern, Vendor,
};
use crate::request::Request;

use matchers::{labels_subset, registry_matches_lower, CRule};
pub use prepare::{Digest, Prepared};
pub use verdict::{CustomNote, Verdict, VerdictRoute, VerdictTls};

/// Action class of a policy, for per-action minima.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Custom,
    Deny,
    Allow,
    Audit,
}

#[derive(Debug, Clone)]
enum CScope {
    Selector(Labels),
    TargetRefs {
        gateways: Vec<(String, String)>,
        waypoint_class: bool,
        services: Vec<usize>,
    },
    Gateway(Option<usize>),
    Services(Vec<usize>),
    AllGloo,
}

#[derive(Debug, Clone)]
struct CPolicy {
    class: Class,
    dry_run: bool,
    provider: Option<String>,
    tsb: bool,
    ruleless: bool,
    namespace: String,
    in_root: bool,
    scope: CScope,
    attachment: Attachment,
}

impl CPolicy {
    /// Whether attachment can depend on the request's registry entry.
    fn kind_of_attachment(scope: &CScope) -> Attachment {
        match scope {
            CScope::Services(_) | CScope::AllGloo => Attachment::ServiceOnly,
            CScope::TargetRefs { services, .. } if !services.is_empty() => Attachment::Mixed,
            _ => Attachment::Point,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attachment {
    /// Depends only on the enforcement point.
    Point,
    /// Attaches only through the registry entry.
    ServiceOnly,
    /// Through the point or the registry entry.
    Mixed,
}

use hash::{ANY, TAG_EXACT_HOST, TAG_HOST_SUFFIX, TAG_PRINCIPAL};

/// Candidate rules keyed by (host key, principal key), flattened: one table of ranges into
/// one posting array. Keys are hashes, so the index is lossy on purpose: a collision only
/// adds candidates, and every candidate is checked in full.
#[derive(Debug, Clone, Default)]
struct PostingIndex {
    slots: HashMap<u64, (u32, u32), hash::IdentityBuild>,
    postings: Vec<u32>,
    /// A two-probe Bloom filter over the keys: most probes of a request (host suffixes
    /// nobody wrote, principals without own rules) stop here, in a table small enough
    /// for the CPU cache, instead of missing in the big one.
    bloom: Vec<u64>,
    bloom_mask: u64,
}

impl PostingIndex {
    fn build(mut pairs: Vec<(u64, u32)>) -> Self {
        pairs.sort_unstable();
        pairs.dedup();
        let bits = (pairs.len().max(64) * 12).next_power_of_two();
        let mut index = PostingIndex {
            slots: HashMap::with_capacity_and_hasher(pairs.len() / 2 + 1, hash::IdentityBuild),
            postings: Vec::with_capacity(pairs.len()),
            bloom: vec![0; bits / 64],
            bloom_mask: (bits as u64) - 1,
        };
        let mut start = 0usize;
        while let Some(&(key, _)) = pairs.get(start) {
            let end = pairs
                .get(start..)
                .and_then(|rest| rest.iter().position(|(k, _)| *k != key))
                .map_or(pairs.len(), |n| start + n);
            let offset = u32::try_from(index.postings.len()).unwrap_or(u32::MAX);
            index.postings.extend(
                pairs
                    .get(start..end)
                    .unwrap_or_default()
                    .iter()
                    .map(|(_, id)| *id),
            );
            let len = u32::try_from(end - start).unwrap_or(u32::MAX);
            index.slots.insert(key, (offset, len));
            for bit in index.bloom_bits(key) {
                if let Some(word) = index.bloom.get_mut((bit / 64) as usize) {
                    *word |= 1 << (bit % 64);
                }
            }
            start = end;
        }
        index.slots.shrink_to_fit();
        index
    }

    #[inline]
    fn bloom_bits(&self, key: u64) -> [u64; 2] {
        [
            key & self.bloom_mask,
            (key >> 32 ^ key.rotate_left(17)) & self.bloom_mask,
        ]
    }

    #[inline]
    fn maybe_contains(&self, key: u64) -> bool {
        self.bloom_bits(key).iter().all(|bit| {
            self.bloom
                .get((bit / 64) as usize)
                .is_some_and(|word| word & (1 << (bit % 64)) != 0)
        })
    }

    #[inline]
    fn visit(&self, key: u64, f: &mut impl FnMut(u32)) {
        if !self.maybe_contains(key) {
            return;
        }
        if let Some(&(offset, len)) = self.slots.get(&key) {
            let (offset, len) = (offset as usize, len as usize);
            if let Some(list) = self.postings.get(offset..offset + len) {
                list.iter().for_each(|r| f(*r));
            }
        }
    }
}

/// Registry lookup by lower-cased host.
#[derive(Debug, Clone, Default)]
struct RegistryIndex {
    exact: HashMap<String, usize, hash::FxBuild>,
    dot_suffix: HashMap<String, usize, hash::FxBuild>,
    other: Vec<(String, usize)>,
    by_port: HashMap<u16, usize, hash::FxBuild>,
}

impl RegistryIndex {
    fn build(model: &Model) -> Self {
        let mut index = RegistryIndex::default();
        for (i, service) in model.services.iter().enumerate() {
            for host in &service.hosts {
                let host = host.to_ascii_lowercase();
                match host.strip_prefix('*') {
                    None => {
                        index.exact.entry(host).or_insert(i);
                    }
                    Some(suffix) if suffix.starts_with('.') => {
                        index.dot_suffix.entry(suffix.to_string()).or_insert(i);
                    }
                    Some(_) => index.other.push((host, i)),
                }
            }
            for port in &service.ports {
                index.by_port.entry(port.number).or_insert(i);
            }
        }
        index
    }

    fn lookup(&self, host: &str) -> Option<usize> {
        let mut best = self.exact.get(host).copied();
        if self.dot_suffix.is_empty() && self.other.is_empty() {
            return best;
        }
        let mut consider = |i: usize| {
            if best.is_none_or(|b| i < b) {
                best = Some(i);
            }
        };
        for (at, _) in host.match_indices('.').filter(|(at, _)| *at > 0) {
            if let Some(i) = host.get(at..).and_then(|tail| self.dot_suffix.get(tail)) {
                consider(*i);
            }
        }
        for (pattern, i) in &self.other {
            if registry_matches_lower(pattern, host) {
                consider(*i);
            }
        }
        best
    }
}

/// What the ALLOW policies attached at a point look like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct AllowSummary {
    first: Option<u32>,
    first_tsb: Option<u32>,
    any_with_rules: bool,
}

impl AllowSummary {
    fn add(&mut self, policy: u32, p: &CPolicy) {
        if self.first.is_none_or(|f| policy < f) {
            self.first = Some(policy);
        }
        if p.tsb && self.first_tsb.is_none_or(|f| policy < f) {
            self.first_tsb = Some(policy);
        }
        self.any_with_rules |= !p.ruleless;
    }
}

/// Allow summaries for enforced-only and enforced-plus-dry-run evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PointSummary {
    enforced: AllowSummary,
    with_dry_run: AllowSummary,
}

impl PointSummary {
    fn add(&mut self, policy: u32, p: &CPolicy) {
        self.with_dry_run.add(policy, p);
        if !p.dry_run {
            self.enforced.add(policy, p);
        }
    }
}

/// TLS settings with lower-cased host.
#[derive(Debug, Clone)]
struct CTls {
    host: String,
    index: usize,
}

/// The engine's compiled form of a [`Model`].
#[derive(Debug)]
pub struct Compiled {
    policies: Vec<CPolicy>,
    rules: Vec<CRule>,
    http: PostingIndex,
    tcp_rules: Vec<u32>,
    custom_policies: Vec<u32>,
    dry_run_policies: Vec<u32>,
    point_allow_policies: Vec<u32>,
    mixed_allow_policies: Vec<u32>,
    service_allow_policies: Vec<Vec<u32>>,
    /// Distinguishes engines, so a request prepared by one engine is never decided with
    /// another engine's point index.
    id: u64,
    gateway_points: Vec<PointInfo>,
    workload_points: Vec<PointInfo>,
    /// Points of request workloads that are not a loaded gateway's own labels, computed on
    /// first sight by `Engine::prepare` (so `decide` never scans the policies for them).
    dynamic_points: std::sync::RwLock<HashMap<(String, Labels), Arc<PointInfo>, hash::FxBuild>>,
    workload_index: HashMap<String, Vec<(Labels, u32)>, hash::FxBuild>,
    registry: RegistryIndex,
    service_gateway: Vec<Option<usize>>,
    route_gateway: Vec<Option<usize>>,
    service_unloaded_labels: Vec<Labels>,
    route_unloaded_labels: Vec<Labels>,
    gloo_service: Vec<bool>,
    no_labels: Labels,
    tls: Vec<CTls>,
    virtual_hosts: Vec<Vec<String>>,
}

/// The enforcement point of one request.
#[derive(Debug, Clone, Copy)]
struct Point<'a> {
    namespace: &'a str,
    labels: &'a Labels,
    gateways: GatewaySet,
    gateway_ref: Option<&'a ResourceRef>,
    info: Option<&'a PointInfo>,
}

/// Everything about a known enforcement point that does not depend on the request,
/// computed at compile time for every gateway (and every gateway's own labels as a
/// request `workload`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PointInfo {
    summary: PointSummary,
    /// Bitset over policies whose attachment depends only on the point.
    attached: Vec<u64>,
    first_gateway: Option<usize>,
    tls_gateway: Option<usize>,
    waypoint: bool,
}

impl PointInfo {
    #[inline]
    fn attached(&self, policy: u32) -> bool {
        self.attached
            .get((policy / 64) as usize)
            .is_some_and(|w| w & (1 << (policy % 64)) != 0)
    }
}

#[derive(Debug, Clone, Copy)]
enum GatewaySet {
    /// Every gateway whose namespace matches and whose labels are a subset of the point's.
    ByLabels,
    One(usize),
    Unloaded,
}

impl<'a> Point<'a> {
    fn gateway_name(&self) -> Option<&'a str> {
        self.labels
            .get(crate::eval::GATEWAY_NAME_LABEL)
            .map(String::as_str)
    }

    fn gateway_matches(&self, model: &Model, index: usize) -> bool {
        match self.gateways {
            GatewaySet::One(g) => g == index,
            GatewaySet::Unloaded => false,
            GatewaySet::ByLabels => model.gateways.get(index).is_some_and(|g| {
                g.namespace == self.namespace
                    && !g.labels.is_empty()
                    && labels_subset(&g.labels, self.labels)
            }),
        }
    }

    fn first_gateway(&self, model: &Model) -> Option<usize> {
        if let Some(info) = self.info {
            return info.first_gateway;
        }
        match self.gateways {
            GatewaySet::One(g) => Some(g),
            GatewaySet::Unloaded => None,
            GatewaySet::ByLabels => {
                (0..model.gateways.len()).find(|i| self.gateway_matches(model, *i))
            }
        }
    }

    fn is_waypoint(&self, model: &Model) -> bool {
        if let Some(info) = self.info {
            return info.waypoint;
        }
        match self
            .first_gateway(model)
            .and_then(|g| model.gateways.get(g))
        {
            Some(g) => g.kind == GatewayKind::Waypoint,
            None => self.gateway_name().is_some(),
        }
    }
}

impl Compiled {
    /// Compiles `model`. Linear in the number of rules and patterns.
    pub fn new(model: &Model) -> Self {
        let gateway_ids: HashMap<&ResourceRef, usize> = model
            .gateways
            .iter()
            .enumerate()
            .map(|(i, g)| (&g.id, i))
            .collect();
        let resolve = |groups: bool, name: &str| -> Vec<crate::model::NamespaceSelector> {
            let sets = if groups {
                &model.groups
            } else {
                &model.workspaces
            };
            sets.iter()
                .filter(|s| s.name == name)
                .flat_map(|s| s.namespaces.iter().cloned())
                .collect()
        };

        let mut policies = Vec::with_capacity(model.policies.len());
        let mut rules = Vec::new();
        for (pi, policy) in model.policies.iter().enumerate() {
            let class = match policy.action {
                Action::Allow => Class::Allow,
                Action::Deny => Class::Deny,
                Action::Audit => Class::Audit,
                Action::Custom(_) => Class::Custom,
            };
            let scope = match &policy.scope {
                Scope::Selector { match_labels } => CScope::Selector(match_labels.clone()),
                Scope::TargetRefs { targets } => CScope::TargetRefs {
                    gateways: targets
                        .iter()
                        .filter(|t| t.kind == "Gateway")
                        .map(|t| (t.name.clone(), t.namespace.clone()))
                        .collect(),
                    waypoint_class: targets
                        .iter()
                        .any(|t| t.kind == "GatewayClass" && t.name == "istio-waypoint"),
                    services: model
                        .services
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| {
                            targets.iter().any(|t| {
                                matches!(t.kind.as_str(), "ServiceEntry" | "Service")
                                    && s.id.kind == t.kind
                                    && s.id.name == t.name
                                    && s.id.namespace == t.namespace
                            })
                        })
                        .map(|(i, _)| i)
                        .collect(),
                },
                Scope::Gateway { gateway } => CScope::Gateway(gateway_ids.get(gateway).copied()),
                Scope::Services { services } if services.is_empty() => CScope::AllGloo,
                Scope::Services { services } => CScope::Services(
                    model
                        .services
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| services.contains(&s.id))
                        .map(|(i, _)| i)
                        .collect(),
                ),
            };
            let attachment = CPolicy::kind_of_attachment(&scope);
            policies.push(CPolicy {
                attachment,
                class,
                dry_run: policy.dry_run,
                provider: match &policy.action {
                    Action::Custom(p) => Some(p.clone()),
                    _ => None,
                },
                tsb: policy.vendor == Vendor::Tsb,
                ruleless: policy.rules.is_empty(),
                namespace: policy.id.namespace.clone(),
                in_root: policy.id.namespace == model.mesh.root_namespace,
                scope,
            });
            for (ri, rule) in policy.rules.iter().enumerate() {
                rules.push(CRule::compile(
                    u32::try_from(pi).unwrap_or(u32::MAX),
                    u32::try_from(ri).unwrap_or(u32::MAX),
                    rule,
                    &resolve,
                ));
            }
        }

        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(rules.len());
        let mut tcp_rules = Vec::new();
        for (id, rule) in rules.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let narrows = policies
                .get(rule.policy as usize)
                .is_some_and(|p| matches!(p.class, Class::Allow | Class::Custom));
            if !(narrows && rule.http_only) {
                tcp_rules.push(id);
            }
            let principals: Vec<u64> = match principal_keys(rule) {
                Some(keys) => keys
                    .iter()
                    .map(|k| hash::key_hash(TAG_PRINCIPAL, k))
                    .collect(),
                None => vec![ANY],
            };
            for key in host_keys(rule) {
                let host = match key {
                    HostKey::Exact(h) => hash::key_hash(TAG_EXACT_HOST, &h),
                    HostKey::DotSuffix(s) => hash::key_hash(TAG_HOST_SUFFIX, &s),
                    HostKey::Any => ANY,
                };
                pairs.extend(principals.iter().map(|p| (hash::pair(host, *p), id)));
            }
        }
        let http = PostingIndex::build(pairs);

        let index_of = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let dry_run_policies = (0..policies.len())
            .filter(|i| policies.get(*i).is_some_and(|p| p.dry_run))
            .map(index_of)
            .collect();
        let custom_policies = (0..policies.len())
            .filter(|i| policies.get(*i).is_some_and(|p| p.class == Class::Custom))
            .map(index_of)
            .collect();
        let allow = |kind: Attachment| -> Vec<u32> {
            policies
                .iter()
                .enumerate()
                .filter(|(_, p)| p.class == Class::Allow && p.attachment == kind)
                .map(|(i, _)| index_of(i))
                .collect()
        };
        let point_allow_policies = allow(Attachment::Point);
        let mixed_allow_policies = allow(Attachment::Mixed);
        let gloo_service: Vec<bool> = model
            .services
            .iter()
            .map(|s| s.vendor == Vendor::Gloo)
            .collect();
        let service_allow_policies = (0..model.services.len())
            .map(|si| {
                allow(Attachment::ServiceOnly)
                    .into_iter()
                    .filter(|pi| match policies.get(*pi as usize).map(|p| &p.scope) {
                        Some(CScope::Services(list)) => list.contains(&si),
                        Some(CScope::AllGloo) => gloo_service.get(si).copied().unwrap_or(false),
                        _ => false,
                    })
                    .collect()
            })
            .collect();

        let mut compiled = Compiled {
            policies,
            rules,
            http,
            tcp_rules,
            custom_policies,
            dry_run_policies,
            point_allow_policies,
            mixed_allow_policies,
            service_allow_policies,
            id: NEXT_ENGINE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            gateway_points: Vec::new(),
            workload_points: Vec::new(),
            dynamic_points: std::sync::RwLock::new(HashMap::default()),
            workload_index: HashMap::default(),
            registry: RegistryIndex::build(model),
            service_gateway: model
                .services
                .iter()
                .map(|s| s.gateway.as_ref().and_then(|g| gateway_ids.get(g).copied()))
                .collect(),
            route_gateway: model
                .egress_routes
                .iter()
                .map(|r| r.gateway.as_ref().and_then(|g| gateway_ids.get(g).copied()))
                .collect(),
            service_unloaded_labels: model
                .services
                .iter()
                .map(|s| s.gateway.as_ref().map(unloaded_labels).unwrap_or_default())
                .collect(),
            route_unloaded_labels: model
                .egress_routes
                .iter()
                .map(|r| r.gateway.as_ref().map(unloaded_labels).unwrap_or_default())
                .collect(),
            gloo_service,
            no_labels: Labels::new(),
            tls: model
                .tls_settings
                .iter()
                .enumerate()
                .map(|(index, t)| CTls {
                    host: t.host.to_ascii_lowercase(),
                    index,
                })
                .collect(),
            virtual_hosts: model
                .virtual_services
                .iter()
                .map(|vs| vs.hosts.iter().map(|h| h.to_ascii_lowercase()).collect())
                .collect(),
        };
        compiled.gateway_points = model
            .gateways
            .iter()
            .enumerate()
            .map(|(i, g)| {
                compiled.point_info(
                    model,
                    &Point {
                        namespace: &g.namespace,
                        labels: &g.labels,
                        gateways: GatewaySet::One(i),
                        gateway_ref: None,
                        info: None,
                    },
                )
            })
            .collect();
        for g in &model.gateways {
            let info = compiled.point_info(
                model,
                &Point {
                    namespace: &g.namespace,
                    labels: &g.labels,
                    gateways: GatewaySet::ByLabels,
                    gateway_ref: None,
                    info: None,
                },
            );
            let next = u32::try_from(compiled.workload_points.len()).unwrap_or(u32::MAX);
            let entry = compiled
                .workload_index
                .entry(g.namespace.clone())
                .or_default();
            if !entry.iter().any(|(l, _)| l == &g.labels) {
                entry.push((g.labels.clone(), next));
                compiled.workload_points.push(info);
            }
        }
        compiled
    }

    fn point_info(&self, model: &Model, point: &Point) -> PointInfo {
        let mut attached = vec![0u64; self.policies.len().div_ceil(64)];
        for (i, p) in self.policies.iter().enumerate() {
            if p.attachment == Attachment::Point && self.attaches(model, p, point, None) {
                if let Some(word) = attached.get_mut(i / 64) {
                    *word |= 1 << (i % 64);
                }
            }
        }
        let first_gateway = point.first_gateway(model);
        PointInfo {
            summary: self.point_summary(model, point),
            attached,
            first_gateway,
            tls_gateway: (0..model.gateways.len())
                .filter(|g| point.gateway_matches(model, *g))
                .find(|g| model.gateways.get(*g).is_some_and(|gw| gw.originates_tls)),
            waypoint: point.is_waypoint(model),
        }
    }

    /// The precomputed point of a request `workload` that names a gateway's own labels.
    pub(crate) fn workload_point(&self, namespace: &str, labels: &Labels) -> Option<u32> {
        self.workload_index
            .get(namespace)
            .and_then(|list| list.iter().find(|(l, _)| l == labels))
            .map(|(_, i)| *i)
    }

    /// The precomputed point of a request `workload`: the gateway's own when the workload
    /// names a loaded gateway's labels, else computed once and cached (up to
    /// [`DYNAMIC_POINTS`] distinct workloads; beyond that computed per request).
    pub(crate) fn resolve_workload(
        &self,
        model: &Model,
        namespace: &str,
        labels: &Labels,
    ) -> WorkloadPoint {
        if let Some(index) = self.workload_point(namespace, labels) {
            return WorkloadPoint::Index(index);
        }
        let key = (namespace.to_string(), labels.clone());
        if let Ok(cache) = self.dynamic_points.read() {
            if let Some(info) = cache.get(&key) {
                return WorkloadPoint::Dynamic(Arc::clone(info));
            }
        }
        let info = Arc::new(self.point_info(
            model,
            &Point {
                namespace,
                labels,
                gateways: GatewaySet::ByLabels,
                gateway_ref: None,
                info: None,
            },
        ));
        if let Ok(mut cache) = self.dynamic_points.write() {
            if cache.len() < DYNAMIC_POINTS {
                cache.insert(key, Arc::clone(&info));
            }
        }
        WorkloadPoint::Dynamic(info)
    }

    /// This engine's identity (see [`Prepared`]).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The number of compiled rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    fn point_summary(&self, model: &Model, point: &Point) -> PointSummary {
        let mut summary = PointSummary::default();
        for pi in &self.point_allow_policies {
            if let Some(p) = self.policies.get(*pi as usize) {
                if self.attaches(model, p, point, None) {
                    summary.add(*pi, p);
                }
            }
        }
        summary
    }

    fn attaches(&self, model: &Model, p: &CPolicy, point: &Point, service: Option<usize>) -> bool {
        match &p.scope {
            CScope::Selector(labels) => {
                point.gateway_name().is_none()
                    && (p.in_root || p.namespace == point.namespace)
                    && labels_subset(labels, point.labels)
            }
            CScope::TargetRefs {
                gateways,
                waypoint_class,
                services,
            } => {
                let Some(name) = point.gateway_name() else {
                    return false;
                };
                gateways
                    .iter()
                    .any(|(n, ns)| n == name && ns == point.namespace)
                    || (*waypoint_class && p.in_root && point.is_waypoint(model))
                    || (!services.is_empty()
                        && point.is_waypoint(model)
                        && service.is_some_and(|s| services.contains(&s)))
            }
            CScope::Gateway(Some(g)) => point.gateway_matches(model, *g),
            CScope::Gateway(None) => false,
            CScope::Services(list) => service.is_some_and(|s| list.contains(&s)),
            CScope::AllGloo => {
                service.is_some_and(|s| self.gloo_service.get(s).copied().unwrap_or(false))
            }
        }
    }

    /// Decides a prepared request. Allocates nothing (the returned verdict borrows from
    /// the model, the compiled engine and the request).
    pub fn decide<'a>(&'a self, model: &'a Model, prepared: &'a Prepared) -> Verdict<'a> {
        let req = match prepared {
            Prepared::Malformed(m) => return Verdict::malformed(&m.0),
            Prepared::Ready(digest) => digest.as_ref(),
        };
        let n = &req.normalized;
        let service = match req.registry_name() {
            Some(name) => self.registry.lookup(name),
            None => self.registry.by_port.get(&n.port).copied(),
        };
        let tsb_route = n.namespace.as_deref().and_then(|ns| {
            model
                .egress_routes
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.sources
                        .iter()
                        .any(|s| s.selects(n.cluster.as_deref(), ns))
                })
                .find(|(_, r)| r.gateway.is_some())
                .map(|(i, _)| i)
        });
        if service.is_none()
            && tsb_route.is_none()
            && model.mesh.outbound == OutboundMode::RegistryOnly
        {
            return Verdict::not_in_registry();
        }

        let point = match &n.workload {
            Some(w) => Some(Point {
                namespace: &w.namespace,
                labels: &w.labels,
                gateways: GatewaySet::ByLabels,
                gateway_ref: None,
                info: match &req.workload_point {
                    Some((engine, WorkloadPoint::Index(index))) if *engine == self.id => {
                        self.workload_points.get(*index as usize)
                    }
                    Some((engine, WorkloadPoint::Dynamic(info))) if *engine == self.id => {
                        Some(info.as_ref())
                    }
                    _ => self
                        .workload_point(&w.namespace, &w.labels)
                        .and_then(|i| self.workload_points.get(i as usize)),
                },
            }),
            None => {
                let by_service = service.and_then(|s| {
                    model
                        .services
                        .get(s)
                        .and_then(|svc| svc.gateway.as_ref())
                        .map(|r| {
                            (
                                r,
                                self.service_gateway.get(s).copied().flatten(),
                                self.service_unloaded_labels.get(s),
                            )
                        })
                });
                let by_route = tsb_route.and_then(|i| {
                    model
                        .egress_routes
                        .get(i)
                        .and_then(|r| r.gateway.as_ref())
                        .map(|r| {
                            (
                                r,
                                self.route_gateway.get(i).copied().flatten(),
                                self.route_unloaded_labels.get(i),
                            )
                        })
                });
                by_service
                    .or(by_route)
                    .map(|(reference, loaded, fallback)| {
                        match loaded.and_then(|g| model.gateways.get(g).map(|gw| (g, gw))) {
                            Some((g, gw)) => Point {
                                namespace: &gw.namespace,
                                labels: &gw.labels,
                                gateways: GatewaySet::One(g),
                                gateway_ref: None,
                                info: self.gateway_points.get(g),
                            },
                            None => Point {
                                namespace: &reference.namespace,
                                labels: fallback.unwrap_or(&self.no_labels),
                                gateways: GatewaySet::Unloaded,
                                gateway_ref: Some(reference),
                                info: None,
                            },
                        }
                    })
            }
        };
        let Some(point) = point else {
            return Verdict::passthrough(self.route(model, req, service, None));
        };

        self.authorize(model, req, service, &point)
    }

    fn authorize<'a>(
        &'a self,
        model: &'a Model,
        req: &'a Digest,
        service: Option<usize>,
        point: &Point<'a>,
    ) -> Verdict<'a> {
        // CUSTOM providers attached here (few): is more than one provider involved?
        let mut providers: [Option<&str>; 2] = [None, None];
        let mut multi = [false, false];
        for pi in &self.custom_policies {
            let Some(p) = self.policies.get(*pi as usize) else {
                continue;
            };
            if !self.attaches(model, p, point, service) {
                continue;
            }
            let provider = p.provider.as_deref();
            for (mode, seen) in providers.iter_mut().enumerate() {
                if mode == 0 && p.dry_run {
                    continue;
                }
                match seen {
                    None => *seen = provider,
                    Some(s) if Some(*s) != provider => {
                        if let Some(m) = multi.get_mut(mode) {
                            *m = true;
                        }
                    }
                    Some(_) => {}
                }
            }
        }

        // Lowest matching rule id per action, for [enforced, with dry-run].
        let mut best = Best::default();
        let mut visit = |id: u32| {
            let Some(rule) = self.rules.get(id as usize) else {
                return;
            };
            let Some(p) = self.policies.get(rule.policy as usize) else {
                return;
            };
            if !best.wants(p.class, id, p.dry_run) {
                return;
            }
            let attached = match point.info {
                Some(info) if p.attachment == Attachment::Point => info.attached(rule.policy),
                _ => self.attaches(model, p, point, service),
            };
            if !attached {
                return;
            }
            let narrows = matches!(p.class, Class::Allow | Class::Custom);
            if !rule.matches(req, narrows) {
                return;
            }
            if p.class == Class::Custom {
                let provider = p.provider.as_deref().unwrap_or_default();
                let note = |mode: usize| {
                    if multi.get(mode).copied().unwrap_or(false) {
                        Some(CustomNote::MultipleProviders)
                    } else {
                        match req.normalized.custom.get(provider) {
                            Some(true) => None,
                            Some(false) => Some(CustomNote::Denied),
                            None => Some(CustomNote::NoVerdict),
                        }
                    }
                };
                best.record_custom(id, p.dry_run, note(0), note(1));
            } else {
                best.record(p.class, id, p.dry_run);
            }
        };
        if req.is_tcp {
            self.tcp_rules.iter().for_each(|id| visit(*id));
        } else {
            let principal = req.principal_key;
            let mut probe = |host: u64| {
                self.http.visit(hash::pair(host, principal), &mut visit);
                if principal != ANY {
                    self.http.visit(hash::pair(host, ANY), &mut visit);
                }
            };
            req.host_keys.iter().for_each(|h| probe(*h));
            probe(ANY);
        }

        // Which ALLOW policies attach: cached per point, plus the few that depend on the
        // registry entry.
        let mut summary = match point.info {
            Some(info) => info.summary,
            None => self.point_summary(model, point),
        };
        let service_allows = service
            .and_then(|s| self.service_allow_policies.get(s))
            .map(Vec::as_slice)
            .unwrap_or_default();
        for pi in self.mixed_allow_policies.iter().chain(service_allows) {
            if let Some(p) = self.policies.get(*pi as usize) {
                if self.attaches(model, p, point, service) {
                    summary.add(*pi, p);
                }
            }
        }

        let outcome = |mode: usize, allow: &AllowSummary| -> Outcome {
            if let Some((id, note)) = best.custom(mode) {
                return Outcome::Custom(id, note);
            }
            if let Some(id) = best.get(Class::Deny, mode) {
                return Outcome::Deny(id);
            }
            if allow.first.is_none() {
                return Outcome::NoAllowPolicies;
            }
            if let Some(id) = best.get(Class::Allow, mode) {
                return Outcome::Allow(id);
            }
            if !allow.any_with_rules {
                return match (allow.first_tsb, allow.first) {
                    (Some(p), _) => Outcome::GatewayDeniesAll(p),
                    (None, Some(p)) => Outcome::AllowNothing(p),
                    (None, None) => Outcome::NoAllowMatch,
                };
            }
            Outcome::NoAllowMatch
        };
        let enforced = outcome(0, &summary.enforced);
        let has_dry_run = self.any_dry_run_attached(model, point, service);
        let dry_run = has_dry_run.then(|| outcome(1, &summary.with_dry_run));
        let audit = best.audit;
        let allowed = enforced.allowed();
        let route = allowed.then(|| self.route(model, req, service, Some(point)));
        Verdict::from_outcome(self, model, enforced, dry_run, audit, route)
    }

    fn any_dry_run_attached(&self, model: &Model, point: &Point, service: Option<usize>) -> bool {
        // Dry-run policies are rare; a scan only over them keeps this exact.
        self.dry_run_policies.iter().any(|pi| {
            self.policies
                .get(*pi as usize)
                .is_some_and(|p| self.attaches(model, p, point, service))
        })
    }

    fn route<'a>(
        &'a self,
        model: &'a Model,
        req: &'a Digest,
        service: Option<usize>,
        point: Option<&Point<'a>>,
    ) -> VerdictRoute<'a> {
        let n = &req.normalized;
        let host: &str = n.host.as_deref().or(n.sni.as_deref()).unwrap_or_default();
        let host_lower = req.route_host_lower().unwrap_or(host);
        let svc = service.and_then(|s| model.services.get(s));
        let mut port = match svc {
            None => n.port,
            Some(s) => s
                .ports
                .iter()
                .find(|p| p.number == n.port)
                .or_else(|| {
                    (s.gateway_port == Some(n.port))
                        .then(|| s.ports.first())
                        .flatten()
                })
                .map(|p| p.target_port.unwrap_or(p.number))
                .unwrap_or(n.port),
        };
        let mut tls = self
            .tls
            .iter()
            .filter(|t| registry_matches_lower(&t.host, host_lower))
            .find_map(|t| {
                let setting = model.tls_settings.get(t.index)?;
                let (mode, sni) = match setting.ports.iter().find(|(p, _, _)| *p == port) {
                    Some((_, mode, sni)) => (
                        Some(mode.as_str()),
                        sni.as_deref().or(setting.sni.as_deref()),
                    ),
                    None => (setting.mode.as_deref(), setting.sni.as_deref()),
                };
                mode.map(|mode| VerdictTls {
                    mode,
                    sni: sni.unwrap_or(host),
                    origin: &setting.origin,
                })
            })
            .or_else(|| {
                svc.and_then(|s| s.tls.as_ref()).map(|t| VerdictTls {
                    mode: &t.mode,
                    sni: t.sni.as_deref().unwrap_or(host),
                    origin: &t.origin,
                })
            });
        if tls.is_none() {
            if let Some(point) = point {
                let originating = match point.info {
                    Some(info) => info.tls_gateway.and_then(|g| model.gateways.get(g)),
                    None => (0..model.gateways.len())
                        .filter(|g| point.gateway_matches(model, *g))
                        .find_map(|g| model.gateways.get(g).filter(|gw| gw.originates_tls)),
                };
                if let Some(gateway) = originating {
                    tls = Some(VerdictTls {
                        mode: "SIMPLE",
                        sni: host,
                        origin: &gateway.id,
                    });
                    if svc.is_none() {
                        port = 443;
                    }
                }
            }
        }
        if tls.as_ref().is_some_and(|t| t.mode == "DISABLE") {
            tls = None;
        }
        let headers = self
            .virtual_hosts
            .iter()
            .enumerate()
            .filter(|(_, hosts)| hosts.iter().any(|h| registry_matches_lower(h, host_lower)))
            .find_map(|(i, _)| {
                let vs = model.virtual_services.get(i)?;
                vs.http
                    .iter()
                    .find(|r| r.matches.is_empty() || r.matches.iter().any(|m| route_match(m, n)))
                    .map(|r| (&vs.id, &r.headers))
            });
        VerdictRoute {
            gateway: point.and_then(|p| {
                p.first_gateway(model)
                    .and_then(|g| model.gateways.get(g))
                    .map(|g| &g.id)
                    .or(p.gateway_ref)
            }),
            service: svc.map(|s| &s.id),
            host,
            port,
            tls,
            headers,
        }
    }
}

fn route_match(m: &crate::model::RouteMatch, n: &crate::request::Normalized) -> bool {
    m.uri
        .as_ref()
        .is_none_or(|u| n.path.as_deref().is_some_and(|p| u.matches(p)))
        && m.method
            .as_ref()
            .is_none_or(|method| n.method.as_deref() == Some(method.as_str()))
        && m.port.is_none_or(|p| p == n.port)
        && m.headers.iter().all(|(name, matcher)| {
            n.headers
                .get(&name.to_ascii_lowercase())
                .is_some_and(|v| matcher.matches(v))
        })
}

/// Labels of a gateway referenced but not loaded: Gateway-API gateways are known by name.
fn unloaded_labels(reference: &ResourceRef) -> Labels {
    let mut labels = Labels::new();
    if reference.kind == "Gateway" {
        labels.insert(
            crate::eval::GATEWAY_NAME_LABEL.to_string(),
            reference.name.clone(),
        );
    }
    labels
}

/// How many distinct non-gateway request workloads an engine remembers.
pub const DYNAMIC_POINTS: usize = 4096;

/// A request workload resolved to a precomputed enforcement point.
#[derive(Debug, Clone)]
pub(crate) enum WorkloadPoint {
    /// A loaded gateway's own labels.
    Index(u32),
    /// Another workload, computed on first sight.
    Dynamic(Arc<PointInfo>),
}

static NEXT_ENGINE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The outcome of §1.2 for one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Custom(u32, CustomNote),
    Deny(u32),
    NoAllowPolicies,
    Allow(u32),
    GatewayDeniesAll(u32),
    AllowNothing(u32),
    NoAllowMatch,
}

impl Outcome {
    fn allowed(self) -> bool {
        matches!(self, Outcome::NoAllowPolicies | Outcome::Allow(_))
    }
}

/// Lowest matching rule ids per action, for enforced-only (mode 0) and with dry-run (1).
#[derive(Debug, Default)]
struct Best {
    deny: [Option<u32>; 2],
    allow: [Option<u32>; 2],
    custom: [Option<(u32, CustomNote)>; 2],
    audit: bool,
}

impl Best {
    fn get(&self, class: Class, mode: usize) -> Option<u32> {
        match class {
            Class::Deny => self.deny.get(mode).copied().flatten(),
            Class::Allow => self.allow.get(mode).copied().flatten(),
            Class::Custom => self.custom(mode).map(|(id, _)| id),
            Class::Audit => None,
        }
    }

    fn custom(&self, mode: usize) -> Option<(u32, CustomNote)> {
        self.custom.get(mode).copied().flatten()
    }

    /// Whether a match of this rule could still change anything.
    fn wants(&self, class: Class, id: u32, dry_run: bool) -> bool {
        let lower = |slot: Option<u32>| slot.is_none_or(|b| id < b);
        match class {
            Class::Audit => !dry_run && !self.audit,
            Class::Custom => true,
            Class::Deny => lower(self.deny[1]) || (!dry_run && lower(self.deny[0])),
            Class::Allow => lower(self.allow[1]) || (!dry_run && lower(self.allow[0])),
        }
    }

    fn record(&mut self, class: Class, id: u32, dry_run: bool) {
        let slots = match class {
            Class::Deny => &mut self.deny,
            Class::Allow => &mut self.allow,
            Class::Audit => {
                self.audit |= !dry_run;
                return;
            }
            Class::Custom => return,
        };
        for (mode, slot) in slots.iter_mut().enumerate() {
            if (mode == 1 || !dry_run) && slot.is_none_or(|b| id < b) {
                *slot = Some(id);
            }
        }
    }

    fn record_custom(
        &mut self,
        id: u32,
        dry_run: bool,
        enforced: Option<CustomNote>,
        with_dry_run: Option<CustomNote>,
    ) {
        for (mode, note) in [(0usize, enforced), (1, with_dry_run)] {
            if mode == 0 && dry_run {
                continue;
            }
            let Some(note) = note else {
                continue;
            };
            if let Some(slot) = self.custom.get_mut(mode) {
                if slot.is_none_or(|(b, _)| id < b) {
                    *slot = Some((id, note));
                }
            }
        }
    }
}

/// Index keys for the host dimension.
enum HostKey {
    Exact(String),
    DotSuffix(String),
    Any,
}

/// Every host bucket under which `rule` can match: its operations' host values, or "any"
/// when an operation leaves the host open or uses a non-indexable form.
fn host_keys(rule: &CRule) -> Vec<HostKey> {
    let Some(ops) = &rule.to else {
        return vec![HostKey::Any];
    };
    let mut keys = Vec::new();
    for op in ops {
        if op.host_values().is_empty() {
            return vec![HostKey::Any];
        }
        for value in op.host_values() {
            match value {
                StringPattern::Exact(h) => keys.push(HostKey::Exact(h.clone())),
                StringPattern::Suffix(s) if s.starts_with('.') => {
                    keys.push(HostKey::DotSuffix(s.clone()))
                }
                _ => return vec![HostKey::Any],
            }
        }
    }
    keys
}

/// Exact peer URIs under which `rule` can match, or `None` for "any peer".
fn principal_keys(rule: &CRule) -> Option<Vec<&str>> {
    let sources = rule.from.as_ref()?;
    let mut keys = Vec::new();
    for source in sources {
        keys.extend(source.exact_principals()?);
    }
    keys.sort();
    keys.dedup();
    Some(keys)
}

/// Compiles, then decides a request end to end (convenience for callers holding a
/// [`Request`]).
pub fn decide_request(compiled: &Compiled, model: &Model, request: &Request) -> crate::Decision {
    let prepared = Prepared::for_engine(request, model, compiled);
    compiled.decide(model, &prepared).to_decision()
}
