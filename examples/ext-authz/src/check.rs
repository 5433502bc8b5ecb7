//! `CheckRequest` → the core's borrowed request view (or an owned [`Request`]), and the
//! core's verdict → `CheckResponse`.
//!
//! Denials are answered through [`egress_policy::response`], so the status, body and
//! headers are the same as the proxy-wasm filter's.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use egress_policy::compile::Verdict;
use egress_policy::model::{Condition, Model};
use egress_policy::request::{xfcc_uri, HeaderValue, Headers, RequestRef, RequestSource, Workload};
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

/// Maps Envoy's `CheckRequest` attributes to an owned core request (see [`map_view`],
/// which the server uses: it copies nothing).
pub fn map_request(
    mapping: &Mapping,
    needs: &Needs,
    check: &CheckRequest,
) -> Result<Request, Denial> {
    map_view(mapping, needs, check).map(|m| m.to_request())
}

/// A `CheckRequest` mapped for the core without copying it: [`Mapped::view`] borrows the
/// authority, method, path, headers, addresses and SNI from the check (only a principal
/// read from `x-forwarded-client-cert` is made).
#[derive(Debug, Clone)]
pub struct Mapped<'c> {
    workload: Option<&'c Workload>,
    port: Option<u16>,
    host: Option<&'c str>,
    method: Option<&'c str>,
    path: Option<&'c str>,
    /// The headers a decision can read (and the invalid names), in arrival order.
    headers: Vec<(&'c str, &'c str)>,
    principal: Option<Cow<'c, str>>,
    source_ip: Option<&'c str>,
    destination_ip: Option<&'c str>,
    sni: Option<&'c str>,
}

impl Mapped<'_> {
    /// The core's borrowed request view.
    pub fn view(&self) -> RequestRef<'_> {
        RequestRef {
            workload: self.workload,
            port: self.port,
            host: self.host,
            method: self.method,
            path: self.path,
            headers: Headers::Pairs(&self.headers),
            principal: self.principal.as_deref(),
            source_ip: self.source_ip,
            destination_ip: self.destination_ip,
            sni: self.sni,
            ..RequestRef::default()
        }
    }

    /// The same request, owned (header names lower-cased, repeated ones as lists).
    pub fn to_request(&self) -> Request {
        let mut headers: BTreeMap<String, HeaderValue> = BTreeMap::new();
        for (name, value) in &self.headers {
            let name = name.to_ascii_lowercase();
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
        let text = |t: Option<&str>| t.map(str::to_string);
        Request {
            workload: self.workload.cloned(),
            port: self.port,
            host: text(self.host),
            method: text(self.method),
            path: text(self.path),
            headers,
            source: RequestSource {
                principal: text(self.principal.as_deref()),
                ip: text(self.source_ip),
                ..RequestSource::default()
            },
            destination_ip: text(self.destination_ip),
            sni: text(self.sni),
            ..Request::default()
        }
    }
}

/// The values of header `name` (lower case) among `headers`, in order.
fn values_of<'h>(headers: &[(&'h str, &'h str)], name: &str) -> Vec<&'h str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
        .collect()
}

/// Maps Envoy's `CheckRequest` attributes to the core's borrowed request view, or the
/// denial for a request that cannot be decided (over the limits, ambiguous identity, a
/// header value that is not UTF-8). Only the headers in `needs` (and the invalid names,
/// which make the request malformed) are kept; the decision is the one every header
/// would give. A malformed header name is reported as sent (not lower-cased).
pub fn map_view<'c>(
    mapping: &'c Mapping,
    needs: &Needs,
    check: &'c CheckRequest,
) -> Result<Mapped<'c>, Denial> {
    let mut mapped = Mapped {
        workload: mapping.workload.as_ref(),
        port: mapping.port,
        host: None,
        method: None,
        path: None,
        headers: Vec::new(),
        principal: None,
        source_ip: None,
        destination_ip: None,
        sni: None,
    };
    let Some(attributes) = check.attributes.as_ref() else {
        return Ok(mapped);
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
        mapped.host = non_empty(&http.host);
        mapped.method = non_empty(&http.method);
        mapped.path = non_empty(&http.path);
        // Envoy already joined repeated headers of this map with `,`.
        for (name, value) in &http.headers {
            if !name.starts_with(':') && keep(name) {
                mapped.headers.push((name, value));
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
            if keep(&header.key) {
                mapped.headers.push((&header.key, value));
            }
        }
        if mapped.host.is_none() {
            mapped.host = match values_of(&mapped.headers, "host")[..] {
                [one] => non_empty(one),
                _ => None,
            };
        }
    }
    let source = attributes.source.as_ref();
    mapped.principal = source
        .and_then(|s| non_empty(&s.principal))
        .map(Cow::Borrowed);
    if mapped.principal.is_none() && mapping.use_xfcc {
        mapped.principal = values_of(&mapped.headers, "x-forwarded-client-cert")
            .last()
            .and_then(|v| xfcc_uri(v))
            .map(Cow::Owned);
    }
    if mapped.principal.is_none() {
        if let Some(name) = mapping.source_header.as_deref() {
            mapped.principal =
                identity_from_header(name, values_of(&mapped.headers, name))?.map(Cow::Borrowed);
        }
    }
    mapped.source_ip = source.and_then(peer_ip);
    mapped.destination_ip = attributes.destination.as_ref().and_then(peer_ip);
    mapped.sni = attributes
        .tls_session
        .as_ref()
        .and_then(|t| non_empty(&t.sni));
    if needs.headers.is_some() {
        // The headers only the mapping read go no further.
        mapped
            .headers
            .retain(|(name, _)| needs.wants(name) || invalid_name(name));
    }
    Ok(mapped)
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
    answer(mapping, &engine.decide_prepared(&prepared), generation)
}

/// [`respond`] for a check mapped by [`map_view`]: the core digests the view borrowed from
/// Envoy's `CheckRequest`, nothing of it is copied.
pub fn respond_view(
    mapping: &Mapping,
    engine: &Engine,
    generation: u64,
    mapped: Result<Mapped<'_>, Denial>,
) -> Answer {
    let generation = mapping.test_mode.then(|| generation.to_string());
    let mapped = match mapped {
        Ok(mapped) => mapped,
        Err(denial) => return deny(denial, generation),
    };
    let prepared = engine.prepare_ref(&mapped.view());
    answer(mapping, &engine.decide_prepared(&prepared), generation)
}

/// Envoy's answer for `verdict`.
fn answer(mapping: &Mapping, verdict: &Verdict<'_>, generation: Option<String>) -> Answer {
    if let Some(denial) = Denial::of_verdict(verdict) {
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

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn peer_ip(peer: &Peer) -> Option<&str> {
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
