//! Lint: the pitfalls of egress authorization (SEMANTICS.md §6) found in loaded policies.
//!
//! Every finding has a stable code, a location (the rule, refined to the offending value by
//! [`refine_locations`] when the source text is available), a message saying what goes
//! wrong at run time and a help line saying what to write instead. See [`CODES`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::error::Result;
use crate::eval::{self, EnforcementPoint};
use crate::import::Loader;
use crate::model::GATEWAY_NAME_LABEL;
use crate::model::{
    glob_match, Action, Condition, ExternalService, Field, Gateway, GatewayKind, HostPattern,
    IpBlock, Labels, Model, NamespacePattern, Operation, OutboundMode, PathPattern, Policy,
    ResourceRef, Rule, Scope, ServiceAccountRef, Source, StringPattern, TrustDomainPattern, Vendor,
};
use crate::request::Request;
use crate::source::{parse_documents, Node, Value};

use super::partition::{HostChoice, IdentityChoice, Partition, Point};

/// Every lint code with a one-line summary.
pub const CODES: &[(&str, &str)] = &[
    (
        "deny-host-without-port",
        "a DENY `hosts` (or ALLOW `notHosts`) value without its `host:*` twin: clients bypass it by sending `Host: host:80`",
    ),
    (
        "allow-host-without-port",
        "an ALLOW `hosts` value without `host:*` for a host registered on a non-default port: its clients send `host:port` and are denied",
    ),
    (
        "host-suffix-without-dot",
        "`*example.com` (no dot) also matches `evilexample.com`",
    ),
    (
        "literal-star",
        "a `*` inside a value is a literal character, not a wildcard",
    ),
    (
        "spiffe-principal",
        "a principal written with `spiffe://` never matches: Istio adds the scheme itself",
    ),
    (
        "never-matches",
        "a rule (or value) whose conditions contradict each other, so it can never match",
    ),
    (
        "shadowed-by-deny",
        "an ALLOW rule whose every request is denied by a DENY rule of the same scope",
    ),
    (
        "redundant-rule",
        "a rule made redundant by a broader rule of the same action and scope",
    ),
    (
        "http-only-on-tcp",
        "HTTP-only fields in a policy that also sees TCP/TLS traffic: ALLOW rules are skipped, DENY rules lose the constraint",
    ),
    (
        "hosts-on-tls",
        "`hosts` in a policy that sees TLS traffic, where only the SNI is visible",
    ),
    (
        "registry-only-not-set",
        "egress gateways enforce ALLOW policies but outboundTrafficPolicy is not REGISTRY_ONLY: unregistered hosts leave directly",
    ),
    (
        "host-not-in-registry",
        "a policy names a host no registry entry routes to its gateway: the rule never sees that traffic",
    ),
    (
        "unreachable-service",
        "a registry entry that no identity may reach",
    ),
    (
        "unattached-policy",
        "a policy that attaches to no gateway or workload",
    ),
];

/// Whether `policy` is a TSB `EgressGateway`'s authorization (the gateway of unknown
/// traffic, SEMANTICS.md §8.3), where unregistered hosts are the design.
fn is_tsb_unknown_traffic_gateway(policy: &Policy) -> bool {
    policy.vendor == Vendor::Tsb
        && policy.id.kind == "EgressGateway"
        && matches!(&policy.scope, Scope::Gateway { .. })
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// Stable code (see [`CODES`]).
    pub code: String,
    /// Always a warning: lints never stop a load.
    pub severity: Severity,
    /// Where the offending rule or value starts.
    #[serde(flatten)]
    pub location: Location,
    /// The resource, as `Kind namespace/name`.
    pub resource: Option<String>,
    /// The field path, such as `spec.rules[0].to[0].operation.hosts[0]`.
    pub field: Option<String>,
    /// What goes wrong, in one sentence.
    pub message: String,
    /// What to write instead.
    pub help: String,
}

impl Lint {
    /// The lint as a plain diagnostic (`[code]` appended to the message).
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic {
            severity: self.severity,
            location: self.location.clone(),
            resource: self.resource.clone(),
            field: self.field.clone(),
            message: format!("{} [{}]", self.message, self.code),
        }
    }
}

impl fmt::Display for Lint {
    /// `file:line:col: warning: Kind ns/name: field: message [code]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_diagnostic().fmt(f)
    }
}

/// Lints a loaded model. Findings are sorted by location, then code.
pub fn lint(model: &Model) -> Vec<Lint> {
    let mut cx = Cx {
        model,
        out: Vec::new(),
        facts: Facts::new(model),
    };
    for (pi, policy) in model.policies.iter().enumerate() {
        cx.values(policy);
        cx.never_matches(policy);
        cx.tcp(pi, policy);
        cx.not_in_registry(pi, policy);
    }
    cx.overlaps();
    cx.registry_suffixes();
    cx.registry_only();
    cx.unreachable_services();
    cx.unattached();
    let mut out = cx.out;
    out.sort_by(|a, b| {
        (&a.location, &a.code, &a.field, &a.message).cmp(&(
            &b.location,
            &b.code,
            &b.field,
            &b.message,
        ))
    });
    out.dedup();
    out
}

/// Loads `paths` and lints them, locating each finding at the offending value.
pub fn lint_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Lint>> {
    let mut loader = Loader::new();
    for path in paths {
        loader.add_path(path)?;
    }
    let model = loader.load()?;
    let mut lints = lint(&model);
    refine_locations(&mut lints, |file| std::fs::read_to_string(file).ok());
    Ok(lints)
}

/// Moves each finding from its rule to the exact value its field path names, reading the
/// policy texts with `read` (file name → text). Findings whose text cannot be read or whose
/// path does not resolve keep their location.
pub fn refine_locations(lints: &mut [Lint], read: impl Fn(&str) -> Option<String>) {
    let mut files: HashMap<String, Option<FileDocs>> = HashMap::new();
    for lint in lints.iter_mut() {
        let (Some(field), Some(resource)) = (lint.field.as_deref(), lint.resource.as_deref())
        else {
            continue;
        };
        let file = &lint.location.file;
        if !files.contains_key(file) {
            let docs = read(file)
                .and_then(|text| parse_documents(file, &text).ok())
                .map(FileDocs::new);
            files.insert(file.clone(), docs);
        }
        let Some(Some(docs)) = files.get(file) else {
            continue;
        };
        let Some(doc) = docs.find(resource) else {
            continue;
        };
        if let Some(node) = resolve(doc, field) {
            lint.location.line = node.line;
            lint.location.column = node.column;
        }
    }
}

/// `(kind, name)` → `(namespace, document, List item)`.
type DocIndex = HashMap<(String, String), Vec<(Option<String>, usize, Option<usize>)>>;

/// The documents of one file, indexed by kind and name.
struct FileDocs {
    docs: Vec<Node>,
    /// `(kind, name)` → `(namespace, document, List item)`.
    index: DocIndex,
}

impl FileDocs {
    fn new(docs: Vec<Node>) -> Self {
        let mut index: DocIndex = HashMap::new();
        let mut add = |node: &Node, doc: usize, item: Option<usize>| {
            let meta = node.get("metadata");
            let kind = node.get("kind").and_then(Node::as_str);
            let name = meta.and_then(|m| m.get("name")).and_then(Node::as_str);
            if let (Some(kind), Some(name)) = (kind, name) {
                let namespace = meta
                    .and_then(|m| m.get("namespace"))
                    .and_then(Node::as_str)
                    .map(str::to_string);
                index
                    .entry((kind.to_string(), name.to_string()))
                    .or_default()
                    .push((namespace, doc, item));
            }
        };
        for (d, node) in docs.iter().enumerate() {
            add(node, d, None);
            if let Some(Value::Seq(items)) = node.get("items").map(|n| &n.value) {
                for (i, item) in items.iter().enumerate() {
                    add(item, d, Some(i));
                }
            }
        }
        FileDocs { docs, index }
    }

    /// The document (or `List` item) of `resource` (`Kind namespace/name`).
    fn find(&self, resource: &str) -> Option<&Node> {
        let (kind, rest) = resource.split_once(' ')?;
        let (namespace, name) = rest.split_once('/')?;
        let candidates = self.index.get(&(kind.to_string(), name.to_string()))?;
        let (_, doc, item) = candidates
            .iter()
            .find(|(ns, _, _)| ns.as_deref().is_none_or(|ns| ns == namespace))?;
        let node = self.docs.get(*doc)?;
        match item {
            None => Some(node),
            Some(i) => match node.get("items").map(|n| &n.value) {
                Some(Value::Seq(items)) => items.get(*i),
                _ => None,
            },
        }
    }
}

