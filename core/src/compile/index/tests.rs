//! The index's bounds and its early stop, through the public engine.

use crate::compile::Compiled;
use crate::workload::GeneratedWorkload;
use crate::workload::{generate_profile, Layout, Profile};
use crate::Engine;

/// A generated workload of `profile` with `rules` rules, and its engine.
fn generated(rules: usize, seed: u64, profile: Profile) -> (GeneratedWorkload, Engine) {
    let w = generate_profile(rules, seed, profile, Layout::Files);
    let engine = Engine::from_files(w.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .unwrap_or_else(|e| panic!("{e}"));
    (w, engine)
}

/// Candidates stay a handful whatever the shape: the longest HTTP posting list at
/// 5 000 rules is bounded on every profile (it was thousands for namespace sources
/// before they were keyed).
#[test]
fn http_postings_stay_short_on_every_profile() {
    for profile in Profile::ALL {
        let (_, engine) = generated(5_000, 11, profile);
        let compiled = Compiled::new(engine.model());
        let longest = compiled.index.http.longest();
        assert!(
            longest <= 40,
            "{profile}: a probe can return {longest} rules"
        );
    }
}

/// Through the public API: a decision examines a bounded handful of candidates on
/// every profile at 5 000 rules, and one that never reaches authorization examines
/// none.
#[test]
fn decisions_examine_a_handful_of_candidates_on_every_profile() {
    for profile in Profile::ALL {
        let (w, engine) = generated(5_000, 11, profile);
        let prepared: Vec<_> = w.requests.iter().map(|r| engine.prepare(r)).collect();
        let examined = crate::bench::candidates(&engine, &prepared);
        eprintln!("{profile}: {examined:?}");
        assert!(examined.decisions > w.requests.len() / 2, "{profile}");
        // `any-source` is the widest: its rules without `from` under `*` or a
        // `*.domain` host share one (host, any, scope) list, but a list stops at its
        // first ALLOW match (6 at the median here, 15 before that stop).
        assert!(
            examined.p50 <= 8 && examined.max <= 32,
            "{profile}: {examined:?}"
        );
    }
    let engine = Engine::from_yaml("empty.yaml", "").unwrap_or_else(|e| panic!("{e}"));
    let malformed = crate::Request {
        method: Some("get".into()),
        host: Some("example.com".into()),
        ..crate::Request::default()
    };
    let prepared = engine.prepare(&malformed);
    let verdict = engine.decide_prepared(&prepared);
    assert!(!verdict.authorized());
    assert_eq!(verdict.candidates_examined(), 0);
}

/// A list stops at its first matching ALLOW rule, but never before the DENY rules
/// that share it, enforced or dry-run: 60 identical ALLOW rules under `*` with no
/// `from`, one DENY and one dry-run DENY in the same (host, source, scope) list.
#[test]
fn a_list_stops_at_its_first_allow_match_and_never_skips_a_deny() {
    let mut yaml = String::new();
    for i in 0..60 {
        yaml.push_str(&format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: allow-{i:02}, namespace: istio-egress}}\nspec:\n  selector: {{matchLabels: {{app: gw}}}}\n  action: ALLOW\n  rules:\n  - to: [{{operation: {{hosts: [\"*\"], methods: [GET]}}}}]\n---\n"
        ));
    }
    yaml.push_str("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: zz-deny-admin, namespace: istio-egress}\nspec:\n  selector: {matchLabels: {app: gw}}\n  action: DENY\n  rules:\n  - to: [{operation: {hosts: [\"*\"], paths: [\"/admin/*\"]}}]\n---\n");
    yaml.push_str("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: zz-dry-deny, namespace: istio-egress, annotations: {istio.io/dry-run: \"true\"}}\nspec:\n  selector: {matchLabels: {app: gw}}\n  action: DENY\n  rules:\n  - to: [{operation: {hosts: [\"*\"], paths: [\"/dry/*\"]}}]\n");
    let engine = Engine::from_yaml("stop.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"));
    let workload: crate::request::Workload = "istio-egress/app=gw"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    for (path, allowed) in [("/x", true), ("/admin/a", false), ("/dry/a", true)] {
        let request = crate::Request {
            host: Some("api.example.com".into()),
            method: Some("GET".into()),
            path: Some(path.into()),
            workload: Some(workload.clone()),
            ..crate::Request::default()
        };
        let prepared = engine.prepare(&request);
        let verdict = engine.decide_prepared(&prepared);
        assert_eq!(verdict.allowed(), allowed, "{path}");
        assert!(
            verdict.candidates_examined() <= 3,
            "{path}: {}",
            verdict.candidates_examined()
        );
        let (compiled, reference) = (verdict.to_decision(), engine.decide_reference(&request));
        assert_eq!(compiled, reference, "{path}");
        if path == "/dry/a" {
            assert_eq!(
                compiled.dry_run.as_ref().map(|d| d.allowed),
                Some(false),
                "{compiled:?}"
            );
        }
    }
}

/// A request on a road the memo knows walks the candidate lists the memo kept for it
/// instead of probing the index: the same candidates, in the same order, as a request
/// digested without the memo (`Prepared::new`, whose keys `decide` derives), so the
/// same decision and the same count of examined candidates, on every profile.
#[test]
fn memoized_candidate_lists_are_the_lists_a_fresh_probe_finds() {
    use crate::compile::Prepared;
    for profile in Profile::ALL {
        let (w, engine) = generated(2_000, 5, profile);
        let mut hits = 0;
        for request in &w.requests {
            // First sight walks the road into the memo; the second is a hit.
            let _ = engine.prepare(request);
            let memoized = engine.prepare(request);
            let fresh = Prepared::new(request, engine.model());
            if let Prepared::Ready(d) = &memoized {
                hits += usize::from(d.index_keys(engine.compiled().id()).is_some());
            }
            let (a, b) = (
                engine.decide_prepared(&memoized),
                engine.decide_prepared(&fresh),
            );
            assert_eq!(
                a.candidates_examined(),
                b.candidates_examined(),
                "{profile}: {request:?}"
            );
            assert_eq!(a.to_decision(), b.to_decision(), "{profile}: {request:?}");
        }
        assert!(hits > w.requests.len() / 2, "{profile}: {hits} memo hits");
    }
}
