//! Checks that look at where policies apply: TCP/TLS traffic, the registry, overlapping
//! rules, `REGISTRY_ONLY`, unreachable entries and unattached policies.

use std::collections::{BTreeSet, HashMap};

use crate::eval::{self};
use crate::model::GATEWAY_NAME_LABEL;
use crate::model::{
    Action, ExternalService, Gateway, GatewayKind, HostPattern, OutboundMode, Policy, Rule, Scope,
};
use crate::request::Request;
use crate::tools::partition::{HostChoice, IdentityChoice, Partition, Point};

use super::facts::*;
use super::locate::*;
use super::logic::*;
use super::{is_tsb_unknown_traffic_gateway, LintCode, Linter};

impl<'m> Linter<'m> {
    /// HTTP-only fields and `hosts` in policies that see TCP/TLS traffic (§1.11).
    pub(super) fn tcp(&mut self, index: usize, policy: &'m Policy) {
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
                        LintCode::HostsOnTls,
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
                        LintCode::HttpOnlyOnTcp,
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
    pub(super) fn not_in_registry(&mut self, index: usize, policy: &'m Policy) {
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
                LintCode::HostNotInRegistry,
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
    pub(super) fn overlaps(&mut self) {
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
        let mut found: Vec<(&Policy, usize, LintCode, String)> = Vec::new();
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
                        LintCode::ShadowedByDeny,
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
                    LintCode::RedundantRule,
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
            let help = if code == LintCode::ShadowedByDeny {
                "narrow the DENY rule or remove this ALLOW rule".to_string()
            } else {
                "remove the narrower rule, or narrow the broader one if it allows too much"
                    .to_string()
            };
            self.push(
                code,
                location,
                Some(&policy.id),
                Some(rule_path(policy, ri)),
                message,
                help,
            );
        }
    }

    /// ALLOW enforced at sidecar-routed egress gateways while unregistered hosts pass through.
    pub(super) fn registry_only(&mut self) {
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
            LintCode::RegistryOnlyNotSet,
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
    pub(super) fn unreachable_services(&mut self) {
        let model = self.model;
        if model.services.iter().all(|s| s.gateway.is_none()) {
            return;
        }
        let partition = Partition::new(&[model]);
        // Identities and label sets the policies name: the fallback probe, computed once.
        let mut fallback: Option<(Vec<Option<String>>, Vec<crate::model::Labels>)> = None;
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
            // The partition enumerates identities, not the service-account labels a Gloo
            // selector reads, and an entry with only TLS/TCP ports gives it no HTTP request to
            // find identities with: add every identity the policies name, with every label
            // set they select (and none), before calling the entry unreachable.
            if !reachable {
                let (named, label_sets) = fallback
                    .get_or_insert_with(|| (policy_identities(model), selected_labels(model)));
                for principal in named.iter() {
                    if !identities.contains(principal) {
                        identities.push(principal.clone());
                    }
                }
                reachable = identities.iter().any(|principal| {
                    label_sets.iter().any(|labels| {
                        authorities.iter().any(|authority| {
                            let request = Request {
                                source: crate::request::RequestSource {
                                    principal: principal.clone(),
                                    labels: labels.clone(),
                                    ..Default::default()
                                },
                                method: Some("GET".to_string()),
                                url: Some(format!("http://{authority}/")),
                                ..Request::default()
                            };
                            eval::decide(model, &request).allowed
                        })
                    })
                });
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
            self.push(
                LintCode::UnreachableService,
                service.location.clone(),
                Some(&service.id),
                None,
                format!(
                    "no identity may reach `{host}`: every request to it is denied at {gateway}"
                ),
                "allow the clients that need it at the gateway, or remove the registry entry"
                    .to_string(),
            );
        }
    }

    /// Policies that attach to no gateway or workload.
    pub(super) fn unattached(&mut self) {
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
                LintCode::UnattachedPolicy,
                policy.location.clone(),
                Some(&policy.id),
                None,
                message,
                help,
            );
        }
    }
}

/// Every identity the loaded policies and service accounts name (the inventory's), plus
/// plaintext.
fn policy_identities(model: &crate::model::Model) -> Vec<Option<String>> {
    std::iter::once(None)
        .chain(
            crate::tools::inventory::inventory(model)
                .identities
                .into_iter()
                .map(|i| Some(i.principal)),
        )
        .collect()
}

/// The service-account label sets the policies select (Gloo `serviceAccountSelector.labels`),
/// plus no labels.
fn selected_labels(model: &crate::model::Model) -> Vec<crate::model::Labels> {
    let mut sets = vec![crate::model::Labels::new()];
    for rule in model.policies.iter().flat_map(|p| &p.rules) {
        for source in rule.from.iter().flatten() {
            for labels in &source.service_account_labels.values {
                if !sets.contains(labels) {
                    sets.push(labels.clone());
                }
            }
        }
    }
    sets
}