/// Follows `a.b[1].c` from `node`; stops at the deepest node that resolves.
fn resolve<'a>(node: &'a Node, path: &str) -> Option<&'a Node> {
    let mut current = node;
    let mut resolved = false;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(at) => (part.get(..at).unwrap_or(part), part.get(at..).unwrap_or("")),
            None => (part, ""),
        };
        let Some(next) = current.get(key) else {
            break;
        };
        current = next;
        resolved = true;
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let Ok(i) = index.trim_end_matches(']').parse::<usize>() else {
                break;
            };
            match &current.value {
                Value::Seq(items) => match items.get(i) {
                    Some(item) => current = item,
                    None => return Some(current),
                },
                _ => return Some(current),
            }
        }
    }
    resolved.then_some(current)
}

// ------------------------------------------------------------------------------------------
// Facts about where traffic goes

/// An enforcement point that traffic can reach, with the registry entries routed to it.
struct PointInfo<'m> {
    point: EnforcementPoint<'m>,
    /// The gateway resource, when loaded.
    gateway: Option<&'m Gateway>,
    /// Registry entries whose traffic the registry routes here.
    services: Vec<usize>,
    /// Whether TSB `TrafficSetting`s route external traffic here.
    routes: bool,
    /// Indexes of the policies attached here for requests to no registry entry (`None`) or
    /// to each registry entry.
    attached: Vec<(Option<usize>, BTreeSet<usize>)>,
}

impl PointInfo<'_> {
    /// Whether policy `index` attaches here for requests to `service`.
    fn attaches(&self, index: usize, service: Option<usize>) -> bool {
        self.attached
            .iter()
            .any(|(s, set)| *s == service && set.contains(&index))
    }

    /// Whether policy `index` attaches here for any request.
    fn attaches_any(&self, index: usize) -> bool {
        self.attached.iter().any(|(_, set)| set.contains(&index))
    }
}

struct Facts<'m> {
    points: Vec<PointInfo<'m>>,
}

fn normalized_for(model: &Model, host: Option<&str>) -> Option<crate::request::Normalized> {
    let request = Request {
        host: Some(host.unwrap_or("egress-policy.invalid").to_string()),
        ..Request::default()
    };
    request.normalize(model.mesh.path_normalization).ok()
}

/// A host that the registry entry matches.
fn service_host(service: &ExternalService) -> Option<String> {
    service.hosts.first().map(|h| match h.strip_prefix('*') {
        Some(suffix) => format!("q{suffix}"),
        None => h.clone(),
    })
}

impl<'m> Facts<'m> {
    fn new(model: &'m Model) -> Self {
        let mut points: Vec<PointInfo<'m>> = Vec::new();
        let same = |a: &EnforcementPoint, b: &EnforcementPoint| {
            a.namespace == b.namespace && a.labels == b.labels && a.gateway_id() == b.gateway_id()
        };
        for gateway in &model.gateways {
            points.push(PointInfo {
                point: EnforcementPoint {
                    namespace: gateway.namespace.clone(),
                    labels: gateway.labels.clone(),
                    gateways: vec![gateway],
                    gateway_ref: None,
                },
                gateway: Some(gateway),
                services: Vec::new(),
                routes: false,
                attached: Vec::new(),
            });
        }
        let Some(n) = normalized_for(model, None) else {
            return Facts { points };
        };
        let index: HashMap<*const Policy, usize> = model
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p as *const Policy, i))
            .collect();
        for (si, service) in model.services.iter().enumerate() {
            if service.gateway.is_none() {
                continue;
            }
            let Some(point) = eval::point_via(model, &n, Some(service), None) else {
                continue;
            };
            match points.iter_mut().find(|p| same(&p.point, &point)) {
                Some(info) => info.services.push(si),
                None => points.push(PointInfo {
                    point,
                    gateway: None,
                    services: vec![si],
                    routes: false,
                    attached: Vec::new(),
                }),
            }
        }
        for route in &model.egress_routes {
            let Some(gateway) = &route.gateway else {
                continue;
            };
            let Some(point) = eval::point_via(model, &n, None, Some(gateway)) else {
                continue;
            };
            match points.iter_mut().find(|p| same(&p.point, &point)) {
                Some(info) => info.routes = true,
                None => points.push(PointInfo {
                    point,
                    gateway: None,
                    services: Vec::new(),
                    routes: true,
                    attached: Vec::new(),
                }),
            }
        }
        for info in &mut points {
            let options = std::iter::once(None).chain((0..model.services.len()).map(Some));
            for option in options {
                let service = option.and_then(|i| model.services.get(i));
                let set: BTreeSet<usize> = eval::attached_policies(model, &info.point, service)
                    .into_iter()
                    .filter_map(|p| index.get(&(p as *const Policy)).copied())
                    .collect();
                info.attached.push((option, set));
            }
        }
        Facts { points }
    }
}

impl Facts<'_> {
    /// Whether policy `index` applies where the registry routes `service`'s traffic.
    fn applies_to_service(&self, index: usize, service: usize) -> bool {
        self.points
            .iter()
            .any(|p| p.services.contains(&service) && p.attaches(index, Some(service)))
    }
}

// ------------------------------------------------------------------------------------------
// Field paths

fn rule_path(policy: &Policy, rule: usize) -> String {
    match policy.vendor {
        Vendor::Istio => format!("spec.rules[{rule}]"),
        Vendor::Tsb => format!("spec.authorization[{rule}]"),
        Vendor::Gloo => "spec.config.authz".to_string(),
    }
}

/// `field` is the Istio name (`hosts`, `notHosts`, `methods`, …); `value` the index.
fn op_path(policy: &Policy, rule: usize, op: usize, field: &str, value: Option<usize>) -> String {
    let index = value.map(|v| format!("[{v}]")).unwrap_or_default();
    match policy.vendor {
        Vendor::Istio => format!("spec.rules[{rule}].to[{op}].operation.{field}{index}"),
        Vendor::Tsb => format!("spec.authorization[{rule}].to{index}"),
        Vendor::Gloo => match field {
            "methods" => format!("spec.config.authz.allowedMethods{index}"),
            "paths" => format!("spec.config.authz.allowedPaths{index}"),
            _ => "spec.config.authz".to_string(),
        },
    }
}

fn source_path(
    model: &Model,
    policy: &Policy,
    rule: usize,
    source: usize,
    field: &str,
    value: Option<usize>,
) -> String {
    // Trust domain aliases expand principals, so value indexes may not match the text.
    let value =
        value.filter(|_| field != "principals" || model.mesh.trust_domain_aliases.is_empty());
    let index = value.map(|v| format!("[{v}]")).unwrap_or_default();
    match policy.vendor {
        Vendor::Istio => format!("spec.rules[{rule}].from[{source}].source.{field}{index}"),
        Vendor::Tsb => format!("spec.authorization[{rule}].from"),
        Vendor::Gloo => format!("spec.config.authz.allowedClients[{source}]"),
    }
}

fn when_path(
    policy: &Policy,
    rule: usize,
    condition: usize,
    value: Option<(&str, usize)>,
) -> String {
    let tail = value
        .map(|(list, i)| format!(".{list}[{i}]"))
        .unwrap_or_default();
    match policy.vendor {
        Vendor::Istio => format!("spec.rules[{rule}].when[{condition}]{tail}"),
        _ => rule_path(policy, rule),
    }
}

fn rule_location(policy: &Policy, rule: &Rule) -> Location {
    rule.location
        .clone()
        .unwrap_or_else(|| policy.location.clone())
}

/// The principal as the user wrote it (Istio form).
fn principal_text(p: &StringPattern) -> String {
    let text = p.to_string();
    match p {
        StringPattern::Exact(_) | StringPattern::Prefix(_) => {
            text.strip_prefix("spiffe://").unwrap_or(&text).to_string()
        }
        _ => text,
    }
}

fn pattern_text(p: &StringPattern) -> &str {
    match p {
        StringPattern::Exact(t) | StringPattern::Prefix(t) | StringPattern::Suffix(t) => t,
        StringPattern::Presence => "",
    }
}

// ------------------------------------------------------------------------------------------
// The checks

struct Cx<'m> {
    model: &'m Model,
    out: Vec<Lint>,
    facts: Facts<'m>,
}

impl<'m> Cx<'m> {
    fn push(
        &mut self,
        code: &str,
        location: Location,
        resource: Option<&ResourceRef>,
        field: Option<String>,
        message: String,
        help: String,
    ) {
        self.out.push(Lint {
            code: code.to_string(),
            severity: Severity::Warning,
            location,
            resource: resource.map(ToString::to_string),
            field,
            message,
            help,
        });
    }

