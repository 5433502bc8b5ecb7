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

mod authorize;
mod connection;
pub(crate) mod hash;
mod index;
mod lent;
mod matchers;
mod memo;
mod path_head;
mod prepare;
mod road_key;
mod verdict;
mod view;

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{
    Action, GatewayKind, Labels, Model, ResourceRef, Scope, TargetKind, TargetRef, Vendor,
};
use crate::request::Request;
use crate::road::End;

use authorize::CompiledOutcome;
pub use connection::Connection;
use matchers::{labels_subset, CRule};
pub use prepare::ROADS;
pub use prepare::{Digest, Prepared};
use prepare::{RoadMemo, RouteReads};
pub use verdict::{CustomNote, Summary, Verdict, VerdictRoute, VerdictTls};
pub use view::{CaveatsView, DecisionView, HopsView, RoadThen, ToItem};

/// Action class of a policy, for per-action minima.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PolicyClass {
    Custom,
    Deny,
    Allow,
    Audit,
}

#[derive(Debug, Clone)]
enum CScope {
    /// The policy's `selector`, shared with the model (which shares it between the
    /// policies with the same labels).
    Selector(Arc<Labels>),
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
    class: PolicyClass,
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
            _ => Attachment::PointRef,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attachment {
    /// Depends only on the enforcement point.
    PointRef,
    /// Attaches only through the registry entry.
    ServiceOnly,
    /// Through the point or the registry entry.
    Mixed,
}

use index::Index;

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

/// The engine's compiled form of a [`Model`].
#[derive(Debug)]
pub struct Compiled {
    policies: Vec<CPolicy>,
    rules: Vec<CRule>,
    /// Candidate rules of a request.
    index: Index,
    custom_policies: Vec<u32>,
    dry_run_policies: Vec<u32>,
    point_allow_policies: Vec<u32>,
    mixed_allow_policies: Vec<u32>,
    service_allow_policies: Vec<Vec<u32>>,
    /// Policies of any action whose attachment depends on the request's registry entry
    /// (ServiceEntry/Service targetRefs, Gloo service scopes): the point cache excludes
    /// them, so "does anything attach here" checks them per request.
    service_scoped_policies: Vec<u32>,
    /// Distinguishes engines, so a request prepared by one engine is never decided with
    /// another engine's point index.
    id: u64,
    /// Enforcement points computed on first sight by `Engine::prepare` (so `decide` never
    /// scans the policies for them), keyed by namespace, labels and gateway resources.
    dynamic_points: std::sync::RwLock<HashMap<PointKey, Arc<PointCache>, hash::FxBuild>>,
    /// The road memo: walked roads by what the road reads of a request (up to [`ROADS`]
    /// keys; beyond that walked per request). `road::walk` stays the reference.
    roads: RoadMemo,
    /// What route matches read (the memo key includes only those attributes).
    route_reads: RouteReads,
    /// Whether some rule reads the labels of the peer's service account (prepare looks
    /// them up only then).
    reads_account_labels: bool,
    /// Per registry entry: whether it is a Gloo entry (scope of workspace-wide policies).
    gloo_service: Vec<bool>,
    /// Policies with recorded assumptions (`Model::assumptions`), in model order.
    assuming: Vec<u32>,
}

/// The enforcement point of one request.
#[derive(Debug, Clone, Copy)]
struct PointRef<'a> {
    namespace: &'a str,
    labels: &'a Labels,
    /// Indices of the gateway resources the proxy implements.
    gateways: &'a [usize],
    info: Option<&'a PointCache>,
}

/// The cache key of a computed enforcement point.
type PointKey = (String, Labels, Vec<usize>);

/// Everything about a known enforcement point that does not depend on the request,
/// computed at compile time for every gateway (and every gateway's own labels as a
/// request `workload`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PointCache {
    summary: PointSummary,
    /// Bitset over policies whose attachment depends only on the point.
    attached: Vec<u64>,
    waypoint: bool,
    /// Whether any policy attaches here whatever the destination (a named workload where
    /// nothing attaches and no gateway runs gets a caveat).
    pub(crate) attaches_any: bool,
}

impl PointCache {
    #[inline]
    fn attached(&self, policy: u32) -> bool {
        self.attached
            .get((policy / 64) as usize)
            .is_some_and(|w| w & (1 << (policy % 64)) != 0)
    }
}

