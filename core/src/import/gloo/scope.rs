//! What Gloo workspaces change once everything is loaded (SEMANTICS.md §8.4): which
//! workspace owns each resource (by namespace), which external services each workspace
//! sees (its own, and those the owner exports to it and it imports), and the policies
//! service isolation adds.
//!
//! Sources: `admin/v2/workspace.proto` ("a boundary for configuration and service
//! discovery"), `admin/v2/workspace_settings.proto` (`importFrom`: "Objects must both be
//! exported by the workspace that is being imported and imported into this workspace";
//! `serviceIsolation.enabled`: "blocks any access from non-importing workspaces into any
//! destination in the current workspaces"; "Applying AccessPolicies to destinations in this
//! workspace will override the default service isolation behavior"), solo-apis branch
//! `gloo-mesh-v2.6.x`.

use crate::diagnostic::{Diagnostic, Location};
use crate::model::{
    glob_match, Action, Caveat, Labels, Model, NamespaceSelector, NamespaceSet, Origin, Policy,
    RegistryScope, ResourceRef, Rule, RuleOrigin, Scope, Source, Vendor,
};

use super::super::decode::values;
use super::workspace::{PendingSettings, PendingWorkspace, ResourceSelector, Sharing};
use super::PendingService;

/// The name of a Gloo workspace's namespace set in [`Model::workspaces`] (TSB workspace
/// names are DNS labels, so the `/` keeps the two apart).
pub(super) fn set_name(workspace: &str) -> String {
    format!("gloo/{workspace}")
}

/// One workspace with its effective settings.
struct Space {
    id: ResourceRef,
    labels: Labels,
    /// Namespace selectors: (cluster glob, namespace glob, namespace labels).
    entries: Vec<(String, String, Labels)>,
    import_from: Vec<Sharing>,
    export_to: Vec<Sharing>,
    /// The settings that enable service isolation.
    isolation: Option<(ResourceRef, Location)>,
    /// `trimProxyConfig` / `trimAllProxyConfig`.
    trim: bool,
}

/// The loaded workspaces.
pub(super) struct Spaces {
    list: Vec<Space>,
}

/// A resource that can be shared between workspaces.
pub(super) struct Shared<'a> {
    pub(super) kind: &'a str,
    pub(super) id: &'a ResourceRef,
    pub(super) labels: &'a Labels,
}

impl Spaces {
    /// Resolves workspaces and their settings; warns about settings that configure no
    /// workspace and about second settings of one workspace.
    pub(super) fn resolve(
        workspaces: &[PendingWorkspace],
        settings: &[PendingSettings],
        model: &Model,
        diags: &mut Vec<Diagnostic>,
    ) -> Self {
        let list: Vec<Space> = workspaces
            .iter()
            .map(|w| Space {
                id: w.id.clone(),
                labels: w.labels.clone(),
                entries: w
                    .clusters
                    .iter()
                    .flat_map(|c| {
                        let cluster = match (&c.cluster, c.cluster_labels.is_empty()) {
                            (Some(name), true) => name.clone(),
                            _ => "*".to_string(),
                        };
                        c.namespaces.iter().map(move |(name, labels)| {
                            (
                                cluster.clone(),
                                name.clone().unwrap_or_else(|| "*".to_string()),
                                labels.clone(),
                            )
                        })
                    })
                    .collect(),
                import_from: Vec::new(),
                export_to: Vec::new(),
                isolation: None,
                trim: false,
            })
            .collect();
        for w in workspaces {
            let by_labels = w
                .clusters
                .iter()
                .flat_map(|c| &c.namespaces)
                .filter(|(_, labels)| !labels.is_empty())
                .filter(|(glob, labels)| {
                    !model.namespaces.iter().any(|(name, have)| {
                        glob.as_ref().is_none_or(|g| glob_match(g, name))
                            && labels.iter().all(|(k, v)| have.get(k) == Some(v))
                    })
                })
                .count();
            if by_labels > 0 {
                diags.push(w.site.warning(format!(
                    "{} selects namespaces by labels and no loaded Namespace carries them: those entries select no namespace here (load the Namespace objects)",
                    w.id
                )));
            }
        }
        let mut configured: Vec<Option<ResourceRef>> = vec![None; list.len()];
        let mut spaces = Spaces { list };
        for s in settings.iter().filter(|s| !s.is_global()) {
            let Some(owner) = spaces.owner(&s.id.namespace, model) else {
                diags.push(s.site.warning(format!(
                    "{} is in namespace {}, which no loaded Workspace selects: it configures no workspace",
                    s.id, s.id.namespace
                )));
                continue;
            };
            if let Some(Some(first)) = configured.get(owner) {
                diags.push(s.site.warning(format!(
                    "{} is a second WorkspaceSettings of workspace `{}` (the first is {first}): Gloo allows one per workspace; it is ignored",
                    s.id,
                    spaces.name(owner)
                )));
                continue;
            }
            if let Some(slot) = configured.get_mut(owner) {
                *slot = Some(s.id.clone());
            }
            if let Some(space) = spaces.list.get_mut(owner) {
                space.import_from.clone_from(&s.import_from);
                space.export_to.clone_from(&s.export_to);
                space.trim = s.trim;
                if s.isolation == Some(true) {
                    space.isolation = Some((s.id.clone(), s.location.clone()));
                }
            }
        }
        for g in settings.iter().filter(|s| s.is_global()) {
            for space in &mut spaces.list {
                if !g.import_from.is_empty() {
                    space.import_from.clone_from(&g.import_from);
                }
                if !g.export_to.is_empty() {
                    space.export_to.clone_from(&g.export_to);
                }
                space.trim |= g.trim;
                match g.isolation {
                    Some(true) => space.isolation = Some((g.id.clone(), g.location.clone())),
                    Some(false) => space.isolation = None,
                    None => {}
                }
            }
        }
        spaces
    }

