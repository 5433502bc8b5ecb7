//! `egress-policy suggest`: from observed traffic, the smallest policy set that allows
//! exactly it, plus REGISTRY_ONLY (generalization rules: `egress_policy::tools::suggest`).

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use egress_policy::tools::suggest::{suggest, Observations, SuggestOptions, Vendor};

use crate::error::Error;
use crate::load;
use crate::replay::{finish, open, reader, Failure, LogArgs, Result};

/// Arguments of `suggest`.
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// The logs.
    #[command(flatten)]
    pub logs: LogArgs,
    /// The product whose resources are written.
    #[arg(long = "vendor", value_name = "VENDOR", default_value = "istio")]
    pub vendor: String,
    /// Existing policies: traffic they already allow is left out of the suggestion.
    #[arg(short = 'p', long = "policy", value_name = "PATH", num_args = 1..)]
    pub policy: Vec<PathBuf>,
    /// Path segments kept: longer paths become `/seg1/.../segN/*` prefixes; 0 allows any
    /// path.
    #[arg(long = "generalize", value_name = "N", default_value_t = 1)]
    pub generalize: usize,
    /// Write the YAML to this file instead of standard output.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `suggest`.
pub fn run(args: &SuggestArgs) -> crate::error::Result<ExitCode> {
    finish(run_inner(args))
}

fn run_inner(args: &SuggestArgs) -> Result<ExitCode> {
    let vendor: Vendor = args.vendor.parse().map_err(Failure::Input)?;
    let reader = reader(&args.logs)?;
    let existing = if args.policy.is_empty() {
        None
    } else {
        Some(load::engine(&args.policy)?)
    };
    let mut observations = Observations::default();
    for path in &args.logs.logs {
        let name = path.display().to_string();
        let mut part = Observations::default();
        let lines = open(path)?.lines();
        let mut failed = None;
        let texts = lines.map_while(|line| match line {
            Ok(text) => Some(text),
            Err(error) => {
                failed = Some(error);
                None
            }
        });
        // Lines are read one by one: memory holds the distinct observations only.
        for (i, text) in texts.enumerate() {
            part.read(
                &reader,
                &name,
                i as u64 + 1,
                [text.as_str()],
                args.generalize,
                existing.as_ref(),
            );
        }
        if let Some(source) = failed {
            return Err(Failure::Cli(Error::Read { path: name, source }));
        }
        if part.requests == 0 && part.malformed > 0 {
            let first = part.malformed_samples.first();
            return Err(Failure::Input(format!(
                "{name}:{}: no line is a {} access log line: {}",
                first.map_or(1, |s| s.line),
                args.logs.format,
                first.map_or("", |s| s.message.as_str())
            )));
        }
        observations.merge(part);
    }
    let options = SuggestOptions {
        vendor,
        generalize: args.generalize,
    };
    let suggestion = suggest(&observations.set, &options);
    match &args.out {
        Some(path) => std::fs::write(path, &suggestion.yaml).map_err(|source| {
            Failure::Cli(Error::WriteFile {
                path: path.display().to_string(),
                source,
            })
        })?,
        None => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            out.write_all(suggestion.yaml.as_bytes())
                .map_err(Error::Write)?;
            out.flush().map_err(Error::Write)?;
        }
    }
    let mut err = io::stderr().lock();
    let _ = writeln!(
        err,
        "suggest: {} request(s) read ({} already allowed, {} malformed line(s)): {} host(s), {} rule(s)",
        observations.requests,
        observations.already_allowed,
        observations.malformed,
        suggestion.hosts.len(),
        suggestion.rules
    );
    for note in &suggestion.notes {
        let _ = writeln!(err, "note: {note}");
    }
    for sample in &observations.malformed_samples {
        let _ = writeln!(err, "malformed: {sample}");
    }
    Ok(ExitCode::SUCCESS)
}
