//! `egress-policy lint`: report the pitfalls of egress authorization in loaded policies.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use egress_policy::tools::lint;

use crate::args::PolicyArgs;
use crate::error::{Error, Result};
use crate::load;

/// Exit status when the policies have findings.
const EXIT_FINDINGS: u8 = 1;

/// Output format of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `file:line:col: warning: … [code]` lines with a `help:` line each, then a summary.
    Human,
    /// One JSON array of findings `{code, severity, file, line, column, resource, field,
    /// message, help}`.
    Json,
}

/// Arguments of `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// The policies.
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Runs `lint`: exit status 0 without findings, 1 with findings, 2 when the policies do not
/// load.
pub fn run(args: &LintArgs) -> Result<ExitCode> {
    let model = load::model(&args.policies.policy).map_err(Error::Policies)?;
    // Located at the offending value through the model's source map: nothing is read twice.
    let findings = lint(&model);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&findings).unwrap_or_default();
            writeln!(out, "{json}").map_err(Error::Write)?;
        }
        Format::Human => {
            for finding in &findings {
                writeln!(out, "{finding}").map_err(Error::Write)?;
                if let Some(help) = &finding.help {
                    writeln!(out, "  help: {help}").map_err(Error::Write)?;
                }
            }
            let files = args.policies.policy.len();
            match findings.len() {
                0 => writeln!(out, "no findings in {files} path(s)"),
                n => writeln!(out, "{n} finding(s)"),
            }
            .map_err(Error::Write)?;
        }
    }
    out.flush().map_err(Error::Write)?;
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FINDINGS)
    })
}
