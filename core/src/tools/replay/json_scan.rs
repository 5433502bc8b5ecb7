//! A fast path for the common Envoy JSON access-log line: one flat object whose keys and
//! string values carry no escapes, and whose other values are numbers, `true`, `false` or
//! `null`. Such a line is read here without serde's per-token dispatch; any other line
//! (nested values, escapes, control characters, anything malformed) returns `None`, and
//! the caller reads it with serde_json, which then gives the answer — or the error message
//! — for it. So the fast path never decides anything serde_json would decide differently:
//! `core/src/tools/replay/logs.rs` tests both on the same lines.

use std::borrow::Cow;

use super::logs::{Field, Observed};

/// Reads `line` when it has the simple shape; `field_of` maps a key to the attribute it
/// fills.
pub(super) fn scan<'a>(
    line: &'a str,
    field_of: impl Fn(&str) -> Option<Field>,
) -> Option<Observed<'a>> {
    let bytes = line.as_bytes();
    // One vectorized pass over the line: an escape or a control character anywhere (even a
    // tab between tokens, which JSON allows) leaves the line to serde_json, so `string`
    // only looks for the closing quote.
    if bytes
        .iter()
        .fold(false, |seen, &b| seen | (b < 0x20) | (b == b'\\'))
    {
        return None;
    }
    let mut at = skip_ws(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_ws(bytes, at + 1);
    let mut observed = Observed::default();
    if bytes.get(at) == Some(&b'}') {
        return end(bytes, at + 1).then_some(observed);
    }
    loop {
        let (key, after_key) = string(line, at)?;
        at = skip_ws(bytes, after_key);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(bytes, at + 1);
        let field = field_of(key);
        match bytes.get(at)? {
            b'"' => {
                let (value, after) = string(line, at)?;
                if let Some(field) = field {
                    observed.set(field, Cow::Borrowed(value));
                }
                at = after;
            }
            b'n' => {
                // `null` fills nothing, whether the key is wanted or not.
                at = literal(bytes, at, b"null")?;
            }
            b't' | b'f' if field.is_none() => {
                let word: &[u8] = if bytes.get(at) == Some(&b't') {
                    b"true"
                } else {
                    b"false"
                };
                at = literal(bytes, at, word)?;
            }
            b'-' | b'0'..=b'9' if field.is_none() => at = number(bytes, at)?,
            // A wanted number or boolean, an object or an array: serde_json's reading.
            _ => return None,
        }
        at = skip_ws(bytes, at);
        match bytes.get(at)? {
            b',' => at = skip_ws(bytes, at + 1),
            b'}' => return end(bytes, at + 1).then_some(observed),
            _ => return None,
        }
    }
}

/// JSON whitespace.
fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Whether only whitespace follows `at`.
fn end(bytes: &[u8], at: usize) -> bool {
    skip_ws(bytes, at) == bytes.len()
}

/// The string starting with the quote at `at`, and the index after its closing quote
/// (`scan` made sure the line has no escape and no control character).
fn string(line: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = line.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let close = memchr::memchr(b'"', bytes.get(start..)?)?;
    // Quotes are ASCII, so both ends are character boundaries.
    Some((line.get(start..start + close)?, start + close + 1))
}

/// The index after `word` at `at`.
fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    (bytes.get(at..at + word.len())? == word).then_some(at + word.len())
}

/// The index after a JSON number at `at` (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
fn number(bytes: &[u8], mut at: usize) -> Option<usize> {
    let digits = |at: &mut usize| {
        let start = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at > start
    };
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => {
            digits(&mut at);
        }
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        if !digits(&mut at) {
            return None;
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !digits(&mut at) {
            return None;
        }
    }
    Some(at)
}
