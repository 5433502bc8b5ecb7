//! Path normalisation (SEMANTICS.md §1.12): percent-decoding, dot segments, slashes.

use std::borrow::Cow;

use crate::model::PathNormalization;

use super::Malformed;

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Normalises a raw path per the mesh setting (SEMANTICS.md §1.12). Returns the path used
/// for matching (query and fragment removed) and the path forwarded upstream (with query).
///
/// ```
/// use egress_policy::model::PathNormalization;
/// use egress_policy::request::normalize_path;
/// let (m, fwd) = normalize_path("/public/%2E%2E/private?x=1", PathNormalization::Base).unwrap();
/// assert_eq!(m, "/private");
/// assert_eq!(fwd, "/private?x=1");
/// ```
pub fn normalize_path(raw: &str, mode: PathNormalization) -> Result<(String, String), Malformed> {
    let (normalized, query) = normalize_path_split(raw, mode)?;
    let forwarded = match query {
        Some(q) => format!("{normalized}?{q}"),
        None => normalized.to_string(),
    };
    Ok((normalized.into_owned(), forwarded))
}

/// [`normalize_path`] returning the matched path (borrowed when normalisation leaves it
/// as it is) and the raw query separately.
pub(super) fn normalize_path_split(
    raw: &str,
    mode: PathNormalization,
) -> Result<(Cow<'_, str>, Option<&str>), Malformed> {
    // One pass: the path ends at the first `?` or `#`; the query at the first `#` after it.
    let end = raw
        .bytes()
        .position(|b| b == b'?' || b == b'#')
        .unwrap_or(raw.len());
    let path = raw.get(..end).unwrap_or(raw);
    let query = match raw.as_bytes().get(end) {
        Some(b'?') => raw.get(end + 1..).map(|rest| {
            let stop = rest.bytes().position(|b| b == b'#').unwrap_or(rest.len());
            rest.get(..stop).unwrap_or(rest)
        }),
        _ => None,
    };
    let bytes = path.as_bytes();
    // Also one pass: NUL (raw or `%00`), and whether anything needs normalising.
    let mut nul = false;
    let mut plain = true;
    let mut previous = 0u8;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            0 => nul = true,
            b'%' => {
                plain = false;
                nul |= bytes.get(i + 1..i + 3) == Some(b"00".as_slice());
            }
            b'\\' => plain = false,
            b'.' | b'/' if previous == b'/' => plain = false,
            _ => {}
        }
        previous = b;
    }
    if nul {
        return Err(Malformed::bad("path contains a NUL (`%00`)"));
    }
    if !path.starts_with('/') {
        return Err(Malformed::not_found(format!(
            "path `{path}` does not start with `/`"
        )));
    }
    // Fast path: nothing to decode, no backslash, no dot segment, no repeated slash:
    // every mode leaves such a path unchanged.
    if plain || mode == PathNormalization::None {
        return Ok((Cow::Borrowed(path), query));
    }
    let normalized = match mode {
        PathNormalization::None => path.to_string(),
        PathNormalization::Base => base_normalize(path),
        PathNormalization::MergeSlashes => merge_slashes(&base_normalize(path)),
        PathNormalization::DecodeAndMergeSlashes => {
            merge_slashes(&base_normalize(&decode_slashes(path)))
        }
    };
    Ok((Cow::Owned(normalized), query))
}

/// Decodes `%2F`/`%2f` to `/` and `%5C`/`%5c` to `\`.
fn decode_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('%') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let code = rest.get(at + 1..at + 3).map(str::to_ascii_uppercase);
        match code.as_deref() {
            Some("2F") => {
                out.push('/');
                rest = rest.get(at + 3..).unwrap_or_default();
            }
            Some("5C") => {
                out.push('\\');
                rest = rest.get(at + 3..).unwrap_or_default();
            }
            _ => {
                out.push('%');
                rest = rest.get(at + 1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// Envoy `normalize_path`: decode unreserved percent-escapes, `\` to `/`, remove dot segments.
fn base_normalize(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value);
            let lo = bytes.get(i + 2).copied().and_then(hex_value);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                let value = hi * 16 + lo;
                if is_unreserved(value) {
                    decoded.push(value);
                } else {
                    // Escapes that stay are copied exactly, hex case included: Envoy's URL
                    // canonicalizer (url_canon_path.cc) keeps them "in case the server is
                    // sensitive to changing the case of any hex letters".
                    decoded.extend(bytes.get(i..i + 3).unwrap_or_default());
                }
                i += 3;
                continue;
            }
        }
        decoded.push(if b == b'\\' { b'/' } else { b });
        i += 1;
    }
    let decoded = String::from_utf8_lossy(&decoded).into_owned();
    remove_dot_segments(&decoded)
}

/// RFC 3986 §5.2.4 on an absolute path; `..` above the root stays at the root.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (index, segment) in segments.iter().enumerate() {
        match *segment {
            "." => trailing_slash = index == last,
            ".." => {
                output.pop();
                trailing_slash = index == last;
            }
            s => {
                output.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut result = String::with_capacity(path.len());
    for segment in &output {
        result.push('/');
        result.push_str(segment);
    }
    if trailing_slash || result.is_empty() {
        result.push('/');
    }
    result
}

fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}
