//! Reload on change: poll the policy paths' file list, sizes and mtimes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use egress_policy::Reloader;

/// What is compared between polls: every policy file with its size and mtime.
pub type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// The fingerprint of `paths` (files and directories, recursively; the extensions the
/// loader reads). Unreadable entries are listed without metadata so that their
/// appearance or disappearance counts as a change.
pub fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    let mut out = Vec::new();
    for path in paths {
        walk(path, true, &mut out);
    }
    out.sort();
    out
}

fn walk(path: &Path, given: bool, out: &mut Fingerprint) {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            if let Ok(entries) = std::fs::read_dir(path) {
                for entry in entries.flatten() {
                    walk(&entry.path(), false, out);
                }
            }
        }
        Ok(meta) => {
            if given || is_policy_file(path) {
                out.push((path.to_path_buf(), meta.len(), meta.modified().ok()));
            }
        }
        Err(_) => out.push((path.to_path_buf(), 0, None)),
    }
}

fn is_policy_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Polls until `stop`: on every change of the fingerprint, reloads; a failed reload is
/// logged and the previous engine keeps serving.
pub fn poll(
    reloader: &Reloader,
    paths: &[PathBuf],
    interval: Duration,
    stop: &AtomicBool,
    log: fn(&str),
) {
    let mut seen = fingerprint(paths);
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(interval);
        let now = fingerprint(paths);
        if now == seen {
            continue;
        }
        seen = now;
        match reloader.reload_from_paths(paths) {
            Ok(outcome) => log(&format!(
                "reloaded: generation {}, {} rules",
                outcome.generation, outcome.rules
            )),
            Err(error) => log(&format!(
                "reload rejected, still serving generation {}:\n{error}",
                reloader.generation()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_sees_changes() {
        let dir = std::env::temp_dir().join(format!("ext-authz-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let paths = vec![dir.clone()];
        let before = fingerprint(&paths);
        std::fs::write(dir.join("a.yaml"), "x: 1\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let after = fingerprint(&paths);
        assert_ne!(before, after);
        assert_eq!(after.len(), 1);
        std::fs::write(dir.join("a.yaml"), "x: 12\n").unwrap();
        assert_ne!(after, fingerprint(&paths));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
