//! `CheckRequest` → core [`Request`], and the core's verdict → `CheckResponse`.
//!
//! Denials are answered through [`egress_policy::response`], so the status, body and
//! headers are the same as the proxy-wasm filter's.

use std::collections::{BTreeMap, BTreeSet};

use egress_policy::model::{Condition, Model};
use egress_policy::request::{xfcc_uri, HeaderValue, RequestSource, Workload};
use egress_policy::response::{
    identity_from_header, Denial, GENERATION_HEADER, POLICY_HEADER, REASON_HEADER,
};
use egress_policy::{Engine, Request};
use envoy_types::ext_authz::v3::pb::{
    Address, CheckRequest, CheckResponse, HeaderAppendAction, HttpStatusCode,
};
use envoy_types::ext_authz::v3::{
    CheckResponseExt, DeniedHttpResponseBuilder, OkHttpResponseBuilder,
};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::Peer;

/// Bounds on what one `CheckRequest` may carry; beyond them the request is denied (400)
/// without being decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most request headers (Envoy's own default limit is 100).
    pub max_headers: usize,
    /// Most bytes of header names and values together (Envoy's default is 60 KiB).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 1000,
            max_header_bytes: 256 * 1024,
        }
    }
}

/// How requests are mapped (from the command line).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The enforcing proxy; `None` = the gateway the registry routes the host to (only
    /// with `--route-by-registry`).
    pub workload: Option<Workload>,
    /// A header carrying the principal when Envoy reports no peer principal (lower case).
    pub source_header: Option<String>,
    /// Read `URI=` of `x-forwarded-client-cert` when Envoy reports no peer principal.
    pub use_xfcc: bool,
    /// A fixed destination port; by default the port of the authority, else 80.
    pub port: Option<u16>,
    /// Request size bounds.
    pub limits: Limits,
    /// Add [`GENERATION_HEADER`] to every answer (tests: ties a response to the engine).
    pub test_mode: bool,
}

/// The request headers the loaded policies can read: `when` conditions
/// (`request.headers[...]`) and VirtualService route matches. No other header can change a
/// decision, so only these are copied into the core request (as the proxy-wasm filter
/// does); copying every header of every check costs two allocations per header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Lower-cased names, sorted; `None` = every header.
    headers: Option<Vec<String>>,
}

impl Needs {
    /// Every header (what a mapping without an engine at hand must assume).
    pub const ALL: Needs = Needs { headers: None };

    /// The headers read by any policy rule or route match of `model`.
    pub fn of(model: &Model) -> Self {
        let mut headers = BTreeSet::new();
        for route in model.virtual_services.iter().flat_map(|vs| &vs.http) {
            for m in &route.matches {
                headers.extend(m.headers.iter().map(|(name, _)| name.to_ascii_lowercase()));
            }
        }
        for rule in model.policies.iter().flat_map(|p| &p.rules) {
            for condition in &rule.when {
                if let Condition::RequestHeader { name, .. } = condition {
                    headers.insert(name.to_ascii_lowercase());
                }
            }
        }
        Needs {
            headers: Some(headers.into_iter().collect()),
        }
    }

    /// The lower-cased names read, sorted (`None` = every header).
    pub fn headers(&self) -> Option<&[String]> {
        self.headers.as_deref()
    }

    /// Whether a header named `name` (any case) can change a decision.
    pub fn wants(&self, name: &str) -> bool {
        match &self.headers {
            None => true,
            Some(headers) => headers
                .binary_search_by(|h| h.bytes().cmp(name.bytes().map(|b| b.to_ascii_lowercase())))
                .is_ok(),
        }
    }
}

