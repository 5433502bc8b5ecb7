//! Field paths of findings (`spec.rules[0].to[0].operation.hosts[1]`) per vendor, and the
//! fallback location of a rule; the model's source map turns a path into a position.

use crate::diagnostic::Location;
use crate::model::{Model, Policy, Rule, StringPattern, Vendor};

// ------------------------------------------------------------------------------------------
// Field paths

pub(super) fn rule_path(policy: &Policy, rule: usize) -> String {
    match policy.vendor {
        Vendor::Istio => format!("spec.rules[{rule}]"),
        Vendor::Tsb => format!("spec.authorization[{rule}]"),
        Vendor::Gloo => "spec.config.authz".to_string(),
    }
}

/// `field` is the Istio name (`hosts`, `notHosts`, `methods`, …); `value` the index.
pub(super) fn op_path(
    policy: &Policy,
    rule: usize,
    op: usize,
    field: &str,
    value: Option<usize>,
) -> String {
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

pub(super) fn source_path(
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

pub(super) fn when_path(
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

pub(super) fn rule_location(policy: &Policy, rule: &Rule) -> Location {
    rule.location
        .clone()
        .unwrap_or_else(|| policy.location.clone())
}

/// The principal as the user wrote it (Istio form).
pub(super) fn principal_text(p: &StringPattern) -> String {
    let text = p.to_string();
    match p {
        StringPattern::Exact(_) | StringPattern::Prefix(_) => {
            text.strip_prefix("spiffe://").unwrap_or(&text).to_string()
        }
        _ => text,
    }
}

pub(super) fn pattern_text(p: &StringPattern) -> &str {
    match p {
        StringPattern::Exact(t) | StringPattern::Prefix(t) | StringPattern::Suffix(t) => t,
        StringPattern::Presence => "",
    }
}
