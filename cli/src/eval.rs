//! `egress-policy eval`: decide requests read as JSON lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use egress_policy::{Engine, Request};

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

/// Decides every non-blank line; returns how many lines were not valid request JSON.
pub fn decide_lines(
    engine: &Engine,
    mut input: impl BufRead,
    name: &str,
    out: &mut impl Write,
) -> Result<usize> {
    let mut failed = 0;
    let mut buffer = Vec::new();
    let mut number = 0usize;
    loop {
        buffer.clear();
        let read = input
            .read_until(b'\n', &mut buffer)
            .map_err(|source| Error::Read {
                path: name.to_string(),
                source,
            })?;
        if read == 0 {
            break;
        }
        number += 1;
        let parsed = match std::str::from_utf8(&buffer) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => serde_json::from_str::<Request>(text.trim()).map_err(|e| e.to_string()),
            Err(_) => Err("line is not valid UTF-8".to_string()),
        };
        let line = match parsed {
            Ok(request) => engine.decide(&request).to_json(),
            Err(message) => {
                failed += 1;
                serde_json::json!({ "error": message, "line": number }).to_string()
            }
        };
        writeln!(out, "{line}").map_err(Error::Write)?;
    }
    Ok(failed)
}
