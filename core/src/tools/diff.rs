//! The impact of a policy change: every class of requests whose decision differs between
//! two policy sets, with a concrete example and both decisions.
//!
//! Both sets are cut by one [`Partition`] over the union of their interesting values, so a
//! request whose decision changes always falls in a reported class.

use serde::Serialize;

use crate::engine::Engine;
use crate::model::{MeshConfig, Model, Policy, Rule};
use crate::request::Request;

use super::partition::{
    gateway_points, HostChoice, IdentityChoice, Partition, Point, RuleAt, ValueClass,
};
use super::reach::{caveats, DecisionSummary};

/// Options of [`diff`] (JSON: `{"points": [...], "compare_reason": false}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiffOptions {
    /// Where requests are decided; empty means routed plus every gateway of either set
    /// (as a named workload).
    pub points: Vec<Point>,
    /// Also report classes whose verdict is unchanged but whose reason or deciding policy
    /// and rule changed.
    pub compare_reason: bool,
}

/// One class of requests whose decision changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Where the requests are decided.
    pub point: String,
    /// The identity class.
    pub identity: ValueClass,
    /// The authority class.
    pub host: ValueClass,
    /// The method class.
    pub method: ValueClass,
    /// The path class.
    pub path: ValueClass,
    /// A concrete request of the class.
    pub request: Request,
    /// Its decision before.
    pub before: DecisionSummary,
    /// Its decision after.
    pub after: DecisionSummary,
}

/// The answer of [`diff`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// The points compared.
    pub points: Vec<String>,
    /// Classes whose decision changes, in enumeration order.
    pub changes: Vec<Change>,
    /// Number of request classes compared.
    pub cells: usize,
    /// Mesh settings that differ (path normalisation changes are not enumerated).
    pub mesh: Vec<String>,
    /// Rules (of either set) that read attributes the enumeration leaves absent.
    pub caveats: Vec<String>,
}

impl DiffReport {
    /// Whether any decision changes.
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }

    /// How many changes went from allowed to denied.
    pub fn newly_denied(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.before.allowed && !c.after.allowed)
            .count()
    }

    /// How many changes went from denied to allowed.
    pub fn newly_allowed(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| !c.before.allowed && c.after.allowed)
            .count()
    }
}

/// Compares the decisions of `before` and `after` on every request class.
///
/// ```
/// use egress_policy::tools::diff::{diff, DiffOptions};
/// let policy = |methods: &str| format!(
///     "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: p, namespace: egress}}\n\
///      spec:\n  selector: {{matchLabels: {{app: gw}}}}\n  rules:\n  - to: [{{operation: {{methods: [{methods}]}}}}]\n");
/// let before = egress_policy::Engine::from_yaml("p.yaml", &policy("GET"))?;
/// let after = egress_policy::Engine::from_yaml("p.yaml", &policy("GET, POST"))?;
/// let mut options = DiffOptions::default();
/// options.points.push(egress_policy::tools::partition::Point::at(egress_policy::request::Workload {
///     namespace: "egress".into(),
///     labels: [("app".to_string(), "gw".to_string())].into_iter().collect(),
/// }));
/// let report = diff(&before, &after, &options);
/// assert_eq!(report.changes.len(), 1); // any identity, any host, POST, any path
/// assert_eq!(report.changes[0].method.label, "POST");
/// assert!(report.changes[0].after.allowed);
/// # Ok::<(), egress_policy::Error>(())
/// ```
pub fn diff(before: &Engine, after: &Engine, options: &DiffOptions) -> DiffReport {
    let models = [before.model(), after.model()];
    let partition = Partition::new(&models);
    let points = if options.points.is_empty() {
        let mut all = vec![Point::routed()];
        all.extend(gateway_points(&models));
        all
    } else {
        options.points.clone()
    };
    let mut changes = Vec::new();
    let mut cells = 0;
    for point in &points {
        partition.cells(point, HostChoice::All, IdentityChoice::All, |cell| {
            cells += 1;
            let b = DecisionSummary::of(before, &cell.request);
            let a = DecisionSummary::of(after, &cell.request);
            let differs = if options.compare_reason {
                b != a
            } else {
                b.allowed != a.allowed || b.status != a.status
            };
            if differs {
                changes.push(Change {
                    point: cell.point,
                    identity: cell.identity,
                    host: cell.host,
                    method: cell.method,
                    path: cell.path,
                    request: cell.request,
                    before: b,
                    after: a,
                });
            }
        });
    }
    let mut rules: Vec<RuleAt> = Vec::new();
    for model in models {
        rules.extend(all_rules(model));
    }
    DiffReport {
        points: points.iter().map(|p| p.label.clone()).collect(),
        changes,
        cells,
        mesh: mesh_changes(&before.model().mesh, &after.model().mesh),
        caveats: caveats(rules),
    }
}

fn all_rules(model: &Model) -> impl Iterator<Item = RuleAt<'_>> {
    model.policies.iter().flat_map(move |policy: &Policy| {
        policy
            .rules
            .iter()
            .enumerate()
            .map(move |(index, rule): (usize, &Rule)| RuleAt {
                model,
                policy,
                index,
                rule,
            })
    })
}

fn mesh_changes(before: &MeshConfig, after: &MeshConfig) -> Vec<String> {
    let mut out = Vec::new();
    if before.outbound != after.outbound {
        out.push(format!(
            "outboundTrafficPolicy: {:?} -> {:?}",
            before.outbound, after.outbound
        ));
    }
    if before.path_normalization != after.path_normalization {
        out.push(format!(
            "pathNormalization: {:?} -> {:?} (paths are enumerated with the old setting; requests with encoded or dot segments may change too)",
            before.path_normalization, after.path_normalization
        ));
    }
    if before.root_namespace != after.root_namespace {
        out.push(format!(
            "rootNamespace: {} -> {}",
            before.root_namespace, after.root_namespace
        ));
    }
    if before.trust_domain != after.trust_domain
        || before.trust_domain_aliases != after.trust_domain_aliases
    {
        out.push(format!(
            "trustDomain: {} {:?} -> {} {:?}",
            before.trust_domain,
            before.trust_domain_aliases,
            after.trust_domain,
            after.trust_domain_aliases
        ));
    }
    out
}
