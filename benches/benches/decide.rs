//! `cargo bench -p egress-policy-benches`: for every workload profile and N = 100, 10 000,
//! 100 000 generated rules, YAML load and compile time, engine memory, `prepare`,
//! `prepare + decide_prepared` and `decide_prepared` latency (median, p99), the plain
//! `HashMap` host index baseline side by side, the longest candidate list one index
//! probe returns and the candidates a decision examines — printed as a table — then criterion's own measurements of the hot path (`prepare/view|request|detached/<profile>`
//! at 100 rules, `prepare_decide/<profile>/<rules>`).
//!
//! `EGRESS_BENCH_PROFILES=today,namespaces` and `EGRESS_BENCH_SIZES=100,10000` narrow the
//! table.

// A benchmark harness, not library code: a broken workload should stop it loudly.
#![allow(clippy::panic, clippy::indexing_slicing)]

use std::alloc::System;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion};
use egress_policy::compile::Prepared;
use egress_policy::workload::{generate_profile, Layout, Profile};
use egress_policy::{Engine, Loader};
use egress_policy_benches::{
    show, time_compiled, time_prepare, time_prepare_on, HostMapBaseline, Latency,
};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SIZES: [usize; 3] = [100, 10_000, 100_000];

struct Loaded {
    engine: Engine,
    requests: Vec<egress_policy::Request>,
    load_time: Duration,
    compile_time: Duration,
    engine_bytes: usize,
}

fn load(n: usize, profile: Profile) -> Loaded {
    let workload = generate_profile(n, 42, profile, Layout::Files);
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
    let start = Instant::now();
    let engine = Engine::from_model(model);
    let compile_time = start.elapsed();
    let all = whole.change();
    Loaded {
        engine,
        requests: workload.requests,
        load_time,
        compile_time,
        engine_bytes: all.bytes_allocated.saturating_sub(all.bytes_deallocated),
    }
}

fn baseline(engine: &Engine, requests: &[egress_policy::Request], decisions: usize) -> Latency {
    let map = HostMapBaseline::new(engine.model());
    let mut samples = Vec::with_capacity(decisions / 16 + 1);
    let mut done = 0;
    while done < decisions {
        for chunk in requests.chunks(16) {
            let start = Instant::now();
            for r in chunk {
                std::hint::black_box(map.allowed(std::hint::black_box(r)));
            }
            samples.push(start.elapsed() / u32::try_from(chunk.len()).unwrap_or(1));
            done += chunk.len();
        }
    }
    Latency::from_samples(samples)
}

fn env_list<T>(name: &str, default: &[T]) -> Vec<T>
where
    T: Clone + std::str::FromStr,
{
    match std::env::var(name) {
        Ok(text) => text
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect(),
        Err(_) => default.to_vec(),
    }
}

fn table() {
    let profiles = env_list("EGRESS_BENCH_PROFILES", &Profile::ALL);
    let sizes = env_list("EGRESS_BENCH_SIZES", &SIZES);
    println!();
    println!("| profile | rules | YAML load | compile | engine memory | prepare p50 | prepare+decide p50 | prepare+decide p99 | on a connection: prepare p50 | prepare+decide p50 / p99 | decide p50 | decide p99 | HashMap baseline p50 | longest posting | candidates p50 / max |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for profile in &profiles {
        for &n in &sizes {
            let loaded = load(n, *profile);
            let engine = &loaded.engine;
            let prepared: Vec<Prepared> =
                loaded.requests.iter().map(|r| engine.prepare(r)).collect();
            let decide = time_compiled(engine, &prepared, 200_000);
            let (prepare, both) = time_prepare(engine, &loaded.requests, 100_000);
            let (on, on_both) = time_prepare_on(engine, &loaded.requests, 100_000);
            let base = baseline(engine, &loaded.requests, 50_000);
            let examined = egress_policy::bench::candidates(engine, &prepared);
            println!(
                "| {profile} | {n} | {} | {} | {:.1} MB | {} | {} | {} | {} | {} / {} | {} | {} | {} | {} | {} / {} |",
                show(loaded.load_time),
                show(loaded.compile_time),
                loaded.engine_bytes as f64 / 1_048_576.0,
                show(prepare.p50),
                show(both.p50),
                show(both.p99),
                show(on.p50),
                show(on_both.p50),
                show(on_both.p99),
                show(decide.p50),
                show(decide.p99),
                show(base.p50),
                egress_policy::compile::Compiled::new(engine.model()).longest_posting(),
                examined.p50,
                examined.max,
            );
        }
    }
    println!();
}

