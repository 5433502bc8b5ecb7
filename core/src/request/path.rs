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

/// Byte classes of a raw path (see [`PATH_BYTES`]); 0 for a byte that needs nothing.
const PATH_END: u8 = 1;
const PATH_PERCENT: u8 = 2;
const PATH_NUL: u8 = 4;
const PATH_BACKSLASH: u8 = 8;
const PATH_SLASH: u8 = 16;
const PATH_DOT: u8 = 32;

/// The class of every byte of a raw path.
// Indexing in a constant is checked when the crate compiles: it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const PATH_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'?' as usize] = PATH_END;
    table[b'#' as usize] = PATH_END;
    table[b'%' as usize] = PATH_PERCENT;
    table[0] = PATH_NUL;
    table[b'\\' as usize] = PATH_BACKSLASH;
    table[b'/' as usize] = PATH_SLASH;
    table[b'.' as usize] = PATH_DOT;
    table
};

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
    let raw_bytes = raw.as_bytes();
    let Scan { end, nul, plain } = scan(raw_bytes);
    let path = raw.get(..end).unwrap_or(raw);
    let query = match raw_bytes.get(end) {
        Some(b'?') => raw.get(end + 1..).map(|rest| {
            let stop = rest.bytes().position(|b| b == b'#').unwrap_or(rest.len());
            rest.get(..stop).unwrap_or(rest)
        }),
        _ => None,
    };
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
    Ok((Cow::Owned(normalize_in_full(path, mode)), query))
}

/// What one pass over a raw path finds: where the path ends (the first `?` or `#`), whether
/// it holds a NUL (raw or `%00`), and whether nothing in it needs normalising (no escape, no
/// backslash, no `.` or `/` right after a `/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scan {
    end: usize,
    nul: bool,
    plain: bool,
}

/// Eight bytes at a time while they hold none of `?#%\` or NUL (most of a path: a word
/// then costs a few masks instead of eight table lookups), then a table lookup per byte
/// ([`scan_bytes`]) from the first word that holds one.
#[inline]
fn scan(raw: &[u8]) -> Scan {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of every byte of `w` equal to `b` (exact: no carry crosses a byte).
    let equal = |w: u64, b: u8| {
        let x = w ^ (LOW * u64::from(b));
        !(((x & !HIGH).wrapping_add(!HIGH)) | x) & HIGH
    };
    let mut plain = true;
    let mut after_slash = false;
    let mut at = 0;
    for chunk in raw.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let special =
            equal(w, b'?') | equal(w, b'#') | equal(w, b'%') | equal(w, b'\\') | equal(w, 0);
        if special != 0 {
            break;
        }
        let slash = equal(w, b'/');
        let dot_or_slash = slash | equal(w, b'.');
        // A `/` followed by `.` or `/` (little endian: the next byte is the next 8 bits),
        // within the word or across from the previous one.
        if (slash << 8) & dot_or_slash != 0 || (after_slash && dot_or_slash & 0x80 != 0) {
            plain = false;
        }
        after_slash = slash >> 63 != 0;
        at += 8;
    }
    scan_bytes(raw, at, after_slash, plain)
}

/// The scan from byte `from` on, a table lookup per byte; `after_slash`: the byte before
/// `from` is a `/`; `plain`: nothing before `from` needs normalising (and nothing there
/// ends the path or holds a NUL).
fn scan_bytes(raw: &[u8], from: usize, mut after_slash: bool, mut plain: bool) -> Scan {
    let mut nul = false;
    let mut end = raw.len();
    for (i, &b) in raw.iter().enumerate().skip(from) {
        let class = PATH_BYTES.get(usize::from(b)).copied().unwrap_or(0);
        if class == 0 {
            after_slash = false;
            continue;
        }
        if class & PATH_END != 0 {
            end = i;
            break;
        }
        if class & (PATH_SLASH | PATH_DOT) != 0 && after_slash {
            plain = false;
        }
        if class & PATH_PERCENT != 0 {
            plain = false;
            nul |= raw.get(i + 1..i + 3) == Some(b"00".as_slice());
        }
        nul |= class & PATH_NUL != 0;
        plain &= class & PATH_BACKSLASH == 0;
        after_slash = class & PATH_SLASH != 0;
    }
    Scan { end, nul, plain }
}

