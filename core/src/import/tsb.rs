//! tsb resources.

use crate::diagnostic::Diagnostic;
use crate::model::Model;

use super::decode::Cx;
use super::Doc;

/// Imports the document if it is a tsb kind; returns whether it was.
pub(crate) fn import(_cx: &mut Cx, _doc: &Doc, _model: &mut Model) -> bool {
    false
}

/// Resolves references once everything is loaded.
pub(crate) fn link(_model: &mut Model, _diags: &mut Vec<Diagnostic>) {}
