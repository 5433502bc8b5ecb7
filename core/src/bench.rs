//! Measurement helpers shared by the benchmarks (`cargo bench -p egress-policy-benches`)
//! and `egress-policy bench`: per-decision latency percentiles of the compiled hot path and
//! of the reference evaluator, on generated or user-supplied workloads.
//!
//! ```
//! use egress_policy::bench::{show, time_compiled, time_reference};
//! use egress_policy::compile::Prepared;
//! use egress_policy::workload::generate;
//! use egress_policy::Engine;
//!
//! let workload = generate(100, 42);
//! let engine = Engine::from_files(workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))?;
//! let prepared: Vec<Prepared> = workload.requests.iter().map(|r| engine.prepare(r)).collect();
//! let compiled = time_compiled(&engine, &prepared, 2_000);
//! let reference = time_reference(&engine, &workload.requests, 200);
//! assert!(compiled.samples > 0 && reference.samples == 200);
//! println!("decide p50 {} (reference {})", show(compiled.p50), show(reference.p50));
//! # Ok::<(), egress_policy::Error>(())
//! ```
//!
//! The timing functions exist on every target with a clock: they are compiled out on
//! `wasm32-unknown-unknown`, where `std::time::Instant::now` panics. [`Latency`] and
//! [`show`] exist everywhere.

use std::time::Duration;

/// Latency percentiles of one series of decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Mean.
    pub mean: Duration,
    /// Timed samples (one per decision, or one per batch of decisions for
    /// [`time_compiled`]).
    pub samples: usize,
}

impl Latency {
    /// Summarises a series of per-decision durations (in any order; empty gives zeros).
    pub fn from_samples(mut samples: Vec<Duration>) -> Latency {
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

    /// Decisions per second at the mean latency, on one core (0 when nothing was timed).
    pub fn per_second(&self) -> f64 {
        let nanos = self.mean.as_nanos();
        if nanos == 0 {
            0.0
        } else {
            1e9 / nanos as f64
        }
    }
}

/// Times at least `decisions` decisions of the compiled hot path
/// ([`Engine::decide_prepared`](crate::Engine::decide_prepared)) cycling over `prepared`,
/// one timer per batch of 16 decisions so the clock's own cost stays out of the numbers.
/// One untimed warm-up pass runs first. Returns zeros when `prepared` is empty.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn time_compiled(
    engine: &crate::Engine,
    prepared: &[crate::compile::Prepared],
    decisions: usize,
) -> Latency {
    use std::time::Instant;

    const BATCH: usize = 16;
    if prepared.is_empty() {
        return Latency::default();
    }
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

/// Times [`Engine::prepare`](crate::Engine::prepare) alone and `prepare` followed by
/// [`Engine::decide_prepared`](crate::Engine::decide_prepared) — what a proxy pays per
/// request — cycling over `requests`, one timer per batch of 16. One untimed warm-up pass
/// runs first (it fills the engine's per-route caches, as live traffic does). Returns
/// `(prepare, prepare + decide)`; zeros when `requests` is empty.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn time_prepare(
    engine: &crate::Engine,
    requests: &[crate::Request],
    decisions: usize,
) -> (Latency, Latency) {
    time_pairs(
        requests,
        decisions,
        |r| {
            std::hint::black_box(engine.prepare(std::hint::black_box(r)));
        },
        |r| {
            let prepared = engine.prepare(std::hint::black_box(r));
            std::hint::black_box(engine.decide_prepared(&prepared).allowed());
        },
    )
}

/// [`time_prepare`] for requests on connections: each request's
/// [`Connection`](crate::Connection) (its sender fields) is made beforehand, as a proxy
/// makes one when a connection opens, and every call is
/// [`Engine::prepare_on`](crate::Engine::prepare_on) of the request's borrowed view.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn time_prepare_on(
    engine: &crate::Engine,
    requests: &[crate::Request],
    decisions: usize,
) -> (Latency, Latency) {
    let on: Vec<(crate::Connection, &crate::Request)> = requests
        .iter()
        .map(|r| (crate::Connection::new(&r.view()), r))
        .collect();
    time_pairs(
        &on,
        decisions,
        |(c, r)| {
            std::hint::black_box(engine.prepare_on(c, &std::hint::black_box(*r).view()));
        },
        |(c, r)| {
            let prepared = engine.prepare_on(c, &std::hint::black_box(*r).view());
            std::hint::black_box(engine.decide_prepared(&prepared).allowed());
        },
    )
}

