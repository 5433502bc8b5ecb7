//! Lint: the pitfalls of egress authorization (SEMANTICS.md §6) found in loaded policies.
//!
//! Every finding is a warning [`Diagnostic`] with a stable [`LintCode`], the location of
//! the offending value, a message saying what goes wrong at run time and a `help` line
//! saying what to write instead. Locations come from the model's source map
//! ([`crate::model::SourceMap`]): no file is read or parsed again. A model loaded without
//! its sources ([`crate::Loader::keep_sources`]) gets the location of the rule or resource.
//!
//! The module follows its seams: `codes` (the [`LintCode`] table), `facts` (where
//! traffic goes), `locate` (field paths), `checks_values` and `checks_scope` (the checks),
//! `logic` (contradiction and subsumption of patterns).

mod checks_scope;
mod checks_values;
mod codes;
mod facts;
mod locate;
mod logic;

#[cfg(feature = "yaml")]
use std::path::Path;

use crate::diagnostic::{Diagnostic, Location, Severity};
#[cfg(feature = "yaml")]
use crate::error::Result;
#[cfg(feature = "yaml")]
use crate::import::Loader;
use crate::model::{Model, Policy, ResourceRef, Scope, Vendor};

pub use codes::{LintCode, CODES};

use facts::Facts;

/// One lint finding: a warning [`Diagnostic`] whose `code` and `help` are set. Displays as
/// `file:line:col: warning: Kind ns/name: field: message [code]`; serialises as `{code,
/// severity, file, line, column, resource, field, message, help}`.
pub type Lint = Diagnostic;

/// Whether `policy` is a TSB `EgressGateway`'s authorization (the gateway of unknown
/// traffic, SEMANTICS.md §8.3), where unregistered hosts are the design.
fn is_tsb_unknown_traffic_gateway(policy: &Policy) -> bool {
    policy.vendor == Vendor::Tsb
        && policy.id.kind == "EgressGateway"
        && matches!(&policy.scope, Scope::Gateway { .. })
}

/// Lints a loaded model. Findings are located at the offending value (when the model kept
/// its sources) and sorted by location, then code.
///
/// ```
/// use egress_policy::tools::{lint, LintCode};
/// let text = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
///             metadata: {name: d, namespace: egress}\nspec:\n  action: DENY\n  rules:\n  \
///             - to:\n    - operation:\n        hosts: [\"api.example.com\"]\n";
/// let model = egress_policy::import::load_str("p.yaml", text).unwrap();
/// let findings = lint(&model);
/// assert_eq!(findings[0].code, Some(LintCode::DenyHostWithoutPort));
/// assert_eq!((findings[0].location.line, findings[0].location.column), (9, 17));
/// ```
pub fn lint(model: &Model) -> Vec<Lint> {
    let mut cx = Linter {
        model,
        out: Vec::new(),
        facts: Facts::new(model),
    };
    for (pi, policy) in model.policies.iter().enumerate() {
        cx.values(policy);
        cx.never_matches(policy);
        cx.tcp(pi, policy);
        cx.not_in_registry(pi, policy);
    }
    cx.overlaps();
    cx.registry_suffixes();
    cx.registry_only();
    cx.unreachable_services();
    cx.unattached();
    let mut out = cx.out;
    out.sort_by(|a, b| {
        let key = |l: &Lint| {
            (
                l.location.clone(),
                l.code.map(LintCode::as_str),
                l.field.clone(),
                l.message.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    out.dedup();
    out
}

#[cfg(feature = "yaml")]
/// Loads `paths` and lints them: [`Loader::add_path`] for each, then [`lint()`].
pub fn lint_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Lint>> {
    let mut loader = Loader::new();
    for path in paths {
        loader.add_path(path)?;
    }
    Ok(lint(&loader.load()?))
}

// ------------------------------------------------------------------------------------------
// The checks

struct Linter<'m> {
    model: &'m Model,
    out: Vec<Lint>,
    facts: Facts<'m>,
}

impl Linter<'_> {
    /// Records a finding. `location` is the rule's (or resource's); with a field path and
    /// the model's sources the finding moves to the exact value the path names.
    fn push(
        &mut self,
        code: LintCode,
        location: Location,
        resource: Option<&ResourceRef>,
        field: Option<String>,
        message: String,
        help: String,
    ) {
        let location = match (resource, field.as_deref()) {
            (Some(resource), Some(path)) => self
                .model
                .sources
                .locate_in(resource, path, Some(&location.file))
                .unwrap_or(location),
            _ => location,
        };
        self.out.push(Diagnostic {
            code: Some(code),
            severity: Severity::Warning,
            location,
            resource: resource.map(ToString::to_string),
            field,
            message,
            help: Some(help),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_case_in_serde_display_and_table() {
        assert_eq!(CODES.len(), LintCode::ALL.len());
        for (code, (name, summary)) in LintCode::ALL.iter().zip(CODES) {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(code.to_string(), *name);
            assert_eq!(code.summary(), *summary);
            assert_eq!(LintCode::parse(name), Some(*code));
            assert_eq!(serde_json::from_str::<LintCode>(&json).unwrap(), *code);
        }
        assert_eq!(LintCode::parse("nope"), None);
    }
}
