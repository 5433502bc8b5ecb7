//! Who can reach what: for a host, the identities allowed to reach it (with methods and
//! paths); for an identity, the hosts it may reach.
//!
//! Computed from the policies symbolically with the [`Partition`]: one request per class of
//! indistinguishable requests is decided by the engine, then classes with the same access
//! are grouped.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decision::Reason;
use crate::engine::Engine;
use crate::model::{Model, ResourceRef};
use crate::request::{Request, Workload};

use super::partition::{Cell, HostChoice, IdentityChoice, Partition, Point, RuleAt, ValueClass};

/// Options of [`reach_host`] and [`reach_identity`] (JSON: `{"points": [...]}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReachOptions {
    /// Where requests are decided; empty means [`Point::routed`] only.
    pub points: Vec<Point>,
}

impl ReachOptions {
    /// The points every front end offers: the routed road when no workload is named (or
    /// with `all_gateways`), each named workload, and with `all_gateways` every loaded
    /// gateway not already named.
    pub fn for_model(model: &Model, named: Vec<Workload>, all_gateways: bool) -> Self {
        let mut points = Vec::new();
        if named.is_empty() || all_gateways {
            points.push(Point::routed());
        }
        points.extend(named.into_iter().map(Point::at));
        if all_gateways {
            for point in super::partition::gateway_points(&[model]) {
                if !points.iter().any(|p| p.workload == point.workload) {
                    points.push(point);
                }
            }
        }
        ReachOptions { points }
    }
}

/// One group of allowed requests: methods × paths, with the deciding policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Access {
    /// Method classes (`["any"]` when every method is allowed).
    pub methods: Vec<String>,
    /// Path classes (`["any"]` when every path is allowed).
    pub paths: Vec<String>,
    /// Why these requests are allowed (`allowed_by_policy`, `no_allow_policies`,
    /// `passthrough`).
    pub reason: Reason,
    /// The deciding policy, if one decided.
    pub policy: Option<ResourceRef>,
    /// The deciding rule.
    pub rule: Option<usize>,
    /// One concrete request of the group.
    pub example: Request,
}

/// Subjects (identity or host classes) that share the same access at one point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReachEntry {
    /// Where the requests are decided.
    pub point: String,
    /// The identity classes (for a host query: the group; for an identity query: the
    /// identity).
    pub identities: Vec<ValueClass>,
    /// The host classes (for an identity query: the group; for a host query: the host).
    pub hosts: Vec<ValueClass>,
    /// Whether the group holds every class of its dimension ("any identity", "any host").
    pub any: bool,
    /// What they may send.
    pub access: Vec<Access>,
}

/// The answer of [`reach_host`] or [`reach_identity`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReachReport {
    /// The host asked about, for a host query.
    pub host: Option<String>,
    /// The identity asked about, for an identity query (`none` for plaintext).
    pub identity: Option<String>,
    /// Who may reach the host / which hosts the identity may reach, grouped by access.
    /// Classes with no allowed request are left out.
    pub entries: Vec<ReachEntry>,
    /// Number of request classes decided.
    pub cells: usize,
    /// Rules that read attributes the enumeration leaves absent (headers, JWT, source IPs,
    /// SNI, CUSTOM verdicts): requests carrying them may be decided differently.
    pub caveats: Vec<String>,
}

impl ReachReport {
    /// Whether nobody (host query) / nothing (identity query) is reachable.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn points(options: &ReachOptions) -> Vec<Point> {
    if options.points.is_empty() {
        vec![Point::routed()]
    } else {
        options.points.clone()
    }
}

