//! Checks of single values and rules: ports on hosts, suffixes without a dot, literal
//! stars, `spiffe://` principals, contradictions.

use std::collections::BTreeSet;

use crate::diagnostic::Location;
use crate::model::{
    Action, Condition, Field, HostPattern, PathPattern, Policy, Rule, StringPattern,
};

use super::locate::*;
use super::logic::*;
use super::{LintCode, Linter};

impl<'m> Linter<'m> {
    /// Value-level checks: ports on hosts, suffixes without dot, literal stars, spiffe://.
    pub(super) fn values(&mut self, policy: &'m Policy) {
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

    pub(super) fn star_in(
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

    pub(super) fn principal_value(
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
                LintCode::SpiffePrincipal,
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

    pub(super) fn literal_star(
        &mut self,
        policy: &Policy,
        location: &Location,
        at: Option<String>,
        written: &str,
        field: &str,
    ) {
        self.push(
            LintCode::LiteralStar,
            location.clone(),
            Some(&policy.id),
            at,
            format!(
                "`{written}` in `{field}`: a `*` is a wildcard only at the very start or end of a value; inside it is a literal character, so this matches only the text `{written}` itself"
            ),
            "use a prefix (`abc*`) or suffix (`*abc`) form, list the values, or for paths use a template (`/api/{*}/items`)".to_string(),
        );
    }

    pub(super) fn suffix_without_dot(
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
            LintCode::HostSuffixWithoutDot,
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
    pub(super) fn port_bypass(
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
            LintCode::DenyHostWithoutPort,
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
    pub(super) fn port_denied(
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
            LintCode::AllowHostWithoutPort,
            location.clone(),
            Some(&policy.id),
            at,
            format!(
                "`{t}` is registered on port {port}, so its clients send `Host: {t}:{port}`, which this exact value does not match: those requests are denied"
            ),
            format!("list `{t}:*` (or `{t}:{port}`) next to `{t}`"),
        );
    }

    pub(super) fn registry_suffixes(&mut self) {
        let model = self.model;
        for service in &model.services {
            for host in &service.hosts {
                if let Some(suffix) = host.strip_prefix('*') {
                    if !suffix.is_empty() && !suffix.starts_with('.') && suffix.contains('.') {
                        self.push(
                            LintCode::HostSuffixWithoutDot,
                            service.location.clone(),
                            Some(&service.id),
                            Some("spec.hosts".to_string()),
                            format!(
                                "registry host `{host}` matches every name ending in `{suffix}`, including `evil{suffix}`"
                            ),
                            format!("write `*.{suffix}` for the subdomains (and `{suffix}` for the domain itself)"),
                        );
                    }
                }
            }
        }
    }

    /// Rules (and values) that can never match.
    pub(super) fn never_matches(&mut self, policy: &Policy) {
        for (ri, rule) in policy.rules.iter().enumerate() {
            let location = rule_location(policy, rule);
            for (oi, op) in rule.to.iter().flatten().enumerate() {
                for (vi, m) in op.methods.values.iter().enumerate() {
                    if let StringPattern::Exact(t) = m {
                        if t.chars().any(|c| c.is_ascii_lowercase()) {
                            self.push(
                                LintCode::NeverMatches,
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
                    LintCode::NeverMatches,
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

    pub(super) fn rule_contradiction(&self, rule: &Rule) -> Option<String> {
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
}
