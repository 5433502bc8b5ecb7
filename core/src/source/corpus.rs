//! Test inputs both YAML fast paths (`fast`, `scan`) are compared on: every YAML file of
//! the repository and every generated workload.

use std::path::{Path, PathBuf};

/// The repository's YAML and JSON files under `dirs` (relative to the repository root),
/// skipping build outputs and dependencies.
pub(super) fn repository_yaml_files(dirs: &[&str]) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in dirs {
        collect(&root.join(dir), &mut files);
    }
    files
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | ".git" | "pkg") {
                collect(&path, out);
            }
        } else if [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
            out.push(path);
        }
    }
}

/// Calls `f` with the name and text of every file of a 300-rule generated workload of
/// every profile and layout.
pub(super) fn for_each_generated_file(mut f: impl FnMut(&str, &str, String)) {
    use crate::workload::{generate_profile, Layout, Profile};
    for profile in Profile::ALL {
        for layout in [Layout::Files, Layout::List, Layout::PolicyPerRule] {
            let workload = generate_profile(300, 7, profile, layout);
            for (name, text) in &workload.files {
                f(name, text, format!("{profile} {layout:?} {name}"));
            }
        }
    }
}
