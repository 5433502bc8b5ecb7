//! `egress-policy test`: run policy test files (YAML: policies plus requests with the
//! decision each must get; format in `egress_policy::tools::testfile`).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use egress_policy::tools::{run_test_file, TestReport};

use crate::error::{Error, Result};
use crate::EXIT_INVALID;
use egress_policy::tools::render;

/// Exit status when a case fails.
const EXIT_FAILED: u8 = 1;

/// Arguments of `test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files (YAML).
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Print one JSON array of test reports instead of PASS/FAIL lines.
    #[arg(long = "json")]
    pub json: bool,
}

/// Runs `test`: exit status 0 when every case passes, 1 when a case fails, 2 when a test
/// file or its policies do not load.
pub fn run(args: &TestArgs) -> Result<ExitCode> {
    let reports: Vec<TestReport> = args.files.iter().map(run_test_file).collect();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let json = serde_json::to_string_pretty(&reports).unwrap_or_default();
        writeln!(out, "{json}").map_err(Error::Write)?;
    } else {
        writeln!(out, "{}", render::test_reports(&reports)).map_err(Error::Write)?;
    }
    out.flush().map_err(Error::Write)?;
    let invalid = reports.iter().any(|r| !r.errors.is_empty());
    let failed = reports.iter().any(|r| r.failed > 0);
    Ok(if invalid {
        ExitCode::from(EXIT_INVALID)
    } else if failed {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
