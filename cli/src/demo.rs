//! `egress-policy demo`: run the example scenarios and print what each request gets.
//!
//! A scenario is a directory of policies plus a `demo.jsonl` file: one JSON object per line,
//! `{"label": "...", "request": {<request JSON>}}`. The file is JSON lines rather than
//! `*.json` so that loading the directory as policies does not pick it up.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use egress_policy::Request;
use serde::Deserialize;

use crate::args::DemoArgs;
use crate::error::{Error, Result};
use crate::{load, EXIT_INVALID};
use egress_policy::tools::render::{self, Table};

/// The file that makes a directory a demo scenario.
pub const DEMO_FILE: &str = "demo.jsonl";

/// One line of a demo file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCase {
    /// What the case shows.
    pub label: String,
    /// The request.
    pub request: Request,
}

/// Runs `demo`.
pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    let scenarios = scenarios(&args.policies)?;
    if scenarios.is_empty() {
        return Err(Error::NoScenarios(args.policies.display().to_string()));
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let stderr = io::stderr();
    let mut failures = 0usize;
    for (index, dir) in scenarios.iter().enumerate() {
        if index > 0 {
            writeln!(out).map_err(Error::Write)?;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        writeln!(out, "== {name} ({}) ==", dir.display()).map_err(Error::Write)?;
        let cases = read_cases(&dir.join(DEMO_FILE))?;
        let engine = match load::engine(std::slice::from_ref(dir)) {
            Ok(engine) => engine,
            Err(Error::Policies(diagnostics)) => {
                let mut err = stderr.lock();
                for diagnostic in &diagnostics {
                    let _ = writeln!(err, "{diagnostic}");
                }
                writeln!(out, "  policies did not load; see the errors above")
                    .map_err(Error::Write)?;
                failures += 1;
                continue;
            }
            Err(other) => return Err(other),
        };
        let mut table = Table::new(&[
            "CASE", "SOURCE", "REQUEST", "DECISION", "STATUS", "REASON", "POLICY", "ROUTE",
        ]);
        for case in &cases {
            let decision = engine.decide(&case.request);
            table.row(vec![
                case.label.clone(),
                render::source(&case.request),
                render::request_line(&case.request),
                render::verdict(decision.allowed).to_string(),
                decision.status.to_string(),
                decision.reason.to_string(),
                render::deciding(decision.policy.as_ref(), decision.rule),
                render::route_short(decision.route.as_ref()),
            ]);
        }
        write!(out, "{}", table.render("  ")).map_err(Error::Write)?;
    }
    out.flush().map_err(Error::Write)?;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

/// The scenario directories: `dir` itself when it holds a demo file, else its
/// subdirectories that do, in name order.
fn scenarios(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(DEMO_FILE).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.display().to_string(),
        source,
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join(DEMO_FILE).is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// Reads a demo file: one labelled request per non-blank line.
pub fn read_cases(path: &Path) -> Result<Vec<DemoCase>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: name.clone(),
        source,
    })?;
    let mut cases = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case = serde_json::from_str::<DemoCase>(line).map_err(|e| Error::Demo {
            path: name.clone(),
            line: index + 1,
            message: e.to_string(),
        })?;
        cases.push(case);
    }
    Ok(cases)
}