fn criterion_decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("prepare_decide");
    for profile in [Profile::Today, Profile::Namespaces, Profile::Mixed] {
        for n in [100, 100_000] {
            let loaded = load(n, profile);
            let engine = &loaded.engine;
            let requests = &loaded.requests;
            group.bench_with_input(
                BenchmarkId::new(profile.name(), n),
                requests,
                |b, requests| {
                    let mut i = 0usize;
                    b.iter(|| {
                        i = (i + 1) % requests.len();
                        let prepared = engine.prepare(&requests[i]);
                        std::hint::black_box(engine.decide_prepared(&prepared).allowed())
                    })
                },
            );
            let map = HostMapBaseline::new(engine.model());
            group.bench_with_input(
                BenchmarkId::new(format!("{}-hashmap-baseline", profile.name()), n),
                requests,
                |b, requests| {
                    let mut i = 0usize;
                    b.iter(|| {
                        i = (i + 1) % requests.len();
                        std::hint::black_box(map.allowed(&requests[i]))
                    })
                },
            );
        }
    }
    group.finish();
}

/// `prepare` alone at 100 rules: through the borrowed view a proxy builds (headers as
/// pairs), through the owned `Request` (converted to the view for free), and detached from
/// both (`into_owned`, what a caller keeping prepared requests pays).
fn criterion_prepare(c: &mut Criterion) {
    let mut group = c.benchmark_group("prepare");
    for profile in [
        Profile::Today,
        Profile::Namespaces,
        Profile::Conditions,
        Profile::Mixed,
    ] {
        let loaded = load(100, profile);
        let engine = &loaded.engine;
        let requests = &loaded.requests;
        let pairs: Vec<Vec<(&str, &str)>> = requests
            .iter()
            .map(|r| {
                r.headers
                    .iter()
                    .flat_map(|(name, value)| match value {
                        egress_policy::request::HeaderValue::One(v) => {
                            vec![(name.as_str(), v.as_str())]
                        }
                        egress_policy::request::HeaderValue::Many(vs) => {
                            vs.iter().map(|v| (name.as_str(), v.as_str())).collect()
                        }
                    })
                    .collect()
            })
            .collect();
        let views: Vec<egress_policy::request::RequestRef> = requests
            .iter()
            .zip(&pairs)
            .map(|(r, p)| egress_policy::request::RequestRef {
                headers: egress_policy::request::Headers::Pairs(p),
                ..r.view()
            })
            .collect();
        for view in &views {
            std::hint::black_box(engine.prepare_ref(view));
        }
        group.bench_function(BenchmarkId::new("view", profile.name()), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) % views.len();
                std::hint::black_box(engine.prepare_ref(&views[i]));
            })
        });
        group.bench_function(BenchmarkId::new("request", profile.name()), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) % requests.len();
                std::hint::black_box(engine.prepare(&requests[i]));
            })
        });
        // On a connection: the views without their sender fields, each on its request's
        // connection (made beforehand, as a proxy makes one when a connection opens).
        let connections: Vec<egress_policy::Connection> =
            views.iter().map(egress_policy::Connection::new).collect();
        let own: Vec<egress_policy::request::RequestRef> = views
            .iter()
            .map(|v| egress_policy::request::RequestRef {
                principal: None,
                source_namespace: None,
                pod_labels: None,
                cluster: None,
                workload: None,
                ..*v
            })
            .collect();
        group.bench_function(
            BenchmarkId::new("view-on-connection", profile.name()),
            |b| {
                let mut i = 0usize;
                b.iter(|| {
                    i = (i + 1) % own.len();
                    std::hint::black_box(engine.prepare_on(&connections[i], &own[i]));
                })
            },
        );
        group.bench_function(BenchmarkId::new("detached", profile.name()), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) % requests.len();
                std::hint::black_box(engine.prepare(&requests[i]).into_owned());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, criterion_prepare, criterion_decide);

fn main() {
    table();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
