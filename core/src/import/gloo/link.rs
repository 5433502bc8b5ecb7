//! Cross-references between Gloo resources, resolved once every document is read.

use crate::diagnostic::Diagnostic;
use crate::model::{Caveat, Field, Model, Policy, ResourceRef, Scope, Vendor};

use super::scope::{outside_caveat, push_caveat, Spaces};
use super::{GlooImporter, PendingPolicy, PendingService, Target};

/// Resolves references once everything is loaded: warns about egress VirtualGateways that
/// are not loaded, scopes external services to their workspaces, and scopes each
/// `AccessPolicy` to the external services (`applyToDestinations`) or gateways
/// (`applyToWorkloads`) of its workspace and those imported into it. A policy whose
/// selectors match nothing that egress involves is dropped. Service isolation then adds
/// its policies, and `serviceAccountSelector.workspace` is checked against the loaded
/// workspaces.
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
    let spaces = Spaces::resolve(&state.workspaces, &state.settings, model, diags);
    if spaces.loaded() {
        for set in spaces.sets(model) {
            model.workspaces.push(set);
        }
        spaces.scope_services(&state.services, model, diags);
    }
    let mut warnings: Vec<Diagnostic> = Vec::new();
    // Only Gloo AccessPolicies are rescoped: without any, the policies stay where they
    // are (rebuilding the list copied every policy of a big Istio load once more).
    let rescoped = state.policies.iter().any(Option::is_some);
    let mut out = Vec::with_capacity(if rescoped { model.policies.len() } else { 0 });
    let policies = if rescoped {
        std::mem::take(&mut model.policies)
    } else {
        Vec::new()
    };
    for policy in policies {
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
        let owner = if spaces.loaded() {
            let owner = spaces.owner(&policy.id.namespace, model);
            if owner.is_none() {
                let warning = entry.site.warning(format!(
                    "{} is in namespace {}, which no loaded Workspace selects: Gloo translates resources of workspaces only; egress-policy applies it as if workspaces did not exist",
                    policy.id, policy.id.namespace
                ));
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
                push_caveat(
                    &mut model.assumptions,
                    &policy.id,
                    outside_caveat(&policy.id),
                );
            }
            owner
        } else {
            None
        };
        let cx = Resolve {
            spaces: &spaces,
            services: &state.services,
            owner,
        };
        cx.scope(policy, &entry, model, &mut out, &mut warnings);
    }
    state.policies.clear();
    if rescoped {
        model.policies = out;
    }
    if spaces.loaded() {
        spaces.isolation_policies(&state.services, model);
    }
    diags.extend(warnings);
    workspace_sources(&spaces, model);
    label_assumptions(model);
}

/// What scoping one access policy needs.
struct Resolve<'a> {
    spaces: &'a Spaces,
    services: &'a [PendingService],
    /// The policy's workspace (`None`: none loaded, or outside every one).
    owner: Option<usize>,
}

