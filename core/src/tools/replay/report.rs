//! The finished report of a replay (totals, sorted rows).

use serde::{Deserialize, Serialize};

use super::tally::{LineError, Row, Tally};

/// The finished report of a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Lines read.
    pub lines: u64,
    /// Requests decided.
    pub requests: u64,
    /// Requests allowed (by the policies).
    pub allowed: u64,
    /// Requests denied (by the policies).
    pub denied: u64,
    /// With `before`: requests allowed before and denied now.
    pub newly_denied: u64,
    /// With `before`: requests denied before and allowed now.
    pub newly_allowed: u64,
    /// Lines that could not be read.
    pub malformed: u64,
    /// The first of them.
    pub malformed_samples: Vec<LineError>,
    /// Rows sorted by identity, host, method, path; with `before`, only rows whose decision
    /// changes.
    pub rows: Vec<Row>,
}

impl ReplayReport {
    /// Finishes a tally: totals, sorting, and (for a change report) only changed rows.
    pub fn from_tally(tally: Tally, compare: bool) -> Self {
        let mut report = ReplayReport {
            lines: tally.lines,
            requests: tally.requests,
            allowed: 0,
            denied: 0,
            newly_denied: 0,
            newly_allowed: 0,
            malformed: tally.malformed,
            malformed_samples: tally.malformed_samples,
            rows: Vec::new(),
        };
        for row in tally.rows {
            if row.after.allowed {
                report.allowed += row.count;
            } else {
                report.denied += row.count;
            }
            if let Some(before) = &row.before {
                if before.allowed && !row.after.allowed {
                    report.newly_denied += row.count;
                }
                if !before.allowed && row.after.allowed {
                    report.newly_allowed += row.count;
                }
            }
            let keep = !compare || row.before.as_ref().is_some_and(|b| b.differs(&row.after));
            if keep {
                report.rows.push(row);
            }
        }
        report
            .malformed_samples
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        // Row keys are unique (rows with equal keys were merged), so the unstable sort gives
        // the same order without the stable sort's moves.
        report.rows.sort_unstable_by(|a, b| {
            (
                &a.identity,
                &a.host,
                &a.method,
                &a.path,
                &a.before,
                &a.after,
            )
                .cmp(&(
                    &b.identity,
                    &b.host,
                    &b.method,
                    &b.path,
                    &b.before,
                    &b.after,
                ))
        });
        report
    }

    /// Whether observed traffic is denied (without `before`) or becomes denied (with it):
    /// the CI gate.
    pub fn breaks(&self, compare: bool) -> bool {
        if compare {
            self.newly_denied > 0
        } else {
            self.denied > 0
        }
    }
}
