//! Helpers shared by integration tests: the shared vectors of `tests/vectors`.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::path::{Path, PathBuf};

use egress_policy::Loader;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The path of the shared vector `name`.
pub fn vector_path(name: &str) -> PathBuf {
    root().join("tests/vectors").join(format!("{name}.json"))
}

/// A shared vector's JSON and a loader holding its policies (inline `policy_files`, and
/// `policy_paths` relative to the repository root).
pub fn vector_loader(path: &Path, keep_sources: bool) -> (serde_json::Value, Loader) {
    let text = std::fs::read_to_string(path).unwrap();
    let vector: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut loader = Loader::new();
    loader.keep_sources(keep_sources);
    if let Some(files) = vector["policy_files"].as_object() {
        for (file, lines) in files {
            let lines: Vec<&str> = lines
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            loader.add_str(file, &format!("{}\n", lines.join("\n")));
        }
    }
    if let Some(paths) = vector["policy_paths"].as_array() {
        for p in paths {
            loader.add_path(root().join(p.as_str().unwrap())).unwrap();
        }
    }
    (vector, loader)
}
