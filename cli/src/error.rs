//! The command's error type: everything that makes it exit with status 2.

use std::io;

use egress_policy::Diagnostic;

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policies did not load; every diagnostic (errors and warnings) is kept so that
    /// each can be printed as a `file:line:col: error: …` line.
    #[error("policies could not be loaded: {} error(s)", count_errors(.0))]
    Policies(Vec<Diagnostic>),
    /// An input file (requests, demo cases) could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The path that failed.
        path: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Standard output could not be written.
    #[error("cannot write output: {0}")]
    Write(#[source] io::Error),
    /// A `--workload` value is neither `NS/NAME` nor `NS/key=value,…`.
    #[error("invalid --workload `{value}`: {reason}")]
    Workload {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `--workload` names a place where no proxy is known to run.
    #[error("--workload `{value}`: {message} (pass --allow-unknown-workload to decide anyway)")]
    UnknownWorkload {
        /// The value as given.
        value: String,
        /// The caveat's text.
        message: String,
    },
    /// A `--header` value is not `name: value`.
    #[error("invalid --header `{0}`: expected `name: value`")]
    Header(String),
    /// A `reach --host` value is not an authority.
    #[error("invalid --host `{0}`: expected `host` or `host:port`, as clients send it")]
    Host(String),
    /// A `--source-label` value is not `key=value`.
    #[error("invalid --source-label `{0}`: expected `key=value`")]
    Label(String),
    /// A line of a demo file is not a labelled request.
    #[error("{path}:{line}: invalid demo case: {message}")]
    Demo {
        /// The demo file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The demo directory holds no scenario.
    #[error("{0}: no scenario directory with a `demo.jsonl` file")]
    NoScenarios(String),
    /// A file could not be written (`bench --generate`).
    #[error("{path}: cannot write: {source}")]
    WriteFile {
        /// The path that failed.
        path: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A line of a requests file is not valid request JSON (`bench`).
    #[error("{path}:{line}: invalid request JSON: {message}")]
    BadRequest {
        /// The requests file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A requests file holds no request (`bench`).
    #[error("{0}: no requests")]
    NoRequests(String),
    /// The compiled engine and the reference evaluator disagreed (`bench --reference`).
    #[error("the compiled engine disagrees with the reference evaluator on {disagree} of {requests} request(s)")]
    Disagreement {
        /// Requests decided differently.
        disagree: usize,
        /// Requests compared.
        requests: usize,
    },
    /// Some request lines of `eval` were not valid request JSON (each was reported in place).
    #[error("{0} request line(s) were not valid request JSON")]
    BadRequests(usize),
}

fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// Shorthand for results of this command.
pub type Result<T, E = Error> = std::result::Result<T, E>;
