//! What a loaded model mentions: the identities, destination hosts, gateways and policies,
//! with where each came from (`egress-policy inventory`, Python `Engine.inventory()`, WASM
//! `engine.inventory()`). The simulator builds its reachability matrix and request form
//! from this; every decision is still made by the engine.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnostic::Location;
use crate::model::ResourceRef;
use crate::model::{
    Condition, Field, HostPattern, Model, NamespacePattern, ServiceAccountRef, Source,
    StringPattern,
};
use crate::request::Workload;

/// Everything [`inventory`] found, each list sorted and without duplicates.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// The mesh trust domain (identities are written `TRUST_DOMAIN/ns/NS/sa/SA`).
    pub trust_domain: String,
    /// `ALLOW_ANY`, `REGISTRY_ONLY` or `ALLOW_ANY_DYNAMIC_DNS`.
    pub outbound: String,
    /// Source identities (Istio principal form) that the policies or the service
    /// accounts name.
    pub identities: Vec<IdentityEntry>,
    /// Destination hosts named by the registry and the policies (wildcards excluded).
    pub hosts: Vec<HostEntry>,
    /// Gateways that enforce, with the workload to name in a request to evaluate there.
    pub gateways: Vec<GatewayEntry>,
    /// Every policy with its location and the location of each rule.
    pub policies: Vec<PolicyEntry>,
}

/// An identity and the resources that mention it.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityEntry {
    /// `cluster.local/ns/NS/sa/SA`.
    pub principal: String,
    /// `Kind namespace/name` of each resource that mentions it.
    pub sources: Vec<String>,
}

/// A destination host and the resources that mention it.
#[derive(Debug, Clone, Serialize)]
pub struct HostEntry {
    /// The host (lower case; may carry `:port` when a policy wrote one).
    pub host: String,
    /// A URL for a plain `GET /` to it.
    pub url: String,
    /// `Kind namespace/name` of each resource that mentions it.
    pub sources: Vec<String>,
}

/// A gateway.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayEntry {
    /// The resource.
    pub id: ResourceRef,
    /// Kind of gateway (`waypoint`, `istio_gateway`, ...).
    pub kind: String,
    /// Where it is defined.
    pub location: Location,
    /// The request `workload` that evaluates at this gateway.
    pub workload: Workload,
}

/// A policy and where it and its rules are written.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyEntry {
    /// The policy.
    pub id: ResourceRef,
    /// `ALLOW`, `DENY`, `AUDIT` or `CUSTOM`.
    pub action: String,
    /// `istio`, `tsb` or `gloo`.
    pub vendor: String,
    /// Whether it is a dry-run policy.
    pub dry_run: bool,
    /// Where the policy starts.
    pub location: Location,
    /// Where each rule starts (`null` when not known), by rule index.
    pub rules: Vec<Option<Location>>,
}

#[derive(Default)]
struct Collector {
    identities: BTreeMap<String, Vec<String>>,
    hosts: BTreeMap<String, Vec<String>>,
}

impl Collector {
    fn identity(&mut self, principal: String, from: &str) {
        let sources = self.identities.entry(principal).or_default();
        if !sources.iter().any(|s| s == from) {
            sources.push(from.to_string());
        }
    }

    fn host(&mut self, host: &str, from: &str) {
        let host = host.trim().to_ascii_lowercase();
        if host.is_empty() || host.contains('*') || host.contains('/') {
            return;
        }
        let sources = self.hosts.entry(host).or_default();
        if !sources.iter().any(|s| s == from) {
            sources.push(from.to_string());
        }
    }
}

fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Collects the identities, hosts, gateways and policies of a model.
pub fn inventory(model: &Model) -> Inventory {
    let td = model.mesh.trust_domain.clone();
    let sa = |namespace: &str, name: &str| format!("{td}/ns/{namespace}/sa/{name}");
    let mut c = Collector::default();

    for account in &model.service_accounts {
        let from = format!("ServiceAccount {}/{}", account.namespace, account.name);
        c.identity(sa(&account.namespace, &account.name), &from);
    }

    for policy in &model.policies {
        let from = policy.id.to_string();
        for rule in &policy.rules {
            for source in rule.from.iter().flatten() {
                source_identities(&mut c, source, &from, &sa);
            }
            for operation in rule.to.iter().flatten() {
                for pattern in all(&operation.hosts) {
                    exact_host(&mut c, pattern, &from);
                }
            }
            for condition in &rule.when {
                condition_identities(&mut c, condition, &from, &sa);
            }
        }
    }

    // TSB workspaces and groups: a namespace they select stands for its `default` account.
    for set in model.workspaces.iter().chain(&model.groups) {
        let from = set.id.to_string();
        for selector in &set.namespaces {
            if !selector.namespace.contains('*') {
                c.identity(sa(&selector.namespace, "default"), &from);
            }
        }
    }

    for service in &model.services {
        let from = service.id.to_string();
        for host in &service.hosts {
            c.host(host, &from);
        }
    }
    for vs in &model.virtual_services {
        let from = vs.id.to_string();
        for host in &vs.hosts {
            if host.contains('.') {
                c.host(host, &from);
            }
        }
    }

    let gateways = model
        .gateways
        .iter()
        .map(|g| GatewayEntry {
            id: g.id.clone(),
            kind: serde_name(&g.kind),
            location: g.location.clone(),
            workload: Workload {
                namespace: g.namespace.clone(),
                labels: g.labels.clone(),
            },
        })
        .collect();

    let policies = model
        .policies
        .iter()
        .map(|p| PolicyEntry {
            id: p.id.clone(),
            action: p.action.as_str().to_string(),
            vendor: serde_name(&p.vendor),
            dry_run: p.dry_run,
            location: p.location.clone(),
            rules: p.rules.iter().map(|r| r.location.clone()).collect(),
        })
        .collect();

    Inventory {
        trust_domain: td.clone(),
        outbound: serde_name(&model.mesh.outbound),
        identities: c
            .identities
            .into_iter()
            .map(|(principal, sources)| IdentityEntry { principal, sources })
            .collect(),
        hosts: c
            .hosts
            .into_iter()
            .map(|(host, sources)| HostEntry {
                url: format!("http://{host}/"),
                host,
                sources,
            })
            .collect(),
        gateways,
        policies,
    }
}

fn all<P>(field: &Field<P>) -> impl Iterator<Item = &P> {
    field.values.iter().chain(&field.not_values)
}

fn exact_host(c: &mut Collector, pattern: &HostPattern, from: &str) {
    if let StringPattern::Exact(host) = &pattern.pattern {
        c.host(host, from);
    }
}

fn principal(c: &mut Collector, pattern: &StringPattern, from: &str) {
    if let StringPattern::Exact(uri) = pattern {
        let principal = uri.strip_prefix("spiffe://").unwrap_or(uri);
        if principal.contains("/ns/") && principal.contains("/sa/") {
            c.identity(principal.to_string(), from);
        }
    }
}

fn namespace(
    c: &mut Collector,
    pattern: &NamespacePattern,
    from: &str,
    sa: &dyn Fn(&str, &str) -> String,
) {
    if !pattern.glob.contains('*') && !pattern.glob.is_empty() {
        c.identity(sa(&pattern.glob, "default"), from);
    }
}

fn account(
    c: &mut Collector,
    account: &ServiceAccountRef,
    from: &str,
    sa: &dyn Fn(&str, &str) -> String,
) {
    c.identity(sa(&account.namespace, &account.name), from);
}

fn source_identities(
    c: &mut Collector,
    source: &Source,
    from: &str,
    sa: &dyn Fn(&str, &str) -> String,
) {
    for p in all(&source.principals) {
        principal(c, p, from);
    }
    for n in all(&source.namespaces) {
        namespace(c, n, from, sa);
    }
    for a in all(&source.service_accounts) {
        account(c, a, from, sa);
    }
}

fn condition_identities(
    c: &mut Collector,
    condition: &Condition,
    from: &str,
    sa: &dyn Fn(&str, &str) -> String,
) {
    match condition {
        Condition::SourcePrincipal(field) => {
            for p in all(field) {
                principal(c, p, from);
            }
        }
        Condition::SourceNamespace(field) => {
            for n in all(field) {
                namespace(c, n, from, sa);
            }
        }
        Condition::SourceServiceAccount(field) => {
            for a in all(field) {
                account(c, a, from, sa);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;

    #[test]
    fn lists_identities_and_hosts() {
        let engine = Engine::from_yaml(
            "p.yaml",
            r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: istio-egress}
spec:
  rules:
  - from: [{source: {principals: ["cluster.local/ns/a/sa/b"], namespaces: ["c"]}}]
    to: [{operation: {hosts: ["example.com", "*.wild.com"]}}]
"#,
        )
        .unwrap();
        let inv = inventory(engine.model());
        let ids: Vec<&str> = inv
            .identities
            .iter()
            .map(|e| e.principal.as_str())
            .collect();
        assert_eq!(
            ids,
            ["cluster.local/ns/a/sa/b", "cluster.local/ns/c/sa/default"]
        );
        let hosts: Vec<&str> = inv.hosts.iter().map(|e| e.host.as_str()).collect();
        assert_eq!(hosts, ["example.com"]);
        assert_eq!(inv.policies.len(), 1);
    }
}