/// Who may reach `host` (an authority as clients send it: `httpbin.org`,
/// `api.example.com:8443`).
///
/// ```
/// use egress_policy::tools::reach::{reach_host, ReachOptions};
/// let engine = egress_policy::Engine::from_paths(&["../examples/policies/istio-waypoint"])?;
/// let report = reach_host(&engine, "httpbin.org", &ReachOptions::default());
/// let entry = &report.entries[0];
/// assert!(entry.any); // any identity ...
/// assert_eq!(entry.access[0].methods, ["GET"]); // ... may GET /get
/// assert_eq!(entry.access[0].paths, ["/get"]);
/// # Ok::<(), egress_policy::Error>(())
/// ```
pub fn reach_host(engine: &Engine, host: &str, options: &ReachOptions) -> ReachReport {
    let model = engine.model();
    let partition = Partition::new(&[model]);
    let mut entries = Vec::new();
    let mut cells = 0;
    let mut caveat_rules: Vec<RuleAt> = Vec::new();
    for point in points(options) {
        let mut all: Vec<(Cell, DecisionSummary)> = Vec::new();
        partition.cells(
            &point,
            HostChoice::Only(host),
            IdentityChoice::All,
            |cell| {
                let outcome = DecisionSummary::of(engine, &cell.request);
                all.push((cell, outcome));
            },
        );
        cells += all.len();
        caveat_rules.extend(partition.rules_for(&point, host));
        entries.extend(group(&point, all, |cell| cell.identity.clone(), true));
    }
    let mut caveats = caveats(caveat_rules);
    if !valid_authority(host) {
        caveats.insert(
            0,
            format!(
                "`{host}` is not a valid authority (`host` or `host:port`): no request was decided"
            ),
        );
    }
    ReachReport {
        host: Some(host.to_string()),
        identity: None,
        entries,
        cells,
        caveats,
    }
}

/// Which hosts `identity` may reach (`None`: a plaintext sender). The identity is an Istio
/// principal (`cluster.local/ns/NS/sa/SA`) or a `spiffe://` URI.
pub fn reach_identity(
    engine: &Engine,
    identity: Option<&str>,
    options: &ReachOptions,
) -> ReachReport {
    let model = engine.model();
    let partition = Partition::new(&[model]);
    let mut entries = Vec::new();
    let mut cells = 0;
    for point in points(options) {
        let mut all: Vec<(Cell, DecisionSummary)> = Vec::new();
        partition.cells(
            &point,
            HostChoice::All,
            IdentityChoice::Only(identity),
            |cell| {
                let outcome = DecisionSummary::of(engine, &cell.request);
                all.push((cell, outcome));
            },
        );
        cells += all.len();
        entries.extend(group(&point, all, |cell| cell.host.clone(), false));
    }
    let rules: Vec<RuleAt> = model
        .policies
        .iter()
        .flat_map(|policy| {
            policy
                .rules
                .iter()
                .enumerate()
                .map(move |(index, rule)| RuleAt {
                    model,
                    policy,
                    index,
                    rule,
                })
        })
        .collect();
    ReachReport {
        host: None,
        identity: Some(identity.unwrap_or("none").to_string()),
        entries,
        cells,
        caveats: caveats(rules),
    }
}

/// Whether `authority` is a host (with optional `:port`) a request may carry.
pub fn valid_authority(authority: &str) -> bool {
    let request = Request {
        host: Some(authority.to_string()),
        ..Request::default()
    };
    !authority.is_empty()
        && request
            .normalize(crate::model::PathNormalization::None)
            .is_ok()
}

/// The parts of a decision reach and diff look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionSummary {
    /// Whether the request may leave.
    pub allowed: bool,
    /// HTTP status.
    pub status: u16,
    /// Reason code.
    pub reason: Reason,
    /// Deciding policy.
    pub policy: Option<ResourceRef>,
    /// Deciding rule.
    pub rule: Option<usize>,
}

impl DecisionSummary {
    /// Decides `request` with `engine`.
    pub fn of(engine: &Engine, request: &Request) -> Self {
        let d = engine.decide(request);
        DecisionSummary {
            allowed: d.allowed,
            status: d.status,
            reason: d.reason,
            policy: d.policy,
            rule: d.rule,
        }
    }
}

