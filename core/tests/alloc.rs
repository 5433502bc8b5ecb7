//! The hot path allocates nothing: `Engine::decide_prepared` is measured with a counting
//! global allocator over a generated workload (hits and misses), after one warm-up pass
//! (regex caches fill lazily on first use).

use std::alloc::System;

use egress_policy::workload::generate;
use egress_policy::Engine;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn decide_prepared_does_not_allocate() {
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