    /// Whether any workspace is loaded (without one, every namespace is one workspace, as
    /// before workspaces were read).
    pub(super) fn loaded(&self) -> bool {
        !self.list.is_empty()
    }

    /// The name of workspace `index`.
    pub(super) fn name(&self, index: usize) -> &str {
        self.list.get(index).map_or("", |s| s.id.name.as_str())
    }

    /// The index of the workspace named `name`.
    pub(super) fn named(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|s| s.id.name == name)
    }

    /// The workspace whose namespaces contain `namespace` (in any cluster: egress-policy
    /// does not know where a resource was applied); the first one when several do.
    pub(super) fn owner(&self, namespace: &str, model: &Model) -> Option<usize> {
        self.list.iter().position(|space| {
            space.entries.iter().any(|(_, glob, labels)| {
                glob_match(glob, namespace)
                    && (labels.is_empty()
                        || model
                            .namespaces
                            .get(namespace)
                            .is_some_and(|have| labels.iter().all(|(k, v)| have.get(k) == Some(v))))
            })
        })
    }

    /// The namespace set of every workspace, for sources that name one: namespaces selected
    /// by labels are the loaded Namespaces that carry them.
    pub(super) fn sets(&self, model: &Model) -> Vec<NamespaceSet> {
        self.list
            .iter()
            .enumerate()
            .map(|(index, space)| NamespaceSet {
                id: space.id.clone(),
                name: set_name(&space.id.name),
                namespaces: self.namespaces_of(index, model),
            })
            .collect()
    }

    /// Whether `resource` of workspace `from` is available in workspace `to`: the same
    /// workspace, or exported by `from` to `to` and imported by `to` from `from`.
    pub(super) fn shares(&self, resource: &Shared, from: usize, to: usize) -> bool {
        if from == to {
            return true;
        }
        let (Some(a), Some(b)) = (self.list.get(from), self.list.get(to)) else {
            return false;
        };
        let covers = |list: &[Sharing], other: &Space| {
            list.iter().any(|entry| {
                entry.workspaces.iter().any(|w| {
                    w.name
                        .as_ref()
                        .is_none_or(|n| glob_match(n, &other.id.name))
                        && w.labels.iter().all(|(k, v)| other.labels.get(k) == Some(v))
                }) && (entry.resources.is_empty()
                    || entry.resources.iter().any(|r| selects(r, resource)))
            })
        };
        covers(&a.export_to, b) && covers(&b.import_from, a)
    }

    /// The workspaces other than `owner` that `resource` is shared with.
    fn sharers(&self, resource: &Shared, owner: usize) -> Vec<usize> {
        (0..self.list.len())
            .filter(|&to| to != owner && self.shares(resource, owner, to))
            .collect()
    }

    /// Scopes every external service to the namespaces of its workspace and of the
    /// workspaces it is shared with; an external service outside every workspace stays
    /// visible everywhere, with a warning and a caveat. An egress gateway route to a
    /// VirtualGateway of a workspace that does not see the service is not generated.
    pub(super) fn scope_services(
        &self,
        services: &[PendingService],
        model: &mut Model,
        diags: &mut Vec<Diagnostic>,
    ) {
        for pending in services {
            let shared = Shared {
                kind: "EXTERNAL_SERVICE",
                id: &pending.id,
                labels: &pending.labels,
            };
            let Some(owner) = self.owner(&pending.id.namespace, model) else {
                diags.push(pending.site.warning(format!(
                    "{} is in namespace {}, which no loaded Workspace selects: Gloo translates resources of workspaces only; egress-policy keeps it visible to every namespace",
                    pending.id, pending.id.namespace
                )));
                push_caveat(
                    &mut model.service_caveats,
                    &pending.id,
                    outside_caveat(&pending.id),
                );
                continue;
            };
            let sharers = self.sharers(&shared, owner);
            let mut visible_in = self.namespaces_of(owner, model);
            for b in &sharers {
                visible_in.extend(self.namespaces_of(*b, model));
            }
            let names: Vec<String> = sharers
                .iter()
                .map(|b| format!("`{}`", self.name(*b)))
                .collect();
            let why = format!(
                "it belongs to Gloo workspace `{}`, which shares it with {} (exportTo on its side and importFrom on the other); Gloo exports its translation to those workspaces' namespaces only{}",
                self.name(owner),
                if names.is_empty() {
                    "no other workspace".to_string()
                } else {
                    names.join(", ")
                },
                if self.list.get(owner).is_some_and(|s| s.trim) {
                    ", and trimProxyConfig keeps it out of every other sidecar"
                } else {
                    ""
                }
            );
            model.registry_scopes.push(RegistryScope {
                service: pending.id.clone(),
                visible_in,
                why: why.clone(),
            });
            let Some((gateway, site)) = &pending.gateway else {
                continue;
            };
            let Some(at) = self.owner(&gateway.namespace, model) else {
                self.gateway_outside(gateway, &pending.id, model, diags);
                continue;
            };
            if at == owner || sharers.contains(&at) {
                continue;
            }
            diags.push(site.warning(format!(
                "{gateway} is in Gloo workspace `{}`, which does not see {}: Gloo generates no egress gateway route for it, so clients send it directly",
                self.name(at),
                pending.id
            )));
            for service in model
                .services
                .iter_mut()
                .filter(|s| s.vendor == Vendor::Gloo && s.id == pending.id)
            {
                service.gateway = None;
            }
            push_caveat(
                &mut model.service_caveats,
                &pending.id,
                Caveat {
                    code: "gloo_route_not_applied".to_string(),
                    message: format!(
                        "the egress gateway route of {} to {gateway} is not applied: the gateway's workspace `{}` does not see the service ({why}); the request leaves from the sender's sidecar",
                        pending.id,
                        self.name(at)
                    ),
                    resource: Some(pending.id.clone()),
                },
            );
        }
    }

    /// A VirtualGateway in no workspace that routes `service`: a warning at the gateway
    /// (once) and caveat `gloo_outside_workspace` on the service's decisions.
    fn gateway_outside(
        &self,
        gateway: &ResourceRef,
        service: &ResourceRef,
        model: &mut Model,
        diags: &mut Vec<Diagnostic>,
    ) {
        let Some(loaded) = model.gateways.iter().find(|g| g.id == *gateway) else {
            return;
        };
        let warning = Diagnostic {
            code: None,
            severity: crate::diagnostic::Severity::Warning,
            location: loaded.location.clone(),
            resource: Some(gateway.to_string()),
            field: None,
            message: format!(
                "{gateway} is in namespace {}, which no loaded Workspace selects: Gloo translates resources of workspaces only; egress-policy keeps its routes",
                gateway.namespace
            ),
            help: None,
        };
        if !diags.contains(&warning) {
            diags.push(warning);
        }
        push_caveat(&mut model.service_caveats, service, outside_caveat(gateway));
    }

    /// The namespace selectors of workspace `index`: namespaces selected by labels are the
    /// loaded Namespaces that carry them.
    fn namespaces_of(&self, index: usize, model: &Model) -> Vec<NamespaceSelector> {
        let mut out = Vec::new();
        let Some(space) = self.list.get(index) else {
            return out;
        };
        for (cluster, glob, labels) in &space.entries {
            if labels.is_empty() {
                out.push(NamespaceSelector {
                    cluster: cluster.clone(),
                    namespace: glob.clone(),
                });
                continue;
            }
            for (name, have) in &model.namespaces {
                if glob_match(glob, name) && labels.iter().all(|(k, v)| have.get(k) == Some(v)) {
                    out.push(NamespaceSelector {
                        cluster: cluster.clone(),
                        namespace: name.clone(),
                    });
                }
            }
        }
        out
    }

    /// Whether an `AccessPolicy` of workspace `policy` may select external service
    /// `service` (its own, or imported into it); `None` workspaces mean "outside every
    /// workspace", which keeps the behaviour without workspaces.
    pub(super) fn sees(
        &self,
        service: &PendingService,
        policy: Option<usize>,
        model: &Model,
    ) -> bool {
        let (Some(policy), Some(owner)) = (policy, self.owner(&service.id.namespace, model)) else {
            return true;
        };
        let shared = Shared {
            kind: "EXTERNAL_SERVICE",
            id: &service.id,
            labels: &service.labels,
        };
        self.shares(&shared, owner, policy)
    }

    /// Service isolation: for every isolated workspace, an ALLOW policy on each of its
    /// external services that no AccessPolicy applies to, admitting the workspace's own
    /// sources and those of the workspaces the service is shared with (mTLS identities
    /// only, as Gloo enforces it "using mTLS").
    pub(super) fn isolation_policies(&self, services: &[PendingService], model: &mut Model) {
        let mut added: Vec<Policy> = Vec::new();
        for (index, space) in self.list.iter().enumerate() {
            let Some((settings, location)) = &space.isolation else {
                continue;
            };
            for pending in services
                .iter()
                .filter(|s| self.owner(&s.id.namespace, model) == Some(index))
            {
                let covered = model.policies.iter().any(|p| {
                    p.vendor == Vendor::Gloo
                        && p.id.kind == "AccessPolicy"
                        && !p.dry_run
                        && matches!(&p.scope, Scope::Services { services } if services.is_empty() || services.contains(&pending.id))
                });
                if covered {
                    continue;
                }
                let shared = Shared {
                    kind: "EXTERNAL_SERVICE",
                    id: &pending.id,
                    labels: &pending.labels,
                };
                let mut allowed = vec![index];
                allowed.extend(self.sharers(&shared, index));
                let from: Vec<Source> = allowed
                    .iter()
                    .map(|w| Source {
                        workspaces: values(vec![set_name(self.name(*w))]),
                        ..Source::default()
                    })
                    .collect();
                // Explanations name the setting that made the rule.
                let mut origin = Origin::at("spec.options.serviceIsolation".to_string());
                origin.map("from", "spec.options.serviceIsolation.enabled", false);
                let rule = Rule {
                    from: Some(from),
                    to: None,
                    when: Vec::new(),
                    location: Some(location.clone()),
                    origin: RuleOrigin::new(origin),
                };
                match added
                    .iter_mut()
                    .find(|p| p.id == *settings && p.rules.first() == Some(&rule))
                {
                    Some(Policy {
                        scope: Scope::Services { services },
                        ..
                    }) => services.push(pending.id.clone()),
                    _ => added.push(Policy {
                        id: settings.clone(),
                        vendor: Vendor::Gloo,
                        location: location.clone(),
                        action: Action::Allow,
                        scope: Scope::Services {
                            services: vec![pending.id.clone()],
                        },
                        dry_run: false,
                        rules: vec![rule],
                    }),
                }
            }
        }
        model.policies.extend(added);
    }
}