/// `Kind namespace/name rule N reads X, Y` for every rule that reads unmodelled attributes.
pub(crate) fn caveats(rules: Vec<RuleAt>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for at in rules {
        let reads = super::partition::unmodelled(at.policy, at.rule);
        if reads.is_empty() {
            continue;
        }
        let line = format!(
            "{} rule {} reads {}, which the enumerated requests do not carry",
            at.policy.id,
            at.index,
            reads.join(", ")
        );
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

type Key = (
    Vec<String>,
    Vec<String>,
    Reason,
    Option<ResourceRef>,
    Option<usize>,
);

/// Groups the cells of one point by subject (identity or host class), then subjects by
/// identical access.
fn group(
    point: &Point,
    cells: Vec<(Cell, DecisionSummary)>,
    subject: impl Fn(&Cell) -> ValueClass,
    host_query: bool,
) -> Vec<ReachEntry> {
    // Subjects in first-seen order with their cells.
    let mut order: Vec<ValueClass> = Vec::new();
    let mut by_subject: Vec<Vec<(Cell, DecisionSummary)>> = Vec::new();
    for (cell, outcome) in cells {
        let s = subject(&cell);
        match order.iter().position(|o| o == &s) {
            Some(i) => {
                if let Some(list) = by_subject.get_mut(i) {
                    list.push((cell, outcome));
                }
            }
            None => {
                order.push(s);
                by_subject.push(vec![(cell, outcome)]);
            }
        }
    }
    let subject_count = order.len();
    let mut entries: Vec<(Vec<Key>, ReachEntry)> = Vec::new();
    for (s, list) in order.into_iter().zip(by_subject) {
        let access = access_of(&list);
        if access.is_empty() {
            continue;
        }
        let keys: Vec<Key> = access
            .iter()
            .map(|a| {
                (
                    a.methods.clone(),
                    a.paths.clone(),
                    a.reason,
                    a.policy.clone(),
                    a.rule,
                )
            })
            .collect();
        let fixed = list.first().map(|(cell, _)| {
            if host_query {
                cell.host.clone()
            } else {
                cell.identity.clone()
            }
        });
        match entries.iter_mut().find(|(k, _)| *k == keys) {
            Some((_, entry)) => {
                if host_query {
                    entry.identities.push(s);
                } else {
                    entry.hosts.push(s);
                }
            }
            None => {
                let fixed: Vec<ValueClass> = fixed.into_iter().collect();
                let (identities, hosts) = if host_query {
                    (vec![s], fixed)
                } else {
                    (fixed, vec![s])
                };
                entries.push((
                    keys,
                    ReachEntry {
                        point: point.label.clone(),
                        identities,
                        hosts,
                        any: false,
                        access,
                    },
                ));
            }
        }
    }
    entries
        .into_iter()
        .map(|(_, mut entry)| {
            let grouped = if host_query {
                entry.identities.len()
            } else {
                entry.hosts.len()
            };
            entry.any = grouped == subject_count;
            entry
        })
        .collect()
}

/// The allowed requests of one subject as method × path groups.
fn access_of(cells: &[(Cell, DecisionSummary)]) -> Vec<Access> {
    let mut all_methods: Vec<&str> = Vec::new();
    let mut all_paths: Vec<&str> = Vec::new();
    for (cell, _) in cells {
        if !all_methods.contains(&cell.method.label.as_str()) {
            all_methods.push(&cell.method.label);
        }
        if !all_paths.contains(&cell.path.label.as_str()) {
            all_paths.push(&cell.path.label);
        }
    }
    // Per path: methods grouped by deciding policy.
    type Decider = (Reason, Option<ResourceRef>, Option<usize>);
    let mut per_path: Vec<(String, Decider, Vec<String>, Request)> = Vec::new();
    for (cell, outcome) in cells.iter().filter(|(_, o)| o.allowed) {
        let decider = (outcome.reason, outcome.policy.clone(), outcome.rule);
        match per_path
            .iter_mut()
            .find(|(p, d, _, _)| p == &cell.path.label && d == &decider)
        {
            Some((_, _, methods, _)) => {
                if !methods.contains(&cell.method.label) {
                    methods.push(cell.method.label.clone());
                }
            }
            None => per_path.push((
                cell.path.label.clone(),
                decider,
                vec![cell.method.label.clone()],
                cell.request.clone(),
            )),
        }
    }
    let mut grouped: BTreeMap<usize, Access> = BTreeMap::new();
    let mut order: Vec<(Vec<String>, Decider)> = Vec::new();
    for (path, decider, methods, example) in per_path {
        let methods = if methods.len() == all_methods.len() {
            vec!["any".to_string()]
        } else {
            methods
        };
        let key = (methods.clone(), decider.clone());
        match order.iter().position(|k| k == &key) {
            Some(i) => {
                if let Some(access) = grouped.get_mut(&i) {
                    access.paths.push(path);
                }
            }
            None => {
                grouped.insert(
                    order.len(),
                    Access {
                        methods,
                        paths: vec![path],
                        reason: decider.0,
                        policy: decider.1.clone(),
                        rule: decider.2,
                        example,
                    },
                );
                order.push(key);
            }
        }
    }
    grouped
        .into_values()
        .map(|mut access| {
            if access.paths.len() == all_paths.len() {
                access.paths = vec!["any".to_string()];
            }
            access
        })
        .collect()
}
