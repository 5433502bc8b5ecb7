//! The crate's error type.

use crate::diagnostic::Diagnostic;

/// Why policies could not be loaded. Deciding never fails; only loading does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was read but is invalid. Every problem found in the load is listed, in
    /// file order, including warnings found along the way.
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path that failed.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The diagnostics of an [`Error::Invalid`] (empty for I/O errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Invalid(diagnostics) => diagnostics,
            Error::Io { .. } => &[],
        }
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    lines.join("\n")
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
