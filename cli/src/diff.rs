//! `egress-policy diff`: every class of requests whose decision changes between two policy
//! sets, with an example request and both decisions. Exit status 1 when anything changes,
//! so it can gate a CI pipeline.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use egress_policy::tools::partition::gateway_points;
use egress_policy::tools::{diff, DecisionSummary, DiffOptions, DiffReport, Point};

use crate::check::parse_workload;
use crate::error::{Error, Result};
use crate::load;
use egress_policy::tools::render::{self, Table};

/// Exit status when a decision changes.
const EXIT_CHANGED: u8 = 1;

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The policies before the change (files or directories); repeatable.
    #[arg(long = "before", value_name = "PATH", required = true, num_args = 1..)]
    pub before: Vec<PathBuf>,
    /// The policies after the change (files or directories); repeatable.
    #[arg(long = "after", value_name = "PATH", required = true, num_args = 1..)]
    pub after: Vec<PathBuf>,
    /// Compare only at these proxies (`NS/NAME` or `NS/key=value,...`); default: routed
    /// requests plus every gateway of either set.
    #[arg(short = 'w', long = "workload", value_name = "NS/NAME")]
    pub workloads: Vec<String>,
    /// Also report classes whose verdict stays but whose reason or deciding rule changes.
    #[arg(long = "reasons")]
    pub reasons: bool,
    /// Print at most this many changes in the table (JSON prints all).
    #[arg(long = "limit", value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// Print the report as JSON.
    #[arg(long = "json")]
    pub json: bool,
}

/// Runs `diff`: exit status 0 when no decision changes, 1 when one does, 2 when either
/// policy set does not load.
pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let before = load::engine(&args.before)?;
    let after = load::engine(&args.after)?;
    let mut options = DiffOptions {
        points: Vec::new(),
        compare_reason: args.reasons,
    };
    if !args.workloads.is_empty() {
        for workload in &args.workloads {
            options.points.push(Point::at(parse_workload(workload)?));
        }
    } else {
        options.points.push(Point::routed());
        options
            .points
            .extend(gateway_points(&[before.model(), after.model()]));
    }
    let report = diff(&before, &after, &options);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        writeln!(out, "{json}").map_err(Error::Write)?;
    } else {
        write!(out, "{}", human(&report, args.limit)).map_err(Error::Write)?;
    }
    out.flush().map_err(Error::Write)?;
    Ok(if report.changed() {
        ExitCode::from(EXIT_CHANGED)
    } else {
        ExitCode::SUCCESS
    })
}

fn outcome(o: &DecisionSummary) -> String {
    let by = render::deciding(o.policy.as_ref(), o.rule);
    let verdict = if o.allowed { "allow" } else { "deny" };
    if by == "-" {
        format!("{verdict} {} {}", o.status, o.reason)
    } else {
        format!("{verdict} {} {} ({by})", o.status, o.reason)
    }
}

fn human(report: &DiffReport, limit: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for change in &report.mesh {
        let _ = writeln!(out, "mesh: {change}");
    }
    if report.changes.is_empty() {
        let _ = writeln!(
            out,
            "no decision changes ({} request classes compared at: {})",
            report.cells,
            report.points.join(", ")
        );
    } else {
        let _ = writeln!(
            out,
            "{} request class(es) change decision: {} newly allowed, {} newly denied ({} compared)",
            report.changes.len(),
            report.newly_allowed(),
            report.newly_denied(),
            report.cells
        );
        let mut table = Table::new(&[
            "AT", "IDENTITY", "HOST", "METHOD", "PATH", "BEFORE", "AFTER", "EXAMPLE",
        ]);
        // Rows that differ only by where they are decided are shown once.
        let mut rows: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for change in &report.changes {
            let cells = vec![
                change.identity.label.clone(),
                change.host.label.clone(),
                change.method.label.clone(),
                change.path.label.clone(),
                outcome(&change.before),
                outcome(&change.after),
                format!(
                    "{} {}",
                    render::source(&change.request),
                    render::request_line(&change.request)
                ),
            ];
            match rows.iter_mut().find(|(_, c)| c.get(..6) == cells.get(..6)) {
                Some((points, _)) => points.push(change.point.clone()),
                None => rows.push((vec![change.point.clone()], cells)),
            }
        }
        for (points, cells) in rows.iter().take(limit) {
            let mut row = vec![points.join(", ")];
            row.extend(cells.iter().cloned());
            table.row(row);
        }
        out.push_str(&table.render("  "));
        if rows.len() > limit {
            let _ = writeln!(
                out,
                "  ... and {} more row(s) (--limit, or --json for all)",
                rows.len() - limit
            );
        }
    }
    for caveat in &report.caveats {
        let _ = writeln!(out, "note: {caveat}");
    }
    out
}
