//! The request header map, read from Envoy in one host call and parsed in place.
//!
//! The proxy-wasm SDK's `get_http_request_headers` turned every name and value into its own
//! `String` (two allocations per header, about a sixth of this filter's per-request cost,
//! and a panic — a dead VM — on a header value that is not UTF-8); here the serialized map
//! stays one buffer and only the values the decision needs are copied.
//!
//! Serialized form (proxy-wasm ABI 0.2.1): `u32` pair count, then per pair the `u32`
//! name and value lengths, then per pair the name bytes, a NUL, the value bytes, a NUL;
//! all integers little-endian.

/// A serialized header map.
#[derive(Debug, Default)]
pub struct HeaderMap {
    buffer: Vec<u8>,
}

impl HeaderMap {
    /// Wraps a serialized map.
    pub fn from_serialized(buffer: Vec<u8>) -> Self {
        HeaderMap { buffer }
    }

    /// The raw pairs in order, or `None` when the buffer is not a well-formed map (the
    /// caller then fails closed).
    pub fn pairs(&self) -> Option<Vec<(&[u8], &[u8])>> {
        let bytes = self.buffer.as_slice();
        if bytes.is_empty() {
            return Some(Vec::new());
        }
        let count = read_u32(bytes, 0)?;
        let mut data = count.checked_mul(8)?.checked_add(4)?;
        if data > bytes.len() {
            return None;
        }
        let mut pairs = Vec::with_capacity(count);
        for n in 0..count {
            let sizes = 4 + n * 8;
            let name_len = read_u32(bytes, sizes)?;
            let value_len = read_u32(bytes, sizes + 4)?;
            let name = bytes.get(data..data.checked_add(name_len)?)?;
            data = data.checked_add(name_len)?.checked_add(1)?;
            let value = bytes.get(data..data.checked_add(value_len)?)?;
            data = data.checked_add(value_len)?.checked_add(1)?;
            pairs.push((name, value));
        }
        Some(pairs)
    }

    /// Serializes pairs (tests, and the native fallback).
    pub fn serialize<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        let mut out = Vec::new();
        let len = |s: &str| u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes();
        out.extend(u32::try_from(pairs.len()).unwrap_or(0).to_le_bytes());
        for (name, value) in &pairs {
            out.extend(len(name));
            out.extend(len(value));
        }
        for (name, value) in &pairs {
            out.extend(name.as_bytes());
            out.push(0);
            out.extend(value.as_bytes());
            out.push(0);
        }
        out
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(raw)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(map: &HeaderMap) -> Option<Vec<(String, String)>> {
        map.pairs().map(|pairs| {
            pairs
                .iter()
                .map(|(n, v)| {
                    (
                        String::from_utf8_lossy(n).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    )
                })
                .collect()
        })
    }

    #[test]
    fn round_trip() {
        let pairs = [
            (":authority", "a.com"),
            (":path", "/x"),
            ("x", ""),
            ("y", "1"),
        ];
        let map = HeaderMap::from_serialized(HeaderMap::serialize(pairs));
        let expected: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(strings(&map), Some(expected));
        assert_eq!(HeaderMap::default().pairs(), Some(vec![]));
    }

    #[test]
    fn malformed_maps_are_refused() {
        let mut bytes = HeaderMap::serialize([("a", "1"), ("b", "2")]);
        bytes.truncate(bytes.len() - 3);
        assert_eq!(HeaderMap::from_serialized(bytes).pairs(), None);
        let absurd = HeaderMap::from_serialized(vec![255, 255, 255, 255, 0]);
        assert_eq!(absurd.pairs(), None);
        assert_eq!(HeaderMap::from_serialized(vec![1, 0]).pairs(), None);
        let mut bytes = HeaderMap::serialize([("a", "1")]);
        bytes[4] = 200; // name length beyond the buffer
        assert_eq!(HeaderMap::from_serialized(bytes).pairs(), None);
    }
}
