//! Reload on change: file-system notifications (inotify through `notify`) with debounce,
//! and a polling fallback that compares the policy files' list, sizes and mtimes.
//!
//! Every change batch is settled first (no event for the debounce interval), so a file
//! being written is read once it is complete; a set that still does not load is rejected
//! by [`State::reload`] and the previous engine keeps serving.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use notify::{RecursiveMode, Watcher};

use crate::state::State;

/// What is compared between checks: every policy file with its size and mtime.
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
        Ok(meta) if meta.is_dir() => match std::fs::read_dir(path) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    walk(&entry.path(), false, out);
                }
            }
            Err(_) => out.push((path.to_path_buf(), 0, None)),
        },
        Ok(meta) => {
            if given || is_policy_file(path) {
                out.push((path.to_path_buf(), meta.len(), meta.modified().ok()));
            }
        }
        Err(_) => out.push((path.to_path_buf(), u64::MAX, None)),
    }
}

/// Whether the loader reads `path` inside a directory.
pub fn is_policy_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// How the watcher runs.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// Quiet time after the last event before a change is read.
    pub debounce: Duration,
    /// Polling interval (also the fallback when notifications are unavailable).
    pub poll: Duration,
    /// Use file-system notifications.
    pub notify: bool,
}

fn subscribe(paths: &[PathBuf], tx: &mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    let tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.send(());
        }
    })
    .ok()?;
    for path in paths {
        // The path itself (recursively for a directory), and its parent so that a removed
        // and re-created path is seen.
        let _ = watcher.watch(path, RecursiveMode::Recursive);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = watcher.watch(parent, RecursiveMode::NonRecursive);
        }
    }
    Some(watcher)
}

/// Watches until `stop`: on every settled change of the fingerprint, reloads.
pub fn run(state: &State, options: WatchOptions, stop: &AtomicBool, log: fn(&str)) {
    let paths = state.source.paths.clone();
    let (tx, rx) = mpsc::channel();
    let mut watcher = options.notify.then(|| subscribe(&paths, &tx)).flatten();
    if options.notify && watcher.is_none() {
        log("file notifications unavailable; polling only");
    }
    let mut seen = state.initial_fingerprint();
    let tick = options.poll.min(Duration::from_millis(200));
    let mut since_poll = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        let notified = match rx.recv_timeout(tick) {
            Ok(()) => {
                // Debounce: wait for the writer to finish.
                while rx.recv_timeout(options.debounce).is_ok() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                }
                true
            }
            Err(_) => false,
        };
        since_poll = since_poll.saturating_add(tick);
        if !notified && since_poll < options.poll {
            continue;
        }
        since_poll = Duration::ZERO;
        let now = fingerprint(&paths);
        if now == seen {
            continue;
        }
        seen = now;
        let _ = state.reload(log);
        if notified && watcher.is_some() {
            // Directories may have been replaced: watch the new ones.
            drop(watcher.take());
            watcher = subscribe(&paths, &tx);
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
        assert_eq!(
            fingerprint(&paths).len(),
            1,
            "a removed directory is listed"
        );
    }
}
