//! One call of the public decision path in a loop, for instruction counts:
//!
//! ```sh
//! cargo build --release -p egress-policy-benches --example calls
//! valgrind --tool=callgrind target/release/examples/calls today 100 prepare 100000
//! valgrind --tool=callgrind target/release/examples/calls today 100 prepare 1
//! ```
//!
//! The difference of the two totals over 99 999 is the instructions of one call (the
//! workload's generation, load and compile cancel out). Arguments: profile (as
//! `egress-policy bench --profile`), rules, mode (`prepare`, `decide` — `decide_prepared`
//! on requests prepared beforehand —, `both`, or `prepare-on` and `both-on`: `prepare_on`
//! the request's connection, made beforehand as a proxy makes one when a connection
//! opens), calls. Callgrind counts are deterministic,
//! so they compare across machines and machine states where wall-clock times do not.

use std::process::ExitCode;

use egress_policy::compile::Prepared;
use egress_policy::workload::{generate_profile, Layout, Profile};
use egress_policy::{Connection, Engine};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [profile, rules, mode, calls] = args.as_slice() else {
        eprintln!("usage: calls PROFILE RULES prepare|decide|both|prepare-on|both-on CALLS");
        return ExitCode::from(2);
    };
    let Some(profile) = Profile::ALL.into_iter().find(|p| p.to_string() == *profile) else {
        eprintln!("unknown profile `{profile}`");
        return ExitCode::from(2);
    };
    let (Ok(rules), Ok(calls)) = (rules.parse::<usize>(), calls.parse::<usize>()) else {
        eprintln!("RULES and CALLS are numbers");
        return ExitCode::from(2);
    };
    let workload = generate_profile(rules, 42, profile, Layout::Files);
    let engine =
        match Engine::from_files(workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str()))) {
            Ok(engine) => engine,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
    let requests = &workload.requests;
    if requests.is_empty() {
        eprintln!("the workload has no requests");
        return ExitCode::FAILURE;
    }
    let prepared: Vec<Prepared> = requests.iter().map(|r| engine.prepare(r)).collect();
    let connections: Vec<Connection> = requests
        .iter()
        .map(|r| Connection::new(&r.view()))
        .collect();
    // The mode is read once: a string match per call would be counted as the call's.
    #[derive(Clone, Copy)]
    enum Mode {
        Prepare,
        Decide,
        Both,
        PrepareOn,
        BothOn,
    }
    let run = match mode.as_str() {
        "prepare" => Mode::Prepare,
        "decide" => Mode::Decide,
        "both" => Mode::Both,
        "prepare-on" => Mode::PrepareOn,
        "both-on" => Mode::BothOn,
        other => {
            eprintln!("unknown mode `{other}`");
            return ExitCode::from(2);
        }
    };
    let mut allowed = 0usize;
    for ((request, ready), connection) in requests
        .iter()
        .zip(&prepared)
        .zip(&connections)
        .cycle()
        .take(calls)
    {
        let hit = match run {
            Mode::Prepare => matches!(engine.prepare(request), Prepared::Ready(_)),
            Mode::Decide => engine.decide_prepared(ready).allowed(),
            Mode::Both => engine.decide_prepared(&engine.prepare(request)).allowed(),
            Mode::PrepareOn => matches!(
                engine.prepare_on(connection, &request.view()),
                Prepared::Ready(_)
            ),
            Mode::BothOn => engine
                .decide_prepared(&engine.prepare_on(connection, &request.view()))
                .allowed(),
        };
        allowed += usize::from(hit);
    }
    println!("{calls} calls of {mode}: {allowed} allowed or ready");
    ExitCode::SUCCESS
}
