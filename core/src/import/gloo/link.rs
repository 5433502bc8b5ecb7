//! Cross-references between Gloo resources, resolved once every document is read.

use crate::diagnostic::Diagnostic;
use crate::model::{Caveat, Model, Policy, ResourceRef, Scope, Vendor};

use super::{GlooImporter, Target};

/// Resolves references once everything is loaded: warns about egress VirtualGateways that
/// are not loaded, and scopes each `AccessPolicy` to the external services
/// (`applyToDestinations`) or gateways (`applyToWorkloads`) it selects. A policy whose
/// selectors match nothing that egress involves is dropped.
pub(super) fn link(mut state: GlooImporter, model: &mut Model, diags: &mut Vec<Diagnostic>) {
    for service in &state.services {
        if let Some((gateway, site)) = &service.gateway {
            if !model.gateways.iter().any(|g| &g.id == gateway) {
                diags.push(site.warning(format!(
                    "{gateway} is not loaded; the external service's traffic is evaluated at a gateway without known labels"
                )));
            }
        }
    }
    let mut warnings: Vec<Diagnostic> = Vec::new();
    let mut out = Vec::with_capacity(model.policies.len());
    for policy in std::mem::take(&mut model.policies) {
        if policy.vendor != Vendor::Gloo || policy.id.kind != "AccessPolicy" {
            out.push(policy);
            continue;
        }
        let Some(entry) = state
            .policies
            .iter_mut()
            .find(|p| {
                p.as_ref()
                    .is_some_and(|p| p.id == policy.id && p.dry_run == policy.dry_run)
            })
            .and_then(Option::take)
        else {
            out.push(policy);
            continue;
        };
        match entry.target.as_ref() {
            Target::All => out.push(policy),
            Target::Destinations(destinations) => {
                let mut services: Vec<ResourceRef> = Vec::new();
                for destination in destinations.iter().filter(|d| d.external) {
                    let mut matched = false;
                    for service in &state.services {
                        if destination.selector.selects(&service.id, &service.labels) {
                            matched = true;
                            if !services.contains(&service.id) {
                                services.push(service.id.clone());
                            }
                        }
                    }
                    if !matched {
                        let warning = destination.site.warning(
                            "selects no loaded ExternalService, so it applies to no egress traffic"
                                .to_string(),
                        );
                        if !warnings.contains(&warning) {
                            warnings.push(warning);
                        }
                    }
                }
                if !services.is_empty() {
                    out.push(Policy {
                        scope: Scope::Services { services },
                        ..policy
                    });
                }
            }
            Target::Workloads(selectors) => {
                let mut seen: Vec<&ResourceRef> = Vec::new();
                for gateway in model
                    .gateways
                    .iter()
                    .filter(|g| selectors.iter().any(|s| s.selects_gateway(g)))
                {
                    if seen.contains(&&gateway.id) {
                        continue;
                    }
                    seen.push(&gateway.id);
                    out.push(Policy {
                        scope: Scope::Gateway {
                            gateway: gateway.id.clone(),
                        },
                        ..policy.clone()
                    });
                }
            }
        }
    }
    state.policies.clear();
    model.policies = out;
    diags.extend(warnings);
    label_assumptions(model);
}

/// Gloo resolves a `serviceAccountSelector` with labels against the ServiceAccount objects
/// that exist ("Providing labels … for a service account that does not exist … will not
/// result in that service account being added", selectors.proto). When none is loaded for
/// the selector's namespace, the engine takes the labels the request gives
/// (`source.labels`) as the service account's: an assumption every decision where the
/// policy attaches carries.
fn label_assumptions(model: &mut Model) {
    let mut found: Vec<(ResourceRef, Caveat)> = Vec::new();
    for policy in &model.policies {
        if policy.vendor != Vendor::Gloo {
            continue;
        }
        for source in policy.rules.iter().flat_map(|r| r.from.iter().flatten()) {
            if !source.service_account_labels.is_set() {
                continue;
            }
            let namespace = source
                .service_accounts
                .values
                .first()
                .map(|sa| sa.namespace.as_str())
                .or_else(|| source.namespaces.values.first().map(|n| n.glob.as_str()));
            let loaded = model
                .service_accounts
                .iter()
                .any(|sa| namespace.is_none_or(|ns| sa.namespace == ns));
            if loaded {
                continue;
            }
            let wanted: Vec<String> = source
                .service_account_labels
                .values
                .iter()
                .flat_map(|l| l.iter().map(|(k, v)| format!("{k}: {v}")))
                .collect();
            let caveat = Caveat {
                code: "service_account_not_loaded".to_string(),
                message: format!(
                    "{} selects service accounts by labels ({}) and no ServiceAccount object is loaded{}: the labels the request gives (`source.labels`) are taken as the sender's service account labels; Gloo itself selects only service accounts that exist",
                    policy.id,
                    wanted.join(", "),
                    namespace.map(|ns| format!(" in namespace `{ns}`")).unwrap_or_default()
                ),
                resource: Some(policy.id.clone()),
            };
            let entry = (policy.id.clone(), caveat);
            if !found.contains(&entry) && !model.assumptions.contains(&entry) {
                found.push(entry);
            }
        }
    }
    model.assumptions.extend(found);
}
