//! The decision of a request through the borrowed view a proxy builds, and through a
//! prepared request detached from the request and the engine.

use egress_policy::request::{HeaderValue, RequestRef, Workload};
use egress_policy::{Connection, Engine, Request};

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
/// road, so this one borrows it from the memo), through a prepared request detached from
/// the request and the engine, and on a connection made of the request's sender fields
/// (the request's own replaced by a stranger's, which the connection overrides), on
/// `engine` and on `on_connections`, an engine of the same model that only ever prepares
/// on connections (so that a connection's request walks its road itself): all must be the
/// reference's.
pub fn view_decisions(
    engine: &Engine,
    on_connections: &Engine,
    request: &Request,
) -> [egress_policy::Decision; 4] {
    let pairs = header_pairs(request);
    let view = egress_policy::request::RequestRef {
        headers: egress_policy::request::Headers::Pairs(&pairs),
        ..request.view()
    };
    let viewed = engine
        .decide_prepared(&engine.prepare_ref(&view))
        .to_decision();
    let owned = engine.prepare(request).into_owned();
    let connection = Connection::new(&view);
    let stranger = Workload {
        namespace: "stranger".into(),
        labels: [("app".to_string(), "stranger".to_string())].into(),
    };
    let on_other = RequestRef {
        principal: Some("cluster.local/ns/stranger/sa/stranger"),
        source_namespace: Some("stranger"),
        cluster: Some("stranger"),
        workload: Some(&stranger),
        ..view
    };
    [
        viewed,
        engine.decide_prepared(&owned).to_decision(),
        engine
            .decide_prepared(&engine.prepare_on(&connection, &on_other))
            .to_decision(),
        on_connections
            .decide_prepared(&on_connections.prepare_on(&connection, &on_other))
            .to_decision(),
    ]
}
