//! The class of a request: identity, host, method and path class.

use std::fmt::Write as _;

use crate::request::{Protocol, Request, RequestRef};

use super::SEPARATOR;

/// Appends a request's class (identity, host, method, path class; [`classify`]'s values)
/// to a row key without allocating.
pub(super) fn write_class(key: &mut String, request: &RequestRef<'_>) {
    match request.principal {
        Some(p) => key.push_str(p.strip_prefix("spiffe://").unwrap_or(p)),
        None => key.push('-'),
    }
    key.push(SEPARATOR);
    let host = request
        .host
        .or(request.sni)
        .or_else(|| request.url.map(url_authority))
        .unwrap_or("-");
    key.push_str(host);
    if request.protocol.is_some_and(|p| p != Protocol::Http) {
        if let Some(port) = request.port.filter(|_| !host.contains(':')) {
            let _ = write!(key, ":{port}");
        }
        key.push(SEPARATOR);
        key.push('-');
        key.push(SEPARATOR);
        key.push('-');
        key.push(SEPARATOR);
        return;
    }
    key.push(SEPARATOR);
    key.push_str(request.method.unwrap_or("-"));
    key.push(SEPARATOR);
    let url_path = request.url.map(url_path);
    write_path_class(key, request.path.or(url_path).unwrap_or("/"), 1);
    key.push(SEPARATOR);
}

/// The class attributes of a request: identity, host, method, path class.
pub fn classify(request: &Request) -> (String, String, String, String) {
    classify_view(&request.view())
}

/// [`classify`] of a borrowed request.
pub(super) fn classify_view(request: &RequestRef<'_>) -> (String, String, String, String) {
    let identity = request
        .principal
        .map(|p| p.strip_prefix("spiffe://").unwrap_or(p).to_string())
        .unwrap_or_else(|| "-".to_string());
    let host = request
        .host
        .or(request.sni)
        .or_else(|| request.url.map(url_authority))
        .unwrap_or("-")
        .to_string();
    if request.protocol.is_some_and(|p| p != Protocol::Http) {
        let host = match request.port {
            Some(port) if !host.contains(':') => format!("{host}:{port}"),
            _ => host,
        };
        return (identity, host, "-".to_string(), "-".to_string());
    }
    let method = request.method.unwrap_or("-").to_string();
    let url_path = request.url.map(url_path);
    let path = path_class(request.path.or(url_path).unwrap_or("/"), 1);
    (identity, host, method, path)
}

/// `http://host:port/path` → `host:port`.
fn url_authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// `http://host/path?q` → `/path?q`.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/")
}

/// A path cut after `depth` segments (`/api/v1/x`, 1 → `/api/*`); query and fragment
/// dropped; depth 0 is `/*` (any path).
pub fn path_class(path: &str, depth: usize) -> String {
    let mut out = String::new();
    write_path_class(&mut out, path, depth);
    out
}

/// Appends [`path_class`]`(path, depth)` to `out`.
fn write_path_class(out: &mut String, path: &str, depth: usize) {
    let path = path.split(['?', '#']).next().unwrap_or("/");
    if depth == 0 {
        out.push_str("/*");
        return;
    }
    let start = out.len();
    let mut segments = path.trim_start_matches('/').split('/');
    for _ in 0..depth {
        match segments.next() {
            Some(segment) => {
                out.push('/');
                out.push_str(segment);
            }
            None => break,
        }
    }
    if segments.next().is_some() {
        out.push_str("/*");
    }
    if out.len() == start {
        out.push('/');
    }
}
