//! Measurement helpers shared by the benchmarks and `egress-policy bench`: per-decision
//! latency percentiles and engine memory, on generated or user-supplied workloads.

use std::time::{Duration, Instant};

use egress_policy::compile::Prepared;
use egress_policy::{Engine, Request};

/// Latency percentiles of one series of decisions.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Mean.
    pub mean: Duration,
    /// Decisions timed.
    pub samples: usize,
}

impl Latency {
    fn from_samples(mut samples: Vec<Duration>) -> Latency {
        samples.sort_unstable();
        let at = |q: f64| {
            let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples.get(index).copied().unwrap_or_default()
        };
        let total: Duration = samples.iter().sum();
        Latency {
            p50: at(0.50),
            p99: at(0.99),
            mean: total / u32::try_from(samples.len().max(1)).unwrap_or(u32::MAX),
            samples: samples.len(),
        }
    }
}

/// Times `rounds` passes of the compiled hot path over prepared requests, one timer per
/// batch of 16 decisions so the clock's own cost stays out of the numbers.
pub fn time_compiled(engine: &Engine, prepared: &[Prepared], decisions: usize) -> Latency {
    const BATCH: usize = 16;
    let mut samples = Vec::with_capacity(decisions / BATCH + 1);
    let mut done = 0;
    // Warm-up: fills lazily built regex caches.
    for p in prepared {
        std::hint::black_box(engine.decide_prepared(p).allowed());
    }
    while done < decisions {
        for chunk in prepared.chunks(BATCH) {
            let start = Instant::now();
            for p in chunk {
                std::hint::black_box(engine.decide_prepared(std::hint::black_box(p)).allowed());
            }
            let per = start.elapsed() / u32::try_from(chunk.len()).unwrap_or(1);
            samples.push(per);
            done += chunk.len();
            if done >= decisions {
                break;
            }
        }
    }
    Latency::from_samples(samples)
}

/// Times the reference evaluator, one request at a time.
pub fn time_reference(engine: &Engine, requests: &[Request], decisions: usize) -> Latency {
    let samples = requests
        .iter()
        .cycle()
        .take(decisions)
        .map(|r| {
            let start = Instant::now();
            std::hint::black_box(engine.decide_reference(std::hint::black_box(r)));
            start.elapsed()
        })
        .collect();
    Latency::from_samples(samples)
}

/// Formats a duration in ns or µs.
pub fn show(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 10_000 {
        format!("{ns} ns")
    } else if ns < 10_000_000 {
        format!("{:.1} µs", ns as f64 / 1_000.0)
    } else {
        format!("{:.1} ms", ns as f64 / 1_000_000.0)
    }
}
