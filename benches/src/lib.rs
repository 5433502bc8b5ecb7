//! Measurement helpers shared by the benchmarks and `egress-policy bench`: per-decision
//! latency percentiles on generated or user-supplied workloads.
//!
//! The helpers live in the core ([`egress_policy::bench`]) so that the CLI can use them
//! too; this crate re-exports them for the criterion benchmarks, and adds
//! [`HostMapBaseline`], the plain `HashMap` host index the engine is compared with.

use std::collections::HashMap;

use egress_policy::model::{Action, Model, Rule, Source, StringPattern};
use egress_policy::Request;

pub use egress_policy::bench::{
    peak_rss, show, time_compiled, time_prepare, time_prepare_on, time_reference, Latency,
};

/// The obvious design a proxy author would write first: a `HashMap` from each host pattern
/// to the rules naming it, probed with the exact host, each `*.suffix` of it and `*`, plus a
/// list of rules without hosts; candidates are checked for principals, namespaces, methods
/// and paths, DENY before ALLOW, the policy attached when its namespace is the enforcing
/// workload's. No road, no caveats, no `when`: a simplified decision, kept only as a speed
/// baseline (it is not the engine's semantics).
#[derive(Debug, Default)]
pub struct HostMapBaseline {
    by_host: HashMap<String, Vec<(usize, usize)>>,
    hostless: Vec<(usize, usize)>,
    /// Per policy: (namespace, is DENY).
    policies: Vec<(String, bool)>,
    rules: Vec<Vec<Rule>>,
}

impl HostMapBaseline {
    /// Indexes every rule of `model` by its host patterns.
    pub fn new(model: &Model) -> Self {
        let mut baseline = HostMapBaseline::default();
        for (pi, policy) in model.policies.iter().enumerate() {
            baseline.policies.push((
                policy.id.namespace.clone(),
                matches!(policy.action, Action::Deny),
            ));
            baseline.rules.push(policy.rules.clone());
            for (ri, rule) in policy.rules.iter().enumerate() {
                let patterns: Vec<&StringPattern> = rule
                    .to
                    .iter()
                    .flatten()
                    .flat_map(|op| op.hosts.values.iter())
                    .map(|h| &h.pattern)
                    .collect();
                // Exact hosts, `.suffix` tails and `*` are keys; other affixes are scanned.
                let hosts: Vec<String> = patterns
                    .iter()
                    .filter_map(|p| match p {
                        StringPattern::Exact(t) => Some(t.clone()),
                        StringPattern::Suffix(t) if t.starts_with('.') => Some(t.clone()),
                        StringPattern::Presence => Some("*".to_string()),
                        _ => None,
                    })
                    .collect();
                if hosts.len() < patterns.len() || patterns.is_empty() {
                    baseline.hostless.push((pi, ri));
                }
                for host in hosts {
                    baseline.by_host.entry(host).or_default().push((pi, ri));
                }
            }
        }
        baseline
    }

    /// Whether `request` is allowed (simplified, see the type's documentation).
    pub fn allowed(&self, request: &Request) -> bool {
        let host = request.host.as_deref().unwrap_or_default();
        let namespace = request.workload.as_ref().map(|w| w.namespace.as_str());
        let principal = request.source.principal.as_deref().unwrap_or_default();
        let (mut deny, mut allow, mut any_allow) = (false, false, false);
        let mut check = |list: &[(usize, usize)]| {
            for &(pi, ri) in list {
                let Some((ns, is_deny)) = self.policies.get(pi) else {
                    continue;
                };
                if Some(ns.as_str()) != namespace {
                    continue;
                }
                any_allow |= !is_deny;
                let Some(rule) = self.rules.get(pi).and_then(|r| r.get(ri)) else {
                    continue;
                };
                if rule_matches(rule, principal, request) {
                    if *is_deny {
                        deny = true;
                    } else {
                        allow = true;
                    }
                }
            }
        };
        let mut probe = |key: &str| {
            if let Some(list) = self.by_host.get(key) {
                check(list);
            }
        };
        probe(host);
        for (at, _) in host.match_indices('.') {
            probe(host.get(at..).unwrap_or_default());
        }
        probe("*");
        check(&self.hostless);
        !deny && (allow || !any_allow)
    }
}

fn source_matches(source: &Source, uri: &str) -> bool {
    source.principals.holds(|p| p.matches(uri))
        && source
            .namespaces
            .holds(|n| n.matches_uri(&format!("spiffe://{uri}")))
}

fn rule_matches(rule: &Rule, principal: &str, request: &Request) -> bool {
    let method = request.method.as_deref().unwrap_or_default();
    let path = request.path.as_deref().unwrap_or_default();
    let host = request.host.as_deref().unwrap_or_default();
    rule.from
        .as_ref()
        .is_none_or(|f| f.iter().any(|s| source_matches(s, principal)))
        && rule.to.as_ref().is_none_or(|ops| {
            ops.iter().any(|op| {
                op.hosts.holds(|h| h.pattern.matches(host))
                    && op.methods.holds(|m| m.matches(method))
                    && op.paths.holds(|p| p.matches(path))
            })
        })
}
