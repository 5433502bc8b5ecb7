//! Loading policies and turning every load problem into a located diagnostic.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use egress_policy::model::Model;
use egress_policy::{Diagnostic, Engine, Loader, Location};

use crate::error::{Error, Result};

/// Loads every path into a model that keeps its sources (lint locates findings with them).
/// On failure returns every diagnostic (errors and the warnings found along the way); a
/// file that cannot be read becomes an error at `path:1:1`.
pub fn model(paths: &[PathBuf]) -> Result<Model, Vec<Diagnostic>> {
    load_model(paths, true)
}

/// [`model`] for commands that only decide: the texts and parse trees are not kept (they
/// take several times the memory of the texts on big policy sets).
pub fn deciding_model(paths: &[PathBuf]) -> Result<Model, Vec<Diagnostic>> {
    load_model(paths, false)
}

/// What a loaded model holds, as `validate` and `compile` report it: `N policies, M
/// registry entries` (singular forms for one).
pub fn contents(model: &Model) -> String {
    let (policies, entries) = (model.policies.len(), model.services.len());
    format!(
        "{policies} polic{}, {entries} registry entr{}",
        if policies == 1 { "y" } else { "ies" },
        if entries == 1 { "y" } else { "ies" },
    )
}

fn load_model(paths: &[PathBuf], keep_sources: bool) -> Result<Model, Vec<Diagnostic>> {
    let mut loader = Loader::new();
    loader.keep_sources(keep_sources);
    let mut problems = Vec::new();
    for path in paths {
        if let Err(error) = loader.add_path(path) {
            problems.extend(diagnostics_of(error, path));
        }
    }
    match loader.load() {
        Ok(model) if problems.is_empty() => Ok(model),
        Ok(model) => {
            problems.extend(model.warnings);
            Err(problems)
        }
        Err(error) => {
            let first = paths
                .first()
                .map(PathBuf::as_path)
                .unwrap_or(Path::new("-"));
            problems.extend(diagnostics_of(error, first));
            Err(problems)
        }
    }
}

/// Loads an engine for a deciding command; warnings go to stderr, errors become
/// [`Error::Policies`].
pub fn engine(paths: &[PathBuf]) -> Result<Engine> {
    engine_with(paths, false)
}

/// [`engine`] for explaining: the source texts are kept, so an explanation points at the
/// line of each failing field (not only of its rule).
pub fn explaining_engine(paths: &[PathBuf]) -> Result<Engine> {
    engine_with(paths, true)
}

fn engine_with(paths: &[PathBuf], keep_sources: bool) -> Result<Engine> {
    let model = load_model(paths, keep_sources).map_err(Error::Policies)?;
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for warning in &model.warnings {
        let _ = writeln!(err, "{warning}");
    }
    Ok(Engine::from_model(model))
}

/// The diagnostics of a core load error, with I/O failures located at the start of the path.
fn diagnostics_of(error: egress_policy::Error, path: &Path) -> Vec<Diagnostic> {
    match error {
        egress_policy::Error::Invalid(diagnostics) => diagnostics,
        egress_policy::Error::Io { path, source } => vec![Diagnostic::error(
            Location::start_of(&path),
            format!("cannot read: {source}"),
        )],
        other => vec![Diagnostic::error(
            Location::start_of(&path.display().to_string()),
            other.to_string(),
        )],
    }
}