/// Times `prepare` and `both` over `items` (see [`time_prepare`]).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn time_pairs<T>(
    items: &[T],
    decisions: usize,
    prepare: impl Fn(&T),
    both: impl Fn(&T),
) -> (Latency, Latency) {
    use std::time::Instant;

    const BATCH: usize = 16;
    if items.is_empty() {
        return (Latency::default(), Latency::default());
    }
    items.iter().for_each(&both);
    let mut prepared = Vec::with_capacity(decisions / BATCH + 1);
    let mut decided = Vec::with_capacity(decisions / BATCH + 1);
    let mut done = 0;
    while done < decisions {
        for chunk in items.chunks(BATCH) {
            let per = |d: Duration| d / u32::try_from(chunk.len()).unwrap_or(1);
            let start = Instant::now();
            chunk.iter().for_each(&prepare);
            prepared.push(per(start.elapsed()));
            let start = Instant::now();
            chunk.iter().for_each(&both);
            decided.push(per(start.elapsed()));
            done += chunk.len();
            if done >= decisions {
                break;
            }
        }
    }
    (
        Latency::from_samples(prepared),
        Latency::from_samples(decided),
    )
}

/// How many candidate rules the index handed to the matcher per decision
/// ([`Verdict::candidates_examined`](crate::compile::Verdict::candidates_examined)),
/// over the requests that reached authorization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Candidates {
    /// Decisions that ran authorization (the others examine nothing).
    pub decisions: usize,
    /// Median.
    pub p50: usize,
    /// 99th percentile.
    pub p99: usize,
    /// Largest.
    pub max: usize,
    /// Mean, rounded up.
    pub mean: usize,
}

/// Counts the candidates every prepared request examines (see [`Candidates`]).
pub fn candidates(engine: &crate::Engine, prepared: &[crate::compile::Prepared]) -> Candidates {
    let mut counts: Vec<usize> = prepared
        .iter()
        .map(|p| engine.decide_prepared(p))
        .filter(|v| v.authorized())
        .map(|v| v.candidates_examined())
        .collect();
    counts.sort_unstable();
    let at = |q: f64| {
        let index = ((counts.len() as f64 - 1.0) * q).round() as usize;
        counts.get(index).copied().unwrap_or_default()
    };
    let total: usize = counts.iter().sum();
    Candidates {
        decisions: counts.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: counts.last().copied().unwrap_or_default(),
        mean: total.div_ceil(counts.len().max(1)),
    }
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`), when known.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Times `decisions` decisions of the reference evaluator
/// ([`Engine::decide_reference`](crate::Engine::decide_reference)) cycling over
/// `requests`, one timer per decision. Returns zeros when `requests` is empty.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn time_reference(
    engine: &crate::Engine,
    requests: &[crate::Request],
    decisions: usize,
) -> Latency {
    use std::time::Instant;

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

/// Formats a duration in ns, µs or ms (`812 ns`, `14.2 µs`, `31.0 ms`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_series() {
        let samples = (1..=100).map(Duration::from_nanos).collect();
        let latency = Latency::from_samples(samples);
        assert_eq!(latency.p50, Duration::from_nanos(51));
        assert_eq!(latency.p99, Duration::from_nanos(99));
        assert_eq!(latency.mean, Duration::from_nanos(50));
        assert_eq!(latency.samples, 100);
        assert_eq!(Latency::from_samples(Vec::new()), Latency::default());
        assert_eq!(Latency::default().per_second(), 0.0);
    }

    #[test]
    fn prepare_timing_covers_every_request_kind() {
        let workload = crate::workload::generate(50, 9);
        let engine =
            crate::Engine::from_files(workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .unwrap_or_else(|e| panic!("{e}"));
        let (prepare, both) = time_prepare(&engine, &workload.requests, 320);
        assert_eq!(prepare.samples, 20);
        let (on, on_both) = time_prepare_on(&engine, &workload.requests, 320);
        assert_eq!((on.samples, on_both.samples), (20, 20));
        assert!(on.p50 > Duration::ZERO && on_both.p50 > Duration::ZERO);
        assert_eq!(both.samples, 20);
        assert!(prepare.p50 > Duration::ZERO && both.p50 >= Duration::ZERO);
        assert_eq!(time_prepare(&engine, &[], 10).0, Latency::default());
        #[cfg(target_os = "linux")]
        assert!(peak_rss().is_some_and(|b| b > 1 << 20));
    }

    #[test]
    fn show_picks_a_unit() {
        assert_eq!(show(Duration::from_nanos(812)), "812 ns");
        assert_eq!(show(Duration::from_nanos(14_200)), "14.2 µs");
        assert_eq!(show(Duration::from_millis(31)), "31.0 ms");
    }
}
