//! The authorization walk of a decision (§1.2): the candidate rules of the request, the
//! lowest matching rule id per action for enforced-only and with-dry-run evaluation, and
//! the outcome of each mode.

use crate::model::Model;

use super::index;
use super::path_head::PathHead;
use super::verdict::Decided;
use super::{AllowSummary, Compiled, CustomNote, Digest, PointRef, PolicyClass, Verdict};

impl Compiled {
    pub(super) fn authorize<'a>(
        &'a self,
        model: &'a Model,
        req: &'a Digest,
        service: Option<usize>,
        point: &PointRef<'a>,
    ) -> Verdict<'a> {
        // CUSTOM providers attached here (few): is more than one provider involved?
        let mut providers: [Option<&str>; 2] = [None, None];
        let mut multi = [false, false];
        for pi in &self.custom_policies {
            let Some(p) = self.policies.get(*pi as usize) else {
                continue;
            };
            if !self.attaches(model, p, point, service) {
                continue;
            }
            let provider = p.provider.as_deref();
            for (mode, seen) in providers.iter_mut().enumerate() {
                if mode == 0 && p.dry_run {
                    continue;
                }
                match seen {
                    None => *seen = provider,
                    Some(s) if Some(*s) != provider => {
                        if let Some(m) = multi.get_mut(mode) {
                            *m = true;
                        }
                    }
                    Some(_) => {}
                }
            }
        }

        // Lowest matching rule id per action, for [enforced, with dry-run].
        let mut best = Best::default();
        let mut candidates = 0u32;
        // Only an HTTP request with a standard method can be skipped on its method, and
        // only an HTTP request on its path (TCP rules drop L7 fields, SEMANTICS §1.11).
        let method_bit = if req.is_tcp { 0 } else { req.method_bit };
        let path_head = match (req.path(), req.is_tcp) {
            (Some(path), false) => Some(PathHead::of(path.as_bytes())),
            _ => None,
        };
        let mut check = |c: &index::Candidate, best: &mut Best| {
            candidates = candidates.saturating_add(1);
            let id = c.rule;
            if !best.wants(c.class, id, c.dry_run) {
                return;
            }
            if method_bit != 0 && c.methods & method_bit == 0 {
                return;
            }
            if path_head.is_some_and(|head| !c.path.admits(head)) {
                return;
            }
            // The candidate's copies of the policy's facts answer attachment (through the
            // point's bitset) and the action without reading the policy: at 100 000 rules
            // each read is a cache miss.
            let attached_here = match (point.info, c.point_ref) {
                (Some(info), true) => {
                    if !info.attached(c.policy) {
                        return;
                    }
                    true
                }
                _ => false,
            };
            let Some(rule) = self.rules.get(id as usize) else {
                return;
            };
            let policy = || self.policies.get(c.policy as usize);
            if !attached_here && !policy().is_some_and(|p| self.attaches(model, p, point, service))
            {
                return;
            }
            let narrows = matches!(c.class, PolicyClass::Allow | PolicyClass::Custom);
            if !rule.matches(req, narrows) {
                return;
            }
            if c.class == PolicyClass::Custom {
                let Some(p) = policy() else {
                    return;
                };
                let provider = p.provider.as_deref().unwrap_or_default();
                let declared = model
                    .mesh
                    .extension_providers
                    .as_ref()
                    .is_none_or(|list| list.iter().any(|d| d == provider));
                if !p.dry_run && declared && !multi.first().copied().unwrap_or(false) {
                    best.consulted.get_or_insert(rule.policy);
                }
                let note = |mode: usize| {
                    if multi.get(mode).copied().unwrap_or(false) {
                        Some(CustomNote::MultipleProviders)
                    } else if !declared {
                        Some(CustomNote::Undeclared)
                    } else {
                        match req.custom().get(provider) {
                            Some(true) => None,
                            Some(false) => Some(CustomNote::Denied),
                            None => Some(CustomNote::NoVerdict),
                        }
                    }
                };
                best.record_custom(id, p.dry_run, note(0), note(1));
            } else {
                best.record(c.class, id, c.dry_run);
            }
        };
        // A list's ALLOW candidates come last and by rule id (`index::HostIndex::build`):
        // once both ALLOW slots hold a rule at or below an ALLOW candidate, neither it nor
        // any later candidate of its list can lower them (and it is not examined).
        let mut visit = |list: &[index::Candidate]| {
            for c in list {
                if c.class == PolicyClass::Allow && best.allow_settled(c.rule) {
                    break;
                }
                check(c, &mut best);
            }
        };
        // The memo's index keys belong to this engine's index only (as the point does).
        let index_keys = req.index_keys(self.id);
        self.index
            .candidates(req, point.namespace, index_keys, &mut visit);

        // Which ALLOW policies attach: cached per point, plus the few that depend on the
        // registry entry.
        let mut summary = match point.info {
            Some(info) => info.summary,
            None => self.point_summary(model, point),
        };
        let service_allows = service
            .and_then(|s| self.service_allow_policies.get(s))
            .map(Vec::as_slice)
            .unwrap_or_default();
        for pi in self.mixed_allow_policies.iter().chain(service_allows) {
            if let Some(p) = self.policies.get(*pi as usize) {
                if self.attaches(model, p, point, service) {
                    summary.add(*pi, p);
                }
            }
        }

        let outcome = |mode: usize, allow: &AllowSummary| -> CompiledOutcome {
            if let Some((id, note)) = best.custom(mode) {
                return CompiledOutcome::Custom(id, note);
            }
            if let Some(id) = best.get(PolicyClass::Deny, mode) {
                return CompiledOutcome::Deny(id);
            }
            if allow.first.is_none() {
                return CompiledOutcome::NoAllowPolicies;
            }
            if let Some(id) = best.get(PolicyClass::Allow, mode) {
                return CompiledOutcome::Allow(id);
            }
            if !allow.any_with_rules {
                return match (allow.first_tsb, allow.first) {
                    (Some(p), _) => CompiledOutcome::GatewayDeniesAll(p),
                    (None, Some(p)) => CompiledOutcome::AllowNothing(p),
                    (None, None) => CompiledOutcome::NoAllowMatch,
                };
            }
            CompiledOutcome::NoAllowMatch
        };
        let enforced = outcome(0, &summary.enforced);
        let has_dry_run = self.any_dry_run_attached(model, point, service);
        let dry_run = has_dry_run.then(|| outcome(1, &summary.with_dry_run));
        let audit = best.audit;
        let no_proxy = req.workload().is_some()
            && point.gateways.is_empty()
            && !point.info.map_or_else(
                || self.point_info(model, point).attaches_any,
                |i| i.attaches_any,
            )
            && !self.service_scoped_policies.iter().any(|pi| {
                self.policies
                    .get(*pi as usize)
                    .is_some_and(|p| self.attaches(model, p, point, service))
            });
        Verdict::from_outcome(
            self,
            model,
            req,
            Decided {
                outcome: enforced,
                dry_run,
                audit,
                no_proxy,
                custom_consulted: best.consulted,
                candidates,
            },
        )
    }

    fn any_dry_run_attached(
        &self,
        model: &Model,
        point: &PointRef,
        service: Option<usize>,
    ) -> bool {
        // Dry-run policies are rare; a scan only over them keeps this exact.
        self.dry_run_policies.iter().any(|pi| {
            self.policies
                .get(*pi as usize)
                .is_some_and(|p| self.attaches(model, p, point, service))
        })
    }
}