    /// Value-level checks: ports on hosts, suffixes without dot, literal stars, spiffe://.
    fn values(&mut self, policy: &'m Policy) {
        let deny_side = policy.action == Action::Deny;
        let allow_side = policy.action == Action::Allow;
        let all_hosts: Vec<&HostPattern> = policy
            .rules
            .iter()
            .flat_map(|r| r.to.iter().flatten())
            .flat_map(|op| op.hosts.values.iter())
            .collect();
        let all_not_hosts: Vec<&HostPattern> = policy
            .rules
            .iter()
            .flat_map(|r| r.to.iter().flatten())
            .flat_map(|op| op.hosts.not_values.iter())
            .collect();
        for (ri, rule) in policy.rules.iter().enumerate() {
            let location = rule_location(policy, rule);
            for (oi, op) in rule.to.iter().flatten().enumerate() {
                for (negative, list) in [(false, &op.hosts.values), (true, &op.hosts.not_values)] {
                    let field = if negative { "notHosts" } else { "hosts" };
                    for (vi, host) in list.iter().enumerate() {
                        let path = Some(op_path(policy, ri, oi, field, Some(vi)));
                        let siblings = if negative { &all_not_hosts } else { &all_hosts };
                        let bypass = (deny_side && !negative) || (allow_side && negative);
                        if bypass {
                            self.port_bypass(
                                policy,
                                &location,
                                path.clone(),
                                host,
                                siblings,
                                negative,
                            );
                        }
                        if allow_side && !negative {
                            self.port_denied(policy, &location, path.clone(), host, siblings);
                        }
                        self.suffix_without_dot(
                            policy,
                            &location,
                            path.clone(),
                            &host.raw,
                            &host.pattern,
                        );
                        if pattern_text(&host.pattern).contains('*') {
                            self.literal_star(policy, &location, path, &host.raw, "hosts");
                        }
                    }
                }
                self.star_in(policy, &location, ri, oi, "methods", &op.methods);
                self.star_in(
                    policy,
                    &location,
                    ri,
                    oi,
                    "notMethods",
                    &Field {
                        values: op.methods.not_values.clone(),
                        not_values: Vec::new(),
                    },
                );
                for (negative, list) in [(false, &op.paths.values), (true, &op.paths.not_values)] {
                    let field = if negative { "notPaths" } else { "paths" };
                    for (vi, path) in list.iter().enumerate() {
                        if let PathPattern::String { pattern } = path {
                            if pattern_text(pattern).contains('*') {
                                let at = Some(op_path(policy, ri, oi, field, Some(vi)));
                                self.literal_star(policy, &location, at, &path.to_string(), field);
                            }
                        }
                    }
                }
            }
            for (si, source) in rule.from.iter().flatten().enumerate() {
                for (negative, list) in [
                    (false, &source.principals.values),
                    (true, &source.principals.not_values),
                ] {
                    let field = if negative {
                        "notPrincipals"
                    } else {
                        "principals"
                    };
                    for (vi, p) in list.iter().enumerate() {
                        let at = Some(source_path(self.model, policy, ri, si, field, Some(vi)));
                        self.principal_value(policy, &location, at, p, field);
                    }
                }
                for (negative, list) in [
                    (false, &source.request_principals.values),
                    (true, &source.request_principals.not_values),
                ] {
                    let field = if negative {
                        "notRequestPrincipals"
                    } else {
                        "requestPrincipals"
                    };
                    for (vi, p) in list.iter().enumerate() {
                        if pattern_text(p).contains('*') {
                            let at = Some(source_path(self.model, policy, ri, si, field, Some(vi)));
                            self.literal_star(policy, &location, at, &p.to_string(), field);
                        }
                    }
                }
            }
            for (ci, condition) in rule.when.iter().enumerate() {
                let field = match condition {
                    Condition::RequestHeader { field, .. }
                    | Condition::RequestAuthPrincipal(field)
                    | Condition::RequestAuthAudiences(field)
                    | Condition::RequestAuthPresenter(field)
                    | Condition::RequestAuthClaim { field, .. }
                    | Condition::ConnectionSni(field)
                    | Condition::Experimental { field, .. } => Some(field),
                    Condition::SourcePrincipal(field) => {
                        for (negative, list) in [(false, &field.values), (true, &field.not_values)]
                        {
                            for (vi, p) in list.iter().enumerate() {
                                let key = if negative { "notValues" } else { "values" };
                                let at = Some(when_path(policy, ri, ci, Some((key, vi))));
                                self.principal_value(policy, &location, at, p, "source.principal");
                            }
                        }
                        None
                    }
                    _ => None,
                };
                let Some(field) = field else {
                    continue;
                };
                for (negative, list) in [(false, &field.values), (true, &field.not_values)] {
                    let key = if negative { "notValues" } else { "values" };
                    for (vi, p) in list.iter().enumerate() {
                        let at = Some(when_path(policy, ri, ci, Some((key, vi))));
                        if pattern_text(p).contains('*') {
                            self.literal_star(
                                policy,
                                &location,
                                at.clone(),
                                &p.to_string(),
                                &condition.key(),
                            );
                        }
                        if matches!(condition, Condition::ConnectionSni(_)) {
                            self.suffix_without_dot(policy, &location, at, &p.to_string(), p);
                        }
                    }
                }
            }
        }
    }

    fn star_in(
        &mut self,
        policy: &Policy,
        location: &Location,
        rule: usize,
        op: usize,
        field: &str,
        values: &Field<StringPattern>,
    ) {
        for (vi, p) in values.values.iter().enumerate() {
            if pattern_text(p).contains('*') {
                let at = Some(op_path(policy, rule, op, field, Some(vi)));
                self.literal_star(policy, location, at, &p.to_string(), field);
            }
        }
    }

    fn principal_value(
        &mut self,
        policy: &Policy,
        location: &Location,
        at: Option<String>,
        p: &StringPattern,
        field: &str,
    ) {
        let text = pattern_text(p);
        if matches!(p, StringPattern::Exact(_) | StringPattern::Prefix(_))
            && text.starts_with("spiffe://spiffe://")
        {
            let written = principal_text(p);
            let fixed = written
                .strip_prefix("spiffe://")
                .unwrap_or(&written)
                .to_string();
            self.push(
                "spiffe-principal",
                location.clone(),
                Some(&policy.id),
                at,
                format!(
                    "`{written}` never matches: Istio compares principals with `spiffe://` already prepended, so this value is looked for as `spiffe://{written}`"
                ),
                format!("write the principal without the scheme: `{fixed}`"),
            );
        } else if text.strip_prefix("spiffe://").unwrap_or(text).contains('*') {
            self.literal_star(policy, location, at, &principal_text(p), field);
        }
    }

    fn literal_star(
        &mut self,
        policy: &Policy,
        location: &Location,
        at: Option<String>,
        written: &str,
        field: &str,
    ) {
        self.push(
            "literal-star",
            location.clone(),
            Some(&policy.id),
            at,
            format!(
                "`{written}` in `{field}`: a `*` is a wildcard only at the very start or end of a value; inside it is a literal character, so this matches only the text `{written}` itself"
            ),
            "use a prefix (`abc*`) or suffix (`*abc`) form, list the values, or for paths use a template (`/api/{*}/items`)".to_string(),
        );
    }

    fn suffix_without_dot(
        &mut self,
        policy: &Policy,
        location: &Location,
        at: Option<String>,
        written: &str,
        pattern: &StringPattern,
    ) {
        let StringPattern::Suffix(suffix) = pattern else {
            return;
        };
        if suffix.starts_with('.') || suffix.starts_with(':') || !suffix.contains('.') {
            return;
        }
        self.push(
            "host-suffix-without-dot",
            location.clone(),
            Some(&policy.id),
            at,
            format!(
                "`{written}` matches every name ending in `{suffix}`, including `evil{suffix}`, not only subdomains of `{suffix}`"
            ),
            format!("write `*.{suffix}` for the subdomains (and `{suffix}` for the domain itself)"),
        );
    }

