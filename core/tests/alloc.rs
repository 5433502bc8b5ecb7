//! The hot path allocates nothing: `Engine::decide_prepared` is measured with a counting
//! global allocator over a generated workload (hits and misses), after one warm-up pass
//! (regex caches fill lazily on first use).

use std::alloc::System;

use egress_policy::workload::generate;
use egress_policy::Engine;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The counter is process-wide: the tests take turns, so that one's setup is not counted
/// in another's region.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn decide_prepared_does_not_allocate() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let workload = generate(2_000, 11);
    let engine =
        Engine::from_files(workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap();
    let prepared: Vec<_> = workload
        .requests
        .iter()
        .map(|r| engine.prepare(r))
        .collect();
    let mut allowed = 0usize;
    for p in &prepared {
        allowed += usize::from(engine.decide_prepared(p).allowed());
    }
    let region = Region::new(GLOBAL);
    let mut allowed_again = 0usize;
    for p in &prepared {
        let verdict = engine.decide_prepared(p);
        allowed_again += usize::from(verdict.allowed());
        std::hint::black_box(verdict.route());
    }
    let stats = region.change();
    // The counter itself works: the owned decision does allocate.
    let control = Region::new(GLOBAL);
    std::hint::black_box(engine.decide(&workload.requests[0]));
    assert!(control.change().allocations > 0);

    assert_eq!(allowed, allowed_again);
    assert!(
        allowed > 0 && allowed < prepared.len(),
        "the workload must mix allows and denials"
    );
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "decide_prepared allocated: {stats:?}"
    );
}

/// Whether normalisation leaves the request's text as it is: a lower-case host and a path
/// with nothing to decode, no dot segment, no repeated slash, no backslash.
fn plain(request: &egress_policy::Request) -> bool {
    let host = request.host.as_deref().unwrap_or_default();
    let path = request.path.as_deref().unwrap_or("/");
    !host.bytes().any(|b| b.is_ascii_uppercase())
        && !path.bytes().any(|b| matches!(b, b'%' | b'\\'))
        && !path.contains("/.")
        && !path.contains("//")
        && request.url.is_none()
}

/// `prepare_ref` on the second sight of a road: a plain request is digested without any
/// allocation (its text, the road, the route and the peer URI are borrowed), on every
/// profile; headers are folded (one vector) only where a rule reads them. An upper-case
/// host is lower-cased on its first sight only: a memo hit lends the lower-cased host and
/// `:authority` the first digest made.
#[test]
fn prepare_ref_on_a_memo_hit_allocates_nothing_for_a_plain_request() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    use egress_policy::request::RequestRef;
    use egress_policy::workload::{generate_profile, Layout, Profile};

    for profile in Profile::ALL {
        let workload = generate_profile(500, 3, profile, Layout::Files);
        let engine =
            Engine::from_files(workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .unwrap();
        let plain_requests: Vec<_> = workload.requests.iter().filter(|r| plain(r)).collect();
        assert!(
            plain_requests.len() * 2 > workload.requests.len(),
            "{profile}"
        );
        let views: Vec<RequestRef> = plain_requests.iter().map(|r| r.view()).collect();
        // First sight: walks and memoizes every road.
        let mut allowed = 0usize;
        for view in &views {
            allowed += usize::from(engine.decide_prepared(&engine.prepare_ref(view)).allowed());
        }
        let region = Region::new(GLOBAL);
        let mut allowed_again = 0usize;
        let mut with_headers = 0usize;
        for view in &views {
            let prepared = engine.prepare_ref(view);
            allowed_again += usize::from(engine.decide_prepared(&prepared).allowed());
            with_headers += usize::from(!view.headers.is_empty());
        }
        let stats = region.change();
        assert_eq!(allowed, allowed_again, "{profile}");
        // Only the `when` profiles read headers, and then one folded vector per request
        // that carries any.
        let reads_headers = engine
            .model()
            .policies
            .iter()
            .flat_map(|p| &p.rules)
            .flat_map(|r| &r.when)
            .any(|c| matches!(c, egress_policy::model::Condition::RequestHeader { .. }));
        assert_eq!(
            reads_headers,
            profile == Profile::Conditions || profile == Profile::Mixed
        );
        let expected = if reads_headers { with_headers } else { 0 };
        assert_eq!(
            (stats.allocations, stats.reallocations),
            (expected, 0),
            "{profile}: prepare_ref + decide_prepared allocated: {stats:?}"
        );
    }

    // An upper-case host: lower-cased (host and authority) on the first sight, lent
    // by the memo after.
    let workload = generate(200, 5);
    let engine =
        Engine::from_files(workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap();
    let mut request = workload.requests[0].clone();
    request.host = request.host.map(|h| h.to_ascii_uppercase());
    let first = Region::new(GLOBAL);
    std::hint::black_box(engine.prepare(&request));
    assert!(first.change().allocations >= 2);
    let region = Region::new(GLOBAL);
    std::hint::black_box(engine.prepare(&request));
    assert_eq!(region.change().allocations, 0);
}
