//! `cargo bench -p egress-policy-benches`: compile time, engine memory and decide latency
//! (median, p99) of the compiled engine and the reference evaluator at N = 10 … 100 000
//! generated rules, printed as a table, then criterion's own measurements of the hot path.

// A benchmark harness, not library code: a broken workload should stop it loudly.
#![allow(clippy::panic, clippy::indexing_slicing)]

use std::alloc::System;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion};
use egress_policy::compile::Prepared;
use egress_policy::workload::generate;
use egress_policy::{Engine, Loader};
use egress_policy_benches::{show, time_compiled, time_reference};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SIZES: [usize; 5] = [10, 100, 1_000, 10_000, 100_000];

fn load(
    n: usize,
) -> (
    Engine,
    Vec<egress_policy::Request>,
    std::time::Duration,
    std::time::Duration,
    usize,
    usize,
) {
    let workload = generate(n, 42);
    let whole = Region::new(GLOBAL);
    let start = Instant::now();
    let mut loader = Loader::new();
    for (name, text) in &workload.files {
        loader.add_str(name, text);
    }
    let model = loader
        .load()
        .unwrap_or_else(|e| panic!("generated workload must load: {e}"));
    let load_time = start.elapsed();
    let region = Region::new(GLOBAL);
    let start = Instant::now();
    let engine = Engine::from_model(model);
    let compile_time = start.elapsed();
    let stats = region.change();
    let compiled_bytes = stats
        .bytes_allocated
        .saturating_sub(stats.bytes_deallocated);
    let all = whole.change();
    let engine_bytes = all.bytes_allocated.saturating_sub(all.bytes_deallocated);
    (
        engine,
        workload.requests,
        load_time,
        compile_time,
        compiled_bytes,
        engine_bytes,
    )
}

fn table() {
    println!();
    println!("| rules | YAML load | compile | index memory | engine memory | decide p50 | decide p99 | reference p50 | reference p99 | speed-up (p50) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in SIZES {
        let (engine, requests, load_time, compile_time, bytes, engine_bytes) = load(n);
        let prepared: Vec<Prepared> = requests.iter().map(|r| engine.prepare(r)).collect();
        let compiled = time_compiled(&engine, &prepared, 200_000);
        let reference_samples = (2_000_000 / n).clamp(200, 20_000);
        let reference = time_reference(&engine, &requests, reference_samples);
        println!(
            "| {n} | {} | {} | {:.1} MB | {:.1} MB | {} | {} | {} | {} | {:.0}× |",
            show(load_time),
            show(compile_time),
            bytes as f64 / 1_048_576.0,
            engine_bytes as f64 / 1_048_576.0,
            show(compiled.p50),
            show(compiled.p99),
            show(reference.p50),
            show(reference.p99),
            reference.p50.as_nanos() as f64 / compiled.p50.as_nanos().max(1) as f64,
        );
    }
    println!();
}

fn criterion_decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide_prepared");
    for n in [100, 10_000, 100_000] {
        let (engine, requests, ..) = load(n);
        let prepared: Vec<Prepared> = requests.iter().map(|r| engine.prepare(r)).collect();
        group.bench_with_input(BenchmarkId::from_parameter(n), &prepared, |b, prepared| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) % prepared.len();
                std::hint::black_box(engine.decide_prepared(&prepared[i]).allowed())
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("decide_end_to_end");
    let (engine, requests, ..) = load(10_000);
    group.bench_function("prepare+decide+to_decision/10000", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % requests.len();
            std::hint::black_box(engine.decide(&requests[i]))
        })
    });
    group.finish();
}

criterion_group!(benches, criterion_decide);

fn main() {
    table();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