    /// DENY `hosts` / ALLOW `notHosts` values a client escapes by adding `:port`.
    fn port_bypass(
        &mut self,
        policy: &Policy,
        location: &Location,
        at: Option<String>,
        host: &HostPattern,
        siblings: &[&HostPattern],
        negative: bool,
    ) {
        let probe = match &host.pattern {
            StringPattern::Exact(t) if !t.contains(':') => format!("{t}:65535"),
            StringPattern::Suffix(s) if !s.contains(':') => format!("q{s}:65535"),
            _ => return,
        };
        if siblings.iter().any(|s| s.matches(&probe)) {
            return;
        }
        let raw = &host.raw;
        let (what, effect) = if negative {
            ("ALLOW `notHosts`", "is allowed")
        } else {
            ("DENY", "is not denied")
        };
        let help = match &host.pattern {
            StringPattern::Exact(t) => format!("list `{t}:*` next to `{t}`"),
            _ => format!(
                "`{raw}:*` is not a wildcard form Istio accepts; deny with positive ALLOW rules instead (list what may leave), or match the SNI for TLS traffic"
            ),
        };
        let example = match &host.pattern {
            StringPattern::Exact(t) => format!("{t}:80"),
            StringPattern::Suffix(s) => format!("api{s}:80"),
            _ => raw.clone(),
        };
        self.push(
            "deny-host-without-port",
            location.clone(),
            Some(&policy.id),
            at,
            format!(
                "{what} on `{raw}` compares the raw `:authority`, port included: a client that sends `Host: {example}` {effect}"
            ),
            help,
        );
    }

    /// ALLOW `hosts` values that the clients of a non-default port never send.
    fn port_denied(
        &mut self,
        policy: &Policy,
        location: &Location,
        at: Option<String>,
        host: &HostPattern,
        siblings: &[&HostPattern],
    ) {
        let StringPattern::Exact(t) = &host.pattern else {
            return;
        };
        if t.contains(':') {
            return;
        }
        let mut ports: BTreeSet<u16> = BTreeSet::new();
        for service in self.model.services.iter().filter(|s| s.host_matches(t)) {
            match service.gateway_port {
                Some(port) => {
                    ports.insert(port);
                }
                None => ports.extend(service.ports.iter().map(|p| p.number)),
            }
        }
        let Some(port) = ports.into_iter().find(|p| *p != 80 && *p != 443) else {
            return;
        };
        if siblings.iter().any(|s| s.matches(&format!("{t}:{port}"))) {
            return;
        }
        self.push(
            "allow-host-without-port",
            location.clone(),
            Some(&policy.id),
            at,
            format!(
                "`{t}` is registered on port {port}, so its clients send `Host: {t}:{port}`, which this exact value does not match: those requests are denied"
            ),
            format!("list `{t}:*` (or `{t}:{port}`) next to `{t}`"),
        );
    }

    fn registry_suffixes(&mut self) {
        for service in &self.model.services {
            for host in &service.hosts {
                if let Some(suffix) = host.strip_prefix('*') {
                    if !suffix.is_empty() && !suffix.starts_with('.') && suffix.contains('.') {
                        self.out.push(Lint {
                            code: "host-suffix-without-dot".to_string(),
                            severity: Severity::Warning,
                            location: service.location.clone(),
                            resource: Some(service.id.to_string()),
                            field: Some("spec.hosts".to_string()),
                            message: format!(
                                "registry host `{host}` matches every name ending in `{suffix}`, including `evil{suffix}`"
                            ),
                            help: format!("write `*.{suffix}` for the subdomains (and `{suffix}` for the domain itself)"),
                        });
                    }
                }
            }
        }
    }

    /// Rules (and values) that can never match.
    fn never_matches(&mut self, policy: &Policy) {
        for (ri, rule) in policy.rules.iter().enumerate() {
            let location = rule_location(policy, rule);
            for (oi, op) in rule.to.iter().flatten().enumerate() {
                for (vi, m) in op.methods.values.iter().enumerate() {
                    if let StringPattern::Exact(t) = m {
                        if t.chars().any(|c| c.is_ascii_lowercase()) {
                            self.push(
                                "never-matches",
                                location.clone(),
                                Some(&policy.id),
                                Some(op_path(policy, ri, oi, "methods", Some(vi))),
                                format!(
                                    "method `{t}` never matches: methods are compared case-sensitively and Istio rejects requests with a lower-case method (400) before authorization"
                                ),
                                format!("write `{}`", t.to_ascii_uppercase()),
                            );
                        }
                    }
                }
            }
            if let Some(reason) = self.rule_contradiction(rule) {
                self.push(
                    "never-matches",
                    location,
                    Some(&policy.id),
                    Some(rule_path(policy, ri)),
                    format!("rule {ri} can never match: {reason}"),
                    "fix or remove the contradicting values (fields within one source or operation are AND-ed)"
                        .to_string(),
                );
            }
        }
    }

    fn rule_contradiction(&self, rule: &Rule) -> Option<String> {
        for condition in &rule.when {
            if let Some(reason) = condition_contradiction(condition) {
                return Some(reason);
            }
        }
        if let Some(sources) = &rule.from {
            let reasons: Vec<String> = sources
                .iter()
                .filter_map(|s| source_contradiction(s, &rule.when))
                .collect();
            if !sources.is_empty() && reasons.len() == sources.len() {
                return Some(reasons.join("; "));
            }
        }
        if let Some(ops) = &rule.to {
            let reasons: Vec<String> = ops
                .iter()
                .filter_map(|o| operation_contradiction(o, &rule.when))
                .collect();
            if !ops.is_empty() && reasons.len() == ops.len() {
                return Some(reasons.join("; "));
            }
        }
        None
    }

    /// HTTP-only fields and `hosts` in policies that see TCP/TLS traffic (§1.11).
    fn tcp(&mut self, index: usize, policy: &'m Policy) {
        if policy.dry_run {
            return;
        }
        let mut reported: BTreeSet<(usize, &str)> = BTreeSet::new();
        for (si, service) in self.model.services.iter().enumerate() {
            let Some(gateway) = &service.gateway else {
                continue;
            };
            let Some((port, protocol, tls)) = opaque_port(service) else {
                continue;
            };
            if !self.facts.applies_to_service(index, si) {
                continue;
            }
            for (ri, rule) in policy.rules.iter().enumerate() {
                let hosts = rule.to.iter().flatten().any(|o| o.hosts.is_set());
                let mut others: Vec<String> = Vec::new();
                for op in rule.to.iter().flatten() {
                    if op.methods.is_set() {
                        others.push("methods".to_string());
                    }
                    if op.paths.is_set() {
                        others.push("paths".to_string());
                    }
                }
                if rule
                    .from
                    .iter()
                    .flatten()
                    .any(|s| s.request_principals.is_set())
                {
                    others.push("requestPrincipals".to_string());
                }
                for c in rule.when.iter().filter(|c| c.is_http_only()) {
                    others.push(c.key());
                }
                if hosts && !tls {
                    others.insert(0, "hosts".to_string());
                }
                others.dedup();
                let narrows = matches!(policy.action, Action::Allow | Action::Custom(_));
                let location = rule_location(policy, rule);
                let target = format!(
                    "{} (port {port}, {protocol}) via {gateway}",
                    service.hosts.join(", ")
                );
                if hosts && tls && reported.insert((ri, "hosts-on-tls")) {
                    let effect = if narrows {
                        "so the whole rule is skipped for that traffic and allows nothing there"
                    } else {
                        "so the constraint is dropped and the rule applies to all of that TLS traffic"
                    };
                    self.push(
                        "hosts-on-tls",
                        location.clone(),
                        Some(&policy.id),
                        Some(rule_path(policy, ri)),
                        format!(
                            "rule {ri} matches `hosts`, but traffic to {target} is TLS: the gateway sees only the SNI, {effect}"
                        ),
                        "match the SNI instead: `when: [{key: connection.sni, values: [...]}]`".to_string(),
                    );
                }
                if !others.is_empty() && reported.insert((ri, "http-only-on-tcp")) {
                    let effect = if narrows {
                        "an ALLOW rule with HTTP-only fields is skipped for TCP/TLS traffic, so it allows nothing there"
                    } else {
                        "a DENY rule loses those constraints for TCP/TLS traffic, so it denies more than written"
                    };
                    self.push(
                        "http-only-on-tcp",
                        location,
                        Some(&policy.id),
                        Some(rule_path(policy, ri)),
                        format!(
                            "rule {ri} uses HTTP-only fields ({}) but also sees {} traffic to {target}: {effect}",
                            others.join(", "),
                            if tls { "TLS" } else { "TCP" }
                        ),
                        "split the policy: HTTP fields for HTTP ports, `ports` / `connection.sni` rules for TCP and TLS ports".to_string(),
                    );
                }
            }
        }
    }

