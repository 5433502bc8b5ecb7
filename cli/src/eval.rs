//! `egress-policy eval`: decide requests read as JSON lines; prints the core's one
//! JSON-lines shape (`{"line", "decision", "error"}`, one of the last two `null`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use egress_policy::Engine;

use crate::args::EvalArgs;
use crate::error::{Error, Result};
use crate::load;

/// Runs `eval`.
pub fn run(args: &EvalArgs) -> Result<ExitCode> {
    let engine = load::engine(&args.policies.policy)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let failed = match args.requests.as_deref() {
        None => decide_lines(&engine, io::stdin().lock(), "-", &mut out)?,
        Some(path) if path == Path::new("-") => {
            decide_lines(&engine, io::stdin().lock(), "-", &mut out)?
        }
        Some(path) => {
            let name = path.display().to_string();
            let file = File::open(path).map_err(|source| Error::Read {
                path: name.clone(),
                source,
            })?;
            decide_lines(&engine, BufReader::new(file), &name, &mut out)?
        }
    };
    out.flush().map_err(Error::Write)?;
    if failed > 0 {
        return Err(Error::BadRequests(failed));
    }
    Ok(ExitCode::SUCCESS)
}

/// Decides every non-blank line, printing one [`egress_policy::BatchLine`] per line;
/// returns how many lines were not valid request JSON.
pub fn decide_lines(
    engine: &Engine,
    input: impl BufRead,
    name: &str,
    out: &mut impl Write,
) -> Result<usize> {
    let mut failed = 0;
    for line in engine.decide_lines(input) {
        let line = line.map_err(|source| Error::Read {
            path: name.to_string(),
            source,
        })?;
        if line.error.is_some() {
            failed += 1;
        }
        writeln!(out, "{}", line.to_json()).map_err(Error::Write)?;
    }
    Ok(failed)
}
