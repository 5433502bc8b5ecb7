//! The decision of a request through the borrowed view a proxy builds, and through a
//! prepared request detached from the request and the engine.

use egress_policy::request::HeaderValue;
use egress_policy::{Engine, Request};

/// The request as a proxy hands it over: headers as `(name, value)` pairs in arrival
/// order, a repeated header as repeated pairs (an empty repeat as one empty value).
fn header_pairs(request: &Request) -> Vec<(&str, &str)> {
    let mut pairs = Vec::new();
    for (name, value) in &request.headers {
        match value {
            HeaderValue::One(v) => pairs.push((name.as_str(), v.as_str())),
            HeaderValue::Many(vs) if vs.is_empty() => pairs.push((name.as_str(), "")),
            HeaderValue::Many(vs) => pairs.extend(vs.iter().map(|v| (name.as_str(), v.as_str()))),
        }
    }
    pairs
}

/// The decision through the borrowed view with pairs for headers (after `decide` walked the
/// road, so this one borrows it from the memo), and through a prepared request detached
/// from the request and the engine: both must be the reference's.
pub fn view_decisions(engine: &Engine, request: &Request) -> [egress_policy::Decision; 2] {
    let pairs = header_pairs(request);
    let view = egress_policy::request::RequestRef {
        headers: egress_policy::request::Headers::Pairs(&pairs),
        ..request.view()
    };
    let viewed = engine
        .decide_prepared(&engine.prepare_ref(&view))
        .to_decision();
    let owned = engine.prepare(request).into_owned();
    [viewed, engine.decide_prepared(&owned).to_decision()]
}
