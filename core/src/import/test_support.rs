//! Helpers shared by the importers' tests: load a text, collect its errors, and check a
//! diagnostic's position, resource, field and message.

use crate::diagnostic::Diagnostic;
use crate::import::load_str;
use crate::model::{Field, Model};

/// The model of a load that must succeed.
pub(crate) fn load(file: &str, text: &str) -> Model {
    match load_str(file, text) {
        Ok(model) => model,
        Err(err) => panic!("expected a clean load, got:\n{err}"),
    }
}

/// Every error of a load that must fail.
pub(crate) fn errors(file: &str, text: &str) -> Vec<Diagnostic> {
    match load_str(file, text) {
        Ok(_) => panic!("expected errors"),
        Err(err) => err
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect(),
    }
}

/// 1-based line and column of the first occurrence of `needle`.
pub(crate) fn at(text: &str, needle: &str) -> (u32, u32) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line as u32, column as u32)
}

/// Checks that `d` is in `file` at the first `needle` of `text`, about `resource` and
/// `field`, and that its message contains `message`.
#[track_caller]
pub(crate) fn assert_diag_in(
    file: &str,
    d: &Diagnostic,
    text: &str,
    needle: &str,
    (resource, field, message): (&str, &str, &str),
) {
    assert_eq!(d.location.file, file);
    assert_eq!(
        (d.location.line, d.location.column),
        at(text, needle),
        "{d}"
    );
    assert_eq!(d.resource.as_deref(), Some(resource), "{d}");
    assert_eq!(d.field.as_deref(), Some(field), "{d}");
    assert!(
        d.message.contains(message),
        "`{}` lacks `{message}`",
        d.message
    );
}

/// A model field of `values` only.
pub(crate) fn vals<P>(values: Vec<P>) -> Field<P> {
    Field {
        values,
        not_values: Vec::new(),
    }
}
