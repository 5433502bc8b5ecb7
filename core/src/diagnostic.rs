//! Located diagnostics: what went wrong (or looks suspicious), and exactly where.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::tools::lint::LintCode;

/// A position in a policy file. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// The file name as given to the loader (or a caller-chosen name for in-memory text).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Location {
    /// The first character of `file`.
    pub fn start_of(file: &str) -> Self {
        Location {
            file: file.to_string(),
            line: 1,
            column: 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input is rejected; no engine is built from it.
    Error,
    /// The input is accepted but probably not what the author meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding about the input, with its file, line, column, resource and field path.
///
/// Load problems carry no code; lint findings ([`crate::tools::lint()`]) carry a stable
/// [`LintCode`] and a `help` line. Both are omitted from the JSON form when absent, so a
/// plain diagnostic serialises as `{severity, file, line, column, resource, field,
/// message}` and a lint finding as `{code, severity, …, message, help}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The lint code, for lint findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<LintCode>,
    /// Error or warning.
    pub severity: Severity,
    /// Where the offending text starts.
    #[serde(flatten)]
    pub location: Location,
    /// The resource, as `Kind namespace/name`, when the finding is inside one.
    pub resource: Option<String>,
    /// The field path inside the resource, such as `spec.rules[0].to[0].operation.paths[1]`.
    pub field: Option<String>,
    /// What is wrong, in one lower-case sentence.
    pub message: String,
    /// What to write instead (lint findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `location` that is not tied to a resource.
    pub fn error(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            code: None,
            severity: Severity::Error,
            location,
            resource: None,
            field: None,
            message: message.into(),
            help: None,
        }
    }

    /// A warning at `location` that is not tied to a resource.
    pub fn warning(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(location, message)
        }
    }

    /// Whether this diagnostic rejects the input.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// Renders `file:line:col: error: Kind ns/name: field: message`, the form compilers use,
    /// so editors and CI annotate the right line; a lint finding appends ` [code]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.location, self.severity)?;
        if let Some(resource) = &self.resource {
            write!(f, "{resource}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(code) = self.code {
            write!(f, " [{code}]")?;
        }
        Ok(())
    }
}