/// Whether a `TypedObjectSelector` selects `resource`.
fn selects(selector: &ResourceSelector, resource: &Shared) -> bool {
    (selector.kind == "ALL" || selector.kind == resource.kind)
        && selector
            .name
            .as_ref()
            .is_none_or(|n| *n == resource.id.name)
        && selector
            .namespace
            .as_ref()
            .is_none_or(|n| *n == resource.id.namespace)
        && selector
            .labels
            .iter()
            .all(|(k, v)| resource.labels.get(k) == Some(v))
}

/// The caveat of a resource in no loaded workspace.
pub(super) fn outside_caveat(id: &ResourceRef) -> Caveat {
    Caveat {
        code: "gloo_outside_workspace".to_string(),
        message: format!(
            "{id} is in namespace {}, which no loaded Gloo Workspace selects: Gloo translates only resources of a workspace; egress-policy applies it as if workspaces did not exist",
            id.namespace
        ),
        resource: Some(id.clone()),
    }
}

/// Adds `caveat` for `id` once.
pub(super) fn push_caveat(list: &mut Vec<(ResourceRef, Caveat)>, id: &ResourceRef, caveat: Caveat) {
    let entry = (id.clone(), caveat);
    if !list.contains(&entry) {
        list.push(entry);
    }
}
