//! The counts of a replay: outcomes, rows, malformed lines, and the row keys that merge
//! equal rows.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::compile::hash::FxBuild;
use crate::compile::Verdict;

use super::{MALFORMED_SAMPLES, SEPARATOR};

/// What a policy set decided for a request (JSON: `{"allowed", "status", "reason",
/// "policy", "rule"}`; `policy` is `Kind namespace/name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TallyOutcome {
    /// Whether the request may leave.
    pub allowed: bool,
    /// HTTP status.
    pub status: u16,
    /// Reason code (`allowed_by_policy`, `not_in_registry`, …).
    pub reason: String,
    /// The deciding policy.
    pub policy: Option<String>,
    /// The deciding rule.
    pub rule: Option<usize>,
}

impl TallyOutcome {
    pub(super) fn of(verdict: &Verdict<'_>) -> TallyOutcome {
        let (policy, rule) = match verdict.policy() {
            Some((policy, rule)) => (Some(policy.to_string()), rule),
            None => (None, None),
        };
        TallyOutcome {
            allowed: verdict.allowed(),
            status: verdict.status(),
            reason: verdict.reason().as_str().to_string(),
            policy,
            rule,
        }
    }

    /// Whether `self` (before) → `after` is a change worth reporting: the verdict or status.
    pub fn differs(&self, after: &TallyOutcome) -> bool {
        self.allowed != after.allowed || self.status != after.status
    }
}

/// One row of a replay: a request class and one outcome (pair), with its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The sender's identity (`cluster.local/ns/x/sa/y`), `-` when unknown (plaintext).
    pub identity: String,
    /// The destination as logged (`:authority`, SNI or service), with `:port` for TLS/TCP.
    pub host: String,
    /// Method, `-` for TLS/TCP.
    pub method: String,
    /// Path class (`/api/*`), `-` for TLS/TCP.
    pub path: String,
    /// Decision of the `before` policies, when replaying a change.
    pub before: Option<TallyOutcome>,
    /// Decision of the policies.
    pub after: TallyOutcome,
    /// Requests of the class with this outcome.
    pub count: u64,
    /// The first line that produced it (`file:line`).
    pub example: String,
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// The file.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Partial counts of a replay; tallies of disjoint inputs [`Tally::merge`] into the tally
/// of their union (threads, files, Spark partitions).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Lines read (blank lines included).
    pub lines: u64,
    /// Requests decided.
    pub requests: u64,
    /// Lines that could not be read.
    pub malformed: u64,
    /// The first malformed lines.
    pub malformed_samples: Vec<LineError>,
    /// Rows (unordered).
    pub rows: Vec<Row>,
    // Both maps hash with FxHash: the keys are log contents of the user's own mesh, and
    // SipHash was a fifth of a replay's time.
    #[serde(skip)]
    pub(super) index: HashMap<String, usize, FxBuild>,
    #[serde(skip)]
    pub(super) cache: HashMap<String, usize, FxBuild>,
    /// Hashes of the cache keys seen once: a key enters the cache on its second sight, so
    /// a log of mostly distinct requests does not copy every line's key into the cache.
    /// (Only whether to cache depends on it; a hash collision caches a key one sight early.)
    #[serde(skip)]
    pub(super) seen: HashSet<u64, FxBuild>,
}

impl Tally {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Tally) {
        if self.index.len() != self.rows.len() {
            let mut index = HashMap::with_capacity_and_hasher(self.rows.len(), FxBuild);
            for (i, row) in self.rows.iter().enumerate() {
                index.insert(row_key(row), i);
            }
            self.index = index;
        }
        self.lines += other.lines;
        self.requests += other.requests;
        self.malformed += other.malformed;
        // Each part keeps its own first samples, so the first of the union are among them,
        // whichever worker read which block.
        self.malformed_samples.extend(other.malformed_samples);
        self.malformed_samples
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        self.malformed_samples.truncate(MALFORMED_SAMPLES);
        for row in other.rows {
            self.add_row(row);
        }
    }

    fn add_row(&mut self, row: Row) {
        let key = row_key(&row);
        match self.index.get(&key).and_then(|&i| self.rows.get_mut(i)) {
            Some(existing) => {
                existing.count += row.count;
                // The earliest line is the example, whatever the merge order.
                if example_order(&row.example) < example_order(&existing.example) {
                    existing.example = row.example;
                }
            }
            None => {
                self.index.insert(key, self.rows.len());
                self.rows.push(row);
            }
        }
    }

    pub(super) fn note_malformed(&mut self, file: &str, line: u64, message: String) {
        self.malformed += 1;
        if self.malformed_samples.len() < MALFORMED_SAMPLES {
            self.malformed_samples.push(LineError {
                file: file.to_string(),
                line,
                message,
            });
        }
    }
}

/// `file:line` → (file, line), for a deterministic choice of example.
fn example_order(example: &str) -> (&str, u64) {
    match example.rsplit_once(':') {
        Some((file, line)) => (file, line.parse().unwrap_or(u64::MAX)),
        None => (example, u64::MAX),
    }
}

pub(super) fn row_key(row: &Row) -> String {
    let mut key = String::new();
    for part in [&row.identity, &row.host, &row.method, &row.path] {
        key.push_str(part);
        key.push(SEPARATOR);
    }
    if let Some(before) = &row.before {
        write_outcome(
            &mut key,
            before.allowed,
            before.status,
            &before.reason,
            before.policy.as_ref().map(|p| p as &dyn std::fmt::Display),
            before.rule,
        );
    }
    key.push(SEPARATOR);
    let after = &row.after;
    write_outcome(
        &mut key,
        after.allowed,
        after.status,
        &after.reason,
        after.policy.as_ref().map(|p| p as &dyn std::fmt::Display),
        after.rule,
    );
    key
}

/// Appends an outcome to a row key; [`row_key`] (from a [`Row`]) and
/// [`Worker::line`](super::Worker::line) (from a [`Verdict`], without allocating) must write
/// the same text.
fn write_outcome(
    key: &mut String,
    allowed: bool,
    status: u16,
    reason: &str,
    policy: Option<&dyn std::fmt::Display>,
    rule: Option<usize>,
) {
    let _ = write!(key, "{allowed}/{status}/{reason}/");
    if let Some(policy) = policy {
        let _ = write!(key, "{policy}");
    }
    if let Some(rule) = rule {
        let _ = write!(key, "/{rule}");
    }
}

/// Appends a verdict's outcome to a row key (the text [`write_outcome`] writes for the
/// [`TallyOutcome`] of the same verdict).
pub(super) fn write_verdict(key: &mut String, verdict: &Verdict<'_>) {
    let (policy, rule) = match verdict.policy() {
        Some((policy, rule)) => (Some(policy as &dyn std::fmt::Display), rule),
        None => (None, None),
    };
    write_outcome(
        key,
        verdict.allowed(),
        verdict.status(),
        verdict.reason().as_str(),
        policy,
        rule,
    );
}
