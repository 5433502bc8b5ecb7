//! Named in-memory texts that policy paths resolve against, for hosts without a file system
//! (the WebAssembly package): [`Loader::add_memory_path`] reads them as
//! [`Loader::add_path`] reads files and directories.

use std::io;

use crate::error::{Error, Result};

use super::Loader;

/// A set of named texts standing in for a file system. Names are paths (`policies/a.yaml`,
/// `./p/b.yml`); a path names a text whose normalized name equals it, or, as a directory,
/// every `*.yaml`, `*.yml` and `*.json` text under it.
///
/// ```
/// use egress_policy::import::MemoryFiles;
/// let files = MemoryFiles::new([
///     ("p/b.yaml".to_string(), "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n".to_string()),
///     ("p/a.yaml".to_string(), "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n".to_string()),
/// ]);
/// let mut loader = egress_policy::Loader::new();
/// loader.add_memory_path(&files, "./p").unwrap();
/// let model = loader.load().unwrap();
/// assert_eq!(model.sources.texts().map(|(n, _)| n).collect::<Vec<_>>(), ["p/a.yaml", "p/b.yaml"]);
/// assert!(loader.add_memory_path(&files, "q").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFiles {
    files: Vec<(String, String)>,
}

impl MemoryFiles {
    /// The texts `(name, text)`.
    pub fn new(files: impl IntoIterator<Item = (String, String)>) -> Self {
        MemoryFiles {
            files: files.into_iter().collect(),
        }
    }

    /// The `(name, text)` pairs, as given.
    pub fn files(&self) -> &[(String, String)] {
        &self.files
    }

    /// The texts `path` names: the file itself, or every policy file under the directory,
    /// sorted as [`Loader::add_path`] reads a directory (path components compared one by
    /// one).
    pub fn select(&self, path: &str) -> Vec<(&str, &str)> {
        let resolved = normalize(path);
        let mut out: Vec<(Vec<String>, &str, &str)> = Vec::new();
        for (name, text) in &self.files {
            let normalized = normalize(name);
            let exact = normalized == resolved;
            let under = match resolved.as_str() {
                "" => !normalized.starts_with('/') && !normalized.starts_with("../"),
                "/" => normalized.starts_with('/'),
                dir => normalized
                    .strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/')),
            };
            let policy_file = [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| normalized.ends_with(ext));
            if exact || (under && policy_file) {
                let key = normalized.split('/').map(str::to_string).collect();
                out.push((key, name.as_str(), text.as_str()));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter().map(|(_, n, t)| (n, t)).collect()
    }
}

/// The sort key of a name: its normalized path components.
fn name_key(name: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !name.starts_with('/') {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    parts
}

/// `path` without `.` and empty segments, `dir/..` folded.
pub(crate) fn normalize(path: &str) -> String {
    let joined = name_key(path).join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// `path` relative to the directory `base` (as `Path::join` does), normalized.
pub(crate) fn resolve(base: &str, path: &str) -> String {
    if base.is_empty() || path.starts_with('/') {
        normalize(path)
    } else {
        normalize(&format!("{base}/{path}"))
    }
}

impl Loader {
    /// Adds the texts of `files` that `path` names (see [`MemoryFiles::select`]), the
    /// in-memory counterpart of [`Loader::add_path`]. Fails with [`Error::Io`]
    /// (`NotFound`) when no text is named `path` or lies under it.
    pub fn add_memory_path(&mut self, files: &MemoryFiles, path: &str) -> Result<&mut Self> {
        let selected = files.select(path);
        if selected.is_empty() {
            return Err(Error::Io {
                path: path.to_string(),
                source: io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no file is named `{}` or lies under it", normalize(path)),
                ),
            });
        }
        for (name, text) in selected {
            self.add_str(name, text);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_like_path_join() {
        assert_eq!(
            resolve("examples/tests", "../policies/a"),
            "examples/policies/a"
        );
        assert_eq!(resolve("", "./a/b/../c.yaml"), "a/c.yaml");
        assert_eq!(resolve("t", "../../x"), "../x");
        assert_eq!(resolve("t", "/abs/p"), "/abs/p");
        assert_eq!(resolve("/r/t", "../p"), "/r/p");
    }

    #[test]
    fn directories_select_policy_files_in_read_order() {
        let files = MemoryFiles::new(
            [
                "p/b.yaml",
                "p/a/z.yml",
                "./p/a.json",
                "p/notes.txt",
                "pp/x.yaml",
                "q.yaml",
            ]
            .iter()
            .map(|n| (n.to_string(), String::new())),
        );
        let names = |r: &str| -> Vec<&str> { files.select(r).iter().map(|(n, _)| *n).collect() };
        assert_eq!(names("p"), ["p/a/z.yml", "./p/a.json", "p/b.yaml"]);
        assert_eq!(names("p/notes.txt"), ["p/notes.txt"]);
        assert_eq!(names("q.yaml"), ["q.yaml"]);
        assert!(names("missing").is_empty());
        assert_eq!(names("").len(), 5);
    }
}