/// A header name the core refuses (the whole request is then malformed, 400): such a
/// header is always copied, so that the answer stays the one every header would give.
fn invalid_name(name: &str) -> bool {
    name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Maps Envoy's `CheckRequest` attributes to the core's request, copying every header
/// (see [`map_request`] for the copy of only the headers a policy reads).
pub fn to_request(mapping: &Mapping, check: &CheckRequest) -> Result<Request, Denial> {
    map_request(mapping, &Needs::ALL, check)
}

/// Maps Envoy's `CheckRequest` attributes to the core's request, or the denial for a
/// request that cannot be decided (over the limits, ambiguous identity, a header value
/// that is not UTF-8). Only the headers in `needs` (and the invalid names, which make the
/// request malformed) are copied; the decision is the one every header would give.
pub fn map_request(
    mapping: &Mapping,
    needs: &Needs,
    check: &CheckRequest,
) -> Result<Request, Denial> {
    let mut request = Request {
        workload: mapping.workload.clone(),
        port: mapping.port,
        ..Request::default()
    };
    let Some(attributes) = check.attributes.as_ref() else {
        return Ok(request);
    };
    // The headers the mapping itself reads (host, identity), besides those a policy reads.
    let read_here = |name: &str| {
        name.eq_ignore_ascii_case("host")
            || mapping
                .source_header
                .as_deref()
                .is_some_and(|h| name.eq_ignore_ascii_case(h))
            || (mapping.use_xfcc && name.eq_ignore_ascii_case("x-forwarded-client-cert"))
    };
    let keep = |name: &str| needs.wants(name) || read_here(name) || invalid_name(name);
    let http = attributes.request.as_ref().and_then(|r| r.http.as_ref());
    let mut headers: BTreeMap<String, HeaderValue> = BTreeMap::new();
    if let Some(http) = http {
        let raw = http.header_map.as_ref().map_or(&[][..], |m| &m.headers[..]);
        let count = http.headers.len().saturating_add(raw.len());
        let bytes: usize = http
            .headers
            .iter()
            .map(|(k, v)| k.len().saturating_add(v.len()))
            .chain(raw.iter().map(|h| {
                h.key
                    .len()
                    .saturating_add(h.value.len())
                    .saturating_add(h.raw_value.len())
            }))
            .fold(0, usize::saturating_add);
        if count > mapping.limits.max_headers || bytes > mapping.limits.max_header_bytes {
            return Err(Denial::malformed(&format!(
                "{count} request headers of {bytes} bytes (limits: {} headers, {} bytes)",
                mapping.limits.max_headers, mapping.limits.max_header_bytes
            )));
        }
        request.host = non_empty(&http.host);
        request.method = non_empty(&http.method);
        request.path = non_empty(&http.path);
        for (name, value) in &http.headers {
            if !name.starts_with(':') && keep(name) {
                // Envoy already joined repeated headers with `,`.
                headers.insert(name.to_ascii_lowercase(), HeaderValue::One(value.clone()));
            }
        }
        // `encode_raw_headers: true`: one entry per occurrence, values as bytes.
        for header in raw {
            if header.key.starts_with(':') {
                continue;
            }
            // Every value is checked, read or not: a value that is not UTF-8 is refused.
            let value = if header.raw_value.is_empty() {
                header.value.as_str()
            } else {
                match std::str::from_utf8(&header.raw_value) {
                    Ok(v) => v,
                    Err(_) => {
                        return Err(Denial::malformed(&format!(
                            "header `{}` is not UTF-8",
                            header.key.to_ascii_lowercase().escape_default()
                        )))
                    }
                }
            };
            if !keep(&header.key) {
                continue;
            }
            let name = header.key.to_ascii_lowercase();
            let value = value.to_string();
            match headers.get_mut(&name) {
                Some(HeaderValue::Many(values)) => values.push(value),
                Some(HeaderValue::One(first)) => {
                    let first = std::mem::take(first);
                    headers.insert(name, HeaderValue::Many(vec![first, value]));
                }
                None => {
                    headers.insert(name, HeaderValue::One(value));
                }
            }
        }
        if request.host.is_none() {
            request.host = match headers.get("host") {
                Some(HeaderValue::One(v)) => non_empty(v),
                _ => None,
            };
        }
    }
    let source = attributes.source.as_ref();
    let mut principal = source.and_then(|s| non_empty(&s.principal));
    if principal.is_none() && mapping.use_xfcc {
        principal = values(&headers, "x-forwarded-client-cert")
            .last()
            .and_then(|v| xfcc_uri(v));
    }
    if principal.is_none() {
        if let Some(name) = mapping.source_header.as_deref() {
            principal = identity_from_header(name, values(&headers, name))?.map(str::to_string);
        }
    }
    request.source = RequestSource {
        principal,
        ip: source.and_then(peer_ip),
        ..RequestSource::default()
    };
    request.destination_ip = attributes.destination.as_ref().and_then(peer_ip);
    request.sni = attributes
        .tls_session
        .as_ref()
        .and_then(|t| non_empty(&t.sni));
    if needs.headers.is_some() {
        // The headers only the mapping read go no further.
        headers.retain(|name, _| needs.wants(name) || invalid_name(name));
    }
    request.headers = headers;
    Ok(request)
}

fn values<'h>(headers: &'h BTreeMap<String, HeaderValue>, name: &str) -> Vec<&'h str> {
    match headers.get(name) {
        Some(HeaderValue::One(v)) => vec![v.as_str()],
        Some(HeaderValue::Many(vs)) => vs.iter().map(String::as_str).collect(),
        None => Vec::new(),
    }
}

