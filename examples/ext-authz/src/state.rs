//! The policy set serving, how it is (re)loaded, and why a reload is rejected.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use egress_policy::request::Workload;
use egress_policy::response::enforces_nothing;
use egress_policy::{Engine, Reloader};

use crate::metrics::Metrics;
use crate::watch::{fingerprint, Fingerprint};

/// Where the policies come from and what a loaded set must satisfy.
#[derive(Debug, Clone)]
pub struct Source {
    /// Policy files and directories.
    pub paths: Vec<PathBuf>,
    /// The workload the server decides as; a set that enforces nothing there is
    /// rejected. `None` only with `--route-by-registry`.
    pub workload: Option<Workload>,
    /// Most bytes of policy files in one set.
    pub max_bytes: u64,
}

/// Why a policy set was rejected (the `kind` label of the reload metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// A path does not exist (a removed file or directory).
    NotFound,
    /// A path cannot be read (permissions).
    Permission,
    /// The files are over [`Source::max_bytes`].
    TooLarge,
    /// The files do not load (syntax, schema, semantics; a half-written file).
    Invalid,
    /// Another I/O error.
    Io,
    /// The set loads but no policy attaches at the workload.
    EnforcesNothing,
}

impl RejectKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::NotFound => "not_found",
            RejectKind::Permission => "permission",
            RejectKind::TooLarge => "too_large",
            RejectKind::Invalid => "invalid",
            RejectKind::Io => "io",
            RejectKind::EnforcesNothing => "enforces_nothing",
        }
    }

    fn of_io(error: &std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::NotFound => RejectKind::NotFound,
            std::io::ErrorKind::PermissionDenied => RejectKind::Permission,
            _ => RejectKind::Io,
        }
    }
}

/// A rejected policy set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Why.
    pub kind: RejectKind,
    /// The error, every located diagnostic on its own line.
    pub message: String,
}

/// Loads and checks the policy set of `source`.
pub fn load(source: &Source) -> Result<Engine, Rejected> {
    let mut total = 0u64;
    for path in &source.paths {
        size(path, true, &mut total).map_err(|(p, e)| Rejected {
            kind: RejectKind::of_io(&e),
            message: format!("{}: {e}", p.display()),
        })?;
    }
    if total > source.max_bytes {
        return Err(Rejected {
            kind: RejectKind::TooLarge,
            message: format!(
                "policy files total {total} bytes, over the limit of {} bytes",
                source.max_bytes
            ),
        });
    }
    // The server only decides: no source texts or parse trees kept.
    let mut loader = egress_policy::Loader::new();
    loader.keep_sources(false);
    let loaded = source
        .paths
        .iter()
        .try_for_each(|path| loader.add_path(path).map(|_| ()))
        .and_then(|()| loader.load())
        .map(Engine::from_model);
    let engine = loaded.map_err(|e| {
        let kind = match &e {
            egress_policy::Error::Io { source, .. } => RejectKind::of_io(source),
            _ => RejectKind::Invalid,
        };
        Rejected {
            kind,
            message: e.to_string(),
        }
    })?;
    if let Some(workload) = &source.workload {
        if let Some(why) = enforces_nothing(&engine, workload) {
            return Err(Rejected {
                kind: RejectKind::EnforcesNothing,
                message: why,
            });
        }
    }
    Ok(engine)
}

fn size(path: &Path, given: bool, total: &mut u64) -> Result<(), (PathBuf, std::io::Error)> {
    let meta = std::fs::metadata(path).map_err(|e| (path.to_path_buf(), e))?;
    if meta.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| (path.to_path_buf(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| (path.to_path_buf(), e))?;
            size(&entry.path(), false, total)?;
        }
    } else if given || crate::watch::is_policy_file(path) {
        // Opening proves the file is readable (the loader reads it next).
        std::fs::File::open(path).map_err(|e| (path.to_path_buf(), e))?;
        *total = total.saturating_add(meta.len());
    }
    Ok(())
}

/// The serving state shared by the gRPC service, the watcher and the health task.
#[derive(Debug)]
pub struct State {
    /// The engine serving, swapped on reload.
    pub reloader: Reloader,
    /// The metrics.
    pub metrics: Metrics,
    /// Where the policies come from.
    pub source: Source,
    /// Since when the files on disk have held a set that does not load (`None` while
    /// the serving set is the latest one).
    stale_since: Mutex<Option<Instant>>,
    /// The files as they were just before the serving set was first read: the watcher
    /// starts from here, so a change made while the server starts is not missed.
    initial: Fingerprint,
}

impl State {
    /// Loads `source` and serves it at generation 0.
    pub fn load(source: Source) -> Result<Self, Rejected> {
        let initial = fingerprint(&source.paths);
        let engine = load(&source)?;
        let metrics = Metrics::new();
        metrics.loaded(0, engine.rule_count(), true);
        Ok(State {
            reloader: Reloader::new(engine),
            metrics,
            source,
            stale_since: Mutex::new(None),
            initial,
        })
    }

    /// The policy files as they were when the first set was read.
    pub fn initial_fingerprint(&self) -> Fingerprint {
        self.initial.clone()
    }

    /// Reloads from the source: the new set serves, or the rejection is recorded (log
    /// and metrics) and the previous engine keeps serving.
    pub fn reload(&self, log: fn(&str)) -> Result<u64, Rejected> {
        match load(&self.source) {
            Ok(engine) => {
                let rules = engine.rule_count();
                for warning in engine.warnings() {
                    log(&warning.to_string());
                }
                let generation = self.reloader.swap(engine);
                self.metrics.loaded(generation, rules, false);
                if let Ok(mut stale) = self.stale_since.lock() {
                    *stale = None;
                }
                log(&format!("reloaded: generation {generation}, {rules} rules"));
                Ok(generation)
            }
            Err(rejected) => {
                self.metrics
                    .rejected(rejected.kind.as_str(), &rejected.message);
                if let Ok(mut stale) = self.stale_since.lock() {
                    stale.get_or_insert_with(Instant::now);
                }
                log(&format!(
                    "reload rejected ({}), still serving generation {}:\n{}",
                    rejected.kind.as_str(),
                    self.reloader.generation(),
                    rejected.message
                ));
                Err(rejected)
            }
        }
    }

    /// How long the serving set has been out of date (the files hold a set that does not
    /// load); `None` while it is the latest.
    pub fn stale_for(&self) -> Option<Duration> {
        self.stale_since
            .lock()
            .ok()
            .and_then(|s| s.map(|since| since.elapsed()))
    }
}
