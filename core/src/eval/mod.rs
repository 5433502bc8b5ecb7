//! The reference evaluator: SEMANTICS.md §1–§8 written as literally as possible.

use crate::decision::{Decision, Explanation};
use crate::model::Model;
use crate::request::Request;

/// Decides one request against the model.
pub fn decide(model: &Model, request: &Request) -> Decision {
    explain(model, request).decision
}

/// Decides and explains one request.
pub fn explain(_model: &Model, _request: &Request) -> Explanation {
    todo!()
}
