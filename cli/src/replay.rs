//! `egress-policy replay`: decide every request of access logs and report, per source
//! identity × host × method × path class, how many would be allowed or denied and why;
//! with `--before`, only what changes. Exit status 1 when observed traffic is (or becomes,
//! with `--before`) denied, 2 on bad input.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use egress_policy::tools::replay::{
    parse_identities, replay_reader, Engines, Field, LogFormat, LogReader, ReplayReport, Tally,
};

use crate::error::Error;
use crate::load;
use egress_policy::tools::render::Table;

/// Why replay or suggest cannot do its job: a command error, or bad input of their own
/// (a bad `--map`, format or identities line), printed as `error: …` with exit status 2.
#[derive(Debug)]
pub enum Failure {
    /// An error shared with the other commands.
    Cli(Error),
    /// Bad input, located where possible (`file:line: …`).
    Input(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Cli(error)
    }
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, Failure>;

/// Turns a [`Failure`] into the command's result: input errors are printed here.
pub fn finish(result: Result<ExitCode>) -> crate::error::Result<ExitCode> {
    match result {
        Ok(code) => Ok(code),
        Err(Failure::Cli(error)) => Err(error),
        Err(Failure::Input(message)) => {
            eprintln!("error: {message}");
            Ok(ExitCode::from(crate::EXIT_INVALID))
        }
    }
}

/// Exit status when observed traffic is denied.
const EXIT_DENIED: u8 = 1;

/// Where the logs come from and how to read them (shared with `suggest`).
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Access log file; `-` reads standard input. Repeatable.
    #[arg(short = 'l', long = "log", value_name = "FILE", required = true, num_args = 1..)]
    pub logs: Vec<PathBuf>,
    /// Log format: `envoy-json` (Istio's JSON access log), `istio-text` (Istio's default
    /// TEXT format), `ztunnel`, or `requests` (Request JSON lines).
    #[arg(
        short = 'f',
        long = "format",
        value_name = "FORMAT",
        default_value = "envoy-json"
    )]
    pub format: String,
    /// Read attribute FIELD from log key KEY (a JSON key, a `%COMMAND%` of the text format,
    /// a ztunnel key). FIELD: identity, authority, method, path, source_address, sni,
    /// upstream_cluster, port. Repeatable. Example: `--map identity=peer_san`.
    #[arg(long = "map", value_name = "FIELD=KEY")]
    pub map: Vec<String>,
    /// An Envoy format string for `istio-text` logs written with a custom format (default:
    /// Istio's default TEXT format).
    #[arg(long = "text-format", value_name = "FORMAT")]
    pub text_format: Option<String>,
    /// File of `ADDRESS IDENTITY` lines: the identity of a source IP, for logs that carry
    /// addresses only (`#` starts a comment).
    #[arg(long = "identities", value_name = "FILE")]
    pub identities: Option<PathBuf>,
    /// Worker threads (default: the number of cores).
    #[arg(long = "threads", value_name = "N")]
    pub threads: Option<usize>,
}

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The policies replayed (files or directories); repeatable.
    #[arg(short = 'p', long = "policy", value_name = "PATH", required = true, num_args = 1..)]
    pub policy: Vec<PathBuf>,
    /// The policies before the change: report only requests whose decision changes.
    #[arg(long = "before", value_name = "PATH", num_args = 1..)]
    pub before: Vec<PathBuf>,
    /// The logs.
    #[command(flatten)]
    pub logs: LogArgs,
    /// Print at most this many rows in the table (JSON prints all).
    #[arg(long = "limit", value_name = "N", default_value_t = 100)]
    pub limit: usize,
    /// Print the report as JSON.
    #[arg(long = "json")]
    pub json: bool,
}

/// Builds the log reader from the flags.
pub fn reader(args: &LogArgs) -> Result<LogReader> {
    let format: LogFormat = args.format.parse().map_err(Failure::Input)?;
    let mut mappings = Vec::new();
    for spec in &args.map {
        let (field, key) = spec
            .split_once('=')
            .ok_or_else(|| Failure::Input(format!("invalid --map `{spec}`: expected FIELD=KEY")))?;
        let field: Field = field
            .trim()
            .parse()
            .map_err(|e| Failure::Input(format!("invalid --map `{spec}`: {e}")))?;
        mappings.push((field, key.trim().to_string()));
    }
    let identities = match &args.identities {
        Some(path) => identities(path)?,
        None => HashMap::new(),
    };
    LogReader::new(format, &mappings, args.text_format.as_deref(), identities)
        .map_err(Failure::Input)
}

/// Reads an `ADDRESS IDENTITY` file.
fn identities(path: &Path) -> Result<HashMap<String, String>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: name.clone(),
        source,
    })?;
    parse_identities(&text)
        .map_err(|(line, message)| Failure::Input(format!("{name}:{line}: {message}")))
}

