//! Cross-references between Gloo resources, resolved once every document is read.

use crate::diagnostic::Diagnostic;
use crate::model::{Model, Policy, ResourceRef, Scope, Vendor};

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
                for gateway in model
                    .gateways
                    .iter()
                    .filter(|g| selectors.iter().any(|s| s.selects_gateway(g)))
                {
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
}