    /// Hosts named by a policy that no registry entry routed to its gateway matches.
    fn not_in_registry(&mut self, index: usize, policy: &'m Policy) {
        // TSB's EgressGateway is "the destination of unknown traffic within the mesh
        // (traffic sent to non-mesh services)": TrafficSetting `egress` sends exactly the
        // unregistered hosts to it, so registering them would take them off that road.
        if is_tsb_unknown_traffic_gateway(policy) {
            return;
        }
        let hosts: Vec<(usize, usize, usize, &HostPattern)> = policy
            .rules
            .iter()
            .enumerate()
            .flat_map(|(ri, r)| {
                r.to.iter().flatten().enumerate().flat_map(move |(oi, op)| {
                    op.hosts
                        .values
                        .iter()
                        .enumerate()
                        .map(move |(vi, h)| (ri, oi, vi, h))
                })
            })
            .collect();
        if hosts.is_empty() {
            return;
        }
        let model = self.model;
        let mut routed: Vec<usize> = Vec::new();
        let mut at_gateway = false;
        for info in &self.facts.points {
            if !info.attaches_any(index) {
                continue;
            }
            if info.routes {
                return;
            }
            at_gateway = true;
            for si in &info.services {
                if info.attaches(index, Some(*si)) && !routed.contains(si) {
                    routed.push(*si);
                }
            }
        }
        if !at_gateway {
            return;
        }
        let (candidates, scope): (Vec<&ExternalService>, &str) = if routed.is_empty() {
            (model.services.iter().collect(), "no registry entry")
        } else {
            (
                routed
                    .iter()
                    .filter_map(|i| model.services.get(*i))
                    .collect(),
                "no registry entry routed to the gateways where this policy applies",
            )
        };
        for (ri, oi, vi, host) in hosts {
            if candidates
                .iter()
                .any(|s| s.hosts.iter().any(|r| overlaps(&host.pattern, r)))
            {
                continue;
            }
            let rule = policy.rules.get(ri);
            let location =
                rule.map_or_else(|| policy.location.clone(), |r| rule_location(policy, r));
            let fate = match model.mesh.outbound {
                OutboundMode::RegistryOnly => {
                    "requests to it are refused with 502 (REGISTRY_ONLY) before any gateway sees them"
                }
                _ => "requests to it leave the mesh directly (ALLOW_ANY passthrough) without passing the gateway",
            };
            let effect = if policy.action == Action::Deny {
                "this DENY never applies to them"
            } else {
                "this rule never applies to them"
            };
            self.push(
                "host-not-in-registry",
                location,
                Some(&policy.id),
                Some(op_path(policy, ri, oi, "hosts", Some(vi))),
                format!("{scope} matches `{}`: {fate}, so {effect}", host.raw),
                "register the host (ServiceEntry / ExternalService routed through the gateway) or remove the value"
                    .to_string(),
            );
        }
    }

