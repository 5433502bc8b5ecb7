//! The `egress-policy` command: decide whether a mesh workload may send a request out of
//! the mesh, exactly as Istio, Tetrate TSB and Solo Gloo egress gateways decide.
//!
//! Subcommands:
//!
//! * `eval` — decide requests read as JSON lines, print one decision JSON per line;
//! * `check` — decide one request described by flags, print a human summary or JSON;
//! * `validate` — load policies and print every error and warning;
//! * `compile` — load policies once and write a compiled-policy bundle (JSON) for engines
//!   that only decide (`Engine::from_bundle_json`, the WASM bundle module);
//! * `demo` — run the example scenarios under `examples/policies` and print a table;
//! * `bench` — measure compile time and decide latency on given policies and requests, or
//!   write a generated workload (`--generate N DIR`);
//! * `lint` — report the pitfalls of egress authorization in the policies;
//! * `test` — run policy test files;
//! * `reach` — who may reach a host, or which hosts an identity may reach;
//! * `diff` — the request classes whose decision changes between two policy sets;
//! * `replay` — decide every request of access logs, or only what a change changes;
//! * `suggest` — the least-privilege policy that allows exactly the logged traffic.
//!
//! Exit codes: 0 success (or allowed, for `check`), 1 denied (`check`), 2 invalid input
//! (unloadable policies, bad request lines, bad flags).

mod args;
mod bench;
mod check;
mod compile;
mod demo;
mod diff;
mod error;
mod eval;
mod inventory;
mod lint;
mod load;
mod reach;
mod replay;
mod suggest;
mod test_cmd;
mod validate;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::error::Error;

/// Exit code for invalid input: policies that do not load, malformed request lines, bad flags.
pub const EXIT_INVALID: u8 = 2;

// See Cargo.toml: loading big policy sets is allocation-bound under glibc malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Compile(args) => compile::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Test(args) => test_cmd::run(&args),
        Command::Reach(args) => reach::run(&args),
        Command::Inventory(args) => inventory::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Suggest(args) => suggest::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            report(&error);
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// Prints an error to stderr: one compiler-style line per diagnostic for policy errors,
/// `error: …` otherwise. A closed stdout (`| head`) is not worth a message.
fn report(error: &Error) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    match error {
        Error::Policies(diagnostics) => {
            for diagnostic in diagnostics {
                let _ = writeln!(err, "{diagnostic}");
            }
            let _ = writeln!(err, "error: {error}");
        }
        Error::Write(source) if source.kind() == io::ErrorKind::BrokenPipe => {}
        other => {
            let _ = writeln!(err, "error: {other}");
        }
    }
}