/// The outcome of §1.2 for one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompiledOutcome {
    Custom(u32, CustomNote),
    Deny(u32),
    NoAllowPolicies,
    Allow(u32),
    GatewayDeniesAll(u32),
    AllowNothing(u32),
    NoAllowMatch,
}

impl CompiledOutcome {
    pub(super) fn allowed(self) -> bool {
        matches!(
            self,
            CompiledOutcome::NoAllowPolicies | CompiledOutcome::Allow(_)
        )
    }
}

/// Lowest matching rule ids per action, for enforced-only (mode 0) and with dry-run (1).
#[derive(Debug, Default)]
struct Best {
    deny: [Option<u32>; 2],
    allow: [Option<u32>; 2],
    custom: [Option<(u32, CustomNote)>; 2],
    audit: bool,
    /// An enforced CUSTOM policy whose provider's verdict was read from the request.
    consulted: Option<u32>,
}

impl Best {
    fn get(&self, class: PolicyClass, mode: usize) -> Option<u32> {
        match class {
            PolicyClass::Deny => self.deny.get(mode).copied().flatten(),
            PolicyClass::Allow => self.allow.get(mode).copied().flatten(),
            PolicyClass::Custom => self.custom(mode).map(|(id, _)| id),
            PolicyClass::Audit => None,
        }
    }

    fn custom(&self, mode: usize) -> Option<(u32, CustomNote)> {
        self.custom.get(mode).copied().flatten()
    }

    /// Whether neither ALLOW slot can be lowered by rule `id` or any larger id (both hold
    /// a rule at or below it).
    fn allow_settled(&self, id: u32) -> bool {
        self.allow.iter().all(|slot| slot.is_some_and(|b| b <= id))
    }

    /// Whether a match of this rule could still change anything.
    fn wants(&self, class: PolicyClass, id: u32, dry_run: bool) -> bool {
        let lower = |slot: Option<u32>| slot.is_none_or(|b| id < b);
        match class {
            PolicyClass::Audit => !dry_run && !self.audit,
            PolicyClass::Custom => true,
            PolicyClass::Deny => lower(self.deny[1]) || (!dry_run && lower(self.deny[0])),
            PolicyClass::Allow => lower(self.allow[1]) || (!dry_run && lower(self.allow[0])),
        }
    }

    fn record(&mut self, class: PolicyClass, id: u32, dry_run: bool) {
        let slots = match class {
            PolicyClass::Deny => &mut self.deny,
            PolicyClass::Allow => &mut self.allow,
            PolicyClass::Audit => {
                self.audit |= !dry_run;
                return;
            }
            PolicyClass::Custom => return,
        };
        for (mode, slot) in slots.iter_mut().enumerate() {
            if (mode == 1 || !dry_run) && slot.is_none_or(|b| id < b) {
                *slot = Some(id);
            }
        }
    }

    fn record_custom(
        &mut self,
        id: u32,
        dry_run: bool,
        enforced: Option<CustomNote>,
        with_dry_run: Option<CustomNote>,
    ) {
        for (mode, note) in [(0usize, enforced), (1, with_dry_run)] {
            if mode == 0 && dry_run {
                continue;
            }
            let Some(note) = note else {
                continue;
            };
            if let Some(slot) = self.custom.get_mut(mode) {
                if slot.is_none_or(|(b, _)| id < b) {
                    *slot = Some((id, note));
                }
            }
        }
    }
}