    /// Overlapping rules in the same scope: shadowed ALLOWs and redundant rules.
    fn overlaps(&mut self) {
        let model = self.model;
        let root = model.mesh.root_namespace.as_str();
        let covers_scope = |outer: &Policy, inner: &Policy| {
            (outer.scope == inner.scope && outer.id.namespace == inner.id.namespace)
                || (outer.id.namespace == root
                    && matches!(&outer.scope, Scope::Selector { match_labels } if match_labels.is_empty())
                    && matches!(inner.scope, Scope::Selector { .. }))
        };
        // Every enforced ALLOW / DENY rule in model order, grouped by scope and indexed by its
        // hosts: a rule can only be subsumed by a rule of a scope covering its own that lists
        // one of its hosts, a suffix of one, or constrains hosts in another way (`wild`).
        let mut entries: Vec<(usize, &Policy, usize, &Rule)> = Vec::new();
        let mut groups: HashMap<String, usize> = HashMap::new();
        let mut group_of: Vec<usize> = Vec::new();
        let mut mesh_wide: Vec<usize> = Vec::new();
        let mut wild: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut exact: HashMap<(usize, String), Vec<usize>> = HashMap::new();
        let mut suffix: HashMap<(usize, String), Vec<usize>> = HashMap::new();
        for (pi, policy) in model.policies.iter().enumerate() {
            if policy.dry_run || !matches!(policy.action, Action::Allow | Action::Deny) {
                continue;
            }
            let key = format!("{}\u{0}{:?}", policy.id.namespace, policy.scope);
            let next = groups.len();
            let group = *groups.entry(key).or_insert(next);
            let everywhere = policy.id.namespace == root
                && matches!(&policy.scope, Scope::Selector { match_labels } if match_labels.is_empty());
            for (ri, rule) in policy.rules.iter().enumerate() {
                let at = entries.len();
                entries.push((pi, policy, ri, rule));
                group_of.push(group);
                if everywhere {
                    mesh_wide.push(at);
                }
                match host_keys(rule) {
                    Some(keys) => {
                        for k in keys {
                            let (map, text) = match k {
                                HostKey::Exact(t) => (&mut exact, t),
                                HostKey::Suffix(t) => (&mut suffix, t),
                            };
                            let list = map.entry((group, text)).or_default();
                            if list.last() != Some(&at) {
                                list.push(at);
                            }
                        }
                    }
                    None => wild.entry(group).or_default().push(at),
                }
            }
        }
        let mut found: Vec<(&Policy, usize, String, String)> = Vec::new();
        for (at, &(ii, inner, ri, rule)) in entries.iter().enumerate() {
            let group = group_of.get(at).copied().unwrap_or_default();
            let mut candidates: Vec<usize> = wild.get(&group).cloned().unwrap_or_default();
            if matches!(inner.scope, Scope::Selector { .. }) {
                candidates.extend(&mesh_wide);
            }
            match exact_hosts(rule) {
                Some(hosts) => {
                    for host in hosts {
                        candidates.extend(exact.get(&(group, host.clone())).into_iter().flatten());
                        for (i, _) in host.char_indices() {
                            if let Some(tail) = host.get(i..) {
                                candidates.extend(
                                    suffix.get(&(group, tail.to_string())).into_iter().flatten(),
                                );
                            }
                        }
                    }
                }
                None => candidates.extend(
                    group_of
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| **g == group)
                        .map(|(i, _)| i),
                ),
            }
            candidates.sort_unstable();
            candidates.dedup();
            candidates.retain(|c| {
                entries
                    .get(*c)
                    .is_some_and(|(_, outer, _, _)| covers_scope(outer, inner))
            });
            let candidates: Vec<&(usize, &Policy, usize, &Rule)> =
                candidates.iter().filter_map(|c| entries.get(*c)).collect();
            if inner.action == Action::Allow {
                let deny = candidates.iter().find(|(_, outer, _, other)| {
                    outer.action == Action::Deny && subsumes(other, rule)
                });
                if let Some((_, outer, oi, _)) = deny {
                    found.push((
                        inner,
                        ri,
                        "shadowed-by-deny".to_string(),
                        format!(
                            "rule {ri} allows nothing: every request it matches is denied by {} rule {oi} (DENY wins over ALLOW)",
                            outer.id
                        ),
                    ));
                    continue;
                }
            }
            for &&(oi_policy, outer, oi, other) in &candidates {
                if outer.action != inner.action || (oi_policy == ii && oi == ri) {
                    continue;
                }
                if !subsumes(other, rule) {
                    continue;
                }
                // Equivalent rules: report only the later one.
                if subsumes(rule, other) && (oi_policy, oi) > (ii, ri) {
                    continue;
                }
                let what = if outer.id == inner.id {
                    format!("rule {oi} of the same policy")
                } else {
                    format!("{} rule {oi}", outer.id)
                };
                found.push((
                    inner,
                    ri,
                    "redundant-rule".to_string(),
                    format!(
                        "rule {ri} is redundant: {what} already {} every request it matches",
                        if inner.action == Action::Deny {
                            "denies"
                        } else {
                            "allows"
                        }
                    ),
                ));
                break;
            }
        }
        for (policy, ri, code, message) in found {
            let location = policy
                .rules
                .get(ri)
                .map_or_else(|| policy.location.clone(), |r| rule_location(policy, r));
            let help = if code == "shadowed-by-deny" {
                "narrow the DENY rule or remove this ALLOW rule".to_string()
            } else {
                "remove the narrower rule, or narrow the broader one if it allows too much"
                    .to_string()
            };
            self.push(
                &code,
                location,
                Some(&policy.id),
                Some(rule_path(policy, ri)),
                message,
                help,
            );
        }
    }

    /// ALLOW enforced at sidecar-routed egress gateways while unregistered hosts pass through.
    fn registry_only(&mut self) {
        let model = self.model;
        if model.mesh.outbound == OutboundMode::RegistryOnly {
            return;
        }
        let mut gateways: Vec<&Gateway> = Vec::new();
        for info in &self.facts.points {
            let Some(gateway) = info.gateway else {
                continue;
            };
            if !matches!(
                gateway.kind,
                GatewayKind::IstioGateway
                    | GatewayKind::KubernetesGateway
                    | GatewayKind::GlooVirtualGateway
            ) {
                continue;
            }
            let enforced_allow = model
                .policies
                .iter()
                .enumerate()
                .any(|(i, p)| p.action == Action::Allow && !p.dry_run && info.attaches_any(i));
            if enforced_allow {
                gateways.push(gateway);
            }
        }
        let Some(first) = gateways.first() else {
            return;
        };
        let names: Vec<String> = gateways.iter().map(|g| g.id.to_string()).collect();
        let (location, resource, field) = match &model.mesh.source {
            Some(source) => (source.clone(), None, None),
            None => (first.location.clone(), Some(&first.id), None),
        };
        self.push(
            "registry-only-not-set",
            location,
            resource,
            field,
            format!(
                "{} ALLOW policies, but outboundTrafficPolicy is {}: sidecars send only registered hosts to an egress gateway, so a request to any unregistered host leaves the mesh directly (passthrough) and no policy sees it",
                match (&model.mesh.source, names.as_slice()) {
                    (None, [_]) => "this gateway enforces".to_string(),
                    (_, [one]) => format!("{one} enforces"),
                    _ => format!("{} enforce", names.join(", ")),
                },
                match model.mesh.outbound {
                    OutboundMode::AllowAnyDynamicDns => "ALLOW_ANY_DYNAMIC_DNS",
                    _ => "ALLOW_ANY (the default)",
                }
            ),
            "set `outboundTrafficPolicy: {mode: REGISTRY_ONLY}` in the mesh config, and block direct egress with a NetworkPolicy (REGISTRY_ONLY alone is not a security boundary)".to_string(),
        );
    }

    /// Registry entries routed through a gateway that nobody may reach.
    fn unreachable_services(&mut self) {
        let model = self.model;
        if model.services.iter().all(|s| s.gateway.is_none()) {
            return;
        }
        let partition = Partition::new(&[model]);
        for service in model.services.iter().filter(|s| s.gateway.is_some()) {
            let Some(host) = service_host(service) else {
                continue;
            };
            let mut reachable = false;
            let mut identities: Vec<Option<String>> = Vec::new();
            let opaque = opaque_port(service);
            let mut authorities = vec![host.clone()];
            match service.gateway_port {
                Some(port) => authorities.push(format!("{host}:{port}")),
                None => authorities.extend(
                    service
                        .ports
                        .iter()
                        .filter(|p| opaque.as_ref().is_none_or(|(n, _, _)| *n != p.number))
                        .map(|p| format!("{host}:{}", p.number)),
                ),
            }
            for authority in &authorities {
                partition.cells(
                    &Point::routed(),
                    HostChoice::Only(authority),
                    IdentityChoice::All,
                    |cell| {
                        if !identities.contains(&cell.identity.example) {
                            identities.push(cell.identity.example.clone());
                        }
                        if !reachable && eval::decide(model, &cell.request).allowed {
                            reachable = true;
                        }
                    },
                );
            }
            // TLS and TCP ports: one request per identity class, as the gateway sees them.
            if let (false, Some((port, _, tls))) = (reachable, &opaque) {
                reachable = identities.iter().any(|principal| {
                    let request = Request {
                        source: crate::request::RequestSource {
                            principal: principal.clone(),
                            ..Default::default()
                        },
                        protocol: Some(if *tls {
                            crate::request::Protocol::Tls
                        } else {
                            crate::request::Protocol::Tcp
                        }),
                        host: (!*tls).then(|| host.clone()),
                        sni: tls.then(|| host.clone()),
                        port: Some(*port),
                        ..Request::default()
                    };
                    eval::decide(model, &request).allowed
                });
            }
            if reachable {
                continue;
            }
            let gateway = service
                .gateway
                .as_ref()
                .map_or_else(String::new, ToString::to_string);
            self.out.push(Lint {
                code: "unreachable-service".to_string(),
                severity: Severity::Warning,
                location: service.location.clone(),
                resource: Some(service.id.to_string()),
                field: None,
                message: format!(
                    "no identity may reach `{host}`: every request to it is denied at {gateway}"
                ),
                help: "allow the clients that need it at the gateway, or remove the registry entry"
                    .to_string(),
            });
        }
    }

    /// Policies that attach to no gateway or workload.
    fn unattached(&mut self) {
        let model = self.model;
        for (index, policy) in model.policies.iter().enumerate() {
            if self.facts.points.iter().any(|p| p.attaches_any(index)) {
                continue;
            }
            let (message, help) = match &policy.scope {
                Scope::TargetRefs { targets } => {
                    let classic = targets.iter().find_map(|t| {
                        model.gateways.iter().find(|g| {
                            t.kind == crate::model::TargetKind::Gateway
                                && g.kind == GatewayKind::IstioGateway
                                && g.id.name == t.name
                                && g.namespace == t.namespace
                        })
                    });
                    let class_outside_root = targets.iter().any(|t| {
                        t.kind == crate::model::TargetKind::GatewayClass && policy.id.namespace != model.mesh.root_namespace
                    });
                    if let Some(g) = classic {
                        (
                            format!(
                                "`targetRefs` only bind Gateway-API gateways and waypoints; {} is a networking.istio.io Gateway, so this policy applies nowhere",
                                g.id
                            ),
                            format!(
                                "select the gateway pods instead: `selector: {{matchLabels: {{{}}}}}`",
                                labels_yaml(&g.labels)
                            ),
                        )
                    } else if class_outside_root {
                        (
                            format!(
                                "a `GatewayClass` target only applies from the root namespace `{}`; this policy applies nowhere",
                                model.mesh.root_namespace
                            ),
                            "move the policy to the root namespace, or target the Gateway".to_string(),
                        )
                    } else {
                        (
                            "`targetRefs` name no loaded Gateway-API gateway, waypoint class, or ServiceEntry carried by a waypoint: this policy applies nowhere".to_string(),
                            "check the target names and namespaces (a Gateway target must be in the policy's namespace)".to_string(),
                        )
                    }
                }
                Scope::Selector { match_labels } if match_labels.contains_key(GATEWAY_NAME_LABEL) => (
                    "Gateway-API gateways and waypoints ignore `selector`: this policy applies nowhere".to_string(),
                    format!(
                        "use `targetRefs: [{{kind: Gateway, group: gateway.networking.k8s.io, name: {}}}]`",
                        match_labels.get(GATEWAY_NAME_LABEL).map_or("", String::as_str)
                    ),
                ),
                Scope::Gateway { gateway } => (
                    format!("its gateway {gateway} is not loaded, so it applies nowhere"),
                    "load the gateway resource together with the policy".to_string(),
                ),
                Scope::Services { .. } => (
                    "it selects no external service carried by a loaded gateway, so it applies to no egress traffic".to_string(),
                    "check `applyToDestinations` and that the service routes through an egress gateway".to_string(),
                ),
                // Sidecar policies attach to workloads egress-policy does not know about.
                Scope::Selector { .. } => continue,
            };
            self.push(
                "unattached-policy",
                policy.location.clone(),
                Some(&policy.id),
                None,
                message,
                help,
            );
        }
    }
}

/// How a rule constrains hosts, for the overlap index.
enum HostKey {
    /// An exact host value (lower-cased).
    Exact(String),
    /// A suffix host value (`*.example.com` → `.example.com`).
    Suffix(String),
}

