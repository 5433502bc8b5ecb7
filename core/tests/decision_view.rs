//! `Verdict::view` (the borrowed decision the bindings serialize) writes exactly the JSON
//! of `Verdict::to_decision`, on every shared vector (routes with TLS origination, direct
//! responses, caveats, dry runs, malformed and unregistered requests) and on every
//! generated workload profile.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use egress_policy::workload::{generate_profile, Layout, Profile};
use egress_policy::{Engine, Request};

mod common;
use common::root;

/// The view's JSON equals the owned decision's, and the owned decision it makes is
/// the verdict's.
fn same_json(engine: &Engine, request: &Request, what: &str) -> bool {
    let prepared = engine.prepare(request);
    let verdict = engine.decide_prepared(&prepared);
    let view = verdict.view();
    let owned = verdict.to_decision();
    assert_eq!(view.to_decision(), owned, "{what}");
    assert_eq!(
        serde_json::to_string(&view).unwrap(),
        serde_json::to_string(&owned).unwrap(),
        "{what}"
    );
    owned.route.is_some() && !owned.hops.is_empty()
}

#[test]
fn the_view_serializes_as_the_decision_on_every_vector() {
    let mut cases = 0;
    let mut kinds = std::collections::BTreeSet::new();
    let dir = root().join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let (vector, loader) = common::vector_loader(&path, false);
        let Ok(model) = loader.load() else { continue };
        let engine = Engine::from_model(model);
        for case in vector["cases"].as_array().unwrap() {
            let Ok(request) = serde_json::from_value::<Request>(case["request"].clone()) else {
                continue;
            };
            let what = format!("{}: {}", path.display(), case["name"]);
            same_json(&engine, &request, &what);
            let decision = engine.decide(&request);
            kinds.insert(format!("{:?}", decision.reason));
            if decision.route.as_ref().is_some_and(|r| r.tls.is_some()) {
                kinds.insert("tls".into());
            }
            if decision.dry_run.is_some() {
                kinds.insert("dry_run".into());
            }
            if !decision.caveats.is_empty() {
                kinds.insert("caveats".into());
            }
            cases += 1;
        }
    }
    assert!(cases > 100, "{cases} cases");
    // Direct responses are pinned by `core/tests/road.rs`, whose every decision is also
    // checked against its view.
    for kind in [
        "tls",
        "caveats",
        "dry_run",
        "NotInRegistry",
        "MalformedRequest",
    ] {
        assert!(
            kinds.contains(kind),
            "no vector case with {kind}: {kinds:?}"
        );
    }
}

#[test]
fn the_view_serializes_as_the_decision_on_every_profile() {
    for profile in Profile::ALL {
        let w = generate_profile(1_000, 7, profile, Layout::Files);
        let engine = Engine::from_files(w.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .unwrap_or_else(|e| panic!("{e}"));
        let routed = w
            .requests
            .iter()
            .filter(|r| same_json(&engine, r, &format!("{profile}: {r:?}")))
            .count();
        assert!(routed > 0, "{profile}: no allowed request with a route");
    }
}