/// Opens a log (`-` is standard input).
pub fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let file = File::open(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    // Smaller than the replay's blocks: the block reads then bypass this buffer and land
    // in the block directly (no copy).
    Ok(Box::new(BufReader::with_capacity(64 << 10, file)))
}

/// Replays every log; progress on a terminal's stderr. A log none of whose lines could be
/// read is bad input (exit 2, first bad line located).
pub fn run_logs(engines: Engines<'_>, reader: &LogReader, args: &LogArgs) -> Result<Tally> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let tty = io::stderr().is_terminal();
    let mut tally = Tally::default();
    for path in &args.logs {
        let name = path.display().to_string();
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let start = Instant::now();
        let mut progress = |read: u64| {
            if tty {
                let secs = start.elapsed().as_secs_f64().max(1e-9);
                let pct = (read * 100).checked_div(size).unwrap_or(0);
                eprint!(
                    "\r{name}: {pct:>3}% {:.1} MB/s   ",
                    read as f64 / secs / 1e6
                );
            }
        };
        let part = replay_reader(engines, reader, &name, open(path)?, threads, &mut progress)
            .map_err(|source| Error::Read {
                path: name.clone(),
                source,
            })?;
        if tty {
            eprint!("\r{:60}\r", "");
        }
        if part.requests == 0 && part.malformed > 0 {
            let first = part.malformed_samples.iter().min_by_key(|s| s.line);
            return Err(Failure::Input(format!(
                "{name}:{}: no line is a {} access log line: {}",
                first.map_or(1, |s| s.line),
                args.format,
                first.map_or("", |s| s.message.as_str())
            )));
        }
        tally.merge(part);
    }
    Ok(tally)
}

/// Runs `replay`.
pub fn run(args: &ReplayArgs) -> crate::error::Result<ExitCode> {
    finish(replay(args))
}

fn replay(args: &ReplayArgs) -> Result<ExitCode> {
    let reader = reader(&args.logs)?;
    let after = load::engine(&args.policy)?;
    let before = if args.before.is_empty() {
        None
    } else {
        Some(load::engine(&args.before)?)
    };
    let engines = Engines {
        after: &after,
        before: before.as_ref(),
    };
    let compare = before.is_some();
    let tally = run_logs(engines, &reader, &args.logs)?;
    let report = ReplayReport::from_tally(tally, compare);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        writeln!(out, "{json}").map_err(Error::Write)?;
    } else {
        write!(out, "{}", human(&report, compare, args.limit)).map_err(Error::Write)?;
    }
    out.flush().map_err(Error::Write)?;
    Ok(if report.breaks(compare) {
        ExitCode::from(EXIT_DENIED)
    } else {
        ExitCode::SUCCESS
    })
}

fn verdict(o: &egress_policy::tools::replay::TallyOutcome) -> String {
    let verdict = if o.allowed { "allow" } else { "deny" };
    match (&o.policy, o.rule) {
        (Some(p), Some(r)) => format!("{verdict} {} {} ({p} rule {r})", o.status, o.reason),
        (Some(p), None) => format!("{verdict} {} {} ({p})", o.status, o.reason),
        _ => format!("{verdict} {} {}", o.status, o.reason),
    }
}

fn human(report: &ReplayReport, compare: bool, limit: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} line(s), {} request(s): {} allowed, {} denied; {} malformed line(s)",
        report.lines, report.requests, report.allowed, report.denied, report.malformed
    );
    if compare {
        let _ = writeln!(
            out,
            "change: {} newly denied, {} newly allowed request(s)",
            report.newly_denied, report.newly_allowed
        );
    }
    let mut headers = vec!["IDENTITY", "HOST", "METHOD", "PATH", "REQUESTS"];
    if compare {
        headers.push("BEFORE");
    }
    headers.extend(["DECISION", "EXAMPLE"]);
    let mut table = Table::new(&headers);
    for row in report.rows.iter().take(limit) {
        let mut cells = vec![
            row.identity.clone(),
            row.host.clone(),
            row.method.clone(),
            row.path.clone(),
            row.count.to_string(),
        ];
        if let Some(before) = &row.before {
            cells.push(verdict(before));
        }
        cells.push(verdict(&row.after));
        cells.push(row.example.clone());
        table.row(cells);
    }
    if !report.rows.is_empty() {
        out.push_str(&table.render("  "));
    }
    if report.rows.len() > limit {
        let _ = writeln!(
            out,
            "  ... and {} more row(s) (--limit, or --json for all)",
            report.rows.len() - limit
        );
    }
    for sample in &report.malformed_samples {
        let _ = writeln!(out, "malformed: {sample}");
    }
    out
}
