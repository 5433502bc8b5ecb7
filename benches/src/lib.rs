//! Measurement helpers shared by the benchmarks and `egress-policy bench`: per-decision
//! latency percentiles on generated or user-supplied workloads.
//!
//! The helpers live in the core ([`egress_policy::bench`]) so that the CLI can use them
//! too; this crate re-exports them for the criterion benchmarks.

pub use egress_policy::bench::{show, time_compiled, time_reference, Latency};