/// The exact and suffix host values of a rule whose every operation lists only such values;
/// `None` when the rule may match hosts in another way.
fn host_keys(rule: &Rule) -> Option<Vec<HostKey>> {
    let ops = rule.to.as_ref()?;
    let mut out = Vec::new();
    for op in ops {
        if op.hosts.values.is_empty() {
            return None;
        }
        for host in &op.hosts.values {
            match &host.pattern {
                StringPattern::Exact(t) => out.push(HostKey::Exact(t.clone())),
                StringPattern::Suffix(t) => out.push(HostKey::Suffix(t.clone())),
                _ => return None,
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The lower-cased exact hosts a rule is limited to, when every operation lists only exact
/// hosts; `None` when the rule may match other hosts.
fn exact_hosts(rule: &Rule) -> Option<Vec<String>> {
    let ops = rule.to.as_ref()?;
    let mut out = Vec::new();
    for op in ops {
        if op.hosts.values.is_empty() {
            return None;
        }
        for host in &op.hosts.values {
            match &host.pattern {
                StringPattern::Exact(t) => out.push(t.clone()),
                _ => return None,
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

fn labels_yaml(labels: &Labels) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    parts.join(", ")
}

/// The first registered port whose client-side traffic is not HTTP: `(port, protocol,
/// is_tls)`.
fn opaque_port(service: &ExternalService) -> Option<(u16, String, bool)> {
    if service.gateway_port.is_some() && service.tls.is_some() {
        // Gloo: clients send plain HTTP to the gateway, which originates TLS.
        return None;
    }
    service.ports.iter().find_map(|p| {
        let protocol = p.protocol.as_str().to_ascii_uppercase();
        match protocol.as_str() {
            "HTTP" | "HTTP2" | "GRPC" | "GRPC-WEB" => None,
            "HTTPS" | "TLS" => Some((p.number, protocol, true)),
            _ => Some((p.number, protocol, false)),
        }
    })
}

/// Whether some host matched by the policy `hosts` pattern is matched by the registry host.
fn overlaps(pattern: &StringPattern, registry: &str) -> bool {
    let registry = registry.to_ascii_lowercase();
    let host_part = |t: &str| -> String {
        match t.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() || p.is_empty() => h.to_string(),
            _ => t.to_string(),
        }
    };
    match pattern {
        StringPattern::Presence => true,
        StringPattern::Exact(t) => crate::model::registry_host_matches(&registry, &host_part(t)),
        StringPattern::Prefix(p) => {
            if p.contains(':') {
                crate::model::registry_host_matches(&registry, &host_part(p))
            } else {
                match registry.strip_prefix('*') {
                    Some(_) => true,
                    None => registry.starts_with(p.as_str()),
                }
            }
        }
        StringPattern::Suffix(s) => {
            let s = host_part(s);
            match registry.strip_prefix('*') {
                Some(r) => r.ends_with(&s) || s.ends_with(r),
                None => registry.ends_with(&s),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Contradictions

fn exact_values(field: &Field<StringPattern>) -> Option<Vec<&str>> {
    if field.values.is_empty() {
        return None;
    }
    field
        .values
        .iter()
        .map(|p| match p {
            StringPattern::Exact(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Exact values all excluded by the field's own negative values.
fn self_excluded(field: &Field<StringPattern>, name: &str) -> Option<String> {
    let values = exact_values(field)?;
    values
        .iter()
        .all(|v| field.not_values.iter().any(|n| n.matches(v)))
        .then(|| {
            format!(
                "every `{name}` value is also excluded by `not{}`",
                capitalize(name)
            )
        })
}

fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn condition_contradiction(condition: &Condition) -> Option<String> {
    let key = condition.key();
    match condition {
        Condition::DestinationPort(f) => (!f.values.is_empty()
            && f.values.iter().all(|v| f.not_values.contains(v)))
        .then(|| format!("every `{key}` value is also in its `notValues`")),
        Condition::RequestHeader { field, .. }
        | Condition::SourcePrincipal(field)
        | Condition::RequestAuthPrincipal(field)
        | Condition::RequestAuthAudiences(field)
        | Condition::RequestAuthPresenter(field)
        | Condition::RequestAuthClaim { field, .. }
        | Condition::ConnectionSni(field)
        | Condition::Experimental { field, .. } => {
            let values = exact_values(field)?;
            values
                .iter()
                .all(|v| field.not_values.iter().any(|n| n.matches(v)))
                .then(|| format!("every `{key}` value is also in its `notValues`"))
        }
        _ => None,
    }
}

/// Why no identity can satisfy this source (with the rule's identity conditions).
fn source_contradiction(source: &Source, when: &[Condition]) -> Option<String> {
    if let Some(reason) = self_excluded(&source.principals, "principals") {
        return Some(reason);
    }
    if source
        .principals
        .not_values
        .contains(&StringPattern::Presence)
    {
        let needs_identity = !source.principals.values.is_empty()
            || !source.namespaces.values.is_empty()
            || !source.service_accounts.values.is_empty()
            || !source.trust_domains.values.is_empty();
        if needs_identity {
            return Some(
                "`notPrincipals: [\"*\"]` admits only plaintext requests, which have no identity to match the other source fields"
                    .to_string(),
            );
        }
    }
    // Exact principals: check each against the other identity fields.
    let uris = exact_values(&source.principals)?;
    let ok = |uri: &str| -> bool {
        let in_field = |f: &Field<NamespacePattern>| f.holds(|p| p.matches_uri(uri));
        let sa = |f: &Field<ServiceAccountRef>| f.holds(|p| p.matches_uri(uri));
        let td = |f: &Field<TrustDomainPattern>| f.holds(|p| p.matches_uri(uri));
        !source.principals.not_values.iter().any(|n| n.matches(uri))
            && in_field(&source.namespaces)
            && sa(&source.service_accounts)
            && td(&source.trust_domains)
            && when.iter().all(|c| match c {
                Condition::SourcePrincipal(f) => f.holds(|p| p.matches(uri)),
                Condition::SourceNamespace(f) => in_field(f),
                Condition::SourceServiceAccount(f) => sa(f),
                Condition::SourceTrustDomain(f) => td(f),
                _ => true,
            })
    };
    if uris.iter().any(|u| ok(u)) {
        return None;
    }
    let shown: Vec<String> = uris
        .iter()
        .map(|u| format!("`{}`", u.strip_prefix("spiffe://").unwrap_or(u)))
        .collect();
    let mut others: Vec<&str> = Vec::new();
    if source.namespaces.is_set() {
        others.push("namespaces");
    }
    if source.service_accounts.is_set() {
        others.push("serviceAccounts");
    }
    if source.trust_domains.is_set() {
        others.push("trustDomains");
    }
    if when.iter().any(|c| {
        matches!(
            c,
            Condition::SourcePrincipal(_)
                | Condition::SourceNamespace(_)
                | Condition::SourceServiceAccount(_)
                | Condition::SourceTrustDomain(_)
        )
    }) {
        others.push("the `source.*` conditions");
    }
    if others.is_empty() {
        others.push("notPrincipals");
    }
    Some(format!(
        "principal{} {} cannot satisfy {}",
        if shown.len() == 1 { "" } else { "s" },
        shown.join(", "),
        others.join(" and ")
    ))
}

fn operation_contradiction(op: &Operation, when: &[Condition]) -> Option<String> {
    if let Some(reason) = self_excluded(&op.methods, "methods") {
        return Some(reason);
    }
    let hosts = &op.hosts;
    if !hosts.values.is_empty()
        && hosts.values.iter().all(|h| match &h.pattern {
            StringPattern::Exact(t) => hosts.not_values.iter().any(|n| n.matches(t)),
            _ => false,
        })
    {
        return Some("every `hosts` value is also excluded by `notHosts`".to_string());
    }
    let paths = &op.paths;
    if !paths.values.is_empty()
        && paths.values.iter().all(|p| match p {
            PathPattern::String {
                pattern: StringPattern::Exact(t),
            } => paths.not_values.iter().any(|n| n.matches(t)),
            _ => false,
        })
    {
        return Some("every `paths` value is also excluded by `notPaths`".to_string());
    }
    let ports = &op.ports;
    if !ports.values.is_empty() && ports.values.iter().all(|p| ports.not_values.contains(p)) {
        return Some("every `ports` value is also in `notPorts`".to_string());
    }
    for c in when {
        if let Condition::DestinationPort(f) = c {
            if !ports.values.is_empty()
                && !f.values.is_empty()
                && !ports.values.iter().any(|p| f.values.contains(p))
            {
                return Some(
                    "`ports` and the `destination.port` condition share no port".to_string(),
                );
            }
        }
    }
    None
}

// ------------------------------------------------------------------------------------------
// Subsumption: does every request matching `inner` match `outer`? (Sound, not complete.)

fn subsumes(outer: &Rule, inner: &Rule) -> bool {
    let from = match (&outer.from, &inner.from) {
        (None, _) => true,
        (Some(os), None) => os.iter().any(source_is_any),
        (Some(os), Some(is)) => is.iter().all(|i| os.iter().any(|o| source_subsumes(o, i))),
    };
    let to = match (&outer.to, &inner.to) {
        (None, _) => true,
        (Some(os), None) => os.iter().any(|o| *o == Operation::default()),
        (Some(os), Some(is)) => is
            .iter()
            .all(|i| os.iter().any(|o| operation_subsumes(o, i))),
    };
    from && to
        && outer
            .when
            .iter()
            .all(|oc| inner.when.iter().any(|ic| condition_subsumes(oc, ic)))
}

fn source_is_any(s: &Source) -> bool {
    *s == Source::default()
}

fn string_covers(outer: &StringPattern, inner: &StringPattern) -> bool {
    use StringPattern::{Exact, Prefix, Presence, Suffix};
    match (outer, inner) {
        (Presence, _) => true,
        (Exact(a), Exact(b)) => a == b,
        (Prefix(a), Exact(b) | Prefix(b)) => b.starts_with(a.as_str()),
        (Suffix(a), Exact(b) | Suffix(b)) => b.ends_with(a.as_str()),
        _ => false,
    }
}

fn string_disjoint(negative: &StringPattern, inner: &StringPattern) -> bool {
    match inner {
        StringPattern::Exact(t) => !negative.matches(t),
        _ => false,
    }
}

/// Every value admitted by `inner` is admitted by `outer` (field by field).
fn field_subsumes<P>(
    outer: &Field<P>,
    inner: &Field<P>,
    covers: impl Fn(&P, &P) -> bool,
    disjoint: impl Fn(&P, &P) -> bool,
) -> bool {
    if !outer.is_set() {
        return true;
    }
    let positive = outer.values.is_empty()
        || (!inner.values.is_empty()
            && inner
                .values
                .iter()
                .all(|iv| outer.values.iter().any(|ov| covers(ov, iv))));
    let negative = outer.not_values.iter().all(|on| {
        inner.not_values.iter().any(|inn| covers(inn, on))
            || (!inner.values.is_empty() && inner.values.iter().all(|iv| disjoint(on, iv)))
    });
    positive && negative
}

fn strings(outer: &Field<StringPattern>, inner: &Field<StringPattern>) -> bool {
    field_subsumes(outer, inner, string_covers, string_disjoint)
}

fn equal<P: PartialEq>(outer: &Field<P>, inner: &Field<P>) -> bool {
    field_subsumes(outer, inner, |a, b| a == b, |a, b| a != b)
}

fn source_subsumes(o: &Source, i: &Source) -> bool {
    let uris = exact_values(&i.principals).filter(|_| i.principals.not_values.is_empty());
    let via_uris =
        |check: &dyn Fn(&str) -> bool| uris.as_ref().is_some_and(|u| u.iter().all(|u| check(u)));
    let namespaces = field_subsumes(
        &o.namespaces,
        &i.namespaces,
        |a, b| {
            a.glob == "*"
                || a.glob == b.glob
                || (!b.glob.contains('*') && glob_match(&a.glob, &b.glob))
        },
        |_, _| false,
    ) || via_uris(&|u| o.namespaces.holds(|p| p.matches_uri(u)));
    let accounts = equal(&o.service_accounts, &i.service_accounts)
        || via_uris(&|u| o.service_accounts.holds(|p| p.matches_uri(u)));
    let domains = field_subsumes(
        &o.trust_domains,
        &i.trust_domains,
        |a, b| a.value == "*" || a.value == b.value,
        |_, _| false,
    ) || via_uris(&|u| o.trust_domains.holds(|p| p.matches_uri(u)));
    let principals = strings(&o.principals, &i.principals)
        || via_uris(&|u| o.principals.holds(|p| p.matches(u)));
    principals
        && namespaces
        && accounts
        && domains
        && strings(&o.request_principals, &i.request_principals)
        && field_subsumes(&o.ip_blocks, &i.ip_blocks, ip_covers, |_, _| false)
        && field_subsumes(
            &o.remote_ip_blocks,
            &i.remote_ip_blocks,
            ip_covers,
            |_, _| false,
        )
        && equal(&o.workspaces, &i.workspaces)
        && equal(&o.groups, &i.groups)
        && field_subsumes(
            &o.service_account_labels,
            &i.service_account_labels,
            |a, b| a.iter().all(|(k, v)| b.get(k) == Some(v)),
            |_, _| false,
        )
}

fn ip_covers(outer: &IpBlock, inner: &IpBlock) -> bool {
    outer.prefix <= inner.prefix && outer.contains(inner.addr)
}

fn operation_subsumes(o: &Operation, i: &Operation) -> bool {
    field_subsumes(
        &o.hosts,
        &i.hosts,
        |a, b| string_covers(&a.pattern, &b.pattern),
        |a, b| string_disjoint(&a.pattern, &b.pattern),
    ) && equal(&o.ports, &i.ports)
        && strings(&o.methods, &i.methods)
        && field_subsumes(&o.paths, &i.paths, path_covers, path_disjoint)
}

fn path_covers(outer: &PathPattern, inner: &PathPattern) -> bool {
    match (outer, inner) {
        (PathPattern::String { pattern: a }, PathPattern::String { pattern: b }) => {
            string_covers(a, b)
        }
        (
            PathPattern::Template { .. },
            PathPattern::String {
                pattern: StringPattern::Exact(t),
            },
        ) => outer.matches(t),
        (
            PathPattern::String {
                pattern: StringPattern::Presence,
            },
            _,
        ) => true,
        (a, b) => a == b,
    }
}

fn path_disjoint(negative: &PathPattern, inner: &PathPattern) -> bool {
    match inner {
        PathPattern::String {
            pattern: StringPattern::Exact(t),
        } => !negative.matches(t),
        _ => false,
    }
}

fn condition_subsumes(outer: &Condition, inner: &Condition) -> bool {
    use Condition as C;
    match (outer, inner) {
        (C::RequestHeader { name: a, field: f }, C::RequestHeader { name: b, field: g }) => {
            a == b && strings(f, g)
        }
        (C::RequestAuthClaim { path: a, field: f }, C::RequestAuthClaim { path: b, field: g }) => {
            a == b && strings(f, g)
        }
        (C::Experimental { key: a, field: f }, C::Experimental { key: b, field: g }) => {
            a == b && strings(f, g)
        }
        (C::SourcePrincipal(f), C::SourcePrincipal(g))
        | (C::RequestAuthPrincipal(f), C::RequestAuthPrincipal(g))
        | (C::RequestAuthAudiences(f), C::RequestAuthAudiences(g))
        | (C::RequestAuthPresenter(f), C::RequestAuthPresenter(g))
        | (C::ConnectionSni(f), C::ConnectionSni(g)) => strings(f, g),
        (C::SourceIp(f), C::SourceIp(g))
        | (C::RemoteIp(f), C::RemoteIp(g))
        | (C::DestinationIp(f), C::DestinationIp(g)) => {
            field_subsumes(f, g, ip_covers, |_, _| false)
        }
        (C::DestinationPort(f), C::DestinationPort(g)) => equal(f, g),
        (C::SourceNamespace(f), C::SourceNamespace(g)) => equal(f, g),
        (C::SourceServiceAccount(f), C::SourceServiceAccount(g)) => equal(f, g),
        (C::SourceTrustDomain(f), C::SourceTrustDomain(g)) => equal(f, g),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_follows_paths() {
        let docs = parse_documents(
            "a.yaml",
            "kind: X\nspec:\n  rules:\n  - to:\n    - operation:\n        hosts: [a, b]\n",
        )
        .unwrap();
        let node = resolve(&docs[0], "spec.rules[0].to[0].operation.hosts[1]").unwrap();
        assert_eq!((node.line, node.as_str()), (6, Some("b")));
        let partial = resolve(&docs[0], "spec.rules[0].from[0]").unwrap();
        assert_eq!(partial.line, 4);
    }

    #[test]
    fn string_cover_rules() {
        let p = StringPattern::parse;
        assert!(string_covers(&p("*"), &p("GET")));
        assert!(string_covers(&p("/api/*"), &p("/api/v1/*")));
        assert!(!string_covers(&p("/api/v1/*"), &p("/api/*")));
        assert!(string_covers(&p("*.example.com"), &p("a.example.com")));
        assert!(!string_covers(&p("a.example.com"), &p("*.example.com")));
    }

    #[test]
    fn overlap_of_hosts_and_registry() {
        let p = StringPattern::parse;
        assert!(overlaps(&p("httpbin.org"), "httpbin.org"));
        assert!(overlaps(&p("httpbin.org:8080"), "httpbin.org"));
        assert!(overlaps(&p("*.example.com"), "*.example.com"));
        assert!(overlaps(&p("*.example.com"), "api.example.com"));
        assert!(!overlaps(&p("*.example.com"), "example.org"));
        assert!(overlaps(&p("api.*"), "api.example.com"));
        assert!(!overlaps(&p("other.org"), "httpbin.org"));
    }
}