impl<'a> PointRef<'a> {
    fn gateway_name(&self) -> Option<&'a str> {
        self.labels
            .get(crate::model::GATEWAY_NAME_LABEL)
            .map(String::as_str)
    }

    fn gateway_matches(&self, index: usize) -> bool {
        self.gateways.contains(&index)
    }

    fn is_waypoint(&self, model: &Model) -> bool {
        if let Some(info) = self.info {
            return info.waypoint;
        }
        match self.gateways.first().and_then(|g| model.gateways.get(*g)) {
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
        let mut rules = Vec::with_capacity(model.policies.iter().map(|p| p.rules.len()).sum());
        let regexes = matchers::RegexCache::default();
        for (pi, policy) in model.policies.iter().enumerate() {
            let class = match policy.action {
                Action::Allow => PolicyClass::Allow,
                Action::Deny => PolicyClass::Deny,
                Action::Audit => PolicyClass::Audit,
                Action::Custom(_) => PolicyClass::Custom,
            };
            let scope = match &policy.scope {
                Scope::Selector { match_labels } => CScope::Selector(Arc::clone(match_labels)),
                Scope::TargetRefs { targets } => CScope::TargetRefs {
                    gateways: targets
                        .iter()
                        .filter(|t| t.kind == TargetKind::Gateway)
                        .map(|t| (t.name.clone(), t.namespace.clone()))
                        .collect(),
                    waypoint_class: targets.iter().any(TargetRef::is_waypoint_class),
                    services: model
                        .services
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| targets.iter().any(|t| t.names_service(&s.id)))
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
                    &regexes,
                ));
            }
        }

        let index = Index::build(&rules, &policies);
        let reads_account_labels = rules.iter().any(CRule::reads_account_labels);

        let index_of = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let dry_run_policies = (0..policies.len())
            .filter(|i| policies.get(*i).is_some_and(|p| p.dry_run))
            .map(index_of)
            .collect();
        let custom_policies = (0..policies.len())
            .filter(|i| {
                policies
                    .get(*i)
                    .is_some_and(|p| p.class == PolicyClass::Custom)
            })
            .map(index_of)
            .collect();
        let allow = |kind: Attachment| -> Vec<u32> {
            policies
                .iter()
                .enumerate()
                .filter(|(_, p)| p.class == PolicyClass::Allow && p.attachment == kind)
                .map(|(i, _)| index_of(i))
                .collect()
        };
        let point_allow_policies = allow(Attachment::PointRef);
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

        let service_scoped_policies = (0..policies.len())
            .filter(|i| {
                policies.get(*i).is_some_and(|p| match &p.scope {
                    CScope::Services(_) | CScope::AllGloo => true,
                    CScope::TargetRefs { services, .. } => !services.is_empty(),
                    CScope::Selector(_) | CScope::Gateway(_) => false,
                })
            })
            .map(index_of)
            .collect();

        let compiled = Compiled {
            policies,
            rules,
            index,
            custom_policies,
            dry_run_policies,
            point_allow_policies,
            mixed_allow_policies,
            service_allow_policies,
            service_scoped_policies,
            id: NEXT_ENGINE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            dynamic_points: std::sync::RwLock::new(HashMap::default()),
            roads: RoadMemo::new(ROADS),
            route_reads: RouteReads::of(model),
            reads_account_labels,
            gloo_service,
            assuming: {
                let ids: std::collections::HashSet<&ResourceRef> =
                    model.assumptions.iter().map(|(id, _)| id).collect();
                model
                    .policies
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| ids.contains(&p.id))
                    .filter_map(|(i, _)| u32::try_from(i).ok())
                    .collect()
            },
        };
        compiled
    }

    fn point_info(&self, model: &Model, point: &PointRef) -> PointCache {
        let mut attached = vec![0u64; self.policies.len().div_ceil(64)];
        let mut attaches_any = false;
        for (i, p) in self.policies.iter().enumerate() {
            if !self.attaches(model, p, point, None) {
                continue;
            }
            attaches_any = true;
            if p.attachment == Attachment::PointRef {
                if let Some(word) = attached.get_mut(i / 64) {
                    *word |= 1 << (i % 64);
                }
            }
        }
        PointCache {
            summary: self.point_summary(model, point),
            attached,
            waypoint: point.is_waypoint(model),
            attaches_any,
        }
    }

    /// The enforcement point a walked road names, computed once and cached (up to
    /// [`DYNAMIC_POINTS`] distinct points; beyond that computed per request).
    pub(crate) fn resolve_point(
        &self,
        model: &Model,
        spec: &crate::road::PointSpec,
    ) -> Arc<PointCache> {
        let key: PointKey = (
            spec.namespace.clone(),
            spec.labels.clone(),
            spec.gateways.clone(),
        );
        if let Ok(cache) = self.dynamic_points.read() {
            if let Some(info) = cache.get(&key) {
                return Arc::clone(info);
            }
        }
        let info = Arc::new(self.point_info(
            model,
            &PointRef {
                namespace: &spec.namespace,
                labels: &spec.labels,
                gateways: &spec.gateways,
                info: None,
            },
        ));
        if let Ok(mut cache) = self.dynamic_points.write() {
            if cache.len() < DYNAMIC_POINTS {
                cache.insert(key, Arc::clone(&info));
            }
        }
        info
    }

    /// Appends the recorded assumptions of the policies attached where `digest` is
    /// enforced, in model order, skipping duplicates (as the reference evaluator does).
    pub(crate) fn attached_caveats(
        &self,
        model: &Model,
        digest: &Digest,
        road: &[crate::model::Caveat],
        caveats: &mut Vec<crate::model::Caveat>,
    ) {
        if model.assumptions.is_empty() {
            return;
        }
        let End::Enforce(enforcement) = &digest.road().end else {
            return;
        };
        let info = digest.point(self.id);
        let point = PointRef {
            namespace: &enforcement.point.namespace,
            labels: &enforcement.point.labels,
            gateways: &enforcement.point.gateways,
            info,
        };
        for &index in &self.assuming {
            let (Some(cp), Some(policy)) = (
                self.policies.get(index as usize),
                model.policies.get(index as usize),
            ) else {
                continue;
            };
            let attached = match info {
                Some(info) if cp.attachment == Attachment::PointRef => info.attached(index),
                _ => self.attaches(model, cp, &point, digest.road().service),
            };
            if !attached {
                continue;
            }
            for caveat in model.assumptions_of(&policy.id) {
                if !road.contains(caveat) && !caveats.contains(caveat) {
                    caveats.push(caveat.clone());
                }
            }
        }
    }

    /// This engine's identity (see [`Prepared`]).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The number of compiled rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    fn point_summary(&self, model: &Model, point: &PointRef) -> PointSummary {
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

    fn attaches(
        &self,
        model: &Model,
        p: &CPolicy,
        point: &PointRef,
        service: Option<usize>,
    ) -> bool {
        match &p.scope {
            CScope::Selector(labels) => {
                !point.is_waypoint(model)
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
            CScope::Gateway(Some(g)) => point.gateway_matches(*g),
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
            Prepared::Malformed(m) => return Verdict::malformed(m),
            Prepared::Ready(digest) => digest,
        };
        match &req.road().end {
            End::Stop { .. } => Verdict::stopped(model, req),
            End::Unenforced { .. } => Verdict::passthrough(model, req),
            End::Enforce(enforcement) => {
                let info = req.point(self.id);
                let point = PointRef {
                    namespace: &enforcement.point.namespace,
                    labels: &enforcement.point.labels,
                    gateways: &enforcement.point.gateways,
                    info,
                };
                self.authorize(model, req, req.road().service, &point)
            }
        }
    }

    /// The longest candidate list one index probe can return (the worst case a request
    /// scans).
    pub fn longest_posting(&self) -> usize {
        self.index.longest()
    }
}

/// How many distinct non-gateway request workloads an engine remembers.
pub const DYNAMIC_POINTS: usize = 4096;

static NEXT_ENGINE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Compiles, then decides a request end to end (convenience for callers holding a
/// [`Request`]).
pub fn decide_request(compiled: &Compiled, model: &Model, request: &Request) -> crate::Decision {
    let prepared = Prepared::for_engine(&request.view(), None, model, compiled);
    compiled.decide(model, &prepared).to_decision()
}
