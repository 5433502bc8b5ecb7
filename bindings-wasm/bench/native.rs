//! The native side of `bindings-wasm/bench/bench.mjs`: the same work as the npm package's
//! calls, in native Rust, timed on the same policies and requests.
//!
//! ```text
//! cargo run --release -p egress-policy-wasm --example native-bench -- POLICY_DIR REQUESTS_JSONL [ROUNDS]
//! ```
//!
//! Times are on-CPU time of this thread (`/proc/self/schedstat`, so that time spent waiting
//! for a core on a busy machine does not count), or wall-clock time where that file is
//! missing. Each path repeats its pass over the requests until [`MIN_NS`] have passed: some
//! kernels advance that counter in scheduler ticks (4 ms here), and one pass of the hot path
//! over 10 000 requests takes about one tick. Prints one JSON object: for each path the best (lowest) mean nanoseconds per
//! decision over the rounds (`prepared`: `decide_prepared` on prepared requests, the hot path of
//! `egress-policy bench`; `request`: `Engine::decide` on parsed requests; `json`: request
//! JSON text → `prepare` → `decide_prepared` → the verdict's borrowed view → decision JSON
//! text, what `engine.check` does inside wasm).

use std::time::Instant;

use egress_policy::{Engine, Request};

/// A clock: on-CPU nanoseconds of the main thread where Linux tells them, else wall time.
struct Clock {
    start: Instant,
}

impl Clock {
    fn cpu() -> Option<u64> {
        let text = std::fs::read_to_string("/proc/self/schedstat").ok()?;
        text.split_whitespace().next()?.parse().ok()
    }

    fn source() -> &'static str {
        if Clock::cpu().is_some() {
            "cpu"
        } else {
            "wall"
        }
    }

    fn now(&self) -> u64 {
        Clock::cpu()
            .unwrap_or_else(|| u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

/// The least time one measurement runs: long enough that a 4 ms tick is within 2 % of it.
const MIN_NS: u64 = 250_000_000;

/// Mean nanoseconds per decision of `pass` (one pass over the requests, returning how many
/// it decided), repeated until [`MIN_NS`] have passed on `clock`.
fn per_decision(
    clock: &Clock,
    mut pass: impl FnMut() -> Result<usize, Box<dyn std::error::Error>>,
) -> Result<f64, Box<dyn std::error::Error>> {
    let start = clock.now();
    let mut decisions = 0usize;
    loop {
        decisions += pass()?;
        let elapsed = clock.now().saturating_sub(start);
        if elapsed >= MIN_NS {
            return Ok(elapsed as f64 / decisions.max(1) as f64);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(requests)) = (args.get(1), args.get(2)) else {
        return Err("usage: native-bench POLICY_DIR REQUESTS_JSONL [ROUNDS]".into());
    };
    let rounds: usize = args.get(3).map(|r| r.parse()).transpose()?.unwrap_or(5);
    let started = Instant::now();
    let engine = Engine::from_paths(&[dir])?;
    let load_ns = started.elapsed().as_nanos();
    let lines: Vec<String> = std::fs::read_to_string(requests)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let parsed: Vec<Request> = lines
        .iter()
        .map(|l| serde_json::from_str(l))
        .collect::<Result<_, _>>()?;
    let prepared: Vec<_> = parsed.iter().map(|r| engine.prepare(r)).collect();

    // Warm-up, as `egress-policy bench` does: fills the lazily built regex caches.
    for p in &prepared {
        std::hint::black_box(engine.decide_prepared(p).allowed());
    }
    let clock = Clock {
        start: Instant::now(),
    };
    let mut best = [f64::MAX; 3];
    let mut allowed = 0usize;
    for _ in 0..rounds {
        best[0] = best[0].min(per_decision(&clock, || {
            allowed = prepared
                .iter()
                .filter(|p| engine.decide_prepared(p).allowed())
                .count();
            Ok(prepared.len())
        })?);
        best[1] = best[1].min(per_decision(&clock, || {
            let count = parsed.iter().filter(|r| engine.decide(r).allowed).count();
            assert_eq!(count, allowed, "decide and decide_prepared agree");
            Ok(parsed.len())
        })?);
        best[2] = best[2].min(per_decision(&clock, || {
            let mut bytes = 0usize;
            for line in &lines {
                let request: Request = serde_json::from_str(line)?;
                let prepared = engine.prepare(&request);
                let verdict = engine.decide_prepared(&prepared);
                bytes += serde_json::to_string(&verdict.view())?.len();
            }
            assert!(bytes > 0);
            Ok(lines.len())
        })?);
    }
    println!(
        "{{\"clock\": \"{}\", \"requests\": {}, \"rules\": {}, \"allowed\": {allowed}, \"load_ns\": {load_ns}, \"prepared_ns\": {:.1}, \"request_ns\": {:.1}, \"json_ns\": {:.1}}}",
        Clock::source(),
        lines.len(),
        engine.rule_count(),
        best[0],
        best[1],
        best[2]
    );
    Ok(())
}
