//! Policy tooling built on the engine: lint the pitfalls, run test files, ask who can reach
//! what, and measure the impact of a change.
//!
//! Every entry point is a plain function returning a `serde`-serialisable report, so the
//! CLI, the Python and the WebAssembly bindings can expose them without glue:
//!
//! * [`lint()`] / [`lint_paths`] — the traps of SEMANTICS.md §6 in loaded policies ([`Lint`]
//!   diagnostics with a [`LintCode`], located through the model's source map);
//! * [`run_test_file`] — YAML test files of requests and expected decisions ([`TestReport`]);
//! * [`reach_host`] / [`reach_identity`] — who may reach a host, which hosts an identity may
//!   reach ([`ReachReport`]);
//! * [`diff()`] — every class of requests whose decision changes between two policy sets
//!   ([`DiffReport`]).
//!
//! `reach` and `diff` enumerate the request space symbolically with a [`Partition`]: one
//! representative per class of requests the policies cannot tell apart, decided by the
//! engine.

pub mod diff;
pub mod inventory;
pub mod lint;
pub mod partition;
pub mod reach;
pub mod render;
pub mod replay;
pub mod suggest;
#[cfg(feature = "yaml")]
pub mod testfile;

pub use diff::{diff, Change, DiffOptions, DiffReport};
#[cfg(feature = "yaml")]
pub use lint::lint_paths;
pub use lint::{lint, Lint, LintCode, CODES};
pub use partition::{Partition, Point, ValueClass};
pub use reach::{
    reach_host, reach_identity, Access, DecisionSummary, ReachEntry, ReachOptions, ReachReport,
};
pub use replay::{replay_lines, replay_reader, Engines, LogFormat, LogReader, ReplayReport, Tally};
pub use suggest::{suggest, SuggestOptions, SuggestReport, Suggestion, Vendor};
#[cfg(feature = "yaml")]
pub use testfile::{
    run_test_file, run_test_in_memory, run_test_text, run_test_with, CaseResult, Mismatch,
    TestReport,
};