/// A decided check: the answer for Envoy, with what the metrics record.
#[derive(Debug)]
pub struct Answer {
    /// The gRPC response.
    pub response: CheckResponse,
    /// HTTP status of the decision (200 when allowed).
    pub status: u16,
    /// Reason code.
    pub reason: &'static str,
}

/// Decides `request` (or answers its mapping error) with `engine` at `generation`, and
/// builds Envoy's answer.
pub fn respond(
    mapping: &Mapping,
    engine: &Engine,
    generation: u64,
    request: Result<Request, Denial>,
) -> Answer {
    let generation = mapping.test_mode.then(|| generation.to_string());
    let request = match request {
        Ok(request) => request,
        Err(denial) => return deny(denial, generation),
    };
    let prepared = engine.prepare(&request);
    let verdict = engine.decide_prepared(&prepared);
    if let Some(denial) = Denial::of_verdict(&verdict) {
        return deny(denial, generation);
    }
    let mut ok = OkHttpResponseBuilder::new();
    if let Some(name) = &mapping.source_header {
        // The stand-in identity never reaches the upstream.
        ok.remove_header(name.as_str());
    }
    if let Some((_, mutations)) = verdict.route().and_then(|r| r.headers) {
        for name in &mutations.remove {
            ok.remove_header(name.as_str());
        }
        for (name, value) in &mutations.set {
            ok.add_header(
                name.as_str(),
                value.as_str(),
                Some(HeaderAppendAction::OverwriteIfExistsOrAdd),
                true,
            );
        }
        for (name, value) in &mutations.add {
            ok.add_header(
                name.as_str(),
                value.as_str(),
                Some(HeaderAppendAction::AppendIfExistsOrAdd),
                true,
            );
        }
    }
    if let Some(generation) = generation {
        ok.add_response_header(
            GENERATION_HEADER,
            generation,
            Some(HeaderAppendAction::OverwriteIfExistsOrAdd),
            true,
        );
    }
    let mut response = CheckResponse::with_status(tonic::Status::ok("allowed"));
    response.set_http_response(ok);
    Answer {
        response,
        status: verdict.status(),
        reason: verdict.reason().as_str(),
    }
}

fn deny(denial: Denial, generation: Option<String>) -> Answer {
    let code =
        HttpStatusCode::try_from(i32::from(denial.status)).unwrap_or(HttpStatusCode::Forbidden);
    let mut denied = DeniedHttpResponseBuilder::new();
    denied
        .set_http_status(code)
        .add_header(POLICY_HEADER, denial.policy, None, true)
        .add_header(REASON_HEADER, denial.reason, None, true)
        .add_header("content-type", "text/plain", None, true)
        .set_body(denial.body.into_owned());
    if let Some(generation) = generation {
        denied.add_header(GENERATION_HEADER, generation, None, true);
    }
    let mut response = CheckResponse::with_status(tonic::Status::permission_denied(denial.reason));
    response.set_http_response(denied);
    Answer {
        response,
        status: denial.status,
        reason: denial.reason,
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

fn peer_ip(peer: &Peer) -> Option<String> {
    match peer.address.as_ref()?.address.as_ref()? {
        Address::SocketAddress(socket) => non_empty(&socket.address),
        _ => None,
    }
}

/// Parses `--workload`: `NS`, `NS/NAME` (the Gateway-API gateway or waypoint `NAME`) or
/// `NS/key=value,key=value` (pod labels).
pub fn parse_workload(text: &str) -> Result<Workload, String> {
    if !text.contains('/') {
        if text.trim().is_empty() {
            return Err(format!("workload `{text}` has an empty namespace"));
        }
        return Ok(Workload {
            namespace: text.trim().to_string(),
            labels: BTreeMap::new(),
        });
    }
    text.parse::<Workload>()
        .map_err(|e| format!("workload `{text}`: {e}"))
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