impl Resolve<'_> {
    /// Scopes `policy` to what its target selects within its workspace (and what is
    /// imported into it), pushing the result to `out`.
    fn scope(
        &self,
        policy: Policy,
        entry: &PendingPolicy,
        model: &mut Model,
        out: &mut Vec<Policy>,
        warnings: &mut Vec<Diagnostic>,
    ) {
        let spaces = self.spaces;
        match entry.target.as_ref() {
            // "all ports on all destinations in the workspace".
            Target::All => match self.owner {
                None => out.push(policy),
                Some(owner) => {
                    let services: Vec<ResourceRef> = self
                        .services
                        .iter()
                        .filter(|s| spaces.owner(&s.id.namespace, model) == Some(owner))
                        .map(|s| s.id.clone())
                        .collect();
                    if !services.is_empty() {
                        out.push(Policy {
                            scope: Scope::Services { services },
                            ..policy
                        });
                    }
                }
            },
            Target::Destinations(destinations) => {
                let mut services: Vec<ResourceRef> = Vec::new();
                for destination in destinations.iter().filter(|d| d.external) {
                    let in_workspace = destination
                        .selector
                        .workspace
                        .as_ref()
                        .and_then(|w| spaces.named(w));
                    let mut matched = false;
                    for service in self.services {
                        if !destination.selector.selects(&service.id, &service.labels) {
                            continue;
                        }
                        if in_workspace.is_some_and(|wanted| {
                            spaces.owner(&service.id.namespace, model) != Some(wanted)
                        }) {
                            continue;
                        }
                        if !spaces.sees(service, self.owner, model) {
                            self.not_applied(&policy.id, service, destination, model, warnings);
                            continue;
                        }
                        matched = true;
                        if !services.contains(&service.id) {
                            services.push(service.id.clone());
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
            // "Policies that select workloads (applyToWorkloads) do not apply across
            // workspaces" (Gloo docs, policy import/export).
            Target::Workloads(selectors) => {
                let mut seen: Vec<&ResourceRef> = Vec::new();
                for gateway in model.gateways.iter().filter(|g| {
                    selectors.iter().any(|s| s.selects_gateway(g))
                        && (self.owner.is_none()
                            || spaces.owner(&g.id.namespace, model) == self.owner)
                }) {
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

    /// An external service the policy selects but its workspace does not see: Gloo does
    /// not apply the policy to it. A warning at the selector and a caveat on every request
    /// the service serves.
    fn not_applied(
        &self,
        policy: &ResourceRef,
        service: &PendingService,
        destination: &super::DestinationTarget,
        model: &mut Model,
        warnings: &mut Vec<Diagnostic>,
    ) {
        let spaces = self.spaces;
        let policy_ws = self.owner.map_or("", |o| spaces.name(o));
        let service_ws = spaces
            .owner(&service.id.namespace, model)
            .map_or("", |o| spaces.name(o));
        let text = format!(
            "{policy} (workspace `{policy_ws}`) selects {} of workspace `{service_ws}`, which `{service_ws}` does not export to `{policy_ws}` or `{policy_ws}` does not import: Gloo does not apply the policy to it",
            service.id
        );
        let warning = destination.site.warning(text.clone());
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
        push_caveat(
            &mut model.service_caveats,
            &service.id,
            Caveat {
                code: "gloo_policy_not_applied".to_string(),
                message: text,
                resource: Some(policy.clone()),
            },
        );
    }
}

/// `serviceAccountSelector.workspace`: the source's namespace must be in that workspace.
/// A workspace that is not loaded leaves the selector unnarrowed (as before workspaces were
/// read), and every decision where the policy attaches says so.
fn workspace_sources(spaces: &Spaces, model: &mut Model) {
    let mut found: Vec<(ResourceRef, Caveat)> = Vec::new();
    for policy in model
        .policies
        .iter_mut()
        .filter(|p| p.vendor == Vendor::Gloo && p.id.kind == "AccessPolicy")
    {
        for source in policy
            .rules
            .iter_mut()
            .flat_map(|r| r.from.iter_mut().flatten())
        {
            let missing: Vec<String> = source
                .workspaces
                .values
                .iter()
                .filter_map(|w| w.strip_prefix("gloo/"))
                .filter(|w| spaces.named(w).is_none())
                .map(str::to_string)
                .collect();
            if missing.is_empty() {
                continue;
            }
            source.workspaces = Field::default();
            for name in missing {
                let caveat = Caveat {
                    code: "gloo_workspace_not_loaded".to_string(),
                    message: format!(
                        "{} selects service accounts of Gloo workspace `{name}`, which is not loaded: the selector admits matching service accounts of any workspace",
                        policy.id
                    ),
                    resource: Some(policy.id.clone()),
                };
                push_caveat(&mut found, &policy.id, caveat);
            }
        }
    }
    for (id, caveat) in found {
        push_caveat(&mut model.assumptions, &id, caveat);
    }
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