/// The normalisation of `mode` applied step by step (what the fast path must agree with).
fn normalize_in_full(path: &str, mode: PathNormalization) -> String {
    match mode {
        PathNormalization::None => path.to_string(),
        PathNormalization::Base => base_normalize(path),
        PathNormalization::MergeSlashes => merge_slashes(&base_normalize(path)),
        PathNormalization::DecodeAndMergeSlashes => {
            merge_slashes(&base_normalize(&decode_slashes(path)))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path over a small alphabet of the bytes that matter, up to five bytes: the
    /// one-pass scan agrees with a plain reading of the rules (split at `?`/`#`, NUL and
    /// `%00` refused, and the fast path taken only where normalising changes nothing).
    #[test]
    fn the_one_pass_scan_agrees_with_the_plain_rules() {
        let alphabet = [b'/', b'.', b'%', b'0', b'a', b'\\', b'?', b'#', 0u8, b'2'];
        let modes = [
            PathNormalization::None,
            PathNormalization::Base,
            PathNormalization::MergeSlashes,
            PathNormalization::DecodeAndMergeSlashes,
        ];
        let mut raw = Vec::new();
        for len in 1..=5u32 {
            for n in 0..alphabet.len().pow(len) {
                raw.clear();
                raw.push(b'/');
                let mut rest = n;
                for _ in 0..len {
                    raw.push(alphabet[rest % alphabet.len()]);
                    rest /= alphabet.len();
                }
                let text = std::str::from_utf8(&raw).unwrap();
                let end = text.find(['?', '#']).unwrap_or(text.len());
                let path = &text[..end];
                let query = text[end..]
                    .strip_prefix('?')
                    .map(|q| &q[..q.find('#').unwrap_or(q.len())]);
                let refused = path.contains('\0') || path.contains("%00");
                for mode in modes {
                    let got = normalize_path_split(text, mode);
                    if refused {
                        assert!(got.is_err(), "{text:?}");
                        continue;
                    }
                    let (matched, q) = got.unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
                    assert_eq!(q, query, "{text:?}");
                    assert_eq!(matched, normalize_in_full(path, mode), "{text:?} {mode:?}");
                }
            }
        }
    }

    /// The word-at-a-time scan agrees with the byte-at-a-time one on paths up to 40 bytes
    /// over the bytes that matter, with every special byte at every position of a word
    /// (a deterministic sample of 200 000 paths, and each special byte alone at each offset).
    #[test]
    fn the_word_scan_agrees_with_the_byte_scan() {
        let alphabet = [
            b'/', b'.', b'a', b'b', b'/', b'a', b'%', b'0', b'\\', b'?', b'#', 0u8,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut raw = Vec::new();
        for _ in 0..200_000 {
            raw.clear();
            let len = (next() % 41) as usize;
            // Mostly plain bytes, so that whole words reach the word scan.
            let specials = next() % 4;
            for _ in 0..len {
                let pick = if next() % 8 < specials {
                    alphabet[(next() % alphabet.len() as u64) as usize]
                } else {
                    alphabet[(next() % 6) as usize]
                };
                raw.push(pick);
            }
            assert_eq!(scan(&raw), scan_bytes(&raw, 0, false, true), "{raw:?}");
        }
        for special in [b'?', b'#', b'%', b'\\', 0u8, b'.', b'/'] {
            for at in 0..24 {
                for fill in [b'a', b'/'] {
                    let mut raw = vec![fill; 24];
                    raw[at] = special;
                    assert_eq!(scan(&raw), scan_bytes(&raw, 0, false, true), "{raw:?}");
                }
            }
        }
    }
}
