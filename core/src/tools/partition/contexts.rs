//! The contexts of a [`Partition`] (module docs of [`super`]): per point and authority
//! class, the rules that may still match and the identity classes they tell apart (with
//! the identity candidates and their labels); per identity class, the method and path
//! classes.

#[allow(clippy::wildcard_imports)]
use super::*;

impl<'m> Partition<'m> {
    pub(super) fn host_context(&self, point: &Point, authority: &str) -> Option<HostContext<'m>> {
        host_view(authority)?;
        let rules = self.rules_for(point, authority);
        let mut preds: BTreeSet<IdPred> = BTreeSet::new();
        preds.insert(IdPred::Authenticated);
        let mut labels_used = false;
        let add_selectors = |preds: &mut BTreeSet<IdPred>, selectors: &[NamespaceSelector]| {
            for s in selectors {
                preds.insert(IdPred::Selector(s.cluster.clone(), s.namespace.clone()));
            }
        };
        for at in &rules {
            for source in at.rule.from.iter().flatten() {
                for p in all_values(&source.principals) {
                    preds.insert(IdPred::Principal(p.clone()));
                }
                for p in all_values(&source.namespaces) {
                    preds.insert(IdPred::Namespace(p.glob.clone()));
                }
                for p in all_values(&source.service_accounts) {
                    preds.insert(IdPred::ServiceAccount(p.namespace.clone(), p.name.clone()));
                }
                for p in all_values(&source.trust_domains) {
                    preds.insert(IdPred::TrustDomain(p.value.clone()));
                }
                for name in all_values(&source.workspaces) {
                    for set in at.model.workspaces.iter().filter(|s| &s.name == name) {
                        add_selectors(&mut preds, &set.namespaces);
                    }
                }
                for name in all_values(&source.groups) {
                    for set in at.model.groups.iter().filter(|s| &s.name == name) {
                        add_selectors(&mut preds, &set.namespaces);
                    }
                }
                labels_used |= source.service_account_labels.is_set();
            }
            for c in &at.rule.when {
                match c {
                    Condition::SourcePrincipal(f) => {
                        for p in all_values(f) {
                            preds.insert(IdPred::Principal(p.clone()));
                        }
                    }
                    Condition::SourceNamespace(f) => {
                        for p in all_values(f) {
                            preds.insert(IdPred::Namespace(p.glob.clone()));
                        }
                    }
                    Condition::SourceServiceAccount(f) => {
                        for p in all_values(f) {
                            preds.insert(IdPred::ServiceAccount(
                                p.namespace.clone(),
                                p.name.clone(),
                            ));
                        }
                    }
                    Condition::SourceTrustDomain(f) => {
                        for p in all_values(f) {
                            preds.insert(IdPred::TrustDomain(p.value.clone()));
                        }
                    }
                    _ => {}
                }
            }
        }
        // TSB routes decide the gateway of routed requests, and whether an unregistered host
        // gets 502 under REGISTRY_ONLY even when the request names its workload.
        for model in &self.models {
            for route in &model.egress_routes {
                add_selectors(&mut preds, &route.sources);
            }
        }
        if labels_used {
            preds.insert(IdPred::HasAccount);
            for model in &self.models {
                for sa in &model.service_accounts {
                    preds.insert(IdPred::Account(sa.namespace.clone(), sa.name.clone()));
                }
            }
        }
        if preds.len() == 1 {
            // Nothing reads the identity: one class.
            let td = self
                .models
                .first()
                .map_or("cluster.local", |m| m.mesh.trust_domain.as_str());
            return Some(HostContext {
                rules,
                id_preds: Vec::new(),
                identities: vec![Rep {
                    value: Some(format!("spiffe://{td}/ns/default/sa/default")),
                    label: "any identity".to_string(),
                    vector: Vec::new(),
                }],
            });
        }
        let id_preds: Vec<IdPred> = preds.into_iter().collect();
        let candidates = self.identity_candidates(&id_preds);
        let identities = dedupe(candidates, |p| {
            let v = id_view(p.as_deref());
            Some(id_preds.iter().map(|pred| pred.holds(&v)).collect())
        });
        Some(HostContext {
            rules,
            id_preds,
            identities,
        })
    }

    /// ` (workspace w1, group w1/g1)` for a namespace in TSB workspaces or groups.
    fn tenancy(&self, namespace: &str) -> String {
        let mut sets: Vec<String> = Vec::new();
        for model in &self.models {
            for (kind, list) in [("workspace", &model.workspaces), ("group", &model.groups)] {
                for set in list {
                    let named = format!("{kind} {}", set.name);
                    if set.namespaces.iter().any(|s| s.selects(None, namespace))
                        && !sets.contains(&named)
                    {
                        sets.push(named);
                    }
                }
            }
        }
        if sets.is_empty() {
            String::new()
        } else {
            format!(" ({})", sets.join(", "))
        }
    }

    fn identity_candidates(&self, preds: &[IdPred]) -> Vec<(Option<String>, String)> {
        let mut forms = Forms::default();
        let mut used: BTreeSet<char> = BTreeSet::new();
        let mut tds: Vec<String> = Vec::new();
        let mut namespaces: Vec<String> = Vec::new();
        let mut accounts: Vec<String> = Vec::new();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let push = |list: &mut Vec<String>, v: &str| {
            if !v.is_empty() && !list.iter().any(|x| x == v) {
                list.push(v.to_string());
            }
        };
        for model in &self.models {
            push(&mut tds, &model.mesh.trust_domain);
            for alias in &model.mesh.trust_domain_aliases {
                push(&mut tds, alias);
            }
        }
        let mut globs: Vec<String> = Vec::new();
        let mut td_patterns: Vec<String> = Vec::new();
        for pred in preds {
            match pred {
                IdPred::Principal(p) => {
                    forms.add(p);
                    let text = match p {
                        StringPattern::Exact(t)
                        | StringPattern::Prefix(t)
                        | StringPattern::Suffix(t) => t.as_str(),
                        StringPattern::Presence => "",
                    };
                    let (td, ns, sa) = spiffe_parts(text);
                    if let Some(td) = td.filter(|_| !matches!(p, StringPattern::Suffix(_))) {
                        push(&mut tds, &td);
                    }
                    if let Some(ns) = &ns {
                        push(&mut namespaces, ns);
                    }
                    if let Some(sa) = &sa {
                        push(&mut accounts, sa);
                    }
                    if let (Some(ns), Some(sa)) = (ns, sa) {
                        pairs.push((ns, sa));
                    }
                }
                IdPred::Namespace(g) | IdPred::Selector(_, g) => {
                    used.extend(g.chars());
                    globs.push(g.clone());
                }
                IdPred::ServiceAccount(ns, sa) | IdPred::Account(ns, sa) => {
                    used.extend(ns.chars().chain(sa.chars()));
                    push(&mut namespaces, ns);
                    push(&mut accounts, sa);
                    pairs.push((ns.clone(), sa.clone()));
                }
                IdPred::TrustDomain(td) => {
                    used.extend(td.chars());
                    td_patterns.push(td.clone());
                }
                IdPred::Authenticated | IdPred::HasAccount => {}
            }
        }
        forms.chars(&mut used);
        for td in &tds {
            used.extend(td.chars());
        }
        let c = filler(&used, "qzjxkvwyfbgh");
        let cs = c.to_string();
        for g in &globs {
            let empty = g.replace('*', "");
            push(&mut namespaces, &empty);
            push(&mut namespaces, &g.replace('*', &cs));
        }
        for td in &td_patterns {
            match StringPattern::parse(td) {
                StringPattern::Exact(t) => push(&mut tds, &t),
                StringPattern::Prefix(t) => push(&mut tds, &format!("{t}{c}")),
                StringPattern::Suffix(t) => push(&mut tds, &format!("{c}{t}")),
                StringPattern::Presence => {}
            }
        }
        let local_td = tds.first().cloned().unwrap_or_else(|| cs.clone());
        push(&mut tds, &cs);

        let mut out: Vec<(Option<String>, String)> =
            vec![(None, "plaintext (no mTLS identity)".to_string())];
        let bare = |uri: &str| uri.strip_prefix("spiffe://").unwrap_or(uri).to_string();
        for exact in &forms.exact {
            out.push((Some(exact.clone()), bare(exact)));
        }
        let note = |td: &String| {
            if td == &local_td {
                String::new()
            } else if td == &cs {
                " (any other trust domain)".to_string()
            } else {
                format!(" (trust domain {td})")
            }
        };
        // Most specific first, then the most general label of each class wins the dedupe.
        for td in &tds {
            for (ns, sa) in &pairs {
                let uri = format!("spiffe://{td}/ns/{ns}/sa/{sa}");
                out.push((Some(uri.clone()), bare(&uri)));
            }
        }
        let nice = format!("spiffe://{local_td}/ns/default/sa/default");
        let generic = format!("spiffe://{local_td}/ns/{c}/sa/{c}");
        let vector = |uri: &str| -> Vec<bool> {
            let v = id_view(Some(uri));
            preds.iter().map(|p| p.holds(&v)).collect()
        };
        if vector(&nice) == vector(&generic) {
            out.push((Some(nice), "other mTLS identities".to_string()));
        }
        for td in &tds {
            out.push((
                Some(format!("spiffe://{td}/ns/{c}/sa/{c}")),
                format!("other mTLS identities{}", note(td)),
            ));
        }
        for td in &tds {
            for ns in &namespaces {
                out.push((
                    Some(format!("spiffe://{td}/ns/{ns}/sa/{c}")),
                    format!(
                        "other service accounts of namespace {ns}{}{}",
                        self.tenancy(ns),
                        note(td)
                    ),
                ));
            }
            for sa in &accounts {
                out.push((
                    Some(format!("spiffe://{td}/ns/{c}/sa/{sa}")),
                    format!("service account {sa} of other namespaces{}", note(td)),
                ));
            }
        }
        for prefix in &forms.prefix {
            out.push((
                Some(format!("{prefix}{c}")),
                format!("other identities matching `{}*`", bare(prefix)),
            ));
            for suffix in &forms.suffix {
                out.push((
                    Some(format!("{prefix}{c}{suffix}")),
                    format!(
                        "other identities matching `{}*` and `*{suffix}`",
                        bare(prefix)
                    ),
                ));
            }
        }
        for suffix in &forms.suffix {
            out.push((
                Some(format!("spiffe://{c}{suffix}")),
                format!("other identities matching `*{suffix}`"),
            ));
            for td in &tds {
                out.push((
                    Some(format!("spiffe://{td}{suffix}")),
                    format!("other identities matching `*{suffix}`"),
                ));
                for ns in &namespaces {
                    out.push((
                        Some(format!("spiffe://{td}/ns/{ns}{suffix}")),
                        format!("other identities matching `*{suffix}`"),
                    ));
                    out.push((
                        Some(format!("spiffe://{td}/ns/{ns}/sa/{c}{suffix}")),
                        format!("other identities matching `*{suffix}`"),
                    ));
                }
            }
        }
        out.push((
            Some(format!("spiffe://{c}")),
            "other identities".to_string(),
        ));
        out
    }

    pub(super) fn identity_context(
        &self,
        host: &HostContext<'m>,
        principal: Option<&str>,
    ) -> IdentityContext {
        let view = id_view(principal);
        let mut method_preds: BTreeSet<StringPattern> = BTreeSet::new();
        let mut path_preds: Vec<PathPattern> = Vec::new();
        for at in host
            .rules
            .iter()
            .filter(|at| identity_alive(at.rule, &view))
        {
            for op in at.rule.to.iter().flatten() {
                for p in all_values(&op.methods) {
                    method_preds.insert(p.clone());
                }
                for p in all_values(&op.paths) {
                    if !path_preds.contains(p) {
                        path_preds.push(p.clone());
                    }
                }
            }
        }
        let method_preds: Vec<StringPattern> = method_preds.into_iter().collect();
        let methods = dedupe(method_candidates(&method_preds), |m| {
            Some(method_preds.iter().map(|p| p.matches(m)).collect())
        });
        let normalization = self.normalization;
        let paths = dedupe(path_candidates(&path_preds), |raw| {
            let (path, _) = normalize_path(raw, normalization).ok()?;
            Some(path_preds.iter().map(|p| path_holds(p, &path)).collect())
        });
        let paths = paths
            .into_iter()
            .filter_map(|rep| {
                let (path, _) = normalize_path(&rep.value, normalization).ok()?;
                Some(Rep { value: path, ..rep })
            })
            .collect();
        IdentityContext {
            method_preds,
            methods,
            path_preds,
            paths,
        }
    }
}
